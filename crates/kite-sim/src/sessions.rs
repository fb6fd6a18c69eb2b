//! [`Sessions`]: the API key, the secret, and which access tokens are valid until when.
//!
//! Kite's rules: `POST /session/token` needs `checksum = sha256_hex(api_key +
//! request_token + api_secret)`; any request token passes when the checksum is right
//! (the sim has no login page). Access tokens die at 06:00 IST the next day, on logout,
//! or (fault) at a time the tester sets.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp, civil::Time};
use sha2::{Digest, Sha256};

use crate::clock::ist;

/// Lower-case hex SHA-256 of the concatenated parts (Kite's checksums).
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part.as_bytes());
    }
    hex::encode(digest.finalize())
}

/// The next 06:00 IST strictly after `from`: when Kite access tokens expire.
pub fn next_expiry(from: Timestamp) -> Timestamp {
    let local = ist().to_datetime(from);
    let six = local.date().to_datetime(Time::constant(6, 0, 0, 0));
    let six = if six > local {
        six
    } else {
        six.checked_add(SignedDuration::from_hours(24))
            .unwrap_or(six)
    };
    ist().to_timestamp(six).unwrap_or(from)
}

/// Valid access tokens and their expiry times.
#[derive(Debug, Clone)]
pub struct Sessions {
    /// The app's API key.
    pub api_key: String,
    /// The app's API secret.
    pub api_secret: String,
    tokens: HashMap<String, Timestamp>,
    minted: u64,
    /// Fault: every token is invalid from this time on.
    pub all_expire_at: Option<Timestamp>,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(api_key: String, api_secret: String) -> Sessions {
        Sessions {
            api_key,
            api_secret,
            tokens: HashMap::new(),
            minted: 0,
            all_expire_at: None,
        }
    }

    /// Accepts `token` from `now` until Kite's next expiry.
    pub fn add(&mut self, token: &str, now: Timestamp) {
        self.tokens.insert(token.to_string(), next_expiry(now));
    }

    /// Exchanges a request token; returns the new access token or the refusal message.
    pub fn login(
        &mut self,
        api_key: &str,
        request_token: &str,
        checksum: &str,
        now: Timestamp,
    ) -> Result<String, String> {
        let expected = sha256_hex(&[&self.api_key, request_token, &self.api_secret]);
        if api_key != self.api_key
            || request_token.is_empty()
            || !checksum.eq_ignore_ascii_case(&expected)
        {
            return Err("Invalid `checksum`.".into());
        }
        self.minted += 1;
        let token = sha256_hex(&[request_token, &self.minted.to_string(), &self.api_secret])[..32]
            .to_string();
        self.add(&token, now);
        Ok(token)
    }

    /// Whether `api_key:token` may call the API at `now`.
    pub fn admits(&self, api_key: &str, token: &str, now: Timestamp) -> bool {
        if api_key != self.api_key || self.all_expire_at.is_some_and(|at| now >= at) {
            return false;
        }
        self.tokens.get(token).is_some_and(|expiry| now < *expiry)
    }

    /// Logs a token out.
    pub fn invalidate(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    /// Parses `Authorization: token api_key:access_token`.
    pub fn parse_authorization(header: &str) -> Option<(&str, &str)> {
        header.strip_prefix("token ")?.trim().split_once(':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_expiry_follow_kite() {
        let t = Timestamp::from_second(1_764_048_600).expect("11:00 IST");
        let mut sessions = Sessions::new("key".into(), "secret".into());
        assert!(sessions.login("key", "req", "bad", t).is_err());
        let checksum = sha256_hex(&["key", "req", "secret"]);
        let token = sessions.login("key", "req", &checksum, t).expect("login");
        assert!(sessions.admits("key", &token, t));
        let expiry = next_expiry(t);
        assert_eq!(crate::clock::kite_time(expiry), "2025-11-26 06:00:00");
        assert!(!sessions.admits("key", &token, expiry));
        assert!(sessions.invalidate(&token));
        assert!(!sessions.admits("key", &token, t));
    }
}

//! [`ServerConfig`]: everything `serve` needs, built by the binary from its
//! configuration file, flags and environment.

use kitebreak_engine::EngineConfig;
use subtle::ConstantTimeEq;

/// A secret string (webhook passphrase, API token): never printed, compared in
/// constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret; `None` for an empty string (an unset environment variable
    /// often arrives as one).
    pub fn new(value: impl Into<String>) -> Option<Secret> {
        let value = value.into();
        (!value.is_empty()).then_some(Secret(value))
    }

    /// True when `candidate` equals the secret, compared with `subtle`'s
    /// constant-time equality: the time taken depends only on the lengths, never on
    /// where the first differing byte is. (A length mismatch returns at once; the
    /// secret's length is not what an attacker needs.)
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Settings of the HTTP server and the engine behind it.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The engine's settings (database file, shards, strategy parameters).
    pub engine: EngineConfig,
    /// Paper fills are this many basis points worse than the last price.
    pub paper_slippage_bps: u32,
    /// When set, webhook bodies must carry it as `"passphrase"`.
    pub webhook_secret: Option<Secret>,
    /// When set, control endpoints require `Authorization: Bearer <token>`.
    pub api_token: Option<Secret>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Authentication failures allowed per client address per minute before it
    /// gets 429 for the rest of the minute (0: no limit).
    pub auth_failures_per_minute: u32,
    /// Kite's API key, secret and roots for the HTTP login (`GET /login`, the
    /// callback, `POST /generate_token`); `None` (or no secret) answers them 503.
    /// Independent of the broker: with paper, a login only stores the session file.
    pub kite_login: Option<kitebreak_kite::KiteConfig>,
}

impl ServerConfig {
    /// The default body limit: 64 KiB, far above any alert.
    pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

    /// The default authentication-failure limit: 10 per minute per address.
    pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 10;

    /// A paper server on `engine` with no secrets, no slippage and the default limit.
    pub fn new(engine: EngineConfig) -> ServerConfig {
        ServerConfig {
            engine,
            paper_slippage_bps: 0,
            webhook_secret: None,
            api_token: None,
            body_limit: Self::DEFAULT_BODY_LIMIT,
            auth_failures_per_minute: Self::DEFAULT_AUTH_FAILURES_PER_MINUTE,
            kite_login: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_themselves_and_never_print() {
        let secret = Secret::new("hunter2").expect("non-empty");
        assert!(secret.matches("hunter2"));
        for wrong in ["", "hunter", "hunter22", "Hunter2", "xxxxxxx"] {
            assert!(!secret.matches(wrong), "{wrong:?} matched");
        }
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert!(Secret::new("").is_none());
    }
}

//! [`LoginFlow`]: what the HTTP login needs between `GET /login` and Kite's redirect
//! back to `GET /login/callback`, and the one place a request token is exchanged.
//!
//! The callback cannot carry the bearer token (Kite's redirect opens it in the
//! browser), so it is protected another way, as OAuth does: `GET /login` makes a
//! one-time nonce, sends it to Kite inside `redirect_params` (Kite hands it back on
//! the redirect as `state=`) and to the browser in an `HttpOnly`, `SameSite=Lax`
//! cookie scoped to `/login`. The callback acts only when the query's `state`
//! equals the cookie and is a nonce this server issued less than [`NONCE_TTL`] ago,
//! and consumes it: a link crafted elsewhere (login CSRF: planting someone else's
//! request token) lacks the victim's cookie, and a replay finds the nonce gone.
//! Beyond that, only Kite can mint a request token for this API key, it is
//! single-use, and the exchange needs the API secret.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use kitebreak_engine::Engine;
use kitebreak_kite::{KiteConfig, KiteError, StoredSession, session};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// How long a login started at `GET /login` may take to come back.
pub const NONCE_TTL: Duration = Duration::from_secs(600);
/// The most logins pending at once; older ones are forgotten first.
const MAX_PENDING: usize = 16;
/// The cookie carrying the nonce.
pub const COOKIE: &str = "kitebreak_login";

const NOT_CONFIGURED: &str = "Kite login is not configured: set KITE_API_KEY and \
     KITE_API_SECRET (your Kite Connect app's) and restart kitebreak";

/// The browser login's configuration and its pending nonces.
#[derive(Debug)]
pub struct LoginFlow {
    kite: Option<KiteConfig>,
    pending: Mutex<VecDeque<(String, Instant)>>,
}

impl LoginFlow {
    /// A flow over `kite` (with the API secret); `None` answers every login with 503.
    pub fn new(kite: Option<KiteConfig>) -> LoginFlow {
        LoginFlow {
            kite: kite.filter(|config| config.api_secret.is_some()),
            pending: Mutex::new(VecDeque::new()),
        }
    }

    /// The Kite configuration, or the 503 that says which variables to set.
    pub fn config(&self) -> Result<&KiteConfig, ApiError> {
        self.kite
            .as_ref()
            .ok_or_else(|| ApiError::UnavailableBecause(NOT_CONFIGURED.into()))
    }

    /// Starts a browser login: a fresh nonce, remembered for [`NONCE_TTL`].
    pub fn begin(&self) -> String {
        // A v4 UUID: 122 bits from the operating system's random source.
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|(_, at)| now.duration_since(*at) < NONCE_TTL);
        while pending.len() >= MAX_PENDING {
            pending.pop_front();
        }
        pending.push_back((nonce.clone(), now));
        nonce
    }

    /// Consumes `state` if it equals `cookie` and is a live nonce of this server.
    pub fn finish(&self, state: &str, cookie: Option<&str>) -> bool {
        let Some(cookie) = cookie else { return false };
        if !bool::from(state.as_bytes().ct_eq(cookie.as_bytes())) {
            return false;
        }
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|(_, at)| now.duration_since(*at) < NONCE_TTL);
        let found = pending
            .iter()
            .position(|(nonce, _)| bool::from(nonce.as_bytes().ct_eq(state.as_bytes())));
        found.and_then(|i| pending.remove(i)).is_some()
    }

    /// Exchanges `request_token` (checksum from the API secret), stores the session
    /// file exactly as `kitebreak login` does (owner-only), and installs the token in
    /// the running engine's session, if it has one: entries resume and the ticker
    /// reconnects. No token or secret is logged or returned.
    pub async fn complete(
        &self,
        engine: &Engine,
        request_token: &str,
    ) -> Result<StoredSession, ApiError> {
        let config = self.config()?;
        let stored = session::exchange_request_token(config, request_token)
            .await
            .map_err(exchange_error)?;
        match engine.session() {
            Some(session) => session.adopt(&stored),
            None => tracing::info!(
                "kite session stored; this server runs the paper broker, `serve --broker kite` will use it"
            ),
        }
        tracing::info!(user_id = stored.user_id, expires_at = %stored.expires_at,
            "kite login completed over HTTP");
        Ok(stored)
    }
}

/// How a failed exchange answers: 400 when Kite refused or could not be asked (the
/// original answered 400 for every failed exchange), 500 when the session could not
/// be stored. Kite's messages and our file errors carry no token or secret.
fn exchange_error(error: KiteError) -> ApiError {
    match error {
        KiteError::Io { .. } => {
            tracing::error!(%error, "the kite session could not be stored");
            ApiError::ServerFault(
                "the Kite session could not be stored in the data directory".into(),
            )
        }
        other => {
            tracing::warn!(error = %other, "kite refused the request token");
            ApiError::BadRequest(format!("token exchange with Kite failed: {other}"))
        }
    }
}

/// The access token as responses show it: its first 10 characters (fewer for a
/// short token, never more than a third of it) and `...`.
pub fn masked(token: &str) -> String {
    let shown = token.chars().count().div_euclid(3).min(10);
    let prefix: String = token.chars().take(shown).collect();
    format!("{prefix}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_to_ten_characters_or_a_third() {
        assert_eq!(masked("abcdefghijklmnopqrstuvwxyz0123456"), "abcdefghij...");
        assert_eq!(masked("abcdefghi"), "abc...");
        assert_eq!(masked("ab"), "...");
    }

    #[test]
    fn a_nonce_is_accepted_once_and_only_with_its_cookie() {
        let flow = LoginFlow::new(None);
        let nonce = flow.begin();
        assert!(!flow.finish(&nonce, None), "no cookie");
        assert!(!flow.finish(&nonce, Some("other")), "cookie differs");
        assert!(!flow.finish("forged", Some("forged")), "never issued");
        assert!(flow.finish(&nonce, Some(&nonce)));
        assert!(!flow.finish(&nonce, Some(&nonce)), "replayed");
    }

    #[test]
    fn pending_logins_are_bounded() {
        let flow = LoginFlow::new(None);
        let first = flow.begin();
        for _ in 0..MAX_PENDING {
            flow.begin();
        }
        assert!(
            !flow.finish(&first, Some(&first)),
            "the oldest was forgotten"
        );
    }

    #[test]
    fn without_a_secret_the_flow_is_not_configured() {
        let flow = LoginFlow::new(Some(KiteConfig::new("key", "/tmp")));
        assert_eq!(
            flow.config().map(|_| ()).map_err(|e| e.status()),
            Err(axum::http::StatusCode::SERVICE_UNAVAILABLE)
        );
    }
}

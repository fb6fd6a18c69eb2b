//! `serve --broker kite`: builds the Kite broker the engine trades through, and the
//! Kite configuration the HTTP login uses (with either broker).
//!
//! The API key comes from `KITE_API_KEY`, the access token from the session file
//! `kitebreak login` wrote (`DATA_DIR/kite-session.json`) or `KITE_ACCESS_TOKEN`.
//! Without a usable token nothing starts. Once running, the session file is watched:
//! a `kitebreak login` in another process (or the HTTP login) puts a new token in
//! place without a restart. Secrets are never logged.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kitebreak_config::Settings;
use kitebreak_engine::{Broker, KiteAdapter};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState, session};
use kiteconnect::AccessToken;

/// How often the session file is read for a new login.
const FILE_WATCH_EVERY: Duration = Duration::from_secs(2);

/// Where Kite is reached: production roots, or a kite-sim.
#[derive(Debug, Clone)]
pub struct Roots {
    /// REST root (`--kite-root`).
    pub rest: String,
    /// Ticker root (`--kite-ws`).
    pub ws: String,
    /// Browser login root (`--kite-login`).
    pub login: String,
}

const LOGIN_HINT: &str = "run `kitebreak login` (or set KITE_ACCESS_TOKEN); nothing was started";

/// The Kite configuration from `KITE_API_KEY` (and `KITE_API_SECRET`, which the login
/// needs), or `None` without an API key.
pub fn kite_config(settings: &Settings, roots: &Roots) -> anyhow::Result<Option<KiteConfig>> {
    let Some(api_key) = &settings.secrets.kite_api_key else {
        return Ok(None);
    };
    let mut config = KiteConfig::new(api_key.expose(), &settings.data_dir)
        .with_roots(&roots.rest, &roots.ws)
        .with_login_root(&roots.login);
    if let Some(secret) = &settings.secrets.kite_api_secret {
        config = config.with_secret(secret.expose())?;
    }
    Ok(Some(config))
}

/// A logged-in Kite broker with its instruments loaded, ready for the engine; the
/// session file is watched for new logins from then on.
pub async fn broker(
    settings: &Settings,
    config: Option<KiteConfig>,
) -> anyhow::Result<Arc<dyn Broker>> {
    let config =
        config.context("--broker kite needs KITE_API_KEY (your Kite Connect app's API key)")?;
    let now = jiff::Timestamp::now();
    let (token, expires_at) = match session::load_session(&config)
        .context("reading the Kite session file")?
    {
        Some(stored) if stored.expires_at > now => {
            tracing::info!(user_id = stored.user_id, expires_at = %stored.expires_at, "kite session loaded");
            (stored.access_token, stored.expires_at)
        }
        Some(stored) => match &settings.secrets.kite_access_token {
            Some(token) => env_token(token.expose(), now)?,
            None => bail!(
                "the Kite session in {} expired at {}: {LOGIN_HINT}",
                config.session_path().display(),
                stored.expires_at
            ),
        },
        None => match &settings.secrets.kite_access_token {
            Some(token) => env_token(token.expose(), now)?,
            None => bail!(
                "no Kite session ({} not found): {LOGIN_HINT}",
                config.session_path().display()
            ),
        },
    };
    let state = SessionState::with_expiry(Some(token), Some(expires_at));
    // Detached: it runs as long as the process.
    let _watch = state.spawn_file_watch(config.clone(), FILE_WATCH_EVERY, session::system_now());
    let kite = KiteBroker::new(config, state);
    let count = kite
        .load_instruments()
        .await
        .context("loading Kite's instrument list")?;
    tracing::info!(instruments = count, "kite broker ready");
    Ok(Arc::new(KiteAdapter::new(kite)))
}

/// `KITE_ACCESS_TOKEN`, which is alive now, so it dies at the next 06:00 IST.
fn env_token(text: &str, now: jiff::Timestamp) -> anyhow::Result<(AccessToken, jiff::Timestamp)> {
    let token = AccessToken::new(text).context("KITE_ACCESS_TOKEN")?;
    Ok((token, kitebreak_kite::time::token_expiry(now)))
}

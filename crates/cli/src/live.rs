//! `serve --broker kite`: builds the Kite broker the engine trades through.
//!
//! The API key comes from `KITE_API_KEY`, the access token from the session file
//! `kitebreak login` wrote (`DATA_DIR/kite-session.json`) or `KITE_ACCESS_TOKEN`.
//! Without a usable token nothing starts. Secrets are never logged.

use std::sync::Arc;

use anyhow::{Context, bail};
use kitebreak_config::Settings;
use kitebreak_engine::{Broker, KiteAdapter};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState, session};
use kiteconnect::AccessToken;

/// Where Kite is reached: production roots, or a kite-sim.
#[derive(Debug, Clone)]
pub struct Roots {
    /// REST root (`--kite-root`).
    pub rest: String,
    /// Ticker root (`--kite-ws`).
    pub ws: String,
}

const LOGIN_HINT: &str = "run `kitebreak login` (or set KITE_ACCESS_TOKEN); nothing was started";

/// A logged-in Kite broker with its instruments loaded, ready for the engine.
pub async fn broker(settings: &Settings, roots: &Roots) -> anyhow::Result<Arc<dyn Broker>> {
    let api_key = settings
        .secrets
        .kite_api_key
        .as_ref()
        .context("--broker kite needs KITE_API_KEY (your Kite Connect app's API key)")?;
    let mut config =
        KiteConfig::new(api_key.expose(), &settings.data_dir).with_roots(&roots.rest, &roots.ws);
    if let Some(secret) = &settings.secrets.kite_api_secret {
        config = config.with_secret(secret.expose())?;
    }
    let token = match session::load_session(&config).context("reading the Kite session file")? {
        Some(stored) if stored.expires_at > jiff::Timestamp::now() => {
            tracing::info!(user_id = stored.user_id, expires_at = %stored.expires_at, "kite session loaded");
            stored.access_token
        }
        Some(stored) => match &settings.secrets.kite_access_token {
            Some(token) => AccessToken::new(token.expose()).context("KITE_ACCESS_TOKEN")?,
            None => bail!(
                "the Kite session in {} expired at {}: {LOGIN_HINT}",
                config.session_path().display(),
                stored.expires_at
            ),
        },
        None => match &settings.secrets.kite_access_token {
            Some(token) => AccessToken::new(token.expose()).context("KITE_ACCESS_TOKEN")?,
            None => bail!(
                "no Kite session ({} not found): {LOGIN_HINT}",
                config.session_path().display()
            ),
        },
    };
    let kite = KiteBroker::new(config, SessionState::new(Some(token)));
    let count = kite
        .load_instruments()
        .await
        .context("loading Kite's instrument list")?;
    tracing::info!(instruments = count, "kite broker ready");
    Ok(Arc::new(KiteAdapter::new(kite)))
}

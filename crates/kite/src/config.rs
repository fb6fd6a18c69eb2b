//! [`KiteConfig`]: everything the adapter is built from; each default lives here once.

use std::path::PathBuf;
use std::time::Duration;

use kiteconnect::ApiSecret;

use crate::error::KiteError;

/// Kite's production REST root.
pub const DEFAULT_REST_ROOT: &str = "https://api.kite.trade";
/// Kite's production ticker root.
pub const DEFAULT_WS_ROOT: &str = "wss://ws.kite.trade";
/// Where Kite's browser login page lives (`/connect/login` under it).
pub const DEFAULT_LOGIN_ROOT: &str = "https://kite.zerodha.com";

/// `market_protection` sent with MARKET and SL-M orders. Zero (none) is not offered:
/// since April 2026 exchanges reject unprotected market orders from algos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MarketProtection {
    /// Kite chooses the band (`-1`).
    #[default]
    Automatic,
    /// A custom band of 1 to 100 percent.
    Percent(u8),
}

impl MarketProtection {
    /// A custom band of `percent` (1 to 100); anything else is refused.
    pub fn percent(percent: u8) -> Result<MarketProtection, KiteError> {
        if (1..=100).contains(&percent) {
            Ok(MarketProtection::Percent(percent))
        } else {
            Err(KiteError::InvalidInput(format!(
                "market protection must be 1 to 100 percent, got {percent}"
            )))
        }
    }

    /// The value of the form field.
    pub fn wire(self) -> f64 {
        match self {
            MarketProtection::Automatic => -1.0,
            MarketProtection::Percent(p) => f64::from(p.clamp(1, 100)),
        }
    }
}

/// How to reach Kite and where to keep files.
#[derive(Debug, Clone)]
pub struct KiteConfig {
    /// The app's API key.
    pub api_key: String,
    /// The app's API secret (needed for login and postback checks only). Redacted in Debug.
    pub api_secret: Option<ApiSecret>,
    /// REST root (`--kite-root`), no path.
    pub rest_root: String,
    /// Ticker root (`--kite-ws`), no query.
    pub ws_root: String,
    /// Root of the browser login page (`--kite-login`), no path.
    pub login_root: String,
    /// Directory of the session file and the instrument cache.
    pub data_dir: PathBuf,
    /// Protection band for MARKET and SL-M orders.
    pub market_protection: MarketProtection,
    /// Whole-request timeout of one REST call.
    pub request_timeout: Duration,
    /// Attempts of a read (first try included) before a transient error is returned.
    pub read_attempts: usize,
    /// First delay between read attempts (doubles, with jitter, up to 5 s).
    pub retry_delay: Duration,
    /// How long a connected ticker may stay silent before it counts as dead.
    pub ticker_silence: Duration,
    /// How often `final_status` polls the order book.
    pub poll_every: Duration,
    /// The longest `final_status` waits before answering `StillWorking`; `None`
    /// waits until the order is final (see `KiteBroker::final_status_within`).
    pub final_status_timeout: Option<Duration>,
}

impl KiteConfig {
    /// Production defaults for an API key, keeping files in `data_dir`.
    pub fn new(api_key: impl Into<String>, data_dir: impl Into<PathBuf>) -> KiteConfig {
        KiteConfig {
            api_key: api_key.into(),
            api_secret: None,
            rest_root: DEFAULT_REST_ROOT.into(),
            ws_root: DEFAULT_WS_ROOT.into(),
            login_root: DEFAULT_LOGIN_ROOT.into(),
            data_dir: data_dir.into(),
            market_protection: MarketProtection::Automatic,
            request_timeout: Duration::from_secs(10),
            read_attempts: 4,
            retry_delay: Duration::from_millis(200),
            ticker_silence: Duration::from_secs(5),
            poll_every: Duration::from_millis(250),
            final_status_timeout: None,
        }
    }

    /// Sets the API secret from text.
    pub fn with_secret(mut self, secret: &str) -> Result<KiteConfig, KiteError> {
        self.api_secret = Some(ApiSecret::new(secret).map_err(KiteError::Setup)?);
        Ok(self)
    }

    /// Points REST and ticker at other roots (kite-sim, a proxy).
    pub fn with_roots(mut self, rest: impl Into<String>, ws: impl Into<String>) -> KiteConfig {
        self.rest_root = rest.into();
        self.ws_root = ws.into();
        self
    }

    /// Points the browser login at another root (a proxy, a local fake).
    pub fn with_login_root(mut self, root: impl Into<String>) -> KiteConfig {
        self.login_root = root.into();
        self
    }

    /// The session file.
    pub fn session_path(&self) -> PathBuf {
        self.data_dir.join("kite-session.json")
    }

    /// An official client for this configuration, with `token` if given.
    pub(crate) fn client(
        &self,
        token: Option<kiteconnect::AccessToken>,
    ) -> Result<kiteconnect::KiteConnect, KiteError> {
        let mut builder = kiteconnect::KiteConnect::builder(self.api_key.clone())
            .base_url(self.rest_root.clone())
            .timeout(self.request_timeout)
            .app_name(concat!("kitebreak/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            builder = builder.access_token(token);
        }
        builder.build().map_err(KiteError::Setup)
    }

    /// The ticker root as a URL.
    pub(crate) fn ws_url(&self) -> Result<url::Url, KiteError> {
        url::Url::parse(&self.ws_root)
            .map_err(|e| KiteError::InvalidInput(format!("ticker URL {}: {e}", self.ws_root)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_protection_is_automatic_by_default_and_never_zero() {
        assert_eq!(MarketProtection::default().wire(), -1.0);
        assert_eq!(
            MarketProtection::percent(1).map(|m| m.wire()).ok(),
            Some(1.0)
        );
        assert_eq!(
            MarketProtection::percent(100).map(|m| m.wire()).ok(),
            Some(100.0)
        );
        assert!(MarketProtection::percent(0).is_err());
        assert!(MarketProtection::percent(101).is_err());
        assert_eq!(KiteConfig::new("k", "/tmp").final_status_timeout, None);
    }
}

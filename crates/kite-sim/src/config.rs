//! [`SimConfig`]: everything the sim is started with; each default lives here once.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};

use crate::clock::{ClockMode, RateClock};
use crate::faults::Faults;

/// Default API key (printed at start).
pub const DEFAULT_API_KEY: &str = "kitesim_key";
/// Default API secret (printed at start).
pub const DEFAULT_API_SECRET: &str = "kitesim_secret";

/// How the sim starts.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (REST and ticker share it).
    pub listen: SocketAddr,
    /// The app's API key.
    pub api_key: String,
    /// The app's API secret (checksums).
    pub api_secret: String,
    /// An access token accepted without a login.
    pub access_token: Option<String>,
    /// Instrument dump; `None` uses the bundled NSE list.
    pub instruments: Option<PathBuf>,
    /// Price script: a CSV `time,symbol,price`, or a directory of `SYMBOL.csv` (`time,price`).
    pub prices: Option<PathBuf>,
    /// The clock; `None` starts at the script's first time, or now, at real speed × `speed`.
    pub clock: Option<ClockMode>,
    /// Clock speed when `clock` is `None`.
    pub speed: f64,
    /// Seed of the random walk and of fault shares.
    pub seed: u64,
    /// Random walk step for unscripted instruments; `None` keeps them still.
    pub walk_every: Option<SignedDuration>,
    /// Cash in the account, whole rupees.
    pub balance: u64,
    /// URL that receives postbacks (loopback http only).
    pub postback_url: Option<String>,
    /// Faults active from the start.
    pub faults: Faults,
    /// The user id shown in profiles and orders.
    pub user_id: String,
    /// Kite `app_id` in postbacks.
    pub app_id: u64,
    /// How often the engine applies due prices and sends heartbeats, real time.
    pub engine_period: std::time::Duration,
    /// Delivery holdings carried from earlier days.
    pub holdings: Vec<HoldingSeed>,
    /// Enforce Kite's per-second API limits (quotes 1, historical 3, others 10).
    pub strict_rate_limits: bool,
    /// Which seconds the per-second limits count (real by default, also in tests).
    pub rate_clock: RateClock,
    /// Drop every ticker connection this often, real time (fault; `None` = never).
    pub ws_drop_every: Option<std::time::Duration>,
}

/// A holding the account starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldingSeed {
    /// `EXCHANGE:SYMBOL`.
    pub key: String,
    /// Units held.
    pub quantity: u32,
    /// Average buy price.
    pub average: kitebreak_price::Price,
}

impl std::str::FromStr for HoldingSeed {
    type Err = String;

    /// Parses `NSE:INFY:10:1450.5`.
    fn from_str(text: &str) -> Result<HoldingSeed, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [exchange, symbol, quantity, average] = parts.as_slice() else {
            return Err(format!(
                "expected EXCHANGE:SYMBOL:QUANTITY:AVERAGE, got {text:?}"
            ));
        };
        Ok(HoldingSeed {
            key: format!("{exchange}:{symbol}"),
            quantity: quantity
                .parse()
                .map_err(|_| format!("bad quantity in {text:?}"))?,
            average: average
                .parse()
                .map_err(|_| format!("bad price in {text:?}"))?,
        })
    }
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: DEFAULT_API_KEY.into(),
            api_secret: DEFAULT_API_SECRET.into(),
            access_token: None,
            instruments: None,
            prices: None,
            clock: None,
            speed: 1.0,
            seed: 1,
            walk_every: Some(SignedDuration::from_secs(1)),
            balance: 1_000_000,
            postback_url: None,
            faults: Faults::default(),
            user_id: "SIM001".into(),
            app_id: 1,
            engine_period: std::time::Duration::from_millis(100),
            holdings: Vec::new(),
            strict_rate_limits: false,
            rate_clock: RateClock::Real,
            ws_drop_every: None,
        }
    }
}

impl SimConfig {
    /// A deterministic configuration for tests: manual clock at `start`, no walk,
    /// a known access token. The per-second limits count real seconds, so a test that
    /// never moves the clock can still place more than 10 orders in its life; a test
    /// that wants the 429 deterministically sets `rate_clock: RateClock::Sim`.
    pub fn for_tests(start: Timestamp) -> SimConfig {
        SimConfig {
            access_token: Some("test_access_token".into()),
            clock: Some(ClockMode::Manual { start }),
            walk_every: None,
            ..SimConfig::default()
        }
    }
}

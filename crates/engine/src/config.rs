//! [`EngineConfig`]: what the engine needs to start, already validated.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kitebreak_strategy::StrategyParams;

use crate::Symbol;
use crate::clock::{Clock, SystemClock};
use crate::market::MarketRules;
use crate::risk::{KillSwitch, RiskLimits};

/// Settings of one engine. The binary builds this from its configuration file and
/// flags; tests build it directly.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The SQLite database file (created if missing).
    pub database: PathBuf,
    /// How many shard tasks own the symbols (at least 1).
    pub shards: usize,
    /// Strategy parameters for symbols without an override.
    pub strategy: StrategyParams,
    /// Per-symbol parameter overrides.
    pub symbol_params: HashMap<Symbol, StrategyParams>,
    /// The trading calendar and session; `None` takes entries at any time (tests,
    /// replays of old data).
    pub market: Option<MarketRules>,
    /// Limits checked before every entry order.
    pub risk: RiskLimits,
    /// The kill switch when the database has none stored yet (a stored state wins,
    /// so a restart never silently re-enables trading).
    pub kill_switch: KillSwitch,
    /// Where the engine reads the time.
    pub clock: Arc<dyn Clock>,
    /// How often the engine checks for flatten and MIS square-off on its own
    /// (`Engine::enforce_step`); `None` leaves it to the caller (tests).
    pub enforce_every: Option<Duration>,
    /// The polling fallback of a live price feed (brokers without one never poll).
    pub feed: crate::FeedConfig,
    /// Whether an exchange-side stop or GTT OCO guards every open trade (see
    /// `shard::protect`).
    pub protection: Protection,
    /// The kernel's boot id ([`crate::current_boot_id`]): whether the send journal
    /// beside the database was written during this boot (see `journal`). Tests set
    /// it to act out a reboot.
    pub boot_id: Option<String>,
}

/// Exchange-side protection of open trades (`[orders] protection`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protection {
    /// Only kitebreak watches its trades (the default).
    #[default]
    None,
    /// After an entry fills, a resting SL-M stop order at the broker guards the
    /// trade while kitebreak is down; kitebreak cancels it before its own exit
    /// (intraday products: Kite's MIS).
    Exchange,
    /// Like `Exchange`, with a two-leg GTT (OCO) at the trade's stop and target
    /// instead of a stop order (delivery and carry products, Kite's CNC/NRML, whose
    /// positions outlive the day an SL-M order lives).
    ExchangeOco,
}

impl EngineConfig {
    /// Shard tasks when not configured (see [`EngineConfig::new`]).
    pub const DEFAULT_SHARDS: usize = 64;

    /// Defaults for everything but the database file: 64 shards, default parameters,
    /// no market rules, no risk limits, the kill switch active, the system clock.
    ///
    /// Why 64: shards pipeline candles (a group commit carries every waiting candle,
    /// not one per shard), but a symbol in a trade and every other command still
    /// wait for their shard's outstanding commits, so more shards keep those from
    /// delaying unrelated symbols. A shard is an idle tokio task when unused.
    pub fn new(database: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            database: database.into(),
            shards: Self::DEFAULT_SHARDS,
            strategy: StrategyParams::default(),
            symbol_params: HashMap::new(),
            market: None,
            risk: RiskLimits::default(),
            kill_switch: KillSwitch::Active,
            clock: Arc::new(SystemClock),
            enforce_every: Some(Duration::from_secs(1)),
            feed: crate::FeedConfig::default(),
            protection: Protection::None,
            boot_id: crate::journal::current_boot_id(),
        }
    }

    /// The parameters `symbol` runs with.
    pub fn params_for(&self, symbol: &Symbol) -> StrategyParams {
        self.symbol_params
            .get(symbol)
            .copied()
            .unwrap_or(self.strategy)
    }
}

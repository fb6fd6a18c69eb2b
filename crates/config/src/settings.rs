//! [`Settings`]: the configuration validated into the types the rest of kitebreak
//! takes, and the builders of the engine's and server's own settings.
//!
//! Everything that needs more than a value's type to check is checked here, and
//! every problem is reported at once, each naming its key and where it came from.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use kitebreak_engine::{EngineConfig, FeedConfig, Symbol};
use kitebreak_server::ServerConfig;
use kitebreak_strategy::{StrategyError, StrategyParams};

use crate::error::{Problem, problem_at};
use crate::market::{self, MarketClock, RiskLimits};
use crate::orders::{MarketProtection, OrderDefaults};
use crate::tree::{BrokerKind, Config, StrategySection, SymbolOverride};
use crate::{ConfigError, Secrets};

/// The database file `serve` keeps its state in, inside the data directory.
pub const DATABASE_FILE: &str = "kitebreak.db";

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the server listens.
    pub listen: SocketAddr,
    /// Directory of the database (and, later, the Kite session).
    pub data_dir: PathBuf,
    /// Which broker `serve` trades through.
    pub broker: BrokerKind,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Engine shards (at least 1).
    pub shards: usize,
    /// Strategy parameters of symbols without an override.
    pub strategy: StrategyParams,
    /// Per-symbol parameters.
    pub symbols: HashMap<Symbol, StrategyParams>,
    /// How orders are placed with Kite.
    pub orders: OrderDefaults,
    /// Risk limits, enforced by the engine before every entry.
    pub risk: RiskLimits,
    /// The market clock, enforced by the engine (entries, MIS square-off).
    pub market: MarketClock,
    /// Paper fills' slippage in basis points.
    pub paper_slippage_bps: u32,
    /// The live feed's polling fallback.
    pub feed: FeedConfig,
    /// Secrets from the environment.
    pub secrets: Secrets,
}

impl Settings {
    /// The database file in the data directory.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }

    /// The engine's settings, keeping its state in `database`.
    pub fn engine_config(&self, database: &Path) -> EngineConfig {
        let mut engine = EngineConfig::new(database);
        engine.shards = self.shards;
        engine.strategy = self.strategy;
        engine.symbol_params = self.symbols.clone();
        engine.market = self.market.rules(self.orders.product);
        engine.risk = self.risk.engine_limits();
        engine.kill_switch = self.risk.engine_kill_switch();
        engine.feed = self.feed;
        engine.protection = self.orders.protection.engine(self.orders.product);
        engine
    }

    /// The server's settings, keeping the engine's state in `database`.
    pub fn server_config(&self, database: &Path) -> ServerConfig {
        let mut server = ServerConfig::new(self.engine_config(database));
        server.paper_slippage_bps = self.paper_slippage_bps;
        server.body_limit = self.body_limit;
        let convert = |secret: &Option<crate::Secret>| {
            secret
                .as_ref()
                .and_then(|s| kitebreak_server::Secret::new(s.expose()))
        };
        server.webhook_secret = convert(&self.secrets.webhook_secret);
        server.api_token = convert(&self.secrets.api_token);
        server
    }
}

/// Checks `config` (extracted from `figment`, which knows each value's origin).
pub(crate) fn validate(
    config: &Config,
    figment: &Figment,
    secrets: Secrets,
) -> Result<Settings, ConfigError> {
    let mut problems = Vec::new();
    let server = &config.server;
    for (key, bad) in [
        ("server.body_limit", server.body_limit == 0),
        ("server.shards", server.shards == 0),
    ] {
        if bad {
            problems.push(problem_at(figment, key, "must be at least 1"));
        }
    }
    if config.paper.slippage_bps >= 10_000 {
        let message = format!(
            "must be below 10000 (100%), got {}",
            config.paper.slippage_bps
        );
        problems.push(problem_at(figment, "paper.slippage_bps", message));
    }
    let feed = feed_config(&config.feed, figment, &mut problems);
    let strategy = strategy_params(&config.strategy, figment, &mut problems);
    let symbols = symbol_params(&config.strategy, figment, &mut problems);
    let protection = MarketProtection::from_kite(config.orders.market_protection)
        .map_err(|message| problems.push(problem_at(figment, "orders.market_protection", message)))
        .ok();
    if let Err(message) = config.orders.protection.check(config.orders.product) {
        problems.push(problem_at(figment, "orders.protection", message));
    }
    let settle = config.orders.settle_within_ms;
    if !SETTLE_MS.contains(&settle) {
        let message = format!(
            "must be {}..={} (milliseconds), got {settle}",
            SETTLE_MS.start(),
            SETTLE_MS.end()
        );
        problems.push(problem_at(figment, "orders.settle_within_ms", message));
    }
    let risk = market::risk_limits(&config.risk)
        .map_err(|(key, message)| problems.push(problem_at(figment, key, message)))
        .ok();
    let clock = market::market_clock(&config.market)
        .map_err(|(key, message)| problems.push(problem_at(figment, key, message)))
        .ok();
    let (Some(strategy), Some(protection), Some(risk), Some(market), true) =
        (strategy, protection, risk, clock, problems.is_empty())
    else {
        return Err(ConfigError::Invalid(problems));
    };
    Ok(Settings {
        listen: server.listen,
        data_dir: server.data_dir.clone(),
        broker: server.broker,
        body_limit: server.body_limit,
        shards: server.shards,
        strategy,
        symbols,
        orders: OrderDefaults {
            exchange: config.orders.exchange,
            product: config.orders.product,
            order_type: config.orders.order_type,
            market_protection: protection,
            protection: config.orders.protection,
            settle_within: std::time::Duration::from_millis(settle),
        },
        risk,
        market,
        paper_slippage_bps: config.paper.slippage_bps,
        feed,
        secrets,
    })
}

/// The shortest and longest bound on an order's final status, milliseconds: under a
/// second a normal market order would be cancelled before Kite fills it; over two
/// minutes a shard would hold its symbols that long behind one order.
const SETTLE_MS: std::ops::RangeInclusive<u64> = 1_000..=120_000;

/// The shortest and longest poll interval and silence threshold, milliseconds: below
/// 100 ms the fallback would only queue on Kite's quote budget; above a minute an
/// open trade would go unwatched too long while the ticker is down.
const FEED_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

fn feed_config(
    section: &crate::tree::FeedSection,
    figment: &Figment,
    problems: &mut Vec<Problem>,
) -> FeedConfig {
    for (key, value) in [
        ("feed.poll_every_ms", section.poll_every_ms),
        ("feed.stale_after_ms", section.stale_after_ms),
    ] {
        if !FEED_RANGE_MS.contains(&value) {
            let message = format!(
                "must be {} to {} milliseconds, got {value}",
                FEED_RANGE_MS.start(),
                FEED_RANGE_MS.end()
            );
            problems.push(problem_at(figment, key, message));
        }
    }
    FeedConfig {
        poll_every: std::time::Duration::from_millis(section.poll_every_ms),
        stale_after: std::time::Duration::from_millis(section.stale_after_ms),
    }
}

fn strategy_params(
    section: &StrategySection,
    figment: &Figment,
    problems: &mut Vec<Problem>,
) -> Option<StrategyParams> {
    let params = StrategyParams::new(
        section.lookback,
        section.profit_target,
        section.stop_loss,
        section.relevel,
        section.quantity,
    );
    params
        .map_err(|error| problems.push(param_problem(figment, "strategy", error)))
        .ok()
}

fn symbol_params(
    section: &StrategySection,
    figment: &Figment,
    problems: &mut Vec<Problem>,
) -> HashMap<Symbol, StrategyParams> {
    let mut symbols = HashMap::new();
    for (name, over) in &section.symbols {
        let prefix = format!("strategy.symbols.{name}");
        let symbol = match Symbol::parse(name) {
            Ok(symbol) => symbol,
            Err(error) => {
                problems.push(problem_at(figment, &prefix, error.to_string()));
                continue;
            }
        };
        let params = overridden(section, over);
        match params {
            Ok(params) if symbols.insert(symbol.clone(), params).is_some() => {
                let message = format!("{symbol} is configured twice (names ignore case)");
                problems.push(problem_at(figment, &prefix, message));
            }
            Ok(_) => {}
            Err(error) => problems.push(param_problem(figment, &prefix, error)),
        }
    }
    symbols
}

fn overridden(
    base: &StrategySection,
    over: &SymbolOverride,
) -> Result<StrategyParams, StrategyError> {
    StrategyParams::new(
        over.lookback.unwrap_or(base.lookback),
        over.profit_target.unwrap_or(base.profit_target),
        over.stop_loss.unwrap_or(base.stop_loss),
        over.relevel.unwrap_or(base.relevel),
        over.quantity.unwrap_or(base.quantity),
    )
}

/// A strategy error names its parameter; the key is that name under `prefix`.
fn param_problem(figment: &Figment, prefix: &str, error: StrategyError) -> Problem {
    match error {
        StrategyError::InvalidParameter { name, reason } => {
            let key = format!("{prefix}.{name}");
            // An override that did not set the key inherits the bad default's origin.
            let key = if figment.find_metadata(&key).is_some() {
                key
            } else {
                format!("strategy.{name}")
            };
            problem_at(figment, &key, reason)
        }
        other => problem_at(figment, prefix, other.to_string()),
    }
}

//! [`Config`]: the configuration as the file and the environment spell it, one
//! struct per TOML table.
//!
//! Every struct rejects unknown keys, and every default is set here once, in the
//! `Default` impls (taken from the crate that owns the setting where one exists:
//! strategy parameters, engine shards, the server's body limit). Values are parsed
//! into their types on extraction (an address, an exact ratio, a time of day); what
//! needs more than one value to check is validated afterwards (`validate`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use jiff::civil::{Date, Time};
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{Relevel, StrategyParams};
use serde::{Deserialize, Serialize};

use crate::orders::{Exchange, OrderType, Product, ProtectionMode};

/// The whole configuration tree.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where and how `serve` runs.
    pub server: ServerSection,
    /// `[strategy]`: parameters for every symbol, with per-symbol overrides.
    pub strategy: StrategySection,
    /// `[orders]`: how orders are placed with Kite.
    pub orders: OrdersSection,
    /// `[risk]`: limits on entries and the kill switch, enforced by the engine.
    pub risk: RiskSection,
    /// `[market]`: the exchange clock, enforced by the engine on entries and MIS.
    pub market: MarketSection,
    /// `[paper]`: the paper broker.
    pub paper: PaperSection,
    /// `[feed]`: the live price feed's polling fallback (`--broker kite`).
    pub feed: FeedSection,
}

/// Which broker `serve` trades through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// Simulated fills at the last observed price; no orders leave the process.
    #[default]
    Paper,
    /// Zerodha Kite Connect (not available yet).
    Kite,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory holding the SQLite database (relative paths are from the working
    /// directory).
    pub data_dir: PathBuf,
    /// `paper` or `kite`.
    pub broker: BrokerKind,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Engine shards (tasks that own the symbols).
    pub shards: usize,
}

impl Default for ServerSection {
    fn default() -> ServerSection {
        let engine = kitebreak_engine::EngineConfig::new(PathBuf::new());
        ServerSection {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 5000)),
            data_dir: PathBuf::from("./data"),
            broker: BrokerKind::Paper,
            body_limit: kitebreak_server::ServerConfig::DEFAULT_BODY_LIMIT,
            shards: engine.shards,
        }
    }
}

/// `[strategy]`: the defaults, and `[strategy.symbols.NAME]` overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StrategySection {
    /// Candles examined for swing highs and lows.
    pub lookback: usize,
    /// Profit target as a fraction of the entry price (0.03 is 3%).
    pub profit_target: Ratio,
    /// Stop loss as a fraction of the entry price (0.01 is 1%).
    pub stop_loss: Ratio,
    /// `fresh` or `rolling` (see the strategy spec).
    pub relevel: Relevel,
    /// Order quantity when an alert carries none.
    pub quantity: Quantity,
    /// Per-symbol overrides; keys not set fall back to the values above.
    pub symbols: BTreeMap<String, SymbolOverride>,
}

impl Default for StrategySection {
    fn default() -> StrategySection {
        let params = StrategyParams::default();
        StrategySection {
            lookback: params.lookback(),
            profit_target: params.profit_target(),
            stop_loss: params.stop_loss(),
            relevel: params.relevel(),
            quantity: params.quantity(),
            symbols: BTreeMap::new(),
        }
    }
}

/// `[strategy.symbols.NAME]`: any subset of the strategy keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SymbolOverride {
    /// Overrides `strategy.lookback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback: Option<usize>,
    /// Overrides `strategy.profit_target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profit_target: Option<Ratio>,
    /// Overrides `strategy.stop_loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<Ratio>,
    /// Overrides `strategy.relevel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevel: Option<Relevel>,
    /// Overrides `strategy.quantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
}

/// `[orders]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrdersSection {
    /// Exchange of symbols given without one (`NSE`).
    pub exchange: Exchange,
    /// Kite product (`MIS` intraday, `CNC` delivery, `NRML` F&O carry-forward).
    pub product: Product,
    /// Only `MARKET` is supported.
    pub order_type: OrderType,
    /// Kite's `market_protection`: `-1` automatic, or a percentage band 1..=100.
    /// `0` (none) is refused: exchanges reject such market orders since April 2026.
    pub market_protection: i32,
    /// `none` (default) or `exchange`: an SL-M stop guards each open trade at the
    /// exchange while kitebreak is down (MIS only).
    pub protection: ProtectionMode,
    /// How long an order may take to reach its final status before kitebreak stops
    /// waiting (a market order still working then is cancelled and any part fill
    /// reported), milliseconds.
    pub settle_within_ms: u64,
}

impl Default for OrdersSection {
    fn default() -> OrdersSection {
        OrdersSection {
            exchange: Exchange::Nse,
            product: Product::Mis,
            order_type: OrderType::Market,
            market_protection: -1,
            protection: ProtectionMode::None,
            settle_within_ms: 10_000,
        }
    }
}

/// `[risk]`: every limit is optional; an absent key means no limit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskSection {
    /// Most trades open at once, across symbols.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_open_trades: Option<u32>,
    /// Largest quantity of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_quantity: Option<Quantity>,
    /// Largest value (price × quantity, in rupees) of one order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_order_value: Option<Price>,
    /// New entries stop once the day's loss (realized plus unrealized, rupees)
    /// reaches this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_loss: Option<Price>,
    /// The kill switch at start: `active`, `halted` (no new entries) or `flatten`.
    pub kill_switch: KillSwitch,
}

/// The kill switch's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KillSwitch {
    /// Trading normally.
    #[default]
    Active,
    /// No new entries; open trades are still exited.
    Halted,
    /// Exit every open trade now, and no new entries.
    Flatten,
}

/// `[market]`: the IST trading clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketSection {
    /// When false, entries are taken at any time and nothing is squared off (replays
    /// of old data, tests); true in production.
    pub enforce: bool,
    /// Session open, IST.
    #[serde(deserialize_with = "crate::civil::time")]
    pub open: Time,
    /// Session close, IST.
    #[serde(deserialize_with = "crate::civil::time")]
    pub close: Time,
    /// MIS positions are squared off at this time, IST.
    #[serde(deserialize_with = "crate::civil::time")]
    pub square_off: Time,
    /// Exchange holidays (weekends are always closed).
    #[serde(deserialize_with = "crate::civil::dates")]
    pub holidays: Vec<Date>,
    /// A file of more holidays: one `YYYY-MM-DD` per line, `#` starts a comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holidays_file: Option<PathBuf>,
}

impl Default for MarketSection {
    fn default() -> MarketSection {
        MarketSection {
            enforce: true,
            open: Time::constant(9, 15, 0, 0),
            close: Time::constant(15, 30, 0, 0),
            square_off: Time::constant(15, 15, 0, 0),
            holidays: Vec::new(),
            holidays_file: None,
        }
    }
}

/// `[paper]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaperSection {
    /// Paper fills are this many basis points worse than the last price.
    pub slippage_bps: u32,
}

impl Default for PaperSection {
    fn default() -> PaperSection {
        let server = kitebreak_server::ServerConfig::new(kitebreak_engine::EngineConfig::new(""));
        PaperSection {
            slippage_bps: server.paper_slippage_bps,
        }
    }
}

/// `[feed]`: when exit monitoring falls back from the live ticker to REST polls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedSection {
    /// While the ticker is not live, one batched LTP call for every watched symbol
    /// at most this often, in milliseconds (Kite allows one quote call a second).
    pub poll_every_ms: u64,
    /// A live ticker without a tick for this long (milliseconds) counts as silent,
    /// and its symbols are polled.
    pub stale_after_ms: u64,
}

impl Default for FeedSection {
    fn default() -> FeedSection {
        let feed = kitebreak_engine::FeedConfig::default();
        FeedSection {
            poll_every_ms: millis(feed.poll_every),
            stale_after_ms: millis(feed.stale_after),
        }
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

//! kitebreak's runtime: strategies sharded across tokio tasks, orders through a
//! [`Broker`], and every state change committed to SQLite before it is acknowledged.
//!
//! - [`Engine`]: the handle. Each command goes to the shard owning its symbol
//!   (`shard`), which runs the pure `kitebreak_strategy::Strategy` and the order
//!   lifecycle, and replies once the store has committed.
//! - [`Store`]: SQLite (WAL, `synchronous=FULL`) with a single writer task doing
//!   group commit across shards.
//! - [`PaperBroker`]: fills at the last observed price; the only broker so far.
//! - Recovery (`recovery`): on start every symbol is rebuilt with
//!   `Strategy::restore` and open trades are watched again at once.
//!
//! This crate owns no HTTP and no configuration files; `kitebreak-server` and the
//! binary do.

mod broker;
mod config;
mod engine;
mod error;
mod paper;
mod recovery;
mod report;
mod shard;
mod store;
mod symbol;

pub use broker::{
    BoxFuture, Broker, BrokerError, MarketOrder, Ohlc, OrderId, OrderReport, OrderStatus,
    PositionReport, Side,
};
pub use config::EngineConfig;
pub use engine::Engine;
pub use error::EngineError;
pub use paper::PaperBroker;
pub use report::{
    CandleInput, CandleReport, EntryOutcome, ExitOutcome, OrderRecord, PositionState, PriceReport,
    SymbolStatus,
};
pub use store::{ClosedTradeRecord, Store, TradeFilter};
pub use symbol::Symbol;

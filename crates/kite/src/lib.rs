//! kitebreak-kite: the Zerodha Kite Connect broker adapter, built on the official
//! `kiteconnect` crate (no second Kite client is written here).
//!
//! What it adds on top of the client: exact prices at the boundary ([`exact`]),
//! Kite's request budgets enforced client-side ([`limits`]), retried reads and
//! never-retried placements with tag reconciliation ([`KiteBroker`]), classified
//! errors ([`KiteError`]), GTT OCOs that guard delivery and carry positions ([`gtt`]), the cached instrument dump with its daily refresh
//! ([`instruments`]), historical candles ([`historical`]), a ticker
//! manager with silence detection ([`TickerManager`]), sessions and the token file
//! ([`session`]) and postback verification ([`postback`]).
//!
//! It must not depend on the engine: the engine implements its `Broker` trait over
//! [`KiteBroker`] with thin glue (see `docs/kite-adapter.md`).

mod amend;
mod book;
mod broker;
pub mod config;
pub mod error;
pub mod exact;
pub mod gtt;
pub mod historical;
pub mod instruments;
pub mod limits;
mod market;
pub mod orders;
mod placement;
pub mod postback;
pub mod session;
pub mod ticker;
mod ticker_loop;
pub mod time;

pub use book::{Fill, Position};
pub use broker::KiteBroker;
pub use config::{KiteConfig, MarketProtection};
pub use error::{ErrorClass, KiteError};
pub use gtt::{GttLegResult, GttLegSnapshot, GttSnapshot, GttState, OcoLeg, OcoRequest};
pub use historical::{HistoricalCandle, Interval};
pub use instruments::{Instrument, Instruments};
pub use market::{InstrumentRefresh, Ohlc, QUOTE_BATCH, instruments_from_file};
pub use orders::{OrderKind, OrderRequest, OrderSnapshot, OrderState, Product, Side, Tag, Variety};
pub use session::{Expired, ExpiryCause, SessionState, SessionStatus, StoredSession};
pub use ticker::{MarketEvent, MarketSink, TickerManager, TickerState, TickerTask};

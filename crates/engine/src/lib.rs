//! kitebreak's runtime: strategies sharded across tokio tasks, orders through a
//! [`Broker`], and every state change committed to SQLite before it is acknowledged.
//!
//! # Where things are
//! - [`Engine`] (`engine`): the handle. Each command goes to the shard owning its
//!   symbol and waits for the shard's reply.
//! - `shard`: tokio tasks, each owning a fixed subset of symbols (a hash of the
//!   symbol picks the shard). A shard runs the pure `kitebreak_strategy::Strategy`
//!   with `AwaitBroker`, so every signal goes through the order lifecycle
//!   (`shard::orders`), and replies only after its writes are committed.
//! - [`Store`] (`store`): SQLite in WAL mode with `synchronous=FULL`, migrations
//!   embedded from `migrations/`. One writer task group-commits the writes of all
//!   shards (a batch that fails is redone with each job in its own savepoint) and
//!   acknowledges each job after the commit. Prices are INTEGER micro-units, P&L TEXT decimals, never REAL.
//! - [`PaperBroker`] (`paper`): fills market orders at the last observed price
//!   (candle closes, fed prices) with optional slippage, and keeps its book (orders
//!   and fills) in a SQLite file of its own beside the engine's database
//!   ([`paper_book_path`]), committed before a placement returns. It has no network
//!   code and no path to a live broker.
//! - [`KiteAdapter`] (`kite`): the live broker, a thin wrapper over
//!   `kitebreak_kite::KiteBroker`: MARKET orders with the engine's tag and market
//!   protection, lost answers settled by tag (never re-sent), errors classified as
//!   rejected, unavailable or session expired; exchange-side protection as an SL-M
//!   stop (MIS) or a two-leg GTT (CNC/NRML). Which broker runs is chosen once, at
//!   start, by the binary.
//! - `session`: the broker's login session. While it is expired (a TokenException
//!   anywhere, the ticker refused, or 06:00 IST reached) new entries are refused with
//!   the reason; exits are still sent. A new token resumes entries at once.
//! - `feed`: live prices for exits. A broker with a live feed (Kite's ticker) sends
//!   ticks, order updates and connection states; ticks go to the owning shard as
//!   price observations, and while the feed is not live one batched LTP poll a
//!   second covers every watched symbol (those with an open trade).
//! - `updates`: order updates (ticker, verified postbacks) as the fast path to an
//!   order's final status, polling as the fallback; one transition function makes
//!   duplicates and late updates harmless.
//! - `shard::retry` and `shard::unsettled`: a failed exit is retried with backoff
//!   (1 s doubling to 60 s, engine clock), loudly; an order of unknown outcome is
//!   looked up by its tag before anything is sent in its place.
//! - [`market`] and [`risk`]: pure rules checked before every entry order (trading
//!   window, weekends, holidays, MIS square-off; kill switch, open trades, order
//!   quantity and value, daily loss). Time comes from the configured [`Clock`].
//! - `recovery`: at start every symbol is rebuilt with `Strategy::restore` from its
//!   stored candles, levels and open trade, so open trades are watched at once;
//!   every order left PENDING by a crash is looked up at the broker by its tag
//!   (filled → applied, rejected → failed, working → awaited, absent → LOST at once
//!   from the paper book, after the look-up window from Kite's; never re-sent) and the broker's positions are compared with the open trades
//!   (mismatches reported in [`Reconciliation`]), all before any command runs.
//!
//! # Promises and the choices behind them
//! - Per-symbol order: one symbol's commands run one at a time on its shard; no
//!   lock guards any strategy. Different shards run in parallel and meet only in
//!   the group commit.
//! - Durable before acknowledged: a candle's state (symbol row, candle row) and an
//!   entry's intent (order row with its tag, PENDING) commit together *before* the
//!   order is sent; the fill and the trade commit before the reply. If a commit
//!   fails, the shard restores its snapshot of the symbol, so memory never runs
//!   ahead of disk for a change that was not sent to the broker.
//! - Rejections: a rejected entry leaves no trade and unlocks the levels; a
//!   rejected exit leaves the trade open (logged at ERROR, counted, shown as
//!   `exit_pending`) and is retried after its backoff.
//! - Monitoring: the original ran a monitor thread that polled prices for open
//!   trades; `POST /monitoring/stop` stopped that thread. Its webhook still fed each
//!   candle to the strategy, whose candle step checks the close against the open
//!   trade. So here, monitoring off means price observations ([`Engine::price`])
//!   do not exit trades, while candles behave exactly as with monitoring on (levels,
//!   entries and close-based exits). Monitoring is on at every start, because a
//!   restored open trade must be watched.
//! - Manual signals (`action: buy|sell`) go to the broker as plain market orders,
//!   as the original did: they are recorded with a tag but open no managed trade.
//! - Duplicate alerts: a candle whose time equals one of the symbol's stored
//!   candles (the newest `max(50, lookback + 2)`) is acknowledged and not applied.
//!   The check is in memory (the times are loaded with the candles at start); the
//!   database keeps no `(symbol, time)` index since migration 0002 (it cost a page
//!   of WAL per candle).
//!
//! This crate owns no HTTP and no configuration files; `kitebreak-server` and the
//! binary do.

mod broker;
mod changes;
mod clock;
mod config;
mod enforce;
mod engine;
mod error;
mod feed;
mod gate;
mod journal;
mod kite;
pub mod market;
mod paper;
mod recovery;
mod report;
pub mod risk;
mod session;
mod shard;
mod store;
mod symbol;
mod updates;
mod warm;

pub use broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, InstrumentInfo, MarketOrder, OcoId, OcoOrder,
    OcoReport, OcoState, Ohlc, OrderId, OrderProgress, OrderReport, OrderStatus, OrderStep,
    PositionReport, Side, StopOrder, ThrottleWaits,
};
pub use changes::Changes;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{EngineConfig, Protection};
pub use enforce::SweepOutcome;
pub use engine::Engine;
pub use error::EngineError;
pub use feed::{FeedConfig, FeedEvent, FeedSource, FeedState, FeedStats, OrderUpdate};
pub use gate::RiskStatus;
pub use journal::current_boot_id;
pub use kite::KiteAdapter;
pub use kitebreak_kite::Product as KiteProduct;
pub use kitebreak_kite::{Expired, ExpiryCause, SessionState};
pub use paper::{PaperBroker, paper_book_path};
pub use recovery::{PositionMismatch, Reconciliation, SettledOrder};
pub use report::{
    CandleInput, CandleReport, EntryOutcome, ExitOutcome, ExitPending, OrderRecord, PositionState,
    PriceReport, ProtectionStatus, SymbolCounts, SymbolStatus,
};
pub use session::{BrokerSession, LOGIN_HINT, SessionHealth};
pub use store::{ClosedTradeRecord, CommitStats, Store, TradeFilter};
pub use symbol::Symbol;
pub use updates::UpdateOutcome;

//! The support/resistance breakout strategy, exactly as `spec/strategy.md` states it.
//!
//! This crate is the one place where trading decisions are made. It is a synchronous
//! state machine with no IO, no clock, no async and no logging: callers (the live
//! engine, the paper broker, the backtester, `kitebreak trace`) feed it candles and
//! price observations, tell it about fills, and act on the events it returns.
//!
//! One candle, in the spec's order of work ([`Strategy::on_candle`]):
//! 1. while a trade is open, the close is checked as a price observation (target
//!    first, then stop), which may end the trade;
//! 2. the candle is appended to the history, support and resistance are re-detected
//!    from swing lows and highs unless the levels are locked, and the close is checked
//!    for a breakout, which may open a trade.
//!
//! Whether a signal fills at once (close-only backtests, paper trading) or later (a
//! live broker) is decided by the [`FillModel`] the caller passes in.
//!
//! Swing detection is incremental: a candle's swing status is final once its right
//! neighbour arrives, and the lowest swing low and highest swing high of the window are
//! sliding-window extremes kept without data-dependent branches, so a candle costs O(1)
//! amortised whatever the lookback. While the levels are locked a candle only joins the
//! history; its swing status is settled from there when they unlock
//! (`docs/decisions/swing-detection.md`).

mod candle;
mod error;
mod fills;
mod history;
mod params;
mod quiet;
mod strategy;
mod swings;
mod trace;
mod trade;

pub use candle::Candle;
pub use error::StrategyError;
pub use fills::{AwaitBroker, FillAtSignalPrice, FillModel};
pub use params::{Relevel, StrategyParams};
pub use strategy::{CandleEvents, EntryEvent, ExitEvent, Position, Strategy};
pub use swings::{Detection, Levels, RejectReason, SkipReason};
pub use trace::{TraceEvent, TraceLine};
pub use trade::{ClosedTrade, Direction, EntrySignal, ExitReason, ExitSignal, Fill, Trade};

pub use kitebreak_price::{Money, Percent, Price, Quantity, Ratio};

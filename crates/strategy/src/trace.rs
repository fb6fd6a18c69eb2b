//! [`TraceLine`]: the state after one candle, in the golden files' format.
//!
//! `kitebreak trace` prints one of these per candle, and the tests compare them with
//! `shared/golden/strategy/*.jsonl`. Only filled events appear (the close-only model
//! fills every signal at once); a signal still awaiting a broker is not a trace event.

use kitebreak_price::{Money, Percent, Price, Rounding};

use crate::{Candle, CandleEvents, Direction, EntryEvent, ExitEvent, ExitReason, Strategy};

/// The state after candle `i`, with what the candle did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceLine {
    /// The candle's position in the input, from 0.
    pub i: u64,
    /// The candle's high.
    pub high: Price,
    /// The candle's low.
    pub low: Price,
    /// The candle's close.
    pub close: Price,
    /// Support after the candle.
    pub support: Option<Price>,
    /// Resistance after the candle.
    pub resistance: Option<Price>,
    /// Whether a trade is in progress after the candle.
    pub locked: bool,
    /// Exits, then entries, that this candle caused.
    pub events: Vec<TraceEvent>,
}

/// A trade opening or closing, as the golden files print it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TraceEvent {
    /// A trade opened.
    Entry {
        /// Long or short.
        direction: Direction,
        /// Entry fill price.
        price: Price,
        /// Profit target.
        target: Price,
        /// Stop loss.
        stop: Price,
    },
    /// A trade closed.
    Exit {
        /// Profit, loss or manual.
        reason: ExitReason,
        /// Exit fill price.
        price: Price,
        /// P&L rounded half-even to 2 places.
        pnl: Money,
        /// P&L per cent of entry, rounded half-even to 2 places.
        pnl_percent: Percent,
    },
}

impl TraceLine {
    /// The line for candle `i` after `strategy` processed it and produced `events`.
    pub fn new(i: u64, candle: &Candle, strategy: &Strategy, events: &CandleEvents) -> TraceLine {
        let levels = strategy.levels();
        let exit = events.exit.iter().filter_map(|event| match event {
            ExitEvent::Closed(closed) => Some(TraceEvent::Exit {
                reason: closed.exit_reason,
                price: closed.price_exit,
                pnl: closed.pnl.rounded(2, Rounding::HalfEven),
                pnl_percent: closed.pnl_percent.rounded(2, Rounding::HalfEven),
            }),
            ExitEvent::Signalled(_) => None,
        });
        let entry = events.entry.iter().filter_map(|event| match event {
            EntryEvent::Opened(trade) => Some(TraceEvent::Entry {
                direction: trade.direction,
                price: trade.price_entry,
                target: trade.price_target,
                stop: trade.price_stop,
            }),
            EntryEvent::Signalled(_) => None,
        });
        TraceLine {
            i,
            high: candle.high,
            low: candle.low,
            close: candle.close,
            support: levels.support,
            resistance: levels.resistance,
            locked: strategy.is_locked(),
            events: exit.chain(entry).collect(),
        }
    }
}

//! What commands take and return: plain data for the HTTP layer to render.

use jiff::Timestamp;
use kitebreak_price::{Price, Quantity};
use kitebreak_strategy::{
    Candle, ClosedTrade, Detection, Direction, Levels, StrategyParams, Trade,
};

use crate::broker::{OrderStatus, Side};
use crate::{EngineError, Symbol};

/// One candle as an alert delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleInput {
    /// High, low and close, consistent (`low <= close <= high`).
    pub candle: Candle,
    /// The open, if sent (between low and high).
    pub open: Option<Price>,
    /// The volume, if sent.
    pub volume: Option<u64>,
    /// The candle's time, if sent: a second alert with the same time is a duplicate.
    pub time: Option<Timestamp>,
    /// Order quantity for a breakout on this candle (the strategy's default if absent).
    pub quantity: Option<Quantity>,
}

impl CandleInput {
    /// Checks the candle's prices agree with each other.
    pub fn new(
        candle: Candle,
        open: Option<Price>,
        volume: Option<u64>,
        time: Option<Timestamp>,
        quantity: Option<Quantity>,
    ) -> Result<CandleInput, EngineError> {
        candle
            .check_consistent()
            .map_err(|e| EngineError::InvalidInput(e.to_string()))?;
        if let Some(open) = open
            && (open < candle.low || open > candle.high)
        {
            return Err(EngineError::InvalidInput(format!(
                "invalid candle: open {open} is outside low {} .. high {}",
                candle.low, candle.high
            )));
        }
        Ok(CandleInput {
            candle,
            open,
            volume,
            time,
            quantity,
        })
    }
}

/// An order the engine sent, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// kitebreak's unique tag.
    pub tag: String,
    /// The broker's id, when the broker accepted the order.
    pub order_id: Option<String>,
    /// The instrument.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Units asked for.
    pub quantity: Quantity,
    /// COMPLETE with the fill, or REJECTED with the reason.
    pub status: OrderStatus,
}

/// What became of an entry signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// The order filled and the trade is open.
    Filled {
        /// The entry order.
        order: OrderRecord,
        /// The trade, with target and stop from the average fill price.
        trade: Trade,
    },
    /// The order was rejected: no trade, levels unlocked.
    Failed {
        /// The entry order.
        order: OrderRecord,
        /// Why.
        reason: String,
    },
    /// The order was sent but its outcome is unknown (the answer or the final status
    /// was lost). Its row stays PENDING, the levels stay locked, and the engine looks
    /// it up by its tag until the broker answers; a fill then opens the trade.
    Unsettled {
        /// The entry order as far as it is known.
        order: OrderRecord,
        /// What went wrong.
        reason: String,
    },
    /// No order was sent: the market clock or a risk limit refused the entry. No
    /// trade, levels unlocked.
    Refused {
        /// Why (the market rule or risk limit).
        reason: String,
    },
}

/// What became of an exit signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitOutcome {
    /// The order filled and the trade is closed.
    Closed {
        /// The exit order.
        order: OrderRecord,
        /// The finished trade.
        closed: ClosedTrade,
    },
    /// The order was rejected: the trade stays open and the next price retries.
    Failed {
        /// The exit order.
        order: OrderRecord,
        /// Why.
        reason: String,
    },
}

/// Everything one candle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandleReport {
    /// The instrument.
    pub symbol: Symbol,
    /// True when this candle's time was seen before: acknowledged, not applied.
    pub duplicate: bool,
    /// Level detection on this candle (`None` for a duplicate).
    pub detection: Option<Detection>,
    /// Support and resistance after the candle.
    pub levels: Levels,
    /// Whether the levels are locked by a trade after the candle.
    pub locked: bool,
    /// The close checked against an open trade, when it exited (or tried to).
    pub exit: Option<ExitOutcome>,
    /// The breakout the close made, if any.
    pub breakout: Option<Direction>,
    /// What became of the breakout's entry order.
    pub entry: Option<EntryOutcome>,
}

impl CandleReport {
    /// The original's `levels_updated`: this candle's detection produced valid levels.
    pub fn levels_updated(&self) -> bool {
        self.detection.is_some_and(|d| d.levels_updated())
    }
}

/// What a price observation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceReport {
    /// The instrument.
    pub symbol: Symbol,
    /// Whether the price was checked against an open trade (monitoring on, trade open).
    pub checked: bool,
    /// The exit it triggered, if any.
    pub exit: Option<ExitOutcome>,
}

/// Where a symbol stands with respect to a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionState {
    /// No trade.
    Flat,
    /// An entry order is out.
    Entering,
    /// A trade is open and watched.
    Open,
    /// An exit order is out.
    Exiting,
}

/// How many symbols are tracked, and how many of them have a trade (being entered,
/// open, or being exited): `GET /`'s `total_strategies` and `active_strategies`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbolCounts {
    /// Every tracked symbol.
    pub total: usize,
    /// Symbols with a trade.
    pub with_trade: usize,
}

/// One symbol's state, for the status endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolStatus {
    /// The instrument.
    pub symbol: Symbol,
    /// Current support and resistance.
    pub levels: Levels,
    /// True while a trade is in progress.
    pub locked: bool,
    /// Where the symbol stands.
    pub position: PositionState,
    /// The open trade, if any.
    pub trade: Option<Trade>,
    /// Candles held (capped at 50 for lookbacks up to 48, as the original).
    pub data_points: usize,
    /// Candles since the last reset or fresh relevel (after a restart: those restored).
    pub candles_seen: u64,
    /// The parameters it runs with.
    pub params: StrategyParams,
    /// An exit that was decided, failed, and is being retried with backoff.
    pub exit_pending: Option<ExitPending>,
    /// The exchange-side protection of the open trade, when configured.
    pub protection: Option<ProtectionStatus>,
}

/// The exchange-side stop guarding a trade, or why none does (`GET /strategy/{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionStatus {
    /// The stop order's tag, while one is resting.
    pub tag: Option<String>,
    /// Its trigger (the trade's stop, before the broker's tick rounding).
    pub trigger: Option<kitebreak_price::Price>,
    /// Why the trade is not guarded (the stop was rejected, cancelled elsewhere, or
    /// could not be placed); kitebreak still watches it.
    pub error: Option<String>,
}

/// A failed exit being retried (shown by `GET /strategy/{symbol}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitPending {
    /// Why the trade is being left.
    pub reason: kitebreak_strategy::ExitReason,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure's words.
    pub last_error: String,
    /// When the next attempt is due (engine clock).
    pub next_attempt: jiff::Timestamp,
}

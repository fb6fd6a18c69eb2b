//! [`Book`]: one symbol's in-memory state inside its shard.

use std::collections::VecDeque;

use jiff::Timestamp;
use kitebreak_strategy::{Position, Strategy};

use crate::Symbol;
use crate::report::{ExitPending, PositionState, SymbolStatus};
use crate::store::{SymbolRow, WriteOp};

/// A symbol's strategy plus what the store needs to mirror it.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub strategy: Strategy,
    /// First candle seq of the strategy's history (moves on reset and fresh relevel).
    pub history_from: i64,
    /// Seq of the next candle.
    pub next_seq: i64,
    /// Times of the stored candles that carried one, oldest first, with their seq:
    /// a candle whose time is here is a repeated alert.
    pub recent_times: VecDeque<(i64, Timestamp)>,
    /// A decided exit that failed and is retried with backoff.
    pub exit_retry: Option<super::retry::ExitRetry>,
    /// An entry sent whose outcome is unknown, looked up by its tag until known.
    pub entry_unsettled: Option<super::unsettled::Unsettled>,
    /// The exchange-side stop resting for the open trade (see `protect`).
    pub protection: Option<super::protect::Guard>,
    /// Why the open trade has no exchange-side stop, raised loudly (see `protect`).
    pub protection_alert: Option<String>,
}

impl Book {
    /// A book for a symbol seen for the first time.
    pub fn new(strategy: Strategy) -> Book {
        Book {
            strategy,
            history_from: 0,
            next_seq: 0,
            recent_times: VecDeque::new(),
            exit_retry: None,
            entry_unsettled: None,
            protection: None,
            protection_alert: None,
        }
    }

    /// How many candles are stored per symbol: enough to restore the strategy.
    pub fn keep(&self) -> i64 {
        let window = self.strategy.params().window().max(Strategy::HISTORY_CAP);
        i64::try_from(window).unwrap_or(i64::MAX)
    }

    /// True when a candle with this time was already applied.
    pub fn seen(&self, time: Timestamp) -> bool {
        self.recent_times.iter().any(|&(_, t)| t == time)
    }

    /// Remembers a candle's time and forgets those of pruned candles.
    pub fn remember(&mut self, seq: i64, time: Option<Timestamp>, keep_from: i64) {
        if let Some(time) = time {
            self.recent_times.push_back((seq, time));
        }
        while self
            .recent_times
            .front()
            .is_some_and(|&(old, _)| old < keep_from)
        {
            self.recent_times.pop_front();
        }
    }

    /// The store's row for this symbol as it stands.
    pub fn row(&self, symbol: &Symbol) -> WriteOp {
        WriteOp::Symbol(SymbolRow {
            symbol: symbol.clone(),
            params: *self.strategy.params(),
            levels: self.strategy.levels(),
            history_from: self.history_from,
            next_seq: self.next_seq,
        })
    }

    /// The status the API shows.
    pub fn status(&self, symbol: &Symbol) -> SymbolStatus {
        let position = match self.strategy.position() {
            Position::Flat => PositionState::Flat,
            Position::Entering(_) => PositionState::Entering,
            Position::Open(_) => PositionState::Open,
            Position::Exiting { .. } => PositionState::Exiting,
        };
        SymbolStatus {
            symbol: symbol.clone(),
            levels: self.strategy.levels(),
            locked: self.strategy.is_locked(),
            position,
            trade: self.strategy.trade().cloned(),
            data_points: self.strategy.data_points(),
            candles_seen: self.strategy.candles_seen(),
            params: *self.strategy.params(),
            exit_pending: self.exit_retry.as_ref().map(|retry| ExitPending {
                reason: retry.reason,
                attempts: retry.attempts,
                last_error: retry.last_error.clone(),
                next_attempt: retry.next_at,
            }),
            protection: super::protect::status(self),
        }
    }
}

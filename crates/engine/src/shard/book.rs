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
    /// The open trade's next exit, durable as an ARMED row (see `journal`): sent
    /// at once when the trade exits. `None` sends the slow way (intent first).
    pub armed: Option<crate::broker::MarketOrder>,
}

/// What [`Book::remember`] changed in the repeated-alert memory.
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    /// Times of pruned candles, oldest first (usually none or one).
    forgotten: Vec<(i64, Timestamp)>,
    /// Whether the candle's own time was added (at the back).
    added: bool,
}

/// The part of a [`Book`] one candle changes (its strategy, its seq, its time in
/// the repeated-alert memory), kept until the candle's commit lands so a failed
/// commit puts back exactly that and nothing else: not a copy of the whole book
/// per pipelined candle.
#[derive(Debug)]
pub(crate) struct Rollback {
    strategy: Strategy,
    next_seq: i64,
    pub remembered: Remembered,
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
            armed: None,
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

    /// Remembers a candle's time and forgets those of pruned candles; returns what
    /// it changed, for [`Rollback`].
    ///
    /// The pruned times go first, so the memory never holds more than the `keep`
    /// stored candles' times, and it is sized to exactly that: with 10,000 symbols a
    /// doubling `VecDeque` (50 times pushed into room for 64) costs megabytes.
    pub fn remember(&mut self, seq: i64, time: Option<Timestamp>, keep_from: i64) -> Remembered {
        let mut forgotten = Vec::new();
        while let Some(&(old, time)) = self.recent_times.front() {
            if old >= keep_from {
                break;
            }
            forgotten.push((old, time));
            self.recent_times.pop_front();
        }
        let Some(time) = time else {
            return Remembered {
                forgotten,
                added: false,
            };
        };
        let times = &mut self.recent_times;
        if times.len() == times.capacity() {
            let stored =
                usize::try_from(seq.saturating_add(1).saturating_sub(keep_from)).unwrap_or(1);
            times.reserve_exact(stored.saturating_sub(times.len()).max(1));
        }
        times.push_back((seq, time));
        Remembered {
            forgotten,
            added: true,
        }
    }

    /// What a failed candle commit must put back: the candle's changes, taken
    /// before it is applied (`remembered` filled in by [`Book::remember`]).
    pub fn rollback(&self) -> Rollback {
        Rollback {
            strategy: self.strategy.clone(),
            next_seq: self.next_seq,
            remembered: Remembered::default(),
        }
    }

    /// Undoes one candle (the newest) whose commit failed.
    pub fn roll_back(&mut self, rollback: Rollback) {
        let Rollback {
            strategy,
            next_seq,
            remembered,
        } = rollback;
        self.strategy = strategy;
        self.next_seq = next_seq;
        if remembered.added {
            self.recent_times.pop_back();
        }
        for entry in remembered.forgotten.into_iter().rev() {
            self.recent_times.push_front(entry);
        }
    }

    /// The store's row for this symbol as it stands.
    pub fn row(&self, symbol: &Symbol) -> WriteOp {
        WriteOp::Symbol(self.symbol_row(symbol))
    }

    /// The symbol's row as it should be stored.
    pub fn symbol_row(&self, symbol: &Symbol) -> SymbolRow {
        SymbolRow {
            symbol: symbol.clone(),
            params: *self.strategy.params(),
            levels: self.strategy.levels(),
            history_from: self.history_from,
            next_seq: self.next_seq,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use kitebreak_strategy::StrategyParams;

    fn minute(n: i64) -> Timestamp {
        Timestamp::from_second(n * 60).expect("a valid time")
    }

    /// Appends candle `seq` with `time` as the candle path does.
    fn append(book: &mut Book, time: Option<Timestamp>) {
        let seq = book.next_seq;
        book.next_seq += 1;
        let keep_from = book.next_seq - book.keep();
        let _ = book.remember(seq, time, keep_from);
    }

    #[test]
    fn the_repeated_alert_memory_holds_exactly_the_stored_candles_times() {
        let mut book = Book::new(Strategy::new(StrategyParams::default()));
        let keep = usize::try_from(book.keep()).expect("keep");
        for n in 0..3 * 64 {
            append(&mut book, Some(minute(n)));
            assert!(book.recent_times.len() <= keep, "after candle {n}");
            assert!(book.recent_times.capacity() <= keep, "after candle {n}");
        }
        let newest = 3 * 64 - 1;
        assert_eq!(book.recent_times.len(), keep);
        // Every stored candle's time is a repeat; a pruned candle's is not.
        let oldest_kept = newest + 1 - i64::try_from(keep).expect("keep");
        assert!(book.seen(minute(newest)));
        assert!(book.seen(minute(oldest_kept)));
        assert!(!book.seen(minute(oldest_kept - 1)));
    }

    #[test]
    fn candles_without_a_time_still_age_out_the_times_before_them() {
        let mut book = Book::new(Strategy::new(StrategyParams::default()));
        append(&mut book, Some(minute(0)));
        for _ in 1..book.keep() {
            append(&mut book, None);
        }
        assert!(book.seen(minute(0)), "candle 0 is still stored");
        append(&mut book, None);
        assert!(!book.seen(minute(0)), "candle 0 is pruned");
        assert!(book.recent_times.is_empty());
    }
}

//! [`History`]: a fixed-size ring buffer of the most recent candles, and their count.
//!
//! Detection keeps its own incremental state (see `swings`) and reads the ring only to
//! catch up on the candles of a locked stretch. The ring is also what callers see: the
//! status's `data_points` (the original capped its history at 50), `candles_seen`, and
//! the candles an engine snapshot needs to rebuild a strategy after a restart.

use crate::Candle;

/// The original service kept (and reported) at most this many candles.
pub(crate) const ORIGINAL_HISTORY_CAP: usize = 50;

#[derive(Debug, Clone)]
pub(crate) struct History {
    candles: Vec<Candle>,
    capacity: usize,
    /// Index in `candles` where the next candle is written (its length until the
    /// ring is full, so `candles[next..]` are the oldest and `candles[..next]` the
    /// newest candles held).
    next: usize,
    /// Candles pushed since the last clear.
    count: u64,
}

impl History {
    /// A ring holding `max(50, window)` candles.
    pub(crate) fn new(window: usize) -> History {
        let capacity = window.max(ORIGINAL_HISTORY_CAP);
        History {
            candles: Vec::with_capacity(capacity),
            capacity,
            next: 0,
            count: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, candle: Candle) {
        let next = self.next;
        // Before the ring is full, `next` is its length and there is no slot yet.
        match self.candles.get_mut(next) {
            Some(slot) => *slot = candle,
            None => self.candles.push(candle),
        }
        // A compare, not `%`: this runs for every candle.
        self.next = if next + 1 == self.capacity {
            0
        } else {
            next + 1
        };
        self.count += 1;
    }

    pub(crate) fn clear(&mut self) {
        self.candles.clear();
        self.next = 0;
        self.count = 0;
    }

    /// Candles pushed since the last clear (also those no longer held).
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Candles held (at most the capacity).
    pub(crate) fn len(&self) -> usize {
        self.candles.len()
    }

    /// Candles held, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &Candle> + '_ {
        let (newer, older) = self.candles.split_at(self.next);
        older.iter().chain(newer.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kitebreak_price::Price;

    fn candle(close: i64) -> Candle {
        let price = Price::from_micros(close).expect("positive");
        Candle {
            high: price,
            low: price,
            close: price,
        }
    }

    #[test]
    fn keeps_the_newest_candles_in_order() {
        let mut history = History::new(3);
        for close in 1..=120 {
            history.push(candle(close));
        }
        assert_eq!(history.len(), 50);
        assert_eq!(history.count(), 120);
        let closes: Vec<i64> = history.iter().map(|c| c.close.micros()).collect();
        assert_eq!(closes, (71..=120).collect::<Vec<_>>());
        history.clear();
        assert_eq!(history.len(), 0);
        assert_eq!(history.count(), 0);
        history.push(candle(7));
        assert_eq!(history.iter().count(), 1);
    }

    #[test]
    fn a_long_lookback_keeps_the_whole_window() {
        let mut history = History::new(80);
        for close in 1..=100 {
            history.push(candle(close));
        }
        assert_eq!(history.len(), 80);
    }
}

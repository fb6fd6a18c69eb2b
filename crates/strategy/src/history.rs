//! [`History`]: a fixed-size ring buffer of the most recent candles.
//!
//! Detection itself needs only the newest `lookback + 2` candles and keeps its own
//! incremental state (see `swings`); the ring is what callers see: the status's
//! `data_points` (the original capped its history at 50) and the candles an engine
//! snapshot needs to rebuild a strategy after a restart.

use crate::Candle;

/// The original service kept (and reported) at most this many candles.
pub(crate) const ORIGINAL_HISTORY_CAP: usize = 50;

#[derive(Debug, Clone)]
pub(crate) struct History {
    candles: Vec<Candle>,
    capacity: usize,
    /// Index in `candles` where the next candle is written once the ring is full.
    next: usize,
}

impl History {
    /// A ring holding `max(50, window)` candles.
    pub(crate) fn new(window: usize) -> History {
        let capacity = window.max(ORIGINAL_HISTORY_CAP);
        History {
            candles: Vec::with_capacity(capacity),
            capacity,
            next: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, candle: Candle) {
        if self.candles.len() < self.capacity {
            self.candles.push(candle);
        } else {
            self.candles[self.next] = candle;
            // A compare, not `%`: this runs for every candle.
            self.next += 1;
            if self.next == self.capacity {
                self.next = 0;
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.candles.clear();
        self.next = 0;
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
        let closes: Vec<i64> = history.iter().map(|c| c.close.micros()).collect();
        assert_eq!(closes, (71..=120).collect::<Vec<_>>());
        history.clear();
        assert_eq!(history.len(), 0);
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

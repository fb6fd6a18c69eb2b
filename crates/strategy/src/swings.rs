//! Swing detection: support and resistance from the newest `lookback + 2` candles.
//!
//! A candle strictly inside the window is a swing high when its high is strictly above
//! both neighbours' highs, and a swing low when its low is strictly below both
//! neighbours' lows. Support is the lowest swing low, resistance the highest swing
//! high; a window missing either, or with support >= resistance, is rejected and the
//! caller keeps its previous levels.
//!
//! Incremental form: when candle `n` arrives, candle `n - 1` has both neighbours and
//! its swing status is final. Swing lows and highs enter monotonic queues keyed by
//! candle index; the window's interior is candles `n - lookback ..= n - 1`, so entries
//! older than that are dropped from the front and the front is always the answer.

use std::collections::VecDeque;

use kitebreak_price::Price;

use crate::Candle;

/// Support and resistance, each possibly unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Levels {
    /// The lowest swing low of the last successful detection.
    pub support: Option<Price>,
    /// The highest swing high of the last successful detection.
    pub resistance: Option<Price>,
}

/// What one detection concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// Valid levels were found (they may equal the previous ones).
    Found {
        /// The lowest swing low.
        support: Price,
        /// The highest swing high.
        resistance: Price,
    },
    /// Detection ran and failed; the previous levels stay.
    Rejected(RejectReason),
    /// Detection did not run.
    Skipped(SkipReason),
}

impl Detection {
    /// True when this candle produced valid levels: the original's `levels_updated`.
    pub fn levels_updated(&self) -> bool {
        matches!(self, Detection::Found { .. })
    }
}

/// Why a detection that ran was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// No candle in the window is a swing low.
    NoSwingLow,
    /// No candle in the window is a swing high.
    NoSwingHigh,
    /// The lowest swing low is not below the highest swing high.
    SupportNotBelowResistance,
}

/// Why detection did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A trade is in progress, so the levels are locked.
    Locked,
    /// Fewer than `lookback + 2` candles since the last reset or fresh relevel.
    InsufficientData {
        /// Candles available.
        have: u64,
        /// Candles needed.
        need: u64,
    },
}

/// Which extreme a [`MonotonicQueue`] keeps at its front.
#[derive(Debug, Clone, Copy)]
enum Extreme {
    Lowest,
    Highest,
}

/// Candidates for the window's extreme, oldest first, each better than all after it.
#[derive(Debug, Clone)]
struct MonotonicQueue {
    extreme: Extreme,
    entries: VecDeque<(u64, Price)>,
}

impl MonotonicQueue {
    fn new(extreme: Extreme, lookback: usize) -> MonotonicQueue {
        MonotonicQueue {
            extreme,
            entries: VecDeque::with_capacity(lookback + 1),
        }
    }

    fn push(&mut self, index: u64, value: Price) {
        // An older entry that is no better than the new one can never be the answer
        // again: the new one is at least as extreme and leaves the window later.
        while let Some(&(_, older)) = self.entries.back() {
            let dominated = match self.extreme {
                Extreme::Lowest => value <= older,
                Extreme::Highest => value >= older,
            };
            if !dominated {
                break;
            }
            self.entries.pop_back();
        }
        self.entries.push_back((index, value));
    }

    fn drop_before(&mut self, first: u64) {
        while self
            .entries
            .front()
            .is_some_and(|&(index, _)| index < first)
        {
            self.entries.pop_front();
        }
    }

    fn best(&self) -> Option<Price> {
        self.entries.front().map(|&(_, value)| value)
    }

    fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Incremental swing detection over a sliding window.
#[derive(Debug, Clone)]
pub(crate) struct SwingWindow {
    lookback: u64,
    /// Candles seen since the last clear; the newest has index `seen - 1`.
    seen: u64,
    /// The two newest candles: `[newest, the one before]`.
    newest: [Option<Candle>; 2],
    swing_lows: MonotonicQueue,
    swing_highs: MonotonicQueue,
}

impl SwingWindow {
    pub(crate) fn new(lookback: usize) -> SwingWindow {
        SwingWindow {
            lookback: lookback as u64,
            seen: 0,
            newest: [None, None],
            swing_lows: MonotonicQueue::new(Extreme::Lowest, lookback),
            swing_highs: MonotonicQueue::new(Extreme::Highest, lookback),
        }
    }

    /// Appends a candle, settling the swing status of the previous one.
    pub(crate) fn push(&mut self, candle: Candle) {
        if let [Some(middle), Some(left)] = self.newest {
            let index = self.seen - 1;
            if middle.low < left.low && middle.low < candle.low {
                self.swing_lows.push(index, middle.low);
            }
            if middle.high > left.high && middle.high > candle.high {
                self.swing_highs.push(index, middle.high);
            }
        }
        self.newest = [Some(candle), self.newest[0]];
        self.seen += 1;
        // Interior of the window ending at the new candle `seen - 1`.
        let first = (self.seen - 1).saturating_sub(self.lookback);
        self.swing_lows.drop_before(first);
        self.swing_highs.drop_before(first);
    }

    /// Support and resistance of the current window, if the window is full and valid.
    pub(crate) fn detect(&self) -> Detection {
        let need = self.lookback + 2;
        if self.seen < need {
            return Detection::Skipped(SkipReason::InsufficientData {
                have: self.seen,
                need,
            });
        }
        match (self.swing_lows.best(), self.swing_highs.best()) {
            (None, _) => Detection::Rejected(RejectReason::NoSwingLow),
            (_, None) => Detection::Rejected(RejectReason::NoSwingHigh),
            (Some(support), Some(resistance)) if support >= resistance => {
                Detection::Rejected(RejectReason::SupportNotBelowResistance)
            }
            (Some(support), Some(resistance)) => Detection::Found {
                support,
                resistance,
            },
        }
    }

    /// Candles seen since the last clear.
    pub(crate) fn seen(&self) -> u64 {
        self.seen
    }

    pub(crate) fn clear(&mut self) {
        self.seen = 0;
        self.newest = [None, None];
        self.swing_lows.clear();
        self.swing_highs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(high: i64, low: i64) -> Candle {
        let high = Price::from_micros(high).expect("positive");
        let low = Price::from_micros(low).expect("positive");
        Candle {
            high,
            low,
            close: low,
        }
    }

    /// The spec's definition, computed directly over the window.
    fn brute_force(candles: &[Candle], lookback: usize) -> Detection {
        let need = lookback + 2;
        if candles.len() < need {
            return Detection::Skipped(SkipReason::InsufficientData {
                have: candles.len() as u64,
                need: need as u64,
            });
        }
        let window = &candles[candles.len() - need..];
        let interior = 1..window.len() - 1;
        let lows = interior
            .clone()
            .filter(|&i| window[i].low < window[i - 1].low && window[i].low < window[i + 1].low);
        let highs = interior.filter(|&i| {
            window[i].high > window[i - 1].high && window[i].high > window[i + 1].high
        });
        let support = lows.map(|i| window[i].low).min();
        let resistance = highs.map(|i| window[i].high).max();
        match (support, resistance) {
            (None, _) => Detection::Rejected(RejectReason::NoSwingLow),
            (_, None) => Detection::Rejected(RejectReason::NoSwingHigh),
            (Some(s), Some(r)) if s >= r => {
                Detection::Rejected(RejectReason::SupportNotBelowResistance)
            }
            (Some(support), Some(resistance)) => Detection::Found {
                support,
                resistance,
            },
        }
    }

    #[test]
    fn a_valley_and_a_peak_make_levels() {
        let mut window = SwingWindow::new(3);
        for (high, low) in [(10, 5), (12, 6), (11, 4), (13, 7), (12, 6)] {
            window.push(candle(high, low));
        }
        // Interior: candles 1..=3; swing high 1 (12 > 10, 11) and 3 (13 > 11, 12),
        // swing low 2 (4 < 6, 7).
        assert_eq!(
            window.detect(),
            Detection::Found {
                support: Price::from_micros(4).expect("positive"),
                resistance: Price::from_micros(13).expect("positive"),
            }
        );
    }

    #[test]
    fn equal_neighbours_are_not_swings() {
        let mut window = SwingWindow::new(1);
        for (high, low) in [(10, 5), (10, 5), (10, 5)] {
            window.push(candle(high, low));
        }
        assert_eq!(
            window.detect(),
            Detection::Rejected(RejectReason::NoSwingLow)
        );
    }

    #[test]
    fn too_few_candles_skip_detection() {
        let mut window = SwingWindow::new(10);
        window.push(candle(10, 5));
        assert_eq!(
            window.detect(),
            Detection::Skipped(SkipReason::InsufficientData { have: 1, need: 12 })
        );
    }

    #[test]
    fn incremental_detection_agrees_with_the_definition_on_a_zigzag() {
        // A deterministic walk with many equal values and reversals.
        let mut candles = Vec::new();
        let mut level: i64 = 1_000;
        let mut state: u64 = 7;
        for _ in 0..2_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let step = (state >> 60) as i64 - 7;
            level = (level + step).max(20);
            let spread = ((state >> 56) & 3) as i64;
            candles.push(candle(level + spread, level - spread - 1));
        }
        for lookback in [1, 2, 3, 5, 10, 20] {
            let mut window = SwingWindow::new(lookback);
            for (i, c) in candles.iter().enumerate() {
                window.push(*c);
                assert_eq!(
                    window.detect(),
                    brute_force(&candles[..=i], lookback),
                    "lookback {lookback}, candle {i}"
                );
            }
        }
    }
}

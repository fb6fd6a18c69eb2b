//! Swing detection: support and resistance from the newest `lookback + 2` candles.
//!
//! A candle strictly inside the window is a swing high when its high is strictly above
//! both neighbours' highs, and a swing low when its low is strictly below both
//! neighbours' lows. Support is the lowest swing low, resistance the highest swing
//! high; a window missing either, or with support >= resistance, is rejected and the
//! caller keeps its previous levels.
//!
//! Incremental form: when candle `n` arrives, candle `n - 1` has both neighbours and
//! its swing status is final. The settled swing lows and highs form two streams, and
//! the window's interior (candles `n - lookback ..= n - 1`) is the last `lookback`
//! values of each, so support and resistance are sliding-window extremes, kept in
//! O(1) per candle without data-dependent branches.

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

/// The extreme (lowest or highest) of the last `width` values of a stream, in O(1)
/// per value with no data-dependent branches (van Herk / Gil-Werman).
///
/// The stream is cut into blocks of `width`. The window ending at the newest value
/// covers the tail of the previous block, whose suffix extremes were computed when it
/// completed, and the head of the current block, whose running extreme is `prefix`.
/// A value that is not a swing enters as the identity (`i64::MAX` for lows,
/// `i64::MIN` for highs), so it never wins.
#[derive(Debug, Clone)]
struct SlidingExtreme<const HIGHEST: bool> {
    /// The current block's values.
    block: Vec<i64>,
    /// `suffix[o]`: extreme of the previous block from offset `o` to its end;
    /// `suffix[width]` is the identity.
    suffix: Vec<i64>,
    /// Values in the current block.
    offset: usize,
    /// Extreme of the current block so far.
    prefix: i64,
}

impl<const HIGHEST: bool> SlidingExtreme<HIGHEST> {
    const IDENTITY: i64 = if HIGHEST { i64::MIN } else { i64::MAX };

    fn new(width: usize) -> Self {
        SlidingExtreme {
            block: vec![Self::IDENTITY; width],
            suffix: vec![Self::IDENTITY; width + 1],
            offset: 0,
            prefix: Self::IDENTITY,
        }
    }

    fn better(a: i64, b: i64) -> i64 {
        if HIGHEST { a.max(b) } else { a.min(b) }
    }

    /// Appends a swing's price in micro-units, or the identity for a candle that is
    /// not a swing.
    #[inline]
    fn push(&mut self, value: i64) {
        self.block[self.offset] = value;
        self.prefix = Self::better(self.prefix, value);
        self.offset += 1;
        if self.offset == self.block.len() {
            for o in (0..self.block.len()).rev() {
                self.suffix[o] = Self::better(self.suffix[o + 1], self.block[o]);
            }
            self.offset = 0;
            self.prefix = Self::IDENTITY;
        }
    }

    /// The extreme of the last `width` values, if any of them was a swing.
    #[inline]
    fn best(&self) -> Option<Price> {
        let value = Self::better(self.suffix[self.offset], self.prefix);
        if value == Self::IDENTITY {
            return None;
        }
        Price::from_micros(value).ok()
    }

    fn clear(&mut self) {
        self.suffix.fill(Self::IDENTITY);
        self.offset = 0;
        self.prefix = Self::IDENTITY;
    }
}

/// Incremental swing detection over a sliding window.
#[derive(Debug, Clone)]
pub(crate) struct SwingWindow {
    lookback: u64,
    /// Candles seen since the last clear; the newest has index `seen - 1`.
    seen: u64,
    /// High and low (micro-units) of the newest candle.
    newest: (i64, i64),
    /// High and low of the candle before it; before there is one, values that make
    /// every swing comparison false (nothing is a swing without a left neighbour).
    before_newest: (i64, i64),
    /// Swing lows of settled candles; its window is the detection window's interior.
    swing_lows: SlidingExtreme<false>,
    /// Swing highs of settled candles.
    swing_highs: SlidingExtreme<true>,
}

/// A left neighbour no candle can be a swing against.
const NO_NEIGHBOUR: (i64, i64) = (i64::MAX, i64::MIN);

impl SwingWindow {
    pub(crate) fn new(lookback: usize) -> SwingWindow {
        SwingWindow {
            lookback: lookback as u64,
            seen: 0,
            newest: NO_NEIGHBOUR,
            before_newest: NO_NEIGHBOUR,
            swing_lows: SlidingExtreme::new(lookback),
            swing_highs: SlidingExtreme::new(lookback),
        }
    }

    /// Appends a candle, settling the swing status of the previous one.
    ///
    /// Candle `k` is settled when candle `k + 1` arrives; the first candle has no left
    /// neighbour and settles as no swing. When candle `n` arrives the settled stream
    /// ends at `n - 1`, and its last `lookback` values are exactly the interior of the
    /// window `n - lookback - 1 ..= n`. Written as selects rather than branches: swing
    /// status is a coin flip on real prices, and mispredictions dominated the cost.
    #[inline]
    pub(crate) fn push(&mut self, candle: Candle) {
        let (high, low) = (candle.high.micros(), candle.low.micros());
        if self.seen >= 1 {
            let (left_high, left_low) = self.before_newest;
            let (middle_high, middle_low) = self.newest;
            let is_low = (middle_low < left_low) & (middle_low < low);
            let is_high = (middle_high > left_high) & (middle_high > high);
            self.swing_lows
                .push(if is_low { middle_low } else { i64::MAX });
            self.swing_highs
                .push(if is_high { middle_high } else { i64::MIN });
        }
        self.before_newest = self.newest;
        self.newest = (high, low);
        self.seen += 1;
    }

    /// Support and resistance of the current window, if the window is full and valid.
    #[inline]
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
        self.newest = NO_NEIGHBOUR;
        self.before_newest = NO_NEIGHBOUR;
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

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
//!
//! Candles that arrive while the levels are locked are not taken in one by one: the
//! window catches up from the strategy's history before detection next runs
//! (`docs/decisions/swing-detection.md`).

use kitebreak_price::Price;

use crate::Candle;
use crate::history::History;

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

/// The lowest swing low and the highest swing high among some settled candles, in
/// micro-units; [`Extremes::NONE`] where there is none of either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extremes {
    lowest: i64,
    highest: i64,
}

impl Extremes {
    /// No swing low and no swing high: the identity of [`Extremes::with`].
    const NONE: Extremes = Extremes {
        lowest: i64::MAX,
        highest: i64::MIN,
    };

    /// The extremes of both sets together.
    #[inline]
    fn with(self, other: Extremes) -> Extremes {
        Extremes {
            lowest: self.lowest.min(other.lowest),
            highest: self.highest.max(other.highest),
        }
    }
}

/// The extremes of the last `width` settled candles, in O(1) per candle with no
/// data-dependent branches (van Herk / Gil-Werman), lows and highs side by side.
///
/// The stream is cut into blocks of `width`. The window ending at the newest value
/// covers the tail of the previous block, whose suffix extremes were computed when it
/// completed, and the head of the current block, whose running extremes are `prefix`.
/// A candle that is not a swing low enters as `i64::MAX` on the low side, one that is
/// not a swing high as `i64::MIN` on the high side, so it never wins.
#[derive(Debug, Clone)]
struct SlidingExtremes {
    /// The current block's values.
    block: Vec<Extremes>,
    /// `suffix[o]`: extremes of the previous block from offset `o` to its end;
    /// `suffix[width]` is [`Extremes::NONE`].
    suffix: Vec<Extremes>,
    /// Values in the current block.
    offset: usize,
    /// Extremes of the current block so far.
    prefix: Extremes,
}

impl SlidingExtremes {
    fn new(width: usize) -> SlidingExtremes {
        SlidingExtremes {
            block: vec![Extremes::NONE; width],
            suffix: vec![Extremes::NONE; width + 1],
            offset: 0,
            prefix: Extremes::NONE,
        }
    }

    /// Appends one settled candle: its low if a swing low, its high if a swing high.
    #[inline]
    fn push(&mut self, value: Extremes) {
        if let Some(slot) = self.block.get_mut(self.offset) {
            *slot = value;
        }
        self.prefix = self.prefix.with(value);
        self.offset += 1;
        if self.offset >= self.block.len() {
            self.complete_block();
        }
    }

    /// Once per `width` values: the finished block becomes the previous one.
    fn complete_block(&mut self) {
        let mut running = Extremes::NONE;
        for (suffix, value) in self.suffix.iter_mut().zip(&self.block).rev() {
            running = running.with(*value);
            *suffix = running;
        }
        self.offset = 0;
        self.prefix = Extremes::NONE;
    }

    /// The extremes of the last `width` values.
    #[inline]
    fn best(&self) -> Extremes {
        let tail = self.suffix.get(self.offset).copied();
        self.prefix.with(tail.unwrap_or(Extremes::NONE))
    }

    fn clear(&mut self) {
        self.suffix.fill(Extremes::NONE);
        self.offset = 0;
        self.prefix = Extremes::NONE;
    }
}

/// Incremental swing detection over a sliding window.
///
/// While the levels are locked detection cannot run, so the strategy only puts those
/// candles in its [`History`]; [`SwingWindow::catch_up`] takes them in from there
/// before the next candle that is detected on.
#[derive(Debug, Clone)]
pub(crate) struct SwingWindow {
    lookback: u64,
    /// Candles taken in since the last clear; the newest has index `seen - 1`. Behind
    /// the history's count by the candles of a locked stretch until `catch_up`.
    seen: u64,
    /// High and low (micro-units) of the newest candle taken in; before there is one,
    /// values no candle can be a swing against (no left neighbour, no swing).
    newest: (i64, i64),
    /// The newest candle's high if above its left neighbour's (`i64::MIN` if not),
    /// and its low if below its left neighbour's (`i64::MAX` if not): half of its
    /// swing test, finished when its right neighbour arrives.
    rising: Extremes,
    /// Swing lows and highs of settled candles; the window of the last `lookback` is
    /// the detection window's interior.
    swings: SlidingExtremes,
}

/// A left neighbour no candle can be a swing against.
const NO_NEIGHBOUR: (i64, i64) = (i64::MAX, i64::MIN);

impl SwingWindow {
    pub(crate) fn new(lookback: usize) -> SwingWindow {
        SwingWindow {
            lookback: lookback as u64,
            seen: 0,
            newest: NO_NEIGHBOUR,
            rising: Extremes::NONE,
            swings: SlidingExtremes::new(lookback),
        }
    }

    /// Appends a candle, settling the swing status of the previous one. Call
    /// [`SwingWindow::catch_up`] first if the history is ahead.
    #[inline]
    pub(crate) fn push(&mut self, candle: &Candle) {
        self.take_in(candle);
        self.seen += 1;
    }

    /// Takes in the candles `history` holds beyond those already taken in (its
    /// newest ones). Does nothing when there are none.
    #[inline]
    pub(crate) fn catch_up(&mut self, history: &History) {
        if self.seen != history.count() {
            self.replay(history);
        }
    }

    /// Candle `k` is settled when candle `k + 1` arrives. The streams then end at the
    /// previous candle, and their last `lookback` values are exactly the interior of
    /// the window ending at this one. The streams start with one non-swing for the
    /// candle before the first, which no window that detection reads contains.
    /// Written as selects rather than branches: swing status is a coin flip on real
    /// prices, and mispredictions dominated the cost.
    #[inline]
    fn take_in(&mut self, candle: &Candle) {
        let (high, low) = (candle.high.micros(), candle.low.micros());
        // The middle candle is a swing when it also beats this, its right neighbour.
        let rising = self.rising;
        self.swings.push(Extremes {
            lowest: if rising.lowest < low {
                rising.lowest
            } else {
                i64::MAX
            },
            highest: if rising.highest > high {
                rising.highest
            } else {
                i64::MIN
            },
        });
        let (left_high, left_low) = self.newest;
        self.rising = Extremes {
            lowest: if low < left_low { low } else { i64::MAX },
            highest: if high > left_high { high } else { i64::MIN },
        };
        self.newest = (high, low);
    }

    /// Takes in the newest candles of `history` that were not taken in yet.
    ///
    /// When more than a window's worth are missing, the older ones can never be in a
    /// window that detection reads again: the swing state restarts from the newest
    /// `lookback + 2` candles alone. Its first candle settles as no swing (it has no
    /// left neighbour there), and the next detection's interior starts two candles
    /// after it. So catching up costs at most one window, and at most one candle per
    /// missing candle.
    #[cold]
    #[inline(never)]
    fn replay(&mut self, history: &History) {
        let missing = history.count().saturating_sub(self.seen);
        let window = self.lookback + 2;
        let count = if missing > window {
            self.restart();
            window
        } else {
            missing
        };
        // The history holds the newest `min(history.count(), capacity)` candles, and
        // its capacity is at least a window, so it holds all `count` to take in.
        let held = history.len();
        debug_assert!(held as u64 >= count, "history lacks candles to catch up on");
        let skip = held.saturating_sub(usize::try_from(count).unwrap_or(held));
        for candle in history.iter().skip(skip) {
            self.take_in(candle);
        }
        self.seen = history.count();
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
        let best = self.swings.best();
        let price = |micros: i64, none: i64| {
            (micros != none)
                .then(|| Price::from_micros(micros).ok())
                .flatten()
        };
        match (price(best.lowest, i64::MAX), price(best.highest, i64::MIN)) {
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

    /// Forgets every candle.
    pub(crate) fn clear(&mut self) {
        self.seen = 0;
        self.restart();
    }

    /// Empties the swing state, keeping the count of candles seen.
    fn restart(&mut self) {
        self.newest = NO_NEIGHBOUR;
        self.rising = Extremes::NONE;
        self.swings.clear();
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
            window.push(&candle(high, low));
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
            window.push(&candle(high, low));
        }
        assert_eq!(
            window.detect(),
            Detection::Rejected(RejectReason::NoSwingLow)
        );
    }

    #[test]
    fn too_few_candles_skip_detection() {
        let mut window = SwingWindow::new(10);
        window.push(&candle(10, 5));
        assert_eq!(
            window.detect(),
            Detection::Skipped(SkipReason::InsufficientData { have: 1, need: 12 })
        );
    }

    /// A deterministic walk with many equal values and reversals.
    fn zigzag(count: usize) -> Vec<Candle> {
        let mut candles = Vec::new();
        let mut level: i64 = 1_000;
        let mut state: u64 = 7;
        for _ in 0..count {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let step = (state >> 60) as i64 - 7;
            level = (level + step).max(20);
            let spread = ((state >> 56) & 3) as i64;
            candles.push(candle(level + spread, level - spread - 1));
        }
        candles
    }

    #[test]
    fn incremental_detection_agrees_with_the_definition_on_a_zigzag() {
        let candles = zigzag(2_000);
        for lookback in [1, 2, 3, 5, 10, 20] {
            let mut window = SwingWindow::new(lookback);
            for (i, c) in candles.iter().enumerate() {
                window.push(c);
                assert_eq!(
                    window.detect(),
                    brute_force(&candles[..=i], lookback),
                    "lookback {lookback}, candle {i}"
                );
            }
        }
    }

    /// Locked runs of every length from none to several windows, as locked trades
    /// make them, caught up from the history before the next detection.
    #[test]
    fn deferred_candles_caught_up_from_the_history_give_the_same_detection() {
        let candles = zigzag(3_000);
        for lookback in [1, 2, 3, 10, 48, 49, 60] {
            let mut window = SwingWindow::new(lookback);
            let mut history = History::new(lookback + 2);
            let mut state: u64 = 11;
            let mut defer_left = 0u64;
            for (i, c) in candles.iter().enumerate() {
                if defer_left > 0 {
                    defer_left -= 1;
                    history.push(*c);
                    continue;
                }
                window.catch_up(&history);
                history.push(*c);
                window.push(c);
                assert_eq!(
                    window.detect(),
                    brute_force(&candles[..=i], lookback),
                    "lookback {lookback}, candle {i}"
                );
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                if (state >> 62) == 0 {
                    defer_left = (state >> 32) % (3 * lookback as u64 + 6);
                }
            }
        }
    }
}

//! A brute-force model of `spec/strategy.md`, written from the spec alone: the whole
//! history kept, the window rescanned for every candle, targets computed in `i128`
//! micro-units with the spec's rounding rule. Also the translation of the strategy's
//! state and events into the model's terms, so that the two compare line by line.

use kitebreak_strategy::{
    Candle, CandleEvents, Detection, Direction, EntryEvent, ExitEvent, ExitReason, Price,
    RejectReason, Relevel, SkipReason, Strategy, StrategyParams,
};
use proptest::test_runner::TestCaseError;

pub(crate) const MICROS: i128 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ModelTrade {
    direction: Direction,
    entry: i64,
    target: i64,
    stop: i64,
}

/// What detection concluded, in the model's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    Insufficient { have: u64, need: u64 },
    Locked,
    NoSwingLow,
    NoSwingHigh,
    SupportNotBelowResistance,
    Found { support: i64, resistance: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelEvent {
    Exit {
        reason: ExitReason,
        price: i64,
        pnl: i128,
        pnl_percent: i128,
    },
    Entry {
        direction: Direction,
        price: i64,
        target: i64,
        stop: i64,
        quantity: u32,
    },
}

/// The state after one candle, as both the model and the strategy report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    support: Option<i64>,
    resistance: Option<i64>,
    locked: bool,
    detected: Detected,
    events: Vec<ModelEvent>,
}

pub(crate) struct Model {
    lookback: usize,
    profit_target: i128,
    stop_loss: i128,
    fresh: bool,
    quantity: u32,
    /// Every candle since the last fresh relevel, as (high, low, close) micro-units.
    history: Vec<(i64, i64, i64)>,
    support: Option<i64>,
    resistance: Option<i64>,
    trade: Option<ModelTrade>,
}

impl Model {
    pub(crate) fn new(params: &StrategyParams) -> Model {
        Model {
            lookback: params.lookback(),
            profit_target: i128::from(params.profit_target().micros()),
            stop_loss: i128::from(params.stop_loss().micros()),
            fresh: params.relevel() == Relevel::Fresh,
            quantity: params.quantity().get(),
            history: Vec::new(),
            support: None,
            resistance: None,
            trade: None,
        }
    }

    pub(crate) fn on_candle(&mut self, candle: &Candle) -> Line {
        let (high, low, close) = (
            candle.high.micros(),
            candle.low.micros(),
            candle.close.micros(),
        );
        let mut events = Vec::new();
        if let Some(trade) = self.trade {
            events.extend(self.check_exit(trade, close));
        }
        self.history.push((high, low, close));
        let detected = if self.trade.is_some() {
            Detected::Locked
        } else {
            self.detect()
        };
        if let Detected::Found {
            support,
            resistance,
        } = detected
        {
            (self.support, self.resistance) = (Some(support), Some(resistance));
        }
        if self.trade.is_none() {
            events.extend(self.check_breakout(close));
        }
        Line {
            support: self.support,
            resistance: self.resistance,
            locked: self.trade.is_some(),
            detected,
            events,
        }
    }

    fn check_exit(&mut self, trade: ModelTrade, price: i64) -> Option<ModelEvent> {
        let long = trade.direction == Direction::Long;
        let reason = if (long && price >= trade.target) || (!long && price <= trade.target) {
            ExitReason::Profit
        } else if (long && price <= trade.stop) || (!long && price >= trade.stop) {
            ExitReason::Loss
        } else {
            return None;
        };
        let per_unit = if long {
            i128::from(price) - i128::from(trade.entry)
        } else {
            i128::from(trade.entry) - i128::from(price)
        };
        self.trade = None;
        (self.support, self.resistance) = (None, None);
        if self.fresh {
            self.history.clear();
        }
        Some(ModelEvent::Exit {
            reason,
            price,
            pnl: per_unit * i128::from(self.quantity),
            pnl_percent: div_half_even(per_unit * 100 * MICROS, i128::from(trade.entry)),
        })
    }

    /// Scans the newest `lookback + 2` candles afresh.
    fn detect(&self) -> Detected {
        let need = self.lookback + 2;
        if self.history.len() < need {
            return Detected::Insufficient {
                have: self.history.len() as u64,
                need: need as u64,
            };
        }
        let window = &self.history[self.history.len() - need..];
        let mut support: Option<i64> = None;
        let mut resistance: Option<i64> = None;
        for i in 1..need - 1 {
            let (left, middle, right) = (window[i - 1], window[i], window[i + 1]);
            if middle.1 < left.1 && middle.1 < right.1 {
                support = Some(support.map_or(middle.1, |s| s.min(middle.1)));
            }
            if middle.0 > left.0 && middle.0 > right.0 {
                resistance = Some(resistance.map_or(middle.0, |r| r.max(middle.0)));
            }
        }
        // The order of the reasons is the core's; the spec only says "rejected".
        match (support, resistance) {
            (None, _) => Detected::NoSwingLow,
            (_, None) => Detected::NoSwingHigh,
            (Some(s), Some(r)) if s >= r => Detected::SupportNotBelowResistance,
            (Some(support), Some(resistance)) => Detected::Found {
                support,
                resistance,
            },
        }
    }

    fn check_breakout(&mut self, close: i64) -> Option<ModelEvent> {
        let (support, resistance) = (self.support?, self.resistance?);
        let direction = if close > resistance {
            Direction::Long
        } else if close < support {
            Direction::Short
        } else {
            return None;
        };
        let entry = i128::from(close);
        // Rounded so as to be harder to reach: long target and short stop up, the others down.
        let (target, stop) = match direction {
            Direction::Long => (
                div_ceil(entry * (MICROS + self.profit_target), MICROS),
                div_floor(entry * (MICROS - self.stop_loss), MICROS),
            ),
            Direction::Short => (
                div_floor(entry * (MICROS - self.profit_target), MICROS),
                div_ceil(entry * (MICROS + self.stop_loss), MICROS),
            ),
        };
        let trade = ModelTrade {
            direction,
            entry: close,
            target: i64::try_from(target).ok().filter(|t| *t > 0)?,
            stop: i64::try_from(stop).ok().filter(|s| *s > 0)?,
        };
        self.trade = Some(trade);
        Some(ModelEvent::Entry {
            direction,
            price: close,
            target: trade.target,
            stop: trade.stop,
            quantity: self.quantity,
        })
    }
}

fn div_floor(numerator: i128, denominator: i128) -> i128 {
    numerator.div_euclid(denominator)
}

fn div_ceil(numerator: i128, denominator: i128) -> i128 {
    -(-numerator).div_euclid(denominator)
}

fn div_half_even(numerator: i128, denominator: i128) -> i128 {
    let floor = numerator.div_euclid(denominator);
    match (2 * numerator.rem_euclid(denominator)).cmp(&denominator) {
        std::cmp::Ordering::Less => floor,
        std::cmp::Ordering::Greater => floor + 1,
        std::cmp::Ordering::Equal => floor + (floor & 1),
    }
}

/// The strategy's state and events after a candle, in the model's terms.
pub(crate) fn observed_line(
    strategy: &Strategy,
    events: &CandleEvents,
) -> Result<Line, TestCaseError> {
    let mut line_events = Vec::new();
    match &events.exit {
        Some(ExitEvent::Closed(closed)) => line_events.push(ModelEvent::Exit {
            reason: closed.exit_reason,
            price: closed.price_exit.micros(),
            pnl: closed.pnl.micros(),
            pnl_percent: closed.pnl_percent.micros(),
        }),
        Some(ExitEvent::Signalled(signal)) => {
            return Err(TestCaseError::fail(format!(
                "close-only exit left pending: {signal:?}"
            )));
        }
        None => {}
    }
    match &events.entry {
        Some(EntryEvent::Opened(trade)) => line_events.push(ModelEvent::Entry {
            direction: trade.direction,
            price: trade.price_entry.micros(),
            target: trade.price_target.micros(),
            stop: trade.price_stop.micros(),
            quantity: trade.quantity.get(),
        }),
        Some(EntryEvent::Signalled(signal)) => {
            return Err(TestCaseError::fail(format!(
                "close-only entry left pending: {signal:?}"
            )));
        }
        None => {}
    }
    let levels = strategy.levels();
    Ok(Line {
        support: levels.support.map(Price::micros),
        resistance: levels.resistance.map(Price::micros),
        locked: strategy.is_locked(),
        detected: detected(events.detection),
        events: line_events,
    })
}

fn detected(detection: Detection) -> Detected {
    match detection {
        Detection::Found {
            support,
            resistance,
        } => Detected::Found {
            support: support.micros(),
            resistance: resistance.micros(),
        },
        Detection::Rejected(RejectReason::NoSwingLow) => Detected::NoSwingLow,
        Detection::Rejected(RejectReason::NoSwingHigh) => Detected::NoSwingHigh,
        Detection::Rejected(RejectReason::SupportNotBelowResistance) => {
            Detected::SupportNotBelowResistance
        }
        Detection::Skipped(SkipReason::Locked) => Detected::Locked,
        Detection::Skipped(SkipReason::InsufficientData { have, need }) => {
            Detected::Insufficient { have, need }
        }
    }
}

//! [`QuietCloses`]: the closes at which a candle changes nothing but the history.
//!
//! Most candles of a backtest fall inside an open trade's stop and target. Checking
//! that with two compares, instead of walking the position and the trade, is what
//! keeps the strategy core at a few nanoseconds per candle (BENCHMARKS.md).

use kitebreak_price::Price;

use crate::{Direction, Position};

/// The closes at which a candle changes nothing but the history, in micro-units
/// (`floor < close < ceiling`), so that most candles of a trade cost two compares:
/// - an open trade: strictly between its stop and its target. A long exits at
///   `close >= target` or `close <= stop`, so it stays open exactly when
///   `stop < close < target`; a short exits at `close <= target` or `close >= stop`,
///   so exactly when `target < close < stop`. Staying open, it keeps the levels
///   locked: no detection, no breakout;
/// - an entry or an exit awaiting its fill: every close (there is no open trade to
///   exit, and the levels are locked);
/// - flat: no close (detection runs on every candle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuietCloses {
    floor: i64,
    ceiling: i64,
}

impl QuietCloses {
    pub(crate) fn of(position: &Position) -> QuietCloses {
        match position {
            Position::Flat => QuietCloses {
                floor: i64::MAX,
                ceiling: i64::MIN,
            },
            Position::Entering(_) | Position::Exiting { .. } => QuietCloses {
                floor: i64::MIN,
                ceiling: i64::MAX,
            },
            Position::Open(trade) => {
                let (target, stop) = (trade.price_target.micros(), trade.price_stop.micros());
                let (floor, ceiling) = match trade.direction {
                    Direction::Long => (stop, target),
                    Direction::Short => (target, stop),
                };
                QuietCloses { floor, ceiling }
            }
        }
    }

    #[inline]
    pub(crate) fn contain(self, close: Price) -> bool {
        let close = close.micros();
        (self.floor < close) & (close < self.ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EntrySignal, ExitReason, ExitSignal, Fill, Quantity, StrategyParams, Trade};

    fn trade(direction: Direction, entry: i64) -> Trade {
        let fill = Fill {
            price: Price::from_micros(entry).expect("positive"),
            quantity: Quantity::ONE,
            time: None,
            order_id: None,
        };
        Trade::open(direction, fill, &StrategyParams::default()).expect("valid trade")
    }

    /// Every close around the target and the stop: quiet exactly when no exit.
    #[test]
    fn an_open_trade_is_quiet_exactly_where_it_does_not_exit() {
        for direction in [Direction::Long, Direction::Short] {
            for entry in [100_000_000, 100_000_001, 4_265_250_000] {
                let trade = trade(direction, entry);
                let quiet = QuietCloses::of(&Position::Open(trade.clone()));
                let edges = [trade.price_target.micros(), trade.price_stop.micros()];
                for edge in edges {
                    for close in edge - 3..=edge + 3 {
                        let close = Price::from_micros(close).expect("positive");
                        assert_eq!(
                            quiet.contain(close),
                            trade.exit_reason_at(close).is_none(),
                            "{direction} at {entry}, close {close}"
                        );
                    }
                }
                let entry = Price::from_micros(entry).expect("positive");
                assert!(quiet.contain(entry));
            }
        }
    }

    #[test]
    fn flat_is_never_quiet_and_a_pending_fill_always_is() {
        let price = |micros| Price::from_micros(micros).expect("positive");
        let flat = QuietCloses::of(&Position::Flat);
        let signal = EntrySignal {
            direction: Direction::Long,
            price: price(100_000_000),
            quantity: Quantity::ONE,
        };
        let entering = QuietCloses::of(&Position::Entering(signal));
        let exiting = QuietCloses::of(&Position::Exiting {
            trade: trade(Direction::Short, 100_000_000),
            exit: ExitSignal {
                reason: ExitReason::Manual,
                price: price(100_000_000),
            },
        });
        for close in [1, 100_000_000, i64::MAX - 1] {
            assert!(!flat.contain(price(close)));
            assert!(entering.contain(price(close)));
            assert!(exiting.contain(price(close)));
        }
    }
}

//! Trades and the signals and fills that open and close them.

use jiff::Timestamp;
use kitebreak_price::{Money, Percent, Price, Quantity, Rounding};

use crate::{StrategyError, StrategyParams};

/// Which way a trade bets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Bought first, profits when the price rises.
    Long,
    /// Sold first, profits when the price falls.
    Short,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Long => "long",
            Direction::Short => "short",
        })
    }
}

/// Why a trade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitReason {
    /// The price reached the target.
    Profit,
    /// The price reached the stop.
    Loss,
    /// Someone asked for the exit (a command, a square-off, a kill switch).
    Manual,
}

impl std::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExitReason::Profit => "profit",
            ExitReason::Loss => "loss",
            ExitReason::Manual => "manual",
        })
    }
}

/// The strategy wants to enter: a breakout of `price` (the candle's close).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EntrySignal {
    /// Long above resistance, short below support.
    pub direction: Direction,
    /// The close that broke out.
    pub price: Price,
    /// The strategy's default quantity; the caller may order a different one.
    pub quantity: Quantity,
}

/// The strategy wants out of its trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExitSignal {
    /// Target, stop or manual.
    pub reason: ExitReason,
    /// The observed price that triggered the exit (for manual exits, the caller's
    /// reference price).
    pub price: Price,
}

/// An order's execution as the broker reports it (or as a fill model assumes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Average fill price.
    pub price: Price,
    /// Filled quantity.
    pub quantity: Quantity,
    /// When it filled, if known.
    pub time: Option<Timestamp>,
    /// The broker's order id, if there was an order.
    pub order_id: Option<String>,
}

/// An open trade: what was entered, and where it will be closed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trade {
    /// Long or short.
    pub direction: Direction,
    /// Average entry fill price.
    pub price_entry: Price,
    /// Profit target, rounded away from the entry (harder to reach).
    pub price_target: Price,
    /// Stop loss, rounded away from the entry (harder to reach).
    pub price_stop: Price,
    /// Units held.
    pub quantity: Quantity,
    /// When the entry filled.
    pub entry_time: Option<Timestamp>,
    /// The entry order's broker id.
    pub entry_order_id: Option<String>,
}

impl Trade {
    /// A trade entered by `fill`, with target and stop from `params`.
    pub fn open(
        direction: Direction,
        fill: Fill,
        params: &StrategyParams,
    ) -> Result<Trade, StrategyError> {
        let (price_target, price_stop) = targets(direction, fill.price, params)?;
        Ok(Trade {
            direction,
            price_entry: fill.price,
            price_target,
            price_stop,
            quantity: fill.quantity,
            entry_time: fill.time,
            entry_order_id: fill.order_id,
        })
    }

    /// Whether `price` reaches the target or the stop (the target is checked first).
    pub fn exit_reason_at(&self, price: Price) -> Option<ExitReason> {
        let (reached_target, reached_stop) = match self.direction {
            Direction::Long => (price >= self.price_target, price <= self.price_stop),
            Direction::Short => (price <= self.price_target, price >= self.price_stop),
        };
        if reached_target {
            Some(ExitReason::Profit)
        } else if reached_stop {
            Some(ExitReason::Loss)
        } else {
            None
        }
    }

    /// Profit or loss if the trade were closed at `price`.
    pub fn pnl_at(&self, price: Price) -> Money {
        let per_unit = match self.direction {
            Direction::Long => price.minus(self.price_entry),
            Direction::Short => self.price_entry.minus(price),
        };
        per_unit.times(self.quantity)
    }
}

/// Target and stop for an entry at `entry`.
///
/// Exact decimal; where six places cannot hold the result it is rounded in the
/// direction that makes it harder to reach (long target and short stop up, long stop
/// and short target down), so decisions agree with exact arithmetic for every price
/// on the six-decimal grid.
pub fn targets(
    direction: Direction,
    entry: Price,
    params: &StrategyParams,
) -> Result<(Price, Price), StrategyError> {
    let above_target = params.profit_target().one_plus();
    let above_stop = params.stop_loss().one_plus();
    // Both fractions are below one (checked in `StrategyParams::new`).
    let below_target = params.profit_target().one_minus();
    let below_stop = params.stop_loss().one_minus();
    let pair = match direction {
        Direction::Long => (
            entry.scale(above_target, Rounding::Up),
            below_stop.and_then(|r| entry.scale(r, Rounding::Down)),
        ),
        Direction::Short => (
            below_target.and_then(|r| entry.scale(r, Rounding::Down)),
            entry.scale(above_stop, Rounding::Up),
        ),
    };
    match pair {
        (Some(target), Some(stop)) => Ok((target, stop)),
        _ => Err(StrategyError::UnrepresentableTargets {
            direction,
            price: entry,
        }),
    }
}

/// A finished trade with its result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClosedTrade {
    /// The trade as it was while open.
    #[serde(flatten)]
    pub trade: Trade,
    /// Average exit fill price.
    pub price_exit: Price,
    /// Why it ended.
    pub exit_reason: ExitReason,
    /// When the exit filled.
    pub exit_time: Option<Timestamp>,
    /// The exit order's broker id.
    pub exit_order_id: Option<String>,
    /// Long: (exit − entry) × qty; short: (entry − exit) × qty. Exact.
    pub pnl: Money,
    /// P&L relative to the entry value, in per cent (six places, half-even).
    pub pnl_percent: Percent,
}

impl ClosedTrade {
    /// Closes `trade` with `fill` for `reason`.
    pub fn new(trade: Trade, fill: Fill, reason: ExitReason) -> ClosedTrade {
        let pnl = trade.pnl_at(fill.price);
        let per_unit = match trade.direction {
            Direction::Long => fill.price.minus(trade.price_entry),
            Direction::Short => trade.price_entry.minus(fill.price),
        };
        let pnl_percent = per_unit.percent_of(trade.price_entry);
        ClosedTrade {
            trade,
            price_exit: fill.price,
            exit_reason: reason,
            exit_time: fill.time,
            exit_order_id: fill.order_id,
            pnl,
            pnl_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Relevel;

    fn p(text: &str) -> Price {
        text.parse().expect("valid price in test")
    }

    fn params(pt: &str, sl: &str) -> StrategyParams {
        let ratio = |t: &str| t.parse().expect("valid ratio in test");
        StrategyParams::new(10, ratio(pt), ratio(sl), Relevel::Fresh, Quantity::ONE)
            .expect("valid params")
    }

    fn fill(price: &str, quantity: u32) -> Fill {
        Fill {
            price: p(price),
            quantity: Quantity::new(quantity).expect("qty"),
            time: None,
            order_id: None,
        }
    }

    #[test]
    fn targets_are_exact_when_six_places_suffice() {
        let params = params("0.03", "0.01");
        assert_eq!(
            targets(Direction::Long, p("4265.25"), &params),
            Ok((p("4393.2075"), p("4222.5975")))
        );
        assert_eq!(
            targets(Direction::Short, p("4271.1"), &params),
            Ok((p("4142.967"), p("4313.811")))
        );
    }

    #[test]
    fn inexact_targets_round_away_from_being_reached() {
        // 100.000001 × 1.03 = 103.00000103, × 0.99 = 99.00000099,
        // × 0.97 = 97.00000097, × 1.01 = 101.00000101.
        let params = params("0.03", "0.01");
        let entry = p("100.000001");
        assert_eq!(
            targets(Direction::Long, entry, &params),
            Ok((p("103.000002"), p("99")))
        );
        assert_eq!(
            targets(Direction::Short, entry, &params),
            Ok((p("97"), p("101.000002")))
        );
    }

    #[test]
    fn exits_check_the_target_first() {
        let params = params("0.03", "0.01");
        let long = Trade::open(Direction::Long, fill("100", 1), &params).expect("trade");
        assert_eq!(long.exit_reason_at(p("103")), Some(ExitReason::Profit));
        assert_eq!(long.exit_reason_at(p("102.999999")), None);
        assert_eq!(long.exit_reason_at(p("99")), Some(ExitReason::Loss));
        assert_eq!(long.exit_reason_at(p("99.000001")), None);
        let short = Trade::open(Direction::Short, fill("100", 1), &params).expect("trade");
        assert_eq!(short.exit_reason_at(p("97")), Some(ExitReason::Profit));
        assert_eq!(short.exit_reason_at(p("101")), Some(ExitReason::Loss));
        assert_eq!(short.exit_reason_at(p("100")), None);
    }

    #[test]
    fn pnl_follows_the_direction() {
        let params = params("0.03", "0.01");
        let short = Trade::open(Direction::Short, fill("3555.65", 5), &params).expect("trade");
        let closed = ClosedTrade::new(short, fill("3402.95", 5), ExitReason::Profit);
        assert_eq!(closed.pnl.to_string(), "763.5");
        assert_eq!(
            closed
                .pnl_percent
                .rounded(2, Rounding::HalfEven)
                .to_string(),
            "4.29"
        );
    }

    #[test]
    fn a_price_too_small_for_a_stop_is_refused() {
        let params = params("0.03", "0.5");
        assert!(targets(Direction::Long, p("0.000001"), &params).is_err());
    }
}

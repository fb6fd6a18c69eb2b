//! The one error type of the strategy crate.

use kitebreak_price::Price;

use crate::trade::Direction;

/// What the strategy refuses to do, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    /// A strategy parameter is outside its allowed range.
    #[error("invalid strategy parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as users write it (`lookback`, `profit_target`, ...).
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A candle whose prices contradict each other.
    #[error("invalid candle: {reason}")]
    InvalidCandle {
        /// Which relation between high, low and close failed.
        reason: String,
    },
    /// A fill or command arrived in a state where it makes no sense.
    #[error("cannot {action} while the strategy is {state}")]
    WrongState {
        /// What was asked.
        action: &'static str,
        /// The position state at the time.
        state: &'static str,
    },
    /// Target or stop would not be a positive price at this entry price.
    #[error("cannot place a target and stop for a {direction} entry at {price}")]
    UnrepresentableTargets {
        /// The trade's direction.
        direction: Direction,
        /// The entry price.
        price: Price,
    },
}

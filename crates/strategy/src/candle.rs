//! [`Candle`]: the part of a price bar the strategy looks at.

use kitebreak_price::Price;

use crate::StrategyError;

/// One closed price bar: its high, low and close.
///
/// Time, open and volume belong to the caller (the engine keys candles by time, the
/// CSV reader keeps them for reports); the strategy's decisions never read them.
///
/// The strategy itself does not rely on `low <= close <= high`: real data files (and
/// six candles of the golden files) occasionally break it, and the original treated
/// such candles as given. Edges that take live input (the webhook) use
/// [`Candle::new`], which refuses them; file readers may warn and go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candle {
    /// The highest traded price of the bar.
    pub high: Price,
    /// The lowest traded price of the bar.
    pub low: Price,
    /// The last traded price of the bar.
    pub close: Price,
}

impl Candle {
    /// A candle whose prices are consistent: `low <= close <= high`.
    pub fn new(high: Price, low: Price, close: Price) -> Result<Candle, StrategyError> {
        let candle = Candle { high, low, close };
        candle.check_consistent().map(|()| candle)
    }

    /// Whether `low <= close <= high`, and if not, which relation fails.
    pub fn check_consistent(&self) -> Result<(), StrategyError> {
        let Candle { high, low, close } = *self;
        let reason = if low > high {
            Some(format!("low {low} is above high {high}"))
        } else if close > high || close < low {
            Some(format!("close {close} is outside low {low} .. high {high}"))
        } else {
            None
        };
        match reason {
            Some(reason) => Err(StrategyError::InvalidCandle { reason }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("valid price in test")
    }

    #[test]
    fn consistent_candles_are_accepted() {
        assert!(Candle::new(p("10"), p("9"), p("9.5")).is_ok());
        assert!(Candle::new(p("10"), p("10"), p("10")).is_ok());
    }

    #[test]
    fn contradictory_candles_are_refused() {
        assert!(Candle::new(p("9"), p("10"), p("9.5")).is_err());
        assert!(Candle::new(p("10"), p("9"), p("10.5")).is_err());
        assert!(Candle::new(p("10"), p("9"), p("8.5")).is_err());
    }
}

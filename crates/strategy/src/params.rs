//! [`StrategyParams`]: the per-symbol settings of the strategy, validated once.

use kitebreak_price::{Quantity, Ratio};

use crate::StrategyError;

/// What happens to the candle history when a trade ends.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Relevel {
    /// Clear the history: levels are found again only from candles after the exit.
    #[default]
    Fresh,
    /// Keep the history: levels are found again at once from the recent window
    /// (what the original Python service did).
    Rolling,
}

impl std::str::FromStr for Relevel {
    type Err = StrategyError;

    fn from_str(text: &str) -> Result<Relevel, StrategyError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fresh" => Ok(Relevel::Fresh),
            "rolling" => Ok(Relevel::Rolling),
            _ => Err(StrategyError::InvalidParameter {
                name: "relevel",
                reason: format!("expected `fresh` or `rolling`, got `{text}`"),
            }),
        }
    }
}

impl std::fmt::Display for Relevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Relevel::Fresh => "fresh",
            Relevel::Rolling => "rolling",
        })
    }
}

/// The strategy's parameters for one symbol. Construct with [`StrategyParams::new`],
/// which checks every range; the fields are then guaranteed valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StrategyParams {
    lookback: usize,
    profit_target: Ratio,
    stop_loss: Ratio,
    relevel: Relevel,
    quantity: Quantity,
}

impl StrategyParams {
    /// The largest lookback accepted. Detection cost does not grow with it, but a
    /// window of more than a few thousand candles is almost surely a typo.
    pub const MAX_LOOKBACK: usize = 10_000;

    /// Validated parameters: `1 <= lookback <= 10000`, `0 < profit_target < 1`,
    /// `0 < stop_loss < 1` (a short's target and a long's stop must stay positive).
    pub fn new(
        lookback: usize,
        profit_target: Ratio,
        stop_loss: Ratio,
        relevel: Relevel,
        quantity: Quantity,
    ) -> Result<StrategyParams, StrategyError> {
        if !(1..=Self::MAX_LOOKBACK).contains(&lookback) {
            return Err(StrategyError::InvalidParameter {
                name: "lookback",
                reason: format!(
                    "must be between 1 and {}, got {lookback}",
                    Self::MAX_LOOKBACK
                ),
            });
        }
        check_fraction("profit_target", profit_target)?;
        check_fraction("stop_loss", stop_loss)?;
        Ok(StrategyParams {
            lookback,
            profit_target,
            stop_loss,
            relevel,
            quantity,
        })
    }

    /// Candles examined for swing points.
    pub fn lookback(&self) -> usize {
        self.lookback
    }

    /// Candles needed before levels can be detected: `lookback + 2`.
    pub fn window(&self) -> usize {
        self.lookback + 2
    }

    /// Profit target as a fraction of the entry price.
    pub fn profit_target(&self) -> Ratio {
        self.profit_target
    }

    /// Stop loss as a fraction of the entry price.
    pub fn stop_loss(&self) -> Ratio {
        self.stop_loss
    }

    /// What a finished trade does to the history.
    pub fn relevel(&self) -> Relevel {
        self.relevel
    }

    /// Order quantity when an alert carries none.
    pub fn quantity(&self) -> Quantity {
        self.quantity
    }
}

impl Default for StrategyParams {
    /// lookback 10, target 3%, stop 1%, `fresh`, quantity 1.
    fn default() -> StrategyParams {
        StrategyParams {
            lookback: 10,
            profit_target: Ratio::per_million(30_000),
            stop_loss: Ratio::per_million(10_000),
            relevel: Relevel::Fresh,
            quantity: Quantity::ONE,
        }
    }
}

fn check_fraction(name: &'static str, value: Ratio) -> Result<(), StrategyError> {
    if value > Ratio::ZERO && value < Ratio::ONE {
        return Ok(());
    }
    Err(StrategyError::InvalidParameter {
        name,
        reason: format!("must be a fraction strictly between 0 and 1 (0.03 is 3%), got {value}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(text: &str) -> Ratio {
        text.parse().expect("valid ratio in test")
    }

    #[test]
    fn defaults_match_the_spec() {
        let params = StrategyParams::default();
        assert_eq!(params.lookback(), 10);
        assert_eq!(params.profit_target(), ratio("0.03"));
        assert_eq!(params.stop_loss(), ratio("0.01"));
        assert_eq!(params.relevel(), Relevel::Fresh);
        assert_eq!(params.quantity(), Quantity::ONE);
        assert_eq!(params.window(), 12);
    }

    #[test]
    fn out_of_range_parameters_name_themselves() {
        let new = |lookback, pt: &str, sl: &str| {
            StrategyParams::new(
                lookback,
                ratio(pt),
                ratio(sl),
                Relevel::Fresh,
                Quantity::ONE,
            )
        };
        let name_of = |result: Result<StrategyParams, StrategyError>| match result {
            Err(StrategyError::InvalidParameter { name, .. }) => name,
            other => panic!("expected an invalid parameter, got {other:?}"),
        };
        assert_eq!(name_of(new(0, "0.03", "0.01")), "lookback");
        assert_eq!(name_of(new(10_001, "0.03", "0.01")), "lookback");
        assert_eq!(name_of(new(10, "0", "0.01")), "profit_target");
        assert_eq!(name_of(new(10, "1", "0.01")), "profit_target");
        assert_eq!(name_of(new(10, "0.03", "0")), "stop_loss");
        assert_eq!(name_of(new(10, "0.03", "3")), "stop_loss");
        assert!(new(1, "0.5", "0.999999").is_ok());
    }

    #[test]
    fn relevel_parses_case_insensitively() {
        assert_eq!("Rolling".parse::<Relevel>(), Ok(Relevel::Rolling));
        assert_eq!("fresh".parse::<Relevel>(), Ok(Relevel::Fresh));
        assert!("sometimes".parse::<Relevel>().is_err());
    }
}

//! [`Quantity`]: a positive whole number of units of an instrument.

use std::fmt;
use std::str::FromStr;

use crate::error::{NumberError, excerpt};
use crate::fixed::ExactNumber;

/// A positive whole number of units (shares, contracts).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    /// One unit.
    pub const ONE: Quantity = Quantity(1);
    /// The largest quantity accepted from outside input: 10^8. Risk limits are
    /// usually far lower; this bound only keeps arithmetic comfortably exact.
    pub const MAX_INPUT: u32 = 100_000_000;

    /// A quantity; fails for zero and above [`Quantity::MAX_INPUT`].
    pub fn new(units: u32) -> Result<Quantity, NumberError> {
        Self::from_input(i128::from(units), &units.to_string())
    }

    /// The number of units.
    pub const fn get(self) -> u32 {
        self.0
    }

    fn from_input(units: i128, text: &str) -> Result<Quantity, NumberError> {
        let text = excerpt(text.trim());
        match units {
            ..0 => Err(NumberError::Negative {
                what: "quantity",
                text,
            }),
            0 => Err(NumberError::Zero { what: "quantity" }),
            // In range of u32 by this arm's bound.
            1..=100_000_000 => Ok(Quantity(units as u32)),
            _ => Err(NumberError::TooLarge {
                what: "quantity",
                max: "100000000",
                text,
            }),
        }
    }
}

impl ExactNumber for Quantity {
    fn from_f64(value: f64) -> Result<Quantity, NumberError> {
        if !value.is_finite() {
            return Err(NumberError::NotFinite { what: "quantity" });
        }
        value.to_string().parse()
    }
}

impl FromStr for Quantity {
    type Err = NumberError;

    /// Accepts `"10"` and also `"10.0"` (TradingView placeholders), not `"10.5"`.
    fn from_str(text: &str) -> Result<Quantity, NumberError> {
        let micros = crate::fixed::parse_micros(text, "quantity")?;
        let scale = crate::fixed::SCALE;
        if micros % scale != 0 {
            return Err(NumberError::NotWhole {
                what: "quantity",
                text: excerpt(text.trim()),
            });
        }
        Self::from_input(micros / scale, text)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quantity({})", self.0)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        deserializer.deserialize_any(crate::fixed::NumberVisitor::new("a quantity"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_whole_positive_numbers() {
        assert_eq!("10".parse::<Quantity>().map(Quantity::get), Ok(10));
        assert_eq!("10.0".parse::<Quantity>().map(Quantity::get), Ok(10));
        assert_eq!(
            serde_json::from_str::<Quantity>("5")
                .map(Quantity::get)
                .ok(),
            Some(5)
        );
        assert_eq!(
            serde_json::from_str::<Quantity>("\"5\"")
                .map(Quantity::get)
                .ok(),
            Some(5)
        );
    }

    #[test]
    fn rejects_fractions_zero_negatives_and_absurd_sizes() {
        assert!(matches!(
            "1.5".parse::<Quantity>(),
            Err(NumberError::NotWhole { .. })
        ));
        assert!(matches!(
            "0".parse::<Quantity>(),
            Err(NumberError::Zero { .. })
        ));
        assert!(matches!(
            "-3".parse::<Quantity>(),
            Err(NumberError::Negative { .. })
        ));
        assert!(matches!(
            "1000000000".parse::<Quantity>(),
            Err(NumberError::TooLarge { .. })
        ));
        assert!(serde_json::from_str::<Quantity>("1e300").is_err());
    }
}

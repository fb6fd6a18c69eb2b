//! [`Price`]: the exact, always-positive price of one unit of an instrument.

use std::fmt;
use std::str::FromStr;

use crate::error::{NumberError, excerpt};
use crate::fixed::{self, ExactNumber, Rounding, SCALE};
use crate::{Money, Quantity, Ratio};

/// An exact price: a positive number of micro-units (six decimal places).
///
/// Outside input goes through [`Price::from_str`] or serde, which accept values in
/// `(0, 10^9]`. Prices computed inside (a target 3% above an entry) may go somewhat
/// beyond 10^9; they stay exact up to about 9.2 × 10^12.
///
/// Serde: deserializes from a JSON number or a numeric string; serializes as a JSON
/// number. Going through `f64` is exact here because every accepted price has at most
/// 15 significant digits (see the crate's `fixed` module).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

impl Price {
    /// The largest price accepted from outside input: 10^9.
    pub const MAX_INPUT: Price = Price(1_000_000_000 * SCALE as i64);

    /// A price from micro-units (1 = 0.000001). Fails unless positive.
    #[inline]
    pub fn from_micros(micros: i64) -> Result<Price, NumberError> {
        if micros <= 0 {
            return Err(Self::sign_error(i128::from(micros)));
        }
        Ok(Price(micros))
    }

    /// A price from a whole number and a count of decimal places: `(4265_25, 2)` is 4265.25.
    pub fn from_scaled(value: i64, decimals: u32) -> Result<Price, NumberError> {
        if decimals > fixed::DECIMALS {
            return Err(NumberError::TooManyDecimals {
                what: "price",
                max: fixed::DECIMALS,
                text: format!("{value}e-{decimals}"),
            });
        }
        let factor = 10_i128.pow(fixed::DECIMALS - decimals);
        Self::from_input_micros(i128::from(value) * factor, &format!("{value}e-{decimals}"))
    }

    /// Micro-units of this price.
    #[inline]
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The nearest `f64`, for display and wire formats only, never for decisions.
    pub fn to_f64(self) -> f64 {
        fixed::micros_to_f64(i128::from(self.0))
    }

    /// This price × `factor`, rounded to six places in the given direction.
    ///
    /// Returns `None` when the result is zero or does not fit.
    #[inline]
    pub fn scale(self, factor: Ratio, rounding: Rounding) -> Option<Price> {
        let product = i128::from(self.0) * i128::from(factor.micros());
        let micros = fixed::div_round(product, SCALE, rounding);
        i64::try_from(micros).ok().filter(|m| *m > 0).map(Price)
    }

    /// `self - other` as money per unit (may be negative).
    #[inline]
    pub fn minus(self, other: Price) -> Money {
        Money::from_micros(i128::from(self.0) - i128::from(other.0))
    }

    /// The value of `quantity` units at this price.
    #[inline]
    pub fn times(self, quantity: Quantity) -> Money {
        Money::from_micros(i128::from(self.0) * i128::from(quantity.get()))
    }

    /// Reads a JSON number that was decoded as `f64`, through its shortest decimal
    /// text (exact for every value with at most 15 significant digits).
    pub fn from_f64(value: f64) -> Result<Price, NumberError> {
        let micros = fixed::parse_f64_micros(value, "price")?;
        Self::from_input_micros(micros, &value.to_string())
    }

    fn from_input_micros(micros: i128, text: &str) -> Result<Price, NumberError> {
        if micros <= 0 {
            return Err(Self::sign_error_text(micros, text));
        }
        if micros > i128::from(Self::MAX_INPUT.0) {
            return Err(NumberError::TooLarge {
                what: "price",
                max: "1000000000",
                text: excerpt(text),
            });
        }
        // In range by the check above.
        Ok(Price(micros as i64))
    }

    fn sign_error(micros: i128) -> NumberError {
        Self::sign_error_text(micros, &micros.to_string())
    }

    fn sign_error_text(micros: i128, text: &str) -> NumberError {
        if micros == 0 {
            NumberError::Zero { what: "price" }
        } else {
            NumberError::Negative {
                what: "price",
                text: excerpt(text.trim()),
            }
        }
    }
}

impl ExactNumber for Price {
    fn from_f64(value: f64) -> Result<Price, NumberError> {
        Price::from_f64(value)
    }
}

impl FromStr for Price {
    type Err = NumberError;

    /// Parses plain decimal text such as `"2500.5"`.
    fn from_str(text: &str) -> Result<Price, NumberError> {
        let micros = fixed::parse_micros(text, "price")?;
        Self::from_input_micros(micros, text)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fixed::write_micros(f, i128::from(self.0))
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({self})")
    }
}

impl serde::Serialize for Price {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> serde::Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Price, D::Error> {
        deserializer.deserialize_any(crate::fixed::NumberVisitor::new("a price"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        text.parse().expect("valid price in test")
    }

    #[test]
    fn parses_and_prints_plain_decimals() {
        assert_eq!(price("2500.5").to_string(), "2500.5");
        assert_eq!(price("100").to_string(), "100");
        assert_eq!(price("0.000001").to_string(), "0.000001");
        assert_eq!(price("1000000000").to_string(), "1000000000");
        assert_eq!(price("4265.250000").micros(), 4_265_250_000);
    }

    #[test]
    fn rejects_what_is_not_a_price() {
        assert_eq!(
            "0".parse::<Price>(),
            Err(NumberError::Zero { what: "price" })
        );
        assert!(matches!(
            "-5".parse::<Price>(),
            Err(NumberError::Negative { .. })
        ));
        assert!(matches!(
            "1000000000.000001".parse::<Price>(),
            Err(NumberError::TooLarge { .. })
        ));
        assert!(matches!(
            "1.1234567".parse::<Price>(),
            Err(NumberError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            "NaN".parse::<Price>(),
            Err(NumberError::NotFinite { .. })
        ));
        assert!(matches!(
            Price::from_f64(f64::INFINITY),
            Err(NumberError::NotFinite { .. })
        ));
        assert!(matches!(
            Price::from_f64(-0.0),
            Err(NumberError::Zero { .. })
        ));
    }

    #[test]
    fn scaling_rounds_in_the_asked_direction() {
        let entry = price("100.000001");
        let up = "1.03".parse::<Ratio>().expect("ratio");
        assert_eq!(entry.scale(up, Rounding::Up), Some(price("103.000002")));
        assert_eq!(entry.scale(up, Rounding::Down), Some(price("103.000001")));
        let exact = price("4265.25").scale(up, Rounding::Up);
        assert_eq!(exact, Some(price("4393.2075")));
    }

    #[test]
    fn json_numbers_and_numeric_strings_both_deserialize() {
        let from_number: Price = serde_json::from_str("2500.5").expect("number");
        let from_string: Price = serde_json::from_str("\"2500.5\"").expect("string");
        let from_integer: Price = serde_json::from_str("2500").expect("integer");
        assert_eq!(from_number, price("2500.5"));
        assert_eq!(from_string, from_number);
        assert_eq!(from_integer, price("2500"));
        assert!(serde_json::from_str::<Price>("-1").is_err());
        assert!(serde_json::from_str::<Price>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Price>("true").is_err());
        assert!(serde_json::from_str::<Price>("null").is_err());
    }

    #[test]
    fn serializes_as_the_same_decimal_number() {
        for text in [
            "4393.2075",
            "0.05",
            "999999999.999999",
            "1",
            "123456.789012",
        ] {
            let json = serde_json::to_string(&price(text)).expect("serialize");
            let back: Price = serde_json::from_str(&json).expect("round trip");
            assert_eq!(back, price(text), "{text} -> {json}");
        }
    }
}

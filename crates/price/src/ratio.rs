//! [`Ratio`]: an exact non-negative fraction such as a profit target of 3% (`0.03`).

use std::fmt;
use std::str::FromStr;

use crate::error::{NumberError, excerpt};
use crate::fixed::{self, ExactNumber, SCALE};

/// A non-negative fraction with six decimal places: `0.03` is three per cent.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ratio(i64);

impl Ratio {
    /// Zero.
    pub const ZERO: Ratio = Ratio(0);
    /// One (100%).
    pub const ONE: Ratio = Ratio(SCALE as i64);
    /// The largest ratio accepted from outside input: 10^6.
    const MAX_INPUT: i128 = 1_000_000 * SCALE;

    /// A ratio from micro-units (30_000 is 0.03). Fails when negative.
    pub fn from_micros(micros: i64) -> Result<Ratio, NumberError> {
        if micros < 0 {
            return Err(NumberError::Negative {
                what: "ratio",
                text: micros.to_string(),
            });
        }
        Ok(Ratio(micros))
    }

    /// A ratio of `millionths` / 1,000,000: `per_million(30_000)` is 0.03.
    pub const fn per_million(millionths: u32) -> Ratio {
        Ratio(millionths as i64)
    }

    /// Micro-units of this ratio.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// `1 + self`.
    pub fn one_plus(self) -> Ratio {
        Ratio(Self::ONE.0.saturating_add(self.0))
    }

    /// `1 - self`, or `None` when `self > 1`.
    pub fn one_minus(self) -> Option<Ratio> {
        (self.0 <= Self::ONE.0).then(|| Ratio(Self::ONE.0 - self.0))
    }

    /// This ratio as a percentage (`0.03` → `3`), exactly.
    pub fn percent(self) -> crate::Percent {
        crate::Percent::from_micros(i128::from(self.0) * 100)
    }

    /// The nearest `f64`, for display and wire formats only.
    pub fn to_f64(self) -> f64 {
        fixed::micros_to_f64(i128::from(self.0))
    }

    /// Reads a JSON number that was decoded as `f64`, through its shortest decimal
    /// text (exact for every value with at most 15 significant digits).
    pub fn from_f64(value: f64) -> Result<Ratio, NumberError> {
        let micros = fixed::parse_f64_micros(value, "ratio")?;
        Self::from_input_micros(micros, &value.to_string())
    }

    fn from_input_micros(micros: i128, text: &str) -> Result<Ratio, NumberError> {
        if micros < 0 {
            return Err(NumberError::Negative {
                what: "ratio",
                text: excerpt(text.trim()),
            });
        }
        if micros > Self::MAX_INPUT {
            return Err(NumberError::TooLarge {
                what: "ratio",
                max: "1000000",
                text: excerpt(text.trim()),
            });
        }
        // In range by the checks above.
        Ok(Ratio(micros as i64))
    }
}

impl ExactNumber for Ratio {
    fn from_f64(value: f64) -> Result<Ratio, NumberError> {
        Ratio::from_f64(value)
    }
}

impl FromStr for Ratio {
    type Err = NumberError;

    fn from_str(text: &str) -> Result<Ratio, NumberError> {
        let micros = fixed::parse_micros(text, "ratio")?;
        Self::from_input_micros(micros, text)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fixed::write_micros(f, i128::from(self.0))
    }
}

impl fmt::Debug for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ratio({self})")
    }
}

impl serde::Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_f64())
    }
}

impl<'de> serde::Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ratio, D::Error> {
        deserializer.deserialize_any(fixed::NumberVisitor::new("a ratio"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fractions_exactly() {
        assert_eq!("0.03".parse::<Ratio>().map(Ratio::micros), Ok(30_000));
        assert_eq!(
            "0.015".parse::<Ratio>().map(|r| r.to_string()),
            Ok("0.015".into())
        );
        assert_eq!("0".parse::<Ratio>(), Ok(Ratio::ZERO));
        assert!(matches!(
            "-0.01".parse::<Ratio>(),
            Err(NumberError::Negative { .. })
        ));
        assert!(matches!(
            Ratio::from_f64(f64::NAN),
            Err(NumberError::NotFinite { .. })
        ));
    }

    #[test]
    fn one_plus_and_one_minus() {
        let r: Ratio = "0.03".parse().expect("ratio");
        assert_eq!(r.one_plus().to_string(), "1.03");
        assert_eq!(r.one_minus().map(|x| x.to_string()), Some("0.97".into()));
        assert_eq!("1.5".parse::<Ratio>().ok().and_then(Ratio::one_minus), None);
        assert_eq!(r.percent().to_string(), "3");
    }
}

//! The shared fixed-point machinery: parsing plain decimal text into micro-units,
//! printing micro-units as plain decimals, and dividing with an explicit rounding rule.

use crate::error::{NumberError, excerpt};

/// Decimal places held by every exact type in this crate.
pub const DECIMALS: u32 = 6;

/// Units per whole: 10^[`DECIMALS`].
pub(crate) const SCALE: i128 = 1_000_000;

/// Which way to round a result that falls between two representable values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards negative infinity.
    Down,
    /// Towards positive infinity.
    Up,
    /// To the nearest value, ties to the even neighbour (as Python's `round`).
    HalfEven,
}

impl Rounding {
    /// `numerator / denominator` rounded this way; `denominator` must be positive.
    /// The one rounding division of the project (the Kite adapter's tick rounding
    /// uses it too).
    pub fn divide(self, numerator: i128, denominator: i128) -> i128 {
        div_round(numerator, denominator, self)
    }
}

/// `numerator / denominator` rounded as asked. `denominator` must be positive.
pub(crate) fn div_round(numerator: i128, denominator: i128, rounding: Rounding) -> i128 {
    debug_assert!(denominator > 0);
    let floor = numerator.div_euclid(denominator);
    let remainder = numerator.rem_euclid(denominator);
    if remainder == 0 {
        return floor;
    }
    match rounding {
        Rounding::Down => floor,
        Rounding::Up => floor + 1,
        Rounding::HalfEven => match (2 * remainder).cmp(&denominator) {
            std::cmp::Ordering::Less => floor,
            std::cmp::Ordering::Greater => floor + 1,
            std::cmp::Ordering::Equal => floor + (floor & 1),
        },
    }
}

/// Parses plain decimal text (`-12.5`, `0.03`, `7`) into micro-units.
///
/// Exponents, `NaN`, `inf`, embedded spaces and more than [`DECIMALS`] fractional
/// digits are rejected; `what` names the value in error messages. Trailing zeros
/// beyond the sixth place are accepted (`1.50000000` is 1.5).
pub(crate) fn parse_micros(text: &str, what: &'static str) -> Result<i128, NumberError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(NumberError::Empty);
    }
    let lower = trimmed.to_ascii_lowercase();
    if matches!(
        lower.trim_start_matches(['+', '-']),
        "nan" | "inf" | "infinity"
    ) {
        return Err(NumberError::NotFinite { what });
    }
    let malformed = || NumberError::Malformed {
        text: excerpt(trimmed),
    };
    let (negative, digits) = match trimmed.as_bytes()[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(malformed());
    }
    let significant = fraction.trim_end_matches('0');
    if significant.len() > DECIMALS as usize {
        return Err(NumberError::TooManyDecimals {
            what,
            max: DECIMALS,
            text: excerpt(trimmed),
        });
    }
    let whole = whole.trim_start_matches('0');
    // 10^25 micro-units is far beyond any type here; the callers bound the value.
    if whole.len() > 19 {
        return Err(NumberError::TooLarge {
            what,
            max: "10^19",
            text: excerpt(trimmed),
        });
    }
    let whole_value: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| malformed())?
    };
    let mut fraction_value: i128 = 0;
    for position in 0..DECIMALS as usize {
        let digit = significant.as_bytes().get(position).map_or(0, |b| b - b'0');
        fraction_value = fraction_value * 10 + i128::from(digit);
    }
    let magnitude = whole_value * SCALE + fraction_value;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Parses a JSON number that arrived as an `f64` by way of its shortest decimal text.
///
/// A JSON literal with at most 15 significant digits survives the trip through `f64`
/// unchanged: the shortest text that rounds to the same double is the literal itself.
/// Every price up to 10^9 with six decimals fits in 15 digits, so this is exact for
/// all values the types here accept.
pub(crate) fn parse_f64_micros(value: f64, what: &'static str) -> Result<i128, NumberError> {
    if !value.is_finite() {
        return Err(NumberError::NotFinite { what });
    }
    // Rust prints the shortest round-tripping decimal, never with an exponent.
    parse_micros(&value.to_string(), what)
}

/// The nearest `f64` to a micro-unit value (exact text round trip up to 15 digits).
pub(crate) fn micros_to_f64(micros: i128) -> f64 {
    // Both conversions are exact below 2^53 and the division is correctly rounded,
    // so the result is the double nearest to the decimal value.
    micros as f64 / SCALE as f64
}

/// Writes micro-units as a plain decimal: no exponent, no trailing fractional zeros,
/// at least one digit after the point only when there is a fraction.
pub(crate) fn write_micros(f: &mut std::fmt::Formatter<'_>, micros: i128) -> std::fmt::Result {
    let sign = if micros < 0 { "-" } else { "" };
    let magnitude = micros.unsigned_abs();
    let scale = SCALE as u128;
    let whole = magnitude / scale;
    let fraction = magnitude % scale;
    if fraction == 0 {
        return write!(f, "{sign}{whole}");
    }
    let digits = format!("{fraction:06}");
    write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// A type of this crate that can be read from text or from a JSON number.
pub(crate) trait ExactNumber: Sized + std::str::FromStr<Err = NumberError> {
    /// Reads a JSON number that serde decoded as `f64`.
    fn from_f64(value: f64) -> Result<Self, NumberError>;
}

/// Serde visitor shared by the exact types: JSON numbers and numeric strings.
pub(crate) struct NumberVisitor<T> {
    expecting: &'static str,
    target: std::marker::PhantomData<T>,
}

impl<T> NumberVisitor<T> {
    pub(crate) fn new(expecting: &'static str) -> Self {
        NumberVisitor {
            expecting,
            target: std::marker::PhantomData,
        }
    }
}

impl<T: ExactNumber> serde::de::Visitor<'_> for NumberVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (a number or a numeric string)", self.expecting)
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<T, E> {
        T::from_f64(value).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<T, E> {
        value.to_string().parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<T, E> {
        value.to_string().parse().map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_parse_exactly() {
        let cases = [
            ("1", 1_000_000),
            ("0.03", 30_000),
            ("2500.5", 2_500_500_000),
            ("-12.000001", -12_000_001),
            ("+7.", 7_000_000),
            (".5", 500_000),
            ("  42.10  ", 42_100_000),
            ("1.500000000", 1_500_000),
            ("000123.4", 123_400_000),
        ];
        for (text, micros) in cases {
            assert_eq!(parse_micros(text, "price"), Ok(micros), "{text}");
        }
    }

    #[test]
    fn malformed_text_is_rejected_with_a_reason() {
        for text in [
            "", " ", "abc", "1e5", "1.2.3", "1,5", "--1", ".", "1 000", "0x10",
        ] {
            assert!(
                parse_micros(text, "price").is_err(),
                "{text:?} was accepted"
            );
        }
        assert_eq!(
            parse_micros("NaN", "price"),
            Err(NumberError::NotFinite { what: "price" })
        );
        assert_eq!(
            parse_micros("-inf", "price"),
            Err(NumberError::NotFinite { what: "price" })
        );
        assert!(matches!(
            parse_micros("1.0000001", "price"),
            Err(NumberError::TooManyDecimals { max: 6, .. })
        ));
    }

    #[test]
    fn rounding_goes_the_asked_way() {
        assert_eq!(div_round(7, 2, Rounding::Down), 3);
        assert_eq!(div_round(7, 2, Rounding::Up), 4);
        assert_eq!(div_round(-7, 2, Rounding::Down), -4);
        assert_eq!(div_round(-7, 2, Rounding::Up), -3);
        assert_eq!(div_round(5, 2, Rounding::HalfEven), 2);
        assert_eq!(div_round(7, 2, Rounding::HalfEven), 4);
        assert_eq!(div_round(-5, 2, Rounding::HalfEven), -2);
        assert_eq!(div_round(8, 3, Rounding::HalfEven), 3);
        assert_eq!(div_round(6, 3, Rounding::Up), 2);
    }

    #[test]
    fn f64_input_is_read_through_its_shortest_text() {
        assert_eq!(parse_f64_micros(4393.2075, "price"), Ok(4_393_207_500));
        assert!(parse_f64_micros(0.1 + 0.2, "price").is_err());
        assert_eq!(
            parse_f64_micros(f64::NAN, "price"),
            Err(NumberError::NotFinite { what: "price" })
        );
        assert_eq!(micros_to_f64(4_393_207_500), 4393.2075);
    }
}

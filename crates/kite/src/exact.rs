//! Exact numbers at the Kite boundary: floats in, decimal text out.
//!
//! Kite speaks JSON floats; kitebreak decides with [`Price`]. On the way in a float
//! is read through its shortest decimal text (never through binary arithmetic) and
//! rounded to the instrument's tick, half to even. On the way out an order price is
//! rounded to the tick in the direction that cannot worsen the intent: a buy never
//! pays more than asked (down), a sell never receives less (up), and a stop triggers
//! no later than asked (buy stops down, sell stops up). Nothing here uses f64 for a
//! decision; the only f64 leaving is `Price::to_f64` for the client's form field,
//! whose shortest text is the price's own text.

use kitebreak_price::{Price, Quantity, Rounding};

use crate::error::KiteError;
use crate::orders::Side;

/// 10^12: the working scale for rounding wire decimals before they become micro-units.
const WIDE: i128 = 1_000_000_000_000;
/// Micro-units per [`WIDE`] unit.
const MICROS_TO_WIDE: i128 = 1_000_000;

/// A Kite float rounded to `tick` (half to even). Fails for non-finite, zero or
/// negative values and values that round to zero.
pub fn price_in(value: f64, tick: Price) -> Result<Price, KiteError> {
    let wide = wide_decimal(value)?;
    let tick_wide = i128::from(tick.micros()) * MICROS_TO_WIDE;
    let ticks = Rounding::HalfEven.divide(wide, tick_wide);
    let micros = ticks * i128::from(tick.micros());
    i64::try_from(micros)
        .ok()
        .and_then(|m| Price::from_micros(m).ok())
        .ok_or_else(|| KiteError::Decode(format!("price {value} is not a positive price")))
}

/// A Kite float kept to six decimals (for averages of several fills, which need not
/// sit on the tick).
pub fn price_in_exact(value: f64) -> Result<Price, KiteError> {
    price_in(
        value,
        Price::from_micros(1).map_err(|e| KiteError::Decode(e.to_string()))?,
    )
}

/// `price` rounded to a multiple of `tick` in the given direction.
pub fn round_to_tick(price: Price, tick: Price, rounding: Rounding) -> Option<Price> {
    let ticks = rounding.divide(i128::from(price.micros()), i128::from(tick.micros()));
    let micros = i64::try_from(ticks * i128::from(tick.micros())).ok()?;
    Price::from_micros(micros).ok()
}

/// The direction that never worsens an order of this side: buys down, sells up.
pub fn favourable(side: Side) -> Rounding {
    match side {
        Side::Buy => Rounding::Down,
        Side::Sell => Rounding::Up,
    }
}

/// An order's limit or trigger price on the tick, rounded in the favourable direction.
pub fn price_out(price: Price, tick: Price, side: Side) -> Result<Price, KiteError> {
    round_to_tick(price, tick, favourable(side)).ok_or_else(|| {
        KiteError::InvalidInput(format!("price {price} rounds to zero on tick {tick}"))
    })
}

/// A Kite quantity (a float in the client's types) as a whole, non-negative count.
pub fn count_in(value: f64) -> Result<u32, KiteError> {
    let text = value.to_string();
    text.parse::<u32>()
        .map_err(|_| KiteError::Decode(format!("quantity {text} is not a whole count")))
}

/// A Kite quantity as a positive [`Quantity`].
pub fn quantity_in(value: f64) -> Result<Quantity, KiteError> {
    Quantity::new(count_in(value)?).map_err(|e| KiteError::Decode(e.to_string()))
}

/// The float's shortest decimal text as an integer at scale 10^12 (digits beyond the
/// 12th decimal are dropped; Kite never sends more than 4 meaningful ones).
fn wide_decimal(value: f64) -> Result<i128, KiteError> {
    let bad = || KiteError::Decode(format!("{value} is not a plain positive number"));
    if !value.is_finite() || value <= 0.0 {
        return Err(bad());
    }
    let text = value.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole: i128 = whole.parse().map_err(|_| bad())?;
    let mut wide = whole.checked_mul(WIDE).ok_or_else(bad)?;
    let mut place = WIDE / 10;
    for digit in fraction.bytes().take(12) {
        wide += i128::from(digit.wrapping_sub(b'0')) * place;
        place /= 10;
    }
    Ok(wide)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("test price")
    }

    #[test]
    fn floats_come_in_on_the_tick() {
        let cases = [
            (1573.15, "0.05", "1573.15"),
            (1573.149999999, "0.05", "1573.15"),
            (0.30000000000000004, "0.01", "0.3"),
            (109.4, "0.05", "109.4"),
            (72.0, "0.05", "72"),
            (100.025, "0.05", "100"),
            (100.075, "0.05", "100.1"),
            (82.1234, "0.0025", "82.1225"),
        ];
        for (value, tick, want) in cases {
            assert_eq!(
                price_in(value, p(tick)).ok(),
                Some(p(want)),
                "{value} on {tick}"
            );
        }
        assert!(price_in(0.0, p("0.05")).is_err());
        assert!(price_in(f64::NAN, p("0.05")).is_err());
        assert!(price_in(0.01, p("0.05")).is_err());
    }

    #[test]
    fn averages_keep_six_decimals() {
        assert_eq!(price_in_exact(1573.1234564).ok(), Some(p("1573.123456")));
    }

    #[test]
    fn order_prices_round_in_the_favourable_direction() {
        let tick = p("0.05");
        assert_eq!(price_out(p("100.03"), tick, Side::Buy).ok(), Some(p("100")));
        assert_eq!(
            price_out(p("100.03"), tick, Side::Sell).ok(),
            Some(p("100.05"))
        );
        assert_eq!(
            price_out(p("100.05"), tick, Side::Buy).ok(),
            Some(p("100.05"))
        );
        assert!(price_out(p("0.01"), tick, Side::Buy).is_err());
    }

    #[test]
    fn quantities_must_be_whole() {
        assert_eq!(count_in(25.0).ok(), Some(25));
        assert!(count_in(2.5).is_err());
        assert!(count_in(-1.0).is_err());
        assert!(quantity_in(0.0).is_err());
    }
}

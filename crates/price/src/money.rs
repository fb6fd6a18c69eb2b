//! [`Money`] and [`Percent`]: exact signed amounts, for P&L and order values.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use crate::fixed::{self, Rounding, SCALE};
use crate::{Price, Quantity};

/// A signed amount of money with six decimal places (P&L, an order's value).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i128);

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// Money from micro-units.
    pub const fn from_micros(micros: i128) -> Money {
        Money(micros)
    }

    /// Micro-units of this amount.
    pub const fn micros(self) -> i128 {
        self.0
    }

    /// This amount times a quantity.
    pub fn times(self, quantity: Quantity) -> Money {
        Money(self.0 * i128::from(quantity.get()))
    }

    /// This amount as a percentage of a price: `(self / base) × 100`, rounded half-even
    /// to six places.
    pub fn percent_of(self, base: Price) -> Percent {
        let numerator = self.0 * 100 * SCALE;
        Percent(fixed::div_round(
            numerator,
            i128::from(base.micros()),
            Rounding::HalfEven,
        ))
    }

    /// Rounded to `decimals` places (at most six).
    pub fn rounded(self, decimals: u32, rounding: Rounding) -> Money {
        Money(round_micros(self.0, decimals, rounding))
    }

    /// The nearest `f64`, for display and wire formats only.
    pub fn to_f64(self) -> f64 {
        fixed::micros_to_f64(self.0)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// A signed percentage with six decimal places (`3.22` is 3.22%).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(i128);

impl Percent {
    /// A percentage from micro-units.
    pub const fn from_micros(micros: i128) -> Percent {
        Percent(micros)
    }

    /// Micro-units of this percentage.
    pub const fn micros(self) -> i128 {
        self.0
    }

    /// Rounded to `decimals` places (at most six).
    pub fn rounded(self, decimals: u32, rounding: Rounding) -> Percent {
        Percent(round_micros(self.0, decimals, rounding))
    }

    /// The nearest `f64`, for display and wire formats only.
    pub fn to_f64(self) -> f64 {
        fixed::micros_to_f64(self.0)
    }
}

fn round_micros(micros: i128, decimals: u32, rounding: Rounding) -> i128 {
    let step = 10_i128.pow(fixed::DECIMALS.saturating_sub(decimals));
    fixed::div_round(micros, step, rounding) * step
}

macro_rules! display_and_serialize {
    ($type:ident) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fixed::write_micros(f, self.0)
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($type))
            }
        }

        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_f64(self.to_f64())
            }
        }
    };
}

display_and_serialize!(Money);
display_and_serialize!(Percent);

#[cfg(test)]
mod tests {
    use super::*;

    fn price(text: &str) -> Price {
        text.parse().expect("valid price in test")
    }

    #[test]
    fn pnl_is_exact_and_percent_rounds_half_even() {
        let pnl = price("4402.4").minus(price("4265.25"));
        assert_eq!(pnl.to_string(), "137.15");
        let percent = pnl.percent_of(price("4265.25"));
        assert_eq!(percent.rounded(2, Rounding::HalfEven).to_string(), "3.22");
        let loss = price("99")
            .minus(price("100"))
            .times(Quantity::new(3).expect("qty"));
        assert_eq!(loss.to_string(), "-3");
    }

    #[test]
    fn rounding_to_places() {
        let m = Money::from_micros(12_345_000);
        assert_eq!(m.rounded(2, Rounding::HalfEven).to_string(), "12.34");
        assert_eq!(m.rounded(2, Rounding::Up).to_string(), "12.35");
        assert_eq!((-m).rounded(2, Rounding::HalfEven).to_string(), "-12.34");
        assert_eq!(m.rounded(6, Rounding::HalfEven), m);
    }
}

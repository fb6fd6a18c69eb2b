//! `[orders]` values: Kite's exchanges, products and order types, and the market
//! protection band, parsed from their Kite spellings.

use serde::{Deserialize, Serialize};

/// A Kite exchange segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Exchange {
    /// National Stock Exchange, equity.
    Nse,
    /// Bombay Stock Exchange, equity.
    Bse,
    /// NSE futures and options.
    Nfo,
    /// BSE futures and options.
    Bfo,
    /// NSE currency derivatives.
    Cds,
    /// BSE currency derivatives.
    Bcd,
    /// Multi Commodity Exchange.
    Mcx,
}

/// A Kite product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Product {
    /// Intraday, squared off the same day.
    Mis,
    /// Cash and carry (equity delivery).
    Cnc,
    /// Normal (F&O and commodity carry-forward).
    Nrml,
    /// Margin trading facility.
    Mtf,
}

/// The order type of entries and exits. The engine only places market orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderType {
    /// A market order (with market protection).
    #[serde(rename = "MARKET")]
    Market,
}

/// Kite's `market_protection` for market orders, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketProtection {
    /// `-1`: the exchange's automatic protection.
    Auto,
    /// `1..=100`: a custom band in percent.
    Percent(u8),
}

impl MarketProtection {
    /// Reads Kite's number, refusing `0` (exchanges reject unprotected market orders
    /// since 1 April 2026) and anything outside `-1` and `1..=100`.
    pub fn from_kite(value: i32) -> Result<MarketProtection, String> {
        match value {
            -1 => Ok(MarketProtection::Auto),
            1..=100 => Ok(MarketProtection::Percent(value.unsigned_abs() as u8)),
            0 => Err(
                "0 (no protection) is rejected by the exchanges since 1 April 2026; \
                      use -1 (automatic) or a percentage 1..100"
                    .into(),
            ),
            _ => Err(format!(
                "must be -1 (automatic) or a percentage 1..100, got {value}"
            )),
        }
    }

    /// The number Kite takes.
    pub fn to_kite(self) -> i32 {
        match self {
            MarketProtection::Auto => -1,
            MarketProtection::Percent(percent) => i32::from(percent),
        }
    }
}

/// What entries and exits are placed with, once the Kite broker exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderDefaults {
    /// Exchange of symbols given without one.
    pub exchange: Exchange,
    /// Kite product.
    pub product: Product,
    /// Order type.
    pub order_type: OrderType,
    /// Market protection band.
    pub market_protection: MarketProtection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_protection_accepts_auto_and_percentages_only() {
        assert_eq!(MarketProtection::from_kite(-1), Ok(MarketProtection::Auto));
        assert_eq!(
            MarketProtection::from_kite(2),
            Ok(MarketProtection::Percent(2))
        );
        assert_eq!(
            MarketProtection::from_kite(100).map(|p| p.to_kite()),
            Ok(100)
        );
        for bad in [0, -2, 101, i32::MIN] {
            assert!(MarketProtection::from_kite(bad).is_err(), "{bad} accepted");
        }
    }
}

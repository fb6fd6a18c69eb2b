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

/// `[orders] protection`: whether an exchange-side stop guards every open trade while
/// kitebreak is down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtectionMode {
    /// Only kitebreak watches its trades.
    #[default]
    None,
    /// After every entry fill an SL-M stop order (MIS) or a two-leg GTT at the
    /// trade's stop and target (CNC/NRML) rests at the broker; kitebreak cancels it
    /// before its own exit. Live broker only (a no-op on paper).
    Exchange,
}

impl ProtectionMode {
    /// Refuses what is not built: MTF trades (whether Kite takes GTTs for MTF is
    /// not confirmed).
    pub fn check(self, product: Product) -> Result<(), String> {
        match (self, product) {
            (ProtectionMode::Exchange, Product::Mtf) => Err(
                "exchange protection is an SL-M stop (MIS) or a GTT OCO (CNC/NRML); \
                 MTF is not supported (use another product or protection = \"none\")"
                    .into(),
            ),
            _ => Ok(()),
        }
    }

    /// The engine's setting for trades of `product`: an SL-M stop for MIS (it lives
    /// the day, like the position), a GTT OCO for the products held overnight.
    pub fn engine(self, product: Product) -> kitebreak_engine::Protection {
        match (self, product) {
            (ProtectionMode::None, _) => kitebreak_engine::Protection::None,
            (ProtectionMode::Exchange, Product::Mis) => kitebreak_engine::Protection::Exchange,
            (ProtectionMode::Exchange, _) => kitebreak_engine::Protection::ExchangeOco,
        }
    }
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
    /// Exchange-side protection of open trades.
    pub protection: ProtectionMode,
    /// The longest wait for an order's final status (`KiteAdapter::with_settle_within`).
    pub settle_within: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_protection_is_a_stop_for_mis_and_a_gtt_for_cnc_and_nrml() {
        use kitebreak_engine::Protection;
        for product in [Product::Mis, Product::Cnc, Product::Nrml] {
            assert_eq!(
                ProtectionMode::Exchange.check(product),
                Ok(()),
                "{product:?}"
            );
        }
        assert!(ProtectionMode::Exchange.check(Product::Mtf).is_err());
        assert_eq!(ProtectionMode::None.check(Product::Mtf), Ok(()));
        let engine = |product| ProtectionMode::Exchange.engine(product);
        assert_eq!(engine(Product::Mis), Protection::Exchange);
        assert_eq!(engine(Product::Cnc), Protection::ExchangeOco);
        assert_eq!(engine(Product::Nrml), Protection::ExchangeOco);
        assert_eq!(ProtectionMode::None.engine(Product::Cnc), Protection::None);
        assert_eq!(ProtectionMode::default(), ProtectionMode::None);
    }

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

//! Order types at the adapter's surface: what the engine asks for ([`OrderRequest`])
//! and what Kite's order book says ([`OrderSnapshot`]), both in exact types.
//!
//! Conversion from Kite's `Order` happens here, once: floats become [`Price`] on the
//! instrument's tick (fill averages to six decimals), statuses become [`OrderState`].

use jiff::Timestamp;
use kitebreak_price::{Price, Quantity};

use crate::error::KiteError;
use crate::exact;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    pub(crate) fn kite(self) -> kiteconnect::TransactionType {
        match self {
            Side::Buy => kiteconnect::TransactionType::Buy,
            Side::Sell => kiteconnect::TransactionType::Sell,
        }
    }
}

/// A unique order tag: 1 to 20 ASCII letters and digits (Kite's documented limit).
/// Kite's order book returns it, which is how an order of unknown outcome is found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// The longest tag Kite accepts.
    pub const MAX: usize = 20;

    /// Validates outside text as a tag.
    pub fn new(text: &str) -> Result<Tag, KiteError> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX
            && text.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(Tag(text.to_string()))
        } else {
            Err(KiteError::InvalidInput(format!(
                "tag must be 1 to {} ASCII letters or digits, got {text:?}",
                Self::MAX
            )))
        }
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Kite's order variety: the `:variety` of `/orders/:variety[/:order_id]`. Modify
/// and cancel must name the variety the order was placed with (kite-api.md §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Variety {
    /// A regular order, for the trading session.
    #[default]
    Regular,
    /// An after-market order, queued for the next session.
    Amo,
}

impl Variety {
    /// Kite's name: `regular` or `amo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Variety::Regular => "regular",
            Variety::Amo => "amo",
        }
    }

    /// From Kite's `variety` text; `None` for varieties this adapter does not place
    /// (`co`, `iceberg`, `auction`).
    pub fn parse(text: &str) -> Option<Variety> {
        match text {
            "regular" => Some(Variety::Regular),
            "amo" => Some(Variety::Amo),
            _ => None,
        }
    }

    pub(crate) fn kite(self) -> kiteconnect::Variety {
        match self {
            Variety::Regular => kiteconnect::Variety::Regular,
            Variety::Amo => kiteconnect::Variety::Amo,
        }
    }
}

/// Price type of an order, with its prices (rounded to the tick when sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// At the market, with market protection.
    Market,
    /// A limit order.
    Limit {
        /// Worst acceptable price.
        price: Price,
    },
    /// Stop-loss limit: becomes a limit order at `price` once `trigger` trades.
    StopLoss {
        /// Limit price after triggering.
        price: Price,
        /// Trigger price.
        trigger: Price,
    },
    /// Stop-loss market: becomes a market order (with protection) at `trigger`.
    StopLossMarket {
        /// Trigger price.
        trigger: Price,
    },
}

/// Kite product: delivery, intraday, F&O carry or margin trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Delivery (CNC).
    Cnc,
    /// Intraday (MIS).
    Mis,
    /// Carry-forward F&O (NRML).
    Nrml,
    /// Margin trading facility (MTF).
    Mtf,
}

impl Product {
    pub(crate) fn kite(self) -> kiteconnect::Product {
        match self {
            Product::Cnc => kiteconnect::Product::Cnc,
            Product::Mis => kiteconnect::Product::Mis,
            Product::Nrml => kiteconnect::Product::Nrml,
            Product::Mtf => kiteconnect::Product::Mtf,
        }
    }
}

/// An order as the caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// Unique per order.
    pub tag: Tag,
    /// `EXCHANGE:SYMBOL`, e.g. `NSE:INFY`.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Units (a multiple of the lot size).
    pub quantity: Quantity,
    /// Market, limit or stop.
    pub kind: OrderKind,
    /// Product.
    pub product: Product,
}

/// Where an order stands, from Kite's `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderState {
    /// Working: any of Kite's transient or open statuses.
    Pending(String),
    /// Filled completely.
    Complete,
    /// Refused by Kite, RMS or the exchange.
    Rejected,
    /// Cancelled (possibly after a partial fill).
    Cancelled,
}

impl OrderState {
    /// From Kite's status text.
    pub fn parse(status: &str) -> OrderState {
        match status {
            "COMPLETE" => OrderState::Complete,
            "REJECTED" => OrderState::Rejected,
            "CANCELLED" => OrderState::Cancelled,
            other => OrderState::Pending(other.to_string()),
        }
    }

    /// True once the order can no longer change.
    pub fn is_final(&self) -> bool {
        !matches!(self, OrderState::Pending(_))
    }
}

/// One order as Kite's order book shows it, in exact types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSnapshot {
    /// Kite's order id (a string of up to 19 digits).
    pub order_id: String,
    /// The tag it was placed with, if any.
    pub tag: Option<String>,
    /// Kite's `variety` (`regular`, `amo`, ...): the one modify and cancel must use.
    pub variety: String,
    /// `EXCHANGE:SYMBOL`.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Kite's status.
    pub state: OrderState,
    /// Kite's `status_message`, e.g. the rejection reason.
    pub message: Option<String>,
    /// Units ordered.
    pub quantity: u32,
    /// Units filled.
    pub filled_quantity: u32,
    /// Average fill price (six decimals), once anything filled.
    pub average_price: Option<Price>,
    /// Kite's `order_timestamp` (IST) as an instant.
    pub time: Timestamp,
}

impl OrderSnapshot {
    /// Converts Kite's order.
    pub fn from_kite(order: &kiteconnect::Order) -> Result<OrderSnapshot, KiteError> {
        let side = match order.transaction_type.as_str() {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            other => return Err(KiteError::Decode(format!("transaction_type {other}"))),
        };
        let filled_quantity = exact::count_in(order.filled_quantity)?;
        let average_price = if filled_quantity > 0 && order.average_price > 0.0 {
            Some(exact::price_in_exact(order.average_price)?)
        } else {
            None
        };
        Ok(OrderSnapshot {
            order_id: order.order_id.clone(),
            tag: order.tag.clone(),
            variety: order.variety.clone(),
            instrument: format!("{}:{}", order.exchange, order.tradingsymbol),
            side,
            state: OrderState::parse(&order.status),
            message: order.status_message.clone(),
            quantity: exact::count_in(order.quantity)?,
            filled_quantity,
            average_price,
            time: crate::time::ist_to_timestamp(order.order_timestamp)?,
        })
    }

    /// True if this order carries `tag` (as `tag` or among `tags`).
    pub(crate) fn kite_has_tag(order: &kiteconnect::Order, tag: &str) -> bool {
        order.tag.as_deref() == Some(tag) || order.tags.iter().any(|t| t == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_one_to_twenty_ascii_letters_or_digits() {
        let longest = "K".repeat(Tag::MAX);
        assert_eq!(Tag::new(&longest).map(|t| t.as_str().len()).ok(), Some(20));
        assert!(Tag::new("KB00001Z").is_ok());
        for bad in [
            "K".repeat(Tag::MAX + 1),
            String::new(),
            "kb 1".into(),
            "kb-1".into(),
            "kb1é".into(),
        ] {
            assert!(Tag::new(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn varieties_use_kites_path_names() {
        assert_eq!(Variety::Regular.as_str(), "regular");
        assert_eq!(Variety::Amo.as_str(), "amo");
        assert_eq!(Variety::Amo.kite().to_string(), "amo");
        assert_eq!(Variety::parse("amo"), Some(Variety::Amo));
        assert_eq!(Variety::parse("co"), None);
    }
}

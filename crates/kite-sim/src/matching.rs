//! Order matching, pure: when an order triggers and fills against the last price.
//!
//! No IO, no clock, no book: [`decide`] looks at one order's terms and one price and says
//! what happens. The book applies the answer. Fills are at the last traded price, which
//! for a resting limit reached by a gap is the better price, as on an exchange.

use kitebreak_price::Price;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `BUY`.
    Buy,
    /// `SELL`.
    Sell,
}

impl Side {
    /// Kite's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    /// From Kite's spelling.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// Kite's order types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// `MARKET`.
    Market,
    /// `LIMIT`.
    Limit,
    /// `SL`: a limit order that enters the book once the trigger is reached.
    StopLimit,
    /// `SL-M`: a market order once the trigger is reached.
    StopMarket,
}

impl OrderType {
    /// Kite's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "MARKET",
            OrderType::Limit => "LIMIT",
            OrderType::StopLimit => "SL",
            OrderType::StopMarket => "SL-M",
        }
    }

    /// From Kite's spelling.
    pub fn parse(text: &str) -> Option<OrderType> {
        match text {
            "MARKET" => Some(OrderType::Market),
            "LIMIT" => Some(OrderType::Limit),
            "SL" => Some(OrderType::StopLimit),
            "SL-M" => Some(OrderType::StopMarket),
            _ => None,
        }
    }

    /// Whether the type needs `price`.
    pub fn needs_price(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLimit)
    }

    /// Whether the type needs `trigger_price`.
    pub fn needs_trigger(self) -> bool {
        matches!(self, OrderType::StopLimit | OrderType::StopMarket)
    }

    /// Whether the 2026 rule requires `market_protection` (MARKET and SL-M).
    pub fn needs_market_protection(self) -> bool {
        matches!(self, OrderType::Market | OrderType::StopMarket)
    }
}

/// What an order asks for, as far as matching cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// Buy or sell.
    pub side: Side,
    /// Order type.
    pub order_type: OrderType,
    /// Limit price (LIMIT, SL).
    pub price: Option<Price>,
    /// Trigger price (SL, SL-M).
    pub trigger: Option<Price>,
}

/// What happens to a live order at a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: it keeps waiting (for its trigger or its limit).
    Wait,
    /// A stop order's trigger was reached; as a limit order it now rests.
    Triggered,
    /// It fills completely at this price (after triggering, for stop orders).
    Fill(Price),
}

/// Decides one order against the last price. `triggered` says whether a stop order's
/// trigger was already reached earlier.
pub fn decide(terms: Terms, triggered: bool, last: Price) -> Decision {
    let is_stop = matches!(
        terms.order_type,
        OrderType::StopLimit | OrderType::StopMarket
    );
    let triggers_now =
        is_stop && !triggered && terms.trigger.is_some_and(|t| reached(terms.side, t, last));
    if is_stop && !triggered && !triggers_now {
        return Decision::Wait;
    }
    match terms.order_type {
        OrderType::Market | OrderType::StopMarket => Decision::Fill(last),
        OrderType::Limit | OrderType::StopLimit => match terms.price {
            Some(limit) if marketable(terms.side, limit, last) => Decision::Fill(last),
            _ if triggers_now => Decision::Triggered,
            _ => Decision::Wait,
        },
    }
}

/// A buy stop triggers at or above its trigger, a sell stop at or below.
pub fn reached(side: Side, trigger: Price, last: Price) -> bool {
    match side {
        Side::Buy => last >= trigger,
        Side::Sell => last <= trigger,
    }
}

/// A buy limit fills at or below its price, a sell limit at or above.
pub fn marketable(side: Side, limit: Price, last: Price) -> bool {
    match side {
        Side::Buy => last <= limit,
        Side::Sell => last >= limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    fn terms(
        side: Side,
        order_type: OrderType,
        price: Option<&str>,
        trigger: Option<&str>,
    ) -> Terms {
        Terms {
            side,
            order_type,
            price: price.map(p),
            trigger: trigger.map(p),
        }
    }

    #[test]
    fn decisions_follow_the_exchange_rules() {
        use Decision::*;
        use OrderType::*;
        use Side::*;
        let cases = [
            (terms(Buy, Market, None, None), false, "100", Fill(p("100"))),
            (terms(Buy, Limit, Some("99"), None), false, "100", Wait),
            (
                terms(Buy, Limit, Some("99"), None),
                false,
                "98.5",
                Fill(p("98.5")),
            ),
            (
                terms(Sell, Limit, Some("101"), None),
                false,
                "101",
                Fill(p("101")),
            ),
            (terms(Sell, StopMarket, None, Some("95")), false, "96", Wait),
            (
                terms(Sell, StopMarket, None, Some("95")),
                false,
                "95",
                Fill(p("95")),
            ),
            (
                terms(Buy, StopMarket, None, Some("105")),
                false,
                "105.05",
                Fill(p("105.05")),
            ),
            (
                terms(Sell, StopLimit, Some("94"), Some("95")),
                false,
                "94.9",
                Fill(p("94.9")),
            ),
            (
                terms(Sell, StopLimit, Some("95"), Some("95")),
                false,
                "94",
                Triggered,
            ),
            (
                terms(Sell, StopLimit, Some("95"), Some("95")),
                true,
                "94.5",
                Wait,
            ),
            (
                terms(Sell, StopLimit, Some("95"), Some("95")),
                true,
                "95.1",
                Fill(p("95.1")),
            ),
        ];
        for (terms, triggered, last, expected) in cases {
            assert_eq!(
                decide(terms, triggered, p(last)),
                expected,
                "{terms:?} at {last}"
            );
        }
    }
}

//! [`Position`] and [`Trade`]: what fills leave behind, and the margin they use.
//!
//! Values are exact: money in micro-rupees (`i128`), prices as [`Price`]. The day book is
//! the net book here, since the sim starts each run without overnight positions.

use jiff::Timestamp;
use kitebreak_price::Price;

use crate::matching::Side;

/// One fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    /// Trade id.
    pub trade_id: String,
    /// The order filled.
    pub order_id: String,
    /// Its exchange order id.
    pub exchange_order_id: String,
    /// Exchange.
    pub exchange: String,
    /// Trading symbol.
    pub tradingsymbol: String,
    /// Instrument token.
    pub token: u32,
    /// Product.
    pub product: String,
    /// Buy or sell.
    pub side: Side,
    /// Fill price.
    pub price: Price,
    /// Units.
    pub quantity: u32,
    /// Fill time.
    pub at: Timestamp,
    /// When the order was placed.
    pub order_at: Timestamp,
}

/// Net position in one instrument and product.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Position {
    /// Exchange.
    pub exchange: String,
    /// Trading symbol.
    pub tradingsymbol: String,
    /// Instrument token.
    pub token: u32,
    /// Product.
    pub product: String,
    /// Units bought today.
    pub buy_quantity: u64,
    /// Value bought, micro-rupees.
    pub buy_value: i128,
    /// Units sold today.
    pub sell_quantity: u64,
    /// Value sold, micro-rupees.
    pub sell_value: i128,
}

impl Position {
    /// Adds a fill.
    pub fn add(&mut self, side: Side, quantity: u32, price: Price) {
        let value = i128::from(price.micros()) * i128::from(quantity);
        match side {
            Side::Buy => {
                self.buy_quantity += u64::from(quantity);
                self.buy_value += value;
            }
            Side::Sell => {
                self.sell_quantity += u64::from(quantity);
                self.sell_value += value;
            }
        }
    }

    /// Signed net quantity (negative = short).
    pub fn net(&self) -> i64 {
        self.buy_quantity as i64 - self.sell_quantity as i64
    }

    /// Average buy price in micros (0 without buys).
    pub fn buy_price(&self) -> i128 {
        average(self.buy_value, self.buy_quantity)
    }

    /// Average sell price in micros (0 without sells).
    pub fn sell_price(&self) -> i128 {
        average(self.sell_value, self.sell_quantity)
    }

    /// Average price of the open side, micros (0 when flat).
    pub fn average_price(&self) -> i128 {
        match self.net() {
            n if n > 0 => self.buy_price(),
            n if n < 0 => self.sell_price(),
            _ => 0,
        }
    }

    /// Profit of the matched (closed) units, micro-rupees.
    pub fn realised(&self) -> i128 {
        let closed = i128::from(self.buy_quantity.min(self.sell_quantity));
        closed * (self.sell_price() - self.buy_price())
    }

    /// Total profit marked at `last`, micro-rupees.
    pub fn pnl(&self, last: Price) -> i128 {
        self.sell_value - self.buy_value + i128::from(self.net()) * i128::from(last.micros())
    }

    /// Money tied up by the open units at `rate_percent` of their value.
    pub fn margin(&self, rate_percent: i128) -> i128 {
        i128::from(self.net().abs()) * self.average_price() * rate_percent / 100
    }
}

fn average(value: i128, quantity: u64) -> i128 {
    if quantity == 0 {
        0
    } else {
        value / i128::from(quantity)
    }
}

/// Share of an order's value blocked as margin: 20% intraday (MIS), all of it otherwise.
pub fn margin_percent(product: &str) -> i128 {
    if product == "MIS" { 20 } else { 100 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    #[test]
    fn a_round_trip_realises_its_profit() {
        let mut position = Position::default();
        position.add(Side::Buy, 10, p("100"));
        assert_eq!(position.net(), 10);
        assert_eq!(position.pnl(p("101")), 10_000_000);
        position.add(Side::Sell, 10, p("102.5"));
        assert_eq!(position.net(), 0);
        assert_eq!(position.realised(), 25_000_000);
        assert_eq!(position.pnl(p("1")), 25_000_000);
    }
}

//! What orders, fills, positions and prices look like between the engine and a
//! broker: the requests the engine makes and the reports a broker gives back.

use jiff::Timestamp;
use kitebreak_price::{Price, Quantity};

use crate::Symbol;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Side {
    /// Buy: a long entry, or the exit of a short.
    #[serde(rename = "BUY")]
    Buy,
    /// Sell: a short entry, or the exit of a long.
    #[serde(rename = "SELL")]
    Sell,
}

impl Side {
    /// Kite's spelling: `BUY` or `SELL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// A market order as the engine asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketOrder {
    /// Unique per order, at most 20 characters (Kite's limit): found again after a
    /// timeout or crash by searching the order book, so nothing is sent twice.
    pub tag: String,
    /// What to trade.
    pub symbol: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// How many units.
    pub quantity: Quantity,
}

impl MarketOrder {
    /// The longest tag Kite accepts.
    pub const TAG_MAX: usize = 20;
}

/// A stop-loss market order (SL-M) that guards an open trade at the exchange while
/// kitebreak is down: the closing side, the trade's size, triggered at its stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopOrder {
    /// Unique per order, like a market order's: found again by it after a crash.
    pub tag: String,
    /// What to trade.
    pub symbol: Symbol,
    /// The side that closes the trade.
    pub side: Side,
    /// The trade's units.
    pub quantity: Quantity,
    /// The trade's stop. The broker rounds it onto its tick in the direction that
    /// triggers no later (sells up, buys down).
    pub trigger: Price,
}

/// The broker's order id.
pub type OrderId = String;

/// Where an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    /// Filled, completely or in part: `filled_quantity` is what was bought or sold
    /// (an order cancelled after a partial fill ends here with the filled part, never
    /// as a rejection).
    Complete {
        /// Average fill price.
        average_price: Price,
        /// Units filled.
        filled_quantity: Quantity,
        /// When it filled.
        time: Timestamp,
    },
    /// Refused; nothing filled.
    Rejected {
        /// The broker's reason.
        reason: String,
    },
}

/// How far an order found in the broker's book has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderProgress {
    /// Still working (open, validation pending, ...): wait for its final status.
    Working,
    /// Final.
    Done(OrderStatus),
}

/// An order found in the broker's book by its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundOrder {
    /// The broker's id.
    pub order_id: OrderId,
    /// Where it stands.
    pub progress: OrderProgress,
}

/// One order as the broker's order book shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    /// The broker's id.
    pub order_id: OrderId,
    /// The order as asked.
    pub order: MarketOrder,
    /// Its final status.
    pub status: OrderStatus,
}

/// A net position in one symbol as the broker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionReport {
    /// The instrument.
    pub symbol: Symbol,
    /// Units bought today.
    pub buy_quantity: u64,
    /// Units sold today.
    pub sell_quantity: u64,
    /// The latest known price, if any.
    pub last_price: Option<Price>,
}

/// Open, high, low and last price of the session as the broker knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ohlc {
    /// First price of the session.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Latest price.
    pub close: Price,
}

/// One state an order went through, as the broker's order history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStep {
    /// The broker's status text (Kite's: `OPEN`, `TRIGGER PENDING`, `COMPLETE`, ...).
    pub state: String,
    /// Units filled by then.
    pub filled_quantity: u32,
    /// Average fill price by then, once anything filled.
    pub average_price: Option<Price>,
    /// When the order entered this state.
    pub time: Timestamp,
}

/// One fill (a trade) of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// The broker's trade id.
    pub trade_id: String,
    /// The order it filled.
    pub order_id: OrderId,
    /// The instrument.
    pub symbol: Symbol,
    /// Units filled.
    pub quantity: Quantity,
    /// Fill price.
    pub price: Price,
    /// When it filled.
    pub time: Timestamp,
}

/// A symbol as the broker knows it: what its orders must respect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentInfo {
    /// The engine's symbol.
    pub symbol: Symbol,
    /// The broker's id for it (Kite's instrument token).
    pub token: u32,
    /// Smallest price step.
    pub tick: Price,
    /// Units per lot.
    pub lot_size: u32,
    /// The broker's segment (`NSE`, `NFO-OPT`, ...).
    pub segment: String,
}

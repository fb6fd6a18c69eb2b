//! The two-leg GTT (OCO) of exchange-side protection for delivery and carry
//! products, as the engine asks for it and as the broker reports it.
//!
//! A GTT carries no tag, so it is identified by the broker's trigger id, and a GTT
//! whose placement answer was lost is found again by its terms
//! ([`crate::Broker::find_oco`]: symbol, side, units and stop trigger).

use kitebreak_price::{Price, Quantity};

use super::{OrderId, Side};
use crate::Symbol;

/// The broker's id of a GTT (Kite's trigger id, as text).
pub type OcoId = String;

/// A two-leg GTT guarding an open trade: when the price reaches the trade's stop
/// or its target, a closing order for the trade's units goes out (one leg only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcoOrder {
    /// What to trade.
    pub symbol: Symbol,
    /// The side that closes the trade (both legs).
    pub side: Side,
    /// The trade's units.
    pub quantity: Quantity,
    /// The trade's stop: the lower trigger of a long, the upper of a short.
    pub stop: Price,
    /// The trade's target: the upper trigger of a long, the lower of a short.
    pub target: Price,
    /// The last price known when placing (the broker keeps it with the GTT).
    pub last_price: Price,
}

impl OcoOrder {
    /// `[lower, upper]`: the order of Kite's `trigger_values`.
    pub fn triggers(&self) -> [Price; 2] {
        match self.side {
            Side::Sell => [self.stop, self.target],
            Side::Buy => [self.target, self.stop],
        }
    }
}

/// Where a GTT stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcoState {
    /// Waiting for a trigger.
    Active,
    /// A leg fired. `order_id` is the closing order it placed (read it with
    /// [`crate::Broker::order_status`]); `None` with the broker's `reason` when the
    /// order could not be placed.
    Triggered {
        /// The order the leg placed.
        order_id: Option<OrderId>,
        /// Why no order was placed.
        reason: Option<String>,
        /// Whether the leg that fired was the stop (else the target).
        stop_leg: bool,
    },
    /// Ended without firing (deleted, cancelled, rejected, expired, disabled): the
    /// broker's status text.
    Ended(String),
}

/// One GTT as the broker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcoReport {
    /// The broker's id.
    pub id: OcoId,
    /// The instrument.
    pub symbol: Symbol,
    /// Where it stands.
    pub state: OcoState,
}

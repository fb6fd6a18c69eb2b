//! The read recovery needs: every order the database holds as PENDING, with what it
//! takes to look it up at the broker and to apply its outcome (side, quantity, the
//! signal price, the broker id if one was recorded).
//!
//! Also the armed exits (`ARMED` rows, see `journal`), which recovery either
//! promotes to PENDING or hands back to their open trades.
//!
//! Kept apart from `load.rs` so the order lifecycle's reads change in one place.

use kitebreak_price::Price;
use sqlx::Row;

use super::Store;
use super::rows::{corrupt, price_opt, quantity_from};
use crate::broker::Side;
use crate::{EngineError, Symbol};

/// An order whose outcome was never recorded: it was out when the engine stopped.
#[derive(Debug, Clone)]
pub(crate) struct PendingOrder {
    pub tag: String,
    pub symbol: Symbol,
    /// `entry`, `exit` or `manual`.
    pub purpose: String,
    pub side: Side,
    pub quantity: kitebreak_price::Quantity,
    pub signal_price: Option<Price>,
    /// The broker's id, when known while still pending (a GTT's trigger id).
    pub broker_order_id: Option<String>,
}

/// An open trade's prepared exit, never sent as far as the database knows
/// (`ARMED`; see `journal`).
#[derive(Debug, Clone)]
pub(crate) struct ArmedOrder {
    pub tag: String,
    pub symbol: Symbol,
    pub side: Side,
    pub quantity: kitebreak_price::Quantity,
}

impl Store {
    /// Every ARMED order, oldest first.
    pub(crate) async fn armed_order_rows(&self) -> Result<Vec<ArmedOrder>, EngineError> {
        let rows = sqlx::query(
            "SELECT tag, symbol, side, quantity FROM orders WHERE status = 'ARMED' ORDER BY seq",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let symbol: String = r.try_get("symbol")?;
                let side: String = r.try_get("side")?;
                Ok(ArmedOrder {
                    tag: r.try_get("tag")?,
                    symbol: Symbol::parse(&symbol).map_err(|e| corrupt("symbol", e))?,
                    side: side_from(&side)?,
                    quantity: quantity_from(r.try_get("quantity")?, "quantity")?,
                })
            })
            .collect()
    }

    /// Every PENDING order, oldest first.
    pub(crate) async fn pending_order_rows(&self) -> Result<Vec<PendingOrder>, EngineError> {
        let rows = sqlx::query(
            "SELECT tag, symbol, purpose, side, quantity, signal_micros, broker_order_id FROM orders
             WHERE status = 'PENDING' ORDER BY seq",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let symbol: String = r.try_get("symbol")?;
                let side: String = r.try_get("side")?;
                Ok(PendingOrder {
                    tag: r.try_get("tag")?,
                    symbol: Symbol::parse(&symbol).map_err(|e| corrupt("symbol", e))?,
                    purpose: r.try_get("purpose")?,
                    side: side_from(&side)?,
                    quantity: quantity_from(r.try_get("quantity")?, "quantity")?,
                    signal_price: price_opt(r.try_get("signal_micros")?, "signal_micros")?,
                    broker_order_id: r.try_get("broker_order_id")?,
                })
            })
            .collect()
    }
}

fn side_from(text: &str) -> Result<Side, EngineError> {
    match text {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(corrupt("side", other)),
    }
}

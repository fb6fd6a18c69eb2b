//! The Kite adapter's order path: MARKET and SL-M placements under the engine's tag,
//! a lost answer looked up by that tag (never sent twice), cancels, and Kite's order
//! states and errors in the engine's terms.

use kitebreak_kite::{ErrorClass, KiteError, OrderKind, OrderRequest, OrderSnapshot, Product, Tag};
use kitebreak_price::{Price, Quantity};

use super::{KiteAdapter, RECONCILE_ATTEMPTS};
use crate::Symbol;
use crate::broker::{
    BrokerError, FoundOrder, MarketOrder, OrderId, OrderProgress, OrderReport, OrderStatus, Side,
};

impl KiteAdapter {
    pub(super) async fn place(&self, order: MarketOrder) -> Result<OrderId, BrokerError> {
        let tag = Tag::new(&order.tag).map_err(broker_error)?;
        let request = OrderRequest {
            tag,
            instrument: self.key(&order.symbol),
            side: match order.side {
                Side::Buy => kitebreak_kite::Side::Buy,
                Side::Sell => kitebreak_kite::Side::Sell,
            },
            quantity: order.quantity,
            kind: OrderKind::Market,
            product: self.product,
        };
        self.send(&request).await
    }

    /// An SL-M order guarding a trade (MIS): the closing side at the trade's stop,
    /// with market protection, rounded onto the tick so it triggers no later than
    /// the stop. CNC/NRML trades are guarded by a GTT OCO instead (`oco`).
    pub(super) async fn place_stop_order(
        &self,
        order: crate::broker::StopOrder,
    ) -> Result<OrderId, BrokerError> {
        let request = self.stop_request(order)?;
        // The same rule as every placement: a stop whose answer was lost and that
        // is not in the book yet is of unknown outcome, never "not placed" (a
        // resting stop kitebreak forgot could later open a position of its own).
        self.send(&request).await
    }

    /// The SL-M request of `order` (MIS only).
    pub(super) fn stop_request(
        &self,
        order: crate::broker::StopOrder,
    ) -> Result<OrderRequest, BrokerError> {
        if self.product != Product::Mis {
            return Err(BrokerError::Unsupported(
                "an SL-M stop for CNC/NRML trades (a GTT OCO guards them: place_oco)",
            ));
        }
        Ok(OrderRequest {
            tag: Tag::new(&order.tag).map_err(broker_error)?,
            instrument: self.key(&order.symbol),
            side: match order.side {
                Side::Buy => kitebreak_kite::Side::Buy,
                Side::Sell => kitebreak_kite::Side::Sell,
            },
            quantity: order.quantity,
            kind: OrderKind::StopLossMarket {
                trigger: order.trigger,
            },
            product: self.product,
        })
    }

    /// Sends one placement exactly once. A lost answer is looked up by its tag;
    /// not found yet (or not readable) is [`BrokerError::OutcomeUnknown`], which the
    /// engine keeps looking up; every other error means nothing was placed.
    pub(super) async fn send(&self, request: &OrderRequest) -> Result<OrderId, BrokerError> {
        match self.kite.place_order(request).await {
            Ok(id) => Ok(id),
            Err(KiteError::OutcomeUnknown { tag, .. }) => {
                tracing::warn!(tag, "placement answer lost; looking the tag up");
                match self.kite.reconcile(&tag, RECONCILE_ATTEMPTS).await {
                    Ok(Some(found)) => Ok(found.order_id),
                    Ok(None) => {
                        tracing::error!(
                            tag,
                            "order of unknown outcome not in Kite's book yet; the engine keeps looking"
                        );
                        Err(BrokerError::OutcomeUnknown(tag))
                    }
                    Err(error) => {
                        tracing::error!(tag, %error, "order of unknown outcome not looked up");
                        Err(BrokerError::OutcomeUnknown(tag))
                    }
                }
            }
            Err(other) => Err(placement_error(other)),
        }
    }

    /// Cancels order `id` and reads where it ended. A refused cancel (the order
    /// completed first) is answered by the order's final state, not as an error.
    pub(super) async fn cancel_order(&self, id: &str) -> Result<OrderStatus, BrokerError> {
        let cancelled = self.kite.cancel_order(id).await;
        if let Err(error) = &cancelled {
            tracing::warn!(order_id = id, %error, "cancel refused; reading the order");
        }
        let now = self.kite.order(id).await.map_err(broker_error)?;
        if now.state.is_final() {
            return Ok(status_of(&now));
        }
        match cancelled {
            Ok(_) => {
                let done = self.kite.final_status(id).await.map_err(broker_error)?;
                Ok(status_of(&done))
            }
            Err(error) => Err(broker_error(error)),
        }
    }

    pub(super) fn report(&self, snapshot: &OrderSnapshot) -> Option<OrderReport> {
        let tag = snapshot.tag.clone()?;
        if !snapshot.state.is_final() {
            return None;
        }
        let order = MarketOrder {
            tag,
            symbol: self.symbol_of(&snapshot.instrument)?,
            side: match snapshot.side {
                kitebreak_kite::Side::Buy => Side::Buy,
                kitebreak_kite::Side::Sell => Side::Sell,
            },
            quantity: Quantity::new(snapshot.quantity).ok()?,
        };
        Some(OrderReport {
            order_id: snapshot.order_id.clone(),
            order,
            status: status_of(snapshot),
        })
    }
}

/// The engine's view of a final Kite order.
///
/// Whatever filled is a fill: COMPLETE with `filled_quantity` below the quantity, or
/// CANCELLED/REJECTED after a partial fill, is `Complete` with the filled units at
/// their average price (an entry then becomes a trade of that size). Only an order
/// that filled nothing is `Rejected`.
pub(crate) fn status_of(snapshot: &OrderSnapshot) -> OrderStatus {
    let filled = Quantity::new(snapshot.filled_quantity).ok();
    match (&snapshot.state, snapshot.average_price, filled) {
        (state, Some(average_price), Some(filled_quantity)) => {
            if snapshot.filled_quantity < snapshot.quantity {
                tracing::warn!(
                    order_id = snapshot.order_id,
                    filled = snapshot.filled_quantity,
                    quantity = snapshot.quantity,
                    "order ended {state:?} partly filled; the filled part counts"
                );
            }
            OrderStatus::Complete {
                average_price,
                filled_quantity,
                time: snapshot.time,
            }
        }
        (state, _, _) => {
            let reason = snapshot
                .message
                .clone()
                .unwrap_or_else(|| format!("{state:?}").to_lowercase());
            OrderStatus::Rejected { reason }
        }
    }
}

/// An order of the book, as found by its tag.
pub(crate) fn found(snapshot: &OrderSnapshot) -> FoundOrder {
    FoundOrder {
        order_id: snapshot.order_id.clone(),
        progress: if snapshot.state.is_final() {
            OrderProgress::Done(status_of(snapshot))
        } else {
            OrderProgress::Working
        },
    }
}

/// Classifies a Kite error for the engine.
pub(super) fn broker_error(error: KiteError) -> BrokerError {
    match (&error, error.class()) {
        (KiteError::TokenExpired | KiteError::NoSession, _) => BrokerError::SessionExpired,
        (_, ErrorClass::Rejected) => BrokerError::Rejected(error.to_string()),
        _ => BrokerError::Unavailable(error.to_string()),
    }
}

/// Classifies the error of a placement that certainly did not happen (everything
/// but `OutcomeUnknown`, which `place` handles): never an unknown outcome.
pub(super) fn placement_error(error: KiteError) -> BrokerError {
    match (&error, error.class()) {
        (KiteError::TokenExpired | KiteError::NoSession, _) => BrokerError::SessionExpired,
        // 429, a refused connection: Kite did nothing; the same order may go later.
        (_, ErrorClass::Retryable) => BrokerError::Unavailable(error.to_string()),
        _ => BrokerError::Rejected(error.to_string()),
    }
}

/// Classifies the error of a final-status wait: never a rejection of the order.
pub(super) fn status_error(error: KiteError) -> BrokerError {
    match error {
        KiteError::StillWorking { order_id, .. } => BrokerError::StillWorking(order_id),
        KiteError::TokenExpired | KiteError::NoSession => BrokerError::SessionExpired,
        other => BrokerError::Unavailable(other.to_string()),
    }
}

pub(super) fn price_of(found: Option<Price>, symbol: &Symbol) -> Result<Price, BrokerError> {
    found.ok_or_else(|| BrokerError::NoPrice(symbol.clone()))
}

//! Changing live orders: modification (`PUT /orders/{variety}/{id}`) and cancellation
//! (`DELETE /orders/{variety}/{id}`), with Kite's state paths and limits.

use jiff::Timestamp;
use kitebreak_price::Price;

use super::{Book, MAX_MODIFICATIONS, Refusal, resting_status};
use crate::params::Params;
use crate::status::{MODIFICATION, Status};

impl Book {
    /// Modifies a live order (`PUT /orders/{variety}/{id}`).
    pub fn modify(
        &mut self,
        variety: &str,
        order_id: &str,
        params: &Params,
        now: Timestamp,
        last: Option<Price>,
    ) -> Result<String, Refusal> {
        let index = self.live_index(variety, order_id, "modified")?;
        if self.orders[index].modifications >= MAX_MODIFICATIONS {
            return Err(Refusal::Input(
                "Maximum allowed order modifications exceeded.".into(),
            ));
        }
        let mut order = self.orders.remove(index);
        let mut amended = order.request.clone();
        let applied = amended.amend(params).and_then(|()| {
            // A partly filled order cannot shrink below what already filled.
            if amended.quantity <= order.filled {
                return Err("Quantity must exceed the filled quantity.".to_string());
            }
            Ok(())
        });
        if let Err(message) = applied {
            self.orders.insert(index, order);
            return Err(Refusal::Input(message));
        }
        order.request = amended;
        let amo = order.status == Status::AmoReqReceived;
        order.modified = true;
        order.modifications += 1;
        order.placed_at = now;
        for status in MODIFICATION {
            order.enter(status, now);
        }
        self.outbox.push(order.snapshot());
        order.enter(
            if amo {
                Status::AmoReqReceived
            } else {
                resting_status(&order)
            },
            now,
        );
        if !amo {
            self.match_order(&mut order, last, now);
        }
        self.orders.insert(index, order);
        Ok(order_id.to_string())
    }

    /// Cancels a live order (`DELETE /orders/{variety}/{id}`).
    pub fn cancel(
        &mut self,
        variety: &str,
        order_id: &str,
        now: Timestamp,
    ) -> Result<String, Refusal> {
        let index = self.live_index(variety, order_id, "cancelled")?;
        let order = &mut self.orders[index];
        order.enter(Status::CancelPending, now);
        order.cancelled = order.pending();
        order.enter(Status::Cancelled, now);
        self.outbox.push(order.snapshot());
        Ok(order_id.to_string())
    }

    fn live_index(&self, variety: &str, order_id: &str, action: &str) -> Result<usize, Refusal> {
        let index = self
            .orders
            .iter()
            .position(|o| o.order_id == order_id)
            .ok_or_else(|| Refusal::Input("Couldn't find that `order_id`.".into()))?;
        let order = &self.orders[index];
        if order.request.variety != variety {
            return Err(Refusal::Input(format!(
                "Order variety is `{}`, not `{variety}`.",
                order.request.variety
            )));
        }
        if !order.status.is_live() {
            return Err(Refusal::Order(format!(
                "Order cannot be {action} as it is already {}.",
                order.status.as_str().to_lowercase()
            )));
        }
        Ok(index)
    }
}

//! Changing working orders: modify (price, trigger, quantity, type) and cancel.
//!
//! Unlike placement these are idempotent in effect (the same modify twice leaves the
//! order as asked; a second cancel is refused), so they spend the "other" budget and
//! are not retried either: a caller that loses the answer re-reads the order.

use kiteconnect::{OrderParams, OrderType};

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::exact;
use crate::limits::Endpoint;
use crate::orders::{OrderKind, OrderRequest, Variety};

impl KiteBroker {
    /// Changes a working regular order to `order`'s kind and quantity. Prices are
    /// rounded to the tick in `order.side`'s favourable direction; MARKET and SL-M
    /// carry market protection again. The tag of a placed order cannot change.
    pub async fn modify_order(
        &self,
        order_id: &str,
        order: &OrderRequest,
    ) -> Result<String, KiteError> {
        self.modify_order_as(Variety::Regular, order_id, order)
            .await
    }

    /// [`KiteBroker::modify_order`] of an order of `variety` (`PUT
    /// /orders/:variety/:order_id`; the variety must be the order's own).
    pub async fn modify_order_as(
        &self,
        variety: Variety,
        order_id: &str,
        order: &OrderRequest,
    ) -> Result<String, KiteError> {
        let instrument = self.instrument(&order.instrument)?;
        let out = |p| exact::price_out(p, instrument.tick, order.side).map(|p| p.to_f64());
        let protection = self.config().market_protection.wire();
        let quantity = crate::broker::whole_lots(order, &instrument)?;
        let params = OrderParams::new().quantity(i64::from(quantity));
        let params = match order.kind {
            OrderKind::Market => params
                .order_type(OrderType::Market)
                .market_protection(protection),
            OrderKind::Limit { price } => params.order_type(OrderType::Limit).price(out(price)?),
            OrderKind::StopLoss { price, trigger } => params
                .order_type(OrderType::Sl)
                .price(out(price)?)
                .trigger_price(out(trigger)?),
            OrderKind::StopLossMarket { trigger } => params
                .order_type(OrderType::SlM)
                .trigger_price(out(trigger)?)
                .market_protection(protection),
        };
        self.inner.limits.acquire(Endpoint::Other).await;
        let client = self.client()?;
        let result = client
            .modify_order(variety.kite(), order_id, params)
            .await
            .map(|r| r.order_id)
            .map_err(KiteError::from_read);
        self.note(result)
    }

    /// Cancels a working regular order.
    pub async fn cancel_order(&self, order_id: &str) -> Result<String, KiteError> {
        self.cancel_order_as(Variety::Regular, order_id).await
    }

    /// Cancels a working order of `variety` (`DELETE /orders/:variety/:order_id`).
    /// Kite's staff note that an AMO already sent on to the exchange after the
    /// market opened is cancelled as `regular`; its book entry still says `amo`.
    pub async fn cancel_order_as(
        &self,
        variety: Variety,
        order_id: &str,
    ) -> Result<String, KiteError> {
        self.inner.limits.acquire(Endpoint::Other).await;
        let client = self.client()?;
        let result = client
            .cancel_order(variety.kite(), order_id, None)
            .await
            .map(|r| r.order_id)
            .map_err(KiteError::from_read);
        self.note(result)
    }
}

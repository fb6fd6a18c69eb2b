//! Reads of the order book and portfolio: orders, one order's history, fills (all or
//! one order's), the order of a tag (reconciliation after an unknown outcome),
//! waiting for a final status (optionally bounded), and net positions. All in exact
//! types.

use std::future::IntoFuture;
use std::time::Duration;

use kitebreak_price::Price;

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::exact;
use crate::limits::Endpoint;
use crate::orders::{OrderSnapshot, OrderState, Variety};

/// A net position in one instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// `EXCHANGE:SYMBOL`.
    pub instrument: String,
    /// Kite product (`MIS`, `CNC`, ...).
    pub product: String,
    /// Net units: positive long, negative short.
    pub quantity: i64,
    /// Units bought.
    pub buy_quantity: u32,
    /// Units sold.
    pub sell_quantity: u32,
    /// Average price of the net position, if any.
    pub average_price: Option<Price>,
    /// Last traded price, if Kite knows one.
    pub last_price: Option<Price>,
}

/// One fill (a Kite trade).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    /// Kite's trade id.
    pub trade_id: String,
    /// The order it filled.
    pub order_id: String,
    /// `EXCHANGE:SYMBOL`.
    pub instrument: String,
    /// Units filled.
    pub quantity: u32,
    /// Fill price, on the tick (six decimals if the instrument is unknown).
    pub price: Price,
    /// When it filled.
    pub time: jiff::Timestamp,
}

impl KiteBroker {
    /// Every state one order went through, oldest first.
    pub async fn order_history(&self, order_id: &str) -> Result<Vec<OrderSnapshot>, KiteError> {
        let id = order_id.to_string();
        let history = self
            .read(Endpoint::Other, |c| c.order_history(&id).into_future())
            .await?;
        history.iter().map(OrderSnapshot::from_kite).collect()
    }

    /// Today's fills (`GET /trades`).
    pub async fn trades(&self) -> Result<Vec<Fill>, KiteError> {
        let trades = self
            .read(Endpoint::Other, |c| c.trades().into_future())
            .await?;
        trades.iter().map(|t| self.fill(t)).collect()
    }

    /// The fills of one order (`GET /orders/:order_id/trades`), oldest first.
    pub async fn order_fills(&self, order_id: &str) -> Result<Vec<Fill>, KiteError> {
        let id = order_id.to_string();
        let trades = self
            .read(Endpoint::Other, |c| c.order_trades(&id).into_future())
            .await?;
        trades.iter().map(|t| self.fill(t)).collect()
    }

    fn fill(&self, t: &kiteconnect::Trade) -> Result<Fill, KiteError> {
        let instrument = format!("{}:{}", t.exchange, t.tradingsymbol);
        Ok(Fill {
            trade_id: t.trade_id.clone(),
            order_id: t.order_id.clone(),
            quantity: exact::count_in(t.quantity)?,
            price: self.price_in(&instrument, t.average_price)?,
            time: crate::time::ist_to_timestamp(t.fill_timestamp)?,
            instrument,
        })
    }

    /// Today's orders, oldest first.
    pub async fn orders(&self) -> Result<Vec<OrderSnapshot>, KiteError> {
        let orders = self
            .read(Endpoint::Other, |c| c.orders().into_future())
            .await?;
        orders.iter().map(OrderSnapshot::from_kite).collect()
    }

    /// The latest state of one order (the last entry of its history).
    pub async fn order(&self, order_id: &str) -> Result<OrderSnapshot, KiteError> {
        let id = order_id.to_string();
        let history = self
            .read(Endpoint::Other, |c| c.order_history(&id).into_future())
            .await?;
        let last = history
            .last()
            .ok_or_else(|| KiteError::Decode(format!("order {order_id} has no history")))?;
        OrderSnapshot::from_kite(last)
    }

    /// The order placed with `tag` today, if Kite has it. This is how a placement of
    /// unknown outcome is reconciled: found means placed (use its id), absent after
    /// the answer was lost means Kite never took it.
    pub async fn find_by_tag(&self, tag: &str) -> Result<Option<OrderSnapshot>, KiteError> {
        let orders = self
            .read(Endpoint::Other, |c| c.orders().into_future())
            .await?;
        orders
            .iter()
            .rev()
            .find(|o| OrderSnapshot::kite_has_tag(o, tag))
            .map(OrderSnapshot::from_kite)
            .transpose()
    }

    /// Settles a placement of unknown outcome: reads the order book up to `attempts`
    /// times, `KiteConfig::poll_every` apart. `Some` means Kite has the order (use its
    /// id, never place it again); `None` after every attempt means Kite never took
    /// it, and the caller may place it anew under a new tag.
    pub async fn reconcile(
        &self,
        tag: &str,
        attempts: u32,
    ) -> Result<Option<OrderSnapshot>, KiteError> {
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.config().poll_every).await;
            }
            if let Some(found) = self.find_by_tag(tag).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Polls the order until it is COMPLETE, REJECTED or CANCELLED, for at most
    /// `KiteConfig::final_status_timeout` when one is set (else without end).
    ///
    /// Polling (not the ticker's order updates) keeps this correct across ticker
    /// reconnects; the interval is `KiteConfig::poll_every`.
    pub async fn final_status(&self, order_id: &str) -> Result<OrderSnapshot, KiteError> {
        match self.config().final_status_timeout {
            Some(limit) => self.final_status_within(order_id, limit).await,
            None => self.poll_until_final(order_id, &mut None).await,
        }
    }

    /// [`KiteBroker::final_status`] bounded by `limit` (reads and retries
    /// included). An order still working then is [`KiteError::StillWorking`]: it
    /// exists at Kite and may still fill, so the caller must neither count it as
    /// rejected nor send it again; it re-reads it by id later, or cancels it
    /// ([`KiteBroker::settle`]).
    pub async fn final_status_within(
        &self,
        order_id: &str,
        limit: Duration,
    ) -> Result<OrderSnapshot, KiteError> {
        self.bounded(order_id, limit)
            .await
            .map_err(|(error, _)| error)
    }

    /// Waits up to `limit` for the order's final status; if it is still working
    /// then, cancels it (with its own variety) and waits up to `limit` again for
    /// the final state, which may be COMPLETE (it filled meanwhile) or CANCELLED
    /// with part of it filled (`filled_quantity`, `average_price`). For orders whose
    /// intent is "now or not at all", such as the engine's MARKET orders. Still
    /// working after the cancel: [`KiteError::StillWorking`].
    pub async fn settle(
        &self,
        order_id: &str,
        limit: Duration,
    ) -> Result<OrderSnapshot, KiteError> {
        let (working, last) = match self.bounded(order_id, limit).await {
            Ok(done) => return Ok(done),
            Err((error @ KiteError::StillWorking { .. }, last)) => (error, last),
            Err((error, _)) => return Err(error),
        };
        let variety = last
            .as_ref()
            .and_then(|o| Variety::parse(&o.variety))
            .unwrap_or_default();
        tracing::warn!(order_id, error = %working, "order not final in time; cancelling it");
        if let Err(refused) = self.cancel_order_as(variety, order_id).await {
            // Refused because it just completed (or was rejected) is fine: re-read.
            tracing::info!(order_id, error = %refused, "cancel refused; reading the order");
        }
        self.final_status_within(order_id, limit).await
    }

    /// Polls within `limit`; on timeout the error carries the latest snapshot.
    async fn bounded(
        &self,
        order_id: &str,
        limit: Duration,
    ) -> Result<OrderSnapshot, (KiteError, Option<OrderSnapshot>)> {
        let mut last = None;
        let outcome = tokio::time::timeout(limit, self.poll_until_final(order_id, &mut last)).await;
        match outcome {
            Ok(result) => result.map_err(|error| (error, None)),
            Err(_elapsed) => {
                let status = match last.as_ref().map(|o: &OrderSnapshot| &o.state) {
                    Some(OrderState::Pending(status)) => status.clone(),
                    _ => "not read yet".into(),
                };
                let error = KiteError::StillWorking {
                    order_id: order_id.to_string(),
                    status,
                };
                Err((error, last))
            }
        }
    }

    /// Polls until final, keeping the latest (working) snapshot in `last`.
    async fn poll_until_final(
        &self,
        order_id: &str,
        last: &mut Option<OrderSnapshot>,
    ) -> Result<OrderSnapshot, KiteError> {
        loop {
            let snapshot = self.order(order_id).await?;
            if snapshot.state.is_final() {
                return Ok(snapshot);
            }
            *last = Some(snapshot);
            tokio::time::sleep(self.config().poll_every).await;
        }
    }

    /// Today's net positions.
    pub async fn positions(&self) -> Result<Vec<Position>, KiteError> {
        let positions = self
            .read(Endpoint::Other, |c| c.positions().into_future())
            .await?;
        positions.net.iter().map(|p| self.position(p)).collect()
    }

    fn position(&self, p: &kiteconnect::Position) -> Result<Position, KiteError> {
        let instrument = format!("{}:{}", p.exchange, p.tradingsymbol);
        let tick = self.instrument(&instrument).ok().map(|i| i.tick);
        let price = |value: f64| -> Result<Option<Price>, KiteError> {
            if value <= 0.0 {
                return Ok(None);
            }
            match tick {
                Some(tick) => exact::price_in(value, tick).map(Some),
                None => exact::price_in_exact(value).map(Some),
            }
        };
        let quantity = p.quantity;
        let count = |n: i64| {
            u32::try_from(n).map_err(|_| KiteError::Decode(format!("quantity {n} of {instrument}")))
        };
        Ok(Position {
            product: p.product.clone(),
            quantity,
            buy_quantity: count(p.buy_quantity)?,
            sell_quantity: count(p.sell_quantity)?,
            average_price: if quantity == 0 {
                None
            } else {
                exact::price_in_exact(p.average_price).ok()
            },
            last_price: price(p.last_price)?,
            instrument,
        })
    }
}

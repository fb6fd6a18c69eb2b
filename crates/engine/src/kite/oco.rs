//! The Kite adapter's two-leg GTT (OCO): the exchange-side protection of CNC and
//! NRML trades, over `KiteBroker`'s GTT calls.
//!
//! - Only for the products held overnight: an MIS trade is guarded by an SL-M stop
//!   (a GTT would outlive the day's square-off and could open a position the next
//!   day), so `place_oco` with MIS is [`BrokerError::Unsupported`].
//! - Each leg is a LIMIT order (Kite's GTT orders are): 1% beyond its trigger
//!   towards the move, on the tick (`kitebreak_kite::gtt::protective_limit`;
//!   docs/decisions/gtt-limit-prices.md).
//! - GTTs carry no tag. A placement whose answer was lost is looked for among the
//!   listed GTTs by its terms (symbol, side, units, stop trigger on the tick, not
//!   ended; the newest wins); not found is [`BrokerError::OutcomeUnknown`], and the
//!   engine looks again later (`find_oco`). Nothing is placed twice blindly.
//! - Deleting answers where the GTT ended by reading it back: a leg that fired
//!   first shows as `Triggered` with the order it placed.

use kitebreak_kite::exact;
use kitebreak_kite::gtt::{protective_limit, rounded};
use kitebreak_kite::{GttSnapshot, GttState, KiteError, OcoLeg, OcoRequest, Product};

use super::{KiteAdapter, broker_error, found, placement_error};
use crate::broker::{BrokerError, FoundOrder, OcoId, OcoOrder, OcoReport, OcoState, Side};

impl KiteAdapter {
    /// `order` as Kite's two-leg GTT (CNC/NRML only), limits chosen, not yet rounded.
    fn oco_request(&self, order: &OcoOrder) -> Result<OcoRequest, BrokerError> {
        if self.product == Product::Mis {
            return Err(BrokerError::Unsupported(
                "a GTT for MIS trades (an SL-M stop guards them)",
            ));
        }
        let key = self.key(&order.symbol);
        let instrument = self.kite.instrument(&key).map_err(broker_error)?;
        let side = kite_side(order.side);
        // The limit's buffer is measured from the trigger as it is sent (on the tick).
        let leg = |trigger| {
            let trigger = exact::price_out(trigger, instrument.tick, side).map_err(broker_error)?;
            let limit = protective_limit(trigger, side, instrument.tick).ok_or_else(|| {
                BrokerError::Rejected(format!("no LIMIT price below trigger {trigger}"))
            })?;
            Ok::<_, BrokerError>(OcoLeg { trigger, limit })
        };
        let [lower, upper] = order.triggers();
        Ok(OcoRequest {
            instrument: key,
            side,
            product: self.product,
            quantity: order.quantity,
            last_price: order.last_price,
            lower: leg(lower)?,
            upper: leg(upper)?,
        })
    }

    pub(super) async fn place_oco_order(&self, order: OcoOrder) -> Result<OcoId, BrokerError> {
        let request = self.oco_request(&order)?;
        match self.kite.place_gtt(&request).await {
            Ok(id) => Ok(id.to_string()),
            Err(KiteError::OutcomeUnknown { tag, .. }) => {
                tracing::warn!(symbol = %order.symbol, "GTT placement answer lost; listing GTTs");
                match self.find_oco_of(&order).await {
                    Ok(Some(report)) => Ok(report.id),
                    Ok(None) | Err(_) => Err(BrokerError::OutcomeUnknown(tag)),
                }
            }
            Err(other) => Err(placement_error(other)),
        }
    }

    pub(super) async fn modify_oco_order(
        &self,
        id: &str,
        order: OcoOrder,
    ) -> Result<OcoId, BrokerError> {
        let request = self.oco_request(&order)?;
        let trigger = trigger_id(id)?;
        let done = self.kite.modify_gtt(trigger, &request).await;
        done.map(|id| id.to_string()).map_err(broker_error)
    }

    /// Deletes GTT `id` and reads where it ended. Still active is an error.
    pub(super) async fn cancel_oco_order(&self, id: &str) -> Result<OcoReport, BrokerError> {
        let trigger = trigger_id(id)?;
        let deleted = self.kite.delete_gtt(trigger).await;
        if let Err(error) = &deleted {
            tracing::warn!(trigger, %error, "GTT delete refused; reading the GTT");
        }
        let now = self.kite.gtt(trigger).await.map_err(broker_error)?;
        let report = self.oco_report(&now)?;
        match (&report.state, deleted) {
            (OcoState::Active, Err(error)) => Err(broker_error(error)),
            (OcoState::Active, Ok(_)) => Err(BrokerError::Unavailable(format!(
                "GTT {trigger} still active after its delete"
            ))),
            _ => Ok(report),
        }
    }

    pub(super) async fn oco_status_of(&self, id: &str) -> Result<OcoReport, BrokerError> {
        let now = self.kite.gtt(trigger_id(id)?).await.map_err(broker_error)?;
        self.oco_report(&now)
    }

    /// Every listed GTT of an instrument the engine can name.
    pub(super) async fn oco_list(&self) -> Result<Vec<OcoReport>, BrokerError> {
        if self.product == Product::Mis {
            return Err(BrokerError::Unsupported("GTTs for MIS trades"));
        }
        let all = self.kite.gtts().await.map_err(broker_error)?;
        Ok(all.iter().filter_map(|g| self.oco_report(g).ok()).collect())
    }

    /// The newest GTT not ended with `order`'s terms (its stop on the tick).
    pub(super) async fn find_oco_of(
        &self,
        order: &OcoOrder,
    ) -> Result<Option<OcoReport>, BrokerError> {
        let request = self.oco_request(order)?;
        let instrument = self
            .kite
            .instrument(&request.instrument)
            .map_err(broker_error)?;
        let sent = rounded(&request, &instrument).map_err(broker_error)?;
        let stop = match order.side {
            Side::Sell => sent.lower.trigger,
            Side::Buy => sent.upper.trigger,
        };
        let all = self.kite.gtts().await.map_err(broker_error)?;
        let newest = all
            .iter()
            .filter(|g| g.instrument == request.instrument && g.kind == "two-leg")
            .filter(|g| !matches!(g.state, GttState::Ended(_)))
            .filter(|g| g.triggers.contains(&stop))
            .filter(|g| {
                g.legs
                    .iter()
                    .all(|l| l.side == sent.side && l.quantity == sent.quantity.get())
            })
            .max_by_key(|g| g.id);
        newest.map(|g| self.oco_report(g)).transpose()
    }

    pub(super) async fn order_found(&self, id: &str) -> Result<FoundOrder, BrokerError> {
        let snapshot = self.kite.order(id).await.map_err(broker_error)?;
        Ok(found(&snapshot))
    }

    fn oco_report(&self, gtt: &GttSnapshot) -> Result<OcoReport, BrokerError> {
        let symbol = self.symbol_of(&gtt.instrument).ok_or_else(|| {
            BrokerError::Unavailable(format!("GTT on unknown {}", gtt.instrument))
        })?;
        let state = match &gtt.state {
            GttState::Active => OcoState::Active,
            GttState::Triggered => {
                let fired = gtt.legs.iter().position(|l| l.result.is_some());
                let result = gtt.fired();
                // Lower leg of a sell (a long's guard) is its stop; a buy's is upper.
                let closes_long = gtt
                    .legs
                    .first()
                    .is_some_and(|l| l.side == kite_side(Side::Sell));
                OcoState::Triggered {
                    order_id: result.and_then(|r| r.order_id.clone()),
                    reason: result.and_then(|r| r.rejection_reason.clone()),
                    stop_leg: fired.is_some_and(|i| (i == 0) == closes_long),
                }
            }
            GttState::Ended(status) => OcoState::Ended(status.clone()),
        };
        Ok(OcoReport {
            id: gtt.id.to_string(),
            symbol,
            state,
        })
    }
}

fn kite_side(side: Side) -> kitebreak_kite::Side {
    match side {
        Side::Buy => kitebreak_kite::Side::Buy,
        Side::Sell => kitebreak_kite::Side::Sell,
    }
}

fn trigger_id(id: &str) -> Result<i64, BrokerError> {
    id.parse()
        .map_err(|_| BrokerError::UnknownOrder(id.to_string()))
}

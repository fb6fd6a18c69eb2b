//! GTT (Good Till Triggered) triggers: the two-leg OCO that guards a delivery (CNC)
//! or carry (NRML) position at Kite while kitebreak is down, through the official
//! crate's `place_gtt` / `modify_gtt` / `delete_gtt` / `gtt` / `gtts`.
//!
//! - Exact at the boundary: triggers and limit prices are [`Price`]s, rounded onto
//!   the instrument's tick when sent (see [`OcoRequest`] for the directions); what
//!   Kite answers is read back through `exact` ([`GttSnapshot`]).
//! - Budgets: every GTT call spends the "other" class (Kite's 10 requests a second
//!   for everything that is not a quote, historical data or an order placement).
//! - Placement goes out exactly once, like an order's: a lost answer is
//!   [`KiteError::OutcomeUnknown`] (labelled `GTT EXCHANGE:SYMBOL`, GTTs carry no
//!   tag); the caller finds the GTT again by listing ([`KiteBroker::gtts`]) and
//!   matching its terms. Modify and delete are not retried either: a lost answer is
//!   settled by reading the GTT. Reads are retried like every read.
//! - Kite's GTT orders are LIMIT orders; which limit makes a protective leg fill in
//!   a moving market is [`protective_limit`] (docs/decisions/gtt-limit-prices.md).

use std::future::IntoFuture;

use kitebreak_price::{Price, Quantity, Rounding};
use kiteconnect::{GttParams, GttTrigger, GttTriggerParams};

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::exact;
use crate::instruments::Instrument;
use crate::limits::Endpoint;
use crate::orders::{Product, Side};

/// How far beyond its trigger a protective leg's LIMIT price sits, in basis points
/// of the trigger (1%), and at least one tick.
pub const PROTECTIVE_BUFFER_BPS: i64 = 100;

/// One leg of an OCO: the price that fires it and the LIMIT price of its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcoLeg {
    /// Fires the leg when the last price reaches it.
    pub trigger: Price,
    /// The LIMIT price of the order placed when it fires.
    pub limit: Price,
}

/// A two-leg GTT (OCO) closing a position: both legs on the same (closing) side,
/// for the same units. Rounding when sent: triggers like an order's prices in the
/// side's favourable direction (a sell's up: its stop leg fires no later than asked,
/// its target leg sells no lower); limits towards the market (a sell's down), so the
/// buffer [`protective_limit`] chose is never narrowed by the rounding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcoRequest {
    /// `EXCHANGE:SYMBOL`, e.g. `NSE:INFY`.
    pub instrument: String,
    /// The side of both legs' orders.
    pub side: Side,
    /// The legs' product (`CNC`, `NRML`).
    pub product: Product,
    /// Units of each leg (a multiple of the lot size).
    pub quantity: Quantity,
    /// The last price when placing (Kite keeps it in the condition).
    pub last_price: Price,
    /// The lower trigger: the stop of a long, the target of a short.
    pub lower: OcoLeg,
    /// The upper trigger: the target of a long, the stop of a short.
    pub upper: OcoLeg,
}

/// A GTT's status (Kite's `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GttState {
    /// Waiting for a trigger.
    Active,
    /// A leg fired: its order was placed (or failed, see [`GttLegResult`]).
    Triggered,
    /// Ended without firing: `disabled`, `expired`, `cancelled`, `rejected`,
    /// `deleted`, or a status this adapter does not know (Kite's text).
    Ended(String),
}

impl GttState {
    /// From Kite's status text.
    pub fn parse(text: &str) -> GttState {
        match text {
            "active" => GttState::Active,
            "triggered" => GttState::Triggered,
            other => GttState::Ended(other.to_string()),
        }
    }
}

/// What became of a leg that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GttLegResult {
    /// The order Kite placed, if it was placed.
    pub order_id: Option<String>,
    /// Kite's `order_result.status` (`success`, `failed`, ...).
    pub status: String,
    /// Why the order was not placed, if it was not.
    pub rejection_reason: Option<String>,
}

/// One leg of a GTT as Kite shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GttLegSnapshot {
    /// Buy or sell.
    pub side: Side,
    /// Units.
    pub quantity: u32,
    /// LIMIT price (six decimals).
    pub price: Price,
    /// Set once the leg fired.
    pub result: Option<GttLegResult>,
}

/// One GTT as Kite shows it, in exact types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GttSnapshot {
    /// Kite's trigger id.
    pub id: i64,
    /// `single`, `two-leg`, ...
    pub kind: String,
    /// Its status.
    pub state: GttState,
    /// `EXCHANGE:SYMBOL`.
    pub instrument: String,
    /// Trigger values, lower first for a two-leg GTT (six decimals).
    pub triggers: Vec<Price>,
    /// One order per trigger value, matched by index.
    pub legs: Vec<GttLegSnapshot>,
}

impl GttSnapshot {
    /// Converts Kite's GTT.
    pub fn from_kite(gtt: &kiteconnect::Gtt) -> Result<GttSnapshot, KiteError> {
        let triggers = gtt
            .condition
            .trigger_values
            .iter()
            .map(|v| exact::price_in_exact(*v))
            .collect::<Result<Vec<_>, _>>()?;
        let legs = gtt
            .orders
            .iter()
            .map(leg_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GttSnapshot {
            id: gtt.id,
            kind: gtt.trigger_type.clone(),
            state: GttState::parse(&gtt.status),
            instrument: format!("{}:{}", gtt.condition.exchange, gtt.condition.tradingsymbol),
            triggers,
            legs,
        })
    }

    /// The leg that fired, with what became of it.
    pub fn fired(&self) -> Option<&GttLegResult> {
        self.legs.iter().find_map(|leg| leg.result.as_ref())
    }
}

fn leg_of(order: &kiteconnect::GttOrder) -> Result<GttLegSnapshot, KiteError> {
    let side = match order.transaction_type.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(KiteError::Decode(format!("transaction_type {other}"))),
    };
    let result = order.result.as_ref().map(|r| {
        let placed = r.order_result.as_ref();
        GttLegResult {
            order_id: placed
                .and_then(|p| p.order_id.clone())
                .filter(|id| !id.is_empty()),
            status: placed.map_or_else(String::new, |p| p.status.clone()),
            rejection_reason: placed
                .and_then(|p| p.rejection_reason.clone())
                .filter(|reason| !reason.is_empty()),
        }
    });
    Ok(GttLegSnapshot {
        side,
        quantity: exact::count_in(order.quantity)?,
        price: exact::price_in_exact(order.price)?,
        result,
    })
}

/// The LIMIT price of a protective leg firing at `trigger`: [`PROTECTIVE_BUFFER_BPS`]
/// beyond it towards the market's move (a sell below, a buy above), at least one
/// tick, on the tick. `None` if a sell's limit would not stay above zero.
pub fn protective_limit(trigger: Price, side: Side, tick: Price) -> Option<Price> {
    let buffer = Rounding::Up.divide(
        i128::from(trigger.micros()) * i128::from(PROTECTIVE_BUFFER_BPS),
        10_000,
    );
    let buffer = buffer.max(i128::from(tick.micros()));
    let micros = match side {
        Side::Sell => i128::from(trigger.micros()) - buffer,
        Side::Buy => i128::from(trigger.micros()) + buffer,
    };
    let price = Price::from_micros(i64::try_from(micros).ok()?).ok()?;
    exact::round_to_tick(price, tick, marketable(side))
}

/// The rounding that moves a limit towards the market: a sell's down, a buy's up.
fn marketable(side: Side) -> Rounding {
    match side {
        Side::Sell => Rounding::Down,
        Side::Buy => Rounding::Up,
    }
}

impl KiteBroker {
    /// Places a two-leg GTT exactly once and returns Kite's trigger id. A lost
    /// answer is [`KiteError::OutcomeUnknown`]: list the GTTs, never resend.
    pub async fn place_gtt(&self, order: &OcoRequest) -> Result<i64, KiteError> {
        let params = self.gtt_params(order)?;
        self.inner.limits.acquire(Endpoint::Other).await;
        let client = self.client()?;
        tracing::info!(instrument = %order.instrument, "placing GTT");
        let label = format!("GTT {}", order.instrument);
        let result = client
            .place_gtt(params)
            .await
            .map(|r| r.trigger_id)
            .map_err(|error| KiteError::from_placement(error, &label));
        self.note(result)
    }

    /// Replaces the terms of active GTT `id` (quantity, triggers, limits). Not
    /// retried: after a lost answer read the GTT.
    pub async fn modify_gtt(&self, id: i64, order: &OcoRequest) -> Result<i64, KiteError> {
        let params = self.gtt_params(order)?;
        self.inner.limits.acquire(Endpoint::Other).await;
        let client = self.client()?;
        let result = client
            .modify_gtt(id, params)
            .await
            .map(|r| r.trigger_id)
            .map_err(KiteError::from_read);
        self.note(result)
    }

    /// Deletes active GTT `id`. Kite refuses a GTT that is no longer active (it
    /// fired or ended): read it to learn which.
    pub async fn delete_gtt(&self, id: i64) -> Result<i64, KiteError> {
        self.inner.limits.acquire(Endpoint::Other).await;
        let client = self.client()?;
        let result = client
            .delete_gtt(id)
            .await
            .map(|r| r.trigger_id)
            .map_err(KiteError::from_read);
        self.note(result)
    }

    /// GTT `id` (any status).
    pub async fn gtt(&self, id: i64) -> Result<GttSnapshot, KiteError> {
        let gtt = self
            .read(Endpoint::Other, |c| c.gtt(id).into_future())
            .await?;
        GttSnapshot::from_kite(&gtt)
    }

    /// The account's GTTs as Kite lists them (kite-sim leaves deleted ones out;
    /// whether Kite does is not documented, so callers read a missing one by id).
    pub async fn gtts(&self) -> Result<Vec<GttSnapshot>, KiteError> {
        let all = self
            .read(Endpoint::Other, |c| c.gtts().into_future())
            .await?;
        all.iter().map(GttSnapshot::from_kite).collect()
    }

    /// The form of a two-leg GTT, in the official crate's terms.
    fn gtt_params(&self, order: &OcoRequest) -> Result<GttParams, KiteError> {
        let instrument = self.instrument(&order.instrument)?;
        let rounded = rounded(order, &instrument)?;
        if rounded.lower.trigger >= rounded.upper.trigger {
            return Err(KiteError::InvalidInput(format!(
                "GTT triggers must be lower < upper, got {} and {}",
                rounded.lower.trigger, rounded.upper.trigger
            )));
        }
        let quantity = i64::from(crate::broker::whole_lots_of(order.quantity, &instrument)?);
        let leg =
            |leg: OcoLeg| GttTriggerParams::new(leg.trigger.to_f64(), leg.limit.to_f64(), quantity);
        Ok(GttParams::new(
            instrument.tradingsymbol.clone(),
            crate::broker::exchange(&instrument.exchange)?,
            order.last_price.to_f64(),
            order.side.kite(),
            GttTrigger::TwoLeg {
                lower: leg(rounded.lower),
                upper: leg(rounded.upper),
            },
        )
        .product(order.product.kite()))
    }
}

/// `order` with its prices on the instrument's tick (directions in [`OcoRequest`]).
pub fn rounded(order: &OcoRequest, instrument: &Instrument) -> Result<OcoRequest, KiteError> {
    let tick = instrument.tick;
    let zero = |p: Price| KiteError::InvalidInput(format!("price {p} rounds to zero on {tick}"));
    let leg = |leg: OcoLeg| -> Result<OcoLeg, KiteError> {
        Ok(OcoLeg {
            trigger: exact::price_out(leg.trigger, tick, order.side)?,
            limit: exact::round_to_tick(leg.limit, tick, marketable(order.side))
                .ok_or_else(|| zero(leg.limit))?,
        })
    };
    Ok(OcoRequest {
        lower: leg(order.lower)?,
        upper: leg(order.upper)?,
        ..order.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    #[test]
    fn a_protective_limit_sits_one_percent_beyond_the_trigger_on_the_tick() {
        let tick = p("0.05");
        // 105 - 1.05 = 103.95, already on the tick.
        assert_eq!(
            protective_limit(p("105"), Side::Sell, tick),
            Some(p("103.95"))
        );
        // 110.25 + 1.1025 = 111.3525, up to 111.4 for a buy.
        assert_eq!(
            protective_limit(p("110.25"), Side::Buy, tick),
            Some(p("111.4"))
        );
        // 2 - 0.02 = 1.98, down to 1.95: at least the buffer.
        assert_eq!(protective_limit(p("2"), Side::Sell, tick), Some(p("1.95")));
        // The buffer is at least one tick.
        assert_eq!(
            protective_limit(p("1"), Side::Sell, p("0.05")),
            Some(p("0.95"))
        );
        assert_eq!(protective_limit(p("0.05"), Side::Sell, p("0.05")), None);
    }
}

//! [`Gtt`]: Good Till Triggered orders, single and two-leg (OCO), that fire once.
//!
//! `condition` and `orders` arrive as JSON strings inside the form, as Kite takes them;
//! unknown keys inside them are ignored (Go clients send whole order structs).

use jiff::Timestamp;
use kitebreak_price::Price;
use serde::Deserialize;

use crate::matching::Side;
use crate::params::Params;

#[derive(Debug, Deserialize)]
struct ConditionForm {
    exchange: String,
    tradingsymbol: String,
    trigger_values: Vec<Price>,
    last_price: Price,
}

#[derive(Debug, Deserialize)]
struct LegForm {
    transaction_type: String,
    quantity: u32,
    price: Price,
    #[serde(default = "limit")]
    order_type: String,
    product: String,
}

fn limit() -> String {
    "LIMIT".into()
}

/// One order of a GTT and, once fired, what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    /// Buy or sell.
    pub side: Side,
    /// Units.
    pub quantity: u32,
    /// Limit price.
    pub price: Price,
    /// Order type (LIMIT).
    pub order_type: String,
    /// Product.
    pub product: String,
    /// After firing: the price that fired it, when, and the order placed.
    pub fired: Option<(Price, Timestamp, String)>,
}

/// A GTT trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Gtt {
    /// Trigger id.
    pub id: i64,
    /// `single` or `two-leg`.
    pub kind: String,
    /// `active`, `triggered`, `deleted`.
    pub status: String,
    /// Exchange.
    pub exchange: String,
    /// Trading symbol.
    pub tradingsymbol: String,
    /// Instrument token.
    pub token: u32,
    /// Trigger values (lower first for two-leg).
    pub triggers: Vec<Price>,
    /// Last price the client saw when placing.
    pub last_price: Price,
    /// One order per trigger value.
    pub legs: Vec<Leg>,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

impl Gtt {
    /// Parses a place/modify form into a new active GTT (token filled in by the caller).
    pub fn parse(id: i64, params: &Params, now: Timestamp) -> Result<Gtt, String> {
        let kind = params.get("type").ok_or("Missing `type`.")?;
        let condition: ConditionForm =
            serde_json::from_str(params.get("condition").ok_or("Missing `condition`.")?)
                .map_err(|e| format!("Invalid `condition`: {e}"))?;
        let legs: Vec<LegForm> =
            serde_json::from_str(params.get("orders").ok_or("Missing `orders`.")?)
                .map_err(|e| format!("Invalid `orders`: {e}"))?;
        let expected = match kind {
            "single" => 1,
            "two-leg" => 2,
            _ => return Err("Invalid `type`: single or two-leg.".into()),
        };
        if condition.trigger_values.len() != expected || legs.len() != expected {
            return Err(format!(
                "A {kind} GTT needs {expected} trigger value(s) and order(s)."
            ));
        }
        if expected == 2 && condition.trigger_values[0] >= condition.trigger_values[1] {
            return Err("Two-leg trigger values must be [lower, upper].".into());
        }
        let legs = legs
            .into_iter()
            .map(|leg| {
                Ok(Leg {
                    side: Side::parse(&leg.transaction_type)
                        .ok_or("Invalid `transaction_type`.")?,
                    quantity: leg.quantity,
                    price: leg.price,
                    order_type: leg.order_type,
                    product: leg.product,
                    fired: None,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Gtt {
            id,
            kind: kind.to_string(),
            status: "active".into(),
            exchange: condition.exchange,
            tradingsymbol: condition.tradingsymbol,
            token: 0,
            triggers: condition.trigger_values,
            last_price: condition.last_price,
            legs,
            created_at: now,
            updated_at: now,
        })
    }

    /// Which leg fires at `last`, if the GTT is active and a trigger was reached.
    pub fn due(&self, last: Price) -> Option<usize> {
        if self.status != "active" {
            return None;
        }
        match self.triggers.as_slice() {
            [only] if *only >= self.last_price => (last >= *only).then_some(0),
            [only] => (last <= *only).then_some(0),
            [lower, _] if last <= *lower => Some(0),
            [_, upper] => (last >= *upper).then_some(1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    #[test]
    fn a_two_leg_gtt_fires_the_side_that_is_reached() {
        let form = Params(vec![
            ("type".into(), "two-leg".into()),
            ("condition".into(), r#"{"exchange":"NSE","tradingsymbol":"INFY","trigger_values":[1400,1600],"last_price":1500,"extra":1}"#.into()),
            ("orders".into(), r#"[{"transaction_type":"SELL","quantity":1,"price":1399,"order_type":"LIMIT","product":"CNC"},{"transaction_type":"SELL","quantity":1,"price":1601,"order_type":"LIMIT","product":"CNC","x":0}]"#.into()),
        ]);
        let t = Timestamp::UNIX_EPOCH;
        let gtt = Gtt::parse(1, &form, t).expect("parses");
        assert_eq!(gtt.due(p("1500")), None);
        assert_eq!(gtt.due(p("1399.95")), Some(0));
        assert_eq!(gtt.due(p("1600")), Some(1));
    }
}

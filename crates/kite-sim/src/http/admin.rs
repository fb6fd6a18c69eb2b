//! Admin API under `/_sim/`: look inside the sim and steer it. Not part of Kite.
//!
//! JSON in, JSON out, no auth (the sim listens on loopback). Prices are taken as exact
//! decimals (numbers or strings) through `Price`'s serde.

use std::sync::Arc;

use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use kitebreak_price::Price;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::Faults;
use crate::http::reply::{ApiError, ApiResult, JsonBody, ok};
use crate::json;
use crate::shared::{Shared, lock};

/// `GET /_sim/requests`: every Kite API request received.
pub async fn requests(State(shared): State<Arc<Shared>>) -> ApiResult {
    let log = lock(&shared.log).clone();
    Ok(ok(serde_json::to_value(log).unwrap_or_default()))
}

/// `GET /_sim/orders`: every order with its full history.
pub async fn orders(State(shared): State<Arc<Shared>>) -> ApiResult {
    let user = &shared.config.user_id;
    let list: Vec<Value> = shared.with_world(|w, _| {
        w.book
            .orders()
            .iter()
            .map(|o| {
                let history: Vec<Value> = o.history.iter().map(|s| json::order(s, user)).collect();
                json!({"order": json::order(o, user), "history": history})
            })
            .collect()
    });
    Ok(ok(Value::Array(list)))
}

/// `GET /_sim/positions`, with margin figures.
pub async fn positions(State(shared): State<Arc<Shared>>) -> ApiResult {
    let data = shared.with_world(|w, _| {
        let rows: Vec<Value> = w
            .book
            .positions()
            .iter()
            .filter_map(|p| w.market.quote(p.token).map(|q| json::position(p, q.last, q.close)))
            .collect();
        json!({"positions": rows, "available": json::money(w.book.available()), "utilised": json::money(w.book.utilised())})
    });
    Ok(ok(data))
}

/// Body of `POST /_sim/price`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPrice {
    /// `EXCHANGE:SYMBOL` or a bare NSE symbol.
    pub symbol: String,
    /// The new last price.
    pub price: Price,
}

/// `POST /_sim/price {"symbol":"NSE:INFY","price":1500.5}`: trades the instrument there now.
pub async fn set_price(
    State(shared): State<Arc<Shared>>,
    JsonBody(body): JsonBody<SetPrice>,
) -> ApiResult {
    let key = if body.symbol.contains(':') {
        body.symbol.clone()
    } else {
        format!("NSE:{}", body.symbol)
    };
    shared
        .with_world(|w, now| {
            let token = w.catalogue.get(&key)?.token;
            w.set_price(token, body.price, now);
            Some(token)
        })
        .map(|token| ok(json!({"instrument_token": token, "last_price": body.price.to_f64()})))
        .ok_or_else(|| ApiError::input(format!("Unknown instrument {key}.")))
}

/// `POST /_sim/reset`: back to the start-up state.
pub async fn reset(State(shared): State<Arc<Shared>>) -> ApiResult {
    shared.reset();
    Ok(ok(json!(true)))
}

/// `GET /_sim/faults`.
pub async fn faults(State(shared): State<Arc<Shared>>) -> ApiResult {
    let faults = shared.with_world(|w, _| w.faults.clone());
    Ok(ok(serde_json::to_value(faults).unwrap_or_default()))
}

/// `POST /_sim/faults`: replaces the fault settings (fields left out mean "no fault").
pub async fn set_faults(
    State(shared): State<Arc<Shared>>,
    JsonBody(faults): JsonBody<Faults>,
) -> ApiResult {
    faults.check().map_err(ApiError::input)?;
    shared.with_world(|w, _| {
        w.sessions.all_expire_at = faults.tokens_expire_at;
        w.faults = faults;
    });
    Ok(ok(json!(true)))
}

/// `POST /_sim/ws/drop`: closes every ticker connection abruptly.
pub async fn drop_sockets(State(shared): State<Arc<Shared>>) -> ApiResult {
    shared.drop_sockets();
    Ok(ok(json!(true)))
}

/// Body of `POST /_sim/clock`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Seconds to move forward.
    pub advance_seconds: Option<i64>,
    /// A time to jump to (RFC 3339).
    pub set: Option<Timestamp>,
}

/// `POST /_sim/clock`: moves simulated time, then applies what became due.
pub async fn clock(
    State(shared): State<Arc<Shared>>,
    JsonBody(change): JsonBody<ClockChange>,
) -> ApiResult {
    if let Some(seconds) = change.advance_seconds {
        shared.clock.advance(SignedDuration::from_secs(seconds));
    }
    if let Some(at) = change.set {
        shared.clock.set(at);
    }
    shared.step();
    Ok(ok(json!({"now": shared.clock.now().to_string()})))
}

//! Session, user and portfolio endpoints: `/session/token`, `/user/*`, `/portfolio/*`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use serde_json::{Value, json};

use crate::clock::kite_time;
use crate::http::reply::{ApiError, ApiResult, Segments, ok};
use crate::json::{self, money};
use crate::params::Params;
use crate::shared::Shared;

const EXCHANGES: [&str; 8] = ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"];
const PRODUCTS: [&str; 5] = ["CNC", "NRML", "MIS", "BO", "CO"];
const ORDER_TYPES: [&str; 4] = ["MARKET", "LIMIT", "SL", "SL-M"];

fn profile(user_id: &str) -> Value {
    json!({
        "user_id": user_id,
        "user_type": "individual",
        "email": "sim@example.invalid",
        "user_name": "Kite Sim",
        "user_shortname": "Sim",
        "broker": "ZERODHA",
        "exchanges": EXCHANGES,
        "products": PRODUCTS,
        "order_types": ORDER_TYPES,
        "avatar_url": null,
        "meta": {"demat_consent": "physical"},
    })
}

/// `POST /session/token`: request token + checksum → access token.
pub async fn login(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let api_key = params.get("api_key").unwrap_or_default().to_string();
    let request_token = params.get("request_token").unwrap_or_default().to_string();
    let checksum = params.get("checksum").unwrap_or_default().to_string();
    let (token, now) = shared
        .with_world(|world, now| {
            world
                .sessions
                .login(&api_key, &request_token, &checksum, now)
                .map(|t| (t, now))
        })
        .map_err(|_| ApiError {
            message: "Token is invalid or has expired.".into(),
            ..ApiError::token()
        })?;
    let mut data = profile(&shared.config.user_id);
    if let Some(map) = data.as_object_mut() {
        for (key, value) in [
            ("api_key", json!(api_key)),
            ("access_token", json!(token)),
            (
                "public_token",
                json!(format!("pub{}", &token[..8.min(token.len())])),
            ),
            ("enctoken", json!("")),
            ("refresh_token", json!("")),
            ("silo", json!("")),
            ("login_time", json!(kite_time(now))),
        ] {
            map.insert(key.into(), value);
        }
    }
    Ok(ok(data))
}

/// `DELETE /session/token?api_key=..&access_token=..`: logout.
pub async fn logout(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    if let Some(token) = params.get("access_token") {
        let token = token.to_string();
        shared.with_world(|world, _| world.sessions.invalidate(&token));
    }
    Ok(ok(json!(true)))
}

/// `GET /user/profile`.
pub async fn user_profile(State(shared): State<Arc<Shared>>) -> ApiResult {
    Ok(ok(profile(&shared.config.user_id)))
}

fn segment(enabled: bool, cash: i128, utilised: i128, realised: i128) -> Value {
    let net = cash + realised - utilised;
    json!({
        "enabled": enabled,
        "net": money(net),
        "available": {
            "adhoc_margin": 0, "cash": money(cash), "opening_balance": money(cash),
            "live_balance": money(net), "collateral": 0, "intraday_payin": 0,
        },
        "utilised": {
            "debits": money(utilised), "exposure": 0, "m2m_realised": money(realised),
            "m2m_unrealised": 0, "option_premium": 0, "payout": 0, "span": money(utilised),
            "holding_sales": 0, "turnover": 0, "liquid_collateral": 0, "stock_collateral": 0, "delivery": 0,
        },
    })
}

fn all_margins(shared: &Shared) -> Value {
    let (cash, utilised, realised) =
        shared.with_world(|w, _| (w.book.balance(), w.book.utilised(), w.book.realised()));
    json!({"equity": segment(true, cash, utilised, realised), "commodity": segment(true, 0, 0, 0)})
}

/// `GET /user/margins`.
pub async fn margins(State(shared): State<Arc<Shared>>) -> ApiResult {
    Ok(ok(all_margins(&shared)))
}

/// `GET /user/margins/{segment}`.
pub async fn segment_margins(
    State(shared): State<Arc<Shared>>,
    Segments(name): Segments<String>,
) -> ApiResult {
    let all = all_margins(&shared);
    all.get(&name)
        .cloned()
        .map(ok)
        .ok_or_else(|| ApiError::input("Invalid segment: equity or commodity."))
}

/// `GET /portfolio/positions`: `{net, day}`.
pub async fn positions(State(shared): State<Arc<Shared>>) -> ApiResult {
    let rows: Vec<Value> = shared.with_world(|world, _| {
        world
            .book
            .positions()
            .iter()
            .filter_map(|p| {
                let quote = world.market.quote(p.token)?;
                Some(json::position(p, quote.last, quote.close))
            })
            .collect()
    });
    Ok(ok(json!({"net": rows, "day": rows})))
}

/// `GET /portfolio/holdings`: the delivery holdings the sim was started with.
pub async fn holdings(State(shared): State<Arc<Shared>>) -> ApiResult {
    let rows: Vec<Value> = shared.with_world(|world, _| {
        shared
            .config
            .holdings
            .iter()
            .filter_map(|seed| {
                let instrument = world.catalogue.get(&seed.key)?;
                let quote = world.market.quote(instrument.token)?;
                Some(json::holding(instrument, seed, quote))
            })
            .collect()
    });
    Ok(ok(Value::Array(rows)))
}

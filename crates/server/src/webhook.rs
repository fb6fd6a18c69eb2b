//! `POST /webhook`: TradingView alerts, parsed into domain types before the engine
//! sees them, so bad input never changes state nor creates a strategy.
//!
//! Two payloads: a candle (`symbol`, `high`, `low`, `close`, optional `open`,
//! `volume`, `time`/`timestamp`, `quantity`) and a manual signal (`symbol`, `action`
//! buy|sell, optional `quantity`). Numbers may be JSON numbers or numeric strings.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use kitebreak_engine::{CandleInput, Side, Symbol};
use kitebreak_price::{Price, Quantity};
use kitebreak_strategy::Candle;
use serde_json::{Map, Value};

use crate::body::{JsonObject, optional, optional_str, required};
use crate::guard::ClientIp;
use crate::metrics::WebhookOutcome;
use crate::{ApiError, AppState, auth, render};

/// A webhook body, parsed.
#[derive(Debug)]
enum Alert {
    Candle(Symbol, CandleInput),
    Manual(Symbol, Side, Option<Quantity>),
}

/// `POST /webhook`: a TradingView alert, a candle or a manual signal. JSON is
/// accepted whatever the `Content-Type`, numbers as numbers or numeric strings.
#[utoipa::path(post, path = "/webhook", tag = "alerts",
    request_body(content = crate::openapi::Alert, content_type = "application/json"),
    responses(
        (status = 200, body = crate::openapi::AlertResponse),
        (status = 400, description = "not an acceptable alert", body = crate::openapi::Message),
        (status = 401, description = "passphrase missing", body = crate::openapi::Message),
        (status = 403, description = "passphrase wrong", body = crate::openapi::Message),
        (status = 413, description = "body over the limit", body = crate::openapi::Message),
        (status = 429, description = "too many authentication failures", body = crate::openapi::Message),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    client: ClientIp,
    body: Result<JsonObject, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let answer = handle(&state, client, body).await;
    if let Err(error) = &answer {
        let auth = matches!(
            error,
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) | ApiError::TooManyRequests { .. }
        );
        if error.status().is_client_error() && !auth {
            state.metrics.webhook(WebhookOutcome::Rejected);
        }
    }
    answer
}

async fn handle(
    state: &AppState,
    client: ClientIp,
    body: Result<JsonObject, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let JsonObject(body) = body?;
    auth::check_passphrase(state, client, &body)?;
    match parse(&body)? {
        Alert::Candle(symbol, input) => {
            let report = state.engine.candle(symbol, input).await?;
            state.metrics.candle(&report);
            Ok(Json(render::candle_report(&report)))
        }
        Alert::Manual(symbol, side, quantity) => {
            let record = state
                .engine
                .manual_order(symbol.clone(), side, quantity)
                .await?;
            state.metrics.webhook(WebhookOutcome::Manual);
            state.metrics.order("manual", &record);
            Ok(Json(serde_json::json!({
                "status": "success",
                "symbol": symbol,
                "manual_order": true,
                "order_result": render::order(&record),
            })))
        }
    }
}

fn parse(body: &Map<String, Value>) -> Result<Alert, ApiError> {
    let symbol = optional_str(body, "symbol")?
        .ok_or_else(|| ApiError::BadRequest("missing field `symbol`".into()))?;
    let symbol = Symbol::parse(symbol)?;
    let quantity: Option<Quantity> = optional(body, "quantity")?;
    let candle_fields = ["high", "low", "close"].map(|k| body.contains_key(k));
    let action = body.get("action").filter(|v| !v.is_null());
    if let (Some(action), false) = (action, candle_fields.iter().all(|present| *present)) {
        let side = match action.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            _ => {
                return Err(ApiError::BadRequest(
                    "invalid `action`: expected \"buy\" or \"sell\"".into(),
                ));
            }
        };
        return Ok(Alert::Manual(symbol, side, quantity));
    }
    if !candle_fields.iter().any(|present| *present) {
        return Err(ApiError::BadRequest(
            "expected a candle (high, low, close) or a manual signal (action)".into(),
        ));
    }
    let candle = Candle {
        high: required::<Price>(body, "high")?,
        low: required::<Price>(body, "low")?,
        close: required::<Price>(body, "close")?,
    };
    let open: Option<Price> = optional(body, "open")?;
    let volume = volume(body)?;
    let time = candle_time(body)?;
    let input = CandleInput::new(candle, open, volume, time, quantity)?;
    Ok(Alert::Candle(symbol, input))
}

fn volume(body: &Map<String, Value>) -> Result<Option<u64>, ApiError> {
    let bad = || ApiError::BadRequest("invalid `volume`: expected a non-negative number".into());
    let text = match body.get("volume") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(_) => return Err(bad()),
    };
    if let Ok(units) = text.parse::<u64>() {
        return Ok(Some(units));
    }
    // Fractional volumes (1234.0, or crypto's 0.5) are rounded down: volume is
    // stored for reference only and never takes part in a decision.
    let (whole, fraction) = text.split_once('.').ok_or_else(bad)?;
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    whole.parse::<u64>().map(Some).map_err(|_| bad())
}

/// `time` or `timestamp`: RFC 3339 with an offset, a civil date-time (read in IST,
/// the exchange's clock), or Unix seconds / milliseconds.
fn candle_time(body: &Map<String, Value>) -> Result<Option<Timestamp>, ApiError> {
    let (name, value) = match (body.get("time"), body.get("timestamp")) {
        (Some(value), _) if !value.is_null() => ("time", value),
        (_, Some(value)) if !value.is_null() => ("timestamp", value),
        _ => return Ok(None),
    };
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid `{name}`: expected an ISO 8601 time, a date, or Unix seconds or milliseconds"
        ))
    };
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return Err(bad()),
    };
    // The same formats `trace` and `replay` read from files (candles' `parse_time`).
    kitebreak_candles::parse_time(&text)
        .map(Some)
        .map_err(|_| bad())
}

//! `GET /` and the monitoring switch. `GET /` also says loudly when the broker
//! session has expired and entries are paused (`broker_session` and its reason).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// Health: the service is up, with its version and what it is doing.
#[utoipa::path(get, path = "/", tag = "service",
    responses((status = 200, body = crate::openapi::Health)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    // Counted in the shards: health checks come often, and building 10,000
    // symbols' statuses to count them cost megabytes per request.
    let counts = state.engine.symbol_counts().await?;
    let session = state.engine.broker_session();
    let message = match session.as_ref().and_then(|s| s.refusal()) {
        Some(reason) => format!("kitebreak is running, but NEW ENTRIES ARE PAUSED: {reason}"),
        None => "kitebreak is running".to_owned(),
    };
    let mut body = json!({
        "status": "success",
        "message": message,
        "service": "kitebreak",
        "version": env!("CARGO_PKG_VERSION"),
        "broker": state.engine.broker().name(),
        "monitoring_active": state.engine.monitoring(),
        "active_strategies": counts.with_trade,
        "total_strategies": counts.total,
    });
    if let Value::Object(map) = &mut body {
        map.extend(super::session::session_fields(session.as_ref()));
    }
    Ok(Json(body))
}

/// Whether automatic exits are on, with counts.
#[utoipa::path(get, path = "/monitoring", tag = "service",
    responses((status = 200, body = crate::openapi::Monitoring)))]
pub async fn monitoring(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let counts = state.engine.symbol_counts().await?;
    Ok(Json(json!({
        "status": "success",
        "monitoring_active": state.engine.monitoring(),
        "active_strategies": counts.with_trade,
        "total_strategies": counts.total,
    })))
}

/// Resumes automatic exits on price observations.
#[utoipa::path(post, path = "/monitoring/start", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::Message), (status = 401, body = crate::openapi::Message), (status = 403, body = crate::openapi::Message)))]
pub async fn start_monitoring(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.set_monitoring(true).await?;
    Ok(Json(
        json!({"status": "success", "message": "Monitoring started"}),
    ))
}

/// Pauses automatic exits on price observations (candle closes still exit).
#[utoipa::path(post, path = "/monitoring/stop", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::Message), (status = 401, body = crate::openapi::Message), (status = 403, body = crate::openapi::Message)))]
pub async fn stop_monitoring(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.engine.set_monitoring(false).await?;
    Ok(Json(
        json!({"status": "success", "message": "Monitoring stopped"}),
    ))
}

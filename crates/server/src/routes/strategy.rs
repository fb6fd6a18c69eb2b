//! Per-symbol endpoints: status, reset, exit, and the closed-trade history.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use kitebreak_engine::{ExitOutcome, Symbol, TradeFilter};
use serde_json::{Value, json};

use crate::{ApiError, AppState, render};

fn symbol(text: &str) -> Result<Symbol, ApiError> {
    Ok(Symbol::parse(text)?)
}

/// `GET /strategy/{symbol}`: one symbol's levels, trade and parameters.
#[utoipa::path(get, path = "/strategy/{symbol}", tag = "strategy", params(("symbol" = String, Path, description = "the instrument, any case")),
    responses((status = 200, body = crate::openapi::StrategyStatusResponse), (status = 404, body = crate::openapi::Message)))]
pub async fn status(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let status = state.engine.status(symbol(&name)?).await?;
    Ok(Json(
        json!({"status": "success", "strategy_status": render::status(&status)}),
    ))
}

/// `GET /strategies`: every symbol's status, keyed by symbol.
#[utoipa::path(get, path = "/strategies", tag = "strategy",
    responses((status = 200, body = crate::openapi::StrategiesResponse)))]
pub async fn statuses(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let all = state.engine.statuses().await?;
    let strategies: serde_json::Map<String, Value> = all
        .iter()
        .map(|s| (s.symbol.to_string(), render::status(s)))
        .collect();
    Ok(Json(
        json!({"status": "success", "count": all.len(), "strategies": strategies}),
    ))
}

/// `POST /strategy/{symbol}/reset[?force=true]`: clear one symbol (409 while a
/// trade is open unless forced).
#[utoipa::path(post, path = "/strategy/{symbol}/reset", tag = "strategy", security(("bearer" = [])),
    params(("symbol" = String, Path, description = "the instrument"), ("force" = Option<bool>, Query, description = "reset even with an open trade")),
    responses((status = 200, body = crate::openapi::Message), (status = 404, body = crate::openapi::Message), (status = 409, body = crate::openapi::Message)))]
pub async fn reset(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let force = match query
        .get("force")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(ApiError::BadRequest("`force` must be true or false".into())),
    };
    let symbol = symbol(&name)?;
    state.engine.reset(symbol.clone(), force).await?;
    Ok(Json(
        json!({"status": "success", "message": format!("Strategy reset for {symbol}")}),
    ))
}

/// `POST /strategy/{symbol}/exit`: leave the open trade at market now.
#[utoipa::path(post, path = "/strategy/{symbol}/exit", tag = "strategy", security(("bearer" = [])), params(("symbol" = String, Path, description = "the instrument, any case")),
    responses((status = 200, body = crate::openapi::ExitResponse), (status = 400, body = crate::openapi::Message), (status = 404, body = crate::openapi::Message)))]
pub async fn exit(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let symbol = symbol(&name)?;
    let outcome = state.engine.exit(symbol.clone()).await?;
    state.metrics.exit(&outcome);
    let (order, closed) = match outcome {
        ExitOutcome::Closed { order, closed } => (order, closed),
        // As the original: an order failure is a 400. The reason says whether the
        // broker refused it or an earlier exit's outcome is still being looked up;
        // either way the trade stays open and the exit is retried.
        ExitOutcome::Failed { reason, .. } => {
            return Err(ApiError::BadRequest(format!(
                "exit for {symbol} failed, the trade stays open and is retried: {reason}"
            )));
        }
    };
    Ok(Json(json!({
        "status": "success",
        "message": format!("Trade exited for {symbol}"),
        "trade_summary": render::trade_summary(symbol.as_str(), &closed),
        "order_result": render::order(&order),
    })))
}

/// The most trades one `GET /trades?limit=N` may ask for.
const MAX_TRADES_LIMIT: usize = 10_000;

/// `GET /trades[?symbol=X][&date=YYYY-MM-DD][&limit=N]`: closed trades, newest first.
/// The date is a trading day in IST. Without `limit` every matching trade is listed,
/// as the original did; with it only the newest N are read.
#[utoipa::path(get, path = "/trades", tag = "strategy", security(("bearer" = [])),
    params(("symbol" = Option<String>, Query, description = "only this symbol"), ("date" = Option<String>, Query, description = "YYYY-MM-DD, IST"), ("limit" = Option<u32>, Query, description = "at most this many, the newest (1..=10000)")),
    responses((status = 200, body = crate::openapi::TradesResponse), (status = 400, body = crate::openapi::Message)))]
pub async fn trades(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let mut filter = TradeFilter::default();
    if let Some(name) = query.get("symbol") {
        filter.symbol = Some(symbol(name)?);
    }
    if let Some(date) = query.get("date") {
        let bad = || ApiError::BadRequest("`date` must be YYYY-MM-DD".into());
        let day: Date = date.parse().map_err(|_| bad())?;
        let ist = TimeZone::fixed(Offset::from_seconds(19_800).map_err(|_| bad())?);
        let start = day.to_zoned(ist.clone()).map_err(|_| bad())?;
        let end = day
            .tomorrow()
            .and_then(|d| d.to_zoned(ist))
            .map_err(|_| bad())?;
        filter.exit_from = Some(start.timestamp());
        filter.exit_before = Some(end.timestamp());
    }
    if let Some(limit) = query.get("limit") {
        let bad = || {
            ApiError::BadRequest(format!(
                "`limit` must be a whole number from 1 to {MAX_TRADES_LIMIT}"
            ))
        };
        let limit: usize = limit.parse().map_err(|_| bad())?;
        if !(1..=MAX_TRADES_LIMIT).contains(&limit) {
            return Err(bad());
        }
        filter.limit = Some(limit);
    }
    let records = state.engine.closed_trades(&filter).await?;
    let trades: Vec<Value> = records.iter().map(render::closed_record).collect();
    Ok(Json(
        json!({"status": "success", "count": trades.len(), "trades": trades}),
    ))
}

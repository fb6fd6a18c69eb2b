//! Market data and account state through the active broker: `/ltp`, `/positions`,
//! `/orders`, in Kite's shapes.

use axum::Json;
use axum::extract::{Path, State};
use kitebreak_engine::{OrderRecord, Symbol};
use serde_json::{Value, json};

use crate::{ApiError, AppState, render};

/// `GET /ltp/{symbol}`.
pub async fn ltp(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let symbol = Symbol::parse(&name).map_err(|e| ApiError::BadSymbolRequest {
        message: e.to_string(),
        symbol: name.clone(),
    })?;
    let price =
        state
            .engine
            .broker()
            .ltp(&symbol)
            .await
            .map_err(|e| ApiError::BadSymbolRequest {
                message: e.to_string(),
                symbol: symbol.to_string(),
            })?;
    let key = format!("NSE:{symbol}");
    Ok(Json(json!({
        "status": "success",
        "symbol": symbol,
        "ltp": price.to_f64(),
        "data": {key: {"instrument_token": null, "last_price": price.to_f64()}},
    })))
}

/// `GET /positions`: `{net, day}` as Kite returns them.
pub async fn positions(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let positions = state
        .engine
        .broker()
        .positions()
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let rows: Vec<Value> = positions
        .iter()
        .map(|p| {
            let net = i128::from(p.buy_quantity) - i128::from(p.sell_quantity);
            json!({
                "tradingsymbol": p.symbol,
                "exchange": "NSE",
                "product": "MIS",
                "quantity": net,
                "buy_quantity": p.buy_quantity,
                "sell_quantity": p.sell_quantity,
                "last_price": p.last_price.map(|price| price.to_f64()),
            })
        })
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"net": rows, "day": rows}}),
    ))
}

/// `GET /orders`: today's orders, oldest first.
pub async fn orders(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let orders = state
        .engine
        .broker()
        .orders()
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let rows: Vec<Value> = orders
        .into_iter()
        .map(|report| {
            let mut row = render::order(&OrderRecord {
                tag: report.order.tag,
                order_id: Some(report.order_id),
                symbol: report.order.symbol,
                side: report.order.side,
                quantity: report.order.quantity,
                status: report.status,
            });
            row["exchange"] = json!("NSE");
            row["product"] = json!("MIS");
            row
        })
        .collect();
    Ok(Json(json!({"status": "success", "data": rows})))
}

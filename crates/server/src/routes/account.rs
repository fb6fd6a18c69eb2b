//! Market data and account state through the active broker: `/ltp`, `/positions`,
//! `/orders`, in Kite's shapes.

use axum::Json;
use axum::extract::{Path, State};
use kitebreak_engine::{OrderRecord, Symbol};
use kitebreak_price::Price;
use serde_json::{Value, json};

use crate::body::{JsonObject, optional_str, required};
use crate::{ApiError, AppState, render};

fn data_symbol(name: &str) -> Result<Symbol, ApiError> {
    Symbol::parse(name).map_err(|e| symbol_error(name, e))
}

/// The original's 400 for market data: the message and the symbol asked about.
fn symbol_error(symbol: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::BadSymbolRequest {
        message: error.to_string(),
        symbol: symbol.to_owned(),
    }
}

/// `GET /ltp/{symbol}`: the last traded price.
#[utoipa::path(get, path = "/ltp/{symbol}", tag = "account", params(("symbol" = String, Path, description = "the instrument, any case")),
    responses((status = 200, body = crate::openapi::LtpResponse), (status = 400, body = crate::openapi::Message)))]
pub async fn ltp(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let symbol = data_symbol(&name)?;
    let price = state
        .engine
        .broker()
        .ltp(&symbol)
        .await
        .map_err(|e| symbol_error(symbol.as_str(), e))?;
    let key = format!("NSE:{symbol}");
    Ok(Json(json!({
        "status": "success",
        "symbol": symbol,
        "ltp": price.to_f64(),
        "data": {key: {"instrument_token": null, "last_price": price.to_f64()}},
    })))
}

/// `GET /ohlc/{symbol}`: the session's open, high, low and last observed price.
#[utoipa::path(get, path = "/ohlc/{symbol}", tag = "account", params(("symbol" = String, Path, description = "the instrument, any case")),
    responses((status = 200, body = crate::openapi::OhlcResponse), (status = 400, body = crate::openapi::Message)))]
pub async fn ohlc(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let symbol = data_symbol(&name)?;
    let ohlc = state
        .engine
        .broker()
        .ohlc(&symbol)
        .await
        .map_err(|e| symbol_error(symbol.as_str(), e))?;
    let bar = json!({"open": ohlc.open.to_f64(), "high": ohlc.high.to_f64(),
        "low": ohlc.low.to_f64(), "close": ohlc.close.to_f64()});
    let key = format!("NSE:{symbol}");
    Ok(Json(json!({
        "status": "success",
        "symbol": symbol,
        "ohlc": bar,
        "ltp": ohlc.close.to_f64(),
        "data": {key: {"instrument_token": null, "last_price": ohlc.close.to_f64(), "ohlc": bar}},
    })))
}

/// `POST /price` `{"symbol", "price"}` (new): a price observation for the paper feed.
/// It updates the paper broker's last price and, while monitoring is on, exits an
/// open trade that reached its target or stop.
#[utoipa::path(post, path = "/price", tag = "alerts", security(("bearer" = [])),
    request_body = crate::openapi::PriceObservation,
    responses((status = 200, body = crate::openapi::PriceResponse), (status = 400, body = crate::openapi::Message)))]
pub async fn price(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let name = optional_str(&body, "symbol")?
        .ok_or_else(|| ApiError::BadRequest("missing field `symbol`".into()))?;
    let symbol = Symbol::parse(name)?;
    let price: Price = required(&body, "price")?;
    let report = state.engine.price(symbol, price).await?;
    let mut answer =
        json!({"status": "success", "symbol": report.symbol, "checked": report.checked});
    if let Some(exit) = &report.exit {
        state.metrics.exit(exit);
        render::add_exit(&mut answer, report.symbol.as_str(), exit);
    }
    Ok(Json(answer))
}

/// `GET /positions`: `{net, day}` as Kite returns them.
#[utoipa::path(get, path = "/positions", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::PositionsResponse), (status = 400, body = crate::openapi::Message)))]
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
#[utoipa::path(get, path = "/orders", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::OrdersResponse), (status = 400, body = crate::openapi::Message)))]
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

//! Bodies of the market-data and account endpoints, in Kite's shapes.

use serde::Serialize;
use utoipa::ToSchema;

use super::alerts::OrderResult;

/// `GET /ltp/{symbol}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LtpResponse {
    /// `"success"`.
    pub status: String,
    /// The instrument.
    pub symbol: String,
    /// Last traded price.
    pub ltp: f64,
    /// The broker's quote object, keyed `EXCHANGE:SYMBOL`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `ohlc`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OhlcBar {
    /// Session open.
    pub open: f64,
    /// Session high.
    pub high: f64,
    /// Session low.
    pub low: f64,
    /// Last price.
    pub close: f64,
}

/// `GET /ohlc/{symbol}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OhlcResponse {
    /// `"success"`.
    pub status: String,
    /// The instrument.
    pub symbol: String,
    /// The session bar.
    pub ohlc: OhlcBar,
    /// Last traded price.
    pub ltp: f64,
    /// The broker's quote object, keyed `EXCHANGE:SYMBOL`.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One position row.
#[derive(Debug, Serialize, ToSchema)]
pub struct Position {
    /// The instrument.
    pub tradingsymbol: String,
    /// `"NSE"`.
    pub exchange: String,
    /// `"MIS"`.
    pub product: String,
    /// Net units (buys minus sells).
    pub quantity: i64,
    /// Units bought.
    pub buy_quantity: u64,
    /// Units sold.
    pub sell_quantity: u64,
    /// Last price seen.
    pub last_price: Option<f64>,
}

/// `data` of `GET /positions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Positions {
    /// Net positions.
    pub net: Vec<Position>,
    /// Today's positions.
    pub day: Vec<Position>,
}

/// `GET /positions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionsResponse {
    /// `"success"`.
    pub status: String,
    /// Net and day positions.
    pub data: Positions,
}

/// `GET /orders`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrdersResponse {
    /// `"success"`.
    pub status: String,
    /// Today's orders, oldest first.
    pub data: Vec<OrderResult>,
}

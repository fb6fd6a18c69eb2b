//! Bodies of `POST /webhook` and `POST /price`.

use serde::Serialize;
use utoipa::ToSchema;

use super::strategy::TradeSummary;

/// A number, or a string holding one (TradingView placeholders arrive as strings).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Number {
    /// A JSON number.
    Number(f64),
    /// A numeric string such as `"2500.5"`.
    Text(String),
}

/// A candle alert. `passphrase` is required when the server has a webhook secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandleAlert {
    /// Letters, digits and `-&_.`, at most 40 characters; upper-cased.
    pub symbol: String,
    /// The candle's high.
    pub high: Number,
    /// The candle's low (at most the close and the high).
    pub low: Number,
    /// The candle's close.
    pub close: Number,
    /// The open, between low and high.
    pub open: Option<Number>,
    /// Traded volume (stored for reference).
    pub volume: Option<Number>,
    /// Candle time: RFC 3339, a civil date-time in IST, or Unix seconds/milliseconds.
    /// A second alert with the same symbol and time is acknowledged, not applied.
    pub time: Option<String>,
    /// Same as `time` (the original's name).
    pub timestamp: Option<String>,
    /// Order quantity for a breakout on this candle.
    pub quantity: Option<Number>,
    /// The shared webhook secret.
    pub passphrase: Option<String>,
}

/// A manual signal: a plain market order through the same risk checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManualAlert {
    /// The instrument.
    pub symbol: String,
    /// `"buy"` or `"sell"` (any case).
    pub action: String,
    /// Units; the strategy's default when absent.
    pub quantity: Option<Number>,
    /// The shared webhook secret.
    pub passphrase: Option<String>,
}

/// A webhook body. Accepted whatever the `Content-Type`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Alert {
    /// `symbol`, `high`, `low`, `close` present.
    Candle(CandleAlert),
    /// `action` present and not a full candle.
    Manual(ManualAlert),
}

/// `current_levels`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentLevels {
    /// Support, when detected.
    pub support: Option<f64>,
    /// Resistance, when detected.
    pub resistance: Option<f64>,
    /// True while a trade holds the levels.
    pub locked: bool,
}

/// An order as Kite reports it (`order_result`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResult {
    /// The broker's id (absent when it refused the order).
    pub order_id: Option<String>,
    /// kitebreak's unique tag.
    pub tag: String,
    /// The instrument.
    pub tradingsymbol: String,
    /// `"BUY"` or `"SELL"`.
    pub transaction_type: String,
    /// `"MARKET"`.
    pub order_type: String,
    /// Units asked for.
    pub quantity: u64,
    /// `"COMPLETE"` or `"REJECTED"`.
    pub status: String,
    /// Units filled.
    pub filled_quantity: u64,
    /// Average fill price (COMPLETE).
    pub average_price: Option<f64>,
    /// Fill time, ISO 8601 (COMPLETE).
    pub order_timestamp: Option<String>,
    /// Why it was rejected (REJECTED).
    pub status_message: Option<String>,
}

/// The answer to a candle.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandleResponse {
    /// `"success"`.
    pub status: String,
    /// The instrument, upper-cased.
    pub symbol: String,
    /// False only for a repeated alert.
    pub price_data_added: bool,
    /// This candle's detection produced valid levels.
    pub levels_updated: bool,
    /// Levels after the candle.
    pub current_levels: CurrentLevels,
    /// True for a repeated alert (same symbol and time).
    pub duplicate: Option<bool>,
    /// `"long"` or `"short"` when the close broke a level.
    pub breakout_signal: Option<String>,
    /// Whether the breakout's entry order filled.
    pub trade_entered: Option<bool>,
    /// The entry order, when it filled.
    pub order_result: Option<OrderResult>,
    /// Why the entry order failed.
    pub order_error: Option<String>,
    /// Whether the close exited an open trade.
    pub trade_exited: Option<bool>,
    /// The closed trade, when it exited.
    pub trade_summary: Option<TradeSummary>,
    /// The exit order.
    pub exit_order_result: Option<OrderResult>,
}

/// The answer to a manual signal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManualResponse {
    /// `"success"`.
    pub status: String,
    /// The instrument.
    pub symbol: String,
    /// `true`.
    pub manual_order: bool,
    /// The order.
    pub order_result: OrderResult,
}

/// The webhook's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AlertResponse {
    /// To a candle.
    Candle(Box<CandleResponse>),
    /// To a manual signal.
    Manual(Box<ManualResponse>),
}

/// `POST /price` body: a price observation for the paper feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceObservation {
    /// The instrument.
    pub symbol: String,
    /// The last traded price.
    pub price: Number,
}

/// `POST /price` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceResponse {
    /// `"success"`.
    pub status: String,
    /// The instrument.
    pub symbol: String,
    /// Whether the price was checked against an open trade.
    pub checked: bool,
    /// Whether it exited the trade.
    pub trade_exited: Option<bool>,
    /// The closed trade.
    pub trade_summary: Option<TradeSummary>,
    /// The exit order.
    pub exit_order_result: Option<OrderResult>,
}

//! Bodies of the per-symbol endpoints and the trade history.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::alerts::OrderResult;

/// The open trade of a symbol (all null but `is_active` when flat).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveTrade {
    /// Whether a trade is open.
    pub is_active: bool,
    /// `"long"` or `"short"`.
    pub direction: Option<String>,
    /// Entry fill price.
    pub entry_price: Option<f64>,
    /// Entry time, ISO 8601.
    pub entry_time: Option<String>,
    /// Units.
    pub quantity: Option<u64>,
    /// The entry order's id.
    pub order_id: Option<String>,
    /// Exit when the price reaches this.
    pub target_price: Option<f64>,
    /// Exit when the price falls back to this.
    pub stop_price: Option<f64>,
    /// True when an exit was decided but failed and is being retried with backoff.
    pub exit_pending: bool,
    /// The failed exit's last error.
    pub exit_error: Option<String>,
    /// Failed exit attempts so far.
    pub exit_attempts: u32,
    /// When the next exit attempt is due, ISO 8601.
    pub next_exit_attempt: Option<String>,
    /// The exchange-side stop guarding the trade (`[orders] protection = "exchange"`).
    pub protection_tag: Option<String>,
    /// Its trigger: the trade's stop.
    pub protection_trigger: Option<f64>,
    /// Why no exchange-side stop guards the trade (refused, ended unfilled); the
    /// trade stays open and watched by kitebreak.
    pub protection_error: Option<String>,
}

/// `strategy_params`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyParamsBody {
    /// Candles on each side of a swing.
    pub lookback_period: usize,
    /// Target distance in percent (3.0 = 3 %).
    pub profit_target_percent: f64,
    /// Stop distance in percent.
    pub stop_loss_percent: f64,
    /// What happens to levels after a trade.
    pub relevel: String,
    /// Default order quantity.
    pub quantity: u64,
}

/// `strategy_status` of one symbol.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyStatus {
    /// The instrument.
    pub symbol: String,
    /// Current support.
    pub support_level: Option<f64>,
    /// Current resistance.
    pub resistance_level: Option<f64>,
    /// True while a trade holds the levels.
    pub levels_locked: bool,
    /// The open trade.
    pub active_trade: ActiveTrade,
    /// Candles held.
    pub data_points: usize,
    /// The parameters.
    pub strategy_params: StrategyParamsBody,
    /// `flat`, `entering`, `open` or `exiting`.
    pub position: String,
    /// Candles since the last reset.
    pub candles_seen: u64,
}

/// `GET /strategy/{symbol}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyStatusResponse {
    /// `"success"`.
    pub status: String,
    /// The symbol's state.
    pub strategy_status: StrategyStatus,
}

/// `GET /strategies`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategiesResponse {
    /// `"success"`.
    pub status: String,
    /// Symbols known.
    pub count: usize,
    /// Every symbol's state, keyed by symbol.
    pub strategies: BTreeMap<String, StrategyStatus>,
}

/// A closed trade (`trade_summary`, and rows of `GET /trades` with their `id`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeSummary {
    /// Row id (`GET /trades` only).
    pub id: Option<i64>,
    /// The instrument.
    pub symbol: String,
    /// `"long"` or `"short"`.
    pub direction: String,
    /// Entry fill price.
    pub entry_price: f64,
    /// Exit fill price.
    pub exit_price: f64,
    /// The target it had.
    pub target_price: f64,
    /// The stop it had.
    pub stop_price: f64,
    /// Units.
    pub quantity: u64,
    /// Entry time, ISO 8601.
    pub entry_time: Option<String>,
    /// Exit time, ISO 8601.
    pub exit_time: Option<String>,
    /// Why it exited.
    pub exit_reason: String,
    /// Realized profit or loss.
    pub pnl: f64,
    /// P&L in percent of the entry.
    pub pnl_percent: f64,
    /// The entry order's id.
    pub entry_order_id: Option<String>,
    /// The exit order's id.
    pub exit_order_id: Option<String>,
}

/// `POST /strategy/{symbol}/exit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExitResponse {
    /// `"success"`.
    pub status: String,
    /// `"Trade exited for SYMBOL"`.
    pub message: String,
    /// The closed trade.
    pub trade_summary: TradeSummary,
    /// The exit order.
    pub order_result: OrderResult,
}

/// `GET /trades`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TradesResponse {
    /// `"success"`.
    pub status: String,
    /// Rows returned.
    pub count: usize,
    /// Closed trades, newest first.
    pub trades: Vec<TradeSummary>,
}

//! Documentation types of the risk endpoints (`routes::risk`).

use serde::Serialize;
use utoipa::ToSchema;

/// Configured limits; `null` means no limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskLimitsBody {
    /// Most trades open at once.
    pub max_open_trades: Option<u32>,
    /// Largest quantity of one order.
    pub max_order_quantity: Option<u32>,
    /// Largest value (price × quantity) of one order, rupees.
    pub max_order_value: Option<f64>,
    /// Entries halt once today's P&L is at or below minus this, rupees.
    pub max_daily_loss: Option<f64>,
}

/// One open trade in `GET /risk`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskOpenTrade {
    /// The instrument.
    pub symbol: String,
    /// `long` or `short`.
    pub direction: String,
    /// Average entry fill price.
    pub entry_price: f64,
    /// Units.
    pub quantity: u32,
    /// Exit target.
    pub target_price: f64,
    /// Stop loss.
    pub stop_loss: f64,
}

/// `GET /risk` and the kill-switch endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskResponse {
    /// `"success"`.
    pub status: String,
    /// `active`, `halted` or `flatten`.
    pub kill_switch: String,
    /// Whether a new entry would be considered now (broker session, kill switch and
    /// market clock).
    pub entries_allowed: bool,
    /// Why the market clock refuses entries now, if it does.
    pub market_closed: Option<String>,
    /// The limits.
    pub limits: RiskLimitsBody,
    /// P&L of trades closed today (IST).
    pub realized_pnl_today: f64,
    /// P&L of open trades at the latest prices.
    pub unrealized_pnl: f64,
    /// Realized plus unrealized.
    pub pnl_today: f64,
    /// Trades open, entering or exiting.
    pub open_trade_count: u32,
    /// The open trades.
    pub open_trades: Vec<RiskOpenTrade>,
    /// `active`, `expired`, `missing`, or `not_required` (paper broker).
    pub broker_session: String,
    /// Why entries are paused for the session, while they are.
    pub broker_session_reason: Option<String>,
    /// What to do about it: `kitebreak login` or `/login`.
    pub broker_session_action: Option<String>,
    /// When the session was found expired.
    pub broker_session_expired_at: Option<String>,
    /// When the current token dies (06:00 IST after its login), when known.
    pub broker_session_expires_at: Option<String>,
    /// What reconciliation with the broker found at start: `orders` (each PENDING
    /// order's `tag`, `symbol`, `purpose`, `outcome`: filled / rejected /
    /// not_placed), `positions_checked`, `positions_error`, and `mismatches`
    /// (`symbol`, `broker_net`, `engine_net`).
    #[schema(value_type = Object)]
    pub reconciliation: serde_json::Value,
}

//! The kill switch and risk state: `GET /risk`, `POST /risk/halt`, `/risk/resume`,
//! `/risk/flatten` (new; bearer token). The engine decides and persists; this only
//! renders.

use axum::Json;
use axum::extract::State;
use kitebreak_engine::RiskStatus;
use kitebreak_engine::risk::KillSwitch;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

fn money(value: kitebreak_price::Money) -> Value {
    json!(value.to_f64())
}

/// The JSON of a [`RiskStatus`] (limits left out are `null`).
fn render(status: &RiskStatus, open: Vec<Value>) -> Value {
    let limits = &status.limits;
    let session_ok = status
        .broker_session
        .as_ref()
        .is_none_or(|s| s.refusal().is_none());
    let mut body = json!({
        "status": "success",
        "kill_switch": status.kill_switch.as_str(),
        "entries_allowed": status.kill_switch == KillSwitch::Active
            && status.market_closed.is_none()
            && session_ok,
        "market_closed": status.market_closed,
        "limits": {
            "max_open_trades": limits.max_open_trades,
            "max_order_quantity": limits.max_order_quantity.map(|q| q.get()),
            "max_order_value": limits.max_order_value.map(money),
            "max_daily_loss": limits.max_daily_loss.map(money),
        },
        "realized_pnl_today": money(status.realized_today),
        "unrealized_pnl": money(status.unrealized),
        "pnl_today": money(status.realized_today + status.unrealized),
        "open_trade_count": status.open_trades,
        "open_trades": open,
    });
    if let Value::Object(map) = &mut body {
        map.extend(super::session::session_fields(
            status.broker_session.as_ref(),
        ));
    }
    body
}

async fn answer(state: &AppState, status: RiskStatus) -> Result<Json<Value>, ApiError> {
    let open = state
        .engine
        .statuses()
        .await?
        .into_iter()
        .filter_map(|s| {
            let trade = s.trade?;
            Some(json!({"symbol": s.symbol, "direction": trade.direction,
                "entry_price": trade.price_entry.to_f64(), "quantity": trade.quantity.get(),
                "target_price": trade.price_target.to_f64(), "stop_loss": trade.price_stop.to_f64()}))
        })
        .collect();
    let mut body = render(&status, open);
    // What start-up reconciliation found: mismatches are shown, never adjusted away.
    body["reconciliation"] =
        serde_json::to_value(state.engine.reconciliation()).unwrap_or(Value::Null);
    Ok(Json(body))
}

/// `GET /risk`: kill switch, limits, today's realized and unrealized P&L, open trades.
#[utoipa::path(get, path = "/risk", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::RiskResponse)))]
pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let status = state.engine.risk_status();
    answer(&state, status).await
}

/// `POST /risk/halt`: no new entries (open trades are still exited); durable.
#[utoipa::path(post, path = "/risk/halt", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::RiskResponse)))]
pub async fn halt(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let status = state.engine.set_kill_switch(KillSwitch::Halted).await?;
    answer(&state, status).await
}

/// `POST /risk/resume`: entries allowed again (subject to the limits); durable.
#[utoipa::path(post, path = "/risk/resume", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::RiskResponse)))]
pub async fn resume(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let status = state.engine.set_kill_switch(KillSwitch::Active).await?;
    answer(&state, status).await
}

/// `POST /risk/flatten`: exit every open trade now, then halted; durable.
#[utoipa::path(post, path = "/risk/flatten", tag = "risk", security(("bearer" = [])),
    responses((status = 200, body = crate::openapi::RiskResponse)))]
pub async fn flatten(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let status = state.engine.set_kill_switch(KillSwitch::Flatten).await?;
    answer(&state, status).await
}

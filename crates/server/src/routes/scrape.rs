//! `GET /metrics`: the app's counters plus gauges read from the engine at scrape
//! time (open trades, realized and unrealized P&L), in Prometheus text format.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use metrics::Label;

use crate::{ApiError, AppState};

/// Prometheus metrics: requests and latency by route, webhook outcomes, orders by
/// status, breakouts, broker errors (by kind), ticker state, live prices and polls,
/// exit retries, throttling waits, open trades, P&L and group-commit counts.
#[utoipa::path(get, path = "/metrics", tag = "service", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    gauges(&state).await?;
    let kind = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    Ok(([(CONTENT_TYPE, kind)], state.metrics.render()).into_response())
}

async fn gauges(state: &AppState) -> Result<(), ApiError> {
    let metrics = &state.metrics;
    let broker = state.engine.broker();
    // Which broker runs; the paper broker has no live feed (ticker state "none").
    let info = vec![Label::new("broker", broker.name().to_owned())];
    metrics.gauge("kitebreak_broker_info", info, 1.0);
    super::session::export_metrics(state);
    metrics.engine_state(&state.engine);
    // From the engine's own state: no broker call per open trade (against Kite each
    // would be a quote request, through its 1 request/second budget) and no read of
    // the whole closed-trade history into memory.
    let risk = state.engine.risk_status();
    metrics.gauge(
        "kitebreak_open_trades",
        Vec::new(),
        f64::from(risk.open_trades),
    );
    // Unrealized P&L at the latest price seen for each open trade (ticks, polls,
    // candle closes), as the daily-loss limit counts it.
    metrics.gauge(
        "kitebreak_unrealized_pnl",
        Vec::new(),
        risk.unrealized.to_f64(),
    );
    let (closed, realized) = state.engine.closed_totals().await?;
    metrics.gauge("kitebreak_realized_pnl", Vec::new(), realized.to_f64());
    metrics.gauge("kitebreak_closed_trades", Vec::new(), closed as f64);
    // Group commit: jobs per transaction is how well durable writes are batched.
    let commits = state.engine.commit_stats();
    metrics.gauge(
        "kitebreak_store_transactions",
        Vec::new(),
        commits.transactions as f64,
    );
    metrics.gauge("kitebreak_store_jobs", Vec::new(), commits.jobs as f64);
    Ok(())
}

//! `GET /metrics`: the app's counters plus gauges read from the engine at scrape
//! time (open trades, realized and unrealized P&L), in Prometheus text format.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use kitebreak_engine::TradeFilter;
use kitebreak_strategy::Direction;
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
    let statuses = state.engine.statuses().await?;
    let mut open = 0.0;
    let mut unrealized = 0.0;
    for trade in statuses
        .iter()
        .filter_map(|s| s.trade.as_ref().map(|t| (s, t)))
    {
        open += 1.0;
        // Unrealized P&L needs a last price; a symbol the broker has no price for
        // contributes nothing rather than a guess.
        if let Ok(last) = broker.ltp(&trade.0.symbol).await {
            let t = trade.1;
            let units = t.quantity.get() as f64;
            let move_ = last.to_f64() - t.price_entry.to_f64();
            unrealized += match t.direction {
                Direction::Long => move_ * units,
                Direction::Short => -move_ * units,
            };
        }
    }
    metrics.gauge("kitebreak_open_trades", Vec::new(), open);
    metrics.gauge("kitebreak_unrealized_pnl", Vec::new(), unrealized);
    let closed = state.engine.closed_trades(&TradeFilter::default()).await?;
    let realized: f64 = closed.iter().map(|r| r.closed.pnl.to_f64()).sum();
    metrics.gauge("kitebreak_realized_pnl", Vec::new(), realized);
    metrics.gauge("kitebreak_closed_trades", Vec::new(), closed.len() as f64);
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

//! The router: every path, its auth, and the JSON 404/405 fallbacks.

mod account;
mod health;
mod session;
mod strategy;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState, auth, webhook};

/// All routes over `state`.
pub fn router(state: AppState) -> Router {
    let control = Router::new()
        .route("/strategy/{symbol}/reset", post(strategy::reset))
        .route("/strategy/{symbol}/exit", post(strategy::exit))
        .route("/monitoring/start", post(health::start_monitoring))
        .route("/monitoring/stop", post(health::stop_monitoring))
        .route("/trades", get(strategy::trades))
        .route("/price", post(account::price))
        .route("/generate_token", post(session::generate_token))
        .route("/positions", get(account::positions))
        .route("/orders", get(account::orders))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let public = Router::new()
        .route("/", get(health::health))
        .route("/webhook", post(webhook::webhook))
        .route("/strategy/{symbol}", get(strategy::status))
        .route("/strategies", get(strategy::statuses))
        .route("/ltp/{symbol}", get(account::ltp))
        .route("/ohlc/{symbol}", get(account::ohlc))
        .route("/login", get(session::login))
        .route("/login/callback", get(session::login))
        .route("/monitoring", get(health::monitoring));
    let body_limit = state.settings.body_limit;
    public
        .merge(control)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Endpoint not found".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

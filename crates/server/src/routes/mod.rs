//! The router: every path, its auth, and the JSON 404/405 fallbacks.
//!
//! This is the one list of routes. Each is registered with `routes!` from a handler
//! carrying `#[utoipa::path]`, which adds it to the router and to the OpenAPI
//! document at once; a route added any other way would miss the document, so there
//! is no other way here (`tests/api/docs.rs` checks the two agree).

mod account;
mod docs;
mod health;
mod postback;
mod risk;
mod scrape;
mod session;
mod strategy;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::{ApiError, AppState, auth, layers, webhook};

/// The router over `state` and its OpenAPI document.
pub fn api(state: AppState) -> (Router, Document) {
    let control = OpenApiRouter::new()
        .routes(routes!(strategy::reset))
        .routes(routes!(strategy::exit))
        .routes(routes!(health::start_monitoring))
        .routes(routes!(health::stop_monitoring))
        .routes(routes!(strategy::trades))
        .routes(routes!(account::price))
        .routes(routes!(session::generate_token))
        .routes(routes!(account::positions))
        .routes(routes!(account::orders))
        .routes(routes!(scrape::metrics))
        .routes(routes!(risk::status))
        .routes(routes!(risk::halt))
        .routes(routes!(risk::resume))
        .routes(routes!(risk::flatten))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let public = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(webhook::webhook))
        .routes(routes!(strategy::status))
        .routes(routes!(strategy::statuses))
        .routes(routes!(account::ltp))
        .routes(routes!(account::ohlc))
        .routes(routes!(session::login))
        .routes(routes!(session::login_callback))
        .routes(routes!(postback::postback))
        .routes(routes!(health::monitoring))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(docs::docs))
        .routes(routes!(docs::docs_index))
        .routes(routes!(docs::docs_asset));
    let (router, document) = public.merge(control).split_for_parts();
    let body_limit = state.settings.body_limit;
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(docs::Document::new(&document)))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            layers::observe,
        ))
        .with_state(state);
    (router, document)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Endpoint not found".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

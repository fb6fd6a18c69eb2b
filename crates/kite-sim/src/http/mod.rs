//! The HTTP side: Kite's REST routes, the admin routes and the ticker upgrade on `/`.

pub mod account;
pub mod admin;
pub mod gate;
pub mod market;
pub mod orders;
pub mod reply;

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::http::reply::ApiError;
use crate::shared::Shared;

/// Every route of the sim.
pub fn router(shared: Arc<Shared>) -> Router {
    let kite = Router::new()
        .route(
            "/session/token",
            post(account::login).delete(account::logout),
        )
        .route("/user/profile", get(account::user_profile))
        .route("/user/margins", get(account::margins))
        .route("/user/margins/{segment}", get(account::segment_margins))
        .route("/portfolio/positions", get(account::positions))
        .route("/portfolio/holdings", get(account::holdings))
        .route("/quote", get(market::quote))
        .route("/quote/ltp", get(market::ltp))
        .route("/quote/ohlc", get(market::ohlc))
        .route("/instruments", get(market::instruments))
        .route("/instruments/{exchange}", get(market::instruments_of))
        .route(
            "/instruments/historical/{token}/{interval}",
            get(market::historical),
        )
        .route("/orders", get(orders::orders))
        // One parameter name per position: `{id}` is a variety for POST, an order id for GET.
        .route("/orders/{id}", post(orders::place).get(orders::history))
        .route("/orders/{id}/trades", get(orders::order_trades))
        .route(
            "/orders/{id}/{order_id}",
            axum::routing::put(orders::modify).delete(orders::cancel),
        )
        .route("/trades", get(orders::trades))
        .route("/gtt/triggers", post(orders::place_gtt).get(orders::gtts))
        .route(
            "/gtt/triggers/{id}",
            get(orders::gtt)
                .put(orders::modify_gtt)
                .delete(orders::delete_gtt),
        );
    let admin = Router::new()
        .route("/_sim/requests", get(admin::requests))
        .route("/_sim/orders", get(admin::orders))
        .route("/_sim/positions", get(admin::positions))
        .route("/_sim/price", post(admin::set_price))
        .route("/_sim/reset", post(admin::reset))
        .route("/_sim/faults", get(admin::faults).post(admin::set_faults))
        .route("/_sim/ws/drop", post(admin::drop_sockets))
        .route("/_sim/clock", post(admin::clock));
    kite.merge(admin)
        .route("/", get(crate::ticker::ws::upgrade))
        .fallback(|| async { ApiError::not_found("Route not found") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
                ..ApiError::not_found("Method not allowed on this endpoint.")
            }
        })
        .layer(from_fn_with_state(shared.clone(), gate::gate))
        .with_state(shared)
}

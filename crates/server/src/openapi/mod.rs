//! The OpenAPI 3 document, generated from the code: every route is registered
//! through `utoipa_axum::routes!` from a handler carrying `#[utoipa::path]`, so the
//! router and the document are built from one list (`crate::routes`) and cannot
//! disagree. The types here describe the JSON bodies; the handlers build those
//! bodies in `render`, and a test checks real responses carry every documented
//! required key.
//!
//! Prices are exact decimals inside kitebreak and JSON numbers on the wire, so they
//! are `number` here (`f64` in these documentation types only).

mod account;
mod alerts;
mod risk;
mod strategy;

pub use account::*;
pub use alerts::*;
pub use risk::*;
pub use strategy::*;

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's header: title, version, tags and the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kitebreak",
        description = "Support/resistance breakout trading over Zerodha Kite Connect. \
            Every path and field of the original Python service, plus new endpoints.",
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "alerts", description = "TradingView webhook and price observations"),
        (name = "strategy", description = "Per-symbol strategy state and trades"),
        (name = "risk", description = "Risk limits, today's P&L and the kill switch"),
        (name = "account", description = "Market data and account state through the broker"),
        (name = "service", description = "Health, monitoring, session, metrics and documentation"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme that control endpoints name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every error, and the simple acknowledgements: `{"status", "message"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// `"success"` or `"error"`.
    pub status: String,
    /// What happened, for a human.
    pub message: String,
    /// The symbol asked about (market-data errors only).
    pub symbol: Option<String>,
}

/// `GET /`: the service is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `"success"`.
    pub status: String,
    /// `"kitebreak is running"`, or, while the broker session is expired, that new
    /// entries are paused and why.
    pub message: String,
    /// `"kitebreak"`.
    pub service: String,
    /// The crate version.
    pub version: String,
    /// The active broker (`"paper"`).
    pub broker: String,
    /// Whether price observations may exit open trades.
    pub monitoring_active: bool,
    /// Symbols with an open trade.
    pub active_strategies: usize,
    /// Symbols known.
    pub total_strategies: usize,
    /// `active`, `expired`, `missing`, or `not_required` (paper broker). While it is
    /// not `active`, new entries are refused and exits are still attempted.
    pub broker_session: String,
    /// Why entries are paused for the session, while they are.
    pub broker_session_reason: Option<String>,
    /// What to do about it: `kitebreak login` or `/login`.
    pub broker_session_action: Option<String>,
    /// When the session was found expired.
    pub broker_session_expired_at: Option<String>,
    /// When the current token dies (06:00 IST after its login), when known.
    pub broker_session_expires_at: Option<String>,
}

/// `GET /monitoring`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Monitoring {
    /// `"success"`.
    pub status: String,
    /// Whether price observations may exit open trades.
    pub monitoring_active: bool,
    /// Symbols with an open trade.
    pub active_strategies: usize,
    /// Symbols known.
    pub total_strategies: usize,
}

/// `POST /generate_token` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateToken {
    /// The request token Kite's login redirect carried.
    pub request_token: String,
}

/// `POST /generate_token` answer. The access token is never shown whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenGenerated {
    /// `"success"`.
    pub status: String,
    /// Whether the running engine uses the token now.
    pub message: String,
    /// The first 10 characters of the access token, then `...`.
    pub access_token: String,
    /// Kite user id.
    pub user_id: String,
    /// The user's name.
    pub user_name: String,
    /// When the token dies (06:00 IST after the login).
    pub expires_at: String,
}

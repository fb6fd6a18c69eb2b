//! Kite login endpoints. The paper broker has no session, so they answer 400 with
//! a clear message (the paths stay, so the original's clients get the original's
//! status for "the exchange failed"); the Kite broker will implement them.

use crate::ApiError;

const PAPER: &str = "Kite login is not available: this server runs the paper broker";

/// `POST /generate_token`: exchange Kite's request token for an access token.
#[utoipa::path(post, path = "/generate_token", tag = "service", security(("bearer" = [])),
    request_body = crate::openapi::GenerateToken,
    responses((status = 200, body = crate::openapi::Message), (status = 400, body = crate::openapi::Message)))]
pub async fn generate_token() -> ApiError {
    ApiError::BadRequest(PAPER.into())
}

/// `GET /login`: redirect to Kite's login page.
#[utoipa::path(get, path = "/login", tag = "service",
    responses((status = 302, description = "to Kite's login page"), (status = 400, body = crate::openapi::Message)))]
pub async fn login() -> ApiError {
    ApiError::BadRequest(PAPER.into())
}

/// `GET /login/callback`: Kite's redirect back with `request_token`.
#[utoipa::path(get, path = "/login/callback", tag = "service",
    params(("request_token" = Option<String>, Query, description = "from Kite")),
    responses((status = 200, body = crate::openapi::Message), (status = 400, body = crate::openapi::Message)))]
pub async fn login_callback() -> ApiError {
    ApiError::BadRequest(PAPER.into())
}

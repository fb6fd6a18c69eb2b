//! Bearer-token auth for control endpoints (everything that changes state or shows
//! account data). With no token configured the server listens on loopback only,
//! and these endpoints are open to local callers.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use crate::{ApiError, AppState};

/// Middleware: lets the request through when the token matches.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = &state.settings.api_token else {
        return Ok(next.run(request).await);
    };
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return Err(ApiError::Unauthorized("missing bearer token"));
    };
    if !token.matches(given.trim()) {
        return Err(ApiError::Forbidden("invalid bearer token"));
    }
    Ok(next.run(request).await)
}

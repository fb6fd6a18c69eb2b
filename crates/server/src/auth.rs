//! Authentication: the bearer token on control endpoints (everything that changes
//! state or shows account data) and the webhook's passphrase, both compared in
//! constant time ([`crate::Secret::matches`]) and both behind the per-client
//! failure limit ([`crate::guard::AuthGuard`]). With no token configured the server
//! listens on loopback only, and control endpoints are open to local callers.
//!
//! Error messages name what was wrong, never what was expected or what was sent.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::guard::ClientIp;
use crate::metrics::WebhookOutcome;
use crate::{ApiError, AppState};

/// Middleware: lets the request through when the bearer token matches.
pub async fn require_token(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = &state.settings.api_token else {
        return Ok(next.run(request).await);
    };
    state.guard.check(client)?;
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let verdict = match header.and_then(|h| h.strip_prefix("Bearer ")) {
        None => Err(ApiError::Unauthorized("missing bearer token")),
        Some(given) if token.matches(given.trim()) => Ok(()),
        Some(_) => Err(ApiError::Forbidden("invalid bearer token")),
    };
    if verdict.is_err() {
        state.guard.fail(client);
        tracing::warn!(%client, "control request with a missing or wrong bearer token");
    }
    verdict?;
    Ok(next.run(request).await)
}

/// Checks a webhook body's `passphrase` when one is configured.
pub fn check_passphrase(
    state: &AppState,
    client: ClientIp,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(secret) = &state.settings.webhook_secret else {
        return Ok(());
    };
    if let Err(throttled) = state.guard.check(client.0) {
        state.metrics.webhook(WebhookOutcome::Throttled);
        return Err(throttled);
    }
    let verdict = match body.get("passphrase") {
        None | Some(Value::Null) => Err(ApiError::Unauthorized("missing passphrase")),
        Some(Value::String(given)) if secret.matches(given) => Ok(()),
        Some(_) => Err(ApiError::Forbidden("invalid passphrase")),
    };
    if verdict.is_err() {
        state.guard.fail(client.0);
        state.metrics.webhook(WebhookOutcome::Unauthorized);
        tracing::warn!(client = %client.0, "webhook with a missing or wrong passphrase");
    }
    verdict
}

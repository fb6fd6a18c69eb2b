//! `POST /kite/postback`: Kite's order webhook, the second fast path (after the
//! ticker's order updates) to an order's final status.
//!
//! Public (Kite cannot send a bearer token), so nothing in the body is trusted until
//! the broker has verified it: for Kite, `SHA-256(order_id + order_timestamp +
//! api_secret)` must equal the body's `checksum`. A wrong checksum is 403 and changes
//! nothing; an unreadable body is 400; a broker without postbacks (paper, or Kite
//! without `KITE_API_SECRET`) is 404. A verified update for an order the engine does
//! not know is acknowledged and ignored, and a duplicate or late one is harmless (see
//! the engine's `updates` module).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use kitebreak_engine::{BrokerError, UpdateOutcome};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

/// `POST /kite/postback`: an order update from Kite, verified by its checksum.
#[utoipa::path(post, path = "/kite/postback", tag = "session",
    request_body(content = Object, content_type = "application/json",
        description = "Kite's postback: the order object plus `checksum`"),
    responses(
        (status = 200, description = "verified; `outcome` is applied, duplicate or ignored", body = Object),
        (status = 400, description = "not a readable postback", body = crate::openapi::Message),
        (status = 403, description = "checksum does not match", body = crate::openapi::Message),
        (status = 404, description = "this broker takes no postbacks", body = crate::openapi::Message),
        (status = 413, description = "body over the limit", body = crate::openapi::Message),
    ))]
pub async fn postback(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let update = match state.engine.broker().verify_postback(&body) {
        Ok(update) => update,
        Err(error) => {
            let outcome = match &error {
                BrokerError::Forged(_) => "forged",
                BrokerError::Unsupported(_) => "unsupported",
                _ => "unreadable",
            };
            state.metrics.order_update("postback", outcome);
            return Err(match error {
                BrokerError::Forged(_) => {
                    tracing::warn!("postback with a wrong checksum refused");
                    ApiError::Forbidden("postback checksum does not match")
                }
                BrokerError::Unsupported(what) => {
                    ApiError::NotFound(format!("the broker does not take {what}"))
                }
                other => ApiError::BadRequest(other.to_string()),
            });
        }
    };
    let order_id = update.order_id.clone();
    let outcome = match state.engine.order_update(update) {
        UpdateOutcome::Applied => "applied",
        UpdateOutcome::Duplicate => "duplicate",
        UpdateOutcome::Ignored => "ignored",
    };
    state.metrics.order_update("postback", outcome);
    Ok(Json(
        json!({"status": "success", "order_id": order_id, "outcome": outcome}),
    ))
}

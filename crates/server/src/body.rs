//! Reading request bodies: JSON whatever the `Content-Type` (TradingView sends
//! `text/plain`), with our error shape for every way a body can be wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::ApiError;

/// A request body that is a non-empty JSON object.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<JsonObject, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("could not read the request body".into())
                }
            })?;
        parse_object(&bytes).map(JsonObject)
    }
}

/// Parses `bytes` as a non-empty JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "request body is empty; expected a JSON object".into(),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) if map.is_empty() => Err(ApiError::BadRequest(
            "request body is an empty JSON object".into(),
        )),
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::BadRequest(
            "request body must be a JSON object".into(),
        )),
    }
}

/// An optional field decoded with the type's own serde rules (our price and
/// quantity types accept JSON numbers and numeric strings). `null` counts as absent.
pub fn optional<T: serde::de::DeserializeOwned>(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|e| ApiError::BadRequest(format!("invalid `{name}`: {e}"))),
    }
}

/// A field that must be present.
pub fn required<T: serde::de::DeserializeOwned>(
    body: &Map<String, Value>,
    name: &str,
) -> Result<T, ApiError> {
    optional(body, name)?.ok_or_else(|| ApiError::BadRequest(format!("missing field `{name}`")))
}

/// A field that must be a string, if present.
pub fn optional_str<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::BadRequest(format!("`{name}` must be a string"))),
    }
}

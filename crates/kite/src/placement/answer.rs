//! Answers on the placement connection, decoded into the official crate's errors
//! exactly as its client decodes them (kiteconnect 1.0.1: `client.rs` `send`,
//! `call.rs` `envelope_data`, `error.rs` `error_from_response`), so that
//! [`crate::KiteError::from_placement`] classifies both paths alike
//! (`tests/it/errors.rs` `both_placement_paths_decode_every_answer_alike`).

use serde::de::DeserializeOwned;

/// An answer off the wire, before decoding.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: http::HeaderMap,
    pub(super) body: bytes::Bytes,
}

/// Kite's JSON envelope.
#[derive(serde::Deserialize)]
struct Envelope {
    status: String,
    data: Option<serde_json::Value>,
    message: Option<String>,
    error_type: Option<String>,
}

/// The answer as the crate's client decodes it: a non-2xx is Cloudflare's block, a
/// Kite error envelope or a bare HTTP error; a 2xx is an envelope whose `data` is
/// the result, or the error it carries.
pub(super) fn decode<T: DeserializeOwned>(answer: &Answer, path: &str) -> kiteconnect::Result<T> {
    let Answer {
        status,
        headers,
        body,
    } = answer;
    let status = *status;
    let path = path.split('?').next().unwrap_or_default();
    let decode_error = |source| kiteconnect::Error::Decode {
        path: path.to_string(),
        source,
    };
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(body);
        if headers.contains_key("cf-mitigated") || is_cloudflare_block_page(&text) {
            let ray = headers.get("cf-ray").and_then(|v| v.to_str().ok());
            return Err(kiteconnect::Error::Blocked {
                status,
                ray: ray.map(str::to_string),
            });
        }
        return Err(match serde_json::from_str::<Envelope>(&text) {
            Ok(envelope) => api_error(envelope, status, || format!("HTTP {status}")),
            Err(_) => kiteconnect::Error::Http {
                status,
                path: path.to_string(),
            },
        });
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(decode_error)?;
    if envelope.status != "success" {
        return Err(api_error(envelope, status, || {
            "Unknown Kite API error".to_string()
        }));
    }
    serde_json::from_value(envelope.data.unwrap_or_default()).map_err(decode_error)
}

fn api_error(
    envelope: Envelope,
    status: u16,
    default: impl FnOnce() -> String,
) -> kiteconnect::Error {
    let kind =
        kiteconnect::error::ErrorKind::from(envelope.error_type.as_deref().unwrap_or("Unknown"));
    let message = envelope.message.unwrap_or_else(default);
    kiteconnect::error::ApiError::new(kind, message, status, envelope.data).into()
}

/// Cloudflare's challenge page, its block page, and its browser-signature ban (the
/// crate's test).
fn is_cloudflare_block_page(text: &str) -> bool {
    text.contains("<title>Just a moment...</title>")
        || text.contains("<title>Attention Required! | Cloudflare</title>")
        || text.trim() == "error code: 1010"
}

//! The one middleware every request passes through: request id, tracing span and
//! metrics.
//!
//! Every request gets an `x-request-id` (the caller's, when it sent one, else a
//! fresh one of this process, see [`fresh_id`]), every log line inside the request carries it through the `request`
//! span, and the response echoes it. The span records the method, the path and the
//! route template, never the query string (Kite's `request_token` arrives in one),
//! headers or body (tokens and passphrases live there). The request is then counted
//! and its latency recorded under its route template (see [`Metrics::request`]).
//!
//! One `from_fn` layer instead of tower-http's three (set id, trace, propagate id)
//! plus a metrics layer: each layer is a boxed service cloned per request, which
//! showed in the webhook's profile (BENCHMARKS.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::Metrics;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id of this process: a random prefix drawn once at start and a counter
/// (`3f9a1c2b-17`). Unique across restarts for any practical purpose, and unlike a
/// UUID v4 per request, no call to the OS's random source on every request (it
/// showed in the webhook's profile).
fn fresh_id() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        // The low 32 bits of a v4 UUID are random.
        (uuid::Uuid::new_v4().as_u128() & u128::from(u32::MAX)) as u32
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Hex digits, a dash and decimal digits: always a valid header value.
    HeaderValue::from_str(&format!("{prefix:08x}-{n}")).unwrap_or(HeaderValue::from_static("-"))
}

/// Middleware: see the module docs.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let id = fresh_id();
            request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
            id
        }
    };
    // A clone of the matched path is a reference count, not a copy of the text.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %request.uri().path(),
        route = %route,
        request_id = id.to_str().unwrap_or("-"),
    );
    let start = Instant::now();
    let (mut response, latency) = async move {
        tracing::debug!("started processing request");
        let response = next.run(request).await;
        let latency = start.elapsed();
        let status = response.status().as_u16();
        if response.status().is_server_error() {
            tracing::error!(?latency, status, "response failed");
        } else {
            tracing::debug!(?latency, status, "finished processing request");
        }
        (response, latency)
    }
    .instrument(span)
    .await;
    metrics.request(&method, route, response.status(), latency);
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_share_the_process_prefix_and_never_repeat() {
        let ids: Vec<String> = (0..3)
            .map(|_| fresh_id().to_str().expect("ascii").to_owned())
            .collect();
        let parts: Vec<(&str, u64)> = ids
            .iter()
            .map(|id| {
                let (prefix, n) = id.split_once('-').expect("prefix-counter");
                (prefix, n.parse().expect("counter"))
            })
            .collect();
        assert!(
            parts.iter().all(|(p, _)| p.len() == 8 && *p == parts[0].0),
            "{ids:?}"
        );
        assert!(parts.windows(2).all(|w| w[0].1 < w[1].1), "{ids:?}");
    }
}

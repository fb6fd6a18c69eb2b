//! The one middleware every request passes through: request id, tracing span and
//! metrics.
//!
//! Every request gets an `x-request-id` (the caller's, when it sent one, else a
//! fresh UUID), every log line inside the request carries it through the `request`
//! span, and the response echoes it. The span records the method, the path and the
//! route template, never the query string (Kite's `request_token` arrives in one),
//! headers or body (tokens and passphrases live there). The request is then counted
//! and its latency recorded under its route template (see [`Metrics::request`]).
//!
//! One `from_fn` layer instead of tower-http's three (set id, trace, propagate id)
//! plus a metrics layer: each layer is a boxed service cloned per request, which
//! showed in the webhook's profile (BENCHMARKS.md).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::Metrics;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: see the module docs.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let mut buffer = uuid::Uuid::encode_buffer();
            let fresh = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
            // A hyphenated UUID is always a valid header value.
            let id = HeaderValue::from_str(fresh).unwrap_or(HeaderValue::from_static("-"));
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

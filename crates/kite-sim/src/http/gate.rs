//! The gate every Kite API request passes: log it, apply faults, check the session.
//!
//! Order matters: a request is logged first (so tests see even the ones that then hang
//! or fail), faults come next (a real outage answers before auth), then the
//! `X-Kite-Version` and `Authorization: token key:access` checks, then Kite's opt-in
//! per-second limits. Admin paths (`/_sim/...`) skip the gate; the ticker on `/` logs
//! its upgrade and frames itself (`ticker::ws`).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::faults::Outcome;
use crate::http::reply::ApiError;
use crate::params::Params;
use crate::sessions::Sessions;
use crate::shared::{LoggedRequest, Shared};

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

/// Paths Kite serves without a session.
fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::POST && path == "/session/token")
        || (method == Method::GET
            && (path == "/instruments"
                || (path.starts_with("/instruments/")
                    && !path.starts_with("/instruments/historical/"))))
}

/// The middleware.
pub async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/_sim") || path == "/" {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return ApiError::input("Request body too large or unreadable.").into_response();
    };
    let query = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let form = Params::parse(&bytes);
    let id = shared.log_request(LoggedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.0.clone(),
        headers: header_pairs(&parts.headers),
        form: form.0.clone(),
        ..LoggedRequest::default()
    });
    let response = match check(&shared, &parts, &path).await {
        Err(error) => error.into_response(),
        Ok(()) => {
            let mut params = query;
            params.extend(form);
            parts.extensions.insert(params);
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    shared.log_status(id, response.status().as_u16());
    response
}

/// Headers as text pairs, in arrival order, for the request log.
pub fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

async fn check(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    path: &str,
) -> Result<(), ApiError> {
    let (latency, outcome) = shared.with_world(|world, _| {
        let mut faults = world.faults.clone();
        let outcome = faults.draw(&mut world.rng);
        world.faults = faults;
        (world.faults.latency_ms, outcome)
    });
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    match outcome {
        Some(Outcome::Hang) => std::future::pending::<()>().await,
        Some(Outcome::Status(status)) => return Err(ApiError::injected(status)),
        None => {}
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-kite-version") != Some("3") {
        return Err(ApiError::input(
            "Missing or unsupported `X-Kite-Version` header (the sim speaks 3).",
        ));
    }
    if is_public(&parts.method, path) {
        return Ok(());
    }
    let (api_key, token) = header("authorization")
        .and_then(Sessions::parse_authorization)
        .ok_or_else(ApiError::token)?;
    let second = shared.rate_second();
    let (admitted, within_limits) = shared.with_world(|world, now| {
        let admitted = world.sessions.admits(api_key, token, now);
        (admitted, admitted && world.limits.admit(path, second))
    });
    match (admitted, within_limits) {
        (false, _) => Err(ApiError::token()),
        (true, false) => Err(ApiError::injected(429)),
        (true, true) => Ok(()),
    }
}

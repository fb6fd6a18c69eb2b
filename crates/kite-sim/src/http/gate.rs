//! The gate every Kite API request passes: log it, apply faults, check the session.
//!
//! Order matters: a request is logged first (so tests see even the ones that then hang
//! or fail), faults come next (a real outage answers before auth), then the
//! `X-Kite-Version` and `Authorization: token key:access` checks. Admin paths
//! (`/_sim/...`) and the ticker upgrade on `/` skip the gate.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::clock::kite_time;
use crate::faults::Outcome;
use crate::http::reply::ApiError;
use crate::params::Params;
use crate::sessions::Sessions;
use crate::shared::{LoggedRequest, Shared, lock};

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;

/// Most requests kept in the log.
const MAX_LOG: usize = 100_000;

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
    let id = shared.next_request_id();
    let entry = LoggedRequest {
        id,
        at: kite_time(shared.clock.now()),
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.0.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        form: form.0.clone(),
        status: 0,
    };
    {
        let mut log = lock(&shared.log);
        if log.len() >= MAX_LOG {
            // Long runs keep the most recent requests; tests never come close.
            log.drain(..MAX_LOG / 2);
        }
        log.push(entry);
    }
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
    if let Some(entry) = lock(&shared.log).iter_mut().rev().find(|e| e.id == id) {
        entry.status = response.status().as_u16();
    }
    response
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
    let (admitted, within_limits) = shared.with_world(|world, now| {
        let admitted = world.sessions.admits(api_key, token, now);
        (
            admitted,
            admitted && world.limits.admit(path, now.as_second()),
        )
    });
    match (admitted, within_limits) {
        (false, _) => Err(ApiError::token()),
        (true, false) => Err(ApiError::injected(429)),
        (true, true) => Ok(()),
    }
}

//! Kite login over HTTP and the broker session in status responses.
//!
//! - `GET /login` (public): 302 to Kite's login page for `KITE_API_KEY`, built by
//!   the same function `kitebreak login` prints its URL with, carrying a one-time
//!   `state` nonce (see `crate::login` for why and how the callback is protected).
//! - `GET /login/callback` (public: Kite's redirect opens it in the browser, which
//!   cannot add a bearer token): needs `status=success`, the `request_token`, and
//!   the `state` matching the cookie `GET /login` set; exchanges the token, stores
//!   the session file, installs it in the running engine; answers a small page.
//! - `POST /generate_token` (bearer token, like every state-changing endpoint): as the
//!   original, `{"request_token"}` → `{status, message, access_token}` with the token
//!   masked.
//!
//! Without `KITE_API_KEY` and `KITE_API_SECRET` all three answer 503 with what to
//! set. The access token, the request token and the secret never appear in a
//! response or a log line.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kitebreak_engine::{BrokerSession, Engine, LOGIN_HINT, SessionHealth};
use kitebreak_kite::{StoredSession, session};
use serde_json::{Map, Value, json};

use crate::body::{JsonObject, optional_str};
use crate::guard::ClientIp;
use crate::login::{COOKIE as LOGIN_COOKIE, NONCE_TTL, masked};
use crate::{ApiError, AppState};

/// The longest request token accepted (Kite's are 32 characters).
const TOKEN_MAX: usize = 128;

/// `POST /generate_token`: exchange Kite's request token for an access token, store
/// it, and use it at once.
#[utoipa::path(post, path = "/generate_token", tag = "service", security(("bearer" = [])),
    request_body = crate::openapi::GenerateToken,
    responses((status = 200, body = crate::openapi::TokenGenerated),
        (status = 400, description = "no JSON, no request_token, or the exchange failed", body = crate::openapi::Message),
        (status = 401, body = crate::openapi::Message), (status = 403, body = crate::openapi::Message),
        (status = 503, description = "KITE_API_KEY/KITE_API_SECRET not set", body = crate::openapi::Message)))]
pub async fn generate_token(
    State(state): State<AppState>,
    body: Result<JsonObject, ApiError>,
) -> Result<Json<Value>, ApiError> {
    state.login.config()?;
    let JsonObject(body) = body?;
    let token = optional_str(&body, "request_token")?
        .ok_or_else(|| ApiError::BadRequest("missing field `request_token`".into()))?;
    let token = checked_token(token)?;
    let stored = state.login.complete(&state.engine, token).await?;
    let mut answer = json!({
        "status": "success",
        "message": login_message(&state.engine),
        "access_token": masked(stored.access_token.expose()),
    });
    add_user(&mut answer, &stored);
    Ok(Json(answer))
}

/// `GET /login`: redirect to Kite's login page.
#[utoipa::path(get, path = "/login", tag = "service",
    responses((status = 302, description = "to Kite's login page, with a one-time `state` and its cookie"),
        (status = 503, description = "KITE_API_KEY/KITE_API_SECRET not set", body = crate::openapi::Message)))]
pub async fn login(State(state): State<AppState>) -> Result<Response, ApiError> {
    let config = state.login.config()?;
    let nonce = state.login.begin();
    let url = session::login_url(config, Some(&format!("state={nonce}")))
        .map_err(|e| ApiError::UnavailableBecause(format!("Kite login is misconfigured: {e}")))?;
    let location = HeaderValue::try_from(url).map_err(|_| {
        ApiError::UnavailableBecause("Kite's login URL is not a valid header".into())
    })?;
    let cookie = format!(
        "{LOGIN_COOKIE}={nonce}; Path=/login; Max-Age={}; HttpOnly; SameSite=Lax",
        NONCE_TTL.as_secs()
    );
    let cookie = HeaderValue::try_from(cookie)
        .map_err(|_| ApiError::UnavailableBecause("login cookie".into()))?;
    let headers = [
        (LOCATION, location),
        (SET_COOKIE, cookie),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((StatusCode::FOUND, headers).into_response())
}

/// `GET /login/callback`: Kite's redirect back with `request_token`.
#[utoipa::path(get, path = "/login/callback", tag = "service",
    params(("request_token" = Option<String>, Query, description = "from Kite"),
        ("status" = Option<String>, Query, description = "`success` from Kite"),
        ("state" = Option<String>, Query, description = "the nonce `GET /login` sent, returned by Kite")),
    responses((status = 200, description = "logged in: a small page (no token on it)", content_type = "text/html"),
        (status = 400, description = "Kite did not report success, no request_token, or the exchange failed", body = crate::openapi::Message),
        (status = 403, description = "the login did not start at this server's /login", body = crate::openapi::Message),
        (status = 503, description = "KITE_API_KEY/KITE_API_SECRET not set", body = crate::openapi::Message)))]
pub async fn login_callback(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    state.login.config()?;
    // A wrong `state` counts as a failed authentication, like a wrong bearer token.
    state.guard.check(client)?;
    let Query(query) = query.map_err(|_| ApiError::BadRequest("unreadable query string".into()))?;
    if query.get("status").map(String::as_str) != Some("success") {
        return Err(ApiError::BadRequest(
            "Kite did not report a successful login (`status` is not `success`); log in again at /login"
                .into(),
        ));
    }
    let token = query
        .get("request_token")
        .ok_or_else(|| ApiError::BadRequest("missing `request_token` from Kite".into()))?;
    let token = checked_token(token)?;
    let nonce = query.get("state").map_or("", String::as_str);
    if !state.login.finish(nonce, cookie(&headers, LOGIN_COOKIE)) {
        state.guard.fail(client);
        tracing::warn!(%client, "login callback without this server's login state; nothing exchanged");
        return Err(ApiError::Forbidden(
            "this login did not start at this server's /login, or it is older than 10 minutes: \
             open /login again (or pass the request_token to `kitebreak login --request-token`)",
        ));
    }
    let stored = state.login.complete(&state.engine, token).await?;
    let page = success_page(&stored, login_message(&state.engine));
    let clear = format!("{LOGIN_COOKIE}=; Path=/login; Max-Age=0; HttpOnly; SameSite=Lax");
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(clear) = HeaderValue::try_from(clear) {
        headers.insert(SET_COOKIE, clear);
    }
    Ok(response)
}

/// A request token as Kite sends it: printable, no spaces, not absurdly long.
fn checked_token(token: &str) -> Result<&str, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::BadRequest("`request_token` is empty".into()));
    }
    if token.len() > TOKEN_MAX || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(
            "`request_token` is not a Kite request token".into(),
        ));
    }
    Ok(token)
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn login_message(engine: &Engine) -> &'static str {
    match engine.session() {
        Some(_) => "Access token generated and stored; the running engine uses it now",
        None => {
            "Access token generated and stored; this server runs the paper broker, \
             `kitebreak serve --broker kite` will use it"
        }
    }
}

fn add_user(body: &mut Value, stored: &StoredSession) {
    body["user_id"] = json!(stored.user_id);
    body["user_name"] = json!(stored.user_name);
    body["expires_at"] = json!(stored.expires_at.to_string());
}

fn success_page(stored: &StoredSession, message: &str) -> String {
    let ist = stored.expires_at.to_zoned(kitebreak_kite::time::ist());
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kitebreak: logged in</title></head>\
         <body><h1>Logged in to Kite</h1><p>as {} ({})</p><p>{}</p>\
         <p>The session expires at {} IST. You can close this tab.</p></body></html>",
        escape(&stored.user_name),
        escape(&stored.user_id),
        escape(message),
        escape(&ist.strftime("%Y-%m-%d %H:%M").to_string()),
    )
}

/// HTML-escapes text from Kite (a user name) before it goes on the page.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The broker-session fields `GET /` and `GET /risk` carry: `broker_session`
/// (`active`, `expired`, `missing`, or `not_required` for the paper broker), and
/// while it is not active, why and what to do.
pub fn session_fields(session: Option<&BrokerSession>) -> Map<String, Value> {
    let mut fields = Map::new();
    let name = session.map_or("not_required", BrokerSession::state_name);
    fields.insert("broker_session".into(), json!(name));
    let refusal = session.and_then(BrokerSession::refusal);
    let action = refusal.as_ref().map(|_| LOGIN_HINT);
    let since = session.and_then(|s| match s.health {
        SessionHealth::Expired(expired) => Some(expired.since.to_string()),
        SessionHealth::Active | SessionHealth::Missing => None,
    });
    fields.insert("broker_session_reason".into(), json!(refusal));
    fields.insert("broker_session_action".into(), json!(action));
    fields.insert("broker_session_expired_at".into(), json!(since));
    let expires = session.and_then(|s| s.expires_at).map(|t| t.to_string());
    fields.insert("broker_session_expires_at".into(), json!(expires));
    fields
}

/// The session gauges `GET /metrics` exports (none for the paper broker):
/// `kitebreak_broker_session_expired` (1 while entries are paused for the session)
/// and `kitebreak_broker_session_expiries` (expiries since start).
pub fn export_metrics(state: &AppState) {
    let Some(session) = state.engine.broker_session() else {
        return;
    };
    let expired = if session.health == SessionHealth::Active {
        0.0
    } else {
        1.0
    };
    let metrics = &state.metrics;
    metrics.gauge("kitebreak_broker_session_expired", Vec::new(), expired);
    metrics.gauge(
        "kitebreak_broker_session_expiries",
        Vec::new(),
        session.expiries as f64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_user_names_are_escaped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; kitebreak_login=n0nce; b=2"),
        );
        assert_eq!(cookie(&headers, "kitebreak_login"), Some("n0nce"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn request_tokens_are_checked_before_anything_is_sent() {
        assert_eq!(checked_token(" abc123 ").ok(), Some("abc123"));
        assert!(checked_token("").is_err());
        assert!(checked_token("a b").is_err());
        assert!(checked_token(&"x".repeat(TOKEN_MAX + 1)).is_err());
    }
}

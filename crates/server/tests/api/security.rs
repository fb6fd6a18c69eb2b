//! Security beyond the secrets themselves: failures rate limited, secrets kept out
//! of responses, request ids on every request. (Logs: `tests/logs.rs`.)

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_secured, spawn_with};

fn candle(passphrase: &str) -> Value {
    json!({"symbol": "INFY", "high": 11, "low": 9, "close": 10, "passphrase": passphrase})
}

#[tokio::test]
async fn repeated_authentication_failures_get_429_with_a_json_error() {
    let app = spawn_with(|config| {
        config.webhook_secret = kitebreak_server::Secret::new("tv-secret");
        config.api_token = kitebreak_server::Secret::new("api-token");
        config.auth_failures_per_minute = 3;
    })
    .await;
    for _ in 0..2 {
        app.alert(candle("guess"))
            .await
            .assert_status(StatusCode::FORBIDDEN);
    }
    app.server
        .get("/orders")
        .authorization_bearer("guess")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let blocked = app.alert(candle("guess")).await;
    blocked.assert_status(StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers().contains_key("retry-after"));
    let body: Value = blocked.json();
    assert_eq!(body["status"], "error");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many"))
    );
    // While blocked even the right secret is refused, so guessing cannot go on.
    app.alert(candle("tv-secret"))
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    app.server
        .get("/orders")
        .authorization_bearer("api-token")
        .await
        .assert_status(StatusCode::TOO_MANY_REQUESTS);
    app.server
        .get("/strategy/INFY")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn callers_that_authenticate_are_never_throttled() {
    let app = spawn_with(|config| {
        config.webhook_secret = kitebreak_server::Secret::new("tv-secret");
        config.auth_failures_per_minute = 2;
    })
    .await;
    for minute in 0..20 {
        let body = json!({"symbol": "INFY", "high": 11, "low": 9, "close": 10,
            "time": 1_700_000_000 + 60 * minute, "passphrase": "tv-secret"});
        app.alert(body).await.assert_status_ok();
    }
}

#[tokio::test]
async fn a_request_id_sent_by_the_caller_is_echoed() {
    let app = spawn_secured().await;
    let response = app
        .server
        .get("/")
        .add_header("x-request-id", "caller-id-42")
        .await;
    response.assert_status_ok();
    assert_eq!(response.header("x-request-id"), "caller-id-42");
}

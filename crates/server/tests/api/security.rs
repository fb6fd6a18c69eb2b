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

/// Sends one webhook alert over a fresh connection from `source` (any 127.x
/// address works on Linux loopback) and returns the status code.
async fn alert_from(source: [u8; 4], server: std::net::SocketAddr, body: &Value) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind((source, 0).into()).expect("bind source");
    let mut stream = socket.connect(server).await.expect("connect");
    let body = body.to_string();
    let request = format!(
        "POST /webhook HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_failure_limit_is_kept_per_client_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = crate::helpers::config(dir.path());
    config.webhook_secret = kitebreak_server::Secret::new("tv-secret");
    config.auth_failures_per_minute = 1;
    let app = kitebreak_server::App::start(config).await.expect("app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(axum::serve(listener, app.service()).into_future());
    let wrong = candle("guess");
    assert_eq!(alert_from([127, 0, 0, 2], address, &wrong).await, 403);
    assert_eq!(alert_from([127, 0, 0, 2], address, &wrong).await, 429);
    assert_eq!(alert_from([127, 0, 0, 3], address, &wrong).await, 403);
    assert_eq!(
        alert_from([127, 0, 0, 3], address, &candle("tv-secret")).await,
        429
    );
    assert_eq!(
        alert_from([127, 0, 0, 4], address, &candle("tv-secret")).await,
        200
    );
    server.abort();
    app.shutdown().await;
}

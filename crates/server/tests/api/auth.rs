//! Passphrase on the webhook, bearer token on control endpoints, loopback-only
//! without secrets.

use axum::http::StatusCode;
use kitebreak_server::{ServerError, serve};
use serde_json::json;

use crate::helpers::{config, spawn_secured};

#[tokio::test]
async fn the_webhook_needs_the_passphrase_when_one_is_configured() {
    let app = spawn_secured().await;
    let candle = |extra: serde_json::Value| {
        let mut body = json!({"symbol": "INFY", "high": 11, "low": 9, "close": 10});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    app.alert(candle(json!({})))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.alert(candle(json!({"passphrase": "wrong"})))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.alert(candle(json!({"passphrase": 12})))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.server
        .get("/strategy/INFY")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.alert(candle(json!({"passphrase": "tv-secret"})))
        .await
        .assert_status_ok();
    app.server.get("/strategy/INFY").await.assert_status_ok();
}

#[tokio::test]
async fn control_endpoints_need_the_bearer_token() {
    let app = spawn_secured().await;
    app.server
        .post("/monitoring/stop")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.server
        .post("/monitoring/stop")
        .authorization_bearer("nope")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    app.server
        .get("/orders")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.server.get("/monitoring").await.assert_status_ok();
    assert_eq!(
        app.server
            .get("/monitoring")
            .await
            .json::<serde_json::Value>()["monitoring_active"],
        true
    );
    app.server
        .post("/monitoring/stop")
        .authorization_bearer("api-token")
        .await
        .assert_status_ok();
    app.server.get("/").await.assert_status_ok();
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let result = serve(config(dir.path()), listener, std::future::ready(())).await;
    assert!(
        matches!(result, Err(ServerError::InsecureListen(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn serve_stops_cleanly_on_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let result = serve(config(dir.path()), listener, std::future::ready(())).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(dir.path().join("kitebreak.db").exists());
}

//! Bad input: always a 4xx JSON error, never a 5xx, never a state change.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn assert_rejected(app: &TestApp, body: &str, why: &str) {
    let response = app.server.post("/webhook").text(body.to_owned()).await;
    let status = response.status_code();
    assert!(status.is_client_error(), "{why}: {body} gave {status}");
    let json: Value = response.json();
    assert_eq!(json["status"], "error", "{why}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{why}: no message"
    );
}

async fn snapshot(app: &TestApp) -> Value {
    app.server.get("/strategies").await.json()
}

#[tokio::test]
async fn malformed_webhook_bodies_are_400_and_change_nothing() {
    let app = spawn_app().await;
    app.alert(json!({"symbol": "OK", "high": 11, "low": 9, "close": 10}))
        .await
        .assert_status_ok();
    let before = snapshot(&app).await;
    let cases = [
        ("", "empty body"),
        ("   ", "blank body"),
        ("{", "truncated JSON"),
        ("not json", "plain text"),
        ("[]", "an array"),
        ("{}", "empty object"),
        ("null", "null"),
        (r#"{"high": 11, "low": 9, "close": 10}"#, "no symbol"),
        (
            r#"{"symbol": 5, "high": 11, "low": 9, "close": 10}"#,
            "numeric symbol",
        ),
        (r#"{"symbol": "OK"}"#, "neither candle nor action"),
        (r#"{"symbol": "OK", "high": 11, "low": 9}"#, "missing close"),
        (
            r#"{"symbol": "OK", "high": "abc", "low": 9, "close": 10}"#,
            "non-numeric high",
        ),
        (
            r#"{"symbol": "OK", "high": true, "low": 9, "close": 10}"#,
            "boolean high",
        ),
        (
            r#"{"symbol": "OK", "high": "NaN", "low": 9, "close": 10}"#,
            "NaN",
        ),
        (
            r#"{"symbol": "OK", "high": "inf", "low": 9, "close": 10}"#,
            "infinity",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": -9, "close": 10}"#,
            "negative low",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 0, "close": 10}"#,
            "zero low",
        ),
        (
            r#"{"symbol": "OK", "high": 9, "low": 11, "close": 10}"#,
            "high below low",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 12}"#,
            "close above high",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 8}"#,
            "close below low",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 10, "open": 20}"#,
            "open outside",
        ),
        (
            r#"{"symbol": "OK", "high": 1e300, "low": 9, "close": 10}"#,
            "absurd price",
        ),
        (
            r#"{"symbol": "OK", "high": 11.1234567, "low": 9, "close": 10}"#,
            "too many decimals",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 10, "quantity": 0}"#,
            "zero quantity",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 10, "quantity": 1.5}"#,
            "fractional quantity",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 10, "time": "yesterday"}"#,
            "bad time",
        ),
        (
            r#"{"symbol": "OK", "high": 11, "low": 9, "close": 10, "volume": -5}"#,
            "negative volume",
        ),
        (r#"{"symbol": "OK", "action": "hold"}"#, "unknown action"),
        (r#"{"symbol": "OK", "action": 1}"#, "numeric action"),
        (
            r#"{"symbol": "OK", "action": "buy", "quantity": -1}"#,
            "negative manual quantity",
        ),
    ];
    for (body, why) in cases {
        assert_rejected(&app, body, why).await;
    }
    assert_eq!(snapshot(&app).await, before, "bad input changed state");
}

#[tokio::test]
async fn odd_symbols_are_refused_and_create_no_strategy() {
    let app = spawn_app().await;
    let long = "A".repeat(41);
    for symbol in [
        "",
        " ",
        "NSE:INFY",
        "IN FY",
        "IN/FY",
        "ÄBC",
        "<script>",
        long.as_str(),
    ] {
        let body = json!({"symbol": symbol, "high": 11, "low": 9, "close": 10}).to_string();
        assert_rejected(&app, &body, symbol).await;
    }
    assert_eq!(snapshot(&app).await["count"], 0);
    app.server
        .get("/strategy/IN%20FY")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn numeric_strings_and_any_content_type_are_accepted() {
    let app = spawn_app().await;
    let body = r#"{"symbol": "m&m", "high": "11.5", "low": "9", "close": "10.25", "volume": "1200.0", "time": "2026-11-24 09:15:00"}"#;
    let response = app
        .server
        .post("/webhook")
        .bytes(body.as_bytes().to_vec().into())
        .content_type("application/x-www-form-urlencoded")
        .await;
    response.assert_status_ok();
    assert_eq!(response.json::<Value>()["symbol"], "M&M");
}

#[tokio::test]
async fn oversized_bodies_are_413_in_json() {
    let app = spawn_app().await;
    let padding = "x".repeat(100 * 1024);
    let body =
        json!({"symbol": "OK", "high": 11, "low": 9, "close": 10, "note": padding}).to_string();
    let response = app.server.post("/webhook").text(body).await;
    response.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json::<Value>()["status"], "error");
    assert_eq!(snapshot(&app).await["count"], 0);
}

#[tokio::test]
async fn bad_query_values_are_400() {
    let app = spawn_app().await;
    app.alert(json!({"symbol": "OK", "high": 11, "low": 9, "close": 10}))
        .await;
    app.server
        .post("/strategy/OK/reset?force=maybe")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    app.server
        .get("/trades?date=24-11-2026")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    app.server
        .get("/trades?date=2026-11-24")
        .await
        .assert_status_ok();
    app.server
        .delete("/strategy/OK")
        .await
        .assert_status(StatusCode::METHOD_NOT_ALLOWED);
}

//! `GET /risk` and the kill switch over HTTP: bearer token, refused entries in the
//! webhook's answer, flatten exiting every open trade.

use kitebreak_price::Quantity;
use serde_json::json;

use crate::helpers::{spawn_secured, spawn_with};

#[tokio::test]
async fn the_risk_endpoints_need_the_bearer_token() {
    let app = spawn_secured().await;
    app.server.get("/risk").await.assert_status_unauthorized();
    app.server
        .post("/risk/halt")
        .await
        .assert_status_unauthorized();
    let ok = app
        .server
        .get("/risk")
        .authorization_bearer("api-token")
        .await;
    ok.assert_status_ok();
    let body: serde_json::Value = ok.json();
    assert_eq!(body["kill_switch"], "active");
    assert_eq!(body["limits"]["max_open_trades"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_halted_engine_answers_a_breakout_with_the_reason_and_no_trade() {
    let app = spawn_with(|_| {}).await;
    let halted: serde_json::Value = app.server.post("/risk/halt").await.json();
    assert_eq!(halted["kill_switch"], "halted");
    let body = app.enter_long("INFY").await;
    assert_eq!(body["breakout_signal"], "long");
    assert_eq!(body["trade_entered"], false);
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("halted")),
        "{body}"
    );
    let status = app.status("INFY").await;
    assert_eq!(status["strategy_status"]["position"], "flat", "{status}");
    assert_eq!(
        status["strategy_status"]["levels_locked"], false,
        "{status}"
    );
}

#[tokio::test]
async fn flatten_exits_every_open_trade_and_leaves_the_engine_halted() {
    let app = spawn_with(|config| {
        config.engine.risk.max_order_quantity = Some(Quantity::new(5).expect("qty"));
    })
    .await;
    for symbol in ["INFY", "TCS"] {
        let body = app.enter_long(symbol).await;
        assert_eq!(body["trade_entered"], true, "{body}");
    }
    let risk: serde_json::Value = app.server.get("/risk").await.json();
    assert_eq!(risk["open_trade_count"], 2);
    assert_eq!(risk["limits"]["max_order_quantity"], 5);
    let flat: serde_json::Value = app.server.post("/risk/flatten").await.json();
    assert_eq!(flat["kill_switch"], "halted", "{flat}");
    assert_eq!(flat["open_trade_count"], 0);
    assert_eq!(flat["open_trades"], json!([]));
    let trades: serde_json::Value = app.server.get("/trades").await.json();
    assert_eq!(
        trades["trades"].as_array().map(Vec::len),
        Some(2),
        "{trades}"
    );
    let resumed: serde_json::Value = app.server.post("/risk/resume").await.json();
    assert_eq!(resumed["kill_switch"], "active");
}

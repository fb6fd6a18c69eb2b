//! Trading through the API: exits, resets, repeated alerts and the trade history.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_in};

#[tokio::test]
async fn a_manual_exit_returns_the_trade_summary_and_lists_the_trade() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    let response = app.server.post("/strategy/INFY/exit").await;
    response.assert_status_ok();
    let body: Value = response.json();
    assert_eq!(body["status"], "success");
    let summary = &body["trade_summary"];
    for key in [
        "symbol",
        "direction",
        "entry_price",
        "exit_price",
        "quantity",
        "entry_time",
        "exit_time",
        "exit_reason",
        "pnl",
        "pnl_percent",
        "entry_order_id",
        "exit_order_id",
    ] {
        assert!(summary.get(key).is_some(), "missing `{key}` in {summary}");
    }
    assert_eq!(summary["exit_reason"], "manual");
    assert_eq!(body["order_result"]["transaction_type"], "SELL");

    let again = app.server.post("/strategy/INFY/exit").await;
    again.assert_status(StatusCode::BAD_REQUEST);
    let trades: Value = app.server.get("/trades?symbol=infy").await.json();
    assert_eq!(trades["count"], 1);
    let none: Value = app.server.get("/trades?symbol=TCS").await.json();
    assert_eq!(none["count"], 0);
}

#[tokio::test]
async fn a_candle_at_the_target_closes_the_trade() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    let body: Value = app
        .alert(json!({"symbol": "INFY", "high": 110, "low": 108, "close": 109.5}))
        .await
        .json();
    assert_eq!(body["trade_exited"], true);
    assert_eq!(body["trade_summary"]["exit_reason"], "profit");
    let status = app.status("INFY").await;
    assert_eq!(
        status["strategy_status"]["active_trade"]["is_active"],
        false
    );
}

#[tokio::test]
async fn reset_is_409_while_a_trade_is_open_unless_forced() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    let refused = app.server.post("/strategy/INFY/reset").await;
    refused.assert_status(StatusCode::CONFLICT);
    assert_eq!(refused.json::<Value>()["status"], "error");
    let status = app.status("INFY").await;
    assert_eq!(status["strategy_status"]["active_trade"]["is_active"], true);

    app.server
        .post("/strategy/INFY/reset?force=true")
        .await
        .assert_status_ok();
    let status = app.status("INFY").await;
    assert_eq!(status["strategy_status"]["data_points"], 0);
    assert_eq!(
        status["strategy_status"]["active_trade"]["is_active"],
        false
    );
}

#[tokio::test]
async fn a_repeated_alert_is_acknowledged_and_not_applied_twice() {
    let app = spawn_app().await;
    let alert = json!({"symbol": "ITC", "high": 101, "low": 99, "close": 100,
        "time": "2026-11-24T09:15:00Z"});
    let first: Value = app.alert(alert.clone()).await.json();
    assert_eq!(first["price_data_added"], true);
    let again = app.alert(alert).await;
    again.assert_status_ok();
    let again: Value = again.json();
    assert_eq!(again["price_data_added"], false);
    assert_eq!(again["duplicate"], true);
    assert_eq!(app.status("ITC").await["strategy_status"]["data_points"], 1);
}

#[tokio::test]
async fn the_same_candle_time_in_another_format_is_still_a_repeat() {
    let app = spawn_app().await;
    let candle =
        |time: Value| json!({"symbol": "ITC", "high": 101, "low": 99, "close": 100, "time": time});
    // 09:15 IST written as Kite writes it, as UTC, as a naive IST time, and as epoch ms.
    let first: Value = app
        .alert(candle(json!("2026-11-24T09:15:00+0530")))
        .await
        .json();
    assert_eq!(first["price_data_added"], true);
    for same in [
        json!("2026-11-24T03:45:00Z"),
        json!("2026-11-24 09:15:00"),
        json!(1_795_491_900_000_i64),
    ] {
        let again: Value = app.alert(candle(same.clone())).await.json();
        assert_eq!(again["duplicate"], true, "{same} was applied again");
    }
    assert_eq!(app.status("ITC").await["strategy_status"]["data_points"], 1);
}

#[tokio::test]
async fn strategies_lists_every_symbol() {
    let app = spawn_app().await;
    for symbol in ["A", "B", "C"] {
        app.alert(json!({"symbol": symbol, "high": 11, "low": 9, "close": 10}))
            .await;
    }
    let body: Value = app.server.get("/strategies").await.json();
    assert_eq!(body["count"], 3);
    assert!(body["strategies"]["B"]["strategy_status"].is_null());
    assert_eq!(body["strategies"]["B"]["symbol"], "B");
}

#[tokio::test]
async fn an_open_trade_survives_a_server_restart_and_still_exits() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    let before = app.status("INFY").await;
    app.app.shutdown().await;
    let TestApp { _dir: dir, .. } = app;

    let app = spawn_in(dir, |_| {}).await;
    let after = app.status("INFY").await;
    assert_eq!(after, before);
    let body: Value = app
        .alert(json!({"symbol": "INFY", "high": 105, "low": 104, "close": 104.5}))
        .await
        .json();
    assert_eq!(body["trade_summary"]["exit_reason"], "loss");
}

#[tokio::test]
async fn a_fed_price_at_the_stop_exits_unless_monitoring_is_paused() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    app.server.post("/monitoring/stop").await.assert_status_ok();
    let paused: Value = app
        .server
        .post("/price")
        .json(&json!({"symbol": "INFY", "price": 104}))
        .await
        .json();
    assert_eq!(paused["checked"], false);
    assert!(paused.get("trade_exited").is_none());
    let ohlc: Value = app.server.get("/ohlc/INFY").await.json();
    assert_eq!(ohlc["ohlc"]["low"], 98.0);
    assert_eq!(ohlc["ltp"], 104.0);

    app.server
        .post("/monitoring/start")
        .await
        .assert_status_ok();
    let live: Value = app
        .server
        .post("/price")
        .json(&json!({"symbol": "INFY", "price": "104.5"}))
        .await
        .json();
    assert_eq!(live["trade_exited"], true);
    assert_eq!(live["trade_summary"]["exit_reason"], "loss");
    app.server
        .post("/price")
        .json(&json!({"symbol": "INFY", "price": -1}))
        .await
        .assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn kite_login_paths_answer_503_without_kite_keys() {
    let app = spawn_app().await;
    let response = app
        .server
        .post("/generate_token")
        .json(&json!({"request_token": "x"}))
        .await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body = response.json::<Value>();
    assert_eq!(body["status"], "error");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("KITE_API_SECRET")),
        "{body}"
    );
    for path in ["/login", "/login/callback?request_token=x&status=success"] {
        app.server
            .get(path)
            .await
            .assert_status(StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[tokio::test]
async fn trades_take_a_limit_that_keeps_the_newest_and_refuse_a_bad_one() {
    let app = spawn_app().await;
    for symbol in ["INFY", "TCS", "WIPRO"] {
        app.enter_long(symbol).await;
        app.server
            .post(&format!("/strategy/{symbol}/exit"))
            .await
            .assert_status_ok();
    }
    let all: Value = app.server.get("/trades").await.json();
    assert_eq!(all["count"], 3, "no limit: every trade, as the original");
    let newest: Value = app.server.get("/trades?limit=2").await.json();
    assert_eq!(newest["count"], 2, "{newest}");
    let symbols: Vec<&str> = newest["trades"]
        .as_array()
        .expect("trades")
        .iter()
        .filter_map(|t| t["symbol"].as_str())
        .collect();
    assert_eq!(symbols, ["WIPRO", "TCS"], "newest first");
    let one: Value = app.server.get("/trades?symbol=tcs&limit=1").await.json();
    assert_eq!(one["count"], 1, "{one}");
    for bad in ["0", "-1", "x", "10001", "1.5"] {
        let response = app.server.get(&format!("/trades?limit={bad}")).await;
        response.assert_status(StatusCode::BAD_REQUEST);
        let body: Value = response.json();
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("`limit`")),
            "{bad}: {body}"
        );
    }
}

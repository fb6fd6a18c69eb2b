//! The original service's payloads and response keys keep working.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

fn has_keys(value: &Value, expected: &[&str]) {
    let present = keys(value);
    for key in expected {
        assert!(present.contains(key), "missing `{key}` in {value}");
    }
}

#[tokio::test]
async fn health_reports_the_service() {
    let app = spawn_app().await;
    let body: Value = app.server.get("/").await.json();
    has_keys(
        &body,
        &[
            "status",
            "message",
            "service",
            "version",
            "monitoring_active",
            "active_strategies",
        ],
    );
    assert_eq!(body["status"], "success");
    assert_eq!(body["monitoring_active"], true);
}

/// The counts come from the shards: every symbol tracked, and those with a trade.
#[tokio::test]
async fn health_and_monitoring_count_symbols_and_open_trades() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    for symbol in ["TCS", "WIPRO"] {
        app.alert(json!({"symbol": symbol, "high": 11, "low": 9, "close": 10}))
            .await
            .assert_status_ok();
    }
    for path in ["/", "/monitoring"] {
        let body: Value = app.server.get(path).await.json();
        assert_eq!(body["total_strategies"], 3, "{path}: {body}");
        assert_eq!(body["active_strategies"], 1, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_candle_alert_answers_with_the_original_keys() {
    let app = spawn_app().await;
    let response = app
        .alert(json!({"symbol": "reliance", "high": "2510.5", "low": 2490, "close": 2500.25}))
        .await;
    response.assert_status_ok();
    let body: Value = response.json();
    has_keys(
        &body,
        &[
            "status",
            "symbol",
            "price_data_added",
            "levels_updated",
            "current_levels",
        ],
    );
    assert_eq!(body["symbol"], "RELIANCE");
    assert_eq!(body["price_data_added"], true);
    assert_eq!(body["levels_updated"], false);
    has_keys(
        &body["current_levels"],
        &["support", "resistance", "locked"],
    );
}

#[tokio::test]
async fn a_breakout_reports_the_signal_the_entry_and_the_order() {
    let app = spawn_app().await;
    let body = app.enter_long("INFY").await;
    assert_eq!(body["breakout_signal"], "long");
    assert_eq!(body["trade_entered"], true);
    assert_eq!(body["order_result"]["status"], "COMPLETE");
    assert_eq!(body["order_result"]["average_price"], 106.0);
    assert_eq!(body["current_levels"]["locked"], true);
}

#[tokio::test]
async fn strategy_status_has_every_original_key() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    let body = app.status("infy").await;
    assert_eq!(body["status"], "success");
    let status = &body["strategy_status"];
    has_keys(
        status,
        &[
            "symbol",
            "support_level",
            "resistance_level",
            "levels_locked",
            "active_trade",
            "data_points",
            "strategy_params",
        ],
    );
    has_keys(
        &status["active_trade"],
        &[
            "is_active",
            "direction",
            "entry_price",
            "entry_time",
            "quantity",
            "order_id",
            "target_price",
            "stop_price",
        ],
    );
    has_keys(
        &status["strategy_params"],
        &[
            "lookback_period",
            "profit_target_percent",
            "stop_loss_percent",
        ],
    );
    assert_eq!(status["active_trade"]["is_active"], true);
    assert_eq!(status["active_trade"]["target_price"], 109.18);
    assert_eq!(status["active_trade"]["stop_price"], 104.94);
    assert_eq!(status["strategy_params"]["profit_target_percent"], 3.0);
    assert_eq!(status["strategy_params"]["stop_loss_percent"], 1.0);
    assert_eq!(status["data_points"], 6);
}

#[tokio::test]
async fn an_unknown_symbol_is_404() {
    let app = spawn_app().await;
    let response = app.server.get("/strategy/NEVERSEEN").await;
    response.assert_status(StatusCode::NOT_FOUND);
    let body: Value = response.json();
    has_keys(&body, &["status", "message"]);
    assert_eq!(body["status"], "error");
    app.server
        .post("/strategy/NEVERSEEN/reset")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.server
        .post("/strategy/NEVERSEEN/exit")
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn manual_signals_place_an_order() {
    let app = spawn_app().await;
    app.alert(json!({"symbol": "SBIN", "high": 801, "low": 799, "close": 800}))
        .await;
    let response = app
        .alert(json!({"symbol": "sbin", "action": "BUY", "quantity": "5"}))
        .await;
    response.assert_status_ok();
    let body: Value = response.json();
    has_keys(&body, &["status", "symbol", "manual_order", "order_result"]);
    assert_eq!(body["manual_order"], true);
    assert_eq!(body["order_result"]["quantity"], 5);
    let orders: Value = app.server.get("/orders").await.json();
    assert_eq!(orders["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn monitoring_switches_and_reports() {
    let app = spawn_app().await;
    let stop: Value = app.server.post("/monitoring/stop").await.json();
    has_keys(&stop, &["status", "message"]);
    let body: Value = app.server.get("/monitoring").await.json();
    has_keys(
        &body,
        &[
            "status",
            "monitoring_active",
            "active_strategies",
            "total_strategies",
        ],
    );
    assert_eq!(body["monitoring_active"], false);
    app.server
        .post("/monitoring/start")
        .await
        .assert_status_ok();
    let body: Value = app.server.get("/monitoring").await.json();
    assert_eq!(body["monitoring_active"], true);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_json() {
    let app = spawn_app().await;
    let missing = app.server.get("/no/such/path").await;
    missing.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>()["message"], "Endpoint not found");
    let wrong = app.server.get("/webhook").await;
    wrong.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.json::<Value>()["message"], "Method not allowed");
}

#[tokio::test]
async fn ltp_positions_and_orders_answer_through_the_paper_broker() {
    let app = spawn_app().await;
    let unknown = app.server.get("/ltp/TCS").await;
    unknown.assert_status(StatusCode::BAD_REQUEST);
    has_keys(&unknown.json::<Value>(), &["status", "message", "symbol"]);
    app.enter_long("TCS").await;
    let ltp: Value = app.server.get("/ltp/tcs").await.json();
    has_keys(&ltp, &["status", "symbol", "ltp", "data"]);
    assert_eq!(ltp["ltp"], 106.0);
    let positions: Value = app.server.get("/positions").await.json();
    assert_eq!(positions["data"]["net"][0]["quantity"], 1);
}

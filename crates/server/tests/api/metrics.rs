//! `GET /metrics`: counters move with requests, labels are route templates.

use serde_json::json;

use crate::helpers::spawn_app;

/// The value of the sample `name{...}` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn a_scrape_shows_requests_webhook_outcomes_orders_and_trades() {
    let app = spawn_app().await;
    app.enter_long("INFY").await;
    // Entered at 106; a close of 107.5 inside target and stop leaves it open, 1.5 up.
    app.alert(json!({"symbol": "INFY", "high": 108, "low": 106, "close": 107.5}))
        .await
        .assert_status_ok();
    let duplicate =
        json!({"symbol": "TCS", "high": 11, "low": 9, "close": 10, "time": 1_700_000_000});
    app.alert(duplicate.clone()).await.assert_status_ok();
    app.alert(duplicate).await.assert_status_ok();
    app.server.post("/webhook").text("not json").await;
    app.server.get("/strategy/INFY").await.assert_status_ok();
    app.server.get("/strategy/NOPE").await;
    app.server.get("/no/such/path").await;

    let response = app.server.get("/metrics").await;
    response.assert_status_ok();
    assert!(
        response
            .header("content-type")
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain"))
    );
    let text = response.text();
    let value = |name, labels: &[(&str, &str)]| sample(&text, name, labels);

    let webhook_ok = [("method", "POST"), ("route", "/webhook"), ("status", "200")];
    assert_eq!(
        value("kitebreak_http_requests_total", &webhook_ok),
        Some(9.0),
        "{text}"
    );
    let status_ok = [("route", "/strategy/{symbol}"), ("status", "200")];
    assert_eq!(
        value("kitebreak_http_requests_total", &status_ok),
        Some(1.0)
    );
    let status_404 = [("route", "/strategy/{symbol}"), ("status", "404")];
    assert_eq!(
        value("kitebreak_http_requests_total", &status_404),
        Some(1.0)
    );
    assert!(!text.contains("/strategy/INFY"), "raw paths are not labels");
    assert_eq!(
        value("kitebreak_http_requests_total", &[("route", "unmatched")]),
        Some(1.0)
    );
    // Latency is by route and method only: the 9 answered alerts and the bad one.
    let latency = [("route", "/webhook")];
    assert_eq!(
        value("kitebreak_http_request_duration_seconds_count", &latency),
        Some(10.0)
    );

    let outcome = |o| value("kitebreak_webhook_alerts_total", &[("outcome", o)]);
    assert_eq!(outcome("candle_applied"), Some(8.0));
    assert_eq!(outcome("duplicate"), Some(1.0));
    assert_eq!(outcome("rejected_bad_input"), Some(1.0));
    assert_eq!(
        value("kitebreak_breakouts_total", &[("direction", "long")]),
        Some(1.0)
    );
    let entry = [("purpose", "entry"), ("status", "COMPLETE")];
    assert_eq!(value("kitebreak_orders_total", &entry), Some(1.0));
    assert_eq!(value("kitebreak_open_trades", &[]), Some(1.0));
    assert_eq!(value("kitebreak_realized_pnl", &[]), Some(0.0));
    // At the latest price the engine saw (the last close), as the daily-loss limit
    // counts it; no broker call per open trade.
    assert_eq!(value("kitebreak_unrealized_pnl", &[]), Some(1.5));
    assert_eq!(
        value("kitebreak_broker_info", &[("broker", "paper")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn each_app_counts_only_its_own_requests() {
    let (first, second) = (spawn_app().await, spawn_app().await);
    for _ in 0..3 {
        first.server.get("/").await.assert_status_ok();
    }
    let health = [("route", "/"), ("status", "200")];
    let count = |text: String| sample(&text, "kitebreak_http_requests_total", &health);
    assert_eq!(count(first.server.get("/metrics").await.text()), Some(3.0));
    assert_eq!(count(second.server.get("/metrics").await.text()), None);
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_configured() {
    let app = crate::helpers::spawn_secured().await;
    app.server
        .get("/metrics")
        .await
        .assert_status(axum::http::StatusCode::UNAUTHORIZED);
    app.server
        .get("/metrics")
        .authorization_bearer("api-token")
        .await
        .assert_status_ok();
}

#[tokio::test]
async fn made_up_methods_share_one_label_so_a_client_cannot_mint_series() {
    let app = spawn_app().await;
    for name in ["BREW", "FROBNICATE"] {
        let method = axum::http::Method::from_bytes(name.as_bytes()).expect("a method token");
        let response = app.server.method(method, "/webhook").await;
        assert!(response.status_code().is_client_error());
    }
    let text = app.server.get("/metrics").await.text();
    assert_eq!(
        sample(
            &text,
            "kitebreak_http_requests_total",
            &[("method", "OTHER"), ("route", "/webhook")]
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        !text.contains("BREW") && !text.contains("FROBNICATE"),
        "{text}"
    );
}

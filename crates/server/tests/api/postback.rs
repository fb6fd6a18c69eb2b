//! `POST /kite/postback`: verified before trusted (checksum), unknown orders
//! acknowledged and ignored, duplicates harmless; and kite-sim's real postbacks
//! reaching a served app.

use std::sync::Arc;
use std::time::Duration;

use axum_test::TestServer;
use kitebreak_engine::{KiteAdapter, MarketOrder, Side, Symbol};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_price::Quantity;
use kitebreak_server::App;
use kiteconnect::{AccessToken, ApiSecret};
use serde_json::Value;

use crate::helpers::{config, spawn_app};

const SECRET: &str = kite_sim::config::DEFAULT_API_SECRET;

/// A Kite adapter with the sim's secret; without a session it never connects.
fn offline_adapter(dir: &std::path::Path) -> KiteAdapter {
    let config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir)
        .with_roots("http://127.0.0.1:9", "ws://127.0.0.1:9")
        .with_secret(SECRET)
        .expect("secret");
    KiteAdapter::new(KiteBroker::new(config, SessionState::new(None)))
}

/// Kite's postback fixture, re-tagged and signed with `secret`.
fn postback(tag: Option<&str>, secret: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/kite-fixtures/postback.json"
    );
    let text = std::fs::read_to_string(path).expect("postback fixture");
    let mut body: Value = serde_json::from_str(&text).expect("json");
    body["tag"] = tag.map_or(Value::Null, Value::from);
    let secret = ApiSecret::new(secret).expect("secret");
    let order_id = body["order_id"].as_str().expect("id").to_owned();
    let time = body["order_timestamp"].as_str().expect("time").to_owned();
    body["checksum"] =
        kitebreak_kite::postback::postback_checksum(&order_id, &time, &secret).into();
    body
}

async fn kite_app() -> (TestServer, App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(offline_adapter(dir.path()));
    let app = App::start_with_broker(config(dir.path()), broker)
        .await
        .expect("app");
    let server = TestServer::new(app.router());
    (server, app, dir)
}

async fn metric(server: &TestServer, outcome: &str) -> bool {
    let text = server.get("/metrics").await.text();
    text.lines().any(|line| {
        line.starts_with("kitebreak_order_updates_total")
            && line.contains("source=\"postback\"")
            && line.contains(&format!("outcome=\"{outcome}\""))
    })
}

#[tokio::test]
async fn a_verified_postback_is_applied_once_and_a_repeat_is_a_harmless_duplicate() {
    let (server, app, _dir) = kite_app().await;
    let body = postback(Some("KB0000ZZ"), SECRET);
    let first = server.post("/kite/postback").json(&body).await;
    first.assert_status_ok();
    assert_eq!(first.json::<Value>()["outcome"], "applied");
    let again = server.post("/kite/postback").json(&body).await;
    again.assert_status_ok();
    assert_eq!(again.json::<Value>()["outcome"], "duplicate");
    // Another tool's order (no kitebreak tag): acknowledged, ignored.
    let foreign = server
        .post("/kite/postback")
        .json(&postback(None, SECRET))
        .await;
    foreign.assert_status_ok();
    assert_eq!(foreign.json::<Value>()["outcome"], "ignored");
    assert!(metric(&server, "applied").await);
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_checksum_is_refused_with_403_and_changes_nothing() {
    let (server, app, _dir) = kite_app().await;
    let forged = postback(Some("KB0000ZY"), "not-the-secret");
    let response = server.post("/kite/postback").json(&forged).await;
    response.assert_status(axum::http::StatusCode::FORBIDDEN);
    let error: Value = response.json();
    assert_eq!(error["status"], "error");
    assert!(!error["message"].as_str().unwrap_or("").contains(SECRET));
    // Had the forged update been applied, the real one would now be a duplicate.
    let real = server
        .post("/kite/postback")
        .json(&postback(Some("KB0000ZY"), SECRET))
        .await;
    assert_eq!(real.json::<Value>()["outcome"], "applied");
    assert!(metric(&server, "forged").await);
    let unreadable = server.post("/kite/postback").text("{not json").await;
    unreadable.assert_status(axum::http::StatusCode::BAD_REQUEST);
    let mut missing = postback(Some("KB0000ZX"), SECRET);
    missing["checksum"] = Value::Null;
    let response = server.post("/kite/postback").json(&missing).await;
    response.assert_status(axum::http::StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test]
async fn a_paper_server_takes_no_postbacks() {
    let app = spawn_app().await;
    let response = app
        .server
        .post("/kite/postback")
        .json(&postback(Some("KB0000ZW"), SECRET))
        .await;
    response.assert_status(axum::http::StatusCode::NOT_FOUND);
    assert_eq!(response.json::<Value>()["status"], "error");
}

#[tokio::test]
async fn kite_sims_postbacks_reach_the_served_app_and_verify() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let at = jiff::Timestamp::from_second(1_795_581_000).expect("start");
    let mut sim_config = kite_sim::SimConfig::for_tests(at);
    sim_config.postback_url = Some(format!("http://127.0.0.1:{port}/kite/postback"));
    let sim = kite_sim::Sim::start(sim_config).await.expect("sim");
    let mut answered = sim.shared().postbacks_answered();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut kite = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir.path())
        .with_roots(sim.url(), sim.ws_url())
        .with_secret(SECRET)
        .expect("secret");
    kite.poll_every = Duration::from_millis(20);
    let token = AccessToken::new("test_access_token").expect("token");
    let kite = KiteBroker::new(kite, SessionState::new(Some(token)));
    kite.load_instruments().await.expect("instruments");
    let app = App::start_with_broker(config(dir.path()), Arc::new(KiteAdapter::new(kite)))
        .await
        .expect("app");
    let service = app.service();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let price = "1500".parse().expect("price");
    assert!(sim.set_price("NSE:INFY", price));
    let order = MarketOrder {
        tag: "KB0000ZV".into(),
        symbol: Symbol::parse("INFY").expect("symbol"),
        side: Side::Buy,
        quantity: Quantity::ONE,
    };
    let broker = app.engine().broker();
    let id = broker.place_market(order).await.expect("placed");
    broker.final_status(&id).await.expect("final");
    let server = TestServer::new(app.router());
    // Looked at again after each postback the app answers (it counts the outcome
    // before answering): no polling. The bound only turns a hang into a failure.
    let wait = async {
        while !metric(&server, "applied").await {
            answered.changed().await.expect("the sim runs");
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("a verified postback arrived");
    assert!(
        !metric(&server, "forged").await,
        "kite-sim's checksums verify"
    );
    app.shutdown().await;
    sim.shutdown().await;
}

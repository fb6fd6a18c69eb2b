//! No log line carries a Kite access token, a request token or the API secret
//! through the HTTP login (browser callback, `POST /generate_token`, a refused
//! exchange) against an in-process kite-sim.
//!
//! A test binary of its own, like `logs.rs`: capturing logs reliably needs the
//! process-wide subscriber, and one test per process keeps other tests' lines out.

mod capture;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use axum_test::TestServer;
use jiff::Timestamp;
use kite_sim::config::{DEFAULT_API_KEY, DEFAULT_API_SECRET};
use kite_sim::{Sim, SimConfig};
use kitebreak_engine::{EngineConfig, KiteAdapter, ManualClock, SessionState};
use kitebreak_kite::{KiteBroker, KiteConfig};
use kitebreak_server::{App, ServerConfig};
use serde_json::{Value, json};

#[tokio::test]
async fn no_log_line_carries_a_token_or_the_secret_through_the_http_login() {
    let logs = capture::capture_all();

    let start = Timestamp::from_second(1_795_581_000).expect("start");
    let sim = Sim::start(SimConfig::for_tests(start)).await.expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut kite_config = KiteConfig::new(DEFAULT_API_KEY, dir.path())
        .with_roots(sim.url(), sim.ws_url())
        .with_secret(DEFAULT_API_SECRET)
        .expect("secret");
    kite_config.request_timeout = Duration::from_secs(2);
    let old = "test_access_token";
    let session = SessionState::new(Some(kiteconnect::AccessToken::new(old).expect("token")));
    let kite = KiteBroker::new(kite_config.clone(), session.clone());
    kite.load_instruments().await.expect("instruments");
    let mut engine = EngineConfig::new(dir.path().join("k.db"));
    engine.clock = Arc::new(ManualClock::new(start));
    let mut config = ServerConfig::new(engine);
    config.kite_login = Some(kite_config);
    let app = App::start_with_broker(config, Arc::new(KiteAdapter::new(kite)))
        .await
        .expect("app");
    let server = TestServer::builder()
        .http_transport_with_ip_port(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), None)
        .build(app.router());

    // The browser flow.
    let login = server.get("/login").await;
    let cookie = login.cookie("kitebreak_login").value().to_owned();
    let callback = server
        .get(&format!(
            "/login/callback?request_token=rq-browser-7f3a&action=login&status=success&state={cookie}"
        ))
        .add_header("cookie", format!("kitebreak_login={cookie}"))
        .await;
    callback.assert_status_ok();
    let first = session.status().token.expect("token").expose().to_owned();
    // A script's exchange, and one Kite refuses (a request token used twice).
    let generated = server
        .post("/generate_token")
        .json(&json!({"request_token": "rq-script-9c1d"}))
        .await;
    generated.assert_status_ok();
    let second = session.status().token.expect("token").expose().to_owned();
    let masked: Value = generated.json();
    assert_eq!(masked["access_token"], format!("{}...", &second[..10]));
    let bad = server
        .post("/generate_token")
        .json(&json!({"request_token": "rq has space"}))
        .await;
    bad.assert_status(axum::http::StatusCode::BAD_REQUEST);
    app.shutdown().await;

    let logs = logs.text();
    assert!(
        logs.contains("kite login completed over HTTP"),
        "the logins are logged:\n{logs}"
    );
    assert_ne!(first, second);
    for secret in [
        first.as_str(),
        second.as_str(),
        old,
        "rq-browser-7f3a",
        "rq-script-9c1d",
        DEFAULT_API_SECRET,
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}

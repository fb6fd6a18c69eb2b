//! The HTTP login against an in-process kite-sim: `GET /login`'s redirect target,
//! the callback and `POST /generate_token` (happy paths and every error), the masked
//! token, the session file, the running engine picking the token up, and the
//! session's state in `GET /`, `GET /risk` and `GET /metrics`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum_test::TestServer;
use jiff::Timestamp;
use kite_sim::config::{DEFAULT_API_KEY, DEFAULT_API_SECRET};
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use kitebreak_engine::{ExpiryCause, KiteAdapter, ManualClock, SessionState};
use kitebreak_kite::{KiteBroker, KiteConfig};
use kitebreak_server::{App, Secret, ServerConfig};
use serde_json::{Value, json};

use crate::helpers::config;

/// 2026-11-25 10:00 IST.
const START: i64 = 1_795_581_000;
const LOGIN_ROOT: &str = "https://kite.example.test";

struct Kite {
    server: TestServer,
    app: App,
    sim: SimHandle,
    session: SessionState,
    dir: tempfile::TempDir,
}

fn start() -> Timestamp {
    Timestamp::from_second(START).expect("start")
}

fn kite_config(sim: &SimHandle, dir: &std::path::Path, secret: &str) -> KiteConfig {
    let mut config = KiteConfig::new(DEFAULT_API_KEY, dir)
        .with_roots(sim.url(), sim.ws_url())
        .with_login_root(LOGIN_ROOT)
        .with_secret(secret)
        .expect("secret");
    config.retry_delay = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(2);
    config
}

/// A server over the Kite broker on a kite-sim, its login configured with `secret`.
async fn spawn_kite(secret: &str, adjust: impl FnOnce(&mut ServerConfig)) -> Kite {
    let sim = Sim::start(SimConfig::for_tests(start()))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let kite_config = kite_config(&sim, dir.path(), secret);
    let session = SessionState::new(Some(
        kiteconnect::AccessToken::new("test_access_token").expect("token"),
    ));
    let kite = KiteBroker::new(kite_config.clone(), session.clone());
    kite.load_instruments().await.expect("instruments");
    let mut server_config = config(dir.path());
    server_config.kite_login = Some(kite_config);
    // The engine's clock agrees with the sim's: a token's expiry time comes from
    // the sim's login time, and the engine's expiry timer reads the engine's clock.
    server_config.engine.clock = Arc::new(ManualClock::new(start()));
    adjust(&mut server_config);
    let app = App::start_with_broker(server_config, Arc::new(KiteAdapter::new(kite)))
        .await
        .expect("app starts");
    let server = TestServer::builder()
        .http_transport_with_ip_port(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), None)
        .build(app.router());
    Kite {
        server,
        app,
        sim,
        session,
        dir,
    }
}

impl Kite {
    /// `GET /login`: the nonce Kite will hand back, and the cookie value set with it.
    async fn begin(&self) -> (String, String) {
        let response = self.server.get("/login").await;
        response.assert_status(StatusCode::FOUND);
        let location = response.header("location");
        let location = url::Url::parse(location.to_str().expect("ascii")).expect("url");
        let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        let redirect = params
            .iter()
            .find(|(k, _)| k == "redirect_params")
            .map(|(_, v)| v.clone())
            .expect("redirect_params");
        let nonce = redirect.strip_prefix("state=").expect("state").to_owned();
        let cookie = response.cookie("kitebreak_login").value().to_owned();
        (nonce, cookie)
    }

    async fn callback(&self, query: &str, cookie: Option<&str>) -> axum_test::TestResponse {
        let mut request = self.server.get(&format!("/login/callback?{query}"));
        if let Some(cookie) = cookie {
            request = request.add_header("cookie", format!("kitebreak_login={cookie}"));
        }
        request.await
    }

    fn stored_token(&self) -> String {
        let path = self.dir.path().join("kite-session.json");
        let text = std::fs::read_to_string(path).expect("session file");
        let stored: Value = serde_json::from_str(&text).expect("json");
        stored["access_token"].as_str().expect("token").to_owned()
    }
}

fn error_message(response: &axum_test::TestResponse) -> String {
    let body: Value = response.json();
    assert_eq!(body["status"], "error", "{body}");
    body["message"].as_str().expect("message").to_owned()
}

#[tokio::test]
async fn login_redirects_to_kites_login_page_for_the_api_key_with_a_one_time_state() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    let response = kite.server.get("/login").await;
    response.assert_status(StatusCode::FOUND);
    let location = response.header("location");
    let location = location.to_str().expect("ascii");
    assert!(
        location.starts_with(&format!(
            "{LOGIN_ROOT}/connect/login?api_key={DEFAULT_API_KEY}&v=3&redirect_params=state%3D"
        )),
        "{location}"
    );
    let cookie = response.header("set-cookie");
    let cookie = cookie.to_str().expect("ascii");
    assert!(cookie.starts_with("kitebreak_login="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/login", "Max-Age=600"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let (first, _) = kite.begin().await;
    let (second, _) = kite.begin().await;
    assert_ne!(first, second, "every login gets its own state");
}

#[tokio::test]
async fn the_callback_stores_the_session_and_the_running_engine_uses_it_at_once() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    kite.session.mark_expired(ExpiryCause::Refused, start());
    let health: Value = kite.server.get("/").await.json();
    assert_eq!(health["broker_session"], "expired");
    assert!(
        health["message"]
            .as_str()
            .is_some_and(|m| m.contains("NEW ENTRIES ARE PAUSED")),
        "{health}"
    );
    assert!(
        health["broker_session_action"]
            .as_str()
            .is_some_and(|a| a.contains("kitebreak login") && a.contains("/login")),
        "{health}"
    );

    let (nonce, cookie) = kite.begin().await;
    let query = format!("request_token=rt-browser&action=login&status=success&state={nonce}");
    let response = kite.callback(&query, Some(&cookie)).await;
    response.assert_status_ok();
    let page = response.text();
    assert!(page.contains("Logged in to Kite"), "{page}");
    let token = kite.stored_token();
    assert!(!page.contains(&token), "the token is on the page");
    assert!(
        response
            .header("content-type")
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = kite.dir.path().join("kite-session.json");
        let mode = std::fs::metadata(path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only session file");
    }
    let status = kite.session.status();
    assert!(status.is_usable(), "the running session was updated");
    assert_eq!(
        status.token.as_ref().map(|t| t.expose().to_owned()),
        Some(token)
    );
    let health: Value = kite.server.get("/").await.json();
    assert_eq!(health["broker_session"], "active");
    assert_eq!(health["message"], "kitebreak is running");
    assert_eq!(health["broker_session_reason"], Value::Null);
    assert!(health["broker_session_expires_at"].is_string(), "{health}");

    // The state is single-use: the same redirect again exchanges nothing.
    let replay = kite.callback(&query, Some(&cookie)).await;
    replay.assert_status(StatusCode::FORBIDDEN);
    let exchanges = kite_sim::shared::lock(&kite.sim.shared().log)
        .iter()
        .filter(|r| r.path == "/session/token")
        .count();
    assert_eq!(exchanges, 1);
    kite.app.shutdown().await;
}

#[tokio::test]
async fn the_callback_refuses_each_bad_redirect_with_a_clear_error_and_exchanges_nothing() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    let (nonce, cookie) = kite.begin().await;
    let cases = [
        (
            format!("request_token=rt&status=cancelled&state={nonce}"),
            Some(cookie.as_str()),
            StatusCode::BAD_REQUEST,
            "successful login",
        ),
        (
            format!("status=success&state={nonce}"),
            Some(cookie.as_str()),
            StatusCode::BAD_REQUEST,
            "request_token",
        ),
        (
            format!("request_token=&status=success&state={nonce}"),
            Some(cookie.as_str()),
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            "request_token=rt&status=success".to_owned(),
            Some(cookie.as_str()),
            StatusCode::FORBIDDEN,
            "did not start at this server's /login",
        ),
        (
            format!("request_token=rt&status=success&state={nonce}"),
            None,
            StatusCode::FORBIDDEN,
            "did not start at this server's /login",
        ),
        (
            format!("request_token=rt&status=success&state={nonce}"),
            Some("forged"),
            StatusCode::FORBIDDEN,
            "did not start at this server's /login",
        ),
    ];
    for (query, cookie, status, says) in cases {
        let response = kite.callback(&query, cookie).await;
        response.assert_status(status);
        let message = error_message(&response);
        assert!(message.contains(says), "{query}: {message}");
    }
    let exchanges = kite_sim::shared::lock(&kite.sim.shared().log)
        .iter()
        .filter(|r| r.path == "/session/token")
        .count();
    assert_eq!(exchanges, 0, "nothing reached Kite");
    assert!(!kite.dir.path().join("kite-session.json").exists());
}

#[tokio::test]
async fn a_refused_exchange_answers_400_and_stores_nothing() {
    let kite = spawn_kite("not-the-secret", |_| {}).await;
    let (nonce, cookie) = kite.begin().await;
    let query = format!("request_token=rt&status=success&state={nonce}");
    let response = kite.callback(&query, Some(&cookie)).await;
    response.assert_status(StatusCode::BAD_REQUEST);
    let message = error_message(&response);
    assert!(
        message.contains("token exchange with Kite failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-secret"), "{message}");
    let response = kite
        .server
        .post("/generate_token")
        .json(&json!({"request_token": "rt2"}))
        .await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert!(error_message(&response).contains("token exchange with Kite failed"));
    assert!(!kite.dir.path().join("kite-session.json").exists());
    assert!(kite.session.status().is_usable(), "the old token stays");
}

#[tokio::test]
async fn generate_token_answers_the_masked_token_as_the_original_did() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    let response = kite
        .server
        .post("/generate_token")
        .text(json!({"request_token": "rt-script"}).to_string())
        .await;
    response.assert_status_ok();
    let body: Value = response.json();
    assert_eq!(body["status"], "success");
    assert!(body["message"].is_string());
    let token = kite.stored_token();
    assert_eq!(body["access_token"], format!("{}...", &token[..10]));
    assert!(
        !response.text().contains(&token),
        "the whole token was answered"
    );
    assert_eq!(body["user_id"], "SIM001");
    assert_eq!(
        kite.session.status().token.map(|t| t.expose().to_owned()),
        Some(token)
    );
}

#[tokio::test]
async fn generate_token_refuses_each_bad_body_with_400() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    for body in [
        "",
        "not json",
        "{}",
        "[]",
        r#"{"request_token": 5}"#,
        r#"{"other": "x"}"#,
        r#"{"request_token": "has space"}"#,
    ] {
        let response = kite.server.post("/generate_token").text(body).await;
        response.assert_status(StatusCode::BAD_REQUEST);
        error_message(&response);
    }
    let exchanges = kite_sim::shared::lock(&kite.sim.shared().log)
        .iter()
        .filter(|r| r.path == "/session/token")
        .count();
    assert_eq!(exchanges, 0);
}

#[tokio::test]
async fn generate_token_needs_the_bearer_token_when_one_is_set_but_the_browser_paths_do_not() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |c| {
        c.api_token = Secret::new("api-token");
        c.webhook_secret = Secret::new("tv-secret");
    })
    .await;
    let body = json!({"request_token": "rt"});
    kite.server
        .post("/generate_token")
        .json(&body)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    kite.server
        .post("/generate_token")
        .authorization_bearer("api-token")
        .json(&body)
        .await
        .assert_status_ok();
    kite.server
        .get("/login")
        .await
        .assert_status(StatusCode::FOUND);
}

#[tokio::test]
async fn an_expired_session_shows_in_health_risk_and_metrics_and_broker_reads_say_why() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |_| {}).await;
    let risk: Value = kite.server.get("/risk").await.json();
    assert_eq!(risk["broker_session"], "active");
    assert_eq!(risk["entries_allowed"], true);
    kite.sim.set_faults(Faults {
        tokens_expire_at: Some(start()),
        ..Faults::default()
    });
    let response = kite.server.get("/ltp/INFY").await;
    response.assert_status_failure();
    let health: Value = kite.server.get("/").await.json();
    assert_eq!(health["broker_session"], "expired", "{health}");
    let reason = health["broker_session_reason"].as_str().expect("reason");
    assert!(reason.contains("TokenException"), "{reason}");
    assert!(health["broker_session_expired_at"].is_string(), "{health}");
    let risk: Value = kite.server.get("/risk").await.json();
    assert_eq!(risk["broker_session"], "expired");
    assert_eq!(risk["entries_allowed"], false);
    let metrics = kite.server.get("/metrics").await.text();
    assert!(
        metrics.contains("kitebreak_broker_session_expired 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kitebreak_broker_session_expiries 1"),
        "{metrics}"
    );
    // A manual order is refused with the session's reason, before any order.
    let manual = kite
        .server
        .post("/webhook")
        .text(json!({"symbol": "INFY", "action": "buy", "quantity": 1}).to_string())
        .await;
    manual.assert_status(StatusCode::CONFLICT);
    assert!(error_message(&manual).contains("broker session expired"));
}

#[tokio::test]
async fn the_paper_broker_needs_no_session() {
    let app = crate::helpers::spawn_app().await;
    let health: Value = app.server.get("/").await.json();
    assert_eq!(health["broker_session"], "not_required");
    assert_eq!(health["broker_session_reason"], Value::Null);
    let risk: Value = app.server.get("/risk").await.json();
    assert_eq!(risk["broker_session"], "not_required");
}

#[tokio::test]
async fn guessing_the_callback_state_is_rate_limited_like_a_wrong_bearer_token() {
    let kite = spawn_kite(DEFAULT_API_SECRET, |c| c.auth_failures_per_minute = 3).await;
    let guess = "request_token=rt&status=success&state=guess";
    for _ in 0..3 {
        kite.callback(guess, Some("guess"))
            .await
            .assert_status(StatusCode::FORBIDDEN);
    }
    let throttled = kite.callback(guess, Some("guess")).await;
    throttled.assert_status(StatusCode::TOO_MANY_REQUESTS);
    error_message(&throttled);
}

//! Secrets never reach the logs, and log lines carry request ids.
//!
//! A test binary of its own: capturing logs reliably needs the process-wide
//! subscriber (a thread-local one misses spans whose interest another test thread
//! cached first), and one test per process keeps other tests' lines out.

mod capture;

use axum_test::TestServer;
use kitebreak_server::{App, Secret, ServerConfig};
use serde_json::json;

struct Secured {
    server: TestServer,
    _dir: tempfile::TempDir,
}

impl Secured {
    async fn alert(&self, body: serde_json::Value) -> axum_test::TestResponse {
        self.server.post("/webhook").text(body.to_string()).await
    }
}

async fn spawn_secured() -> Secured {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        ServerConfig::new(kitebreak_engine::EngineConfig::new(dir.path().join("k.db")));
    config.webhook_secret = Secret::new("tv-secret");
    config.api_token = Secret::new("api-token");
    let app = App::start(config).await.expect("app starts");
    let server = TestServer::builder()
        .http_transport_with_ip_port(Some(std::net::Ipv4Addr::LOCALHOST.into()), None)
        .build(app.router());
    Secured { server, _dir: dir }
}

fn candle(passphrase: &str) -> serde_json::Value {
    json!({"symbol": "INFY", "high": 11, "low": 9, "close": 10, "passphrase": passphrase})
}

#[tokio::test]
async fn wrong_secrets_never_show_in_responses_or_logs_and_logs_carry_request_ids() {
    let logs = capture::capture_all();
    let app = spawn_secured().await;
    let mut bodies = String::new();
    for response in [
        app.alert(candle("guess-passphrase")).await,
        app.alert(json!({"symbol": "INFY", "passphrase": "tv-secret"}))
            .await,
        app.server
            .get("/orders")
            .authorization_bearer("guess-token")
            .await,
        app.server
            .get("/orders?request_token=kite-request-token")
            .await,
    ] {
        assert!(response.status_code().is_client_error());
        assert!(response.headers().contains_key("x-request-id"));
        bodies.push_str(&format!("{:?} {}", response.headers(), response.text()));
    }
    let logs = logs.text();
    assert!(
        logs.contains("request_id="),
        "no request ids in logs:\n{logs}"
    );
    assert!(
        logs.contains("wrong passphrase"),
        "the failure is logged:\n{logs}"
    );
    for secret in [
        "tv-secret",
        "api-token",
        "guess-passphrase",
        "guess-token",
        "kite-request-token",
    ] {
        assert!(!bodies.contains(secret), "{secret} in a response: {bodies}");
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}

//! `spawn_app()`: a paper server on 127.0.0.1:0 over a fresh temporary database.

use std::net::{IpAddr, Ipv4Addr};

use axum_test::TestServer;
use kitebreak_engine::EngineConfig;
use kitebreak_price::{Quantity, Ratio};
use kitebreak_server::{App, Secret, ServerConfig};
use kitebreak_strategy::{Relevel, StrategyParams};
use serde_json::{Value, json};

pub struct TestApp {
    pub server: TestServer,
    pub app: App,
    // Dropped last: the database lives here.
    pub _dir: tempfile::TempDir,
}

impl TestApp {
    /// Posts `body` as TradingView does: JSON text with `Content-Type: text/plain`.
    pub async fn alert(&self, body: Value) -> axum_test::TestResponse {
        self.server.post("/webhook").text(body.to_string()).await
    }

    /// The five setup candles and the breakout: `symbol` ends long at 106
    /// (lookback 3; target 109.18, stop 104.94).
    pub async fn enter_long(&self, symbol: &str) -> Value {
        for (h, l, c) in SETUP {
            self.alert(json!({"symbol": symbol, "high": h, "low": l, "close": c}))
                .await
                .assert_status_ok();
        }
        let response = self
            .alert(json!({"symbol": symbol, "high": 107, "low": 101, "close": 106}))
            .await;
        response.assert_status_ok();
        response.json()
    }

    pub async fn status(&self, symbol: &str) -> Value {
        self.server.get(&format!("/strategy/{symbol}")).await.json()
    }
}

/// Candles that leave support 95 and resistance 105 with lookback 3.
pub const SETUP: [(f64, f64, f64); 5] = [
    (101.0, 99.0, 100.0),
    (105.0, 100.0, 102.0),
    (102.0, 95.0, 98.0),
    (103.0, 97.0, 100.0),
    (102.0, 98.0, 100.0),
];

pub fn config(dir: &std::path::Path) -> ServerConfig {
    let mut engine = EngineConfig::new(dir.join("kitebreak.db"));
    engine.shards = 2;
    let ratio = |t: &str| t.parse::<Ratio>().expect("ratio");
    engine.strategy = StrategyParams::new(
        3,
        ratio("0.03"),
        ratio("0.01"),
        Relevel::Fresh,
        Quantity::ONE,
    )
    .expect("params");
    ServerConfig::new(engine)
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_secured() -> TestApp {
    spawn_with(|config| {
        config.webhook_secret = Secret::new("tv-secret");
        config.api_token = Secret::new("api-token");
    })
    .await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
    spawn_in(tempfile::tempdir().expect("temp dir"), adjust).await
}

/// An app over the database in `dir` (a second app on the same dir is a restart).
pub async fn spawn_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let mut config = config(dir.path());
    adjust(&mut config);
    let app = App::start(config).await.expect("app starts");
    let server = TestServer::builder()
        .http_transport_with_ip_port(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), None)
        .build(app.router());
    TestApp {
        server,
        app,
        _dir: dir,
    }
}

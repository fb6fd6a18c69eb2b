//! Shared set-up: a kite-sim per test, a broker pointed at it, fixture loading,
//! and `reaches`, which waits for a watched change instead of sleeping.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use kite_sim::shared::{LoggedRequest, lock};
use kite_sim::{Sim, SimConfig, SimHandle};
use kitebreak_kite::{KiteBroker, KiteConfig, SessionState};
use kitebreak_price::Price;
use kiteconnect::AccessToken;

/// 2026-11-25 10:00 IST, a Wednesday with the market open.
pub const START: i64 = 1_795_581_000;
/// The token the test sim accepts.
pub const TOKEN: &str = "test_access_token";

pub struct Env {
    pub sim: SimHandle,
    pub broker: KiteBroker,
    pub _dir: tempfile::TempDir,
}

pub fn start() -> Timestamp {
    Timestamp::from_second(START).expect("valid start")
}

pub fn price(text: &str) -> Price {
    text.parse().expect("valid price")
}

pub fn config_for(rest: &str, ws: &str, dir: &std::path::Path) -> KiteConfig {
    let mut config = KiteConfig::new(kite_sim::config::DEFAULT_API_KEY, dir)
        .with_roots(rest, ws)
        .with_secret(kite_sim::config::DEFAULT_API_SECRET)
        .expect("secret");
    config.retry_delay = Duration::from_millis(10);
    config.request_timeout = Duration::from_secs(2);
    config.poll_every = Duration::from_millis(20);
    config.ticker_silence = Duration::from_millis(2500);
    config
}

/// A sim with INFY at 1500 and a broker logged in with the test token, instruments loaded.
pub async fn spawn() -> Env {
    spawn_with(SimConfig::for_tests(start())).await
}

pub async fn spawn_with(sim_config: SimConfig) -> Env {
    let sim = Sim::start(sim_config).await.expect("sim starts");
    sim.set_price("NSE:INFY", price("1500"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_for(&sim.url(), &sim.ws_url(), dir.path());
    let session = SessionState::new(Some(AccessToken::new(TOKEN).expect("token")));
    let broker = KiteBroker::new(config, session);
    broker.load_instruments().await.expect("instruments load");
    Env {
        sim,
        broker,
        _dir: dir,
    }
}

/// The sim's request log.
pub fn log(sim: &SimHandle) -> Vec<LoggedRequest> {
    lock(&sim.shared().log).clone()
}

pub fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Waits until the watched value satisfies `holds`, woken by each change of it (no
/// polling, no sleeps); the 10 s bound only turns a hang into a failure.
pub async fn reaches<T>(
    what: &str,
    mut changes: tokio::sync::watch::Receiver<T>,
    holds: impl FnMut(&T) -> bool,
) {
    let waited = tokio::time::timeout(Duration::from_secs(10), changes.wait_for(holds)).await;
    assert!(
        waited.is_ok_and(|changed| changed.is_ok()),
        "never happened: {what}"
    );
}

/// `../shared/kite-fixtures` beside the repository.
pub fn fixture_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kite-fixtures");
    assert!(dir.is_dir(), "Kite fixtures not found at {}", dir.display());
    dir.join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture readable")
}

/// A JSON fixture's `data` (or the whole document without an envelope).
pub fn fixture(name: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_slice(&fixture_bytes(name)).expect("JSON");
    value.get("data").cloned().unwrap_or(value)
}

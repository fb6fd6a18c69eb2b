//! Shared set-up: a sim per test, the official client pointed at it, fixture loading.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use kite_sim::{Sim, SimConfig, SimHandle};
use kitebreak_price::Price;
use kiteconnect::{AccessToken, KiteConnect};
use serde_json::Value;

/// 2026-11-25 10:00 IST, a Wednesday with the market open.
pub const START: i64 = 1_795_581_000;

/// The access token every test sim accepts.
pub const TOKEN: &str = "test_access_token";

/// The test start time.
pub fn start() -> Timestamp {
    Timestamp::from_second(START).expect("valid start")
}

/// A test configuration (manual clock, no walk).
pub fn config() -> SimConfig {
    SimConfig::for_tests(start())
}

/// Starts a sim with the test configuration.
pub async fn spawn_sim() -> SimHandle {
    spawn_with(config()).await
}

/// Starts a sim with a configuration.
pub async fn spawn_with(config: SimConfig) -> SimHandle {
    Sim::start(config).await.expect("the sim starts")
}

/// The official client, logged in with the test token.
pub fn kite(sim: &SimHandle) -> KiteConnect {
    kite_with_timeout(sim, Duration::from_secs(10))
}

/// The official client with a request timeout.
pub fn kite_with_timeout(sim: &SimHandle, timeout: Duration) -> KiteConnect {
    KiteConnect::builder(kite_sim::config::DEFAULT_API_KEY)
        .access_token(AccessToken::new(TOKEN).expect("token"))
        .base_url(sim.url())
        .timeout(timeout)
        .build()
        .expect("client")
}

/// An exact price from text.
pub fn price(text: &str) -> Price {
    text.parse().expect("valid price")
}

/// `../shared/kite-fixtures`, or a clear failure if the checkout lacks it.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kite-fixtures");
    assert!(
        dir.is_dir(),
        "Kite fixtures not found at {}: these tests need ../shared (with kite-fixtures/) beside the repository",
        dir.display()
    );
    dir
}

/// A fixture file's bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A JSON fixture's `data` (or the whole document when it has no envelope).
pub fn fixture(name: &str) -> Value {
    let value: Value = serde_json::from_slice(&fixture_bytes(name)).expect("fixture is JSON");
    value.get("data").cloned().unwrap_or(value)
}

/// Keys common to every object of a list, valued as in the first.
fn template(items: &[Value]) -> Option<Value> {
    let first = items.first()?.as_object()?.clone();
    let common = first
        .into_iter()
        .filter(|(key, _)| items.iter().all(|item| item.get(key).is_some()))
        .collect();
    Some(Value::Object(common))
}

/// Fails unless `ours` has at least the keys of `theirs`, recursively. In lists, each of
/// our items needs the keys that every fixture item has; a fixture list with items
/// requires ours to have some.
pub fn assert_keys(ours: &Value, theirs: &Value, at: &str) {
    match (ours, theirs) {
        (Value::Object(ours), Value::Object(theirs)) => {
            for (key, value) in theirs {
                let Some(mine) = ours.get(key) else {
                    panic!(
                        "{at}: missing key `{key}`; we have {:?}",
                        ours.keys().collect::<Vec<_>>()
                    );
                };
                if !value.is_null() && !mine.is_null() {
                    assert_keys(mine, value, &format!("{at}.{key}"));
                }
            }
        }
        (Value::Array(ours), Value::Array(theirs)) if !theirs.is_empty() => {
            assert!(
                !ours.is_empty(),
                "{at}: the fixture has items, we have none"
            );
            if let Some(shape) = template(theirs) {
                for (i, item) in ours.iter().enumerate() {
                    assert_keys(item, &shape, &format!("{at}[{i}]"));
                }
            } else if let (Some(Value::Array(mine)), Some(Value::Array(first))) =
                (ours.first(), theirs.first())
            {
                assert!(
                    mine.len() >= first.len(),
                    "{at}[0]: {} fields, the fixture has {}",
                    mine.len(),
                    first.len()
                );
            }
        }
        _ => {}
    }
}

//! The crash test (issue 5 item 10, paper part): the real binary is killed with
//! SIGKILL after every step of a trade's life, restarted on the same data directory,
//! and checked each time: nothing lost, nothing duplicated, and the trade still exits.

use serde_json::{Value, json};
use sqlx::{ConnectOptions, Row};

use crate::helpers::Server;

/// Lookback 3 and no market clock: the candles are not today's.
const ENV: [(&str, &str); 2] = [
    ("KITEBREAK_STRATEGY__LOOKBACK", "3"),
    ("KITEBREAK_MARKET__ENFORCE", "false"),
];

/// Five candles to levels (support 95, resistance 105), the breakout (long at 106,
/// target 109.18), a price below the target, and the target.
fn steps() -> Vec<(&'static str, Value)> {
    let candles = [
        ("101", "99", "100"),
        ("105", "100", "102"),
        ("102", "95", "98"),
        ("103", "97", "100"),
        ("102", "98", "100"),
        ("107", "101", "106"),
    ];
    let mut steps: Vec<(&'static str, Value)> = candles
        .iter()
        .enumerate()
        .map(|(i, (h, l, c))| {
            let time = format!("2026-11-24T09:{:02}:00+05:30", 15 + i);
            (
                "/webhook",
                json!({"symbol": "INFY", "high": h, "low": l, "close": c, "time": time}),
            )
        })
        .collect();
    steps.push(("/price", json!({"symbol": "INFY", "price": "108"})));
    steps.push(("/price", json!({"symbol": "INFY", "price": "109.18"})));
    steps
}

/// Orders in the database by purpose and status, read-only, without an open
/// trade's armed exit (`ARMED`: committed with the trade, never sent yet).
async fn orders(server: &Server) -> Vec<(String, String)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(server.data.path().join("kitebreak.db"))
        .read_only(true);
    let mut db = options.connect().await.expect("open database");
    sqlx::query(
        "SELECT purpose, status FROM orders WHERE status NOT IN ('ARMED', 'UNUSED') ORDER BY seq",
    )
    .fetch_all(&mut db)
    .await
    .expect("query")
    .iter()
    .map(|row| (row.get("purpose"), row.get("status")))
    .collect()
}

/// The paper book's orders (tag and status), read-only from its own file beside
/// the database: what the paper "exchange" received.
async fn paper_book(server: &Server) -> Vec<(String, String)> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(server.data.path().join("kitebreak.paper.db"))
        .read_only(true);
    let mut db = options.connect().await.expect("open the paper book");
    sqlx::query("SELECT tag, status FROM paper_orders ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .expect("query")
        .iter()
        .map(|row| (row.get("tag"), row.get("status")))
        .collect()
}

/// What must hold after `done` steps, whether or not the server was just restarted.
async fn check(server: &Server, done: usize) {
    let (_, status) = server.get("/strategy/INFY").await;
    let (_, trades) = server.get("/trades").await;
    let closed = trades["trades"].as_array().map_or(0, Vec::len);
    let orders = orders(server).await;
    // Every order the database holds reached the paper book once, under its tag.
    let book = paper_book(server).await;
    let filled: Vec<(String, String)> = (1..=orders.len())
        .map(|n| (format!("KB{n:06}"), "COMPLETE".to_string()))
        .collect();
    assert_eq!(book, filled, "after {done} steps");
    let strategy = &status["strategy_status"];
    match done {
        0 => assert!(orders.is_empty()),
        1..=5 => {
            assert_eq!(strategy["data_points"], done, "{status}");
            assert!(orders.is_empty(), "{orders:?}");
        }
        6 | 7 => {
            assert_eq!(strategy["position"], "open", "after {done} steps: {status}");
            assert_eq!(strategy["active_trade"]["entry_price"], 106.0);
            assert_eq!(orders, [("entry".into(), "COMPLETE".into())]);
            assert_eq!(closed, 0);
        }
        _ => {
            assert_eq!(strategy["position"], "flat", "{status}");
            assert_eq!(closed, 1, "{trades}");
            let expected = [("entry", "COMPLETE"), ("exit", "COMPLETE")];
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(a, b)| ((*a).into(), (*b).into()))
                .collect();
            assert_eq!(orders, expected);
        }
    }
}

#[tokio::test]
async fn a_trade_survives_sigkill_after_every_step_without_loss_or_duplicates() {
    let steps = steps();
    let mut server = Server::start_in_with_env(tempfile::tempdir().expect("dir"), &[], &ENV).await;
    for (done, (path, body)) in steps.iter().enumerate() {
        let (code, answer) = server.post(path, body).await;
        assert_eq!(code, 200, "{path} {body}: {answer}");
        check(&server, done + 1).await;
        let data = server.kill().await;
        server = Server::start_in_with_env(data, &[], &ENV).await;
        check(&server, done + 1).await;
        if *path == "/webhook" {
            // The alert repeated after the crash is recognised, not applied twice.
            let (_, again) = server.post(path, body).await;
            assert_eq!(again["duplicate"], true, "{again}");
            check(&server, done + 1).await;
        }
    }
    let data = server.kill().await;
    let server = Server::start_in_with_env(data, &[], &ENV).await;
    check(&server, steps.len()).await;
}

#[tokio::test]
async fn a_halt_survives_sigkill_and_the_restarted_server_takes_no_entry() {
    let server = Server::start_in_with_env(tempfile::tempdir().expect("dir"), &[], &ENV).await;
    let (code, halted) = server.post("/risk/halt", &json!({})).await;
    assert_eq!(
        (code, &halted["kill_switch"]),
        (200, &json!("halted")),
        "{halted}"
    );
    let data = server.kill().await;
    let server = Server::start_in_with_env(data, &[], &ENV).await;
    let (_, risk) = server.get("/risk").await;
    assert_eq!(
        risk["kill_switch"], "halted",
        "a restart must not re-enable trading"
    );
    let mut last = Value::Null;
    for (path, body) in steps().into_iter().take(6) {
        last = server.post(path, &body).await.1;
    }
    assert_eq!(last["breakout_signal"], "long", "{last}");
    assert_eq!(last["trade_entered"], false, "{last}");
    assert!(orders(&server).await.is_empty());
}

//! The crash test against kite-sim (issue 5 item 10, live part): the real binary,
//! trading through an in-process kite-sim, is killed with SIGKILL while an order is
//! in flight (kite-sim has placed and filled it but holds its answer back), then
//! restarted on the same data directory. Each time the order is found by its tag
//! and applied: the trade opens from the entry's fill, closes from the exit's fill,
//! and no order is ever sent twice.

use kite_sim::config::DEFAULT_API_KEY;
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use serde_json::{Value, json};

use crate::helpers::Server;

/// 2026-11-25 10:00 IST, a Wednesday with the market open (the sim's manual clock).
const OPEN: &str = "2026-11-25T04:30:00Z";

/// The key, the sim's test token, lookback 3, and no market clock in kitebreak
/// (its clock is the system's; the sim's stands at a trading hour).
const ENV: [(&str, &str); 4] = [
    ("KITE_API_KEY", DEFAULT_API_KEY),
    ("KITE_ACCESS_TOKEN", "test_access_token"),
    ("KITEBREAK_STRATEGY__LOOKBACK", "3"),
    ("KITEBREAK_MARKET__ENFORCE", "false"),
];

fn candle(minute: u32, high: &str, low: &str, close: &str) -> Value {
    let time = format!("2026-11-25T10:{minute:02}:00+05:30");
    json!({"symbol": "INFY", "high": high, "low": low, "close": close, "time": time})
}

async fn start(sim: &SimHandle, data: tempfile::TempDir) -> Server {
    let (root, ws) = (sim.url(), sim.ws_url());
    let args = ["--broker", "kite", "--kite-root", &root, "--kite-ws", &ws];
    Server::start_in_with_env(data, &args, &ENV).await
}

/// The orders kite-sim received: `(tag, status)`, oldest first.
fn sim_orders(sim: &SimHandle) -> Vec<(String, String)> {
    sim.shared().with_world(|world, _| {
        world
            .book
            .orders()
            .iter()
            .map(|o| {
                let tag = o.request.tag.clone().unwrap_or_default();
                (tag, format!("{:?}", o.status))
            })
            .collect()
    })
}

/// Waits until kite-sim holds `n` orders, woken by each order event it publishes
/// (no polling); the bound only turns a hang into a failure.
async fn placed(sim: &SimHandle, n: usize) {
    use tokio::sync::broadcast::error::RecvError;
    let mut events = sim.shared().events.subscribe();
    let wait = async {
        while sim_orders(sim).len() < n {
            match events.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => panic!("kite-sim stopped"),
            }
        }
    };
    let waited = tokio::time::timeout(std::time::Duration::from_secs(60), wait).await;
    assert!(waited.is_ok(), "kite-sim never got order {n}");
}

/// What start-up reconciliation settled (`GET /risk`): `(purpose, outcome)` of each
/// order kitebreak had in flight when it was killed.
async fn settled(server: &Server) -> Vec<(String, String)> {
    let (code, risk) = server.get("/risk").await;
    assert_eq!(code, 200, "{risk}");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    risk["reconciliation"]["orders"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|o| (text(&o["purpose"]), text(&o["outcome"])))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_live_trade_survives_sigkill_with_its_entry_and_its_exit_in_flight() {
    let at: jiff::Timestamp = OPEN.parse().expect("time");
    let sim = Sim::start(SimConfig::for_tests(at)).await.expect("sim");
    assert!(sim.set_price("NSE:INFY", "100".parse().expect("price")));
    let server = start(&sim, tempfile::tempdir().expect("dir")).await;
    let setup = [
        ("101", "99", "100"),
        ("105", "100", "102"),
        ("102", "95", "98"),
        ("103", "97", "100"),
        ("102", "98", "100"),
    ];
    for (minute, (h, l, c)) in (15..).zip(setup) {
        let (code, answer) = server.post("/webhook", &candle(minute, h, l, c)).await;
        assert_eq!(code, 200, "{answer}");
    }

    // The breakout's entry is placed and filled at 106, but its answer never comes:
    // kitebreak is killed while it waits.
    assert!(sim.set_price("NSE:INFY", "106".parse().expect("price")));
    sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    let webhook = format!("{}/webhook", server.base);
    let breakout = candle(20, "107", "101", "106");
    let in_flight = tokio::spawn(async move {
        // Cut off by the kill; its answer is not awaited.
        let _ = reqwest::Client::new()
            .post(webhook)
            .json(&breakout)
            .send()
            .await;
    });
    placed(&sim, 1).await;
    let data = server.kill().await;
    in_flight.abort();
    let server = start(&sim, data).await;
    let (_, status) = server.get("/strategy/INFY").await;
    let strategy = &status["strategy_status"];
    assert_eq!(strategy["position"], "open", "{status}");
    assert_eq!(strategy["active_trade"]["entry_price"], 106.0, "{status}");
    let sent = sim_orders(&sim);
    assert_eq!(sent.len(), 1, "the entry was not sent again: {sent:?}");
    assert_eq!(settled(&server).await, [("entry".into(), "filled".into())]);

    // The target tick's exit is placed and filled, its answer lost again, and
    // kitebreak is killed while it waits.
    sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    assert!(sim.set_price("NSE:INFY", "110".parse().expect("price")));
    placed(&sim, 2).await;
    let data = server.kill().await;
    let server = start(&sim, data).await;
    let (_, status) = server.get("/strategy/INFY").await;
    assert_eq!(status["strategy_status"]["position"], "flat", "{status}");
    let (_, trades) = server.get("/trades").await;
    let all = trades["trades"].as_array().expect("trades");
    assert_eq!(all.len(), 1, "{trades}");
    assert_eq!(all[0]["exit_reason"], "profit", "{trades}");
    assert_eq!(all[0]["exit_price"], 110.0, "{trades}");
    assert_eq!(settled(&server).await, [("exit".into(), "filled".into())]);
    let sent = sim_orders(&sim);
    assert_eq!(
        sent.len(),
        2,
        "one entry and one exit, never resent: {sent:?}"
    );
    assert_ne!(sent[0].0, sent[1].0, "each under its own tag");
    assert!(
        sent.iter().all(|(tag, _)| tag.starts_with("KB")),
        "{sent:?}"
    );
    let (bought, sold) = sim.shared().with_world(|world, _| {
        world
            .book
            .positions()
            .iter()
            .filter(|p| p.tradingsymbol == "INFY")
            .fold((0, 0), |(b, s), p| {
                (b + p.buy_quantity, s + p.sell_quantity)
            })
    });
    assert_eq!(bought, sold, "flat at the broker too");
    assert!(bought > 0);
    drop(server);
    sim.shutdown().await;
}

//! The Kite session through the real binary against an in-process kite-sim on the
//! real clock: `serve --broker kite` shows the session dying loudly, and a `kitebreak
//! login --request-token` in another process brings it back without a restart (the
//! session file is watched). No token reaches the server's log.

use kite_sim::config::{DEFAULT_API_KEY, DEFAULT_API_SECRET};
use kite_sim::{Faults, Sim, SimConfig, SimHandle};
use serde_json::Value;

use crate::helpers::{Server, run, texts};

const CREDENTIALS: [(&str, &str); 2] = [
    ("KITE_API_KEY", DEFAULT_API_KEY),
    ("KITE_API_SECRET", DEFAULT_API_SECRET),
];

async fn login(sim: &SimHandle, data: &str, request_token: &str) -> String {
    let (root, ws) = (sim.url(), sim.ws_url());
    let args = [
        "login",
        "--request-token",
        request_token,
        "--data-dir",
        data,
        "--kite-root",
        &root,
        "--kite-ws",
        &ws,
    ];
    let output = run(&args, &CREDENTIALS).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("logged in as "), "{stdout}");
    let path = std::path::Path::new(data).join("kite-session.json");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("session file")).expect("json");
    stored["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn serve_shows_an_expired_session_and_picks_up_a_new_login_without_a_restart() {
    let sim = Sim::start(SimConfig {
        walk_every: None,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts");
    let price: kitebreak_price::Price = "1500".parse().expect("price");
    assert!(sim.set_price("NSE:INFY", price));
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().display().to_string();
    let first = login(&sim, &data, "rt-monday").await;
    let (root, ws) = (sim.url(), sim.ws_url());
    let args = ["--broker", "kite", "--kite-root", &root, "--kite-ws", &ws];
    let server = Server::start_in_with_env(dir, &args, &CREDENTIALS).await;
    let (_, health) = server.get("/").await;
    assert_eq!(health["broker_session"], "active", "{health}");

    // Kite kills every token (06:00 IST, or a logout elsewhere). On the sim's own
    // clock: it runs from its start on a monotonic clock, so the system clock's "now"
    // can be a little ahead of it and leave the token alive for a moment.
    sim.set_faults(Faults {
        tokens_expire_at: Some(sim.shared().clock.now()),
        ..Faults::default()
    });
    let (status, answer) = server.get("/ltp/INFY").await;
    assert!(status >= 400, "{answer}");
    let (_, health) = server.get("/").await;
    assert_eq!(health["broker_session"], "expired", "{health}");
    assert!(
        health["message"]
            .as_str()
            .is_some_and(|m| m.contains("NEW ENTRIES ARE PAUSED")),
        "{health}"
    );

    // The user logs in again from another terminal; serve notices the file.
    sim.set_faults(Faults::default());
    let second = login(
        &sim,
        &server.data.path().display().to_string(),
        "rt-tuesday",
    )
    .await;
    assert_ne!(first, second);
    server
        .wait_for_log("a new kite session was found in the session file")
        .await;
    let (_, health) = server.get("/").await;
    assert_eq!(health["broker_session"], "active", "{health}");
    let (status, answer) = server.get("/ltp/INFY").await;
    assert_eq!(status, 200, "{answer}");

    let log = server.stderr();
    assert!(log.contains("KITE SESSION EXPIRED"), "{log}");
    assert!(log.contains("new kite session was found"), "{log}");
    for token in [&first, &second] {
        assert!(!log.contains(token.as_str()), "a token in the log:\n{log}");
    }
    assert!(!log.contains(DEFAULT_API_SECRET), "the secret in the log");
    sim.shutdown().await;
}

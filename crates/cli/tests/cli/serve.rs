//! `kitebreak serve`: starts on an ephemeral port, answers, and stops cleanly.

use serde_json::{Value, json};

use crate::helpers::{Server, run, texts};

#[tokio::test]
async fn serve_listens_on_an_ephemeral_port_answers_and_stops_on_sigterm() {
    let mut server = Server::start(&[]).await;
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    assert!(!server.base.ends_with(":0"), "the real port is printed");
    let (status, body) = server.get("/").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "success");
    assert_eq!(body["broker"], "paper");
    let exit = server.terminate().await;
    assert!(exit.success(), "{exit}: {}", server.stderr());
    assert!(
        server.stderr().contains("state is on disk"),
        "{}",
        server.stderr()
    );
    assert!(server.data.path().join("kitebreak.db").exists());
    assert!(
        server.data.path().join("kitebreak.paper.db").exists(),
        "the paper book is a file of its own beside the database"
    );
}

#[tokio::test]
async fn a_corrupt_paper_book_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("kitebreak.paper.db"),
        b"not an SQLite file at all ".repeat(100),
    )
    .expect("write garbage");
    let data = dir.path().display().to_string();
    let args = ["serve", "--listen", "127.0.0.1:0", "--data-dir", &data];
    let output = run(&args, &[]).await;
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("kitebreak.paper.db"), "{stderr}");
    assert!(stderr.contains("not a database"), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let mut server = Server::start(&["--log-format", "json"]).await;
    assert!(server.terminate().await.success());
    let log = server.stderr();
    assert!(!log.trim().is_empty());
    for line in log.lines() {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
    }
}

#[tokio::test]
async fn the_kite_broker_without_a_session_is_refused_not_replaced_by_paper() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().display().to_string();
    let args = [
        "serve",
        "--broker",
        "kite",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data,
    ];
    let output = run(&args, &[("KITE_API_KEY", "kitebreak_test_key")]).await;
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("kitebreak login"), "{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    let without_key = run(&args, &[]).await;
    let (_, stderr) = texts(&without_key);
    assert!(!without_key.status.success());
    assert!(stderr.contains("KITE_API_KEY"), "{stderr}");
}

#[tokio::test]
async fn a_public_address_without_secrets_is_refused_with_the_servers_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().display().to_string();
    let args = ["serve", "--listen", "0.0.0.0:0", "--data-dir", &data];
    let output = run(&args, &[]).await;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("refusing to listen"), "{stderr}");
    assert!(stderr.contains("KITEBREAK_API_TOKEN"), "{stderr}");
}

#[tokio::test]
async fn state_survives_a_sigterm_and_a_restart() {
    let mut server = Server::start(&[]).await;
    let candle = json!({"symbol": "infy", "high": 1510, "low": 1490, "close": "1505.5",
                        "time": "2026-11-24T09:15:00+05:30"});
    let (status, body) = server.post("/webhook", &candle).await;
    assert_eq!(status, 200, "{body}");
    assert!(server.terminate().await.success());

    let mut again = Server::start_in(server.data, &[]).await;
    let (status, body) = again.get("/strategy/INFY").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["strategy_status"]["data_points"], 1, "{body}");
    let (_, body) = again.post("/webhook", &candle).await;
    assert_eq!(
        body["duplicate"], true,
        "the same candle is known after the restart"
    );
    assert!(again.terminate().await.success());
}

//! `kitebreak replay` against a real server started in this process on a free port
//! with a temporary database; the server's state is then read through its API.

use std::net::SocketAddr;
use std::path::PathBuf;

use kitebreak_engine::EngineConfig;
use kitebreak_server::{Secret, ServerConfig};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::{run, texts};

/// A server on 127.0.0.1:0 that stops when dropped.
struct InProcess {
    address: SocketAddr,
    _stop: oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

impl InProcess {
    async fn start(webhook_secret: Option<&str>) -> InProcess {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new(EngineConfig::new(data.path().join("k.db")));
        config.webhook_secret = webhook_secret.and_then(Secret::new);
        config.api_token = webhook_secret.and_then(Secret::new);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tokio::spawn(kitebreak_server::serve(config, listener, shutdown));
        InProcess {
            address,
            _stop: stop,
            _data: data,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        response.json().await.expect("JSON")
    }
}

/// The first `rows` candles of the bundled sample, in a temporary file.
fn sample_rows(dir: &tempfile::TempDir, rows: usize) -> PathBuf {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/GOOG-daily.csv");
    let text = std::fs::read_to_string(sample).expect("the sample");
    let head: Vec<&str> = text.lines().take(rows + 1).collect();
    let path = dir.path().join("GOOG-daily.csv");
    std::fs::write(&path, head.join("\n") + "\n").expect("write");
    path
}

#[tokio::test]
async fn replay_posts_every_candle_and_the_server_trades_them() {
    let server = InProcess::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = sample_rows(&dir, 40).display().to_string();
    let args = [
        "replay",
        "--csv",
        &csv,
        "--url",
        &server.url(),
        "--rate",
        "0",
    ];
    let output = run(&args, &[]).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("40 accepted, 0 duplicate, 0 errors (2 entries, 2 exits)"),
        "{stdout}"
    );
    let trades = server.get("/trades", None).await;
    assert_eq!(trades["count"], 2, "{trades}");
    let status = server.get("/strategy/GOOG", None).await;
    assert_eq!(status["strategy_status"]["symbol"], "GOOG", "{status}");

    // The same file again: candle times already seen are acknowledged, not applied.
    let output = run(&args, &[]).await;
    let (stdout, _) = texts(&output);
    assert!(output.status.success());
    assert!(!stdout.contains(" 0 duplicate"), "{stdout}");
    let trades = server.get("/trades", None).await;
    assert_eq!(trades["count"], 2, "nothing applied twice: {trades}");
}

#[tokio::test]
async fn rejected_candles_are_counted_with_their_line_and_the_rest_go_on() {
    let server = InProcess::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("INFY.csv");
    let rows =
        "time,high,low,close\n2024-01-01,10,9,9.5\n2024-01-02,10,9,11\n2024-01-03,10,9,9.8\n";
    std::fs::write(&csv, rows).expect("write");
    let csv = csv.display().to_string();
    let output = run(
        &[
            "replay",
            "--csv",
            &csv,
            "--url",
            &server.url(),
            "--rate",
            "0",
        ],
        &[],
    )
    .await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("2 accepted, 0 duplicate, 1 errors"),
        "{stdout}"
    );
    assert!(stderr.contains("line 3"), "{stderr}");
    let status = server.get("/strategy/INFY", None).await;
    assert_eq!(status["strategy_status"]["data_points"], 2, "{status}");
}

#[tokio::test]
async fn replay_stops_at_the_first_server_error_with_its_line() {
    let right = "right-passphrase-4d1e";
    let wrong = "wrong-passphrase-77a0";
    let server = InProcess::start(Some(right)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = sample_rows(&dir, 5).display().to_string();
    let args = [
        "replay",
        "--csv",
        &csv,
        "--url",
        &server.url(),
        "--rate",
        "0",
    ];
    let output = run(&args, &[("KITEBREAK_WEBHOOK_SECRET", wrong)]).await;
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stdout.contains("replayed 0 of 5"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains(wrong) && !text.contains(right));
    }

    let output = run(&args, &[("KITEBREAK_WEBHOOK_SECRET", right)]).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("5 accepted"), "{stdout}");
    let strategies = server.get("/strategies", Some(right)).await;
    assert_eq!(strategies["count"], 1, "{strategies}");
}

#[tokio::test]
async fn an_unreachable_server_stops_the_replay_at_the_first_candle() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = sample_rows(&dir, 3).display().to_string();
    let url = format!("http://{closed}");
    let output = run(
        &["replay", "--csv", &csv, "--url", &url, "--rate", "0"],
        &[],
    )
    .await;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("line 2") && stderr.contains("cannot reach"),
        "{stderr}"
    );
}

//! `kitebreak login` against kite-sim: the login URL, the token exchange, the stored
//! session (owner-only, never printed), and the errors a new user meets first.

use kite_sim::config::{DEFAULT_API_KEY, DEFAULT_API_SECRET};
use kite_sim::{Sim, SimConfig};

use crate::helpers::{run, texts};

fn credentials() -> [(&'static str, &'static str); 2] {
    [
        ("KITE_API_KEY", DEFAULT_API_KEY),
        ("KITE_API_SECRET", DEFAULT_API_SECRET),
    ]
}

#[tokio::test]
async fn login_without_a_token_prints_the_login_url_for_the_api_key() {
    let output = run(&["login"], &credentials()).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let url = stdout.trim();
    assert!(
        url.starts_with("https://kite.zerodha.com/connect/login?"),
        "{url}"
    );
    assert!(url.contains(&format!("api_key={DEFAULT_API_KEY}")), "{url}");
    assert!(url.contains("v=3"), "{url}");
    assert!(stderr.contains("--request-token"), "{stderr}");
}

#[tokio::test]
async fn login_exchanges_the_request_token_and_stores_the_session_privately() {
    let start = "2026-11-24T04:00:00Z".parse().expect("time");
    let sim = Sim::start(SimConfig::for_tests(start))
        .await
        .expect("sim starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let (root, ws) = (sim.url(), sim.ws_url());
    let args = [
        "login",
        "--request-token",
        "rt-from-redirect",
        "--data-dir",
        data_dir,
        "--kite-root",
        &root,
        "--kite-ws",
        &ws,
    ];
    let output = run(&args, &credentials()).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("logged in as "), "{stdout}");
    assert!(stdout.contains("06:00 IST"), "{stdout}");
    let path = dir.path().join("kite-session.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("session file"))
            .expect("session JSON");
    let token = stored["access_token"].as_str().expect("a stored token");
    assert!(!token.is_empty());
    assert!(
        !stdout.contains(token) && !stderr.contains(token),
        "the token was printed"
    );
    assert!(!stdout.contains(DEFAULT_API_SECRET) && !stderr.contains(DEFAULT_API_SECRET));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "session file mode {mode:o}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn login_with_a_wrong_secret_fails_and_stores_nothing() {
    let start = "2026-11-24T04:00:00Z".parse().expect("time");
    let sim = Sim::start(SimConfig::for_tests(start))
        .await
        .expect("sim starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let (root, ws) = (sim.url(), sim.ws_url());
    let args = [
        "login",
        "--request-token",
        "rt",
        "--data-dir",
        data_dir,
        "--kite-root",
        &root,
        "--kite-ws",
        &ws,
    ];
    let envs = [
        ("KITE_API_KEY", DEFAULT_API_KEY),
        ("KITE_API_SECRET", "not-the-secret"),
    ];
    let output = run(&args, &envs).await;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("exchanging the request token"), "{stderr}");
    assert!(
        !stderr.contains("not-the-secret"),
        "the secret was printed: {stderr}"
    );
    assert!(!dir.path().join("kite-session.json").exists());
    sim.shutdown().await;
}

#[tokio::test]
async fn login_without_an_api_key_says_which_variable_to_set() {
    let output = run(&["login"], &[]).await;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("KITE_API_KEY is not set"), "{stderr}");
}

#[tokio::test]
async fn the_login_url_follows_the_configured_login_root() {
    let args = ["login", "--kite-login", "http://127.0.0.1:9/"];
    let output = run(&args, &credentials()).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("http://127.0.0.1:9/connect/login?api_key={DEFAULT_API_KEY}&v=3")
    );
}

//! Configuration as the binary reads it: errors that name the key and the file, and
//! `--print-config` that never shows a secret.

use crate::helpers::{run, texts};

#[tokio::test]
async fn print_config_masks_every_secret() {
    let token = "tok-5f2d9c0e-never-print";
    let passphrase = "pass-81b7-never-print";
    let kite_secret = "kite-3c1a-never-print";
    let envs = [
        ("KITEBREAK_API_TOKEN", token),
        ("KITEBREAK_WEBHOOK_SECRET", passphrase),
        ("KITE_API_SECRET", kite_secret),
    ];
    let output = run(&["serve", "--print-config", "-v"], &envs).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    for secret in [token, passphrase, kite_secret] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    assert!(
        stdout.contains("KITEBREAK_API_TOKEN      = \"***\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("KITE_API_KEY             = (not set)"),
        "{stdout}"
    );
    assert!(stdout.contains("[strategy]"), "{stdout}");
}

#[tokio::test]
async fn print_config_shows_file_environment_and_flags_merged() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../kitebreak.example.toml");
    let args = [
        "serve",
        "--config",
        example,
        "--print-config",
        "--data-dir",
        "/srv/kb",
    ];
    let output = run(&args, &[("KITEBREAK_PAPER__SLIPPAGE_BPS", "7")]).await;
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("data_dir = \"/srv/kb\""), "{stdout}");
    assert!(stdout.contains("slippage_bps = 7"), "{stdout}");
    assert!(stdout.contains("[strategy.symbols.RELIANCE]"), "{stdout}");
}

#[tokio::test]
async fn a_bad_config_file_names_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("kitebreak.toml");
    std::fs::write(&file, "[strategy]\nstop_loss = 1.5\n").expect("write");
    let path = file.display().to_string();
    let output = run(&["serve", "--config", &path], &[]).await;
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("`strategy.stop_loss`"), "{stderr}");
    assert!(stderr.contains(&path), "{stderr}");
    assert!(!stdout.contains("listening"));
}

#[tokio::test]
async fn an_unknown_key_in_the_environment_is_an_error() {
    let output = run(
        &["serve", "--print-config"],
        &[("KITEBREAK_SERVER__LISTN", "x")],
    )
    .await;
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("`server.listn`"), "{stderr}");
    assert!(stderr.contains("KITEBREAK_SERVER__LISTN"), "{stderr}");
}

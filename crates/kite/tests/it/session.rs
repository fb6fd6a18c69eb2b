//! Logins, the token file, TokenException and recovery without a restart.

use kite_sim::Faults;
use kitebreak_kite::session::{exchange_request_token, load_session, login_url};
use kitebreak_kite::{ErrorClass, KiteError};
use sha2::{Digest, Sha256};

use crate::helpers::{field, log, spawn};

#[test]
fn the_login_url_names_the_key_and_version_3_on_the_configured_root() {
    let config = kitebreak_kite::KiteConfig::new("abc", "/tmp");
    assert_eq!(
        login_url(&config, None).expect("url"),
        "https://kite.zerodha.com/connect/login?api_key=abc&v=3"
    );
    let local = config.with_login_root("http://127.0.0.1:5001/");
    assert_eq!(
        login_url(&local, Some("state=n0nce")).expect("url"),
        "http://127.0.0.1:5001/connect/login?api_key=abc&v=3&redirect_params=state%3Dn0nce"
    );
    let odd = kitebreak_kite::KiteConfig::new("a&b=c", "/tmp");
    assert_eq!(
        login_url(&odd, None).expect("url"),
        "https://kite.zerodha.com/connect/login?api_key=a%26b%3Dc&v=3"
    );
    let bad = kitebreak_kite::KiteConfig::new("abc", "/tmp").with_login_root("ftp://x");
    assert!(login_url(&bad, None).is_err());
}

#[tokio::test]
async fn a_request_token_becomes_a_private_session_file_expiring_at_six_ist() {
    let env = spawn().await;
    let stored = exchange_request_token(env.broker.config(), "rt123")
        .await
        .expect("login");
    assert!(!stored.user_name.is_empty());
    let expected: jiff::Timestamp = "2026-11-26T00:30:00Z".parse().expect("ts");
    assert_eq!(stored.expires_at, expected);
    let request = log(&env.sim)
        .into_iter()
        .find(|r| r.path == "/session/token")
        .expect("sent");
    let mut digest = Sha256::new();
    digest.update(b"kitesim_keyrt123kitesim_secret");
    let checksum = hex::encode(digest.finalize());
    assert_eq!(field(&request.form, "checksum"), Some(checksum.as_str()));
    assert_eq!(field(&request.form, "request_token"), Some("rt123"));
    let path = env.broker.config().session_path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        load_session(env.broker.config()).expect("read"),
        Some(stored.clone())
    );
    assert!(!format!("{stored:?}").contains(stored.access_token.expose()));
}

#[tokio::test]
async fn token_exception_flags_the_session_and_a_new_login_recovers_it() {
    let env = spawn().await;
    env.sim.set_faults(Faults {
        tokens_expire_at: Some(crate::helpers::start()),
        ..Faults::default()
    });
    let error = env.broker.orders().await.expect_err("token dead");
    assert!(matches!(error, KiteError::TokenExpired));
    assert_eq!(error.class(), ErrorClass::Fatal);
    assert!(env.broker.session().is_expired());
    env.sim.set_faults(Faults::default());
    // A login in another process writes the file; the running broker picks it up.
    exchange_request_token(env.broker.config(), "rt456")
        .await
        .expect("login");
    let now = crate::helpers::start();
    assert!(
        env.broker
            .session()
            .reload_from_file(env.broker.config(), now)
            .expect("reload")
    );
    // Reading the same file again installs nothing new.
    assert!(
        !env.broker
            .session()
            .reload_from_file(env.broker.config(), now)
            .expect("reload")
    );
    assert!(!env.broker.session().is_expired());
    env.broker
        .orders()
        .await
        .expect("works again with the new token");
    let auth: Vec<String> = log(&env.sim)
        .iter()
        .filter(|r| r.path == "/orders")
        .filter_map(|r| crate::helpers::header(r, "authorization").map(str::to_string))
        .collect();
    assert_eq!(auth.len(), 2);
    assert_ne!(auth[0], auth[1], "the second call used the new token");
}

#[tokio::test]
async fn a_token_file_written_by_another_login_is_picked_up_by_the_watch() {
    let env = spawn().await;
    let state = env.broker.session().clone();
    let before = state.status().generation;
    let watch = state.spawn_file_watch(
        env.broker.config().clone(),
        std::time::Duration::from_millis(20),
        std::sync::Arc::new(crate::helpers::start),
    );
    // `kitebreak login --request-token` in another process: only the file changes.
    let config = env.broker.config().clone();
    exchange_request_token(&config, "rt777")
        .await
        .expect("login");
    crate::helpers::reaches("the new token is installed", state.subscribe(), |status| {
        status.generation > before
    })
    .await;
    watch.abort();
    env.broker.orders().await.expect("the new token works");
}

#[tokio::test]
async fn an_expired_session_file_never_replaces_a_live_token() {
    let env = spawn().await;
    let stored = exchange_request_token(env.broker.config(), "rt-old")
        .await
        .expect("login");
    let after_expiry = stored.expires_at;
    assert!(
        !env.broker
            .session()
            .reload_from_file(env.broker.config(), after_expiry)
            .expect("reload"),
        "a dead token from the file was installed"
    );
    assert_ne!(
        env.broker.session().status().token,
        Some(stored.access_token)
    );
}

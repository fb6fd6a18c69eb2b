//! Login by checksum, logout, and tokens that expire.

use jiff::SignedDuration;
use kite_sim::Faults;
use kiteconnect::{ApiSecret, Error, KiteConnect, Request};

use crate::helpers::{kite, spawn_sim, start};

fn is_token_error(result: Result<serde_json::Value, Error>) -> bool {
    matches!(result, Err(Error::Api(api)) if api.status == 403 && api.is_session_expired())
}

#[tokio::test]
async fn any_request_token_with_the_right_checksum_logs_in() {
    let sim = spawn_sim().await;
    let mut client = KiteConnect::builder(kite_sim::config::DEFAULT_API_KEY)
        .base_url(sim.url())
        .build()
        .expect("client");
    let wrong = ApiSecret::new("not-the-secret").expect("secret");
    match client.generate_session("whatever", &wrong).await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (403, "TokenException"))
        }
        other => panic!("a bad checksum must be refused: {other:?}"),
    }
    let secret = ApiSecret::new(kite_sim::config::DEFAULT_API_SECRET).expect("secret");
    let session = client
        .generate_session("whatever", &secret)
        .await
        .expect("login");
    client.set_access_token(session.access_token);
    client.profile().await.expect("the new token works");
    assert!(client.invalidate_access_token().await.expect("logout"));
    assert!(is_token_error(
        client.call(Request::get("/user/profile")).raw().await
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_get_403_token_exception() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let anonymous = KiteConnect::builder(kite_sim::config::DEFAULT_API_KEY)
        .base_url(sim.url())
        .build()
        .expect("client");
    assert!(is_token_error(
        anonymous.call(Request::get("/orders")).raw().await
    ));
    kite.profile().await.expect("valid at start");

    sim.set_faults(Faults {
        tokens_expire_at: start().checked_add(SignedDuration::from_secs(60)).ok(),
        ..Faults::default()
    });
    kite.profile()
        .await
        .expect("still valid before the set time");
    sim.advance(SignedDuration::from_secs(60));
    assert!(is_token_error(
        kite.call(Request::get("/user/profile")).raw().await
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_die_at_six_in_the_morning_ist() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    // Start is 10:00 IST; 06:00 next day is 20 hours later.
    sim.advance(SignedDuration::from_secs(20 * 3600 - 1));
    kite.profile().await.expect("valid until 06:00");
    sim.advance(SignedDuration::from_secs(1));
    assert!(is_token_error(
        kite.call(Request::get("/user/profile")).raw().await
    ));
    sim.shutdown().await;
}

//! Retries and classification against wiremock: 429, 5xx and timeouts on reads
//! (retried with backoff) and on placements (never retried).

use std::time::Duration;

use kitebreak_kite::{
    ErrorClass, Instruments, KiteBroker, OrderKind, OrderRequest, Product, SessionState, Side, Tag,
};
use kitebreak_price::Quantity;
use kiteconnect::AccessToken;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Relay, config_for, fixture_bytes};

async fn broker(server: &MockServer) -> (KiteBroker, tempfile::TempDir) {
    broker_at(&server.uri())
}

/// A broker whose REST root is `url`, with the NSE fixture's instruments.
fn broker_at(url: &str) -> (KiteBroker, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let config = config_for(url, "ws://127.0.0.1:9", dir.path());
    let session = SessionState::new(Some(AccessToken::new("SENTINELTOKEN").expect("token")));
    let broker = KiteBroker::new(config, session);
    let all = Instruments::from_csv(&fixture_bytes("instruments_nse.csv")).expect("dump");
    broker.set_instruments(all);
    (broker, dir)
}

/// A mock Kite that gives every `POST /orders/regular` `answer`.
async fn answering_placements(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders/regular"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

fn error(status: u16, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": "error", "message": "boom", "error_type": kind, "data": null
    }))
}

fn orders_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "success", "data": []}))
}

fn buy() -> OrderRequest {
    OrderRequest {
        tag: Tag::new("kbw1").expect("tag"),
        instrument: "NSE:CENTRALBK-BE".into(),
        side: Side::Buy,
        quantity: Quantity::new(1).expect("qty"),
        kind: OrderKind::Market,
        product: Product::Cnc,
    }
}

#[tokio::test]
async fn reads_retry_429_and_5xx_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(error(429, "NetworkException"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(error(503, "NetworkException"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(orders_ok())
        .mount(&server)
        .await;
    let (broker, _dir) = broker(&server).await;
    assert_eq!(broker.orders().await.expect("third time lucky"), vec![]);
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 3);
    let auth = requests[2]
        .headers
        .get("authorization")
        .map(|v| v.as_bytes().to_vec());
    assert_eq!(
        auth.as_deref(),
        Some(&b"token kitesim_key:SENTINELTOKEN"[..])
    );
    // With a client built and cached, Debug still shows no token.
    assert!(!format!("{broker:?}").contains("SENTINEL"));
}

#[tokio::test]
async fn reads_give_up_after_the_configured_attempts_as_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(error(500, "GeneralException"))
        .mount(&server)
        .await;
    let (broker, _dir) = broker(&server).await;
    let failure = broker.orders().await.expect_err("always 500");
    assert_eq!(failure.class(), ErrorClass::Retryable);
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(4));
}

#[tokio::test]
async fn read_timeouts_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(orders_ok().set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders"))
        .respond_with(orders_ok())
        .mount(&server)
        .await;
    let (broker, _dir) = broker(&server).await;
    broker.orders().await.expect("second attempt answers");
}

#[tokio::test]
async fn placements_are_never_retried() {
    for (answer, class) in [
        (error(500, "GeneralException"), ErrorClass::UnknownOutcome),
        (error(504, "NetworkException"), ErrorClass::UnknownOutcome),
        (error(429, "NetworkException"), ErrorClass::Retryable),
        (error(400, "InputException"), ErrorClass::Rejected),
        (error(403, "TokenException"), ErrorClass::Fatal),
        (
            orders_ok().set_delay(Duration::from_secs(5)),
            ErrorClass::UnknownOutcome,
        ),
    ] {
        let server = answering_placements(answer).await;
        let (broker, _dir) = broker(&server).await;
        let failure = broker.place_order(&buy()).await.expect_err("fails");
        assert_eq!(failure.class(), class, "{failure}");
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(1),
            "{failure}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_means_the_order_was_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let dir = tempfile::tempdir().expect("dir");
    let config = config_for(&format!("http://{addr}"), "ws://127.0.0.1:9", dir.path());
    let session = SessionState::new(Some(AccessToken::new("tok").expect("token")));
    let broker = KiteBroker::new(config, session);
    broker.set_instruments(
        Instruments::from_csv(&fixture_bytes("instruments_nse.csv")).expect("dump"),
    );
    let failure = broker.place_order(&buy()).await.expect_err("refused");
    assert_eq!(failure.class(), ErrorClass::Retryable);
}

#[test]
fn errors_never_print_the_token() {
    let config = kitebreak_kite::KiteConfig::new("key", "/tmp")
        .with_secret("SENTINEL-SECRET")
        .expect("secret");
    let session = SessionState::new(Some(AccessToken::new("SENTINEL-TOKEN").expect("token")));
    let text = format!("{config:?} {session:?} {:?}", session.status());
    assert!(!text.contains("SENTINEL"), "{text}");
}

#[tokio::test]
async fn a_token_exception_on_placement_marks_the_session_but_exits_are_still_sent() {
    let server = answering_placements(error(403, "TokenException")).await;
    let (broker, _dir) = broker(&server).await;
    broker.place_order(&buy()).await.expect_err("token dead");
    assert!(broker.session().is_expired());
    assert_eq!(broker.session().status().expiries, 1);
    // The engine pauses entries itself; a placement (an exit) still reaches Kite,
    // whose answer is the truth.
    let again = broker.place_order(&buy()).await.expect_err("still dead");
    assert_eq!(again.class(), ErrorClass::Fatal);
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
    assert_eq!(broker.session().status().expiries, 1, "one transition");
    broker
        .session()
        .set(AccessToken::new("fresh").expect("token"));
    assert!(!broker.session().is_expired());
}

#[tokio::test]
async fn untraded_instruments_are_absent_from_ltp_not_an_error() {
    let server = MockServer::start().await;
    let body = json!({"status": "success", "data": {
        "NSE:CENTRALBK-BE": {"instrument_token": 3813889, "last_price": 0},
        "NSE:EMMBI-BL": {"instrument_token": 4645121, "last_price": 101.3}
    }});
    Mock::given(method("GET"))
        .and(path("/quote/ltp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let (broker, _dir) = broker(&server).await;
    let prices = broker
        .ltp(&["NSE:CENTRALBK-BE", "NSE:EMMBI-BL"])
        .await
        .expect("ltp");
    assert_eq!(prices.len(), 1);
    assert_eq!(
        prices.get("NSE:EMMBI-BL"),
        Some(&crate::helpers::price("101.3"))
    );
}

fn envelope(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": "error", "message": message, "error_type": kind, "data": null
    }))
}

fn html(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw("<html>bad gateway</html>", "text/html")
}

/// Kite's error answers (kite-api.md §3, §11) and what each means for a read: the
/// class, and whether the read is repeated (two attempts allowed).
fn read_cases() -> Vec<(&'static str, ResponseTemplate, ErrorClass, usize)> {
    use ErrorClass::{Fatal, Rejected, Retryable};
    vec![
        (
            "token",
            envelope(
                403,
                "TokenException",
                "Incorrect `api_key` or `access_token`.",
            ),
            Fatal,
            1,
        ),
        (
            "input",
            envelope(400, "InputException", "Invalid `order_id`."),
            Rejected,
            1,
        ),
        (
            "order 500",
            envelope(500, "OrderException", "Couldn't find that `order_id`."),
            Rejected,
            1,
        ),
        (
            "order 400",
            envelope(400, "OrderException", "Order not found."),
            Rejected,
            1,
        ),
        (
            "permission",
            envelope(
                403,
                "PermissionException",
                "No IPs configured for this app.",
            ),
            Rejected,
            1,
        ),
        (
            "margin",
            envelope(400, "MarginException", "Insufficient funds."),
            Rejected,
            1,
        ),
        (
            "route",
            envelope(404, "GeneralException", "Route not found"),
            Rejected,
            1,
        ),
        (
            "error in a 200",
            envelope(200, "InputException", "Invalid segment."),
            Rejected,
            1,
        ),
        (
            "rate limit",
            envelope(429, "NetworkException", "Too many requests"),
            Retryable,
            2,
        ),
        ("rate limit, bare", ResponseTemplate::new(429), Retryable, 2),
        (
            "oms down",
            envelope(503, "NetworkException", "Unable to reach the OMS."),
            Retryable,
            2,
        ),
        (
            "bad oms answer",
            envelope(502, "DataException", "Bad response from the OMS."),
            Retryable,
            2,
        ),
        (
            "general 500",
            envelope(500, "GeneralException", "Something went wrong"),
            Retryable,
            2,
        ),
        ("gateway page", html(502), Retryable, 2),
        ("gateway timeout", html(504), Retryable, 2),
    ]
}

#[tokio::test]
async fn every_kite_error_type_is_classified_for_reads() {
    for (name, answer, class, attempts) in read_cases() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/orders"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("dir");
        let mut config = config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
        config.read_attempts = 2;
        let token = AccessToken::new("tok").expect("token");
        let broker = KiteBroker::new(config, SessionState::new(Some(token)));
        let failure = broker.orders().await.expect_err(name);
        assert_eq!(failure.class(), class, "{name}: {failure}");
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(attempts),
            "{name}"
        );
        assert_eq!(
            broker.session().is_expired(),
            class == ErrorClass::Fatal,
            "{name}"
        );
    }
}

#[tokio::test]
async fn every_kite_error_type_is_classified_for_placements_and_none_is_resent() {
    for (name, answer, class) in placement_cases() {
        let server = answering_placements(answer).await;
        let (broker, _dir) = broker(&server).await;
        let failure = broker.place_order(&buy()).await.expect_err(name);
        assert_eq!(failure.class(), class, "{name}: {failure}");
        if class == ErrorClass::UnknownOutcome {
            assert!(
                matches!(&failure, kitebreak_kite::KiteError::OutcomeUnknown { tag, .. } if tag == "kbw1"),
                "{name}: {failure}"
            );
        }
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(1),
            "{name}"
        );
    }
}

/// Placements go out on their own connection and, when it is busy, through the
/// official crate's client; every answer must come to the same result on both. For
/// each answer, one placement is held in flight on the placement connection (a relay
/// holds its answer) while a second goes through the crate's client, and the two
/// results are compared whole.
#[tokio::test]
async fn both_placement_paths_decode_every_answer_alike() {
    let mut cases: Vec<_> = placement_cases()
        .into_iter()
        .map(|(name, answer, _)| (name, answer))
        .collect();
    cases.extend([
        (
            "placed",
            ResponseTemplate::new(200).set_body_json(
                json!({"status": "success", "data": {"order_id": "151220000000000"}}),
            ),
        ),
        (
            "error envelope with 200",
            envelope(200, "InputException", "Invalid `quantity`."),
        ),
        (
            "placed without an id",
            ResponseTemplate::new(200).set_body_json(json!({"status": "success", "data": {}})),
        ),
        (
            "cloudflare challenge",
            ResponseTemplate::new(403)
                .insert_header("cf-mitigated", "challenge")
                .insert_header("cf-ray", "8c1f2a3b4c5d6e7f-BOM")
                .set_body_raw("<html>challenge</html>", "text/html"),
        ),
        (
            "5xx with a success envelope",
            ResponseTemplate::new(503).set_body_json(json!({"status": "success", "data": null})),
        ),
        (
            "error envelope without a message",
            ResponseTemplate::new(200).set_body_json(json!({"status": "error"})),
        ),
        (
            "4xx envelope without a message",
            ResponseTemplate::new(400).set_body_json(json!({"status": "error"})),
        ),
        (
            "cloudflare signature ban",
            ResponseTemplate::new(403).set_body_raw("error code: 1010", "text/plain"),
        ),
        (
            "cloudflare block page",
            ResponseTemplate::new(403).set_body_raw(
                "<html><title>Attention Required! | Cloudflare</title></html>",
                "text/html",
            ),
        ),
    ]);
    for (name, answer) in cases {
        let server = answering_placements(answer).await;
        let relay = Relay::start(*server.address()).await;
        let (broker, _dir) = broker_at(&relay.url);
        assert!(broker.open_placement_connection().await, "{name}");
        // Through the relay on that connection, so the relay has counted it when
        // the hold is set.
        let _ = broker.place_order(&buy()).await;
        relay.hold();
        let held = tokio::spawn({
            let broker = broker.clone();
            async move { broker.place_order(&buy()).await }
        });
        relay.holding(1).await;
        let through_the_crate = broker.place_order(&buy()).await;
        relay.release();
        let on_its_own = held.await.expect("joined");
        assert_eq!(
            format!("{on_its_own:?}"),
            format!("{through_the_crate:?}"),
            "{name}"
        );
        assert_eq!(
            relay.accepted.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "{name}"
        );
        // reqwest asks for compressed answers; the placement connection does not.
        let compressed: Vec<_> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.headers.contains_key("accept-encoding"))
            .collect();
        assert_eq!(compressed, [false, false, true], "{name}: both paths");
    }
}

/// Kite's error answers to a placement and the class each must get.
fn placement_cases() -> Vec<(&'static str, ResponseTemplate, ErrorClass)> {
    use ErrorClass::{Fatal, Rejected, Retryable, UnknownOutcome};
    vec![
        (
            "token",
            envelope(403, "TokenException", "Token expired"),
            Fatal,
        ),
        (
            "input",
            envelope(400, "InputException", "Markets are closed right now."),
            Rejected,
        ),
        // A refusal named by its type is definite even when sent with HTTP 500.
        (
            "order 500",
            envelope(500, "OrderException", "Order rejected by RMS."),
            Rejected,
        ),
        (
            "margin",
            envelope(400, "MarginException", "Insufficient funds."),
            Rejected,
        ),
        (
            "holding",
            envelope(400, "HoldingException", "Insufficient holdings."),
            Rejected,
        ),
        (
            "static ip",
            envelope(
                403,
                "PermissionException",
                "No IPs configured for this app.",
            ),
            Rejected,
        ),
        (
            "route",
            envelope(404, "GeneralException", "Route not found"),
            Rejected,
        ),
        (
            "rate limit",
            envelope(429, "NetworkException", "Too many requests"),
            Retryable,
        ),
        ("rate limit, bare", ResponseTemplate::new(429), Retryable),
        // The API may have handed the order to the OMS before failing.
        (
            "oms down",
            envelope(503, "NetworkException", "Unable to reach the OMS."),
            UnknownOutcome,
        ),
        (
            "bad oms answer",
            envelope(502, "DataException", "Bad response from the OMS."),
            UnknownOutcome,
        ),
        (
            "general 500",
            envelope(500, "GeneralException", "Something went wrong"),
            UnknownOutcome,
        ),
        ("gateway page", html(502), UnknownOutcome),
        (
            "unreadable 200",
            ResponseTemplate::new(200).set_body_raw("{\"status\":\"succ", "application/json"),
            UnknownOutcome,
        ),
    ]
}

#[tokio::test]
async fn a_read_whose_connection_is_refused_is_retried_then_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let dir = tempfile::tempdir().expect("dir");
    let config = config_for(&format!("http://{addr}"), "ws://127.0.0.1:9", dir.path());
    let session = SessionState::new(Some(AccessToken::new("tok").expect("token")));
    let broker = KiteBroker::new(config, session);
    let failure = broker.orders().await.expect_err("refused");
    assert_eq!(failure.class(), ErrorClass::Retryable);
    assert!(matches!(failure, kitebreak_kite::KiteError::Retryable(_)));
}

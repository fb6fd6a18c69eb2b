//! Client-side budgets under tokio's paused clock (no wall-clock assertions).

use std::time::Duration;

use kitebreak_kite::limits::{Endpoint, Limits};

#[tokio::test(start_paused = true)]
async fn a_burst_of_thirty_order_calls_takes_at_least_two_seconds() {
    let limits = Limits::kite();
    let start = tokio::time::Instant::now();
    for _ in 0..30 {
        limits.acquire(Endpoint::PlaceOrder).await;
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(
        took < Duration::from_secs(5),
        "not slower than needed: {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn order_and_quote_budgets_are_separate() {
    let limits = Limits::kite();
    let start = tokio::time::Instant::now();
    limits.acquire(Endpoint::Quote).await;
    limits.acquire(Endpoint::PlaceOrder).await;
    limits.acquire(Endpoint::Other).await;
    limits.acquire(Endpoint::Historical).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    limits.acquire(Endpoint::Quote).await;
    assert!(start.elapsed() >= Duration::from_secs(1));
}

/// Through the whole broker against wiremock. A paused clock cannot be used here:
/// with real sockets tokio would auto-advance into reqwest's timeouts while waiting
/// for the server. A *lower* bound on elapsed time cannot be flaky, though: the
/// budget spaces placements 111 ms apart, so 30 take at least 3.2 s.
#[tokio::test]
async fn thirty_placements_through_the_broker_are_spread_over_more_than_two_seconds() {
    use kitebreak_kite::{
        Instruments, KiteBroker, OrderKind, OrderRequest, Product, SessionState, Side, Tag,
    };
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let placed = serde_json::json!({"status": "success", "data": {"order_id": "1"}});
    Mock::given(method("POST"))
        .and(path("/orders/regular"))
        .respond_with(ResponseTemplate::new(200).set_body_json(placed))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let config = crate::helpers::config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
    let token = kiteconnect::AccessToken::new("tok").expect("token");
    let broker = KiteBroker::new(config, SessionState::new(Some(token)));
    let dump = crate::helpers::fixture_bytes("instruments_nse.csv");
    broker.set_instruments(Instruments::from_csv(&dump).expect("dump"));
    let start = std::time::Instant::now();
    let calls = (0..30).map(|n| {
        let broker = broker.clone();
        tokio::spawn(async move {
            let order = OrderRequest {
                tag: Tag::new(&format!("kbburst{n}")).expect("tag"),
                instrument: "NSE:CENTRALBK-BE".into(),
                side: Side::Buy,
                quantity: kitebreak_price::Quantity::ONE,
                kind: OrderKind::Market,
                product: Product::Cnc,
            };
            broker.place_order(&order).await
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.expect("task").expect("placed");
    }
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(30));
}

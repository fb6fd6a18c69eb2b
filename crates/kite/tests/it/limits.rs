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

/// Times (since start) of `n` acquisitions of `endpoint`, one caller after another.
async fn times(limits: &Limits, endpoint: Endpoint, n: usize) -> Vec<Duration> {
    let start = tokio::time::Instant::now();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        limits.acquire(endpoint).await;
        out.push(start.elapsed());
    }
    out
}

/// True when no window of length `window` (anywhere, not only aligned ones) holds
/// more than `limit` of `times`: the (limit+1)-th cell after any cell is `window`
/// or more later. Kite counts per calendar second of its own clock, which is not
/// aligned with ours, so every window must hold.
fn every_window_within(times: &[Duration], window: Duration, limit: usize) -> bool {
    times.windows(limit + 1).all(|w| w[limit] - w[0] >= window)
}

#[tokio::test(start_paused = true)]
async fn placements_stay_within_ten_a_second_and_400_a_minute_in_every_window() {
    let limits = Limits::kite();
    let placed = times(&limits, Endpoint::PlaceOrder, 700).await;
    assert!(every_window_within(&placed, Duration::from_secs(1), 10));
    assert!(every_window_within(&placed, Duration::from_secs(60), 400));
    // Not slower than needed: 400 in the first minute (Kite's full allowance).
    let first_minute = placed
        .iter()
        .filter(|t| **t < Duration::from_secs(60))
        .count();
    assert!(first_minute >= 350, "{first_minute} in the first minute");
}

#[tokio::test(start_paused = true)]
async fn placements_stay_within_5000_a_day() {
    let limits = Limits::kite();
    let placed = times(&limits, Endpoint::PlaceOrder, 5001).await;
    assert!(every_window_within(
        &placed,
        Duration::from_secs(86_400),
        5000
    ));
    assert!(
        placed[3999] < Duration::from_secs(3600),
        "the first 4000 within the hour"
    );
}

#[tokio::test(start_paused = true)]
async fn historical_is_three_a_second_and_everything_else_ten_combined() {
    let limits = Limits::kite();
    let candles = times(&limits, Endpoint::Historical, 20).await;
    assert!(every_window_within(&candles, Duration::from_secs(1), 3));
    let quotes = times(&limits, Endpoint::Quote, 5).await;
    assert!(every_window_within(&quotes, Duration::from_secs(1), 1));
    let others = times(&limits, Endpoint::Other, 40).await;
    assert!(every_window_within(&others, Duration::from_secs(1), 10));
    assert!(
        others[39] < Duration::from_secs(5),
        "not slower than needed"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_all_wait_their_turn_and_none_fails() {
    let limits = std::sync::Arc::new(Limits::kite());
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let limits = limits.clone();
            tokio::spawn(async move {
                limits.acquire(Endpoint::Other).await;
                start.elapsed()
            })
        })
        .collect();
    let mut done = Vec::new();
    for task in tasks {
        done.push(task.await.expect("caller finished"));
    }
    done.sort();
    assert_eq!(done.len(), 25);
    assert!(every_window_within(&done, Duration::from_secs(1), 10));
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

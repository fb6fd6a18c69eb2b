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

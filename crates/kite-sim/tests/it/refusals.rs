//! Orders refused or rejected: RMS rejections, bad input, the orders-per-second limit,
//! the modification cap.

use std::time::Duration;

use jiff::SignedDuration;
use kite_sim::{RateClock, SimConfig};
use kiteconnect::{Error, Exchange, OrderParams, OrderType, Product, Variety};

use crate::helpers::{config, kite, price, spawn_sim, spawn_with};
use crate::scenario::buy;

#[tokio::test]
async fn rejections_end_as_rejected_orders_and_bad_input_as_input_exceptions() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let status = |id: String| {
        let kite = kite.clone();
        async move {
            let history = kite.order_history(&id).await.expect("history");
            let last = history.last().expect("state").clone();
            (last.status, last.status_message.unwrap_or_default())
        }
    };
    let no_protection = kite
        .place_order(Variety::Regular, buy(OrderType::Market, 1))
        .await
        .expect("accepted");
    let history = kite
        .order_history(&no_protection.order_id)
        .await
        .expect("history");
    assert_eq!(
        crate::scenario::statuses(&history),
        ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "REJECTED"]
    );
    let (state, message) = status(no_protection.order_id).await;
    assert_eq!(state, "REJECTED");
    assert!(message.contains("market protection"), "{message}");
    let stop_market = buy(OrderType::SlM, 1).trigger_price(1510.0);
    let stop_market = kite
        .place_order(Variety::Regular, stop_market)
        .await
        .expect("accepted");
    let (state, message) = status(stop_market.order_id).await;
    assert_eq!(state, "REJECTED");
    assert!(message.contains("market protection"), "{message}");

    let too_big = kite
        .place_order(
            Variety::Regular,
            buy(OrderType::Limit, 100_000)
                .price(1500.0)
                .product(Product::Cnc),
        )
        .await
        .expect("accepted");
    let (state, message) = status(too_big.order_id).await;
    assert_eq!(state, "REJECTED");
    assert!(message.starts_with("Insufficient funds"), "{message}");

    let off_tick = kite
        .place_order(Variety::Regular, buy(OrderType::Limit, 1).price(1500.03))
        .await
        .expect("accepted");
    assert_eq!(status(off_tick.order_id).await.0, "REJECTED");

    let unknown = buy(OrderType::Limit, 1).price(10.0).tradingsymbol("NOSUCH");
    let unknown = kite
        .place_order(Variety::Regular, unknown)
        .await
        .expect("accepted");
    assert_eq!(status(unknown.order_id).await.0, "REJECTED");

    let missing_quantity = OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY");
    match kite.place_order(Variety::Regular, missing_quantity).await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (400, "InputException"))
        }
        other => panic!("expected an InputException, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn the_eleventh_order_in_one_second_gets_429_and_the_next_second_is_fresh() {
    // Counting in sim seconds: the manual clock stands still, so all eleven are in one.
    let sim = spawn_with(SimConfig {
        rate_clock: RateClock::Sim,
        ..config()
    })
    .await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let order = || buy(OrderType::Limit, 1).price(1400.0);
    for _ in 0..10 {
        kite.place_order(Variety::Regular, order())
            .await
            .expect("within the limit");
    }
    match kite.place_order(Variety::Regular, order()).await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (429, "NetworkException"))
        }
        other => panic!("expected 429, got {other:?}"),
    }
    sim.advance(SignedDuration::from_secs(1));
    kite.place_order(Variety::Regular, order())
        .await
        .expect("a new second");
    assert_eq!(kite.orders().await.expect("orders").len(), 11);
    sim.shutdown().await;
}

#[tokio::test]
async fn by_default_the_limit_counts_real_seconds_so_a_still_manual_clock_does_not_429() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let order = || buy(OrderType::Limit, 1).price(1400.0);
    let sim_time = sim.shared().clock.now();
    for _ in 0..10 {
        kite.place_order(Variety::Regular, order())
            .await
            .expect("ten within any second");
    }
    let last_second = sim.shared().rate_second();
    // A real second passes (counted, not waited for); the sim clock stays put.
    sim.shared().clock.skip_real(Duration::from_secs(1));
    assert!(sim.shared().rate_second() > last_second);
    for _ in 0..5 {
        kite.place_order(Variety::Regular, order())
            .await
            .expect("a fresh real second");
    }
    assert_eq!(
        sim.shared().clock.now(),
        sim_time,
        "the sim clock never moved"
    );
    assert_eq!(kite.orders().await.expect("orders").len(), 15);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_twenty_sixth_modification_is_refused() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let placed = kite
        .place_order(Variety::Regular, buy(OrderType::Limit, 1).price(1400.0))
        .await
        .expect("placed");
    for i in 0..25 {
        let params = OrderParams::new().price(1400.0 + f64::from(i % 2) * 0.05);
        kite.modify_order(Variety::Regular, &placed.order_id, params)
            .await
            .expect("within 25");
    }
    match kite
        .modify_order(
            Variety::Regular,
            &placed.order_id,
            OrderParams::new().price(1401.0),
        )
        .await
    {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (400, "InputException"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let last = kite
        .order_history(&placed.order_id)
        .await
        .expect("history")
        .pop()
        .expect("state");
    assert_eq!(
        (last.status.as_str(), last.price),
        ("OPEN", 1400.0),
        "the refused modification changed nothing"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_partly_filled_order_cannot_shrink_below_its_fills() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    sim.set_faults(kite_sim::Faults {
        partial_fill_next: 1,
        ..kite_sim::Faults::default()
    });
    let placed = kite
        .place_order(Variety::Regular, buy(OrderType::Limit, 10).price(1495.0))
        .await
        .expect("placed");
    sim.set_price("NSE:INFY", price("1495"));
    match kite
        .modify_order(
            Variety::Regular,
            &placed.order_id,
            OrderParams::new().quantity(3),
        )
        .await
    {
        Err(Error::Api(api)) => assert_eq!(api.status, 400),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Still marketable at 1495: the remaining 3 fill as soon as the change is in.
    kite.modify_order(
        Variety::Regular,
        &placed.order_id,
        OrderParams::new().quantity(8),
    )
    .await
    .expect("above the fills");
    let last = kite
        .order_history(&placed.order_id)
        .await
        .expect("history")
        .pop()
        .expect("state");
    assert_eq!(
        (
            last.status.as_str(),
            last.filled_quantity,
            last.pending_quantity
        ),
        ("COMPLETE", 8.0, 0.0)
    );
    sim.shutdown().await;
}

//! Order → fill → position → trade, end to end with the official client.

use jiff::SignedDuration;
use kiteconnect::{Error, Exchange, OrderParams, OrderType, Product, TransactionType, Variety};

use crate::helpers::{kite, price, spawn_sim};

fn buy(order_type: OrderType, quantity: i64) -> OrderParams {
    OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Buy)
        .order_type(order_type)
        .product(Product::Mis)
        .quantity(quantity)
}

fn statuses(history: &[kiteconnect::Order]) -> Vec<&str> {
    history.iter().map(|o| o.status.as_str()).collect()
}

#[tokio::test]
async fn a_market_entry_fills_then_a_resting_limit_exit_fills_on_the_price_move() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    assert!(sim.set_price("NSE:INFY", price("1500.25")));

    let entry = kite
        .place_order(
            Variety::Regular,
            buy(OrderType::Market, 10)
                .market_protection(2.0)
                .tag("kb-entry-1"),
        )
        .await
        .expect("placed");
    let history = kite.order_history(&entry.order_id).await.expect("history");
    assert_eq!(
        statuses(&history),
        [
            "PUT ORDER REQ RECEIVED",
            "VALIDATION PENDING",
            "OPEN PENDING",
            "OPEN",
            "COMPLETE"
        ]
    );
    let filled = history.last().expect("final state");
    assert_eq!(
        (
            filled.average_price,
            filled.filled_quantity,
            filled.pending_quantity
        ),
        (1500.25, 10.0, 0.0)
    );
    assert_eq!(filled.tag.as_deref(), Some("kb-entry-1"));

    let positions = kite.positions().await.expect("positions");
    let infy = positions
        .net
        .iter()
        .find(|p| p.tradingsymbol == "INFY")
        .expect("INFY position");
    assert_eq!(
        (infy.quantity, infy.average_price, infy.product.as_str()),
        (10, 1500.25, "MIS")
    );

    let exit = OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Sell)
        .order_type(OrderType::Limit)
        .price(1510.0)
        .product(Product::Mis)
        .quantity(10)
        .tag("kb-exit-1");
    let exit = kite
        .place_order(Variety::Regular, exit)
        .await
        .expect("exit placed");
    let resting = kite.order_history(&exit.order_id).await.expect("history");
    assert_eq!(resting.last().map(|o| o.status.as_str()), Some("OPEN"));

    sim.advance(SignedDuration::from_secs(30));
    assert!(sim.set_price("NSE:INFY", price("1510.05")));
    let done = kite.order_history(&exit.order_id).await.expect("history");
    assert_eq!(
        done.last().map(|o| (o.status.as_str(), o.average_price)),
        Some(("COMPLETE", 1510.05))
    );

    let trades = kite.trades().await.expect("trades");
    assert_eq!(trades.len(), 2);
    assert_eq!(
        (
            trades[0].order_id.as_str(),
            trades[0].quantity,
            trades[0].average_price
        ),
        (entry.order_id.as_str(), 10.0, 1500.25)
    );
    assert_eq!(
        kite.order_trades(&exit.order_id)
            .await
            .expect("order trades")
            .len(),
        1
    );
    let flat = kite.positions().await.expect("positions");
    let infy = flat
        .net
        .iter()
        .find(|p| p.tradingsymbol == "INFY")
        .expect("INFY position");
    assert_eq!(infy.quantity, 0);
    assert!(
        (infy.realised - 98.0).abs() < 1e-9,
        "realised {}",
        infy.realised
    );
    let tags: Vec<_> = kite
        .orders()
        .await
        .expect("orders")
        .into_iter()
        .filter_map(|o| o.tag)
        .collect();
    assert_eq!(tags, ["kb-entry-1", "kb-exit-1"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_orders_wait_for_their_trigger() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:SBIN", price("800"));
    let stop = OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("SBIN")
        .transaction_type(TransactionType::Sell)
        .order_type(OrderType::SlM)
        .trigger_price(790.0)
        .market_protection(-1.0)
        .product(Product::Mis)
        .quantity(3);
    let stop = kite
        .place_order(Variety::Regular, stop)
        .await
        .expect("placed");
    let last = |h: Vec<kiteconnect::Order>| h.last().map(|o| (o.status.clone(), o.average_price));
    assert_eq!(
        last(kite.order_history(&stop.order_id).await.expect("h")),
        Some(("TRIGGER PENDING".into(), 0.0))
    );
    sim.set_price("NSE:SBIN", price("795"));
    assert_eq!(
        last(kite.order_history(&stop.order_id).await.expect("h")),
        Some(("TRIGGER PENDING".into(), 0.0))
    );
    sim.set_price("NSE:SBIN", price("789.5"));
    assert_eq!(
        last(kite.order_history(&stop.order_id).await.expect("h")),
        Some(("COMPLETE".into(), 789.5))
    );
    sim.shutdown().await;
}

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
    let (state, message) = status(no_protection.order_id).await;
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
    let sim = spawn_sim().await;
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
async fn modify_and_cancel_walk_through_kites_states() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let placed = kite
        .place_order(Variety::Regular, buy(OrderType::Limit, 1).price(1490.0))
        .await
        .expect("placed");
    let id = placed.order_id;
    kite.modify_order(Variety::Regular, &id, OrderParams::new().price(1495.0))
        .await
        .expect("modified");
    kite.cancel_order(Variety::Regular, &id, None)
        .await
        .expect("cancelled");
    let history = kite.order_history(&id).await.expect("history");
    assert_eq!(
        statuses(&history)[4..],
        [
            "MODIFY VALIDATION PENDING",
            "MODIFY PENDING",
            "MODIFIED",
            "OPEN",
            "CANCEL PENDING",
            "CANCELLED"
        ]
    );
    assert_eq!(
        history.last().map(|o| (o.price, o.cancelled_quantity)),
        Some((1495.0, 1.0))
    );
    match kite.cancel_order(Variety::Regular, &id, None).await {
        Err(Error::Api(api)) => assert_eq!(api.status, 400),
        other => panic!("a cancelled order cannot be cancelled again: {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn an_ioc_limit_that_cannot_fill_is_cancelled_at_once() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let ioc = buy(OrderType::Limit, 4)
        .price(1490.0)
        .validity(kiteconnect::Validity::Ioc);
    let placed = kite
        .place_order(Variety::Regular, ioc)
        .await
        .expect("placed");
    let history = kite.order_history(&placed.order_id).await.expect("history");
    let last = history.last().expect("state");
    assert_eq!(
        (last.status.as_str(), last.cancelled_quantity),
        ("CANCELLED", 4.0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_after_market_order_waits_for_the_open() {
    let sim = spawn_sim().await;
    sim.set_price("NSE:INFY", price("1500"));
    // 10:00 IST + 10 h = 20:00 IST, after the close.
    sim.advance(SignedDuration::from_hours(10));
    let kite = kite(&sim);
    let amo = buy(OrderType::Limit, 1).price(1505.0);
    let placed = kite.place_order(Variety::Amo, amo).await.expect("placed");
    let last = |h: Vec<kiteconnect::Order>| h.last().map(|o| o.status.clone());
    assert_eq!(
        last(kite.order_history(&placed.order_id).await.expect("h")),
        Some("AMO REQ RECEIVED".into())
    );
    // Next day 09:15 IST; the test token died at 06:00, so log in again.
    sim.advance(SignedDuration::from_mins(13 * 60 + 15));
    sim.shared()
        .with_world(|world, now| world.sessions.add(crate::helpers::TOKEN, now));
    let history = kite.order_history(&placed.order_id).await.expect("h");
    assert_eq!(
        statuses(&history),
        [
            "PUT ORDER REQ RECEIVED",
            "VALIDATION PENDING",
            "AMO REQ RECEIVED",
            "OPEN PENDING",
            "OPEN",
            "COMPLETE"
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_split_fill_reports_an_update_then_completes_at_the_average() {
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
    let history = kite.order_history(&placed.order_id).await.expect("history");
    let partly = history.last().expect("state");
    assert_eq!(
        (
            partly.status.as_str(),
            partly.filled_quantity,
            partly.pending_quantity
        ),
        ("OPEN", 5.0, 5.0)
    );
    sim.set_price("NSE:INFY", price("1494"));
    let history = kite.order_history(&placed.order_id).await.expect("history");
    let done = history.last().expect("state");
    assert_eq!(
        (
            done.status.as_str(),
            done.filled_quantity,
            done.average_price
        ),
        ("COMPLETE", 10.0, 1494.5)
    );
    assert_eq!(
        kite.order_trades(&placed.order_id)
            .await
            .expect("trades")
            .len(),
        2
    );
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

#[tokio::test]
async fn the_broker_squares_off_intraday_positions_at_fifteen_twenty_five() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    kite.place_order(
        Variety::Regular,
        buy(OrderType::Market, 4).market_protection(-1.0),
    )
    .await
    .expect("intraday buy");
    let delivery = buy(OrderType::Market, 1)
        .market_protection(-1.0)
        .product(Product::Cnc);
    kite.place_order(Variety::Regular, delivery)
        .await
        .expect("delivery buy");
    let resting = kite
        .place_order(Variety::Regular, buy(OrderType::Limit, 1).price(1450.0))
        .await
        .expect("resting");
    // 10:00 + 5 h 24 min = 15:24 IST: nothing yet.
    sim.advance(SignedDuration::from_mins(5 * 60 + 24));
    assert_eq!(kite.orders().await.expect("orders").len(), 3);
    sim.advance(SignedDuration::from_mins(1));
    let orders = kite.orders().await.expect("orders");
    assert_eq!(orders.len(), 4);
    let squared = &orders[3];
    assert_eq!(
        (
            squared.transaction_type.as_str(),
            squared.quantity,
            squared.status.as_str()
        ),
        ("SELL", 4.0, "COMPLETE")
    );
    assert_eq!(
        orders
            .iter()
            .find(|o| o.order_id == resting.order_id)
            .map(|o| o.status.as_str()),
        Some("CANCELLED")
    );
    let positions = kite.positions().await.expect("positions");
    let net: Vec<(String, i64)> = positions
        .net
        .iter()
        .map(|p| (p.product.clone(), p.quantity))
        .collect();
    assert_eq!(net, [("MIS".to_string(), 0), ("CNC".to_string(), 1)]);
    sim.shutdown().await;
}

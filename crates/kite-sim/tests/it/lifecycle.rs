//! The rest of an order's life: IOC, after-market orders, split fills, and the broker's
//! intraday square-off.

use jiff::SignedDuration;
use kiteconnect::{OrderType, Product, Variety};

use crate::helpers::{kite, price, spawn_sim};
use crate::scenario::{buy, statuses};

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

#[tokio::test]
async fn an_after_market_order_can_be_modified_and_cancelled_while_it_waits() {
    let sim = spawn_sim().await;
    sim.set_price("NSE:INFY", price("1500"));
    sim.advance(SignedDuration::from_hours(10)); // 20:00 IST
    let kite = kite(&sim);
    let placed = kite
        .place_order(Variety::Amo, buy(OrderType::Limit, 1).price(1490.0))
        .await
        .expect("placed");
    let id = placed.order_id;
    match kite
        .modify_order(
            Variety::Regular,
            &id,
            kiteconnect::OrderParams::new().price(1495.0),
        )
        .await
    {
        Err(kiteconnect::Error::Api(api)) => assert_eq!(api.status, 400),
        other => panic!("the variety in the path must match the order's: {other:?}"),
    }
    kite.modify_order(
        Variety::Amo,
        &id,
        kiteconnect::OrderParams::new().price(1495.0),
    )
    .await
    .expect("modified");
    let history = kite.order_history(&id).await.expect("history");
    assert_eq!(
        history.last().map(|o| (o.status.as_str(), o.price)),
        Some(("AMO REQ RECEIVED", 1495.0))
    );
    kite.cancel_order(Variety::Amo, &id, None)
        .await
        .expect("cancelled");
    let history = kite.order_history(&id).await.expect("history");
    assert_eq!(
        statuses(&history)[statuses(&history).len() - 2..],
        ["CANCEL PENDING", "CANCELLED"]
    );
    sim.shutdown().await;
}

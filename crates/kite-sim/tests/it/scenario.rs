//! Order → fill → position → trade, end to end with the official client.

use jiff::SignedDuration;
use kiteconnect::{Error, Exchange, OrderParams, OrderType, Product, TransactionType, Variety};

use crate::helpers::{kite, price, spawn_sim};

pub fn buy(order_type: OrderType, quantity: i64) -> OrderParams {
    OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Buy)
        .order_type(order_type)
        .product(Product::Mis)
        .quantity(quantity)
}

pub fn statuses(history: &[kiteconnect::Order]) -> Vec<&str> {
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
async fn a_stop_limit_triggers_then_rests_until_its_limit_is_reached() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    // Buy stop: trigger 1510, limit 1512.
    let stop = buy(OrderType::Sl, 2).trigger_price(1510.0).price(1512.0);
    let stop = kite
        .place_order(Variety::Regular, stop)
        .await
        .expect("placed");
    let state = || {
        let kite = kite.clone();
        let id = stop.order_id.clone();
        async move {
            let history = kite.order_history(&id).await.expect("history");
            let last = history.last().expect("state").clone();
            (statuses(&history).len(), last.status, last.filled_quantity)
        }
    };
    assert_eq!(state().await, (4, "TRIGGER PENDING".into(), 0.0));
    sim.set_price("NSE:INFY", price("1509.95"));
    assert_eq!(state().await.1, "TRIGGER PENDING");
    // A gap through the limit: triggered, but 1515 is above the limit, so it rests.
    sim.set_price("NSE:INFY", price("1515"));
    assert_eq!(state().await, (5, "OPEN".into(), 0.0));
    sim.set_price("NSE:INFY", price("1511.5"));
    let history = kite.order_history(&stop.order_id).await.expect("history");
    assert_eq!(
        statuses(&history),
        [
            "PUT ORDER REQ RECEIVED",
            "VALIDATION PENDING",
            "OPEN PENDING",
            "TRIGGER PENDING",
            "OPEN",
            "COMPLETE"
        ]
    );
    assert_eq!(history.last().map(|o| o.average_price), Some(1511.5));
    sim.shutdown().await;
}

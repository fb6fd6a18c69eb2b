//! Two-leg GTTs (OCO) against kite-sim: exact prices on the tick, a leg that fires
//! on a price move and places its LIMIT order, modify and delete, Kite's fixtures.

use kitebreak_kite::gtt::protective_limit;
use kitebreak_kite::{
    ErrorClass, GttSnapshot, GttState, OcoLeg, OcoRequest, OrderState, Product, Side,
};
use kitebreak_price::Quantity;

use crate::helpers::{field, fixture, log, price, spawn};

/// A long's guard at 1500: stop 1450.03, target 1600.01, ten units.
fn guard(quantity: u32) -> OcoRequest {
    let tick = price("0.05");
    let leg = |trigger: &str| OcoLeg {
        trigger: price(trigger),
        limit: protective_limit(price(trigger), Side::Sell, tick).expect("limit"),
    };
    OcoRequest {
        instrument: "NSE:INFY".into(),
        side: Side::Sell,
        product: Product::Cnc,
        quantity: Quantity::new(quantity).expect("quantity"),
        last_price: price("1500"),
        lower: leg("1450.03"),
        upper: leg("1600.01"),
    }
}

#[tokio::test]
async fn a_two_leg_gtt_goes_out_on_the_tick_and_fires_its_stop_leg_on_a_fall() {
    let env = spawn().await;
    let id = env.broker.place_gtt(&guard(10)).await.expect("placed");
    let sent = log(&env.sim)
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/gtt/triggers")
        .expect("sent");
    assert_eq!(field(&sent.form, "type"), Some("two-leg"));
    let condition: serde_json::Value =
        serde_json::from_str(field(&sent.form, "condition").expect("condition")).expect("json");
    // A sell's triggers round up onto the 0.05 tick: the stop fires no later.
    assert_eq!(
        condition["trigger_values"],
        serde_json::json!([1450.05, 1600.05])
    );
    let orders: serde_json::Value =
        serde_json::from_str(field(&sent.form, "orders").expect("orders")).expect("json");
    // 1% below each trigger, rounded down (towards the market) onto the tick.
    assert_eq!(orders[0]["price"], serde_json::json!(1435.5));
    assert_eq!(orders[1]["price"], serde_json::json!(1584.0));
    for leg in orders.as_array().expect("legs") {
        assert_eq!(leg["transaction_type"], "SELL");
        assert_eq!(leg["product"], "CNC");
        assert_eq!(leg["quantity"], 10);
    }

    let active = env.broker.gtt(id).await.expect("read");
    assert_eq!(active.state, GttState::Active);
    assert_eq!(active.triggers, vec![price("1450.05"), price("1600.05")]);
    assert_eq!(active.instrument, "NSE:INFY");
    assert_eq!(active.fired(), None);

    env.sim.set_price("NSE:INFY", price("1440"));
    let fired = env.broker.gtt(id).await.expect("read");
    assert_eq!(fired.state, GttState::Triggered);
    assert!(fired.legs[1].result.is_none(), "only the stop leg fired");
    let order_id = fired
        .fired()
        .and_then(|r| r.order_id.clone())
        .expect("the leg placed an order");
    let order = env.broker.final_status(&order_id).await.expect("final");
    assert_eq!(order.state, OrderState::Complete);
    assert_eq!(order.filled_quantity, 10);
    assert_eq!(order.tag, None, "GTT orders carry no tag");
    let listed = env.broker.gtts().await.expect("list");
    assert_eq!(listed.iter().map(|g| g.id).collect::<Vec<_>>(), vec![id]);
}

#[tokio::test]
async fn a_gtt_is_modified_while_active_and_a_deleted_one_refuses_a_second_delete() {
    let env = spawn().await;
    let id = env.broker.place_gtt(&guard(10)).await.expect("placed");
    assert_eq!(
        env.broker
            .modify_gtt(id, &guard(4))
            .await
            .expect("modified"),
        id
    );
    let modified = env.broker.gtt(id).await.expect("read");
    assert!(modified.legs.iter().all(|leg| leg.quantity == 4));
    assert_eq!(env.broker.delete_gtt(id).await.expect("deleted"), id);
    let deleted = env.broker.gtt(id).await.expect("read");
    assert_eq!(deleted.state, GttState::Ended("deleted".into()));
    let again = env.broker.delete_gtt(id).await.expect_err("not active");
    assert_eq!(again.class(), ErrorClass::Rejected);
    assert!(env.broker.gtts().await.expect("list").is_empty());
}

#[tokio::test]
async fn triggers_in_the_wrong_order_are_refused_before_anything_is_sent() {
    let env = spawn().await;
    let mut backwards = guard(10);
    std::mem::swap(&mut backwards.lower, &mut backwards.upper);
    let error = env.broker.place_gtt(&backwards).await.expect_err("refused");
    assert_eq!(error.class(), ErrorClass::Rejected);
    assert!(
        !log(&env.sim).iter().any(|r| r.path.starts_with("/gtt")),
        "nothing reached Kite"
    );
}

#[test]
fn kites_gtt_fixtures_become_exact_snapshots_with_the_failed_leg_order() {
    let list: Vec<kiteconnect::Gtt> =
        serde_json::from_value(fixture("gtt_get_orders.json")).expect("gtts");
    let snapshots: Vec<GttSnapshot> = list
        .iter()
        .map(|g| GttSnapshot::from_kite(g).expect("snapshot"))
        .collect();
    assert_eq!(snapshots[0].state, GttState::Active);
    assert_eq!(snapshots[0].triggers, vec![price("702")]);
    assert_eq!(snapshots[0].legs[0].price, price("702.5"));
    let oco = &snapshots[1];
    assert_eq!((oco.id, oco.kind.as_str()), (105_099, "two-leg"));
    assert_eq!(oco.state, GttState::Triggered);
    assert_eq!(oco.triggers, vec![price("102"), price("103.7")]);
    let fired = oco.fired().expect("the upper leg fired");
    assert_eq!(fired.order_id, None, "an empty order id is no order");
    assert_eq!(fired.status, "failed");
    assert!(
        fired
            .rejection_reason
            .as_deref()
            .is_some_and(|r| r.contains("circuit")),
        "{fired:?}"
    );
}

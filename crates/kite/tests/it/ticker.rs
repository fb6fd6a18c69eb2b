//! The ticker manager against kite-sim: LTP ticks, order updates, reconnects with
//! resubscription, a silent socket, and a refused session.

use std::time::Duration;

use kite_sim::Faults;
use kitebreak_kite::{MarketEvent, TickerManager, TickerState};
use kitebreak_price::Price;
use tokio::sync::mpsc::Receiver;

use crate::helpers::{price, spawn, wait_until};

/// The next tick of `instrument` at `want`, skipping anything else.
async fn tick(events: &mut Receiver<MarketEvent>, instrument: &str, want: Price) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.recv().await {
            if let MarketEvent::Tick {
                instrument: key,
                price,
            } = &event
                && key == instrument
                && *price == want
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found.ok(), Some(true), "tick {instrument} @ {want}");
}

async fn state(manager: &TickerManager, want: TickerState) {
    let mut states = manager.states();
    let reached =
        tokio::time::timeout(Duration::from_secs(10), states.wait_for(|s| *s == want)).await;
    assert!(
        matches!(reached, Ok(Ok(_))),
        "state {want:?}, now {:?}",
        manager.state()
    );
}

#[tokio::test]
async fn ticks_arrive_and_resubscribe_after_a_dropped_socket() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    manager.watch(&["NSE:INFY"]).expect("known");
    state(&manager, TickerState::Connected).await;
    tick(&mut events, "NSE:INFY", price("1500")).await;
    env.sim.shared().ws_drop.send_modify(|g| *g += 1);
    state(&manager, TickerState::Reconnecting).await;
    state(&manager, TickerState::Connected).await;
    env.sim.set_price("NSE:INFY", price("1501.05"));
    tick(&mut events, "NSE:INFY", price("1501.05")).await;
    manager.stop();
    state(&manager, TickerState::Stopped).await;
}

#[tokio::test]
async fn a_connected_but_silent_socket_is_reported_and_replaced() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    manager.watch(&["NSE:INFY"]).expect("known");
    state(&manager, TickerState::Connected).await;
    tick(&mut events, "NSE:INFY", price("1500")).await;
    env.sim.set_faults(Faults {
        ws_silent: true,
        ..Faults::default()
    });
    state(&manager, TickerState::Silent).await;
    env.sim.set_faults(Faults::default());
    state(&manager, TickerState::Connected).await;
    env.sim.set_price("NSE:INFY", price("1499.95"));
    tick(&mut events, "NSE:INFY", price("1499.95")).await;
}

#[tokio::test]
async fn order_updates_arrive_as_exact_snapshots() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    state(&manager, TickerState::Connected).await;
    let order = kitebreak_kite::OrderRequest {
        tag: kitebreak_kite::Tag::new("kbtick1").expect("tag"),
        instrument: "NSE:INFY".into(),
        side: kitebreak_kite::Side::Sell,
        quantity: kitebreak_price::Quantity::ONE,
        kind: kitebreak_kite::OrderKind::Market,
        product: kitebreak_kite::Product::Mis,
    };
    env.broker.place_order(&order).await.expect("placed");
    let update = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(MarketEvent::Order(o)) if o.tag.as_deref() == Some("kbtick1") => {
                    return Some(o);
                }
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
    .expect("an order update");
    assert_eq!(update.instrument, "NSE:INFY");
}

#[tokio::test]
async fn a_refused_ticker_session_marks_it_expired_and_a_new_token_reconnects() {
    let env = spawn().await;
    env.sim.set_faults(Faults {
        tokens_expire_at: Some(crate::helpers::start()),
        ..Faults::default()
    });
    let (manager, _events) = TickerManager::spawn(&env.broker);
    wait_until("the session is marked expired", || {
        env.broker.session().is_expired()
    })
    .await;
    state(&manager, TickerState::Stopped).await;
    env.sim.set_faults(Faults::default());
    let stored = kitebreak_kite::session::exchange_request_token(env.broker.config(), "rt9")
        .await
        .expect("login");
    env.broker.session().set(stored.access_token);
    state(&manager, TickerState::Connected).await;
}

//! Order status from the ticker's order updates against kite-sim, and partial fills:
//! an entry that fills in part becomes a trade of the filled quantity.

use std::sync::Arc;
use std::time::Duration;

use kite_sim::Faults;
use kitebreak_engine::{CandleInput, Engine, EntryOutcome, FeedState, PositionState};
use kitebreak_price::Quantity;
use kitebreak_strategy::Relevel;

use crate::helpers::{BREAKOUT, SETUP, candle, eventually, p, sim_eventually, start, sym};
use crate::kite::{adapter, adapter_polling, sim};

fn breakout_of(quantity: u32) -> CandleInput {
    let (h, l, c) = BREAKOUT;
    let mut input = candle(h, l, c);
    input.quantity = Some(Quantity::new(quantity).expect("quantity"));
    input
}

/// (filled, status) of the sim's first order.
fn first_order(sim: &kite_sim::SimHandle) -> Option<(u32, String)> {
    sim.shared().with_world(|world, _| {
        let order = world.book.orders().first()?;
        Some((order.filled, format!("{:?}", order.status)))
    })
}

async fn ready(sim: &kite_sim::SimHandle, engine: &Engine) {
    assert!(sim.set_price("NSE:INFY", p("100")));
    for (h, l, c) in SETUP {
        engine
            .candle(sym("INFY"), candle(h, l, c))
            .await
            .expect("candle");
    }
    eventually(engine, "the ticker is live", || async {
        engine.feed_state() == FeedState::Live
    })
    .await;
    assert!(sim.set_price("NSE:INFY", p("106")));
}

#[tokio::test]
async fn a_split_entry_completes_through_the_tickers_order_update_not_a_slow_poll() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Status polls an hour apart: only an order update can settle the entry in time.
    let broker = adapter_polling(&sim, dir.path(), Duration::from_secs(3600)).await;
    let engine = start(dir.path(), Arc::new(broker), Relevel::Fresh).await;
    ready(&sim, &engine).await;
    sim.set_faults(Faults {
        partial_fill_next: 1,
        ..Faults::default()
    });
    let entering = tokio::spawn({
        let engine = engine.clone();
        async move { engine.candle(sym("INFY"), breakout_of(2)).await }
    });
    sim_eventually(&sim, "half of the entry filled", || {
        first_order(&sim).is_some_and(|(filled, _)| filled == 1)
    })
    .await;
    assert!(
        sim.set_price("NSE:INFY", p("106.10")),
        "the rest fills here"
    );
    let report = entering.await.expect("task").expect("breakout");
    let Some(EntryOutcome::Filled { trade, .. }) = report.entry else {
        panic!("entry not filled: {:?}", report.entry);
    };
    assert_eq!(trade.quantity.get(), 2);
    assert_eq!(trade.price_entry, p("106.05"), "the average of both fills");
    assert_eq!(engine.feed_stats().settled_by_updates, 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn an_entry_cancelled_after_a_partial_fill_is_a_trade_of_the_filled_part() {
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = adapter(&sim, dir.path()).await;
    let engine = start(dir.path(), Arc::new(broker), Relevel::Fresh).await;
    ready(&sim, &engine).await;
    sim.set_faults(Faults {
        partial_fill_next: 1,
        ..Faults::default()
    });
    let entering = tokio::spawn({
        let engine = engine.clone();
        async move { engine.candle(sym("INFY"), breakout_of(2)).await }
    });
    sim_eventually(&sim, "half of the entry filled", || {
        first_order(&sim).is_some_and(|(filled, _)| filled == 1)
    })
    .await;
    let order_id = sim
        .shared()
        .with_world(|world, _| world.book.orders().first().map(|o| o.order_id.clone()))
        .expect("order");
    let other = adapter(&sim, dir.path()).await;
    other
        .kite()
        .cancel_order(&order_id)
        .await
        .expect("cancelled");
    let report = entering.await.expect("task").expect("breakout");
    let Some(EntryOutcome::Filled { trade, order }) = report.entry else {
        panic!(
            "a partial fill is a trade, not a rejection: {:?}",
            report.entry
        );
    };
    assert_eq!(trade.quantity.get(), 1, "the filled part only");
    assert_eq!(trade.price_entry, p("106"));
    assert_eq!(trade.price_target, p("109.18"));
    assert!(matches!(
        order.status,
        kitebreak_engine::OrderStatus::Complete { filled_quantity, .. } if filled_quantity.get() == 1
    ));
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert!(first_order(&sim).is_some_and(|(_, s)| s.contains("Cancelled")));
    engine.shutdown().await;
}

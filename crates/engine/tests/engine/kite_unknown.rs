//! Placement outcomes against kite-sim: a refusal (429) places nothing and is final,
//! an answer that never came is looked up until Kite shows the order, and a market
//! order that keeps working is cancelled after a bounded wait, its part fill kept.

use std::sync::Arc;
use std::time::Duration;

use kite_sim::Faults;
use kitebreak_engine::{Engine, EntryOutcome, KiteAdapter, ManualClock, PositionState, Side};
use kitebreak_price::Quantity;

use crate::helpers::{BREAKOUT, candle, p, sym};
use crate::kite::{Env, sim};

/// An engine on a manual clock over an adapter built by `make`.
async fn env_with<F, Fut>(make: F) -> (Env, Arc<ManualClock>)
where
    F: FnOnce(kite_sim::SimHandle, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = (kite_sim::SimHandle, KiteAdapter)>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (sim, adapter) = make(sim().await, dir.path().to_path_buf()).await;
    let at = jiff::Timestamp::from_second(crate::kite::START).expect("start");
    let clock = Arc::new(ManualClock::new(at));
    let shared = Arc::clone(&clock);
    let engine: Engine = crate::helpers::start_with(dir.path(), Arc::new(adapter), move |c| {
        c.clock = shared;
        c.feed.poll_every = Duration::from_secs(3600);
        c.feed.stale_after = Duration::from_secs(3600);
    })
    .await;
    (Env { sim, engine, dir }, clock)
}

async fn plain() -> (Env, Arc<ManualClock>) {
    env_with(|sim, dir| async move {
        let adapter = crate::kite::adapter(&sim, &dir).await;
        (sim, adapter)
    })
    .await
}

async fn breakout(env: &Env, quantity: u32) -> Option<EntryOutcome> {
    let (h, l, c) = BREAKOUT;
    let mut input = candle(h, l, c);
    input.quantity = Some(Quantity::new(quantity).expect("quantity"));
    env.engine
        .candle(sym("INFY"), input)
        .await
        .expect("breakout")
        .entry
}

#[tokio::test]
async fn a_rate_limited_entry_placement_fails_at_once_and_places_nothing() {
    let (env, _clock) = plain().await;
    env.setup().await;
    env.price("106");
    env.sim.set_faults(Faults {
        share_429: 1.0,
        ..Faults::default()
    });
    let entry = breakout(&env, 1).await;
    env.sim.set_faults(Faults::default());
    let Some(EntryOutcome::Failed { order, .. }) = entry else {
        panic!("a 429 placement is not placed, so the entry fails: {entry:?}");
    };
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert!(!status.locked, "levels unlock at once");
    assert_eq!(env.orders_tagged(&order.tag), 0);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn an_entry_whose_answer_never_came_is_looked_up_until_kite_shows_it() {
    let (env, clock) = env_with(|sim, dir| async move {
        let adapter = crate::kite::adapter_with(&sim, &dir, |config| {
            config.request_timeout = Duration::from_millis(300);
        })
        .await;
        (sim, adapter)
    })
    .await;
    env.setup().await;
    env.price("106.05");
    // The placement is accepted and never answered; Kite never shows it in the
    // adapter's short look-up (it never took it here; below it shows up late).
    env.sim.set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    let entry = breakout(&env, 1).await;
    let Some(EntryOutcome::Unsettled { order, .. }) = entry else {
        panic!("not found yet is not final: {entry:?}");
    };
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Entering, "locked");
    clock.advance(jiff::SignedDuration::from_secs(1));
    env.engine.retry_step().await.expect("look-up");
    assert_eq!(
        env.engine
            .status(sym("INFY"))
            .await
            .expect("status")
            .position,
        PositionState::Entering,
        "absent inside the window is not LOST"
    );
    // Kite's book shows the order now, filled.
    let late = kitebreak_engine::MarketOrder {
        tag: order.tag.clone(),
        symbol: sym("INFY"),
        side: Side::Buy,
        quantity: Quantity::ONE,
    };
    env.engine
        .broker()
        .place_market(late)
        .await
        .expect("placed");
    clock.advance(jiff::SignedDuration::from_secs(2));
    env.engine.retry_step().await.expect("look-up");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "the late find is the fill"
    );
    assert_eq!(status.trade.expect("trade").price_entry, p("106.05"));
    assert_eq!(
        env.orders_tagged(&order.tag),
        1,
        "the engine never re-sent it"
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_market_order_still_working_after_the_bounded_wait_is_cancelled_and_its_part_fill_counts()
{
    let (env, _clock) = env_with(|sim, dir| async move {
        let adapter = crate::kite::adapter(&sim, &dir)
            .await
            .with_settle_within(Duration::from_millis(300));
        (sim, adapter)
    })
    .await;
    env.setup().await;
    env.price("106");
    // Half fills at once, the rest would wait for a price that never comes.
    env.sim.set_faults(Faults {
        partial_fill_next: 1,
        ..Faults::default()
    });
    let entry = breakout(&env, 2).await;
    let Some(EntryOutcome::Filled { order, trade }) = entry else {
        panic!("the wait is bounded and the part fill is a fill: {entry:?}");
    };
    assert_eq!(trade.quantity.get(), 1, "the filled part");
    let state = env.sim.shared().with_world(|world, _| {
        world
            .book
            .orders()
            .iter()
            .find(|o| o.request.tag.as_deref() == Some(order.tag.as_str()))
            .map(|o| format!("{:?}", o.status))
    });
    assert!(
        state
            .as_deref()
            .is_some_and(|s| s.to_uppercase().contains("CANCEL")),
        "the engine cancelled the rest: {state:?}"
    );
    env.engine.shutdown().await;
}

//! Failed exits against kite-sim: a rejected exit is retried after its backoff (engine
//! clock) and exits; a lost exit answer is settled by tag, never sent twice.

use std::sync::Arc;
use std::time::Duration;

use kite_sim::Faults;
use kitebreak_engine::{ManualClock, PositionState};
use kitebreak_strategy::ExitReason;

use crate::helpers::{BREAKOUT, candle, eventually, sim_eventually, sym};
use crate::kite::{Env, field, spawn_with};

/// Ticker only (no polling), on a manual engine clock.
async fn on_manual_clock() -> (Env, Arc<ManualClock>) {
    let at = jiff::Timestamp::from_second(crate::kite::START).expect("start");
    let clock = Arc::new(ManualClock::new(at));
    let shared = Arc::clone(&clock);
    let env = spawn_with(move |config| {
        config.clock = shared;
        config.feed.poll_every = Duration::from_secs(3600);
        config.feed.stale_after = Duration::from_secs(3600);
    })
    .await;
    (env, clock)
}

async fn open_long(env: &Env) {
    env.setup().await;
    env.price("106.05");
    let (h, l, c) = BREAKOUT;
    env.engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    eventually(&env.engine, "INFY watched on a live ticker", || async {
        env.engine.feed_stats().watched == 1
    })
    .await;
}

fn exit_tags(env: &Env) -> Vec<String> {
    env.placements()
        .iter()
        .filter(|r| field(r, "transaction_type") == Some("SELL"))
        .filter_map(|r| field(r, "tag").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_rejected_exit_on_kite_is_retried_after_its_backoff_and_exits() {
    let (env, clock) = on_manual_clock().await;
    open_long(&env).await;
    env.sim.set_faults(Faults {
        reject_next_order: 1,
        ..Faults::default()
    });
    env.price("110");
    eventually(&env.engine, "the exit was rejected", || async {
        env.engine.exit_failures() == 1
    })
    .await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let pending = status.exit_pending.expect("exit pending");
    assert!(
        pending.last_error.contains("Insufficient funds"),
        "{pending:?}"
    );
    // Not due yet: the timer sends nothing.
    env.engine.retry_step().await.expect("retry step");
    assert_eq!(exit_tags(&env).len(), 1);

    clock.advance(jiff::SignedDuration::from_secs(1));
    env.engine.retry_step().await.expect("retry step");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let trades = env
        .engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    assert_eq!(trades[0].closed.exit_reason, ExitReason::Profit);
    let tags = exit_tags(&env);
    assert_eq!(tags.len(), 2, "the rejected exit and its retry: {tags:?}");
    assert_ne!(tags[0], tags[1], "a retry is a new order with a new tag");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_lost_exit_answer_is_settled_by_its_tag_without_a_second_exit() {
    let (env, _clock) = on_manual_clock().await;
    open_long(&env).await;
    env.sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    env.price("110");
    eventually(&env.engine, "the exit filled", || async {
        env.engine
            .status(sym("INFY"))
            .await
            .expect("status")
            .position
            == PositionState::Flat
    })
    .await;
    let tags = exit_tags(&env);
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert_eq!(env.orders_tagged(&tags[0]), 1, "kite holds one exit order");
    assert_eq!(env.engine.exit_failures(), 0);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn an_exit_cancelled_after_a_partial_fill_closes_the_filled_part_and_retries_the_rest() {
    let (env, clock) = on_manual_clock().await;
    env.setup().await;
    env.price("106.05");
    let (h, l, c) = BREAKOUT;
    let mut breakout = candle(h, l, c);
    breakout.quantity = Some(kitebreak_price::Quantity::new(2).expect("quantity"));
    env.engine
        .candle(sym("INFY"), breakout)
        .await
        .expect("breakout");
    eventually(&env.engine, "INFY watched", || async {
        env.engine.feed_stats().watched == 1
    })
    .await;
    env.sim.set_faults(Faults {
        partial_fill_next: 1,
        ..Faults::default()
    });
    env.price("110");
    let exit_order = || {
        env.sim.shared().with_world(|world, _| {
            let order = world.book.orders().get(1)?;
            Some((order.order_id.clone(), order.filled))
        })
    };
    sim_eventually(&env.sim, "half of the exit filled", || {
        exit_order().is_some_and(|(_, filled)| filled == 1)
    })
    .await;
    let (order_id, _) = exit_order().expect("exit order");
    let other = crate::kite::adapter(&env.sim, env.dir.path()).await;
    other.kite().cancel_order(&order_id).await.expect("cancel");
    eventually(&env.engine, "the partial exit recorded", || async {
        env.engine.exit_failures() == 1
    })
    .await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert_eq!(
        status.trade.expect("trade").quantity.get(),
        1,
        "one unit still held"
    );
    let pending = status.exit_pending.expect("the rest is pending");
    assert!(pending.last_error.contains("filled 1 of 2"), "{pending:?}");
    let closed = env
        .engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].closed.trade.quantity.get(), 1);

    clock.advance(jiff::SignedDuration::from_secs(1));
    env.engine.retry_step().await.expect("retry");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = env
        .engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    let units: u32 = closed.iter().map(|r| r.closed.trade.quantity.get()).sum();
    assert_eq!(units, 2, "both units out, none twice");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_exit_placed_nothing_and_is_retried_under_a_new_tag() {
    let (env, clock) = on_manual_clock().await;
    open_long(&env).await;
    env.sim.set_faults(Faults {
        share_429: 1.0,
        ..Faults::default()
    });
    env.price("110");
    eventually(&env.engine, "the exit was refused", || async {
        env.engine.exit_failures() == 1
    })
    .await;
    env.sim.set_faults(Faults::default());
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert!(status.exit_pending.is_some());
    clock.advance(jiff::SignedDuration::from_secs(1));
    env.engine.retry_step().await.expect("retry");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat, "the retry exits");
    let tags = exit_tags(&env);
    assert_eq!(tags.len(), 2, "the refused exit and its retry: {tags:?}");
    assert_ne!(tags[0], tags[1], "a retry after a refusal takes a new tag");
    assert_eq!(env.orders_tagged(&tags[0]), 0, "the 429 placed nothing");
    assert_eq!(env.orders_tagged(&tags[1]), 1);
    env.engine.shutdown().await;
}

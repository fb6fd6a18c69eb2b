//! Order outcomes, repeated alerts and operator commands.

use std::sync::Arc;

use kitebreak_engine::{
    Broker, Clock, EngineError, EntryOutcome, ExitOutcome, ManualClock, PaperBroker, PositionState,
    Side,
};
use kitebreak_strategy::{ExitReason, Relevel};

use crate::helpers::{
    BREAKOUT, SETUP, TestBroker, candle, enter_long, p, start, start_with, stored_orders, sym,
    timed,
};

#[tokio::test]
async fn a_repeated_alert_is_acknowledged_but_not_applied_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let time = "2026-11-24T09:15:00Z";
    let first = engine
        .candle(sym("ITC"), timed("101", "99", "100", time))
        .await
        .expect("first");
    assert!(!first.duplicate);
    let again = engine
        .candle(sym("ITC"), timed("101", "99", "100", time))
        .await
        .expect("again");
    assert!(again.duplicate);
    let other = engine
        .candle(
            sym("ITC"),
            timed("101", "99", "100", "2026-11-24T09:16:00Z"),
        )
        .await;
    assert!(!other.expect("next minute").duplicate);
    let untimed = engine
        .candle(sym("ITC"), candle("101", "99", "100"))
        .await
        .expect("untimed");
    assert!(
        !untimed.duplicate,
        "alerts without a time are each a new candle"
    );
    let status = engine.status(sym("ITC")).await.expect("status");
    assert_eq!(status.data_points, 3);
    engine.shutdown().await;
}

#[tokio::test]
async fn reset_is_refused_while_a_trade_is_open_unless_forced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "WIPRO").await;
    let refused = engine.reset(sym("WIPRO"), false).await;
    assert!(
        matches!(refused, Err(EngineError::Conflict(_))),
        "{refused:?}"
    );
    let status = engine.status(sym("WIPRO")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "a refused reset changes nothing"
    );

    engine
        .reset(sym("WIPRO"), true)
        .await
        .expect("forced reset");
    let status = engine.status(sym("WIPRO")).await.expect("status");
    assert_eq!(
        (status.position, status.data_points),
        (PositionState::Flat, 0)
    );
    let unknown = engine.reset(sym("NOPE"), false).await;
    assert!(matches!(unknown, Err(EngineError::UnknownSymbol(_))));
    engine.shutdown().await;
}

#[tokio::test]
async fn a_rejected_entry_leaves_no_trade_and_unlocks_the_levels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let engine = start(dir.path(), broker.clone(), Relevel::Fresh).await;
    for (h, l, c) in SETUP {
        engine
            .candle(sym("LT"), candle(h, l, c))
            .await
            .expect("candle");
    }
    broker.rejecting(true);
    let (h, l, c) = BREAKOUT;
    let report = engine
        .candle(sym("LT"), candle(h, l, c))
        .await
        .expect("breakout");
    assert!(
        matches!(report.entry, Some(EntryOutcome::Failed { .. })),
        "{:?}",
        report.entry
    );
    assert!(!report.locked);
    let status = engine.status(sym("LT")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.levels.resistance, Some(p("103")), "levels are kept");
    engine.shutdown().await;
}

/// An engine over a rejecting-on-demand broker, on a manual clock.
pub(crate) async fn manual_engine(
    dir: &std::path::Path,
    broker: Arc<TestBroker>,
) -> (kitebreak_engine::Engine, Arc<ManualClock>) {
    let at: jiff::Timestamp = "2026-11-25T05:00:00Z".parse().expect("time");
    let clock = Arc::new(ManualClock::new(at));
    let shared = Arc::clone(&clock);
    let engine = start_with(dir, broker, move |config| config.clock = shared).await;
    (engine, clock)
}

#[tokio::test]
async fn a_rejected_exit_keeps_the_trade_open_and_is_retried_after_its_backoff() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "ONGC").await;
    broker.rejecting(true);
    let failed = engine.price(sym("ONGC"), p("110")).await.expect("price");
    assert!(
        matches!(failed.exit, Some(ExitOutcome::Failed { .. })),
        "{:?}",
        failed.exit
    );
    let status = engine.status(sym("ONGC")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let pending = status.exit_pending.expect("exit pending");
    assert_eq!(pending.attempts, 1);
    assert_eq!(pending.reason, ExitReason::Profit);
    assert!(
        pending.last_error.contains("margin"),
        "{}",
        pending.last_error
    );
    assert_eq!(engine.exit_failures(), 1);

    // Before the backoff is over, prices send nothing (no tight loop on ticks).
    broker.rejecting(false);
    for _ in 0..5 {
        let early = engine.price(sym("ONGC"), p("110")).await.expect("price");
        assert!(early.exit.is_none(), "{:?}", early.exit);
    }
    assert_eq!(
        stored_orders(&dir.path().join("kitebreak.db"), "ONGC").await,
        ["entry", "exit"]
    );

    // Once due, the decided exit goes again even though the price fell back inside.
    clock.advance(jiff::SignedDuration::from_secs(1));
    let retried = engine.price(sym("ONGC"), p("108")).await.expect("price");
    let Some(ExitOutcome::Closed { closed, .. }) = retried.exit else {
        panic!("{:?}", retried.exit);
    };
    assert_eq!(
        closed.exit_reason,
        ExitReason::Profit,
        "the decided reason stands"
    );
    let status = engine.status(sym("ONGC")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert!(status.exit_pending.is_none());
    engine.shutdown().await;
}

#[tokio::test]
async fn the_retry_timer_wakes_no_shard_until_an_exit_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "IOC").await;
    // The first step looks at what recovery parked (nothing) and clears the flag.
    engine.retry_step().await.expect("first step");
    let quiet = engine.changes().count();
    for _ in 0..3 {
        engine.retry_step().await.expect("idle step");
    }
    assert_eq!(
        engine.changes().count(),
        quiet,
        "nothing parked: no shard was asked (each would signal a change)"
    );

    broker.rejecting(true);
    engine.price(sym("IOC"), p("104")).await.expect("stop");
    let failed = engine.changes().count();
    engine.retry_step().await.expect("not due yet");
    assert!(
        engine.changes().count() > failed,
        "a parked exit makes the step ask the shards"
    );
    broker.rejecting(false);
    clock.advance(jiff::SignedDuration::from_secs(1));
    engine.retry_step().await.expect("retry");
    let status = engine.status(sym("IOC")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Flat,
        "retried while not due once"
    );

    // Out: that step found nothing left parked, so the timer is quiet again.
    let quiet = engine.changes().count();
    engine.retry_step().await.expect("idle step");
    assert_eq!(engine.changes().count(), quiet);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_failed_exit_backs_off_exponentially_and_the_timer_retries_without_prices() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "BPCL").await;
    broker.rejecting(true);
    engine.price(sym("BPCL"), p("104")).await.expect("stop");
    let mut next = Vec::new();
    for _ in 0..3 {
        let status = engine.status(sym("BPCL")).await.expect("status");
        let pending = status.exit_pending.expect("pending");
        next.push(pending.next_attempt.as_second() - clock.now().as_second());
        clock.set(pending.next_attempt);
        engine.retry_step().await.expect("retry");
    }
    assert_eq!(next, [1, 2, 4], "1 s doubling");
    assert_eq!(engine.exit_failures(), 4);
    broker.rejecting(false);
    let pending = engine
        .status(sym("BPCL"))
        .await
        .expect("status")
        .exit_pending
        .expect("pending");
    clock.set(pending.next_attempt);
    engine.retry_step().await.expect("retry");
    let status = engine.status(sym("BPCL")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let trades = engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    assert_eq!(trades[0].closed.exit_reason, ExitReason::Loss);
    let orders = stored_orders(&dir.path().join("kitebreak.db"), "BPCL").await;
    assert_eq!(
        orders,
        ["entry", "exit", "exit", "exit", "exit", "exit"],
        "one order per attempt, never more"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_manual_exit_closes_at_the_last_price_and_needs_an_open_trade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "AXISBANK").await;
    engine
        .price(sym("AXISBANK"), p("107.5"))
        .await
        .expect("price");
    let exit = engine.exit(sym("AXISBANK")).await.expect("exit");
    let ExitOutcome::Closed { closed, .. } = exit else {
        panic!("expected a closed trade, got {exit:?}");
    };
    assert_eq!(closed.price_exit, p("107.5"));
    let again = engine.exit(sym("AXISBANK")).await;
    assert!(
        matches!(again, Err(EngineError::NoOpenTrade(_))),
        "{again:?}"
    );
    let unknown = engine.exit(sym("NOPE")).await;
    assert!(
        matches!(unknown, Err(EngineError::UnknownSymbol(_))),
        "{unknown:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_manual_order_goes_to_the_broker_without_creating_a_strategy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let no_price = engine.manual_order(sym("BEL"), Side::Buy, None).await;
    assert!(
        matches!(no_price, Err(EngineError::OrderRejected { .. })),
        "{no_price:?}"
    );
    engine.price(sym("BEL"), p("250")).await.expect("price");
    let order = engine
        .manual_order(sym("BEL"), Side::Sell, None)
        .await
        .expect("order");
    assert_eq!(order.side, Side::Sell);
    let status = engine.status(sym("BEL")).await;
    assert!(matches!(status, Err(EngineError::UnknownSymbol(_))));
    engine.shutdown().await;
}

#[tokio::test]
async fn every_order_is_recorded_with_its_tag_before_it_is_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::auditing(dir.path().join("kitebreak.db")));
    let engine = start(dir.path(), broker.clone(), Relevel::Fresh).await;
    enter_long(&engine, "NTPC").await;
    engine
        .price(sym("NTPC"), p("110"))
        .await
        .expect("exit at target");
    engine
        .manual_order(sym("NTPC"), Side::Buy, None)
        .await
        .expect("manual");
    let seen = broker.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "entry, exit and manual order: {seen:?}");
    // The entry and the manual order are PENDING before they are sent; the exit was
    // armed when the trade opened (a durable ARMED row) and the send journal names
    // it before it goes out, so a crash at any point looks it up by its tag.
    let statuses: Vec<&str> = seen.iter().map(|(_, status)| status.as_str()).collect();
    assert_eq!(
        statuses,
        ["PENDING", "ARMED, journalled", "PENDING"],
        "an order reached the broker before its intent was durable: {seen:?}"
    );
    let tags: std::collections::HashSet<_> = seen.iter().map(|(tag, _)| tag).collect();
    assert_eq!(tags.len(), 3, "tags are unique");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_entry_of_unknown_outcome_is_looked_up_by_tag_and_becomes_the_trade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    broker
        .status_lost
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // A first step finds nothing parked and quiets the timer: the unknown entry
    // below must wake it.
    engine.retry_step().await.expect("first step");
    for (h, l, c) in SETUP {
        engine
            .candle(sym("SAIL"), candle(h, l, c))
            .await
            .expect("candle");
    }
    let (h, l, c) = BREAKOUT;
    let report = engine
        .candle(sym("SAIL"), candle(h, l, c))
        .await
        .expect("breakout");
    assert!(
        matches!(report.entry, Some(EntryOutcome::Unsettled { .. })),
        "{:?}",
        report.entry
    );
    let status = engine.status(sym("SAIL")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Entering,
        "levels stay locked"
    );
    broker
        .status_lost
        .store(false, std::sync::atomic::Ordering::SeqCst);
    engine.retry_step().await.expect("not due yet");
    assert_eq!(
        engine.status(sym("SAIL")).await.expect("status").position,
        PositionState::Entering
    );
    clock.advance(jiff::SignedDuration::from_secs(1));
    engine.retry_step().await.expect("look-up");
    let status = engine.status(sym("SAIL")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "found filled by its tag"
    );
    assert_eq!(status.trade.expect("trade").price_entry, p("106"));
    let orders = broker.paper.orders().await.expect("orders");
    assert_eq!(orders.len(), 1, "never sent twice");
    engine.shutdown().await;
}

#[tokio::test]
async fn monitoring_stop_pauses_exit_retries_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "IOC").await;
    broker.rejecting(true);
    engine.price(sym("IOC"), p("110")).await.expect("target");
    broker.rejecting(false);
    engine.set_monitoring(false).await.expect("stop");
    clock.advance(jiff::SignedDuration::from_secs(5));
    engine.retry_step().await.expect("retry step");
    let status = engine.status(sym("IOC")).await.expect("status");
    assert_eq!(status.position, PositionState::Open, "paused");
    assert!(status.exit_pending.is_some());
    engine.set_monitoring(true).await.expect("start");
    engine.retry_step().await.expect("retry step");
    let status = engine.status(sym("IOC")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat, "resumed");
    engine.shutdown().await;
}

#[tokio::test]
async fn changes_are_signalled_by_what_changes_state_and_not_by_status_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "AXISBANK").await;
    // Reads signal nothing: a watcher that reads statuses does not wake itself.
    let quiet = engine.changes().count();
    engine.status(sym("AXISBANK")).await.expect("status");
    engine.statuses().await.expect("statuses");
    engine.symbol_counts().await.expect("counts");
    assert_eq!(engine.changes().count(), quiet);
    // A price that exits is a change, and a waiter on it wakes.
    let waiter = engine.clone();
    let flat = tokio::spawn(async move {
        waiter
            .changes()
            .until(|| async {
                waiter
                    .status(sym("AXISBANK"))
                    .await
                    .expect("status")
                    .position
                    == PositionState::Flat
            })
            .await
    });
    engine
        .price(sym("AXISBANK"), p("120"))
        .await
        .expect("target price");
    // The bound only turns a hang into a failure.
    tokio::time::timeout(std::time::Duration::from_secs(20), flat)
        .await
        .expect("the waiter saw the exit")
        .expect("the waiter ran");
    assert!(engine.changes().count() > quiet);
    engine.shutdown().await;
}

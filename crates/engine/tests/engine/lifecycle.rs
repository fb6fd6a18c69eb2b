//! Order outcomes, repeated alerts and operator commands.

use std::sync::Arc;

use kitebreak_engine::{EngineError, EntryOutcome, ExitOutcome, PaperBroker, PositionState, Side};
use kitebreak_strategy::Relevel;

use crate::helpers::{BREAKOUT, SETUP, TestBroker, candle, enter_long, p, start, sym, timed};

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

#[tokio::test]
async fn a_rejected_exit_keeps_the_trade_open_and_the_next_price_retries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let engine = start(dir.path(), broker.clone(), Relevel::Fresh).await;
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

    broker.rejecting(false);
    let retried = engine.price(sym("ONGC"), p("110")).await.expect("price");
    assert!(
        matches!(retried.exit, Some(ExitOutcome::Closed { .. })),
        "{:?}",
        retried.exit
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
    for (tag, status) in &seen {
        assert_eq!(
            status, "PENDING",
            "order {tag} reached the broker before its intent was durable"
        );
    }
    let tags: std::collections::HashSet<_> = seen.iter().map(|(tag, _)| tag).collect();
    assert_eq!(tags.len(), 3, "tags are unique");
    engine.shutdown().await;
}

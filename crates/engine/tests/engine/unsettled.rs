//! Orders of unknown outcome (the engine's side, over a test broker on a manual
//! clock): "not in the book yet" is not final, a refusal is, and a still-working
//! order is never a rejection.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::SignedDuration;
use kitebreak_engine::{
    Broker, BrokerError, EngineError, EntryOutcome, ExitOutcome, ManualClock, PositionState, Side,
};

use crate::helpers::{BREAKOUT, SETUP, TestBroker, candle, enter_long, p, stored_statuses, sym};
use crate::lifecycle::manual_engine;

async fn setup(engine: &kitebreak_engine::Engine, symbol: &str) {
    for (h, l, c) in SETUP {
        engine
            .candle(sym(symbol), candle(h, l, c))
            .await
            .expect("candle");
    }
}

async fn breakout(engine: &kitebreak_engine::Engine, symbol: &str) -> Option<EntryOutcome> {
    let (h, l, c) = BREAKOUT;
    engine
        .candle(sym(symbol), candle(h, l, c))
        .await
        .expect("breakout")
        .entry
}

/// Advances the clock by `seconds`, one second and one retry step at a time.
async fn run_for(engine: &kitebreak_engine::Engine, clock: &ManualClock, seconds: i64) {
    for _ in 0..seconds {
        clock.advance(SignedDuration::from_secs(1));
        engine.retry_step().await.expect("retry step");
    }
}

async fn position(engine: &kitebreak_engine::Engine, symbol: &str) -> PositionState {
    engine.status(sym(symbol)).await.expect("status").position
}

#[tokio::test]
async fn an_entry_absent_from_the_book_stays_entering_for_the_window_then_is_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    broker.place_lost.store(true, Ordering::SeqCst);
    setup(&engine, "NMDC").await;
    let entry = breakout(&engine, "NMDC").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Unsettled { .. })),
        "{entry:?}"
    );
    broker.place_lost.store(false, Ordering::SeqCst);
    // Well inside the window: looked up (1, 2, 4 ... s apart), never declared lost.
    run_for(&engine, &clock, 240).await;
    let status = engine.status(sym("NMDC")).await.expect("status");
    assert_eq!(status.position, PositionState::Entering, "still locked");
    assert!(status.locked);
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "NMDC").await,
        [("entry".to_owned(), "PENDING".to_owned())]
    );
    let lookups = broker.lookups.load(Ordering::SeqCst);
    assert!(
        (5..=12).contains(&lookups),
        "backoff, not a tight loop: {lookups}"
    );
    // Another breakout candle while entering sends nothing.
    let (h, l, c) = BREAKOUT;
    engine
        .candle(sym("NMDC"), candle(h, l, c))
        .await
        .expect("candle");
    assert!(broker.paper.orders().await.expect("orders").is_empty());
    // After the window (5 minutes): never placed.
    run_for(&engine, &clock, 120).await;
    let status = engine.status(sym("NMDC")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert!(!status.locked, "levels unlocked");
    assert_eq!(
        stored_statuses(&database, "NMDC").await,
        [("entry".to_owned(), "LOST".to_owned())]
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_entry_the_broker_shows_late_is_found_by_its_tag_and_becomes_the_trade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    setup(&engine, "SAIL").await;
    broker.answer_lost.store(true, Ordering::SeqCst);
    broker.hidden_lookups.store(4, Ordering::SeqCst);
    let entry = breakout(&engine, "SAIL").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Unsettled { .. })),
        "{entry:?}"
    );
    broker.answer_lost.store(false, Ordering::SeqCst);
    run_for(&engine, &clock, 7).await;
    assert_eq!(position(&engine, "SAIL").await, PositionState::Entering);
    run_for(&engine, &clock, 60).await;
    let status = engine.status(sym("SAIL")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "the late find is the fill"
    );
    assert_eq!(status.trade.expect("trade").price_entry, p("106"));
    assert_eq!(
        broker.paper.orders().await.expect("orders").len(),
        1,
        "sent once"
    );
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "SAIL").await,
        [("entry".to_owned(), "COMPLETE".to_owned())]
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_placement_refused_for_certain_fails_the_entry_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, _clock) = manual_engine(dir.path(), broker.clone()).await;
    setup(&engine, "BEL").await;
    broker.place_refused.store(true, Ordering::SeqCst);
    let entry = breakout(&engine, "BEL").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Failed { .. })),
        "{entry:?}"
    );
    let status = engine.status(sym("BEL")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert!(!status.locked, "levels unlock at once");
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "BEL").await,
        [("entry".to_owned(), "REJECTED".to_owned())]
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_still_working_or_unreadable_entry_stays_pending_and_is_never_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    setup(&engine, "GAIL").await;
    broker.still_working.store(true, Ordering::SeqCst);
    let entry = breakout(&engine, "GAIL").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Unsettled { .. })),
        "{entry:?}"
    );
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "GAIL").await,
        [("entry".to_owned(), "PENDING".to_owned())]
    );
    broker.still_working.store(false, Ordering::SeqCst);
    run_for(&engine, &clock, 1).await;
    assert_eq!(position(&engine, "GAIL").await, PositionState::Open);

    // A manual order whose final status cannot be read is not recorded as rejected.
    broker.status_lost.store(true, Ordering::SeqCst);
    let manual = engine.manual_order(sym("GAIL"), Side::Sell, None).await;
    assert!(
        matches!(
            manual,
            Err(EngineError::Broker(BrokerError::OutcomeUnknown(_)))
        ),
        "{manual:?}"
    );
    let rows = stored_statuses(&database, "GAIL").await;
    assert_eq!(
        rows[1],
        ("manual".to_owned(), "PENDING".to_owned()),
        "{rows:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_exit_of_unknown_outcome_sends_no_second_exit_until_found_or_the_window_ends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "IOC").await;
    broker.place_lost.store(true, Ordering::SeqCst);
    let report = engine.price(sym("IOC"), p("110")).await.expect("target");
    assert!(
        matches!(report.exit, Some(ExitOutcome::Failed { .. })),
        "{:?}",
        report.exit
    );
    broker.place_lost.store(false, Ordering::SeqCst);
    // Prices past the target, retry steps and a manual exit: none
    // may send a second exit while the first one's outcome is unknown.
    for _ in 0..200 {
        clock.advance(SignedDuration::from_secs(1));
        engine.price(sym("IOC"), p("111")).await.expect("price");
        engine.retry_step().await.expect("retry step");
    }
    let manual = engine.exit(sym("IOC")).await;
    assert!(manual.is_err(), "{manual:?}");
    let status = engine.status(sym("IOC")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert!(status.exit_pending.is_some());
    let orders = broker.paper.orders().await.expect("orders");
    assert_eq!(
        orders.len(),
        1,
        "only the entry reached the broker: {orders:?}"
    );
    let database = dir.path().join("kitebreak.db");
    assert_eq!(
        stored_statuses(&database, "IOC").await,
        [
            ("entry".to_owned(), "COMPLETE".to_owned()),
            ("exit".to_owned(), "PENDING".to_owned())
        ]
    );
    // Past the window the lost exit is LOST and a new exit (new tag) goes.
    run_for(&engine, &clock, 120).await;
    assert_eq!(position(&engine, "IOC").await, PositionState::Flat);
    let rows = stored_statuses(&database, "IOC").await;
    assert_eq!(
        rows,
        [
            ("entry".to_owned(), "COMPLETE".to_owned()),
            ("exit".to_owned(), "LOST".to_owned()),
            ("exit".to_owned(), "COMPLETE".to_owned())
        ]
    );
    assert_eq!(broker.paper.orders().await.expect("orders").len(), 2);
    engine.shutdown().await;
}

#[tokio::test]
async fn an_exit_the_broker_shows_late_closes_the_trade_without_a_second_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = Arc::new(TestBroker::default());
    let (engine, clock) = manual_engine(dir.path(), broker.clone()).await;
    enter_long(&engine, "OIL").await;
    broker.answer_lost.store(true, Ordering::SeqCst);
    broker.hidden_lookups.store(3, Ordering::SeqCst);
    engine.price(sym("OIL"), p("110")).await.expect("target");
    broker.answer_lost.store(false, Ordering::SeqCst);
    run_for(&engine, &clock, 60).await;
    assert_eq!(position(&engine, "OIL").await, PositionState::Flat);
    let trades = engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].closed.price_exit, p("110"), "the late-found fill");
    assert_eq!(
        broker.paper.orders().await.expect("orders").len(),
        2,
        "entry and one exit"
    );
    engine.shutdown().await;
}

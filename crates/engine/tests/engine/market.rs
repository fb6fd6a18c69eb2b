//! The market clock in the engine, driven by a manual clock: entries outside the
//! window are refused with a reason, and MIS trades are squared off at 15:15 IST.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use kitebreak_engine::market::MarketRules;
use kitebreak_engine::{EntryOutcome, ExitOutcome, ManualClock, PaperBroker, PositionState};
use kitebreak_strategy::ExitReason;

use crate::helpers::{BREAKOUT, SETUP, candle, p, start_with, stored_orders, sym};

fn ist(text: &str) -> Timestamp {
    format!("{text}+05:30").parse().expect("time")
}

async fn engine_at(dir: &std::path::Path, clock: &ManualClock) -> kitebreak_engine::Engine {
    let clock = clock.clone();
    start_with(dir, Arc::new(PaperBroker::new(0)), move |c| {
        c.market = Some(MarketRules::default());
        c.clock = Arc::new(clock);
    })
    .await
}

async fn feed_breakout(engine: &kitebreak_engine::Engine, symbol: &str) -> Option<EntryOutcome> {
    for (h, l, c) in SETUP {
        engine
            .candle(sym(symbol), candle(h, l, c))
            .await
            .expect("candle");
    }
    let (h, l, c) = BREAKOUT;
    engine
        .candle(sym(symbol), candle(h, l, c))
        .await
        .expect("breakout")
        .entry
}

#[tokio::test]
async fn a_breakout_before_the_open_moves_levels_but_enters_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(ist("2026-11-24T09:14:59"));
    let engine = engine_at(dir.path(), &clock).await;
    let entry = feed_breakout(&engine, "INFY").await;
    let Some(EntryOutcome::Refused { reason }) = entry else {
        panic!("expected a refusal, got {entry:?}");
    };
    assert!(reason.contains("opens at 09:15"), "{reason}");
    let status = engine.status(sym("INFY")).await.expect("status");
    assert!(!status.locked && status.levels.resistance.is_some());
    assert!(
        stored_orders(&dir.path().join("kitebreak.db"), "INFY")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_weekend_breakout_enters_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(ist("2026-11-28T11:00:00"));
    let engine = engine_at(dir.path(), &clock).await;
    let entry = feed_breakout(&engine, "INFY").await;
    assert!(
        matches!(&entry, Some(EntryOutcome::Refused { reason }) if reason.contains("weekend")),
        "{entry:?}"
    );
}

#[tokio::test]
async fn open_mis_trades_are_squared_off_at_quarter_past_three() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(ist("2026-11-24T15:14:00"));
    let engine = engine_at(dir.path(), &clock).await;
    let entry = feed_breakout(&engine, "INFY").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Filled { .. })),
        "{entry:?}"
    );
    assert!(
        engine.enforce_step().await.expect("step").is_empty(),
        "not yet 15:15"
    );

    clock.advance(SignedDuration::from_mins(1));
    let swept = engine.enforce_step().await.expect("step");
    assert_eq!(swept.len(), 1);
    let Ok(ExitOutcome::Closed { closed, .. }) = &swept[0].1 else {
        panic!("expected the square-off to close the trade, got {swept:?}");
    };
    assert_eq!(closed.exit_reason, ExitReason::Manual);
    assert_eq!(closed.price_exit, p("106"));
    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(
        stored_orders(&dir.path().join("kitebreak.db"), "INFY").await,
        ["entry", "exit"]
    );

    let entry = feed_breakout(&engine, "TCS").await;
    assert!(
        matches!(&entry, Some(EntryOutcome::Refused { reason }) if reason.contains("square-off")),
        "{entry:?}"
    );
}

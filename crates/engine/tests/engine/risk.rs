//! Risk limits and the kill switch, scenario by scenario: a refused entry sends no
//! order, opens no trade and leaves the levels unlocked; exits are never refused.

use std::sync::Arc;

use kitebreak_engine::risk::KillSwitch;
use kitebreak_engine::{EngineConfig, EntryOutcome, ExitOutcome, PaperBroker, PositionState};
use kitebreak_price::{Money, Quantity};

use crate::helpers::{BREAKOUT, SETUP, candle, enter_long, p, start_with, stored_orders, sym};

fn rupees(text: &str) -> Money {
    p(text).times(Quantity::ONE)
}

/// Feeds the setup and the breakout to `symbol` and returns the breakout's entry.
async fn breakout(engine: &kitebreak_engine::Engine, symbol: &str) -> Option<EntryOutcome> {
    for (h, l, c) in SETUP {
        engine
            .candle(sym(symbol), candle(h, l, c))
            .await
            .expect("candle");
    }
    let (h, l, c) = BREAKOUT;
    let report = engine
        .candle(sym(symbol), candle(h, l, c))
        .await
        .expect("breakout");
    assert!(
        report.breakout.is_some(),
        "the breakout candle still breaks out"
    );
    report.entry
}

async fn assert_refused(
    engine: &kitebreak_engine::Engine,
    dir: &std::path::Path,
    symbol: &str,
    entry: Option<EntryOutcome>,
    words: &str,
) {
    let Some(EntryOutcome::Refused { reason }) = entry else {
        panic!("expected a refused entry, got {entry:?}");
    };
    assert!(reason.contains(words), "{reason}");
    let status = engine.status(sym(symbol)).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert!(!status.locked, "a refused entry leaves the levels unlocked");
    assert!(status.levels.resistance.is_some());
    assert!(
        stored_orders(&dir.join("kitebreak.db"), symbol)
            .await
            .is_empty()
    );
}

async fn limited(
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut EngineConfig),
) -> kitebreak_engine::Engine {
    start_with(dir, Arc::new(PaperBroker::new(0)), tweak).await
}

#[tokio::test]
async fn an_order_above_max_order_quantity_is_refused_before_any_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |c| {
        c.risk.max_order_quantity = Some(Quantity::new(1).expect("qty"));
    })
    .await;
    for (h, l, c) in SETUP {
        engine
            .candle(sym("INFY"), candle(h, l, c))
            .await
            .expect("candle");
    }
    let (h, l, c) = BREAKOUT;
    let mut input = candle(h, l, c);
    input.quantity = Some(Quantity::new(2).expect("qty"));
    let report = engine.candle(sym("INFY"), input).await.expect("breakout");
    assert_refused(
        &engine,
        dir.path(),
        "INFY",
        report.entry,
        "max_order_quantity",
    )
    .await;
}

#[tokio::test]
async fn an_order_above_max_order_value_is_refused_before_any_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |c| {
        c.risk.max_order_value = Some(rupees("105.99"))
    })
    .await;
    let entry = breakout(&engine, "INFY").await;
    assert_refused(&engine, dir.path(), "INFY", entry, "max_order_value").await;
}

#[tokio::test]
async fn max_open_trades_refuses_the_entry_past_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |c| c.risk.max_open_trades = Some(1)).await;
    let first = breakout(&engine, "INFY").await;
    assert!(
        matches!(first, Some(EntryOutcome::Filled { .. })),
        "{first:?}"
    );
    let second = breakout(&engine, "TCS").await;
    assert_refused(&engine, dir.path(), "TCS", second, "max_open_trades").await;
}

#[tokio::test]
async fn max_daily_loss_counts_unrealized_losses_and_halts_new_entries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |c| c.risk.max_daily_loss = Some(rupees("0.5"))).await;
    enter_long(&engine, "INFY").await;
    // 106 → 105.5: half a rupee down on one unit, not yet at the stop (104.94).
    engine.price(sym("INFY"), p("105.5")).await.expect("price");
    assert_eq!(engine.risk_status().unrealized, -rupees("0.5"));
    let entry = breakout(&engine, "TCS").await;
    assert_refused(&engine, dir.path(), "TCS", entry, "max_daily_loss").await;
}

#[tokio::test]
async fn halted_refuses_entries_but_still_exits_open_trades() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |_| {}).await;
    enter_long(&engine, "INFY").await;
    engine
        .set_kill_switch(KillSwitch::Halted)
        .await
        .expect("halt");
    let entry = breakout(&engine, "TCS").await;
    assert_refused(&engine, dir.path(), "TCS", entry, "halted").await;
    let hit = engine.price(sym("INFY"), p("109.18")).await.expect("price");
    assert!(
        matches!(hit.exit, Some(ExitOutcome::Closed { .. })),
        "{:?}",
        hit.exit
    );
    engine
        .set_kill_switch(KillSwitch::Active)
        .await
        .expect("resume");
    let entry = breakout(&engine, "WIPRO").await;
    assert!(
        matches!(entry, Some(EntryOutcome::Filled { .. })),
        "{entry:?}"
    );
}

#[tokio::test]
async fn flatten_exits_every_open_trade_then_halts_and_a_restart_keeps_it_halted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |_| {}).await;
    enter_long(&engine, "INFY").await;
    enter_long(&engine, "TCS").await;
    assert_eq!(engine.risk_status().open_trades, 2);
    let status = engine
        .set_kill_switch(KillSwitch::Flatten)
        .await
        .expect("flatten");
    assert_eq!(status.kill_switch, KillSwitch::Halted);
    assert_eq!(status.open_trades, 0);
    for symbol in ["INFY", "TCS"] {
        assert_eq!(
            stored_orders(&dir.path().join("kitebreak.db"), symbol).await,
            ["entry", "exit"]
        );
    }
    engine.shutdown().await;

    let engine = limited(dir.path(), |_| {}).await;
    assert_eq!(
        engine.risk_status().kill_switch,
        KillSwitch::Halted,
        "a restart must not re-enable trading"
    );
    let entry = breakout(&engine, "WIPRO").await;
    assert_refused(&engine, dir.path(), "WIPRO", entry, "halted").await;
}

#[tokio::test]
async fn a_manual_order_is_checked_like_an_entry() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = limited(dir.path(), |c| c.kill_switch = KillSwitch::Halted).await;
    engine
        .candle(sym("INFY"), candle("101", "99", "100"))
        .await
        .expect("candle");
    let refused = engine
        .manual_order(sym("INFY"), kitebreak_engine::Side::Buy, None)
        .await
        .expect_err("halted");
    assert!(refused.to_string().contains("halted"), "{refused}");
    assert!(
        stored_orders(&dir.path().join("kitebreak.db"), "INFY")
            .await
            .is_empty()
    );
}

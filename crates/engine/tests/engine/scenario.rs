//! Scripted runs: candles → levels → breakout → prices → exit.

use std::sync::Arc;

use kitebreak_engine::{EntryOutcome, ExitOutcome, PaperBroker, PositionState, TradeFilter};
use kitebreak_strategy::{Direction, ExitReason, Relevel};

use crate::helpers::{BREAKOUT, SETUP, candle, enter_long, p, start, sym};

#[tokio::test]
async fn candles_set_levels_then_a_breakout_enters_and_the_target_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;

    let mut reports = Vec::new();
    for (h, l, c) in SETUP {
        reports.push(
            engine
                .candle(sym("infy"), candle(h, l, c))
                .await
                .expect("candle"),
        );
    }
    assert!(
        reports[..4].iter().all(|r| !r.levels_updated()),
        "too few candles"
    );
    let fifth = &reports[4];
    assert!(fifth.levels_updated());
    assert_eq!(fifth.levels.support, Some(p("95")));
    assert_eq!(fifth.levels.resistance, Some(p("105")));
    assert!(fifth.entry.is_none());

    let (h, l, c) = BREAKOUT;
    let breakout = engine
        .candle(sym("INFY"), candle(h, l, c))
        .await
        .expect("breakout");
    assert_eq!(breakout.breakout, Some(Direction::Long));
    let Some(EntryOutcome::Filled { trade, order }) = &breakout.entry else {
        panic!("expected a filled entry, got {:?}", breakout.entry);
    };
    assert_eq!(trade.price_entry, p("106"));
    assert_eq!(trade.price_target, p("109.18"));
    assert_eq!(trade.price_stop, p("104.94"));
    assert!(order.tag.len() <= 20, "Kite tags are at most 20 characters");
    assert!(breakout.locked);

    let quiet = engine.price(sym("INFY"), p("109.17")).await.expect("price");
    assert!(quiet.checked && quiet.exit.is_none());
    let hit = engine.price(sym("INFY"), p("109.18")).await.expect("price");
    let Some(ExitOutcome::Closed { closed, .. }) = hit.exit else {
        panic!("expected the target to close the trade, got {:?}", hit.exit);
    };
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    assert_eq!(closed.pnl.to_string(), "3.18");

    let status = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(status.levels.support, None, "an exit clears the levels");
    assert_eq!(status.data_points, 0, "fresh relevel clears the history");
    let trades = engine
        .closed_trades(&TradeFilter::default())
        .await
        .expect("trades");
    assert_eq!(trades.len(), 1);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_price_at_the_stop_exits_with_a_loss() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Rolling).await;
    enter_long(&engine, "TCS").await;
    let hit = engine.price(sym("TCS"), p("104.94")).await.expect("price");
    let Some(ExitOutcome::Closed { closed, .. }) = hit.exit else {
        panic!("expected the stop to close the trade, got {:?}", hit.exit);
    };
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.pnl.to_string(), "-1.06");
    let status = engine.status(sym("TCS")).await.expect("status");
    assert_eq!(status.data_points, 6, "rolling relevel keeps the history");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_candle_close_beyond_the_target_exits_even_with_monitoring_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "SBIN").await;
    engine.set_monitoring(false).await.expect("monitoring off");

    let tick = engine.price(sym("SBIN"), p("120")).await.expect("price");
    assert!(
        !tick.checked && tick.exit.is_none(),
        "paused: ticks do not exit"
    );

    let report = engine
        .candle(sym("SBIN"), candle("111", "108", "110"))
        .await
        .expect("candle");
    assert!(
        matches!(report.exit, Some(ExitOutcome::Closed { .. })),
        "candle closes still exit"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn paper_slippage_fills_buys_higher() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 10 basis points: 106 × 1.001 = 106.106.
    let engine = start(dir.path(), Arc::new(PaperBroker::new(10)), Relevel::Fresh).await;
    enter_long(&engine, "HDFC").await;
    let status = engine.status(sym("HDFC")).await.expect("status");
    let trade = status.trade.expect("open trade");
    assert_eq!(trade.price_entry, p("106.106"));
    engine.shutdown().await;
}

#[tokio::test]
async fn a_close_below_support_enters_short_and_the_short_target_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    for (h, l, c) in SETUP {
        engine
            .candle(sym("BPCL"), candle(h, l, c))
            .await
            .expect("candle");
    }
    // Window 2..6 keeps support 95 (resistance 103); the close of 94 breaks below.
    let report = engine
        .candle(sym("BPCL"), candle("100", "93", "94"))
        .await
        .expect("candle");
    assert_eq!(report.breakout, Some(Direction::Short));
    let Some(EntryOutcome::Filled { trade, order }) = &report.entry else {
        panic!("expected a filled short entry, got {:?}", report.entry);
    };
    assert_eq!(order.side, kitebreak_engine::Side::Sell);
    assert_eq!(
        (trade.price_target, trade.price_stop),
        (p("91.18"), p("94.94"))
    );
    assert!(
        engine
            .price(sym("BPCL"), p("91.19"))
            .await
            .expect("price")
            .exit
            .is_none()
    );
    let hit = engine.price(sym("BPCL"), p("91.18")).await.expect("price");
    let Some(ExitOutcome::Closed { closed, order }) = hit.exit else {
        panic!(
            "expected the short target to close the trade, got {:?}",
            hit.exit
        );
    };
    assert_eq!(order.side, kitebreak_engine::Side::Buy);
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    assert_eq!(closed.pnl.to_string(), "2.82");
    engine.shutdown().await;
}

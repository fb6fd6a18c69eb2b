//! Exits on live prices against kite-sim: the ticker (LTP mode) for every symbol
//! with an open trade, resubscribed after a reconnect, and batched REST polling while
//! the ticker is silent. No sleeps as synchronisation: `eventually` looks again at
//! every change the engine signals.

use std::time::Duration;

use kite_sim::Faults;
use kite_sim::shared::lock;
use kitebreak_engine::{FeedState, PositionState, TradeFilter};
use kitebreak_strategy::ExitReason;

use crate::helpers::{BREAKOUT, candle, eventually, p, sym};
use crate::kite::{Env, spawn_with};

/// An engine whose polling fallback never runs: exits must come from the ticker.
async fn ticker_only() -> Env {
    spawn_with(|config| {
        config.feed.poll_every = Duration::from_secs(3600);
        config.feed.stale_after = Duration::from_secs(3600);
    })
    .await
}

impl Env {
    /// Setup candles and the breakout: long INFY at 106.05, watched on a live ticker.
    async fn open_long(&self) {
        self.setup().await;
        self.price("106.05");
        let (h, l, c) = BREAKOUT;
        self.engine
            .candle(sym("INFY"), candle(h, l, c))
            .await
            .expect("breakout");
        let status = self.engine.status(sym("INFY")).await.expect("status");
        assert_eq!(status.position, PositionState::Open);
        eventually(
            &self.engine,
            "the ticker is live and INFY watched",
            || async {
                self.engine.feed_state() == FeedState::Live && self.engine.feed_stats().watched == 1
            },
        )
        .await;
    }

    async fn flat(&self) -> bool {
        let status = self.engine.status(sym("INFY")).await.expect("status");
        status.position == PositionState::Flat
    }

    fn ltp_polls(&self) -> usize {
        lock(&self.sim.shared().log)
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/quote/ltp"))
            .count()
    }

    async fn closed_reason(&self) -> (ExitReason, kitebreak_price::Price) {
        let trades = self
            .engine
            .closed_trades(&TradeFilter::default())
            .await
            .expect("trades");
        assert_eq!(trades.len(), 1, "{trades:?}");
        (trades[0].closed.exit_reason, trades[0].closed.price_exit)
    }
}

#[tokio::test]
async fn a_tick_at_the_target_exits_through_the_ticker() {
    let env = ticker_only().await;
    env.open_long().await;
    env.price("110");
    eventually(&env.engine, "the target tick exits", || env.flat()).await;
    assert_eq!(env.closed_reason().await, (ExitReason::Profit, p("110")));
    assert!(env.engine.feed_stats().ticks > 0);
    assert_eq!(env.ltp_polls(), 0, "no REST poll was needed");
    assert_eq!(env.engine.feed_stats().watched, 0, "unsubscribed on exit");
    assert_eq!(env.placements().len(), 2, "one entry and one exit order");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_tick_at_the_stop_exits_through_the_ticker() {
    let env = ticker_only().await;
    env.open_long().await;
    env.price("104.5");
    eventually(&env.engine, "the stop tick exits", || env.flat()).await;
    assert_eq!(env.closed_reason().await, (ExitReason::Loss, p("104.5")));
    assert_eq!(env.ltp_polls(), 0);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn monitoring_stop_pauses_tick_exits_and_start_resumes_them() {
    let env = ticker_only().await;
    env.open_long().await;
    env.engine.set_monitoring(false).await.expect("stop");
    let before = env.engine.feed_stats().ticks;
    env.price("110");
    eventually(&env.engine, "the target tick arrives", || async {
        env.engine.feed_stats().ticks > before
    })
    .await;
    // The status command queues behind the tick on the same shard.
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open, "paused: no exit");
    assert_eq!(env.placements().len(), 1);

    env.engine.set_monitoring(true).await.expect("start");
    env.price("110.5");
    eventually(&env.engine, "the next tick exits", || env.flat()).await;
    assert_eq!(env.closed_reason().await, (ExitReason::Profit, p("110.5")));
    env.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_dropped_socket_the_ticker_resubscribes_and_still_exits() {
    let env = ticker_only().await;
    env.open_long().await;
    let ticks = env.engine.feed_stats().ticks;
    env.sim
        .shared()
        .ws_drop
        .send_modify(|generation| *generation += 1);
    // On resubscribing, kite-sim sends the current price at once: a fresh tick of
    // 106.05 proves the new connection carries INFY again.
    eventually(&env.engine, "a tick on the new connection", || async {
        env.engine.feed_stats().ticks > ticks
    })
    .await;
    env.price("110");
    eventually(&env.engine, "the target tick exits", || env.flat()).await;
    assert_eq!(env.closed_reason().await, (ExitReason::Profit, p("110")));
    assert_eq!(env.ltp_polls(), 0, "the ticker alone, no polling");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_silent_ticker_falls_back_to_batched_polls_and_still_exits() {
    let env = spawn_with(|config| {
        config.feed.poll_every = Duration::from_millis(50);
        config.feed.stale_after = Duration::from_millis(300);
    })
    .await;
    env.open_long().await;
    env.sim.set_faults(Faults {
        ws_silent: true,
        ..Faults::default()
    });
    env.price("110");
    eventually(&env.engine, "a poll sees the target and exits", || {
        env.flat()
    })
    .await;
    assert_eq!(env.closed_reason().await, (ExitReason::Profit, p("110")));
    assert!(env.ltp_polls() >= 1, "the exit came from a REST poll");
    assert!(env.engine.feed_stats().polls >= 1);
    env.engine.shutdown().await;
}

//! Restarts against kite-sim: orders the database holds as PENDING are looked up at
//! Kite by their tag before anything else, and positions are compared with the open
//! trades.

use std::sync::Arc;

use kitebreak_engine::{ManualClock, MarketOrder, OrderProgress, OrderStatus, PositionState, Side};
use kitebreak_price::Quantity;
use sqlx::{ConnectOptions, Row};

use crate::helpers::{p, sym};
use crate::kite::{Env, spawn};

/// What a kill -9 right after an order's intent was committed leaves: a PENDING row.
async fn insert_pending(env: &Env, tag: &str, purpose: &str, side: &str, signal_micros: i64) {
    insert_pending_of(env, tag, purpose, side, signal_micros, 1).await;
}

async fn insert_pending_of(
    env: &Env,
    tag: &str,
    purpose: &str,
    side: &str,
    signal_micros: i64,
    quantity: i64,
) {
    let database = env.dir.path().join("kitebreak.db");
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .connect()
        .await
        .expect("open database");
    sqlx::query(
        "INSERT INTO orders (tag, seq, symbol, purpose, side, quantity, signal_micros, status,
             created_at, updated_at) VALUES (?, 99, 'INFY', ?, ?, ?, ?, 'PENDING', 'x', 'x')",
    )
    .bind(tag)
    .bind(purpose)
    .bind(side)
    .bind(quantity)
    .bind(signal_micros)
    .execute(&mut db)
    .await
    .expect("insert pending order");
}

async fn stored_status(env: &Env, tag: &str) -> String {
    let database = env.dir.path().join("kitebreak.db");
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .read_only(true)
        .connect()
        .await
        .expect("open database");
    sqlx::query("SELECT status FROM orders WHERE tag = ?")
        .bind(tag)
        .fetch_one(&mut db)
        .await
        .expect("order row")
        .get("status")
}

/// Places an order at Kite under `tag` (what the crashed engine had sent) and waits
/// for Kite to fill it.
async fn placed_at_kite(env: &Env, tag: &str, side: Side) {
    let broker = env.engine.broker();
    let order = MarketOrder {
        tag: tag.into(),
        symbol: sym("INFY"),
        side,
        quantity: Quantity::ONE,
    };
    let id = broker.place_market(order).await.expect("placed");
    let status = broker.final_status(&id).await.expect("final");
    assert!(matches!(status, OrderStatus::Complete { .. }), "{status:?}");
}

#[tokio::test]
async fn a_pending_entry_kite_filled_becomes_the_trade_after_a_restart() {
    let env = spawn().await;
    env.setup().await;
    env.price("106.05");
    placed_at_kite(&env, "KB00002R", Side::Buy).await;
    insert_pending(&env, "KB00002R", "entry", "BUY", 106_000_000).await;

    let env = env.restart().await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let trade = status.trade.expect("trade");
    assert_eq!(
        trade.price_entry,
        p("106.05"),
        "entry at kite's average fill"
    );
    assert_eq!(trade.price_target, p("109.2315"));
    assert_eq!(stored_status(&env, "KB00002R").await, "COMPLETE");
    let report = env.engine.reconciliation();
    assert_eq!(report.orders.len(), 1);
    assert_eq!(report.orders[0].outcome, "filled");
    assert!(report.positions_checked);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(
        env.orders_tagged("KB00002R"),
        1,
        "the tag was never re-sent"
    );
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_pending_exit_kite_filled_closes_the_trade_after_a_restart() {
    let env = spawn().await;
    env.setup().await;
    env.price("106.05");
    let (h, l, c) = crate::helpers::BREAKOUT;
    env.engine
        .candle(sym("INFY"), crate::helpers::candle(h, l, c))
        .await
        .expect("breakout");
    // The engine must not exit on its own here: the exit is the one "sent before the
    // crash" below. Monitoring is on again after the restart.
    env.engine
        .set_monitoring(false)
        .await
        .expect("monitoring off");
    env.price("110");
    placed_at_kite(&env, "KB00002S", Side::Sell).await;
    insert_pending(&env, "KB00002S", "exit", "SELL", 110_000_000).await;

    let env = env.restart().await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let trades = env
        .engine
        .closed_trades(&Default::default())
        .await
        .expect("trades");
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].closed.price_exit, p("110"));
    assert_eq!(
        trades[0].closed.exit_reason,
        kitebreak_strategy::ExitReason::Profit
    );
    assert_eq!(stored_status(&env, "KB00002S").await, "COMPLETE");
    let report = env.engine.reconciliation();
    assert!(report.mismatches.is_empty(), "{report:?}");
    env.engine.shutdown().await;
}

/// Stops the engine and starts a new one on a manual clock (same sim and database).
async fn restart_on_manual_clock(mut env: Env) -> (Env, Arc<ManualClock>) {
    env.engine.shutdown().await;
    let at = jiff::Timestamp::from_second(crate::kite::START).expect("start");
    let clock = Arc::new(ManualClock::new(at));
    let shared = Arc::clone(&clock);
    let broker = crate::kite::adapter(&env.sim, env.dir.path()).await;
    env.engine = crate::helpers::start_with(env.dir.path(), Arc::new(broker), move |config| {
        config.clock = shared;
    })
    .await;
    (env, clock)
}

async fn run_for(env: &Env, clock: &ManualClock, seconds: i64) {
    for _ in 0..seconds {
        clock.advance(jiff::SignedDuration::from_secs(1));
        env.engine.retry_step().await.expect("retry step");
    }
}

#[tokio::test]
async fn an_absent_tag_stays_unsettled_for_the_window_then_is_lost_and_the_position_is_reported() {
    let env = spawn().await;
    env.setup().await;
    env.price("106");
    // Bought at Kite under a tag the database does not know (another tool, a
    // by-hand order): the engine holds no trade for it.
    placed_at_kite(&env, "ELSEWHERE1", Side::Buy).await;
    insert_pending(&env, "KB00002T", "entry", "BUY", 106_000_000).await;

    let (env, clock) = restart_on_manual_clock(env).await;
    let report = env.engine.reconciliation().clone();
    assert_eq!(report.orders[0].outcome, "unsettled");
    assert_eq!(report.mismatches.len(), 1, "{report:?}");
    assert_eq!(report.mismatches[0].broker_net, 1);
    assert_eq!(report.mismatches[0].engine_net, 0);
    assert_eq!(report.mismatches[0].unsettled, ["KB00002T"]);
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Entering,
        "locked: no new entry"
    );
    assert_eq!(stored_status(&env, "KB00002T").await, "PENDING");

    run_for(&env, &clock, 400).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    assert_eq!(stored_status(&env, "KB00002T").await, "LOST");
    assert_eq!(
        env.orders_tagged("KB00002T"),
        0,
        "absent means never sent again"
    );
    let lookup = env
        .engine
        .broker()
        .find_by_tag("ELSEWHERE1")
        .await
        .expect("lookup");
    assert!(matches!(
        lookup.map(|f| f.progress),
        Some(OrderProgress::Done(OrderStatus::Complete { .. }))
    ));
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_pending_entry_kite_shows_only_after_the_restart_becomes_the_trade() {
    let env = spawn().await;
    env.setup().await;
    env.price("106.05");
    insert_pending(&env, "KB00002U", "entry", "BUY", 106_000_000).await;
    let (env, clock) = restart_on_manual_clock(env).await;
    assert_eq!(env.engine.reconciliation().orders[0].outcome, "unsettled");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Entering);
    // Kite's book shows the order now (its placement was slow).
    placed_at_kite(&env, "KB00002U", Side::Buy).await;
    run_for(&env, &clock, 1).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "the late find is the fill"
    );
    assert_eq!(status.trade.expect("trade").price_entry, p("106.05"));
    assert_eq!(stored_status(&env, "KB00002U").await, "COMPLETE");
    assert_eq!(env.orders_tagged("KB00002U"), 1, "never re-sent");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn an_order_still_working_at_kite_does_not_hold_up_the_start_and_settles_later() {
    let env = spawn().await;
    env.setup().await;
    env.price("106.05");
    // Half fills now, the rest at the next price: the order stays OPEN at Kite.
    env.sim.set_faults(kite_sim::Faults {
        partial_fill_next: 1,
        ..kite_sim::Faults::default()
    });
    let order = MarketOrder {
        tag: "KB00002V".into(),
        symbol: sym("INFY"),
        side: Side::Buy,
        quantity: Quantity::new(2).expect("quantity"),
    };
    env.engine
        .broker()
        .place_market(order)
        .await
        .expect("placed");
    insert_pending_of(&env, "KB00002V", "entry", "BUY", 106_000_000, 2).await;

    let (env, clock) = restart_on_manual_clock(env).await;
    assert_eq!(env.engine.reconciliation().orders[0].outcome, "unsettled");
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Entering,
        "locked while it works"
    );
    // Other symbols trade meanwhile: the engine is up.
    env.engine
        .candle(sym("SBIN"), crate::helpers::candle("101", "99", "100"))
        .await
        .expect("another symbol's candle");
    env.price("106.10");
    run_for(&env, &clock, 1).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    assert_eq!(status.trade.expect("trade").quantity.get(), 2);
    assert_eq!(stored_status(&env, "KB00002V").await, "COMPLETE");
    env.engine.shutdown().await;
}

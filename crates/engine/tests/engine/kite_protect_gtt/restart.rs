//! GTT protection across a restart: settled by the trigger id on disk.

use sqlx::ConnectOptions;

use super::{database, gtt_rows, json, last_closed, requests, restart, spawn_protected};
use crate::helpers::{p, sym};
use kitebreak_engine::{ExitOutcome, PositionState};
use kitebreak_strategy::ExitReason;

#[tokio::test]
async fn a_gtt_that_fired_while_kitebreak_was_stopped_closes_the_trade_at_restart() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    env.engine.shutdown().await;
    env.price("104.5");
    restart(&mut env).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Flat);
    let closed = last_closed(&env.engine).await.closed;
    assert_eq!(closed.exit_reason, ExitReason::Loss);
    assert_eq!(closed.price_exit, p("104.5"), "the stop leg's order fill");
    assert_eq!(closed.trade.quantity.get(), 10);
    let settled = &env.engine.reconciliation().orders;
    assert!(
        settled
            .iter()
            .any(|o| o.purpose == "protect_oco" && o.outcome == "filled"),
        "{settled:?}"
    );
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "COMPLETE");
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(
        env.placements().len(),
        1,
        "nothing sent twice: only the entry"
    );
    assert_eq!(requests(&env, "POST", "/gtt/triggers").len(), 1);
    env.engine.shutdown().await;
}

#[tokio::test]
async fn after_a_restart_an_active_gtt_keeps_guarding_and_is_deleted_on_exit() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    let tag = gtt_rows(&database(&env)).await[0].0.clone();
    restart(&mut env).await;
    let status = env.engine.status(sym("INFY")).await.expect("status");
    assert_eq!(status.position, PositionState::Open);
    let protection = status.protection.expect("still guarded");
    assert_eq!(protection.tag.as_deref(), Some(tag.as_str()));
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(
        requests(&env, "POST", "/gtt/triggers").len(),
        1,
        "no second GTT"
    );
    let outcome = env.engine.exit(sym("INFY")).await.expect("manual exit");
    assert!(matches!(outcome, ExitOutcome::Closed { .. }), "{outcome:?}");
    assert_eq!(requests(&env, "DELETE", "/gtt/triggers/1").len(), 1);
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "CANCELLED");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn at_start_a_gtt_whose_trade_is_gone_is_deleted() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    env.engine.shutdown().await;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(database(&env));
    let mut db = options.connect().await.expect("open database");
    sqlx::query("DELETE FROM open_trades")
        .execute(&mut db)
        .await
        .expect("trade removed");
    drop(db);
    restart(&mut env).await;
    let settled = &env.engine.reconciliation().orders;
    assert!(
        settled
            .iter()
            .any(|o| o.purpose == "protect_oco" && o.outcome == "cancelled"),
        "{settled:?}"
    );
    assert_eq!(requests(&env, "DELETE", "/gtt/triggers/1").len(), 1);
    assert_eq!(gtt_rows(&database(&env)).await[0].1, "CANCELLED");
    env.engine.shutdown().await;
}

#[tokio::test]
async fn a_gtt_for_other_units_than_the_trade_holds_is_modified_to_them() {
    let (mut env, _) = spawn_protected().await;
    env.enter_long().await;
    env.engine.shutdown().await;
    // Six of the ten units closed elsewhere while kitebreak was stopped.
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(database(&env));
    let mut db = options.connect().await.expect("open database");
    sqlx::query("UPDATE open_trades SET quantity = 4")
        .execute(&mut db)
        .await
        .expect("trade resized");
    drop(db);
    restart(&mut env).await;
    env.engine.protect_step().await.expect("protect step");
    let modified = requests(&env, "PUT", "/gtt/triggers/1");
    assert_eq!(modified.len(), 1, "the GTT was modified, not replaced");
    let orders = json(&modified[0].1, "orders");
    for leg in orders.as_array().expect("legs") {
        assert_eq!(leg["quantity"], 4);
    }
    assert_eq!(requests(&env, "POST", "/gtt/triggers").len(), 1);
    // Modified once: the next check finds the units right.
    env.engine.protect_step().await.expect("protect step");
    assert_eq!(requests(&env, "PUT", "/gtt/triggers/1").len(), 1);
    env.engine.shutdown().await;
}

//! What lands in SQLite: exact prices, order rows and the append-only event log.

use std::sync::Arc;

use kitebreak_engine::PaperBroker;
use kitebreak_strategy::Relevel;
use sqlx::{ConnectOptions, Row};

use crate::helpers::{enter_long, p, start, sym};

#[tokio::test]
async fn a_trade_cycle_leaves_orders_a_closed_trade_and_an_append_only_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "COALINDIA").await;
    engine
        .price(sym("COALINDIA"), p("109.18"))
        .await
        .expect("exit");
    engine.shutdown().await;

    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("kitebreak.db"))
        .connect()
        .await
        .expect("open database");
    let kinds: Vec<String> =
        sqlx::query("SELECT kind FROM events WHERE symbol = 'COALINDIA' ORDER BY id")
            .fetch_all(&mut db)
            .await
            .expect("events")
            .iter()
            .map(|r| r.get("kind"))
            .collect();
    assert_eq!(
        kinds,
        [
            "entry_signal",
            "trade_opened",
            "exit_signal",
            "trade_closed"
        ]
    );

    let orders = sqlx::query("SELECT side, status, average_micros FROM orders ORDER BY seq")
        .fetch_all(&mut db)
        .await
        .expect("orders");
    let orders: Vec<(String, String, i64)> = orders
        .iter()
        .map(|r| (r.get("side"), r.get("status"), r.get("average_micros")))
        .collect();
    assert_eq!(
        orders,
        [
            ("BUY".into(), "COMPLETE".into(), 106_000_000),
            ("SELL".into(), "COMPLETE".into(), 109_180_000)
        ]
    );
    let pnl: String = sqlx::query("SELECT pnl FROM closed_trades")
        .fetch_one(&mut db)
        .await
        .expect("closed trade")
        .get("pnl");
    assert_eq!(pnl, "3.18");
    let open: i64 = sqlx::query("SELECT COUNT(*) AS n FROM open_trades")
        .fetch_one(&mut db)
        .await
        .expect("count")
        .get("n");
    assert_eq!(open, 0);

    let tamper = sqlx::query("UPDATE events SET kind = 'x'")
        .execute(&mut db)
        .await;
    assert!(tamper.is_err(), "the event log must refuse updates");
    let erase = sqlx::query("DELETE FROM events").execute(&mut db).await;
    assert!(erase.is_err(), "the event log must refuse deletes");
}

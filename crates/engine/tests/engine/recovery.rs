//! Restarts: state comes back from SQLite and open trades are watched again.

use std::sync::Arc;

use sqlx::{ConnectOptions, Row};

use kitebreak_engine::{ExitOutcome, PaperBroker, PositionState, Side, TradeFilter};
use kitebreak_strategy::{ExitReason, Relevel, StrategyParams};

use crate::helpers::{candle, enter_long, p, params, start, start_with, sym, timed};

#[tokio::test]
async fn an_open_trade_survives_a_restart_and_still_exits_at_its_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "RELIANCE").await;
    let before = engine.status(sym("RELIANCE")).await.expect("status");
    engine.shutdown().await;
    drop(engine);

    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let after = engine
        .status(sym("RELIANCE"))
        .await
        .expect("status after restart");
    assert_eq!(after.position, PositionState::Open);
    assert_eq!(after.trade, before.trade);
    assert_eq!(after.levels, before.levels);
    assert_eq!(after.data_points, before.data_points);

    let hit = engine
        .price(sym("RELIANCE"), p("109.5"))
        .await
        .expect("price");
    let Some(ExitOutcome::Closed { closed, .. }) = hit.exit else {
        panic!("the restored trade must still exit, got {:?}", hit.exit);
    };
    assert_eq!(closed.exit_reason, ExitReason::Profit);
    let trades = engine
        .closed_trades(&TradeFilter::default())
        .await
        .expect("trades");
    assert_eq!(trades.len(), 1);
    assert_eq!(trades[0].closed, closed);
    engine.shutdown().await;
}

#[tokio::test]
async fn levels_history_and_alert_times_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let time = "2026-11-24T09:15:00Z";
    engine
        .candle(sym("BHEL"), timed("101", "99", "100", time))
        .await
        .expect("candle");
    for (h, l, c) in [
        ("105", "100", "102"),
        ("102", "95", "98"),
        ("103", "97", "100"),
        ("102", "98", "100"),
    ] {
        engine
            .candle(sym("BHEL"), candle(h, l, c))
            .await
            .expect("candle");
    }
    engine.shutdown().await;

    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let status = engine.status(sym("BHEL")).await.expect("status");
    assert_eq!(status.levels.support, Some(p("95")));
    assert_eq!(status.data_points, 5);
    let again = engine
        .candle(sym("BHEL"), timed("101", "99", "100", time))
        .await
        .expect("again");
    assert!(
        again.duplicate,
        "the alert's time is remembered across restarts"
    );
    // The last close was restored into the paper broker, so a breakout can fill.
    let breakout = engine
        .candle(sym("BHEL"), candle("107", "101", "106"))
        .await
        .expect("breakout");
    assert!(breakout.entry.is_some());
    engine.shutdown().await;
}

#[tokio::test]
async fn an_order_left_pending_by_a_crash_is_settled_and_the_trade_still_watched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    enter_long(&engine, "GAIL").await;
    engine.shutdown().await;
    // What a kill -9 between "exit intent committed" and "fill recorded" leaves behind.
    let database = dir.path().join("kitebreak.db");
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .connect()
        .await
        .expect("open database");
    sqlx::query(
        "INSERT INTO orders (tag, seq, symbol, purpose, side, quantity, status, created_at, updated_at)
         VALUES ('KB0000099', 99, 'GAIL', 'exit', 'SELL', 1, 'PENDING', 'x', 'x')",
    )
    .execute(&mut db)
    .await
    .expect("insert pending order");
    drop(db);

    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let status = engine.status(sym("GAIL")).await.expect("status");
    assert_eq!(
        status.position,
        PositionState::Open,
        "the unrecorded exit left the trade open"
    );
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .connect()
        .await
        .expect("open database");
    let row = sqlx::query("SELECT status FROM orders WHERE tag = 'KB0000099'")
        .fetch_one(&mut db)
        .await
        .expect("order row");
    assert_eq!(row.get::<String, _>("status"), "LOST");
    let hit = engine.price(sym("GAIL"), p("104")).await.expect("price");
    assert!(
        matches!(hit.exit, Some(ExitOutcome::Closed { .. })),
        "{:?}",
        hit.exit
    );
    // The exit went out under the tag armed when the trade opened (never sent: the
    // clean stop's journal does not name it); a new order continues after the
    // highest tag stored.
    let order = engine
        .manual_order(sym("GAIL"), Side::Buy, None)
        .await
        .expect("manual order");
    assert_eq!(
        order.tag, "KB00002S",
        "new tags continue after the highest one stored (99)"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn concurrent_candles_on_many_symbols_are_all_durable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..40 {
        let engine = engine.clone();
        tasks.spawn(async move {
            let symbol = format!("SYM{n}");
            for i in 0..12 {
                let time = format!("2026-11-24T09:{i:02}:00Z");
                engine
                    .candle(sym(&symbol), timed("101", "99", "100", &time))
                    .await
                    .expect("candle");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    engine.shutdown().await;

    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let all = engine.statuses().await.expect("statuses");
    assert_eq!(all.len(), 40);
    assert!(
        all.iter().all(|s| s.data_points == 12),
        "every candle was committed"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn the_data_directory_is_created_when_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("data").join("paper");
    let engine = start(&nested, Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    engine.shutdown().await;
    assert!(nested.join("kitebreak.db").exists());
}

/// A candle that changes no levels writes no symbol row (one page fewer per
/// commit); after a restart the next candle's seq follows the newest stored candle,
/// and the stored times still make a repeated alert a duplicate.
#[tokio::test]
async fn candles_that_move_no_levels_leave_the_symbol_row_and_a_restart_continues_their_seqs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let minute = |m: usize| format!("2026-11-24T09:{m:02}:00Z");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    for m in 0..8 {
        engine
            .candle(sym("FLAT"), timed("100", "100", "100", &minute(m)))
            .await
            .expect("candle");
    }
    engine.shutdown().await;
    drop(engine);
    let stored = |sql: &'static str| {
        let path = dir.path().join("kitebreak.db");
        async move {
            let mut db = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .connect()
                .await
                .expect("open");
            sqlx::query(sql)
                .fetch_one(&mut db)
                .await
                .expect("read")
                .get::<i64, _>(0)
        }
    };
    let row_seq = "SELECT next_seq FROM symbols WHERE symbol = 'FLAT'";
    let newest = "SELECT MAX(seq) FROM candles WHERE symbol = 'FLAT'";
    assert_eq!(
        stored(row_seq).await,
        1,
        "only the first candle wrote the row"
    );
    assert_eq!(stored(newest).await, 7);

    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    let again = engine
        .candle(sym("FLAT"), timed("100", "100", "100", &minute(3)))
        .await
        .expect("repeated alert");
    assert!(again.duplicate);
    let next = engine
        .candle(sym("FLAT"), timed("100", "100", "100", &minute(8)))
        .await
        .expect("a new candle after the restart is committed");
    assert!(!next.duplicate);
    assert_eq!(
        engine
            .status(sym("FLAT"))
            .await
            .expect("status")
            .data_points,
        9
    );
    engine.shutdown().await;
    drop(engine);
    assert_eq!(
        stored(newest).await,
        8,
        "its seq follows the newest stored one"
    );
}

/// A restart writes back only the symbol rows that changed: a symbol the
/// configuration gave new parameters gets them stored, and a symbol whose row merely
/// lags its candles (rows are written only when they change) is left as it is, so a
/// start with 10,000 symbols does not rewrite 10,000 rows.
#[tokio::test]
async fn a_restart_writes_back_only_the_symbol_rows_that_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let minute = |m: usize| format!("2026-11-24T09:{m:02}:00Z");
    let engine = start(dir.path(), Arc::new(PaperBroker::new(0)), Relevel::Fresh).await;
    for symbol in ["KEEP", "RETUNE"] {
        for m in 0..4 {
            engine
                .candle(sym(symbol), timed("100", "100", "100", &minute(m)))
                .await
                .expect("candle");
        }
    }
    engine.shutdown().await;
    drop(engine);

    let base = params(Relevel::Fresh);
    let retuned = StrategyParams::new(
        4,
        base.profit_target(),
        base.stop_loss(),
        base.relevel(),
        base.quantity(),
    )
    .expect("params");
    let engine = start_with(dir.path(), Arc::new(PaperBroker::new(0)), |config| {
        config.symbol_params.insert(sym("RETUNE"), retuned);
    })
    .await;
    let commits = engine.commit_stats();
    assert_eq!(
        (commits.transactions, commits.jobs),
        (1, 1),
        "one row written at start"
    );
    let status = engine.status(sym("RETUNE")).await.expect("status");
    assert_eq!(status.params.lookback(), 4);
    assert_eq!(status.data_points, 4);
    engine.shutdown().await;
    drop(engine);

    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("kitebreak.db"))
        .connect()
        .await
        .expect("open");
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT symbol, lookback, next_seq FROM symbols ORDER BY symbol")
            .fetch_all(&mut db)
            .await
            .expect("read");
    assert_eq!(
        rows,
        [("KEEP".to_owned(), 3, 1), ("RETUNE".to_owned(), 4, 4)],
        "KEEP's row still lags its candles; RETUNE's was written with its new lookback"
    );
}

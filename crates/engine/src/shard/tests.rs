//! Pipelining: a shard's candles share group commits, a symbol's candles stay in
//! order, and a failed commit puts back only its own symbol.

use std::sync::Arc;

use kitebreak_price::Price;
use kitebreak_strategy::Candle;
use sqlx::ConnectOptions;

use crate::{CandleInput, Engine, EngineConfig, EngineError, PaperBroker, Symbol};

async fn one_shard_engine(dir: &std::path::Path) -> Engine {
    let mut config = EngineConfig::new(dir.join("kitebreak.db"));
    config.shards = 1;
    config.enforce_every = None;
    Engine::start(config, Arc::new(PaperBroker::default()))
        .await
        .expect("engine")
}

fn input(minute: i64) -> CandleInput {
    let price = |micros| Price::from_micros(micros).expect("price");
    let candle = Candle {
        high: price(101_000_000),
        low: price(99_000_000),
        close: price(100_000_000),
    };
    let time = jiff::Timestamp::from_second(1_700_000_000 + minute * 60).expect("time");
    CandleInput::new(candle, None, None, Some(time), None).expect("candle")
}

fn sym(text: &str) -> Symbol {
    Symbol::parse(text).expect("symbol")
}

/// Sends every candle at once (all queued before the shard first runs, on this
/// single-threaded runtime) and returns the answers in the order given.
async fn send_all(
    engine: &Engine,
    candles: Vec<(Symbol, CandleInput)>,
) -> Vec<Result<crate::CandleReport, EngineError>> {
    let mut tasks = Vec::new();
    for (symbol, input) in candles {
        let engine = engine.clone();
        tasks.push(tokio::spawn(
            async move { engine.candle(symbol, input).await },
        ));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

#[tokio::test(flavor = "current_thread")]
async fn candles_of_one_shard_share_a_group_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = one_shard_engine(dir.path()).await;
    let before = engine.commit_stats();
    let candles = (0..20).map(|n| (sym(&format!("S{n}")), input(0))).collect();
    for answer in send_all(&engine, candles).await {
        assert!(!answer.expect("applied").duplicate);
    }
    let after = engine.commit_stats();
    assert_eq!(after.jobs - before.jobs, 20);
    // Without pipelining one shard commits one candle per transaction.
    assert!(
        after.transactions - before.transactions <= 2,
        "{before:?} -> {after:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_symbols_candles_apply_in_order_while_pipelined() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = one_shard_engine(dir.path()).await;
    // Two candles of A with another symbol between, then A's first again.
    let candles = vec![
        (sym("A"), input(0)),
        (sym("B"), input(0)),
        (sym("A"), input(1)),
        (sym("A"), input(0)),
    ];
    let answers = send_all(&engine, candles).await;
    let duplicates: Vec<bool> = answers
        .into_iter()
        .map(|a| a.expect("answered").duplicate)
        .collect();
    assert_eq!(duplicates, [false, false, false, true]);
    let status = engine.status(sym("A")).await.expect("status");
    assert_eq!(status.data_points, 2);
    engine.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_commit_restores_only_its_symbol() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = one_shard_engine(dir.path()).await;
    send_all(&engine, vec![(sym("OLD"), input(0))]).await;
    // Make the database refuse candles of BAD and OLD from now on.
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("kitebreak.db"))
        .connect()
        .await
        .expect("open");
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON candles WHEN NEW.symbol IN ('BAD', 'OLD')
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .execute(&mut db)
    .await
    .expect("trigger");
    drop(db);

    let candles = vec![
        (sym("GOOD"), input(1)),
        (sym("BAD"), input(1)),
        (sym("OLD"), input(1)),
        (sym("FINE"), input(1)),
    ];
    let ok: Vec<bool> = send_all(&engine, candles)
        .await
        .iter()
        .map(Result::is_ok)
        .collect();
    assert_eq!(ok, [true, false, false, true]);
    // BAD was new: forgotten. OLD keeps only its committed candle.
    assert!(matches!(
        engine.status(sym("BAD")).await,
        Err(EngineError::UnknownSymbol(_))
    ));
    assert_eq!(engine.status(sym("OLD")).await.expect("old").data_points, 1);
    for symbol in ["GOOD", "FINE"] {
        assert_eq!(engine.status(sym(symbol)).await.expect("ok").data_points, 1);
    }
    engine.shutdown().await;
}

/// Runs one statement on the engine's database from a second connection.
async fn execute(dir: &std::path::Path, sql: &'static str) {
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("kitebreak.db"))
        .connect()
        .await
        .expect("open");
    sqlx::query(sql).execute(&mut db).await.expect("statement");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_commit_puts_back_the_repeated_alert_times_it_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = one_shard_engine(dir.path()).await;
    let keep = i64::try_from(kitebreak_strategy::Strategy::HISTORY_CAP).expect("cap");
    // Exactly `keep` candles stored: the next one prunes candle 0 (and its time).
    let stored: Vec<_> = (0..keep).map(|m| (sym("OLD"), input(m))).collect();
    assert!(send_all(&engine, stored).await.iter().all(Result::is_ok));
    execute(
        dir.path(),
        "CREATE TRIGGER refuse BEFORE INSERT ON candles WHEN NEW.symbol = 'OLD'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
    )
    .await;
    let failed = send_all(&engine, vec![(sym("OLD"), input(keep))]).await;
    assert!(failed[0].is_err(), "the refused candle fails");
    execute(dir.path(), "DROP TRIGGER refuse").await;

    // Candle 0 is still stored, so its alert is still a repeat, never applied twice;
    // the failed candle was never stored, so it is new and applies now.
    let again = send_all(&engine, vec![(sym("OLD"), input(0))]).await;
    assert!(again[0].as_ref().expect("answer").duplicate);
    let retried = send_all(&engine, vec![(sym("OLD"), input(keep))]).await;
    assert!(!retried[0].as_ref().expect("answer").duplicate);
    // And now candle 0 is pruned: its time is no longer remembered.
    let pruned = send_all(&engine, vec![(sym("OLD"), input(0))]).await;
    assert!(!pruned[0].as_ref().expect("answer").duplicate);
    engine.shutdown().await;
}

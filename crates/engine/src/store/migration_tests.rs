//! Migration 0002 (candles stored by symbol, no `(symbol, time)` index) on a
//! database that 0001 created and an older kitebreak filled.

use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::{MIGRATOR, Store};

/// Rows as the 0001 schema held them: INFY reset at seq 2 (history from there),
/// TCS with an untimed candle; both with `next_seq` written with every candle.
const FILLED_BY_0001: &str = "
INSERT INTO symbols (symbol, lookback, profit_target_micros, stop_loss_micros, relevel,
    quantity, support_micros, resistance_micros, history_from, next_seq, updated_at)
VALUES ('INFY', 3, 30000, 10000, 'fresh', 2, 95000000, 105000000, 2, 6,
        '2026-11-24T09:20:00Z'),
       ('TCS', 10, 30000, 10000, 'rolling', 1, NULL, NULL, 0, 2, '2026-11-24T09:20:00Z');
INSERT INTO candles (symbol, seq, time, open_micros, high_micros, low_micros, close_micros,
    volume)
VALUES ('INFY', 1, '2026-11-24T09:16:00Z', NULL, 101000000, 99000000, 100000000, 10),
       ('INFY', 2, '2026-11-24T09:17:00Z', NULL, 105000000, 100000000, 102000000, NULL),
       ('INFY', 3, '2026-11-24T09:18:00Z', NULL, 102000000, 95000000, 98000000, NULL),
       ('INFY', 4, '2026-11-24T09:19:00Z', NULL, 103000000, 97000000, 100000000, NULL),
       ('INFY', 5, '2026-11-24T09:20:00Z', 100000000, 102000000, 98000000, 101000000, 7),
       ('TCS', 0, NULL, NULL, 3001000000, 2999000000, 3000000000, NULL),
       ('TCS', 1, '2026-11-24T09:20:00Z', NULL, 3002000000, 3000000000, 3001000000, NULL);
";

#[tokio::test(flavor = "current_thread")]
async fn a_database_filled_under_0001_loads_the_same_state_after_0002() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let mut db = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .connect()
        .await
        .expect("create");
    MIGRATOR
        .run_direct(Some(1), &mut db, false)
        .await
        .expect("0001 only");
    sqlx::raw_sql(FILLED_BY_0001)
        .execute(&mut db)
        .await
        .expect("fill");
    drop(db);

    let store = Store::open(&path).await.expect("open applies 0002");
    let schema: String = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'candles'",
    )
    .fetch_one(store.pool())
    .await
    .expect("schema");
    assert!(schema.contains("WITHOUT ROWID"), "{schema}");
    let time_index: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'candles_symbol_time'")
            .fetch_one(store.pool())
            .await
            .expect("index");
    assert_eq!(time_index, 0);

    let loaded = store.load_all_symbols().await.expect("load");
    let names: Vec<&str> = loaded.iter().map(|s| s.row.symbol.as_str()).collect();
    assert_eq!(names, ["INFY", "TCS"]);
    let (infy, tcs) = (&loaded[0], &loaded[1]);
    assert_eq!((infy.row.history_from, infy.row.next_seq), (2, 6));
    assert_eq!(infy.row.params.lookback(), 3);
    assert_eq!(infy.row.params.quantity().get(), 2);
    assert_eq!(
        infy.row.levels.support.map(|p| p.micros()),
        Some(95_000_000)
    );
    assert_eq!(
        infy.row.levels.resistance.map(|p| p.micros()),
        Some(105_000_000)
    );
    let closes: Vec<i64> = infy.candles.iter().map(|(_, c)| c.close.micros()).collect();
    assert_eq!(closes, [102_000_000, 98_000_000, 100_000_000, 101_000_000]);
    let seqs: Vec<i64> = infy.recent_times.iter().map(|&(seq, _)| seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "times of every stored candle");
    assert_eq!(
        infy.recent_times.back().map(|&(_, t)| t.to_string()),
        Some("2026-11-24T09:20:00Z".to_owned())
    );
    assert_eq!((tcs.row.next_seq, tcs.candles.len()), (2, 2));
    assert_eq!(tcs.recent_times.len(), 1, "the untimed candle has no time");
    assert!(tcs.candles[0].0.is_none());
    store.close().await;
}

//! `serve --demo`: the bundled GOOG daily candles, posted to the server's own
//! `/webhook` at a brisk pace, so a new user sees levels, entries and exits within
//! seconds (`GET /strategies`, `GET /trades`) and in the log.
//!
//! The demo keeps its state in a fresh `demo.db` in the data directory, and its paper
//! book in `demo.paper.db` beside it, both deleted and created anew at every start, so
//! it never mixes with real state (`kitebreak.db`, `kitebreak.paper.db`).
//! It posts over HTTP rather than calling the engine, so its candles take exactly the
//! path TradingView alerts take.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kitebreak_candles::{CandleReader, CandleRecord};
use kitebreak_config::Secret;
use serde_json::Value;
use tokio::sync::watch;

use crate::feed::{Feed, Outcome};

/// The sample candles, built into the binary so the demo runs from any directory.
const SAMPLE: &[u8] = include_bytes!("../../../samples/GOOG-daily.csv");
/// The sample's symbol.
const SYMBOL: &str = "GOOG";
/// The demo's database file in the data directory.
pub const DATABASE_FILE: &str = "demo.db";

/// Deletes any previous demo database and its paper book (with their WAL files) and
/// returns the database's path.
pub fn fresh_database(data_dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let database = data_dir.join(DATABASE_FILE);
    let book = kitebreak_engine::paper_book_path(&database);
    for (base, suffix) in [&database, &book]
        .into_iter()
        .flat_map(|base| ["", "-wal", "-shm"].map(|suffix| (base, suffix)))
    {
        let file = PathBuf::from(format!("{}{suffix}", base.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("cannot remove the old demo state {}", file.display())
                });
            }
        }
    }
    Ok(database)
}

/// Feeds the sample to the server at `base` until the end or until `stopped`.
pub async fn run(
    base: String,
    passphrase: Option<Secret>,
    rate: u32,
    stopped: watch::Receiver<bool>,
) {
    let records = match sample() {
        Ok(records) => records,
        Err(error) => {
            tracing::error!("demo: the bundled sample is unreadable: {error:#}");
            return;
        }
    };
    let feed = match Feed::new(&base, SYMBOL, passphrase, rate) {
        Ok(feed) => feed,
        Err(error) => {
            tracing::error!("demo: {error:#}");
            return;
        }
    };
    tracing::info!(
        symbol = SYMBOL,
        candles = records.len(),
        rate,
        "demo: feeding sample candles; watch GET /strategies and GET /trades"
    );
    let mut had_levels = false;
    let (tally, result) = feed
        .run(
            &records,
            |record, outcome| log_outcome(record, outcome, &mut had_levels),
            || *stopped.borrow(),
        )
        .await;
    match result {
        Err(error) if !*stopped.borrow() => tracing::warn!("demo: stopped at {error}"),
        _ => tracing::info!(
            candles = tally.accepted,
            entries = tally.entries,
            exits = tally.exits,
            "demo: feed finished; the server keeps running"
        ),
    }
}

fn sample() -> anyhow::Result<Vec<CandleRecord>> {
    Ok(CandleReader::new(SAMPLE)?.collect::<Result<Vec<_>, _>>()?)
}

/// Logs levels as they appear, and every entry and exit, at INFO.
fn log_outcome(record: &CandleRecord, outcome: &Outcome, had_levels: &mut bool) {
    let body = match outcome {
        Outcome::Accepted(body) => body,
        Outcome::Duplicate => return,
        Outcome::Rejected(message) => {
            tracing::warn!(line = record.line, "demo: candle rejected: {message}");
            return;
        }
    };
    let levels = &body["current_levels"];
    let has_levels = !levels["support"].is_null() && !levels["resistance"].is_null();
    if has_levels && !*had_levels {
        tracing::info!(
            symbol = SYMBOL,
            support = %levels["support"],
            resistance = %levels["resistance"],
            "demo: levels found"
        );
    }
    *had_levels = has_levels;
    if body["trade_exited"] == Value::Bool(true) {
        let summary = &body["trade_summary"];
        tracing::info!(
            symbol = SYMBOL,
            reason = %summary["exit_reason"],
            exit_price = %summary["exit_price"],
            pnl = %summary["pnl"],
            "demo: trade exited"
        );
    }
    if body["trade_entered"] == Value::Bool(true) {
        tracing::info!(
            symbol = SYMBOL,
            direction = %body["breakout_signal"],
            price = %body["order_result"]["average_price"],
            "demo: trade entered"
        );
    } else if let Some(error) = body["order_error"].as_str() {
        tracing::warn!(symbol = SYMBOL, "demo: entry failed: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sample_reads_cleanly() {
        let records = sample().expect("the sample is valid");
        assert!(records.len() > 2000, "{} candles", records.len());
        assert!(records.iter().all(|r| r.time.is_some()));
    }

    #[test]
    fn a_fresh_demo_database_replaces_the_old_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let first = fresh_database(&data).expect("created");
        std::fs::write(&first, b"old").expect("write");
        std::fs::write(data.join("demo.db-wal"), b"old").expect("write");
        let again = fresh_database(&data).expect("replaced");
        assert_eq!(first, again);
        assert!(!again.exists() && !data.join("demo.db-wal").exists());
    }
}

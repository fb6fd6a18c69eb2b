//! Durable state in SQLite: what a restart needs, and an append-only event log.
//!
//! Reads go through a small pool; every write goes through one writer task
//! ([`writer`]) that batches the writes of all shards into one transaction (group
//! commit) and acknowledges each after the commit, so a shard replies only once its
//! state change is on disk. The database runs in WAL mode with `synchronous=FULL`:
//! a commit survives power loss, and readers never block the writer.

mod batch;
mod load;
#[cfg(test)]
mod migration_tests;
mod ops;
mod pending;
mod rows;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use crate::EngineError;

pub use load::{ClosedTradeRecord, TradeFilter};
pub(crate) use ops::{CandleRow, OrderFinal, OrderRow, SymbolRow, WriteOp};
pub(crate) use pending::{ArmedOrder, PendingOrder};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many rows a read buffers ahead of its reader (see [`Store::open`]).
const READ_BUFFER_ROWS: usize = 1024;

/// Page size of a new database (an existing one keeps its own). A commit writes
/// every page it touched in full, and a candle touches one leaf of its symbol's
/// candles: 1 KiB pages write a quarter of the bytes SQLite's default 4 KiB do.
const PAGE_SIZE: u32 = 1024;

/// WAL pages after which a commit checkpoints (SQLite's default is 1000).
const CHECKPOINT_PAGES: &str = "4000";

/// The readers' page cache, in SQLite's `cache_size` units (negative: KiB).
const READER_CACHE: &str = "-512";

/// How many pending writes the writer queue holds before shards wait.
const QUEUE: usize = 1024;

/// A handle to the database: cheap to clone, shared by every shard.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: mpsc::Sender<writer::Job>,
    stats: Arc<writer::Stats>,
}

/// A submitted job's outcome: resolves once its writes are committed, or with why
/// they were not (then none of them is durable).
#[derive(Debug)]
pub(crate) struct Commit(oneshot::Receiver<Result<(), EngineError>>);

impl std::future::Future for Commit {
    type Output = Result<(), EngineError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(EngineError::Stopped)))
    }
}

/// How well group commit is batching: jobs acknowledged per transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitStats {
    /// Transactions committed (or attempted).
    pub transactions: u64,
    /// Jobs (one per state change) they carried.
    pub jobs: u64,
}

impl Store {
    /// Opens (creating it and its folder if needed) the database file, applies the
    /// embedded migrations and starts the writer task.
    pub async fn open(path: &Path) -> Result<Store, EngineError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(EngineError::DataDir)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .page_size(PAGE_SIZE)
            .pragma("wal_autocheckpoint", CHECKPOINT_PAGES);
        let mut connection = options.connect().await?;
        MIGRATOR
            .run_direct(None, &mut connection, false)
            .await
            .map_err(EngineError::Migrate)?;
        // Rows come from SQLite's thread over a bounded channel; with sqlx's default
        // of 50 the reader and that thread hand over every few rows, which made
        // start-up's 500,000 candle rows (10,000 symbols) mostly context switches.
        // Readers keep a small page cache: every commit of the writer invalidates it
        // anyway, and four of SQLite's default 2 MiB were memory held for nothing.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(
                options
                    .read_only(true)
                    .row_buffer_size(READ_BUFFER_ROWS)
                    .pragma("cache_size", READER_CACHE),
            )
            .await?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        let stats = Arc::new(writer::Stats::default());
        tokio::spawn(writer::run(connection, receiver, Arc::clone(&stats)));
        Ok(Store {
            pool,
            writer: sender,
            stats,
        })
    }

    /// Writes `ops` in one atomic step and returns once they are committed.
    pub(crate) async fn commit(&self, ops: Vec<WriteOp>) -> Result<(), EngineError> {
        self.submit(ops).await?.await
    }

    /// Queues `ops` as one atomic step and returns at once with their [`Commit`],
    /// which resolves once they are committed (or failed). A caller's jobs are
    /// committed and answered in the order it submitted them.
    pub(crate) async fn submit(&self, ops: Vec<WriteOp>) -> Result<Commit, EngineError> {
        let (ack, done) = oneshot::channel();
        self.writer
            .send(writer::Job::Write { ops, ack })
            .await
            .map_err(|_| EngineError::Stopped)?;
        Ok(Commit(done))
    }

    /// Waits for every queued write, stops the writer and closes the database.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.writer.send(writer::Job::Stop { ack }).await.is_ok() {
            let _ = done.await;
        }
        self.pool.close().await;
    }

    /// Transactions and jobs committed since the store was opened.
    pub fn commit_stats(&self) -> CommitStats {
        self.stats.snapshot()
    }

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_writes_share_one_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db")).await.expect("open");
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..20 {
            let store = store.clone();
            writers.spawn(async move {
                let detail = serde_json::json!({ "n": n });
                let op = WriteOp::Event {
                    symbol: None,
                    kind: "test",
                    detail,
                };
                store.commit(vec![op]).await
            });
        }
        while let Some(done) = writers.join_next().await {
            done.expect("task").expect("committed");
        }
        let stats = store.commit_stats();
        assert_eq!(stats.jobs, 20);
        // On one thread all twenty are queued before the writer first runs.
        assert!(stats.transactions < 5, "no batching: {stats:?}");
        store.close().await;
    }

    /// Regression guard for the savepoint-free fast path: a failing job in a batch
    /// fails alone, none of its writes stay, and the other jobs commit.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failing_job_fails_alone_in_its_batch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db")).await.expect("open");
        let price = kitebreak_price::Price::from_micros(10_000_000).expect("price");
        let candle = kitebreak_strategy::Candle {
            high: price,
            low: price,
            close: price,
        };
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..20 {
            let store = store.clone();
            // Every job writes the same candle key: only the first can succeed.
            let row = CandleRow {
                symbol: crate::Symbol::parse("DUP").expect("symbol"),
                seq: 0,
                time: None,
                open: None,
                candle,
                volume: None,
                keep_from: 0,
            };
            let event = WriteOp::Event {
                symbol: None,
                kind: "test",
                detail: serde_json::json!({ "n": n }),
            };
            writers.spawn(async move { store.commit(vec![event, WriteOp::Candle(row)]).await });
        }
        let mut committed = 0;
        while let Some(done) = writers.join_next().await {
            committed += usize::from(done.expect("task").is_ok());
        }
        assert_eq!(committed, 1);
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(events, 1, "a failed job's event was rolled back with it");
        assert!(
            store.commit_stats().transactions < 5,
            "{:?}",
            store.commit_stats()
        );
        store.close().await;
    }
}

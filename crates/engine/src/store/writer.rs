//! The single writer task: group commit of every shard's writes.
//!
//! Why one writer: SQLite allows one writer at a time anyway, and an fsync per write
//! would cap throughput at the disk's sync rate. The writer takes whatever jobs are
//! queued (up to [`MAX_BATCH`]), writes them all in one transaction (grouped into a
//! few statements, see [`super::batch`]), commits once, and only then acknowledges
//! each job. A job whose statements fail gets its own error; the others in the batch
//! still commit (see [`commit_batch`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use super::batch;
use super::ops::WriteOp;
use crate::EngineError;

/// The most jobs committed in one transaction.
const MAX_BATCH: usize = 256;

/// What the writer is asked to do.
pub(super) enum Job {
    /// Apply these ops atomically and acknowledge after the commit.
    Write {
        ops: Vec<WriteOp>,
        ack: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Finish the queued jobs and stop.
    Stop { ack: oneshot::Sender<()> },
}

type Ack = oneshot::Sender<Result<(), EngineError>>;

/// Counters for [`super::CommitStats`].
#[derive(Debug, Default)]
pub(super) struct Stats {
    transactions: AtomicU64,
    jobs: AtomicU64,
}

impl Stats {
    pub(super) fn snapshot(&self) -> super::CommitStats {
        super::CommitStats {
            transactions: self.transactions.load(Ordering::Relaxed),
            jobs: self.jobs.load(Ordering::Relaxed),
        }
    }
}

/// Runs until every sender is gone or a stop is asked for.
pub(super) async fn run(
    mut connection: SqliteConnection,
    mut jobs: mpsc::Receiver<Job>,
    stats: Arc<Stats>,
) {
    let mut stop = None;
    while stop.is_none() {
        let Some(first) = jobs.recv().await else {
            break;
        };
        let mut batch = Vec::new();
        for job in std::iter::once(first).chain(std::iter::from_fn(|| jobs.try_recv().ok())) {
            match job {
                Job::Write { ops, ack } => batch.push((ops, ack)),
                Job::Stop { ack } => {
                    stop = Some(ack);
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
        }
        if !batch.is_empty() {
            stats.transactions.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
            commit_batch(&mut connection, batch).await;
        }
    }
    if let Err(error) = connection.close().await {
        tracing::warn!(%error, "closing the database writer failed");
    }
    if let Some(ack) = stop {
        let _ = ack.send(());
    }
}

/// Applies and commits one batch, then answers every job in it.
///
/// Fast path first: every job's writes straight into one transaction, grouped into
/// one statement per table ([`super::batch`]), with no savepoints: a batch costs a
/// handful of round trips to sqlx's SQLite worker thread whatever its size. Jobs
/// almost never fail (input is validated before a job is built); when one does, the
/// whole transaction is rolled back and the batch is redone job by job in
/// savepoints, so the failing job still fails alone and the others commit. A batch
/// of one job needs no second pass: its rollback already left the others alone.
async fn commit_batch(connection: &mut SqliteConnection, mut batch: Vec<(Vec<WriteOp>, Ack)>) {
    match commit_plain(connection, &batch).await {
        Ok(()) => {
            tracing::trace!(jobs = batch.len(), "group commit");
            for (_, ack) in batch {
                let _ = ack.send(Ok(()));
            }
        }
        Err(failure) if batch.len() > 1 => {
            let (Failure::Write(error) | Failure::Commit(error)) = &failure;
            tracing::debug!(%error, jobs = batch.len(), "batch failed; redoing it job by job");
            commit_isolated(connection, batch).await;
        }
        Err(failure) => {
            let error = match failure {
                Failure::Write(error) => EngineError::Store(error),
                Failure::Commit(error) => {
                    tracing::error!(%error, "commit failed");
                    EngineError::CommitFailed(Arc::new(error))
                }
            };
            if let Some((_, ack)) = batch.pop() {
                let _ = ack.send(Err(error));
            }
        }
    }
}

/// Why the fast path failed: a statement (the jobs' fault) or the commit itself.
enum Failure {
    Write(sqlx::Error),
    Commit(sqlx::Error),
}

/// All jobs in one transaction without savepoints; any failure rolls back all.
async fn commit_plain(
    connection: &mut SqliteConnection,
    batch: &[(Vec<WriteOp>, Ack)],
) -> Result<(), Failure> {
    let mut transaction = connection.begin().await.map_err(Failure::Commit)?;
    let jobs: Vec<&[WriteOp]> = batch.iter().map(|(ops, _)| ops.as_slice()).collect();
    // Dropping the transaction on an error rolls it back.
    batch::write(&mut transaction, &jobs)
        .await
        .map_err(Failure::Write)?;
    transaction.commit().await.map_err(Failure::Commit)
}

/// Each job in its own savepoint of one transaction.
async fn commit_isolated(connection: &mut SqliteConnection, batch: Vec<(Vec<WriteOp>, Ack)>) {
    let size = batch.len();
    let mut transaction = match connection.begin().await {
        Ok(transaction) => transaction,
        Err(error) => return fail_all(batch, error),
    };
    let mut outcomes = Vec::with_capacity(size);
    for (ops, ack) in batch {
        let outcome = apply_job(&mut transaction, &ops).await;
        outcomes.push((ack, outcome));
    }
    match transaction.commit().await {
        Ok(()) => {
            tracing::trace!(jobs = size, "group commit");
            for (ack, outcome) in outcomes {
                let _ = ack.send(outcome.map_err(EngineError::Store));
            }
        }
        Err(error) => {
            tracing::error!(%error, jobs = size, "group commit failed");
            let error = Arc::new(error);
            for (ack, _) in outcomes {
                let _ = ack.send(Err(EngineError::CommitFailed(Arc::clone(&error))));
            }
        }
    }
}

/// One job inside its own savepoint, so its failure does not spoil the batch.
async fn apply_job(
    transaction: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    ops: &[WriteOp],
) -> Result<(), sqlx::Error> {
    let mut savepoint = transaction.begin().await?;
    batch::write(&mut savepoint, &[ops]).await?;
    savepoint.commit().await
}

fn fail_all(batch: Vec<(Vec<WriteOp>, Ack)>, error: sqlx::Error) {
    tracing::error!(%error, "cannot begin a transaction");
    let error = Arc::new(error);
    for (_, ack) in batch {
        let _ = ack.send(Err(EngineError::CommitFailed(Arc::clone(&error))));
    }
}

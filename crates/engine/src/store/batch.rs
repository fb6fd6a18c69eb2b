//! Writing a whole batch with few statements: the rows of every job, grouped by
//! table, go to SQLite as one JSON array per table.
//!
//! Why: each statement is a round trip to sqlx's SQLite worker thread (a channel
//! send, a thread wake-up and one back), and those wake-ups, not SQLite, were most
//! of a candle's cost. A candle writes three statements (the symbol row, the candle
//! row, the pruning of old candles); written one by one, a batch of 64 candles was
//! 192 round trips. Here the common writes (symbol rows, candle rows with their
//! pruning, events) of a run of jobs are collected as [`Rows`] and written by one
//! multi-statement query, `INSERT ... SELECT ... FROM jsonb_each(?)` per table: one
//! round trip for the run, whatever its size, and a fixed SQL text that sqlx
//! prepares once and caches.
//!
//! Order of work is kept where it matters. Any other op (order rows, trades, a reset)
//! first writes the rows collected so far and then runs alone, in place. Inside a
//! run, grouping only reorders writes to different tables, except that a candle's
//! pruning runs after the run's inserts: that is the same as running them in order,
//! because a symbol's seqs only grow and every prune bound is below every newer seq.
//! Symbol rows are written whole, so only each symbol's last row of the run is
//! written. Should grouping ever make a batch fail where writing it in order would
//! not, the writer's fallback (one job at a time, each in a savepoint) still writes
//! it correctly.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::sqlite::SqliteConnection;

use super::ops::{CandleRow, SymbolRow, WriteOp};
use super::rows::{now_text, time_text};

/// Writes `jobs`' ops in order, grouping the common ones (see the module docs).
pub(super) async fn write(
    db: &mut SqliteConnection,
    jobs: &[&[WriteOp]],
) -> Result<(), sqlx::Error> {
    let mut rows = Rows::default();
    for &ops in jobs {
        for op in ops {
            if !rows.take(op) {
                rows.flush(db).await?;
                op.apply(db).await?;
            }
        }
    }
    rows.flush(db).await
}

/// Writes one op of a grouped kind on its own (the same statements, one row).
pub(super) async fn write_one(db: &mut SqliteConnection, op: &WriteOp) -> Result<(), sqlx::Error> {
    let mut rows = Rows::default();
    let taken = rows.take(op);
    debug_assert!(taken, "write_one is only called with a grouped kind");
    rows.flush(db).await
}

/// One statement per table, each reading its rows from a JSON array bound to its
/// one `?`; JSON keys are the field names of `SymbolJson`, `CandleJson`, ... below.
/// (Each statement has exactly one plain `?`, bound in order: sqlx numbers the
/// plain parameters of a multi-statement query across its statements, and
/// mixing in `?NNN` would shift them.)
const WRITE_ROWS: &str = "
INSERT INTO symbols (symbol, lookback, profit_target_micros, stop_loss_micros, relevel,
    quantity, support_micros, resistance_micros, history_from, next_seq, updated_at)
SELECT value->>'symbol', value->>'lookback', value->>'profit_target', value->>'stop_loss',
    value->>'relevel', value->>'quantity', value->>'support', value->>'resistance',
    value->>'history_from', value->>'next_seq', value->>'updated_at'
FROM jsonb_each(?) WHERE true
ON CONFLICT (symbol) DO UPDATE SET lookback = excluded.lookback,
    profit_target_micros = excluded.profit_target_micros,
    stop_loss_micros = excluded.stop_loss_micros, relevel = excluded.relevel,
    quantity = excluded.quantity, support_micros = excluded.support_micros,
    resistance_micros = excluded.resistance_micros, history_from = excluded.history_from,
    next_seq = excluded.next_seq, updated_at = excluded.updated_at;
INSERT INTO candles (symbol, seq, time, open_micros, high_micros, low_micros, close_micros,
    volume)
SELECT value->>'symbol', value->>'seq', value->>'time', value->>'open', value->>'high',
    value->>'low', value->>'close', value->>'volume'
FROM jsonb_each(?);
DELETE FROM candles WHERE (symbol, seq) IN (
    SELECT c.symbol, c.seq FROM jsonb_each(?) AS p CROSS JOIN candles AS c
    ON c.symbol = p.value->>'symbol' AND c.seq < p.value->>'keep_from');
INSERT INTO events (time, symbol, kind, detail)
SELECT value->>'time', value->>'symbol', value->>'kind', value->>'detail'
FROM jsonb_each(?);
";

/// The common writes of a run of jobs, in arrival order, not yet written.
#[derive(Default)]
struct Rows {
    symbols: Vec<SymbolJson>,
    candles: Vec<CandleJson>,
    prunes: Vec<PruneJson>,
    events: Vec<EventJson>,
}

#[derive(Serialize)]
struct SymbolJson {
    symbol: String,
    lookback: i64,
    profit_target: i64,
    stop_loss: i64,
    relevel: String,
    quantity: i64,
    support: Option<i64>,
    resistance: Option<i64>,
    history_from: i64,
    next_seq: i64,
    updated_at: String,
}

#[derive(Serialize)]
struct CandleJson {
    symbol: String,
    seq: i64,
    time: Option<String>,
    open: Option<i64>,
    high: i64,
    low: i64,
    close: i64,
    volume: Option<i64>,
}

#[derive(Serialize)]
struct PruneJson {
    symbol: String,
    keep_from: i64,
}

#[derive(Serialize)]
struct EventJson {
    time: String,
    symbol: Option<String>,
    kind: &'static str,
    detail: String,
}

impl Rows {
    /// Collects `op` if it is one of the grouped kinds; false leaves it to the caller.
    fn take(&mut self, op: &WriteOp) -> bool {
        match op {
            WriteOp::Symbol(row) => self.symbols.push(SymbolJson::from(row)),
            WriteOp::Candle(row) => {
                self.candles.push(CandleJson::from(row));
                self.prunes.push(PruneJson {
                    symbol: row.symbol.as_str().to_owned(),
                    keep_from: row.keep_from,
                });
            }
            WriteOp::Event {
                symbol,
                kind,
                detail,
            } => self.events.push(EventJson {
                time: now_text(),
                symbol: symbol.as_ref().map(|s| s.as_str().to_owned()),
                kind,
                detail: detail.to_string(),
            }),
            _ => return false,
        }
        true
    }

    /// Writes what was collected (one round trip) and starts over.
    async fn flush(&mut self, db: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if self.symbols.is_empty() && self.candles.is_empty() && self.events.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(self);
        sqlx::query(WRITE_ROWS)
            .bind(json(&last_per_symbol(rows.symbols))?)
            .bind(json(&rows.candles)?)
            .bind(json(&rows.prunes)?)
            .bind(json(&rows.events)?)
            .execute(&mut *db)
            .await
            .map(drop)
    }
}

/// Each symbol's last row, in the order of those last rows.
fn last_per_symbol(rows: Vec<SymbolJson>) -> Vec<SymbolJson> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut last: Vec<SymbolJson> = rows
        .into_iter()
        .rev()
        .filter(|row| seen.insert(row.symbol.clone()))
        .collect();
    last.reverse();
    last
}

fn json<T: Serialize>(rows: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

impl From<&SymbolRow> for SymbolJson {
    fn from(row: &SymbolRow) -> SymbolJson {
        let params = &row.params;
        SymbolJson {
            symbol: row.symbol.as_str().to_owned(),
            lookback: i64::try_from(params.lookback()).unwrap_or(i64::MAX),
            profit_target: params.profit_target().micros(),
            stop_loss: params.stop_loss().micros(),
            relevel: params.relevel().to_string(),
            quantity: i64::from(params.quantity().get()),
            support: row.levels.support.map(|p| p.micros()),
            resistance: row.levels.resistance.map(|p| p.micros()),
            history_from: row.history_from,
            next_seq: row.next_seq,
            updated_at: now_text(),
        }
    }
}

impl From<&CandleRow> for CandleJson {
    fn from(row: &CandleRow) -> CandleJson {
        CandleJson {
            symbol: row.symbol.as_str().to_owned(),
            seq: row.seq,
            time: time_text(row.time),
            open: row.open.map(|p| p.micros()),
            high: row.candle.high.micros(),
            low: row.candle.low.micros(),
            close: row.candle.close.micros(),
            volume: row.volume,
        }
    }
}

#[cfg(test)]
mod tests {
    use kitebreak_price::Price;
    use kitebreak_strategy::{Candle, Levels, StrategyParams};
    use sqlx::Row;

    use super::super::Store;
    use super::*;
    use crate::Symbol;

    fn symbol_row(symbol: &Symbol, next_seq: i64, support: Option<i64>) -> WriteOp {
        WriteOp::Symbol(SymbolRow {
            symbol: symbol.clone(),
            params: StrategyParams::default(),
            levels: Levels {
                support: support.map(|m| Price::from_micros(m).expect("price")),
                resistance: None,
            },
            history_from: 0,
            next_seq,
        })
    }

    fn candle_row(symbol: &Symbol, seq: i64, keep_from: i64) -> WriteOp {
        let price = Price::from_micros(1_000_000 + seq).expect("price");
        WriteOp::Candle(CandleRow {
            symbol: symbol.clone(),
            seq,
            time: Some(jiff::Timestamp::from_second(1_700_000_000 + seq * 60).expect("time")),
            open: None,
            candle: Candle {
                high: price,
                low: price,
                close: price,
            },
            volume: Some(seq),
            keep_from,
        })
    }

    fn event(n: i64) -> WriteOp {
        WriteOp::Event {
            symbol: None,
            kind: "test",
            detail: serde_json::json!({ "n": n }),
        }
    }

    /// What the database holds, as text, for comparing two ways of writing.
    async fn contents(store: &Store) -> Vec<String> {
        let queries = [
            "SELECT symbol || ' ' || next_seq || ' ' || IFNULL(support_micros, '-') FROM symbols ORDER BY symbol",
            "SELECT symbol || ' ' || seq || ' ' || time || ' ' || close_micros || ' ' || volume FROM candles ORDER BY symbol, seq",
            "SELECT kind || ' ' || detail FROM events ORDER BY id",
            "SELECT tag || ' ' || symbol FROM orders ORDER BY seq",
        ];
        let mut all = Vec::new();
        for query in queries {
            for row in sqlx::query(query)
                .fetch_all(store.pool())
                .await
                .expect("read")
            {
                all.push(row.get::<String, _>(0));
            }
        }
        all
    }

    /// The jobs of two symbols: candles with pruning, symbol rows that change, events,
    /// and an order intent in the middle (an op that is not grouped).
    fn jobs() -> Vec<Vec<WriteOp>> {
        let (a, b) = (
            Symbol::parse("AAA").expect("a"),
            Symbol::parse("BBB").expect("b"),
        );
        let mut jobs = Vec::new();
        for seq in 0..8 {
            let keep_from = seq - 2;
            let mut job = vec![
                symbol_row(&a, seq + 1, (seq % 3 == 1).then_some((seq + 1) * 1_000_000)),
                candle_row(&a, seq, keep_from),
                event(seq),
            ];
            if seq == 4 {
                job.push(WriteOp::OrderIntent(crate::store::OrderRow {
                    tag: "KB000001".into(),
                    seq: 1,
                    symbol: a.clone(),
                    purpose: "entry",
                    side: crate::broker::Side::Buy,
                    quantity: kitebreak_price::Quantity::new(1).expect("quantity"),
                    signal_price: None,
                }));
            }
            jobs.push(job);
            jobs.push(vec![
                symbol_row(&b, seq + 1, None),
                candle_row(&b, seq, seq - 3),
            ]);
        }
        jobs
    }

    #[tokio::test(flavor = "current_thread")]
    async fn grouped_writes_leave_what_writes_in_order_leave() {
        let dir = tempfile::tempdir().expect("temp dir");
        let grouped = Store::open(&dir.path().join("grouped"))
            .await
            .expect("open");
        let in_order = Store::open(&dir.path().join("in_order"))
            .await
            .expect("open");

        // All jobs queued before the writer runs: one batch, grouped.
        let mut writers = tokio::task::JoinSet::new();
        for job in jobs() {
            let store = grouped.clone();
            writers.spawn(async move { store.commit(job).await });
        }
        while let Some(done) = writers.join_next().await {
            done.expect("task").expect("committed");
        }
        assert!(
            grouped.commit_stats().transactions < 3,
            "{:?}",
            grouped.commit_stats()
        );
        // One op per commit: nothing to group.
        for op in jobs().into_iter().flatten() {
            in_order.commit(vec![op]).await.expect("committed");
        }

        let expected = contents(&in_order).await;
        assert_eq!(contents(&grouped).await, expected);
        // And it is what the jobs meant: each symbol's last row, pruned candles.
        assert!(
            expected.contains(&"AAA 8 8000000".to_owned()),
            "{expected:?}"
        );
        assert_eq!(
            expected.iter().filter(|r| r.starts_with("AAA ")).count(),
            1 + 3
        );
        assert_eq!(
            expected.iter().filter(|r| r.starts_with("BBB ")).count(),
            1 + 4
        );
        grouped.close().await;
        in_order.close().await;
    }
}

//! The paper book's own SQLite file: every order the paper broker received and its
//! fill, so a restart (or a crash) forgets nothing the paper "exchange" did.
//!
//! A file of its own, not tables in the engine's database: the engine's database is
//! kitebreak's memory and the paper book is the broker's, and recovery must be able
//! to find a fill that the engine's database never recorded (a crash between the
//! paper fill and the engine's commit). Same settings as the engine's store: WAL,
//! `synchronous=FULL` (a fill survives power loss), migrations embedded from
//! `migrations-paper/`. One row per order, written in one transaction before
//! `place_market` returns; nothing is written on the candle path (observed prices
//! stay in memory: the engine gives the last stored close again at start).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt;
use jiff::Timestamp;
use kitebreak_price::{Price, Quantity};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, migrate::Migrator};

use crate::broker::{MarketOrder, OrderReport, OrderStatus, Side};
use crate::{EngineError, Symbol};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations-paper");

/// One order of the book and when it was placed (a paper fill's time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PaperOrder {
    pub report: OrderReport,
    pub placed_at: Timestamp,
}

/// The open paper book file.
#[derive(Debug)]
pub(super) struct BookFile {
    pool: SqlitePool,
    path: PathBuf,
}

impl BookFile {
    /// Opens (creating it and its folder if needed) the book at `path`, applies the
    /// embedded migrations and reads every order, oldest first. Any failure names
    /// the file: a corrupt file, or one that is not a paper book, is refused.
    pub async fn open(path: &Path) -> Result<(BookFile, Vec<PaperOrder>), EngineError> {
        let named = |source: EngineError| EngineError::PaperBook {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let pool = connect(path).await.map_err(named)?;
        let orders = load(&pool).await.map_err(named)?;
        let file = BookFile {
            pool,
            path: path.to_path_buf(),
        };
        Ok((file, orders))
    }

    /// Writes one order with its outcome; returns once it is committed.
    pub async fn insert(&self, order: &PaperOrder) -> Result<(), EngineError> {
        let report = &order.report;
        let (status, average, filled, reason) = match &report.status {
            OrderStatus::Complete {
                average_price,
                filled_quantity,
                ..
            } => (
                "COMPLETE",
                Some(average_price.micros()),
                Some(i64::from(filled_quantity.get())),
                None,
            ),
            OrderStatus::Rejected { reason } => ("REJECTED", None, None, Some(reason.as_str())),
        };
        sqlx::query(
            "INSERT INTO paper_orders (order_id, tag, symbol, side, quantity, status, \
             average_micros, filled_quantity, reason, placed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&report.order_id)
        .bind(&report.order.tag)
        .bind(report.order.symbol.as_str())
        .bind(report.order.side.as_str())
        .bind(i64::from(report.order.quantity.get()))
        .bind(status)
        .bind(average)
        .bind(filled)
        .bind(reason)
        .bind(order.placed_at.to_string())
        .execute(&self.pool)
        .await
        .map_err(|source| EngineError::PaperBook {
            path: self.path.clone(),
            source: Box::new(EngineError::Store(source)),
        })?;
        Ok(())
    }

    /// Where the book is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

async fn connect(path: &Path) -> Result<SqlitePool, EngineError> {
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
        // Orders are appended and the book is read once, at open: a small page
        // cache (SQLite's default is 2 MiB) serves that as well.
        .pragma("cache_size", "-256");
    // One connection: orders are written one at a time anyway (the broker holds its
    // placement lock across the write), and reads happen only here, at open.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await.map_err(EngineError::Migrate)?;
    Ok(pool)
}

/// Every order, oldest first, converted row by row: the book grows with every
/// order, and holding all its raw rows besides the orders would double the
/// memory start-up needs.
async fn load(pool: &SqlitePool) -> Result<Vec<PaperOrder>, EngineError> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM paper_orders")
        .fetch_one(pool)
        .await?;
    let mut orders = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut rows = sqlx::query(
        "SELECT order_id, tag, symbol, side, quantity, status, average_micros, \
         filled_quantity, reason, placed_at FROM paper_orders ORDER BY seq",
    )
    .fetch(pool);
    while let Some(row) = rows.try_next().await? {
        orders.push(order_from(&row)?);
    }
    Ok(orders)
}

fn corrupt(what: &str, tag: &str, detail: impl std::fmt::Display) -> EngineError {
    EngineError::Corrupt(format!("paper order {tag}: {what}: {detail}"))
}

fn order_from(row: &SqliteRow) -> Result<PaperOrder, EngineError> {
    let tag: String = row.try_get("tag")?;
    let symbol: String = row.try_get("symbol")?;
    let symbol = Symbol::parse(&symbol).map_err(|e| corrupt("symbol", &tag, e))?;
    let side = match row.try_get::<String, _>("side")?.as_str() {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => return Err(corrupt("side", &tag, other)),
    };
    let quantity = quantity_of(row.try_get("quantity")?, &tag)?;
    let placed_at: String = row.try_get("placed_at")?;
    let placed_at: Timestamp = placed_at
        .parse()
        .map_err(|e| corrupt("placed_at", &tag, e))?;
    let status = match row.try_get::<String, _>("status")?.as_str() {
        "COMPLETE" => {
            let micros: Option<i64> = row.try_get("average_micros")?;
            let filled: Option<i64> = row.try_get("filled_quantity")?;
            let (Some(micros), Some(filled)) = (micros, filled) else {
                return Err(corrupt("fill", &tag, "COMPLETE without its fill"));
            };
            OrderStatus::Complete {
                average_price: Price::from_micros(micros)
                    .map_err(|e| corrupt("average_micros", &tag, e))?,
                filled_quantity: quantity_of(filled, &tag)?,
                time: placed_at,
            }
        }
        "REJECTED" => OrderStatus::Rejected {
            reason: row
                .try_get::<Option<String>, _>("reason")?
                .unwrap_or_default(),
        },
        other => return Err(corrupt("status", &tag, other)),
    };
    Ok(PaperOrder {
        report: OrderReport {
            order_id: row.try_get("order_id")?,
            order: MarketOrder {
                tag,
                symbol,
                side,
                quantity,
            },
            status,
        },
        placed_at,
    })
}

fn quantity_of(units: i64, tag: &str) -> Result<Quantity, EngineError> {
    let units = u32::try_from(units).map_err(|e| corrupt("quantity", tag, e))?;
    Quantity::new(units).map_err(|e| corrupt("quantity", tag, e))
}

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

/// The columns of an order, for [`order_from`] (a macro, so queries stay literal).
macro_rules! select_orders {
    () => {
        "SELECT order_id, tag, symbol, side, quantity, status, average_micros, \
         filled_quantity, reason, placed_at FROM paper_orders"
    };
}

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
    /// embedded migrations and hands every order to `each`, oldest first, one row at
    /// a time (the book grows with every order: none is held here). Any failure
    /// names the file: a corrupt file, or one that is not a paper book, is refused.
    pub async fn open(path: &Path, each: impl FnMut(PaperOrder)) -> Result<BookFile, EngineError> {
        let named = |source: EngineError| EngineError::PaperBook {
            path: path.to_path_buf(),
            source: Box::new(source),
        };
        let pool = connect(path).await.map_err(named)?;
        load(&pool, each).await.map_err(named)?;
        Ok(BookFile {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The order tagged `tag`, if the book has one.
    pub async fn by_tag(&self, tag: &str) -> Result<Option<PaperOrder>, EngineError> {
        let row = sqlx::query(concat!(select_orders!(), " WHERE tag = ?"))
            .bind(tag)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.failed(EngineError::Store(e)))?;
        row.as_ref()
            .map(order_from)
            .transpose()
            .map_err(|e| self.failed(e))
    }

    /// Every order, oldest first.
    pub async fn orders(&self) -> Result<Vec<PaperOrder>, EngineError> {
        let mut orders = Vec::new();
        load(&self.pool, |order| orders.push(order))
            .await
            .map_err(|e| self.failed(e))?;
        Ok(orders)
    }

    /// Every order's tag, oldest first.
    pub async fn tags(&self) -> Result<Vec<String>, EngineError> {
        sqlx::query_scalar("SELECT tag FROM paper_orders ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.failed(EngineError::Store(e)))
    }

    fn failed(&self, source: EngineError) -> EngineError {
        EngineError::PaperBook {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    /// Writes one order with its outcome; returns once it is committed. `false`: the
    /// book already holds an order with its tag (or id), and nothing was written.
    pub async fn insert(&self, order: &PaperOrder) -> Result<bool, EngineError> {
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
        let written = sqlx::query(
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
        .await;
        match written {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_database_error()
                    .is_some_and(|e| e.is_unique_violation()) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.failed(EngineError::Store(error))),
        }
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
        // Orders are appended, and read at open and when an older order is asked
        // for: a small page cache (SQLite's default is 2 MiB) serves that as well.
        .pragma("cache_size", "-256");
    // Two connections: orders are written one at a time anyway (the broker holds
    // its placement lock across the write), and a long read (`GET /orders` of a
    // big book) must not hold a placement back (WAL: readers never block it).
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await.map_err(EngineError::Migrate)?;
    Ok(pool)
}

/// Every order, oldest first, converted row by row and handed to `each`: the book
/// grows with every order, and holding its raw rows would cost memory for nothing.
async fn load(pool: &SqlitePool, mut each: impl FnMut(PaperOrder)) -> Result<(), EngineError> {
    let mut rows = sqlx::query(concat!(select_orders!(), " ORDER BY seq")).fetch(pool);
    while let Some(row) = rows.try_next().await? {
        each(order_from(&row)?);
    }
    Ok(())
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

//! [`WriteOp`]: one change to durable state, and how it is written.
//!
//! Shards describe what changed as a list of ops; the writer applies a list
//! atomically. Ops are plain data so a shard never holds a connection.

use jiff::Timestamp;
use kitebreak_price::{Price, Quantity};
use kitebreak_strategy::{Candle, ClosedTrade, Levels, StrategyParams, Trade};
use sqlx::sqlite::SqliteConnection;

use super::rows::{direction_text, now_text, reason_text, time_text};
use crate::Symbol;
use crate::broker::Side;

/// A symbol's parameters, levels and history bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SymbolRow {
    pub symbol: Symbol,
    pub params: StrategyParams,
    pub levels: Levels,
    pub history_from: i64,
    pub next_seq: i64,
}

/// One candle as received.
#[derive(Debug, Clone)]
pub(crate) struct CandleRow {
    pub symbol: Symbol,
    pub seq: i64,
    pub time: Option<Timestamp>,
    pub open: Option<Price>,
    pub candle: Candle,
    pub volume: Option<i64>,
    /// Candles with a lower seq are pruned (only the newest are needed to restore).
    pub keep_from: i64,
}

/// An order intent, written before the order is sent.
#[derive(Debug, Clone)]
pub(crate) struct OrderRow {
    pub tag: String,
    pub seq: i64,
    pub symbol: Symbol,
    pub purpose: &'static str,
    pub side: Side,
    pub quantity: Quantity,
    pub signal_price: Option<Price>,
}

/// An order's final (or lost) state.
#[derive(Debug, Clone)]
pub(crate) struct OrderFinal {
    pub tag: String,
    pub status: &'static str,
    pub broker_order_id: Option<String>,
    pub average_price: Option<Price>,
    pub filled_quantity: Option<Quantity>,
    pub reason: Option<String>,
}

/// One change to durable state.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
    Symbol(SymbolRow),
    Candle(CandleRow),
    ClearCandles(Symbol),
    OrderIntent(OrderRow),
    /// An open trade's next exit, prepared but not sent (`ARMED`; see `journal`).
    OrderArmed(OrderRow),
    /// An armed exit going out: its row becomes PENDING, with the signal's price.
    ArmedSent {
        tag: String,
        signal_price: Option<Price>,
    },
    /// An armed exit that will never be sent (`UNUSED`).
    ArmedUnused(String),
    OrderFinal(OrderFinal),
    OpenTrade(Symbol, Trade),
    DeleteOpenTrade(Symbol),
    CloseTrade(Symbol, ClosedTrade),
    Event {
        symbol: Option<Symbol>,
        kind: &'static str,
        detail: serde_json::Value,
    },
}

fn micros(price: Option<Price>) -> Option<i64> {
    price.map(Price::micros)
}

impl WriteOp {
    /// Writes this op alone. The writer groups symbol rows, candles and events of
    /// many jobs instead (`batch`); those kinds go through the same statements here.
    pub(super) async fn apply(&self, db: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        match self {
            WriteOp::Symbol(_) | WriteOp::Candle(_) | WriteOp::Event { .. } => {
                super::batch::write_one(db, self).await
            }
            WriteOp::ClearCandles(symbol) => sqlx::query("DELETE FROM candles WHERE symbol = ?")
                .bind(symbol.as_str())
                .execute(&mut *db)
                .await
                .map(drop),
            WriteOp::OrderIntent(row) => write_intent(db, row, "PENDING").await,
            WriteOp::OrderArmed(row) => write_intent(db, row, "ARMED").await,
            WriteOp::ArmedSent { tag, signal_price } => {
                // An armed row a close already marked UNUSED included: the tag went
                // out, so a restart must look it up. A row already past PENDING
                // (recovery replaying the journal) is left alone.
                sqlx::query(
                    "UPDATE orders SET status = 'PENDING',
                         signal_micros = COALESCE(?, signal_micros), updated_at = ?
                     WHERE tag = ? AND status IN ('ARMED', 'UNUSED')",
                )
                .bind(micros(*signal_price))
                .bind(now_text())
                .bind(tag)
                .execute(&mut *db)
                .await
                .map(drop)
            }
            WriteOp::ArmedUnused(tag) => sqlx::query(
                "UPDATE orders SET status = 'UNUSED', updated_at = ? WHERE tag = ? AND status = 'ARMED'",
            )
            .bind(now_text())
            .bind(tag)
            .execute(&mut *db)
            .await
            .map(drop),
            WriteOp::OrderFinal(row) => write_final(db, row).await,
            WriteOp::OpenTrade(symbol, trade) => write_open_trade(db, symbol, trade).await,
            WriteOp::DeleteOpenTrade(symbol) => {
                delete_open_trade(db, symbol).await?;
                disarm(db, symbol).await
            }
            WriteOp::CloseTrade(symbol, closed) => {
                delete_open_trade(db, symbol).await?;
                disarm(db, symbol).await?;
                write_closed_trade(db, symbol, closed).await
            }
        }
    }
}

/// Marks the armed exits of `symbol` UNUSED: its trade is gone (closed, or dropped
/// by a forced reset). A trade re-opened after (a partial exit's rest) is armed anew
/// by a later op of the same job.
async fn disarm(db: &mut SqliteConnection, symbol: &Symbol) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET status = 'UNUSED', updated_at = ? WHERE symbol = ? AND status = 'ARMED'",
    )
    .bind(now_text())
    .bind(symbol.as_str())
    .execute(&mut *db)
    .await
    .map(drop)
}

async fn write_intent(
    db: &mut SqliteConnection,
    row: &OrderRow,
    status: &str,
) -> Result<(), sqlx::Error> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO orders (tag, seq, symbol, purpose, side, quantity, signal_micros, status,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.tag)
    .bind(row.seq)
    .bind(row.symbol.as_str())
    .bind(row.purpose)
    .bind(row.side.as_str())
    .bind(i64::from(row.quantity.get()))
    .bind(micros(row.signal_price))
    .bind(status)
    .bind(&now)
    .bind(&now)
    .execute(&mut *db)
    .await
    .map(drop)
}

async fn write_final(db: &mut SqliteConnection, row: &OrderFinal) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders SET status = ?, broker_order_id = ?, average_micros = ?,
             filled_quantity = ?, reason = ?, updated_at = ? WHERE tag = ?",
    )
    .bind(row.status)
    .bind(row.broker_order_id.clone())
    .bind(micros(row.average_price))
    .bind(row.filled_quantity.map(|q| i64::from(q.get())))
    .bind(row.reason.clone())
    .bind(now_text())
    .bind(&row.tag)
    .execute(&mut *db)
    .await
    .map(drop)
}

async fn write_open_trade(
    db: &mut SqliteConnection,
    symbol: &Symbol,
    trade: &Trade,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO open_trades (symbol, direction, entry_micros, target_micros,
             stop_micros, quantity, entry_time, entry_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(symbol.as_str())
    .bind(direction_text(trade.direction))
    .bind(trade.price_entry.micros())
    .bind(trade.price_target.micros())
    .bind(trade.price_stop.micros())
    .bind(i64::from(trade.quantity.get()))
    .bind(time_text(trade.entry_time))
    .bind(trade.entry_order_id.clone())
    .execute(&mut *db)
    .await
    .map(drop)
}

async fn delete_open_trade(db: &mut SqliteConnection, symbol: &Symbol) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM open_trades WHERE symbol = ?")
        .bind(symbol.as_str())
        .execute(&mut *db)
        .await
        .map(drop)
}

async fn write_closed_trade(
    db: &mut SqliteConnection,
    symbol: &Symbol,
    closed: &ClosedTrade,
) -> Result<(), sqlx::Error> {
    let trade = &closed.trade;
    sqlx::query(
        "INSERT INTO closed_trades (symbol, direction, entry_micros, exit_micros, target_micros,
             stop_micros, quantity, entry_time, exit_time, exit_reason, pnl, pnl_percent,
             entry_order_id, exit_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(symbol.as_str())
    .bind(direction_text(trade.direction))
    .bind(trade.price_entry.micros())
    .bind(closed.price_exit.micros())
    .bind(trade.price_target.micros())
    .bind(trade.price_stop.micros())
    .bind(i64::from(trade.quantity.get()))
    .bind(time_text(trade.entry_time))
    .bind(time_text(closed.exit_time))
    .bind(reason_text(closed.exit_reason))
    .bind(closed.pnl.to_string())
    .bind(closed.pnl_percent.to_string())
    .bind(trade.entry_order_id.clone())
    .bind(closed.exit_order_id.clone())
    .execute(&mut *db)
    .await
    .map(drop)
}

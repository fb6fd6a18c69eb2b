//! Reads: rebuilding state at start-up, and the closed-trade history.

use jiff::Timestamp;
use kitebreak_strategy::{
    Candle, ClosedTrade, ExitReason, Fill, Levels, Relevel, StrategyParams, Trade,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::rows::{
    corrupt, direction_from, price_from, price_opt, quantity_from, ratio_from, time_opt,
};
use super::{Store, SymbolRow};
use crate::{EngineError, Symbol};

/// A symbol as stored: its row, its candles since `history_from` (oldest first, with
/// their times), and its open trade.
#[derive(Debug, Clone)]
pub(crate) struct StoredSymbol {
    pub row: SymbolRow,
    pub candles: Vec<(Option<Timestamp>, Candle)>,
    /// Times of every stored candle that has one, with its seq (for repeated alerts).
    pub recent_times: std::collections::VecDeque<(i64, Timestamp)>,
    pub trade: Option<Trade>,
}

/// Which closed trades to list.
#[derive(Debug, Clone, Default)]
pub struct TradeFilter {
    /// Only this symbol.
    pub symbol: Option<Symbol>,
    /// Only trades that exited at or after this time.
    pub exit_from: Option<Timestamp>,
    /// Only trades that exited before this time.
    pub exit_before: Option<Timestamp>,
}

/// A closed trade as stored, newest first in listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedTradeRecord {
    /// Row id: increases with every closed trade.
    pub id: i64,
    /// The instrument.
    pub symbol: Symbol,
    /// The trade and its result (P&L recomputed exactly from the stored prices).
    pub closed: ClosedTrade,
}

impl Store {
    /// Every symbol with its candles and open trade.
    pub(crate) async fn load_symbols(&self) -> Result<Vec<StoredSymbol>, EngineError> {
        let rows = sqlx::query("SELECT * FROM symbols ORDER BY symbol")
            .fetch_all(self.pool())
            .await?;
        let mut symbols = Vec::with_capacity(rows.len());
        for row in rows {
            let row = symbol_row(&row)?;
            let candles = self.load_candles(&row).await?;
            let recent_times = self.load_times(&row.symbol).await?;
            let trade = self.load_trade(&row.symbol).await?;
            symbols.push(StoredSymbol {
                row,
                candles,
                recent_times,
                trade,
            });
        }
        Ok(symbols)
    }

    async fn load_candles(
        &self,
        row: &SymbolRow,
    ) -> Result<Vec<(Option<Timestamp>, Candle)>, EngineError> {
        let keep = i64::try_from(
            row.params
                .window()
                .max(kitebreak_strategy::Strategy::HISTORY_CAP),
        )
        .unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT time, high_micros, low_micros, close_micros FROM candles
             WHERE symbol = ? AND seq >= ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(row.symbol.as_str())
        .bind(row.history_from)
        .bind(keep)
        .fetch_all(self.pool())
        .await?;
        let mut candles = rows
            .iter()
            .map(|r| {
                let candle = Candle {
                    high: price_from(r.try_get("high_micros")?, "high_micros")?,
                    low: price_from(r.try_get("low_micros")?, "low_micros")?,
                    close: price_from(r.try_get("close_micros")?, "close_micros")?,
                };
                Ok((time_opt(r.try_get("time")?, "time")?, candle))
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        candles.reverse();
        Ok(candles)
    }

    async fn load_times(
        &self,
        symbol: &Symbol,
    ) -> Result<std::collections::VecDeque<(i64, Timestamp)>, EngineError> {
        let rows = sqlx::query(
            "SELECT seq, time FROM candles WHERE symbol = ? AND time IS NOT NULL ORDER BY seq",
        )
        .bind(symbol.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let time =
                    time_opt(r.try_get("time")?, "time")?.ok_or_else(|| corrupt("time", "null"))?;
                Ok((r.try_get("seq")?, time))
            })
            .collect()
    }

    async fn load_trade(&self, symbol: &Symbol) -> Result<Option<Trade>, EngineError> {
        let row = sqlx::query("SELECT * FROM open_trades WHERE symbol = ?")
            .bind(symbol.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| trade_from(&r)).transpose()
    }

    /// The highest order sequence number used so far (0 when none).
    pub(crate) async fn last_order_seq(&self) -> Result<i64, EngineError> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM orders")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("seq")?)
    }

    /// The kill switch's last recorded state (`kill_switch` events), if any.
    pub(crate) async fn last_kill_switch(&self) -> Result<Option<String>, EngineError> {
        let row = sqlx::query(
            "SELECT json_extract(detail, '$.state') AS state FROM events \
             WHERE kind = 'kill_switch' ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(row.try_get("state")?),
            None => Ok(None),
        }
    }

    /// Closed trades, newest first.
    pub async fn closed_trades(
        &self,
        filter: &TradeFilter,
    ) -> Result<Vec<ClosedTradeRecord>, EngineError> {
        let rows = match &filter.symbol {
            Some(symbol) => {
                sqlx::query("SELECT * FROM closed_trades WHERE symbol = ? ORDER BY id DESC")
                    .bind(symbol.as_str())
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM closed_trades ORDER BY id DESC")
                    .fetch_all(self.pool())
                    .await?
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = closed_from(row)?;
            let exit = record.closed.exit_time;
            let after_from = filter
                .exit_from
                .is_none_or(|from| exit.is_some_and(|t| t >= from));
            let before_end = filter
                .exit_before
                .is_none_or(|end| exit.is_some_and(|t| t < end));
            if after_from && before_end {
                records.push(record);
            }
        }
        Ok(records)
    }
}

fn symbol_row(row: &SqliteRow) -> Result<SymbolRow, EngineError> {
    let symbol: String = row.try_get("symbol")?;
    let symbol = Symbol::parse(&symbol).map_err(|e| corrupt("symbol", e))?;
    let lookback: i64 = row.try_get("lookback")?;
    let relevel: String = row.try_get("relevel")?;
    let params = StrategyParams::new(
        usize::try_from(lookback).map_err(|e| corrupt("lookback", e))?,
        ratio_from(row.try_get("profit_target_micros")?, "profit_target_micros")?,
        ratio_from(row.try_get("stop_loss_micros")?, "stop_loss_micros")?,
        relevel
            .parse::<Relevel>()
            .map_err(|e| corrupt("relevel", e))?,
        quantity_from(row.try_get("quantity")?, "quantity")?,
    )
    .map_err(|e| corrupt("strategy parameters", e))?;
    Ok(SymbolRow {
        symbol,
        params,
        levels: Levels {
            support: price_opt(row.try_get("support_micros")?, "support_micros")?,
            resistance: price_opt(row.try_get("resistance_micros")?, "resistance_micros")?,
        },
        history_from: row.try_get("history_from")?,
        next_seq: row.try_get("next_seq")?,
    })
}

fn trade_from(row: &SqliteRow) -> Result<Trade, EngineError> {
    let direction: String = row.try_get("direction")?;
    Ok(Trade {
        direction: direction_from(&direction)?,
        price_entry: price_from(row.try_get("entry_micros")?, "entry_micros")?,
        price_target: price_from(row.try_get("target_micros")?, "target_micros")?,
        price_stop: price_from(row.try_get("stop_micros")?, "stop_micros")?,
        quantity: quantity_from(row.try_get("quantity")?, "quantity")?,
        entry_time: time_opt(row.try_get("entry_time")?, "entry_time")?,
        entry_order_id: row.try_get("entry_order_id")?,
    })
}

fn closed_from(row: &SqliteRow) -> Result<ClosedTradeRecord, EngineError> {
    let trade = trade_from(row)?;
    let symbol: String = row.try_get("symbol")?;
    let reason: String = row.try_get("exit_reason")?;
    let reason = match reason.as_str() {
        "profit" => ExitReason::Profit,
        "loss" => ExitReason::Loss,
        "manual" => ExitReason::Manual,
        other => return Err(corrupt("exit_reason", other)),
    };
    let fill = Fill {
        price: price_from(row.try_get("exit_micros")?, "exit_micros")?,
        quantity: trade.quantity,
        time: time_opt(row.try_get("exit_time")?, "exit_time")?,
        order_id: row.try_get("exit_order_id")?,
    };
    Ok(ClosedTradeRecord {
        id: row.try_get("id")?,
        symbol: Symbol::parse(&symbol).map_err(|e| corrupt("symbol", e))?,
        closed: ClosedTrade::new(trade, fill, reason),
    })
}

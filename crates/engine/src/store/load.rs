//! Reads: rebuilding state at start-up, and the closed-trade history.

use std::collections::{HashMap, VecDeque};

use futures_util::TryStreamExt;
use jiff::Timestamp;
use kitebreak_price::Money;
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
    /// The row, with `next_seq` brought up to date with the candles (the stored one
    /// lags: rows are written only when they change, not with every candle).
    pub row: SymbolRow,
    pub candles: History,
    /// Times of every stored candle that has one, with its seq (for repeated alerts).
    pub recent_times: Times,
    pub trade: Option<Trade>,
}

/// Stored candles with their times, oldest first.
type History = Vec<(Option<Timestamp>, Candle)>;
/// Stored candle times with their seq, oldest first.
type Times = VecDeque<(i64, Timestamp)>;

/// Which closed trades to list.
#[derive(Debug, Clone, Default)]
pub struct TradeFilter {
    /// Only this symbol.
    pub symbol: Option<Symbol>,
    /// Only trades that exited at or after this time.
    pub exit_from: Option<Timestamp>,
    /// Only trades that exited before this time.
    pub exit_before: Option<Timestamp>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
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
    /// Every symbol with its candles and open trade, handed to `each` one at a time
    /// in symbol order.
    ///
    /// Start-up time grows with the number of symbols, so the reads are few: the open
    /// trades and the symbols in one read each, then the candles of
    /// [`SYMBOLS_PER_READ`] symbols at a time (a range of the candles' primary key),
    /// which serve both each history and its repeated-alert times. Only one read's
    /// rows are held at a time: with 10,000 symbols, holding every symbol's stored
    /// history before its book is built would double start-up's memory.
    pub(crate) async fn load_symbols(
        &self,
        mut each: impl FnMut(StoredSymbol) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let mut trades = self.load_trades().await?;
        // The driver's rows are dropped as soon as they are read: a shadowed binding
        // would keep all of them (every column of 10,000 rows) until the end.
        let rows = sqlx::query("SELECT * FROM symbols ORDER BY symbol")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| Ok((row.try_get::<String, _>("symbol")?, symbol_row(row)?)))
            .collect::<Result<Vec<_>, EngineError>>()?;
        for chunk in rows.chunks(SYMBOLS_PER_READ) {
            let (Some((first, _)), Some((last, _))) = (chunk.first(), chunk.last()) else {
                continue;
            };
            // One row per symbol, its candles packed in seq order: the driver's
            // cost is per row (a hand-over between SQLite's thread and this task),
            // and 50 rows per symbol made start-up mostly that.
            let packed = sqlx::query(
                "SELECT symbol, group_concat(seq || ' ' || COALESCE(time, '-') || ' ' ||
                     high_micros || ' ' || low_micros || ' ' || close_micros, ',' ORDER BY seq)
                     AS candles
                 FROM candles WHERE symbol >= ? AND symbol <= ?
                 GROUP BY symbol ORDER BY symbol",
            )
            .bind(first)
            .bind(last)
            .fetch_all(self.pool())
            .await?;
            // Both lists are sorted by the stored text: walk them together.
            let mut packed = packed.iter().peekable();
            for (stored, row) in chunk {
                let mut own = None;
                while let Some(&candles) = packed.peek() {
                    let of: &str = candles.try_get("symbol")?;
                    if of > stored.as_str() {
                        break;
                    }
                    if of == stored.as_str() {
                        own = Some(candles.try_get::<&str, _>("candles")?);
                    }
                    packed.next();
                }
                let (candles, recent_times, newest) = history_of(row, own.unwrap_or(""))?;
                let trade = trades.remove(&row.symbol);
                let mut current = row.clone();
                // The row is written only when it changes, not with every candle:
                // the next seq follows the newest stored candle.
                if let Some(newest) = newest {
                    current.next_seq = current.next_seq.max(newest + 1);
                }
                each(StoredSymbol {
                    row: current,
                    candles,
                    recent_times,
                    trade,
                })?;
            }
        }
        Ok(())
    }

    /// How many symbols are stored.
    pub(crate) async fn symbol_count(&self) -> Result<usize, EngineError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM symbols")
            .fetch_one(self.pool())
            .await?;
        usize::try_from(count).map_err(|e| corrupt("symbol count", e))
    }

    /// Every stored symbol at once (tests: start-up itself streams them).
    #[cfg(test)]
    pub(crate) async fn load_all_symbols(&self) -> Result<Vec<StoredSymbol>, EngineError> {
        let mut all = Vec::new();
        self.load_symbols(|stored| {
            all.push(stored);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    async fn load_trades(&self) -> Result<HashMap<Symbol, Trade>, EngineError> {
        let rows = sqlx::query("SELECT * FROM open_trades")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let symbol: String = r.try_get("symbol")?;
                let symbol = Symbol::parse(&symbol).map_err(|e| corrupt("symbol", e))?;
                Ok((symbol, trade_from(r)?))
            })
            .collect()
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
    ///
    /// The time filter is applied in SQL first (with a second's margin: the stored
    /// times are RFC 3339 text, whose order matches time's to the second), so a
    /// day's trades are read without the whole history; then exactly.
    pub async fn closed_trades(
        &self,
        filter: &TradeFilter,
    ) -> Result<Vec<ClosedTradeRecord>, EngineError> {
        let floor = sql_floor(filter.exit_from);
        // Without a time range every row the query finds is kept, so the limit can
        // go to SQLite and the rest of a long history is never read; with one, the
        // exact time check below comes first and the limit after it.
        let sql_limit = match (filter.limit, filter.exit_from, filter.exit_before) {
            (Some(limit), None, None) => i64::try_from(limit).unwrap_or(i64::MAX),
            _ => -1,
        };
        let rows = match &filter.symbol {
            Some(symbol) => {
                sqlx::query(
                    "SELECT * FROM closed_trades WHERE symbol = ?
                     AND (? IS NULL OR exit_time >= ?) ORDER BY id DESC LIMIT ?",
                )
                .bind(symbol.as_str())
                .bind(&floor)
                .bind(&floor)
                .bind(sql_limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT * FROM closed_trades WHERE (? IS NULL OR exit_time >= ?)
                     ORDER BY id DESC LIMIT ?",
                )
                .bind(&floor)
                .bind(&floor)
                .bind(sql_limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            if filter.limit.is_some_and(|limit| records.len() >= limit) {
                break;
            }
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

impl Store {
    /// How many trades have closed (at or after `exit_from`, when given), and their
    /// P&L in all, read row by row: the history grows without bound, so nothing but
    /// the running sum is held.
    pub async fn closed_totals(
        &self,
        exit_from: Option<Timestamp>,
    ) -> Result<(u64, Money), EngineError> {
        let floor = sql_floor(exit_from);
        let mut rows =
            sqlx::query("SELECT * FROM closed_trades WHERE (? IS NULL OR exit_time >= ?)")
                .bind(&floor)
                .bind(&floor)
                .fetch(self.pool());
        let mut count = 0;
        let mut total = Money::ZERO;
        while let Some(row) = rows.try_next().await? {
            let record = closed_from(&row)?;
            if exit_from.is_some_and(|from| record.closed.exit_time.is_none_or(|t| t < from)) {
                continue;
            }
            count += 1;
            total = total + record.closed.pnl;
        }
        Ok((count, total))
    }
}

/// The text bound for SQL's first cut at "exit at or after `from`": a second early,
/// since stored times are RFC 3339 text, whose order matches time's only to the
/// second ("10:00:00.25Z" sorts before "10:00:00Z"). The exact filter follows in Rust.
fn sql_floor(from: Option<Timestamp>) -> Option<String> {
    from.and_then(|from| from.checked_sub(jiff::SignedDuration::from_secs(1)).ok())
        .map(|from| from.to_string())
}

/// How many symbols' candles one start-up read fetches (about 50 rows each).
const SYMBOLS_PER_READ: usize = 200;

/// A symbol's history (its newest candles since `history_from`, oldest first), the
/// times of all its stored candles with their seq, and the newest seq, from its
/// candles packed by the start-up read: `seq time high low close` (micros; time
/// RFC 3339 or `-`), comma-separated in seq order.
fn history_of(row: &SymbolRow, packed: &str) -> Result<(History, Times, Option<i64>), EngineError> {
    let keep = row
        .params
        .window()
        .max(kitebreak_strategy::Strategy::HISTORY_CAP);
    let mut history = Vec::with_capacity(keep);
    let mut times = Times::with_capacity(keep);
    let mut newest = None;
    for entry in packed.split(',').filter(|e| !e.is_empty()) {
        let bad = |what: &str| corrupt("candles", format!("{}: {what} in {entry:?}", row.symbol));
        let mut fields = entry.split(' ');
        let mut field = |what: &str| fields.next().ok_or_else(|| bad(what));
        let int = |text: &str, what: &str| text.parse::<i64>().map_err(|_| bad(what));
        let seq = int(field("seq")?, "seq")?;
        let time = match field("time")? {
            "-" => None,
            text => Some(text.parse::<Timestamp>().map_err(|_| bad("time"))?),
        };
        let price = |micros: i64, what: &str| {
            kitebreak_price::Price::from_micros(micros).map_err(|e| bad(&format!("{what}: {e}")))
        };
        let high = int(field("high")?, "high")?;
        let low = int(field("low")?, "low")?;
        let close = int(field("close")?, "close")?;
        if let Some(time) = time {
            times.push_back((seq, time));
        }
        if seq >= row.history_from {
            history.push((
                time,
                Candle {
                    high: price(high, "high")?,
                    low: price(low, "low")?,
                    close: price(close, "close")?,
                },
            ));
        }
        newest = Some(seq);
    }
    let surplus = history.len().saturating_sub(keep);
    history.drain(..surplus);
    Ok((history, times, newest))
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

#[cfg(test)]
mod tests {
    use kitebreak_price::Price;
    use kitebreak_strategy::{Candle, Levels, StrategyParams};

    use super::super::{CandleRow, Store, SymbolRow, WriteOp};
    use crate::Symbol;

    /// Symbols spread over several start-up reads each get exactly their own candles,
    /// from `history_from` on, and the times of all their stored candles.
    #[tokio::test(flavor = "current_thread")]
    async fn every_symbol_gets_its_own_candles_across_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db")).await.expect("open");
        let count = super::SYMBOLS_PER_READ * 2 + 7;
        let mut writes = Vec::new();
        for n in 0..count {
            let symbol = Symbol::parse(&format!("S{n}")).expect("symbol");
            // S0 has no candles; S1 was reset after its first two candles.
            let candles = if n == 0 { 0 } else { 3 + (n % 4) as i64 };
            let history_from = if n == 1 { 2 } else { 0 };
            writes.push(WriteOp::Symbol(SymbolRow {
                symbol: symbol.clone(),
                params: StrategyParams::default(),
                levels: Levels::default(),
                history_from,
                // S3's row lags its candles (rows are written only when they change).
                next_seq: if n == 3 { 1 } else { candles },
            }));
            for seq in 0..candles {
                let micros = 1_000_000 * (n as i64 + 1) + seq;
                let price = |offset: i64| Price::from_micros(micros + offset).expect("price");
                // S2's second candle came without a time.
                let time = (n != 2 || seq != 1)
                    .then(|| jiff::Timestamp::from_second(seq * 60).expect("time"));
                writes.push(WriteOp::Candle(CandleRow {
                    symbol: symbol.clone(),
                    seq,
                    time,
                    open: None,
                    candle: Candle {
                        high: price(20),
                        low: price(-10),
                        close: price(0),
                    },
                    volume: None,
                    keep_from: 0,
                }));
            }
        }
        store.commit(writes).await.expect("commit");

        let loaded = store.load_all_symbols().await.expect("load");
        assert_eq!(loaded.len(), count);
        for stored in &loaded {
            let n: usize = stored.row.symbol.as_str()[1..].parse().expect("number");
            let candles = if n == 0 { 0 } else { 3 + n % 4 };
            let from = if n == 1 { 2 } else { 0 };
            let untimed = usize::from(n == 2);
            assert_eq!(stored.recent_times.len(), candles - untimed, "{n}");
            assert_eq!(stored.candles.len(), candles - from.min(candles), "{n}");
            for (i, (time, candle)) in stored.candles.iter().enumerate() {
                let seq = (from + i) as i64;
                let expected = 1_000_000 * (n as i64 + 1) + seq;
                let parts = (
                    candle.high.micros(),
                    candle.low.micros(),
                    candle.close.micros(),
                );
                assert_eq!(parts, (expected + 20, expected - 10, expected), "{n}");
                let timed = n != 2 || seq != 1;
                assert_eq!(
                    time.map(|t| t.as_second()),
                    timed.then_some(seq * 60),
                    "{n}"
                );
            }
            for (seq, time) in &stored.recent_times {
                assert_eq!(time.as_second(), seq * 60, "{n}");
            }
            assert_eq!(stored.row.next_seq, candles as i64, "{n}");
        }
        store.close().await;
    }

    /// A damaged packed candle is a clear error naming the symbol, never a panic.
    #[test]
    fn a_damaged_packed_candle_is_reported() {
        let row = SymbolRow {
            symbol: Symbol::parse("INFY").expect("symbol"),
            params: StrategyParams::default(),
            levels: Levels::default(),
            history_from: 0,
            next_seq: 0,
        };
        let good = "0 2026-12-01T10:00:00Z 3000000 1000000 2000000,1 - 3 1 2";
        let (history, times, newest) = super::history_of(&row, good).expect("good");
        assert_eq!((history.len(), times.len(), newest), (2, 1, Some(1)));
        for bad in [
            "0 - 3 1",
            "x - 3 1 2",
            "0 yesterday 3 1 2",
            "0 - 3 1 -5",
            "0 - 3.5 1 2",
        ] {
            let error = super::history_of(&row, bad).expect_err(bad).to_string();
            assert!(error.contains("INFY"), "{bad}: {error}");
        }
    }

    /// The day filter reads only what it needs in SQL, yet is exact to the
    /// nanosecond around its bound (RFC 3339 text orders like time only to the second).
    #[tokio::test(flavor = "current_thread")]
    async fn closed_trades_from_a_time_are_exact_around_the_bound_and_totals_add_up() {
        use kitebreak_strategy::{ClosedTrade, Direction, ExitReason, Fill, Trade};
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db")).await.expect("open");
        let price = |text: &str| text.parse::<Price>().expect("price");
        let exits = [
            "2026-12-01T09:59:59.5Z",
            "2026-12-01T10:00:00Z",
            "2026-12-01T10:00:00.25Z",
            "2026-12-01T10:00:01Z",
            "2026-11-30T12:00:00Z",
        ];
        let mut writes = Vec::new();
        for exit in exits {
            let trade = Trade {
                direction: Direction::Long,
                price_entry: price("100"),
                price_target: price("103"),
                price_stop: price("99"),
                quantity: kitebreak_price::Quantity::ONE,
                entry_time: None,
                entry_order_id: None,
            };
            let fill = Fill {
                price: price("101.5"),
                quantity: kitebreak_price::Quantity::ONE,
                time: Some(exit.parse().expect("time")),
                order_id: None,
            };
            let closed = ClosedTrade::new(trade, fill, ExitReason::Manual);
            writes.push(WriteOp::CloseTrade(
                Symbol::parse("INFY").expect("symbol"),
                closed,
            ));
        }
        store.commit(writes).await.expect("commit");
        let filter = super::TradeFilter {
            exit_from: Some("2026-12-01T10:00:00Z".parse().expect("time")),
            ..super::TradeFilter::default()
        };
        let mut found: Vec<String> = store
            .closed_trades(&filter)
            .await
            .expect("read")
            .iter()
            .filter_map(|r| r.closed.exit_time.map(|t| t.to_string()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "2026-12-01T10:00:00.25Z",
                "2026-12-01T10:00:00Z",
                "2026-12-01T10:00:01Z"
            ]
        );
        let (count, total) = store.closed_totals(None).await.expect("totals");
        assert_eq!(count, 5);
        assert_eq!(total.to_string(), "7.5");
        let (count, total) = store
            .closed_totals(filter.exit_from)
            .await
            .expect("totals from the bound");
        assert_eq!(count, 3);
        assert_eq!(total.to_string(), "4.5");
    }
}

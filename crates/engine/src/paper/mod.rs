//! [`PaperBroker`]: fills market orders at the latest price the engine observed.
//!
//! It is its own type with no network code and no handle to any live broker, so a
//! paper engine cannot reach a live order path by construction.
//!
//! Its book (every order it received and its fill) lives in a SQLite file of its
//! own ([`PaperBroker::open`], `file`), next to the engine's database
//! ([`paper_book_path`]): an order and its fill are committed there before
//! [`Broker::place_market`] returns, and the whole book is read back at open. So after
//! a crash between the paper fill and the engine's own commit, recovery finds the
//! PENDING order by its tag and adopts its fill (the trade opens or closes from it);
//! a tag absent from the book was never placed (the process died before the paper
//! "exchange" took it), which recovery records as LOST. Tags are the engine's
//! sequence numbers, so the book belongs to one engine database; recovery refuses a
//! book that holds tags its database never issued.
//!
//! [`PaperBroker::new`] keeps the book in memory only (tests and examples: after a
//! restart it knows no orders); `serve` and `serve --demo` open the file.
//!
//! Order history and fills come from the book (one final state and at most one fill
//! per order; `orders`, `positions` and `trades` cover the whole book, every day's
//! orders, where Kite answers today's); it has no stops to place or modify and no instrument catalogue (all
//! `Unsupported`). Observed prices are memory only (nothing is written on the candle
//! path): at start the engine gives it each symbol's last stored close again.
//!
//! The book sits behind one `std::sync::Mutex`: every critical section is a map
//! lookup or insert with no `.await` inside. Placements are serialised by an async
//! lock held across the file's commit, so a tag is checked and written atomically.

mod file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use kitebreak_price::{Price, Ratio, Rounding};

use crate::broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, MarketOrder, Ohlc, OrderId, OrderProgress,
    OrderReport, OrderStatus, OrderStep, PositionReport, Side,
};
use crate::{EngineError, Symbol};
use file::{BookFile, PaperOrder};

/// Where the paper book of the engine database `database` lives: beside it, named
/// after it (`DATA_DIR/kitebreak.db` → `DATA_DIR/kitebreak.paper.db`; the demo's
/// `demo.db` → `demo.paper.db`), so each database has its own book.
pub fn paper_book_path(database: &Path) -> PathBuf {
    database.with_extension("paper.db")
}

/// The paper broker: immediate fills at the last observed price, with optional
/// slippage against the trader.
#[derive(Debug, Default)]
pub struct PaperBroker {
    slippage: Ratio,
    book: Mutex<Book>,
    /// The book's file; `None` keeps it in memory only ([`PaperBroker::new`]).
    file: Option<BookFile>,
    /// Held across a placement's check, write and record.
    placing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Book {
    /// What was observed per symbol since start; `close` is the last price.
    prices: HashMap<Symbol, Ohlc>,
    orders: Vec<PaperOrder>,
    /// Index of each tag's order. Order ids are `PAPER-` and the tag ([`order_id`]),
    /// so they need no index of their own.
    by_tag: HashMap<String, usize>,
}

/// A paper order's id: `PAPER-` and its tag.
fn order_id(tag: &str) -> OrderId {
    format!("{ORDER_ID_PREFIX}{tag}")
}

const ORDER_ID_PREFIX: &str = "PAPER-";

impl Book {
    /// A book of `orders` (oldest first), indexed.
    fn from_orders(orders: Vec<PaperOrder>) -> Book {
        let mut by_tag = HashMap::with_capacity(orders.len());
        for (index, order) in orders.iter().enumerate() {
            by_tag.insert(order.report.order.tag.clone(), index);
        }
        Book {
            prices: HashMap::new(),
            orders,
            by_tag,
        }
    }

    fn record(&mut self, order: PaperOrder) {
        let index = self.orders.len();
        self.by_tag.insert(order.report.order.tag.clone(), index);
        self.orders.push(order);
    }

    fn by_tag(&self, tag: &str) -> Option<&PaperOrder> {
        self.by_tag
            .get(tag)
            .and_then(|&index| self.orders.get(index))
    }

    fn by_id(&self, id: &str) -> Option<&PaperOrder> {
        let tag = id.strip_prefix(ORDER_ID_PREFIX)?;
        self.by_tag(tag).filter(|order| order.report.order_id == id)
    }
}

/// One basis point is 100 millionths.
fn slippage(slippage_bps: u32) -> Ratio {
    Ratio::per_million(slippage_bps.saturating_mul(100))
}

impl PaperBroker {
    /// A paper broker whose book lives in memory only (tests, examples), with fills
    /// `slippage_bps` basis points worse than the last price (buys higher, sells
    /// lower); 0 fills exactly at the last price. `serve` uses [`PaperBroker::open`].
    pub fn new(slippage_bps: u32) -> PaperBroker {
        PaperBroker {
            slippage: slippage(slippage_bps),
            ..PaperBroker::default()
        }
    }

    /// A paper broker keeping its book in the file at `path` (created with its
    /// folder if missing), with every order already in it loaded. A file that cannot
    /// be opened or read as a paper book is [`EngineError::PaperBook`].
    pub async fn open(path: &Path, slippage_bps: u32) -> Result<PaperBroker, EngineError> {
        let (file, orders) = BookFile::open(path).await?;
        let book = Book::from_orders(orders);
        tracing::info!(path = %path.display(), orders = book.orders.len(), "paper book opened");
        Ok(PaperBroker {
            slippage: slippage(slippage_bps),
            book: Mutex::new(book),
            file: Some(file),
            placing: tokio::sync::Mutex::new(()),
        })
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters for paper trading, so a poisoned lock is simply reused.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fill_price(&self, last: Price, side: Side) -> Option<Price> {
        match side {
            Side::Buy => last.scale(self.slippage.one_plus(), Rounding::Up),
            Side::Sell => last.scale(self.slippage.one_minus()?, Rounding::Down),
        }
    }

    /// Fills (or rejects) `order` at the last price, writes it to the file and only
    /// then records it in memory.
    async fn execute(&self, order: MarketOrder) -> Result<OrderId, BrokerError> {
        let _placing = self.placing.lock().await;
        let decided = {
            let book = self.book();
            if let Some(earlier) = book.by_tag(&order.tag) {
                return Err(reused_tag(&order.tag, Some(earlier)));
            }
            let last = book.prices.get(&order.symbol).map(|ohlc| ohlc.close);
            let placed_at = Timestamp::now();
            let status = match last.and_then(|last| self.fill_price(last, order.side)) {
                Some(average_price) => OrderStatus::Complete {
                    average_price,
                    filled_quantity: order.quantity,
                    time: placed_at,
                },
                None => OrderStatus::Rejected {
                    reason: format!("no price known for {}", order.symbol),
                },
            };
            PaperOrder {
                report: OrderReport {
                    order_id: order_id(&order.tag),
                    order,
                    status,
                },
                placed_at,
            }
        };
        if let Some(file) = &self.file {
            // Not in the file means not placed: the engine treats `Unavailable` from a
            // placement as certainly not placed (an entry fails, an exit is retried).
            file.insert(&decided).await.map_err(|error| {
                tracing::error!(path = %file.path().display(), error = %error_chain(&error),
                    tag = %decided.report.order.tag, "paper book write failed; order not placed");
                BrokerError::Unavailable(format!(
                    "the paper book could not record the order: {}",
                    error_chain(&error)
                ))
            })?;
        }
        let id = decided.report.order_id.clone();
        self.book().record(decided);
        Ok(id)
    }
}

/// A tag the book already holds. The engine never sends a tag twice, so this is a
/// book from another database (one deleted and started afresh): refused, never
/// answered with the old order's fill.
fn reused_tag(tag: &str, earlier: Option<&PaperOrder>) -> BrokerError {
    let when = earlier.map_or_else(String::new, |o| format!(" on {}", o.placed_at));
    BrokerError::Rejected(format!(
        "tag {tag} was already used by a paper order placed{when}: \
         the paper book belongs to another database"
    ))
}

/// `error` and its sources, `: `-separated (sqlx's message is in the source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Broker for PaperBroker {
    fn name(&self) -> &'static str {
        "paper"
    }

    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(self.execute(order))
    }

    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        let status = self
            .book()
            .by_id(id)
            .map(|order| order.report.status.clone())
            .ok_or_else(|| BrokerError::UnknownOrder(id.to_owned()));
        Box::pin(async move { status })
    }

    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        let price = self.book().prices.get(symbol).map(|ohlc| ohlc.close);
        Box::pin(async move { price.ok_or_else(|| BrokerError::NoPrice(symbol.clone())) })
    }

    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        let ohlc = self.book().prices.get(symbol).copied();
        Box::pin(async move { ohlc.ok_or_else(|| BrokerError::NoPrice(symbol.clone())) })
    }

    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        // Paper orders are final the moment they are placed.
        let book = self.book();
        let found = book.by_tag(tag).map(|order| FoundOrder {
            order_id: order.report.order_id.clone(),
            progress: OrderProgress::Done(order.report.status.clone()),
        });
        drop(book);
        Box::pin(async move { Ok(found) })
    }

    fn tags(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        let tags = self
            .book()
            .orders
            .iter()
            .map(|order| order.report.order.tag.clone())
            .collect();
        Box::pin(async move { Ok(tags) })
    }

    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        let orders = self
            .book()
            .orders
            .iter()
            .map(|order| order.report.clone())
            .collect();
        Box::pin(async move { Ok(orders) })
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        let book = self.book();
        let mut positions: HashMap<Symbol, PositionReport> = HashMap::new();
        for PaperOrder { report, .. } in &book.orders {
            let OrderStatus::Complete {
                filled_quantity, ..
            } = &report.status
            else {
                continue;
            };
            let symbol = &report.order.symbol;
            let entry = positions
                .entry(symbol.clone())
                .or_insert_with(|| PositionReport {
                    symbol: symbol.clone(),
                    buy_quantity: 0,
                    sell_quantity: 0,
                    last_price: book.prices.get(symbol).map(|ohlc| ohlc.close),
                });
            let units = u64::from(filled_quantity.get());
            match report.order.side {
                Side::Buy => entry.buy_quantity += units,
                Side::Sell => entry.sell_quantity += units,
            }
        }
        drop(book);
        let mut positions: Vec<PositionReport> = positions.into_values().collect();
        positions.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Box::pin(async move { Ok(positions) })
    }

    fn order_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OrderStep>, BrokerError>> {
        // A paper order is final the moment it is placed: one state.
        let history = self
            .book()
            .by_id(id)
            .map(|order| match &order.report.status {
                OrderStatus::Complete {
                    average_price,
                    filled_quantity,
                    time,
                } => vec![OrderStep {
                    state: "COMPLETE".to_owned(),
                    filled_quantity: filled_quantity.get(),
                    average_price: Some(*average_price),
                    time: *time,
                }],
                OrderStatus::Rejected { .. } => vec![OrderStep {
                    state: "REJECTED".to_owned(),
                    filled_quantity: 0,
                    average_price: None,
                    time: order.placed_at,
                }],
            })
            .ok_or_else(|| BrokerError::UnknownOrder(id.to_owned()));
        Box::pin(async move { history })
    }

    fn trades<'a>(&'a self, id: Option<&'a str>) -> BoxFuture<'a, Result<Vec<Fill>, BrokerError>> {
        // Each filled paper order is one fill, its trade id the order's.
        let fills = self
            .book()
            .orders
            .iter()
            .map(|order| &order.report)
            .filter(|report| id.is_none_or(|id| report.order_id == id))
            .filter_map(|report| match &report.status {
                OrderStatus::Complete {
                    average_price,
                    filled_quantity,
                    time,
                } => Some(Fill {
                    trade_id: report.order_id.clone(),
                    order_id: report.order_id.clone(),
                    symbol: report.order.symbol.clone(),
                    quantity: *filled_quantity,
                    price: *average_price,
                    time: *time,
                }),
                OrderStatus::Rejected { .. } => None,
            })
            .collect();
        Box::pin(async move { Ok(fills) })
    }

    fn observe(&self, symbol: &Symbol, price: Price) {
        let mut book = self.book();
        let ohlc = book.prices.entry(symbol.clone()).or_insert(Ohlc {
            open: price,
            high: price,
            low: price,
            close: price,
        });
        ohlc.high = ohlc.high.max(price);
        ohlc.low = ohlc.low.min(price);
        ohlc.close = price;
    }
}

#[cfg(test)]
mod tests;

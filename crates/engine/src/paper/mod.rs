//! [`PaperBroker`]: fills market orders at the latest price the engine observed.
//!
//! It is its own type with no network code and no handle to any live broker, so a
//! paper engine cannot reach a live order path by construction.
//!
//! Its book (every order it received and its fill) lives in a SQLite file of its
//! own ([`PaperBroker::open`], `file`), next to the engine's database
//! ([`paper_book_path`]): an order and its fill are committed there before
//! [`Broker::place_market`] returns, and the book is read back at open. Memory keeps
//! only the newest orders and each symbol's filled units (`book`); an older order is
//! read from the file when it is asked for, so a book growing by thousands of orders
//! a day does not grow the process. So after
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

mod book;
mod file;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use kitebreak_price::{Price, Ratio, Rounding};

use crate::broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, MarketOrder, Ohlc, OrderId, OrderProgress,
    OrderReport, OrderStatus, OrderStep, PositionReport, Side,
};
use crate::{EngineError, Symbol};
use book::Book;
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

/// A paper order's id: `PAPER-` and its tag.
fn order_id(tag: &str) -> OrderId {
    format!("{ORDER_ID_PREFIX}{tag}")
}

const ORDER_ID_PREFIX: &str = "PAPER-";

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
        let mut book = Book::new(true);
        let file = BookFile::open(path, |order| book.record(order)).await?;
        tracing::info!(path = %path.display(), orders = book.len(), "paper book opened");
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

    /// The order tagged `tag`: from memory, else (when memory does not hold the
    /// whole book) from the file.
    async fn lookup(&self, tag: &str) -> Result<Option<PaperOrder>, BrokerError> {
        let whole = {
            let book = self.book();
            if let Some(order) = book.by_tag(tag) {
                return Ok(Some(order.clone()));
            }
            book.is_whole()
        };
        match &self.file {
            Some(file) if !whole => file.by_tag(tag).await.map_err(unreadable),
            _ => Ok(None),
        }
    }

    /// The order with id `id` (`PAPER-` and its tag), wherever it is.
    async fn lookup_id(&self, id: &str) -> Result<Option<PaperOrder>, BrokerError> {
        let Some(tag) = id.strip_prefix(ORDER_ID_PREFIX) else {
            return Ok(None);
        };
        Ok(self
            .lookup(tag)
            .await?
            .filter(|order| order.report.order_id == id))
    }

    /// Every order of the book, oldest first.
    async fn all_orders(&self) -> Result<Vec<PaperOrder>, BrokerError> {
        // Only a book with a file lets orders go from memory.
        let whole = self.book().is_whole();
        match &self.file {
            Some(file) if !whole => file.orders().await.map_err(unreadable),
            _ => Ok(self.book().orders().cloned().collect()),
        }
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
            // Memory has the newest orders; a tag only the file still holds is
            // refused by the file's unique tag, below.
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
            let inserted = file.insert(&decided).await.map_err(|error| {
                tracing::error!(path = %file.path().display(), error = %error_chain(&error),
                    tag = %decided.report.order.tag, "paper book write failed; order not placed");
                BrokerError::Unavailable(format!(
                    "the paper book could not record the order: {}",
                    error_chain(&error)
                ))
            })?;
            if !inserted {
                let tag = &decided.report.order.tag;
                let earlier = file.by_tag(tag).await.ok().flatten();
                return Err(reused_tag(tag, earlier.as_ref()));
            }
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

/// The fill of a filled order.
fn fill_of(order: PaperOrder) -> Option<Fill> {
    let report = order.report;
    match report.status {
        OrderStatus::Complete {
            average_price,
            filled_quantity,
            time,
        } => Some(Fill {
            trade_id: report.order_id.clone(),
            order_id: report.order_id,
            symbol: report.order.symbol,
            quantity: filled_quantity,
            price: average_price,
            time,
        }),
        OrderStatus::Rejected { .. } => None,
    }
}

/// A paper book file that could not be read: nothing is known (never a rejection).
fn unreadable(error: EngineError) -> BrokerError {
    tracing::error!(error = %error_chain(&error), "paper book not read");
    BrokerError::Unavailable(format!(
        "the paper book could not be read: {}",
        error_chain(&error)
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
        Box::pin(async move {
            self.lookup_id(id)
                .await?
                .map(|order| order.report.status)
                .ok_or_else(|| BrokerError::UnknownOrder(id.to_owned()))
        })
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
        Box::pin(async move {
            Ok(self.lookup(tag).await?.map(|order| FoundOrder {
                order_id: order.report.order_id,
                progress: OrderProgress::Done(order.report.status),
            }))
        })
    }

    fn tags(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
            if let Some(file) = &self.file {
                return file.tags().await.map_err(unreadable);
            }
            let book = self.book();
            Ok(book.orders().map(|o| o.report.order.tag.clone()).collect())
        })
    }

    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        Box::pin(async move {
            let orders = self.all_orders().await?;
            Ok(orders.into_iter().map(|order| order.report).collect())
        })
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        let positions = self.book().positions();
        Box::pin(async move { Ok(positions) })
    }

    fn order_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OrderStep>, BrokerError>> {
        // A paper order is final the moment it is placed: one state.
        Box::pin(async move {
            let order = self
                .lookup_id(id)
                .await?
                .ok_or_else(|| BrokerError::UnknownOrder(id.to_owned()))?;
            Ok(vec![match order.report.status {
                OrderStatus::Complete {
                    average_price,
                    filled_quantity,
                    time,
                } => OrderStep {
                    state: "COMPLETE".to_owned(),
                    filled_quantity: filled_quantity.get(),
                    average_price: Some(average_price),
                    time,
                },
                OrderStatus::Rejected { .. } => OrderStep {
                    state: "REJECTED".to_owned(),
                    filled_quantity: 0,
                    average_price: None,
                    time: order.placed_at,
                },
            }])
        })
    }

    fn trades<'a>(&'a self, id: Option<&'a str>) -> BoxFuture<'a, Result<Vec<Fill>, BrokerError>> {
        // Each filled paper order is one fill, its trade id the order's.
        Box::pin(async move {
            let orders = match id {
                Some(id) => self.lookup_id(id).await?.into_iter().collect(),
                None => self.all_orders().await?,
            };
            Ok(orders.into_iter().filter_map(fill_of).collect())
        })
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

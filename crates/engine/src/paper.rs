//! [`PaperBroker`]: fills market orders at the latest price the engine observed.
//!
//! It is its own type with no network code and no handle to any live broker, so a
//! paper engine cannot reach a live order path by construction. Its book lives in
//! memory: after a restart it knows no orders (the engine marks orders that were
//! pending at a crash as LOST, see `recovery`). Its order history and fills come from
//! that book (one final state and at most one fill per order); it has no stops to
//! modify and no instrument catalogue (both `Unsupported`).
//!
//! The book sits behind one `std::sync::Mutex`: every critical section is a map lookup
//! or insert with no `.await` inside, far cheaper than the SQLite commit each order
//! waits for anyway.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use kitebreak_price::{Price, Ratio, Rounding};

use crate::Symbol;
use crate::broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, MarketOrder, Ohlc, OrderId, OrderProgress,
    OrderReport, OrderStatus, OrderStep, PositionReport, Side,
};

/// The paper broker: immediate fills at the last observed price, with optional
/// slippage against the trader.
#[derive(Debug, Default)]
pub struct PaperBroker {
    slippage: Ratio,
    book: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    /// What was observed per symbol since start; `close` is the last price.
    prices: HashMap<Symbol, Ohlc>,
    orders: Vec<OrderReport>,
    by_id: HashMap<OrderId, usize>,
}

impl PaperBroker {
    /// A paper broker whose fills are `slippage_bps` basis points worse than the last
    /// price (buys higher, sells lower); 0 fills exactly at the last price.
    pub fn new(slippage_bps: u32) -> PaperBroker {
        PaperBroker {
            // One basis point is 100 millionths.
            slippage: Ratio::per_million(slippage_bps.saturating_mul(100)),
            book: Mutex::default(),
        }
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

    fn execute(&self, order: MarketOrder) -> OrderId {
        let mut book = self.book();
        let order_id = format!("PAPER-{}", order.tag);
        // Same tag, same order: a re-sent order is never filled twice.
        if book.by_id.contains_key(&order_id) {
            return order_id;
        }
        let last = book.prices.get(&order.symbol).map(|ohlc| ohlc.close);
        let status = match last.and_then(|last| self.fill_price(last, order.side)) {
            Some(average_price) => OrderStatus::Complete {
                average_price,
                filled_quantity: order.quantity,
                time: Timestamp::now(),
            },
            None => OrderStatus::Rejected {
                reason: format!("no price known for {}", order.symbol),
            },
        };
        let index = book.orders.len();
        book.by_id.insert(order_id.clone(), index);
        book.orders.push(OrderReport {
            order_id: order_id.clone(),
            order,
            status,
        });
        order_id
    }
}

impl Broker for PaperBroker {
    fn name(&self) -> &'static str {
        "paper"
    }

    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        let id = self.execute(order);
        Box::pin(async move { Ok(id) })
    }

    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        let book = self.book();
        let status = book
            .by_id
            .get(id)
            .and_then(|&index| book.orders.get(index))
            .map(|report| report.status.clone())
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
        let found = self
            .book()
            .orders
            .iter()
            .find(|report| report.order.tag == tag)
            .map(|report| FoundOrder {
                order_id: report.order_id.clone(),
                progress: OrderProgress::Done(report.status.clone()),
            });
        Box::pin(async move { Ok(found) })
    }

    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        let orders = self.book().orders.clone();
        Box::pin(async move { Ok(orders) })
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        let book = self.book();
        let mut positions: HashMap<Symbol, PositionReport> = HashMap::new();
        for report in &book.orders {
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
        let mut positions: Vec<PositionReport> = positions.into_values().collect();
        positions.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Box::pin(async move { Ok(positions) })
    }

    fn order_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OrderStep>, BrokerError>> {
        // A paper order is final the moment it is placed: one state.
        let book = self.book();
        let history = book
            .by_id
            .get(id)
            .and_then(|&index| book.orders.get(index))
            .map(|report| match &report.status {
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
                    time: Timestamp::now(),
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

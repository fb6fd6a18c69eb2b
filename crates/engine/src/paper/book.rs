//! What the paper broker holds in memory: the prices it observed, each symbol's
//! filled units (its positions), and orders.
//!
//! Without a file ([`super::PaperBroker::new`]) memory is the whole book, every
//! order. With one, the file has every order and memory only the newest
//! [`RECENT`]: the ones the engine asks about right after placing them (their final
//! status, a look-up by tag). Everything older is read from the file when asked
//! for, so a book that grows by thousands of orders a day (10,000 symbols) does not
//! grow the process. Positions are kept as running totals per symbol, exact
//! whatever the book's size.

use std::collections::{HashMap, VecDeque};

use super::file::PaperOrder;
use crate::Symbol;
use crate::broker::{Ohlc, OrderStatus, PositionReport, Side};

/// How many of the newest orders a file-backed book keeps in memory.
pub(super) const RECENT: usize = 1024;

/// Units bought and sold of one symbol, over every filled order of the book.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Units {
    pub bought: u64,
    pub sold: u64,
}

#[derive(Debug, Default)]
pub(super) struct Book {
    /// What was observed per symbol since start; `close` is the last price.
    pub prices: HashMap<Symbol, Ohlc>,
    /// Filled units per symbol, over the whole book.
    positions: HashMap<Symbol, Units>,
    /// The orders in memory, oldest first: all of them, or the newest [`RECENT`].
    orders: VecDeque<PaperOrder>,
    /// Position of each in-memory order's tag, counted from the book's first order
    /// ever held (`orders[position - dropped]`). Order ids are `PAPER-` and the tag,
    /// so they need no index of their own.
    by_tag: HashMap<String, usize>,
    /// Orders let go from memory so far (the file has them).
    dropped: usize,
    /// Whether memory keeps only the newest [`RECENT`] orders (a file has them all).
    bounded: bool,
}

impl Book {
    /// An empty book; `bounded` when a file keeps every order.
    pub fn new(bounded: bool) -> Book {
        Book {
            bounded,
            ..Book::default()
        }
    }

    /// Records `order`, newest, and adds its fill to the positions.
    pub fn record(&mut self, order: PaperOrder) {
        if let OrderStatus::Complete {
            filled_quantity, ..
        } = &order.report.status
        {
            let symbol = &order.report.order.symbol;
            let units = match self.positions.get_mut(symbol) {
                Some(units) => units,
                None => self.positions.entry(symbol.clone()).or_default(),
            };
            let filled = u64::from(filled_quantity.get());
            match order.report.order.side {
                Side::Buy => units.bought += filled,
                Side::Sell => units.sold += filled,
            }
        }
        let position = self.dropped + self.orders.len();
        self.by_tag.insert(order.report.order.tag.clone(), position);
        self.orders.push_back(order);
        while self.bounded && self.orders.len() > RECENT {
            let Some(oldest) = self.orders.pop_front() else {
                break;
            };
            self.by_tag.remove(&oldest.report.order.tag);
            self.dropped += 1;
        }
    }

    /// The in-memory order tagged `tag`.
    pub fn by_tag(&self, tag: &str) -> Option<&PaperOrder> {
        let position = *self.by_tag.get(tag)?;
        self.orders.get(position.checked_sub(self.dropped)?)
    }

    /// Whether memory holds every order of the book (no file keeps older ones).
    pub fn is_whole(&self) -> bool {
        self.dropped == 0
    }

    /// The in-memory orders, oldest first.
    pub fn orders(&self) -> impl Iterator<Item = &PaperOrder> {
        self.orders.iter()
    }

    /// How many orders the book has recorded since it was built.
    pub fn len(&self) -> usize {
        self.dropped + self.orders.len()
    }

    /// Net positions, one per symbol that ever filled, by symbol.
    pub fn positions(&self) -> Vec<PositionReport> {
        let mut positions: Vec<PositionReport> = self
            .positions
            .iter()
            .map(|(symbol, units)| PositionReport {
                symbol: symbol.clone(),
                buy_quantity: units.bought,
                sell_quantity: units.sold,
                last_price: self.prices.get(symbol).map(|ohlc| ohlc.close),
            })
            .collect();
        positions.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        positions
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use kitebreak_price::{Price, Quantity};

    use super::super::ORDER_ID_PREFIX;
    use super::*;
    use crate::broker::{MarketOrder, OrderReport};

    fn filled(n: usize, side: Side) -> PaperOrder {
        let tag = format!("KB{n:06}");
        PaperOrder {
            report: OrderReport {
                order_id: format!("{ORDER_ID_PREFIX}{tag}"),
                order: MarketOrder {
                    tag,
                    symbol: Symbol::parse("INFY").expect("symbol"),
                    side,
                    quantity: Quantity::new(2).expect("quantity"),
                },
                status: OrderStatus::Complete {
                    average_price: Price::from_micros(100_000_000).expect("price"),
                    filled_quantity: Quantity::new(2).expect("quantity"),
                    time: Timestamp::UNIX_EPOCH,
                },
            },
            placed_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_bounded_book_keeps_the_newest_orders_and_every_fill_in_its_positions() {
        let mut book = Book::new(true);
        let total = RECENT + 10;
        for n in 0..total {
            book.record(filled(n, if n % 2 == 0 { Side::Buy } else { Side::Sell }));
        }
        assert_eq!(book.len(), total);
        assert_eq!(book.orders().count(), RECENT);
        assert!(!book.is_whole());
        assert!(book.by_tag("KB000009").is_none(), "let go: the file has it");
        let newest = format!("KB{:06}", total - 1);
        assert_eq!(
            book.by_tag(&newest).map(|o| o.report.order.tag.as_str()),
            Some(newest.as_str())
        );
        let positions = book.positions();
        assert_eq!(positions.len(), 1);
        let half = u64::try_from(total / 2).expect("small") * 2;
        assert_eq!(
            (positions[0].buy_quantity, positions[0].sell_quantity),
            (half, half)
        );
    }

    #[test]
    fn an_unbounded_book_keeps_every_order() {
        let mut book = Book::new(false);
        for n in 0..RECENT + 10 {
            book.record(filled(n, Side::Buy));
        }
        assert!(book.is_whole());
        assert!(book.by_tag("KB000000").is_some());
        assert_eq!(book.orders().count(), RECENT + 10);
    }
}

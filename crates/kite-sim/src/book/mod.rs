//! [`Book`]: the account's orders, trades, positions and margin.
//!
//! Synchronous and IO-free: each call takes the time and prices it needs and leaves the
//! order updates it caused in an outbox for the caller to publish (WebSocket, postback).
//! Matching itself is `matching::decide`; this module applies its answers.

use jiff::Timestamp;
use kitebreak_price::Price;

use crate::instruments::Instrument;
use crate::matching::{Decision, OrderType, decide};
use crate::order::{Order, OrderRequest};
use crate::positions::{Position, Trade, margin_percent};
use crate::rms;

mod amend;

pub use crate::rms::circuit;
use crate::status::{PLACEMENT, Status};

/// Kite's per-account limit: 10 orders in one calendar second.
pub const ORDERS_PER_SECOND: u32 = 10;

/// Kite's per-account limit: 400 orders in one minute (counted per calendar minute
/// of the counting seconds here; Kite's exact window is unconfirmed).
pub const ORDERS_PER_MINUTE: u32 = 400;

/// Kite's per-account limit: 5,000 order requests a day, refused ones included
/// (kite-api.md §11). The sim's book is one trading day (it does not roll over).
pub const ORDERS_PER_DAY: u32 = 5_000;

/// Kite allows at most 25 modifications of one order.
pub const MAX_MODIFICATIONS: u32 = 25;

/// Why a book operation was refused outright (no order changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// More than [`ORDERS_PER_SECOND`] placements in this second, [`ORDERS_PER_MINUTE`]
    /// in this minute or [`ORDERS_PER_DAY`] in the book's day (HTTP 429).
    TooManyOrders,
    /// Bad or missing input (HTTP 400, InputException).
    Input(String),
    /// The order cannot take this action in its state (HTTP 400, OrderException).
    Order(String),
}

/// What the book needs to know about the market when an order arrives.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Simulated now.
    pub now: Timestamp,
    /// The instrument, if listed.
    pub instrument: Option<&'a Instrument>,
    /// Its last price.
    pub last: Option<Price>,
    /// Its previous close (for circuit limits).
    pub close: Option<Price>,
    /// Whether the exchange session is open (AMO orders wait for it).
    pub market_open: bool,
    /// Fault: fill this order in two parts.
    pub split_fill: bool,
}

/// The account.
#[derive(Debug, Clone)]
pub struct Book {
    orders: Vec<Order>,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    balance: i128,
    day: String,
    sequence: u64,
    second: (i64, u32),
    minute: (i64, u32),
    today: u32,
    outbox: Vec<Order>,
}

impl Book {
    /// An empty book with `balance` micro-rupees of cash; ids start with `day` (yymmdd).
    pub fn new(balance: i128, day: String) -> Book {
        Book {
            orders: Vec::new(),
            trades: Vec::new(),
            positions: Vec::new(),
            balance,
            day,
            sequence: 0,
            second: (i64::MIN, 0),
            minute: (i64::MIN, 0),
            today: 0,
            outbox: Vec::new(),
        }
    }

    /// Counts a placement against the per-second, per-minute and per-day limits;
    /// `second` is the counting second (see `clock::RateClock`), its minute the
    /// counting minute. A request over the second's or the minute's limit still
    /// counts in both; only those past them count towards the day (which also
    /// counts the ones RMS rejects later, as at Kite).
    pub fn count_placement(&mut self, second: i64) -> Result<(), Refusal> {
        let minute = second.div_euclid(60);
        if self.second.0 != second {
            self.second = (second, 0);
        }
        if self.minute.0 != minute {
            self.minute = (minute, 0);
        }
        self.second.1 = self.second.1.saturating_add(1);
        self.minute.1 = self.minute.1.saturating_add(1);
        if self.second.1 > ORDERS_PER_SECOND
            || self.minute.1 > ORDERS_PER_MINUTE
            || self.today >= ORDERS_PER_DAY
        {
            return Err(Refusal::TooManyOrders);
        }
        self.today += 1;
        Ok(())
    }

    /// Places an order; `forced_rejection` rejects it with that message (fault injection).
    pub fn place(
        &mut self,
        request: OrderRequest,
        cx: Context<'_>,
        forced_rejection: Option<String>,
    ) -> String {
        self.sequence += 1;
        let mut order = Order {
            order_id: format!("{}{:09}", self.day, self.sequence),
            exchange_order_id: None,
            status: Status::PutOrderReqReceived,
            status_message: None,
            token: cx.instrument.map_or(0, |i| i.token),
            request,
            triggered: false,
            filled: 0,
            average: None,
            cancelled: 0,
            placed_at: cx.now,
            exchange_at: None,
            updated_at: None,
            modified: false,
            modifications: 0,
            split_fill: cx.split_fill,
            guid: format!("sim{:012}", self.sequence),
            history: Vec::new(),
        };
        for status in &PLACEMENT[..2] {
            order.enter(*status, cx.now);
        }
        let rejection = forced_rejection.or_else(|| rms::rejection(self, &order.request, cx));
        let id = order.order_id.clone();
        if let Some(message) = rejection {
            order.status_message = Some(message);
            order.enter(Status::Rejected, cx.now);
            self.outbox.push(order.snapshot());
        } else if order.request.variety == "amo" && !cx.market_open {
            order.enter(Status::AmoReqReceived, cx.now);
            self.outbox.push(order.snapshot());
        } else {
            self.open(&mut order, cx.now);
            self.match_order(&mut order, cx.last, cx.now);
            if order.request.validity == "IOC" && order.status.is_live() {
                // Immediate-or-cancel: whatever did not fill at once is cancelled.
                order.cancelled = order.pending();
                order.enter(Status::Cancelled, cx.now);
                self.outbox.push(order.snapshot());
            }
        }
        self.orders.push(order);
        id
    }

    fn open(&mut self, order: &mut Order, now: Timestamp) {
        order.enter(PLACEMENT[2], now);
        order.exchange_order_id = Some(format!("1{:015}", self.sequence));
        order.exchange_at = Some(now);
        order.enter(resting_status(order), now);
        self.outbox.push(order.snapshot());
    }

    /// Applies a price to every live order of the instrument.
    pub fn on_price(&mut self, token: u32, last: Price, now: Timestamp) {
        let mut orders = std::mem::take(&mut self.orders);
        for order in orders.iter_mut().filter(|o| o.token == token) {
            if matches!(order.status, Status::Open | Status::TriggerPending) {
                self.match_order(order, Some(last), now);
            }
        }
        self.orders = orders;
    }

    /// Sends waiting after-market orders to the exchange once the session opens.
    pub fn open_amo_orders(&mut self, now: Timestamp, last: impl Fn(u32) -> Option<Price>) {
        let mut orders = std::mem::take(&mut self.orders);
        for order in orders
            .iter_mut()
            .filter(|o| o.status == Status::AmoReqReceived)
        {
            self.open(order, now);
            self.match_order(order, last(order.token), now);
        }
        self.orders = orders;
    }

    fn match_order(&mut self, order: &mut Order, last: Option<Price>, now: Timestamp) {
        let Some(last) = last else { return };
        match decide(order.terms(), order.triggered, last) {
            Decision::Wait => {}
            Decision::Triggered => {
                order.triggered = true;
                order.enter(Status::Open, now);
                self.outbox.push(order.snapshot());
            }
            Decision::Fill(price) => self.fill(order, price, now),
        }
    }

    fn fill(&mut self, order: &mut Order, price: Price, now: Timestamp) {
        let pending = order.pending();
        let quantity = if order.split_fill && order.filled == 0 && pending > 1 {
            pending / 2
        } else {
            pending
        };
        order.triggered = true;
        order.average = Some(average(order.average, order.filled, price, quantity));
        order.filled += quantity;
        order.enter(
            if order.pending() == 0 {
                Status::Complete
            } else {
                Status::Open
            },
            now,
        );
        self.outbox.push(order.snapshot());
        let request = &order.request;
        let trade = Trade {
            trade_id: format!("{}", 10_000_000 + self.trades.len() as u64 + 1),
            order_id: order.order_id.clone(),
            exchange_order_id: order.exchange_order_id.clone().unwrap_or_default(),
            exchange: request.exchange.clone(),
            tradingsymbol: request.tradingsymbol.clone(),
            token: order.token,
            product: request.product.clone(),
            side: request.side,
            price,
            quantity,
            at: now,
            order_at: order.placed_at,
        };
        self.position_mut(order).add(request.side, quantity, price);
        self.trades.push(trade);
    }

    fn position_mut(&mut self, order: &Order) -> &mut Position {
        let request = &order.request;
        let index = self
            .positions
            .iter()
            .position(|p| p.token == order.token && p.product == request.product);
        let index = index.unwrap_or_else(|| {
            self.positions.push(Position {
                exchange: request.exchange.clone(),
                tradingsymbol: request.tradingsymbol.clone(),
                token: order.token,
                product: request.product.clone(),
                ..Position::default()
            });
            self.positions.len() - 1
        });
        &mut self.positions[index]
    }

    /// Takes the order updates caused since the last call, oldest first.
    pub fn drain_updates(&mut self) -> Vec<Order> {
        std::mem::take(&mut self.outbox)
    }

    /// One order with its history.
    pub fn order(&self, order_id: &str) -> Option<&Order> {
        self.orders.iter().find(|o| o.order_id == order_id)
    }

    /// Today's orders, oldest first.
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Today's trades, oldest first.
    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// Positions, in the order they were opened.
    pub fn positions(&self) -> &[Position] {
        &self.positions
    }

    /// Opening cash, micro-rupees.
    pub fn balance(&self) -> i128 {
        self.balance
    }

    /// Margin used by positions and live orders, micro-rupees.
    pub fn utilised(&self) -> i128 {
        let positions: i128 = self
            .positions
            .iter()
            .map(|p| p.margin(margin_percent(&p.product)))
            .sum();
        let orders: i128 = self
            .orders
            .iter()
            .filter(|o| o.status.is_live())
            .filter_map(|o| {
                let price = o.request.price.or(o.request.trigger)?;
                Some(
                    i128::from(price.micros())
                        * i128::from(o.pending())
                        * margin_percent(&o.request.product)
                        / 100,
                )
            })
            .sum();
        positions + orders
    }

    /// Realised profit of the day, micro-rupees.
    pub fn realised(&self) -> i128 {
        self.positions.iter().map(Position::realised).sum()
    }

    /// Cash free for new orders, micro-rupees.
    pub fn available(&self) -> i128 {
        self.balance + self.realised() - self.utilised()
    }
}

/// Volume-weighted average of an earlier average and a new fill.
fn average(before: Option<Price>, filled: u32, price: Price, quantity: u32) -> Price {
    let Some(before) = before.filter(|_| filled > 0) else {
        return price;
    };
    let total = i128::from(before.micros()) * i128::from(filled)
        + i128::from(price.micros()) * i128::from(quantity);
    let micros = total / i128::from(filled + quantity);
    i64::try_from(micros)
        .ok()
        .and_then(|m| Price::from_micros(m).ok())
        .unwrap_or(price)
}

fn resting_status(order: &Order) -> Status {
    let stop = matches!(
        order.request.order_type,
        OrderType::StopLimit | OrderType::StopMarket
    );
    if stop && !order.triggered {
        Status::TriggerPending
    } else {
        Status::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Book {
        Book::new(1_000_000_000, "261125".into())
    }

    /// Places `n` orders at the limits' pace (10 a second) from `second` on; returns
    /// the second after the last.
    fn paced(book: &mut Book, mut second: i64, n: u32) -> i64 {
        for i in 0..n {
            if i > 0 && i % ORDERS_PER_SECOND == 0 {
                second += 1;
            }
            assert_eq!(book.count_placement(second), Ok(()), "placement {i}");
        }
        second + 1
    }

    #[test]
    fn the_401st_order_in_one_minute_is_refused_and_the_next_minute_is_fresh() {
        let mut book = book();
        // Seconds 0..40 of minute 0: 400 orders, 10 a second.
        let next = paced(&mut book, 0, ORDERS_PER_MINUTE);
        assert_eq!(next, 40);
        assert_eq!(book.count_placement(59), Err(Refusal::TooManyOrders));
        assert_eq!(book.count_placement(60), Ok(()));
    }

    #[test]
    fn the_day_allows_5000_orders_then_refuses_every_one() {
        let mut book = book();
        let mut second = 0;
        for _ in 0..ORDERS_PER_DAY / ORDERS_PER_MINUTE {
            paced(&mut book, second, ORDERS_PER_MINUTE);
            second += 60;
        }
        let rest = ORDERS_PER_DAY % ORDERS_PER_MINUTE;
        let next = paced(&mut book, second, rest);
        assert_eq!(book.count_placement(next), Err(Refusal::TooManyOrders));
        assert_eq!(
            book.count_placement(next + 3_600),
            Err(Refusal::TooManyOrders)
        );
    }

    #[test]
    fn orders_refused_for_the_second_do_not_use_up_the_day() {
        let mut book = book();
        for _ in 0..ORDERS_PER_SECOND {
            assert_eq!(book.count_placement(7), Ok(()));
        }
        for _ in 0..5 {
            assert_eq!(book.count_placement(7), Err(Refusal::TooManyOrders));
        }
        assert_eq!(book.today, ORDERS_PER_SECOND);
        assert_eq!(book.count_placement(8), Ok(()));
    }
}

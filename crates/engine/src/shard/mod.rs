//! Shards: tokio tasks that each own a fixed subset of the symbols.
//!
//! A symbol always lands on the same shard (hash of the symbol), and a shard handles
//! its commands one at a time, so each symbol's events are applied strictly in order
//! with no lock on any `Strategy`. Symbols on different shards proceed in parallel;
//! their writes meet again only in the store's group commit.
//!
//! A shard pipelines candles: it applies a candle, submits its writes to the store
//! and takes its next command while the commit is outstanding; candles are answered
//! in order as their commits land (`candle::InFlight`). So a group commit carries as
//! many candles as callers are waiting, not one per shard. Everything else (prices,
//! orders, resets, status reads, a symbol in a trade, the next candle of a symbol
//! with one outstanding) first waits for the outstanding commits, then runs start to
//! finish, awaiting the store and the broker inline: no command ever sees state that
//! is not yet durable, and a failed commit restores the book of its symbol alone.

mod book;
mod books;
mod candle;
mod control;
mod orders;
pub(crate) mod protect;
mod retry;
mod send;
mod sweep;
mod unsettled;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};

use kitebreak_price::{Price, Quantity};
use tokio::sync::{mpsc, oneshot};

pub(crate) use book::Book;
pub(crate) use books::Books;
pub(crate) use orders::closing_side;
pub(crate) use retry::ExitRetry;
pub(crate) use send::{final_row, seq_of, tag};
pub(crate) use unsettled::Unsettled;

use crate::broker::{Broker, Side};
use crate::report::{
    CandleInput, CandleReport, OrderRecord, PriceReport, SymbolCounts, SymbolStatus,
};
use crate::store::Store;
use crate::{EngineConfig, EngineError, Symbol};

/// Where a command's answer goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// What a shard can be asked to do.
pub(crate) enum Command {
    Candle(Symbol, CandleInput, Reply<CandleReport>),
    Price(Symbol, Price, Reply<PriceReport>),
    /// Live prices (ticker, poll), the latest per symbol: like `Price`, nobody
    /// waits for the answer (see `feed::PendingTicks`).
    Ticks(Arc<crate::feed::PendingTicks>),
    Manual(Symbol, Side, Option<Quantity>, Reply<OrderRecord>),
    Exit(Symbol, Reply<crate::report::ExitOutcome>),
    Reset(Symbol, bool, Reply<()>),
    Status(Symbol, Reply<SymbolStatus>),
    StatusAll(Reply<Vec<SymbolStatus>>),
    /// How many symbols the shard holds, and how many of them have a trade.
    Counts(oneshot::Sender<SymbolCounts>),
    /// Exit every open trade of the shard now (flatten, MIS square-off).
    ExitAll(
        &'static str,
        Reply<Vec<(Symbol, Result<crate::report::ExitOutcome, EngineError>)>>,
    ),
    /// Check the exchange-side stops against the broker's final orders.
    Protect(
        Arc<Vec<crate::broker::OrderReport>>,
        Option<Arc<Vec<crate::broker::OcoReport>>>,
        oneshot::Sender<()>,
    ),
    /// The retry timer's step: retry the exits and look up the entries that are due;
    /// answers whether work is still parked for it.
    RetryDue(oneshot::Sender<bool>),
    Stop(oneshot::Sender<()>),
}

impl Command {
    /// True for the commands that change nothing (status reads): no change signal
    /// follows them, unless they first finished outstanding candles.
    fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Status(..) | Command::StatusAll(..) | Command::Counts(..)
        )
    }
}

/// What every shard shares: the store, the broker and the engine-wide switches.
pub(crate) struct Context {
    pub store: Store,
    pub broker: Arc<dyn Broker>,
    pub config: Arc<EngineConfig>,
    /// When false, price observations do not trigger exits (see `Engine::set_monitoring`).
    pub monitoring: Arc<AtomicBool>,
    /// The last order sequence number used; tags are made from it.
    pub order_seq: Arc<AtomicI64>,
    /// Entry checks shared by all shards: market clock, risk limits, kill switch.
    pub gate: Arc<crate::gate::Gate>,
    /// What is watched for live prices (symbols with an open trade).
    pub feed: Arc<crate::feed::Feed>,
    /// Order updates: the fast path to an order's final status.
    pub updates: Arc<crate::updates::Updates>,
    /// Exit attempts that failed since start.
    pub exit_failures: Arc<std::sync::atomic::AtomicU64>,
    /// Broker calls of the order path that failed, by kind.
    pub broker_errors: Arc<crate::broker::BrokerErrorCounts>,
    /// Armed exit tags about to be sent, noted without an fsync (see `journal`).
    pub journal: Arc<crate::journal::SendJournal>,
    /// Signalled after every command but a status read, and every candle commit.
    pub changes: Arc<crate::changes::Changes>,
    /// Set when a shard parks work for the retry timer (an exit to retry, an entry
    /// to look up), cleared by the timer when no shard has any: see
    /// [`crate::Engine::retry_step`].
    pub timer_work: Arc<AtomicBool>,
}

/// One shard's state: its symbols, and its candles whose commits are outstanding.
pub(crate) struct Shard {
    ctx: Arc<Context>,
    books: HashMap<Symbol, Book>,
    /// Oldest first; answered in this order.
    in_flight: VecDeque<candle::InFlight>,
}

/// What the shard's loop waits for next.
enum Next {
    Command(Option<Command>),
    Committed(Result<(), EngineError>),
}

impl Shard {
    pub(crate) fn new(ctx: Arc<Context>, books: HashMap<Symbol, Book>) -> Shard {
        Shard {
            ctx,
            books,
            in_flight: VecDeque::new(),
        }
    }

    /// Handles commands until told to stop or every sender is gone, answering
    /// outstanding candles as their commits land.
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            let next = match self.in_flight.front_mut() {
                Some(oldest) => tokio::select! {
                    biased;
                    committed = &mut oldest.pending_commit() => Next::Committed(committed),
                    command = commands.recv() => Next::Command(command),
                },
                None => Next::Command(commands.recv().await),
            };
            match next {
                Next::Committed(committed) => {
                    if let Some(oldest) = self.in_flight.pop_front() {
                        self.finish(oldest, committed).await;
                    }
                }
                Next::Command(Some(Command::Stop(ack))) => {
                    self.finish_all().await;
                    let _ = ack.send(());
                    return;
                }
                Next::Command(Some(command)) if command.only_reads() => {
                    // A read first finishes the outstanding candles (that is a
                    // change); the read itself is not: a watcher that reads statuses
                    // must not wake itself.
                    let finishes = !self.in_flight.is_empty();
                    self.handle(command).await;
                    if !finishes {
                        continue;
                    }
                }
                Next::Command(Some(command)) => self.handle(command).await,
                Next::Command(None) => break,
            }
            self.ctx.changes.signal();
        }
        self.finish_all().await;
    }

    /// Tells the gate where `symbol` stands after a step (and its latest price).
    /// Also watches the symbol for live prices exactly while it has a trade.
    fn note(&self, symbol: &Symbol, last: Option<Price>) {
        let broker = self.ctx.broker.as_ref();
        match self.books.get(symbol) {
            Some(book) => {
                self.ctx.gate.note(symbol, &book.strategy, last);
                let wanted = book.strategy.trade().is_some();
                self.ctx.feed.set_watched(broker, symbol, wanted);
            }
            None => {
                self.ctx.gate.forget(symbol);
                self.ctx.feed.set_watched(broker, symbol, false);
            }
        }
    }

    /// Tells the gate where every symbol stands (after recovery), and watches the
    /// restored open trades.
    pub(crate) fn note_all(&self) {
        for symbol in self.books.keys() {
            self.note(symbol, None);
        }
    }

    /// One live price, checked like `Price`; nobody waits for the answer.
    async fn on_tick(&mut self, symbol: Symbol, price: Price) {
        match self.on_price(symbol.clone(), price).await {
            Ok(report) => {
                if let Some(exit) = &report.exit {
                    tracing::info!(%symbol, %price, ?exit, "live price exit");
                }
            }
            Err(error) => {
                tracing::error!(%symbol, %price, %error, "live price not applied")
            }
        }
        self.note(&symbol, Some(price));
    }

    /// One command (the single step a test can call directly): a candle is
    /// started (see [`Shard::candle`]); anything else first waits for the
    /// outstanding candles, then runs start to finish.
    async fn handle(&mut self, command: Command) {
        if let Command::Candle(symbol, input, reply) = command {
            return self.candle(symbol, input, reply).await;
        }
        self.finish_all().await;
        match command {
            Command::Candle(symbol, input, reply) => self.candle(symbol, input, reply).await,
            Command::Price(symbol, price, reply) => {
                let done = self.on_price(symbol.clone(), price).await;
                self.note(&symbol, Some(price));
                let _ = reply.send(done);
            }
            Command::Ticks(pending) => {
                let mut ticks = pending.take();
                for (symbol, price) in ticks.drain(..) {
                    self.on_tick(symbol, price).await;
                }
                pending.recycle(ticks);
            }
            Command::Manual(symbol, side, quantity, reply) => {
                let _ = reply.send(self.manual_order(symbol, side, quantity).await);
            }
            Command::Exit(symbol, reply) => {
                let done = self.exit_now(&symbol).await;
                self.note(&symbol, None);
                let _ = reply.send(done);
            }
            Command::Reset(symbol, force, reply) => {
                let done = self.reset(&symbol, force).await;
                self.note(&symbol, None);
                let _ = reply.send(done);
            }
            Command::Status(symbol, reply) => {
                let status = self
                    .books
                    .get(&symbol)
                    .map(|book| book.status(&symbol))
                    .ok_or(EngineError::UnknownSymbol(symbol));
                let _ = reply.send(status);
            }
            Command::StatusAll(reply) => {
                let all = self.books.iter().map(|(s, b)| b.status(s)).collect();
                let _ = reply.send(Ok(all));
            }
            Command::Counts(reply) => {
                let _ = reply.send(SymbolCounts {
                    total: self.books.len(),
                    with_trade: self
                        .books
                        .values()
                        .filter(|b| b.strategy.trade().is_some())
                        .count(),
                });
            }
            Command::ExitAll(why, reply) => {
                let outcomes = self.exit_all(why).await;
                for (symbol, _) in &outcomes {
                    self.note(symbol, None);
                }
                let _ = reply.send(Ok(outcomes));
            }
            Command::Protect(book_orders, ocos, ack) => {
                for (symbol, book) in &mut self.books {
                    let ocos = ocos.as_deref().map(Vec::as_slice);
                    protect::check(&self.ctx, symbol, book, &book_orders, ocos).await;
                }
                self.note_all();
                let _ = ack.send(());
            }
            Command::RetryDue(ack) => {
                let _ = ack.send(self.retry_due().await);
            }
            Command::Stop(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests;

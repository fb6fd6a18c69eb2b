//! Candles and price observations for one symbol, in the strategy's order of work.

use std::sync::Arc;

use kitebreak_price::Price;
use kitebreak_strategy::{AwaitBroker, Detection, Direction, EntryEvent, ExitEvent, Strategy};

use super::book::{Remembered, Rollback};
use super::{Book, Context, Reply, Shard, orders};
use crate::broker::MarketOrder;
use crate::report::{CandleInput, CandleReport, EntryOutcome, ExitOutcome, PriceReport};
use crate::store::{CandleRow, Commit, WriteOp};
use crate::{EngineError, Symbol};

/// A candle applied in memory whose writes are submitted but not yet committed.
pub(super) struct InFlight {
    pub symbol: Symbol,
    close: Price,
    pending: Pending,
    reply: Reply<CandleReport>,
}

impl InFlight {
    /// The outstanding commit, to wait on.
    pub(super) fn pending_commit(&mut self) -> &mut Commit {
        &mut self.pending.commit
    }
}

/// What finishing a submitted candle needs.
struct Pending {
    commit: Commit,
    /// What the candle changed in its book, put back if the commit fails (`None`:
    /// the symbol was new and is forgotten again).
    rollback: Option<Rollback>,
    exit: Option<ExitOutcome>,
    detection: Detection,
    breakout: Option<Direction>,
    order: Option<MarketOrder>,
    refused: Option<String>,
}

/// How far a candle got without waiting for its commit.
#[expect(
    clippy::large_enum_variant,
    reason = "made once per candle and moved at once into the in-flight queue"
)]
enum Begun {
    /// Answered already (a repeated alert): nothing to commit.
    Answered(CandleReport),
    /// Applied in memory, writes submitted.
    Submitted(Pending),
}

impl Shard {
    /// A candle command: applied at once, its writes submitted to the store, and
    /// answered (in order) once they are committed, so the shard takes its next
    /// command while the commit is outstanding and a group commit can carry many
    /// candles of one shard.
    ///
    /// Two rules keep memory from running ahead of disk: a symbol has at most one
    /// uncommitted candle (its next candle waits for it, since it builds on it),
    /// and a symbol in a trade is handled start to finish with nothing else
    /// outstanding, as its exit and entry go through the broker.
    pub(super) async fn candle(
        &mut self,
        symbol: Symbol,
        input: CandleInput,
        reply: Reply<CandleReport>,
    ) {
        if self.in_flight.iter().any(|f| f.symbol == symbol) {
            self.finish_through(&symbol).await;
        }
        let in_trade = self
            .books
            .get(&symbol)
            .is_some_and(|book| book.strategy.is_locked());
        if in_trade {
            self.finish_all().await;
        }
        let close = input.candle.close;
        match self.begin_candle(&symbol, input).await {
            Ok(Begun::Submitted(pending)) => {
                let flight = InFlight {
                    symbol,
                    close,
                    pending,
                    reply,
                };
                let enters = flight.pending.order.is_some();
                self.in_flight.push_back(flight);
                if in_trade || enters {
                    self.finish_all().await;
                }
            }
            Ok(Begun::Answered(report)) => {
                self.note(&symbol, Some(close));
                let _ = reply.send(Ok(report));
            }
            Err(error) => {
                self.note(&symbol, Some(close));
                let _ = reply.send(Err(error));
            }
        }
    }

    /// Answers an outstanding candle (the oldest) whose commit has resolved.
    pub(super) async fn finish(&mut self, flight: InFlight, committed: Result<(), EngineError>) {
        let InFlight {
            symbol,
            close,
            pending,
            reply,
        } = flight;
        let done = self.settle(&symbol, pending, committed).await;
        self.note(&symbol, Some(close));
        let _ = reply.send(done);
    }

    /// Waits for and finishes every outstanding candle, oldest first.
    pub(super) async fn finish_all(&mut self) {
        while let Some(mut flight) = self.in_flight.pop_front() {
            let committed = (&mut flight.pending.commit).await;
            self.finish(flight, committed).await;
        }
    }

    /// Finishes outstanding candles, oldest first, up to `symbol`'s.
    async fn finish_through(&mut self, symbol: &Symbol) {
        while let Some(mut flight) = self.in_flight.pop_front() {
            let last = flight.symbol == *symbol;
            let committed = (&mut flight.pending.commit).await;
            self.finish(flight, committed).await;
            if last {
                return;
            }
        }
    }

    /// Steps 1 to 5 of a candle: duplicate check, exit check on the close, then
    /// append, detect and breakout, with the writes submitted.
    ///
    /// The strategy runs with [`AwaitBroker`], so every signal goes through the order
    /// lifecycle. The close is checked against an open trade first and that exit is
    /// settled before the candle is appended, so (in `rolling` mode) the same candle
    /// can still enter a new trade, exactly as the spec's order of work says.
    async fn begin_candle(
        &mut self,
        symbol: &Symbol,
        input: CandleInput,
    ) -> Result<Begun, EngineError> {
        let ctx = Arc::clone(&self.ctx);
        let is_new = !self.books.contains_key(symbol);
        let book = self
            .books
            .entry(symbol.clone())
            .or_insert_with(|| Book::new(Strategy::new(ctx.config.params_for(symbol))));
        if input.time.is_some_and(|time| book.seen(time)) {
            tracing::info!(%symbol, time = ?input.time, "repeated alert acknowledged, not applied");
            return Ok(Begun::Answered(report(symbol, book, None, None, true)));
        }
        let close = input.candle.close;
        ctx.broker.observe(symbol, close);
        let exit = super::retry::check_exit(&ctx, symbol, book, close).await?;
        let mut rollback = (!is_new).then(|| book.rollback());
        let applied = apply(&ctx, symbol, book, &input);
        if let Some(rollback) = &mut rollback {
            rollback.remembered = applied.remembered;
        }
        let commit = match ctx.store.submit(applied.writes).await {
            Ok(commit) => commit,
            Err(error) => {
                self.restore(symbol, rollback);
                return Err(error);
            }
        };
        Ok(Begun::Submitted(Pending {
            commit,
            rollback,
            exit,
            detection: applied.detection,
            breakout: applied.breakout,
            order: applied.order,
            refused: applied.refused,
        }))
    }

    /// Step 6 and the answer, once the candle's writes are committed (or not).
    async fn settle(
        &mut self,
        symbol: &Symbol,
        pending: Pending,
        committed: Result<(), EngineError>,
    ) -> Result<CandleReport, EngineError> {
        if let Err(error) = committed {
            // Nothing of this candle is durable, so nothing of it may stay in memory.
            self.restore(symbol, pending.rollback);
            return Err(error);
        }
        let ctx = Arc::clone(&self.ctx);
        let book = self
            .books
            .get_mut(symbol)
            .ok_or_else(|| EngineError::UnknownSymbol(symbol.clone()))?;
        let entry = match pending.order {
            Some(order) => Some(orders::enter(&ctx, symbol, book, order).await?),
            None => None,
        };
        let mut done = report(symbol, book, Some(pending.detection), pending.exit, false);
        done.breakout = pending.breakout;
        done.entry = entry.or(pending
            .refused
            .map(|reason| EntryOutcome::Refused { reason }));
        Ok(done)
    }

    /// Puts a symbol's book back as it was before its newest candle (or forgets a
    /// symbol that was new).
    fn restore(&mut self, symbol: &Symbol, rollback: Option<Rollback>) {
        match rollback {
            Some(rollback) => {
                if let Some(book) = self.books.get_mut(symbol) {
                    book.roll_back(rollback);
                }
            }
            None => {
                self.books.remove(symbol);
            }
        }
    }

    /// A price observation: fed to the paper broker, and checked against an open trade
    /// while monitoring is on.
    pub(super) async fn on_price(
        &mut self,
        symbol: Symbol,
        price: Price,
    ) -> Result<PriceReport, EngineError> {
        self.ctx.broker.observe(&symbol, price);
        let monitoring = self
            .ctx
            .monitoring
            .load(std::sync::atomic::Ordering::Relaxed);
        let Some(book) = self.books.get_mut(&symbol) else {
            return Ok(PriceReport {
                symbol,
                checked: false,
                exit: None,
            });
        };
        let checked = monitoring && book.strategy.trade().is_some();
        let exit = if monitoring {
            super::retry::check_exit(&self.ctx, &symbol, book, price).await?
        } else {
            None
        };
        Ok(PriceReport {
            symbol,
            checked,
            exit,
        })
    }
}

/// What appending one candle did, before anything is committed.
struct Applied {
    /// The symbol row (when it changed), the candle row and (on a breakout) the
    /// entry's intent.
    writes: Vec<WriteOp>,
    detection: Detection,
    breakout: Option<Direction>,
    /// The entry order to send once the writes are durable.
    order: Option<MarketOrder>,
    /// Why a breakout's entry was refused before any order (market clock, risk).
    refused: Option<String>,
    /// What the candle changed in the repeated-alert memory.
    remembered: Remembered,
}

/// Steps 2 and 3 of a candle: append, detect, check for a breakout.
fn apply(ctx: &Context, symbol: &Symbol, book: &mut Book, input: &CandleInput) -> Applied {
    let levels_before = book.strategy.levels();
    let mut events = book.strategy.on_candle(&input.candle, &mut AwaitBroker);
    if let Some(ExitEvent::Signalled(_)) = events.exit.take() {
        // The exit on this close was rejected and the strategy signalled again; one
        // attempt per observation is enough, the next price retries.
        let _ = book.strategy.exit_failed();
    }
    let seq = book.next_seq;
    book.next_seq += 1;
    let keep_from = book.next_seq - book.keep();
    let remembered = book.remember(seq, input.time, keep_from);
    let mut writes = vec![WriteOp::Candle(CandleRow {
        symbol: symbol.clone(),
        seq,
        time: input.time,
        open: input.open,
        candle: input.candle,
        volume: input.volume.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        keep_from,
    })];
    let (mut breakout, mut order, mut refused) = (None, None, None);
    if let Some(EntryEvent::Signalled(signal)) = events.entry {
        let quantity = input.quantity.unwrap_or(signal.quantity);
        breakout = Some(signal.direction);
        match ctx.gate.admit(symbol, Some(signal.price), quantity, true) {
            Ok(()) => {
                let (entry, intent) = orders::entry_intent(ctx, symbol, &signal, quantity);
                writes.extend(intent);
                order = Some(entry);
            }
            Err(reason) => {
                // No order was sent: the strategy goes back to flat, levels unlocked.
                let _ = book.strategy.entry_failed();
                tracing::info!(%symbol, %reason, "breakout entry refused");
                writes.push(orders::refusal_event(symbol, signal.direction, &reason));
                refused = Some(reason);
            }
        }
    }
    // The symbol row only when it changes (a new symbol, or new levels): a candle
    // alone moves nothing else in it, and its seq is recovered from the newest
    // stored candle at start. Fewer pages per commit (BENCHMARKS.md).
    if seq == 0 || book.strategy.levels() != levels_before {
        writes.insert(0, book.row(symbol));
    }
    Applied {
        writes,
        detection: events.detection,
        breakout,
        order,
        refused,
        remembered,
    }
}

fn report(
    symbol: &Symbol,
    book: &Book,
    detection: Option<Detection>,
    exit: Option<ExitOutcome>,
    duplicate: bool,
) -> CandleReport {
    CandleReport {
        symbol: symbol.clone(),
        duplicate,
        detection,
        levels: book.strategy.levels(),
        locked: book.strategy.is_locked(),
        exit,
        breakout: None,
        entry: None,
    }
}

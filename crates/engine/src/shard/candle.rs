//! Candles and price observations for one symbol, in the strategy's order of work.

use std::sync::Arc;

use kitebreak_price::Price;
use kitebreak_strategy::{AwaitBroker, Detection, Direction, EntryEvent, ExitEvent, Strategy};

use super::{Book, Context, Shard, orders};
use crate::broker::MarketOrder;
use crate::report::{CandleInput, CandleReport, EntryOutcome, ExitOutcome, PriceReport};
use crate::store::{CandleRow, WriteOp};
use crate::{EngineError, Symbol};

impl Shard {
    /// One candle: exit check on the close, then append, detect and breakout.
    ///
    /// The strategy runs with [`AwaitBroker`], so every signal goes through the order
    /// lifecycle. The close is checked against an open trade first and that exit is
    /// settled before the candle is appended, so (in `rolling` mode) the same candle
    /// can still enter a new trade, exactly as the spec's order of work says.
    pub(super) async fn on_candle(
        &mut self,
        symbol: Symbol,
        input: CandleInput,
    ) -> Result<CandleReport, EngineError> {
        let ctx = Arc::clone(&self.ctx);
        let is_new = !self.books.contains_key(&symbol);
        let book = self
            .books
            .entry(symbol.clone())
            .or_insert_with(|| Book::new(Strategy::new(ctx.config.params_for(&symbol))));
        if input.time.is_some_and(|time| book.seen(time)) {
            tracing::info!(%symbol, time = ?input.time, "repeated alert acknowledged, not applied");
            return Ok(report(&symbol, book, None, None, true));
        }
        let close = input.candle.close;
        ctx.broker.observe(&symbol, close);
        let exit = super::retry::check_exit(&ctx, &symbol, book, close).await?;
        let snapshot = book.clone();
        let applied = apply(&ctx, &symbol, book, &input);
        if let Err(error) = ctx.store.commit(applied.writes).await {
            // Nothing of this candle is durable, so nothing of it may stay in memory.
            *book = snapshot;
            if is_new {
                self.books.remove(&symbol);
            }
            return Err(error);
        }
        let entry = match applied.order {
            Some(order) => Some(orders::enter(&ctx, &symbol, book, order).await?),
            None => None,
        };
        let mut done = report(&symbol, book, Some(applied.detection), exit, false);
        done.breakout = applied.breakout;
        done.entry = entry.or(applied
            .refused
            .map(|reason| EntryOutcome::Refused { reason }));
        Ok(done)
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
    /// The symbol row, the candle row and (on a breakout) the entry's intent.
    writes: Vec<WriteOp>,
    detection: Detection,
    breakout: Option<Direction>,
    /// The entry order to send once the writes are durable.
    order: Option<MarketOrder>,
    /// Why a breakout's entry was refused before any order (market clock, risk).
    refused: Option<String>,
}

/// Steps 2 and 3 of a candle: append, detect, check for a breakout.
fn apply(ctx: &Context, symbol: &Symbol, book: &mut Book, input: &CandleInput) -> Applied {
    let mut events = book.strategy.on_candle(&input.candle, &mut AwaitBroker);
    if let Some(ExitEvent::Signalled(_)) = events.exit.take() {
        // The exit on this close was rejected and the strategy signalled again; one
        // attempt per observation is enough, the next price retries.
        let _ = book.strategy.exit_failed();
    }
    let seq = book.next_seq;
    book.next_seq += 1;
    let keep_from = book.next_seq - book.keep();
    book.remember(seq, input.time, keep_from);
    let mut writes = vec![
        book.row(symbol),
        WriteOp::Candle(CandleRow {
            symbol: symbol.clone(),
            seq,
            time: input.time,
            open: input.open,
            candle: input.candle,
            volume: input.volume.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            keep_from,
        }),
    ];
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
                writes[0] = book.row(symbol);
                writes.push(orders::refusal_event(symbol, signal.direction, &reason));
                refused = Some(reason);
            }
        }
    }
    Applied {
        writes,
        detection: events.detection,
        breakout,
        order,
        refused,
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

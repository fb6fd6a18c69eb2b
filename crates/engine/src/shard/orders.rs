//! The order lifecycle: intent recorded durably → sent → final status → strategy told
//! → recorded durably.
//!
//! | order ends | entry                              | exit                                     |
//! |------------|------------------------------------|------------------------------------------|
//! | COMPLETE   | `entry_filled` at the average price | `exit_filled`; closed trade stored       |
//! | REJECTED   | `entry_failed`: no trade, unlocked  | `exit_failed`: trade open, retried with backoff (`retry`) |
//!
//! The intent (tag, side, quantity, PENDING) is committed *before* the order is sent,
//! so after a crash the database names every order that might be out; recovery then
//! settles them by tag (see `recovery`). An exit's intent is committed earlier still:
//! with the change that opened (or resized, or failed to close) the trade, as an
//! ARMED row, so the exit goes out the moment its price is seen and its PENDING row
//! is committed while the order travels (`journal` says why a crash stays safe). A lost placement answer is first looked for
//! by the broker adapter in the order book; an order whose outcome stays unknown
//! keeps its row PENDING and is looked up by tag on a backoff until found or the
//! look-up window ends (`unsettled`); an exit sends nothing else meanwhile (`retry`).
//! A placement refused for certain (rejection, 429, refused connection) is not an
//! unknown outcome: the entry fails at once, the exit is retried under a new tag.

use kitebreak_price::Quantity;
use kitebreak_strategy::{
    ClosedTrade, Direction, EntrySignal, ExitSignal, Fill, Position, Relevel, Trade,
};

use super::retry::{self, ExitRetry};
use super::send::final_row;
use super::unsettled::Unsettled;
use super::{Book, Context};
use crate::broker::{MarketOrder, OrderStatus, Side};
use crate::report::{EntryOutcome, ExitOutcome, OrderRecord};
use crate::store::WriteOp;
use crate::{EngineError, Symbol};

/// The side that opens a trade in `direction`.
pub(crate) fn opening_side(direction: Direction) -> Side {
    match direction {
        Direction::Long => Side::Buy,
        Direction::Short => Side::Sell,
    }
}

/// The side that closes a trade in `direction`.
pub(crate) fn closing_side(direction: Direction) -> Side {
    match opening_side(direction) {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

pub(super) fn event(symbol: &Symbol, kind: &'static str, detail: serde_json::Value) -> WriteOp {
    WriteOp::Event {
        symbol: Some(symbol.clone()),
        kind,
        detail,
    }
}

pub(super) fn fill_of(record: &OrderRecord) -> Option<Fill> {
    match &record.status {
        OrderStatus::Complete {
            average_price,
            filled_quantity,
            time,
        } => Some(Fill {
            price: *average_price,
            quantity: *filled_quantity,
            time: Some(*time),
            order_id: record.order_id.clone(),
        }),
        OrderStatus::Rejected { .. } => None,
    }
}

fn reason_of(record: &OrderRecord) -> String {
    match &record.status {
        OrderStatus::Rejected { reason } => reason.clone(),
        OrderStatus::Complete { .. } => String::new(),
    }
}

/// The writes that record an entry's intent: committed with the candle that
/// signalled, before the order is sent.
pub(crate) fn entry_intent(
    ctx: &Context,
    symbol: &Symbol,
    signal: &EntrySignal,
    quantity: Quantity,
) -> (MarketOrder, [WriteOp; 2]) {
    let side = opening_side(signal.direction);
    let (order, intent) = ctx.new_order(symbol, "entry", side, quantity, Some(signal.price));
    let detail = serde_json::json!({"tag": order.tag, "direction": signal.direction,
        "price": signal.price.to_string(), "quantity": quantity.get()});
    (order, [intent, event(symbol, "entry_signal", detail)])
}

/// The event recording an entry refused before any order was sent.
pub(crate) fn refusal_event(symbol: &Symbol, direction: Direction, reason: &str) -> WriteOp {
    let detail = serde_json::json!({"direction": direction, "reason": reason});
    event(symbol, "entry_refused", detail)
}

/// Sends the entry `order` whose intent is durable (the strategy is `Entering`) and
/// records how it ended.
#[tracing::instrument(skip_all, fields(%symbol, tag = %order.tag))]
pub(crate) async fn enter(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    order: MarketOrder,
) -> Result<EntryOutcome, EngineError> {
    let (record, unknown) = ctx.send_tracked(order).await;
    if unknown {
        return super::unsettled::entry_unknown(ctx, symbol, book, record).await;
    }
    finish_entry(ctx, symbol, book, record).await
}

/// Records how a sent entry ended (the strategy is `Entering`): a fill opens the
/// trade, anything else fails the entry.
pub(crate) async fn finish_entry(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    record: OrderRecord,
) -> Result<EntryOutcome, EngineError> {
    let Some(fill) = fill_of(&record) else {
        let reason = reason_of(&record);
        tracing::warn!(%symbol, tag = %record.tag, %reason, "entry rejected; no trade");
        book.strategy
            .entry_failed()
            .map_err(|e| EngineError::Conflict(e.to_string()))?;
        let detail = serde_json::json!({"tag": record.tag, "reason": reason});
        ctx.store
            .commit(vec![
                final_row(&record),
                event(symbol, "entry_rejected", detail),
            ])
            .await?;
        return Ok(EntryOutcome::Failed {
            order: record,
            reason,
        });
    };
    let opened = book.strategy.entry_filled(fill).cloned();
    let trade = match opened {
        Ok(trade) => trade,
        Err(error) => {
            // The fill left no representable target/stop; the strategy is flat again.
            tracing::error!(%symbol, tag = %record.tag, %error, "entry filled but no trade opened");
            ctx.store.commit(vec![final_row(&record)]).await?;
            return Ok(EntryOutcome::Failed {
                order: record,
                reason: error.to_string(),
            });
        }
    };
    let detail = serde_json::json!({"tag": record.tag, "entry": trade.price_entry.to_string(),
        "target": trade.price_target.to_string(), "stop": trade.price_stop.to_string()});
    let (armed, arm_row) = ctx.arm(symbol, closing_side(trade.direction), trade.quantity);
    ctx.store
        .commit(vec![
            final_row(&record),
            WriteOp::OpenTrade(symbol.clone(), trade.clone()),
            arm_row,
            event(symbol, "trade_opened", detail),
        ])
        .await?;
    book.armed = Some(armed);
    super::protect::guard(ctx, symbol, book).await;
    Ok(EntryOutcome::Filled {
        order: record,
        trade,
    })
}

/// Exits on `signal` (the strategy is `Exiting`).
///
/// An earlier attempt of unknown outcome is settled by its tag first (see
/// `shard::retry`): never two exit orders out for one trade. A failure leaves the
/// trade open with an `ExitRetry` due after the backoff.
#[tracing::instrument(skip_all, fields(%symbol, reason = %signal.reason))]
pub(crate) async fn exit(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    signal: ExitSignal,
) -> Result<ExitOutcome, EngineError> {
    // The exchange-side stop goes first: never two closing orders out at once.
    match super::protect::lift(ctx, symbol, book).await {
        super::protect::Lift::Clear => {}
        super::protect::Lift::Filled(record) => {
            if let Some(done) = super::protect::closed_by_stop(ctx, symbol, book, record).await? {
                return Ok(done);
            }
        }
        super::protect::Lift::Failed(error) => {
            let _ = book.strategy.exit_failed();
            failed(ctx, symbol, book, &signal, error.clone(), None);
            return Err(EngineError::Refused(error));
        }
    }
    let Some(trade) = book.strategy.trade().cloned() else {
        return Err(EngineError::NoOpenTrade(symbol.clone()));
    };
    let mut writes = Vec::new();
    let (record, unknown) = match retry::settle_outstanding(ctx, book).await {
        retry::Outstanding::Unknown(why) => {
            // Still unknown: nothing new may go out. Look again after the backoff.
            let _ = book.strategy.exit_failed();
            let kept = book.exit_retry.as_ref().and_then(|r| r.outstanding.clone());
            let order = kept.as_ref().map(|k| k.record.clone());
            failed(ctx, symbol, book, &signal, why.clone(), kept);
            return match order {
                Some(order) => Ok(ExitOutcome::Failed { order, reason: why }),
                None => Err(EngineError::Conflict(why)),
            };
        }
        retry::Outstanding::Final(record, _) if fill_of(&record).is_some() => (record, false),
        settled => {
            if let retry::Outstanding::Final(_, row) = settled {
                // The earlier attempt is final without a fill: record it, send anew.
                writes.push(*row);
            }
            let side = closing_side(trade.direction);
            match take_armed(ctx, book, side, trade.quantity, &mut writes) {
                Some(order) => send_armed(ctx, symbol, &signal, order, writes).await,
                None => {
                    let (order, intent) =
                        ctx.new_order(symbol, "exit", side, trade.quantity, Some(signal.price));
                    let detail = serde_json::json!({"tag": order.tag, "reason": signal.reason, "price": signal.price.to_string()});
                    writes.extend([intent, event(symbol, "exit_signal", detail)]);
                    if let Err(error) = ctx.store.commit(std::mem::take(&mut writes)).await {
                        let _ = book.strategy.exit_failed();
                        return Err(error);
                    }
                    ctx.send_tracked(order).await
                }
            }
        }
    };
    let mut writes = Vec::new();
    let Some(fill) = fill_of(&record) else {
        let reason = reason_of(&record);
        let _ = book.strategy.exit_failed();
        let outstanding = unknown.then(|| Unsettled::new(record.clone(), ctx.gate.now()));
        let retry = failed(ctx, symbol, book, &signal, reason.clone(), outstanding);
        let detail = serde_json::json!({"tag": record.tag, "reason": reason,
            "attempt": retry.attempts, "next_attempt": retry.next_at.to_string(), "unknown": unknown});
        if !unknown {
            // An order of unknown outcome stays PENDING: a restart looks it up.
            writes.push(final_row(&record));
        }
        writes.push(event(symbol, "exit_rejected", detail));
        // The next attempt goes out under a fresh tag, armed now.
        let (armed, arm_row) = ctx.arm(symbol, closing_side(trade.direction), trade.quantity);
        writes.push(arm_row);
        ctx.store.commit(writes).await?;
        book.armed = Some(armed);
        return Ok(ExitOutcome::Failed {
            order: record,
            reason,
        });
    };
    if fill.quantity < trade.quantity {
        return partial_exit(ctx, symbol, book, &signal, trade, record, fill, writes).await;
    }
    let closed = book
        .strategy
        .exit_filled(fill)
        .map_err(|e| EngineError::Conflict(e.to_string()))?;
    book.exit_retry = None;
    book.armed = None;
    if book.strategy.params().relevel() == Relevel::Fresh {
        // The strategy cleared its history: later candles start a new one.
        book.history_from = book.next_seq;
    }
    let detail = serde_json::json!({"tag": record.tag, "reason": closed.exit_reason,
        "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string()});
    writes.extend([
        final_row(&record),
        WriteOp::CloseTrade(symbol.clone(), closed.clone()),
        book.row(symbol),
        event(symbol, "trade_closed", detail),
    ]);
    ctx.store.commit(writes).await?;
    ctx.gate.realized(closed.pnl);
    Ok(ExitOutcome::Closed {
        order: record,
        closed,
    })
}

/// An exit that filled only part of the trade: the filled units are a closed trade,
/// the rest stays open with its exit pending (retried after the backoff, for the
/// units still held). Nothing is left unmanaged at the broker.
#[allow(clippy::too_many_arguments)]
async fn partial_exit(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    signal: &ExitSignal,
    trade: Trade,
    record: OrderRecord,
    fill: Fill,
    mut writes: Vec<WriteOp>,
) -> Result<ExitOutcome, EngineError> {
    let held = trade.quantity.get();
    let sold = fill.quantity.get();
    let rest = Quantity::new(held - sold).map_err(|e| EngineError::Conflict(e.to_string()))?;
    let part = Trade {
        quantity: fill.quantity,
        ..trade.clone()
    };
    let closed = ClosedTrade::new(part, fill, signal.reason);
    let open = Trade {
        quantity: rest,
        ..trade
    };
    book.strategy = retry::repositioned(&book.strategy, Position::Open(open.clone()));
    let reason = format!(
        "exit filled {sold} of {held} units; {} still held",
        rest.get()
    );
    let retry = failed(ctx, symbol, book, signal, reason.clone(), None);
    let detail = serde_json::json!({"tag": record.tag, "filled": sold, "held": held,
        "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string(),
        "next_attempt": retry.next_at.to_string()});
    // The close marks the spent armed row UNUSED; the rest is armed anew after it.
    let (armed, arm_row) = ctx.arm(symbol, closing_side(open.direction), open.quantity);
    writes.extend([
        final_row(&record),
        WriteOp::CloseTrade(symbol.clone(), closed.clone()),
        WriteOp::OpenTrade(symbol.clone(), open),
        arm_row,
        event(symbol, "exit_partial", detail),
    ]);
    ctx.store.commit(writes).await?;
    book.armed = Some(armed);
    ctx.gate.realized(closed.pnl);
    Ok(ExitOutcome::Failed {
        order: record,
        reason,
    })
}

/// The book's armed exit, if it closes this trade (`side`, `quantity`) and the send
/// journal took its tag: then it may go out before anything is committed. An armed
/// order for other terms (the trade changed size under an exchange-side stop's
/// partial fill) is marked UNUSED in `writes` and the exit goes the slow way.
fn take_armed(
    ctx: &Context,
    book: &mut Book,
    side: Side,
    quantity: Quantity,
    writes: &mut Vec<WriteOp>,
) -> Option<MarketOrder> {
    let armed = book.armed.take()?;
    if armed.side != side || armed.quantity != quantity {
        writes.push(WriteOp::ArmedUnused(armed.tag));
        return None;
    }
    match ctx.journal.note_sending(&armed.tag) {
        Ok(()) => Some(armed),
        Err(error) => {
            // Not noted: a crash could not tell this tag was sent. It must not go
            // out before its row says PENDING (the slow way, under a fresh tag).
            tracing::warn!(tag = %armed.tag, %error, "send journal not written; exit intent committed first");
            writes.push(WriteOp::ArmedUnused(armed.tag));
            None
        }
    }
}

/// Sends an armed exit at once, committing its PENDING row (and the `writes` of
/// an earlier attempt) while the order is on its way: the ARMED row is durable and
/// the journal names the tag, so a crash at any point finds it by tag.
async fn send_armed(
    ctx: &Context,
    symbol: &Symbol,
    signal: &ExitSignal,
    order: MarketOrder,
    mut writes: Vec<WriteOp>,
) -> (OrderRecord, bool) {
    let detail = serde_json::json!({"tag": order.tag, "reason": signal.reason,
        "price": signal.price.to_string()});
    writes.extend([
        WriteOp::ArmedSent {
            tag: order.tag.clone(),
            signal_price: Some(signal.price),
        },
        event(symbol, "exit_signal", detail),
    ]);
    let tag = order.tag.clone();
    let (committed, sent) = tokio::join!(ctx.store.commit(writes), ctx.send_tracked(order));
    if let Err(error) = committed {
        // The order is out: its outcome is still applied (and committed next). The
        // row stays ARMED on disk and the journal names it, so a restart looks it up.
        tracing::error!(%symbol, %tag, %error, "exit sent but its PENDING row not stored");
    }
    sent
}

/// Records a failed exit attempt: ERROR log, counter, and the retry's next time.
fn failed<'a>(
    ctx: &Context,
    symbol: &Symbol,
    book: &'a mut Book,
    signal: &ExitSignal,
    error: String,
    outstanding: Option<Unsettled>,
) -> &'a ExitRetry {
    let now = ctx.gate.now();
    retry::count_failure(ctx);
    retry::wake_timer(ctx);
    let retry = book.exit_retry.get_or_insert_with(|| ExitRetry {
        reason: signal.reason,
        price: signal.price,
        attempts: 0,
        last_error: String::new(),
        next_at: now,
        outstanding: None,
    });
    retry.failed(now, error, outstanding);
    tracing::error!(%symbol, attempt = retry.attempts, error = %retry.last_error,
        next_attempt = %retry.next_at, unknown = retry.outstanding.is_some(),
        "EXIT FAILED: the trade stays open; retrying with backoff");
    retry
}

//! The order lifecycle: intent recorded durably → sent → final status → strategy told
//! → recorded durably.
//!
//! | order ends | entry                              | exit                                     |
//! |------------|------------------------------------|------------------------------------------|
//! | COMPLETE   | `entry_filled` at the average price | `exit_filled`; closed trade stored       |
//! | REJECTED   | `entry_failed`: no trade, unlocked  | `exit_failed`: trade stays open, retried |
//!
//! The intent (tag, side, quantity, PENDING) is committed *before* the order is sent,
//! so after a crash the database names every order that might be out; recovery then
//! settles them (see `recovery`). The paper broker answers at once; a live broker's
//! timeouts will be resolved here by searching the order book for the tag.

use kitebreak_price::Quantity;
use kitebreak_strategy::{Direction, EntrySignal, ExitSignal, Fill, Relevel};

use super::send::final_row;
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

fn closing_side(direction: Direction) -> Side {
    match opening_side(direction) {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

fn event(symbol: &Symbol, kind: &'static str, detail: serde_json::Value) -> WriteOp {
    WriteOp::Event {
        symbol: Some(symbol.clone()),
        kind,
        detail,
    }
}

fn fill_of(record: &OrderRecord) -> Option<Fill> {
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
    let record = ctx.send(order).await;
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
    ctx.store
        .commit(vec![
            final_row(&record),
            WriteOp::OpenTrade(symbol.clone(), trade.clone()),
            event(symbol, "trade_opened", detail),
        ])
        .await?;
    Ok(EntryOutcome::Filled {
        order: record,
        trade,
    })
}

/// Exits on `signal` (the strategy is `Exiting`).
#[tracing::instrument(skip_all, fields(%symbol, reason = %signal.reason))]
pub(crate) async fn exit(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    signal: ExitSignal,
) -> Result<ExitOutcome, EngineError> {
    let Some(trade) = book.strategy.trade().cloned() else {
        return Err(EngineError::NoOpenTrade(symbol.clone()));
    };
    let side = closing_side(trade.direction);
    let (order, intent) = ctx.new_order(symbol, "exit", side, trade.quantity, Some(signal.price));
    let detail = serde_json::json!({"tag": order.tag, "reason": signal.reason, "price": signal.price.to_string()});
    if let Err(error) = ctx
        .store
        .commit(vec![intent, event(symbol, "exit_signal", detail)])
        .await
    {
        let _ = book.strategy.exit_failed();
        return Err(error);
    }
    let record = ctx.send(order).await;
    let Some(fill) = fill_of(&record) else {
        let reason = reason_of(&record);
        tracing::error!(%symbol, tag = %record.tag, %reason, "EXIT REJECTED: the trade stays open and the next price retries");
        let _ = book.strategy.exit_failed();
        let detail = serde_json::json!({"tag": record.tag, "reason": reason});
        ctx.store
            .commit(vec![
                final_row(&record),
                event(symbol, "exit_rejected", detail),
            ])
            .await?;
        return Ok(ExitOutcome::Failed {
            order: record,
            reason,
        });
    };
    let closed = book
        .strategy
        .exit_filled(fill)
        .map_err(|e| EngineError::Conflict(e.to_string()))?;
    if book.strategy.params().relevel() == Relevel::Fresh {
        // The strategy cleared its history: later candles start a new one.
        book.history_from = book.next_seq;
    }
    let detail = serde_json::json!({"tag": record.tag, "reason": closed.exit_reason,
        "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string()});
    ctx.store
        .commit(vec![
            final_row(&record),
            WriteOp::CloseTrade(symbol.clone(), closed.clone()),
            book.row(symbol),
            event(symbol, "trade_closed", detail),
        ])
        .await?;
    ctx.gate.realized(closed.pnl);
    Ok(ExitOutcome::Closed {
        order: record,
        closed,
    })
}

//! Exchange-side protection (`[orders] protection = "exchange"`): a stop order resting
//! at the broker guards each open trade while kitebreak is down. MIS trades get an
//! SL-M stop (`Protection::Exchange`, below); CNC/NRML trades a two-leg GTT at the
//! stop and the target (`Protection::ExchangeOco`, in `oco`), with the same
//! discipline: placed after the fill is committed, lifted before every exit,
//! checked each second, recovered at start.
//!
//! - **Placed** (`guard`) right after an entry's fill is committed: an SL-M order on
//!   the closing side for the trade's units, triggered at its stop (the adapter rounds
//!   the trigger onto the tick so it fires no later than the stop). Same discipline as
//!   every order: an intent row (`purpose = 'protect'`, a fresh `KB…` tag, PENDING) is
//!   committed before it is sent, so a crash leaves its tag on disk.
//! - **Lifted** (`lift`, in `lift`) before every exit kitebreak sends (target, stop,
//!   manual, square-off, flatten, a forced reset): cancelled first, and only then is the exit sent. If the stop
//!   filled first, the trade closes from that fill (reason `loss`) and no second exit
//!   goes out; if it filled in part, those units close and only the rest is exited. A
//!   cancel that fails with the stop possibly still working sends nothing: the exit is
//!   retried with backoff (two closing orders out at once could open a new position).
//!   A stop of unknown outcome that the book does not show yet blocks the exit until
//!   it is found or its look-up window is over.
//! - **Checked** (`check`, in `check`, from `Engine::protect_step` over one read of the broker's
//!   book): a stop that fired while kitebreak runs closes the trade from its fill; one
//!   that was rejected or cancelled elsewhere is raised loudly (ERROR log, `protection`
//!   in `GET /strategy/{symbol}`) and the trade stays open, watched by kitebreak. An
//!   open trade without a stop and without such an alert (restored after a restart,
//!   or whose stop was never placed) is guarded again.
//! - **Recovered** (`recover`) at start, by tag: filled while kitebreak was down → the
//!   trade closes from that fill; still working → it keeps guarding; a working stop
//!   whose trade is gone is cancelled; absent while its trade is open → it guards on
//!   as a stop of unknown outcome.
//!
//! Start-up recovery of the stops is in `recover`.
//!
//! Paper: a no-op. Protection rests a stop at the exchange for the time kitebreak is
//! down, and the paper broker has no exchange (`Broker::exchange_account` is false:
//! its book is a file of this process's, which fills nothing while kitebreak is
//! down), so there is nothing to guard; it does not implement `place_stop` or
//! `place_oco` either.

use kitebreak_price::{Price, Quantity};
use kitebreak_strategy::{
    ClosedTrade, Direction, ExitReason, ExitSignal, Fill, Position, Relevel, Trade,
};

use super::orders::{event, fill_of};
use super::retry::repositioned;
use super::send::final_row;
use super::{Book, Context};
use crate::broker::{BrokerError, OrderId, OrderStatus, Side, StopOrder};
use crate::report::{ExitOutcome, OrderRecord, ProtectionStatus};
use crate::store::{OrderFinal, WriteOp};
use crate::{EngineError, Protection, Symbol};

/// The stop resting at the broker for a symbol's open trade.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub tag: String,
    /// `None` while its placement's outcome is unknown: found by the tag later.
    pub order_id: Option<OrderId>,
    pub side: Side,
    pub quantity: Quantity,
    pub trigger: Price,
    /// Set when the guard is a GTT OCO (`order_id` is then its trigger id).
    pub oco: Option<oco::OcoGuard>,
    /// When its placement's outcome became unknown (engine clock): until
    /// [`LOOKUP_WINDOW`] has passed, a tag not in the book is not taken as "never
    /// placed" (Kite can show an order late), so no exit goes out beside it.
    pub unknown_since: Option<jiff::Timestamp>,
}

impl Guard {
    /// True once a tag (or, for a GTT, terms) the broker does not show may be taken
    /// as never placed: the look-up window since its outcome became unknown is over
    /// (`unsettled::window_over`), or its outcome was never unknown.
    pub(crate) fn may_be_lost(&self, now: jiff::Timestamp) -> bool {
        self.unknown_since
            .is_none_or(|since| super::unsettled::window_over(since, now))
    }
}

/// What `GET /strategy/{symbol}` shows about the trade's protection.
pub(crate) fn status(book: &Book) -> Option<ProtectionStatus> {
    if book.protection.is_none() && book.protection_alert.is_none() {
        return None;
    }
    Some(ProtectionStatus {
        tag: book.protection.as_ref().map(|g| g.tag.clone()),
        trigger: book.protection.as_ref().map(|g| g.trigger),
        error: book.protection_alert.clone(),
    })
}

/// Whether this engine guards trades at the exchange at all.
pub(crate) fn enabled(ctx: &Context) -> bool {
    ctx.config.protection != Protection::None && ctx.broker.exchange_account()
}

pub(crate) fn closing(direction: Direction) -> Side {
    match direction {
        Direction::Long => Side::Sell,
        Direction::Short => Side::Buy,
    }
}

/// The row of a stop that ended without a fill (`CANCELLED`, `REJECTED`, `LOST`).
pub(crate) fn ended(
    tag: &str,
    status: &'static str,
    order_id: Option<OrderId>,
    reason: &str,
) -> WriteOp {
    WriteOp::OrderFinal(OrderFinal {
        tag: tag.to_string(),
        status,
        broker_order_id: order_id,
        average_price: None,
        filled_quantity: None,
        reason: Some(reason.to_string()),
    })
}

/// Raises a trade left without its exchange-side stop: ERROR log and the status.
pub(crate) fn raise(symbol: &Symbol, book: &mut Book, reason: String) {
    tracing::error!(%symbol, %reason,
        "PROTECTION FAILED: no exchange-side stop guards this trade; kitebreak still watches it");
    book.protection_alert = Some(reason);
}

pub(crate) fn record_of(
    symbol: &Symbol,
    guard: &Guard,
    order_id: OrderId,
    status: OrderStatus,
) -> OrderRecord {
    OrderRecord {
        tag: guard.tag.clone(),
        order_id: Some(order_id),
        symbol: symbol.clone(),
        side: guard.side,
        quantity: guard.quantity,
        status,
    }
}

/// Places the stop for the symbol's open trade (just opened, or found unguarded).
/// Never fails the caller: whatever goes wrong is raised and the trade is kept.
pub(crate) async fn guard(ctx: &Context, symbol: &Symbol, book: &mut Book) {
    if !enabled(ctx) || book.protection.is_some() {
        return;
    }
    let Some(trade) = book.strategy.trade().cloned() else {
        return;
    };
    let side = closing(trade.direction);
    let gtt = ctx.config.protection == Protection::ExchangeOco;
    let purpose = if gtt { oco::PURPOSE } else { "protect" };
    let (order, intent) = ctx.new_order(
        symbol,
        purpose,
        side,
        trade.quantity,
        Some(trade.price_stop),
    );
    let detail = serde_json::json!({"tag": order.tag, "trigger": trade.price_stop.to_string(),
        "quantity": trade.quantity.get(), "gtt": gtt, "target": trade.price_target.to_string()});
    if let Err(error) = ctx
        .store
        .commit(vec![intent, event(symbol, "protection_intent", detail)])
        .await
    {
        raise(
            symbol,
            book,
            format!("the stop's intent could not be stored: {error}"),
        );
        return;
    }
    let mut guard = Guard {
        tag: order.tag.clone(),
        order_id: None,
        side,
        quantity: trade.quantity,
        trigger: trade.price_stop,
        oco: gtt.then_some(oco::OcoGuard {
            target: trade.price_target,
            fired: None,
        }),
        unknown_since: None,
    };
    let placed = if gtt {
        let terms = oco::terms(symbol, &guard, trade.price_entry);
        ctx.broker.place_oco(terms).await
    } else {
        let stop = StopOrder {
            tag: order.tag,
            symbol: symbol.clone(),
            side,
            quantity: trade.quantity,
            trigger: trade.price_stop,
        };
        ctx.broker.place_stop(stop).await
    };
    match placed {
        Ok(id) => {
            tracing::info!(%symbol, tag = %guard.tag, order_id = %id, trigger = %guard.trigger,
                gtt, "exchange-side protection placed");
            let detail = serde_json::json!({"tag": guard.tag, "order_id": id});
            // The broker's id on the still-PENDING row: a GTT has no tag to be
            // found by after a restart, so its trigger id must be on disk.
            let writes = vec![
                oco::placed_row(&guard.tag, &id),
                event(symbol, "protection_placed", detail),
            ];
            guard.order_id = Some(id);
            book.protection = Some(guard);
            book.protection_alert = None;
            if let Err(error) = ctx.store.commit(writes).await {
                tracing::warn!(%symbol, %error, "protection_placed event not stored");
            }
        }
        Err(BrokerError::OutcomeUnknown(_)) => {
            // The stop may be resting: keep its tag, the next check or exit finds it.
            tracing::warn!(%symbol, tag = %guard.tag,
                "exchange-side stop of unknown outcome; looked up by its tag later");
            guard.unknown_since = Some(ctx.gate.now());
            book.protection = Some(guard);
        }
        Err(BrokerError::Unavailable(error)) => {
            // Certainly not placed (a 429, a refused connection): the intent ends
            // here and the next check guards the trade again under a new tag.
            ctx.broker_errors
                .count(&BrokerError::Unavailable(error.clone()));
            tracing::warn!(%symbol, tag = %guard.tag, %error,
                "exchange-side stop not placed; the next check tries again");
            let reason = format!("not placed: {error}");
            if let Err(error) = ctx
                .store
                .commit(vec![ended(&guard.tag, "REJECTED", None, &reason)])
                .await
            {
                tracing::warn!(%symbol, %error, "unplaced stop not stored");
            }
        }
        Err(error) => {
            ctx.broker_errors.count(&error);
            let reason = format!("the exchange-side stop was refused: {error}");
            let detail = serde_json::json!({"tag": guard.tag, "reason": reason});
            let writes = vec![
                ended(&guard.tag, "REJECTED", None, &reason),
                event(symbol, "protection_rejected", detail),
            ];
            raise(symbol, book, reason);
            if let Err(error) = ctx.store.commit(writes).await {
                tracing::warn!(%symbol, %error, "protection_rejected not stored");
            }
        }
    }
}

/// Applies a fill of the stop to the book: the filled units close at the fill's
/// price (reason `loss`); units left over stay open (`true` in the answer).
pub(crate) fn apply_fill(
    symbol: &Symbol,
    book: &mut Book,
    record: &OrderRecord,
    fill: Fill,
) -> Result<(ClosedTrade, Vec<WriteOp>, bool), EngineError> {
    let Some(trade) = book.strategy.trade().cloned() else {
        return Err(EngineError::NoOpenTrade(symbol.clone()));
    };
    let mut writes = vec![final_row(record)];
    // A GTT's target leg closes beyond the entry: that is a profit, not a stop.
    let beyond_entry = match trade.direction {
        Direction::Long => fill.price > trade.price_entry,
        Direction::Short => fill.price < trade.price_entry,
    };
    let reason = if beyond_entry {
        ExitReason::Profit
    } else {
        ExitReason::Loss
    };
    if fill.quantity < trade.quantity {
        let held = trade.quantity.get();
        let sold = fill.quantity.get();
        let rest = Quantity::new(held - sold).map_err(|e| EngineError::Conflict(e.to_string()))?;
        let part = Trade {
            quantity: fill.quantity,
            ..trade.clone()
        };
        let closed = ClosedTrade::new(part, fill, reason);
        let open = Trade {
            quantity: rest,
            ..trade
        };
        let position = match book.strategy.position() {
            Position::Exiting { exit, .. } => Position::Exiting {
                trade: open.clone(),
                exit: *exit,
            },
            _ => Position::Open(open.clone()),
        };
        book.strategy = repositioned(&book.strategy, position);
        let detail = serde_json::json!({"tag": record.tag, "filled": sold, "held": held,
            "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string()});
        writes.extend([
            WriteOp::CloseTrade(symbol.clone(), closed.clone()),
            WriteOp::OpenTrade(symbol.clone(), open),
            event(symbol, "protection_partial", detail),
        ]);
        return Ok((closed, writes, true));
    }
    let exit = ExitSignal {
        reason,
        price: fill.price,
    };
    book.strategy = repositioned(&book.strategy, Position::Exiting { trade, exit });
    let closed = book
        .strategy
        .exit_filled(fill)
        .map_err(|e| EngineError::Conflict(e.to_string()))?;
    book.exit_retry = None;
    if book.strategy.params().relevel() == Relevel::Fresh {
        book.history_from = book.next_seq;
    }
    let detail = serde_json::json!({"tag": record.tag, "reason": closed.exit_reason,
        "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string(), "protection": true});
    writes.extend([
        WriteOp::CloseTrade(symbol.clone(), closed.clone()),
        book.row(symbol),
        event(symbol, "trade_closed", detail),
    ]);
    Ok((closed, writes, false))
}

/// Closes the trade (or the filled part of it) from the stop's fill, found while
/// exiting or checking. `Some` when nothing is left to exit.
pub(crate) async fn closed_by_stop(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    record: OrderRecord,
) -> Result<Option<ExitOutcome>, EngineError> {
    let Some(fill) = fill_of(&record) else {
        return Ok(None);
    };
    let (closed, writes, rest) = apply_fill(symbol, book, &record, fill)?;
    ctx.store.commit(writes).await?;
    ctx.gate.realized(closed.pnl);
    tracing::warn!(%symbol, tag = %record.tag, exit = %closed.price_exit,
        rest, "the exchange-side stop filled; trade closed from its fill");
    Ok((!rest).then_some(ExitOutcome::Closed {
        order: record,
        closed,
    }))
}

mod check;
mod lift;
pub(crate) mod oco;
mod recover;
pub(crate) use check::check;
pub(crate) use lift::{Lift, lift};
pub(crate) use recover::recover;

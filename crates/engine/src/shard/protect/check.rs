//! The periodic check of a trade's SL-M stop against the broker's final orders (the
//! GTT's is in `oco`), and the settling of a stop of unknown outcome once its look-up
//! window is over.

use kitebreak_strategy::Position;

use super::{Book, Context, Guard, closed_by_stop, ended, guard, oco, raise, record_of};
use crate::Symbol;
use crate::broker::{OcoReport, OrderReport, OrderStatus};
use crate::shard::orders::{event, fill_of};

/// One check of the symbol's stop against the broker's book (final orders only).
pub(crate) async fn check(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    book_orders: &[OrderReport],
    ocos: Option<&[OcoReport]>,
) {
    if let Some(guard) = book.protection.clone()
        && guard.oco.is_some()
    {
        return oco::check(ctx, symbol, book, guard, ocos).await;
    }
    let Some(guard) = book.protection.clone() else {
        // Not while an exit is pending: an exit of unknown outcome may have closed the
        // position, and a fresh stop could then open one.
        if book.protection_alert.is_none()
            && book.exit_retry.is_none()
            && matches!(book.strategy.position(), Position::Open(_))
        {
            guard_open(ctx, symbol, book).await;
        }
        return;
    };
    if guard.order_id.is_none() && guard.may_be_lost(ctx.gate.now()) {
        return settle_unknown(ctx, symbol, book, guard).await;
    }
    let Some(report) = book_orders.iter().find(|r| r.order.tag == guard.tag) else {
        return; // Not final: still guarding.
    };
    book.protection = None;
    let record = record_of(
        symbol,
        &guard,
        report.order_id.clone(),
        report.status.clone(),
    );
    if fill_of(&record).is_some() {
        match closed_by_stop(ctx, symbol, book, record).await {
            Ok(Some(_)) => {}
            Ok(None) => raise(
                symbol,
                book,
                "the exchange-side stop filled only in part".into(),
            ),
            Err(error) => tracing::error!(%symbol, %error, "stop fill not applied"),
        }
        return;
    }
    let reason = match &record.status {
        OrderStatus::Rejected { reason } => {
            format!("the exchange-side stop ended unfilled: {reason}")
        }
        OrderStatus::Complete { .. } => String::new(),
    };
    let detail = serde_json::json!({"tag": guard.tag, "reason": reason});
    let writes = vec![
        ended(&guard.tag, "REJECTED", record.order_id.clone(), &reason),
        event(symbol, "protection_rejected", detail),
    ];
    raise(symbol, book, reason);
    if let Err(error) = ctx.store.commit(writes).await {
        tracing::warn!(%symbol, %error, "protection_rejected not stored");
    }
}

/// A stop of unknown outcome whose look-up window is over: found by its tag, it
/// guards on under its id (its end is seen by the next checks); still absent, it was
/// never placed (LOST) and the trade is guarded again under a new tag.
async fn settle_unknown(ctx: &Context, symbol: &Symbol, book: &mut Book, guard: Guard) {
    match ctx.broker.find_by_tag(&guard.tag).await {
        Ok(Some(found)) => {
            tracing::info!(%symbol, tag = %guard.tag, order_id = %found.order_id,
                "the exchange-side stop of unknown outcome was found");
            book.protection = Some(Guard {
                order_id: Some(found.order_id),
                unknown_since: None,
                ..guard
            });
        }
        Ok(None) => {
            tracing::warn!(%symbol, tag = %guard.tag,
                "the exchange-side stop of unknown outcome was never placed; guarding again");
            book.protection = None;
            let row = ended(&guard.tag, "LOST", None, "not in the broker's order book");
            if let Err(error) = ctx.store.commit(vec![row]).await {
                tracing::warn!(%symbol, %error, "lost stop not stored");
            }
            if book.exit_retry.is_none() {
                guard_open(ctx, symbol, book).await;
            }
        }
        Err(error) => ctx.broker_errors.count(&error),
    }
}

async fn guard_open(ctx: &Context, symbol: &Symbol, book: &mut Book) {
    tracing::info!(%symbol, "open trade without an exchange-side stop; placing one");
    guard(ctx, symbol, book).await;
}

//! The GTT OCO guard of CNC/NRML trades (`Protection::ExchangeOco`): a two-leg GTT at
//! the trade's stop (lower for a long) and target (upper), both legs on the closing
//! side for the trade's units. Placed by `guard` in `super` like the SL-M stop
//! (intent `purpose = 'protect_oco'` committed first); this module lifts, checks and
//! recovers it.
//!
//! - **Found again** without a tag: the trigger id is written on the intent's row as
//!   soon as Kite answers (`placed_row`); a placement whose answer was lost is looked
//!   for among the listed GTTs by its terms (`Broker::find_oco`), at the next check,
//!   lift or restart. Not found is not taken as "not placed" until the look-up
//!   window (`unsettled::LOOKUP_WINDOW`) since its outcome became unknown is over
//!   (Kite may list it late): until then it guards on, blocking the exit and a
//!   second GTT. After it, not found means not placed (`LOST`); the next check
//!   places a new one.
//! - **Lifted** before every exit: deleted first. If a leg fired, the order it placed
//!   is cancelled (a working LIMIT) and whatever it filled closes the trade, so no
//!   second closing order goes out; only the unfilled rest is exited. A delete or a
//!   cancel that fails sends nothing (the exit is retried).
//! - **Checked** each second over one listing of the GTTs: a fired leg's order is
//!   read until final (a fill closes the trade, at a profit for the target leg); a
//!   GTT deleted, rejected or expired elsewhere, or a leg whose order failed, is
//!   raised (`PROTECTION FAILED`, `protection.error`) and the trade stays watched by
//!   kitebreak, as with the SL-M stop. A GTT for fewer or more units than the trade
//!   holds is modified to the trade's units.
//!
//! Start-up recovery of a GTT's intent is in `recover` (`recover_oco`).

use kitebreak_price::Price;

use super::{Guard, Lift, closed_by_stop, ended, raise, record_of};
use crate::Symbol;
use crate::broker::{FoundOrder, OcoOrder, OcoReport, OcoState, OrderId};
use crate::broker::{OrderProgress, OrderStatus};
use crate::shard::orders::{event, fill_of};
use crate::shard::{Book, Context};
use crate::store::{OrderFinal, WriteOp};

/// The `purpose` of a GTT's intent row.
pub(crate) const PURPOSE: &str = "protect_oco";

/// What a GTT guard adds to [`Guard`].
#[derive(Debug, Clone)]
pub(crate) struct OcoGuard {
    /// The trade's target: the GTT's other trigger.
    pub target: Price,
    /// The order a fired leg placed, until it is final.
    pub fired: Option<OrderId>,
}

/// The GTT `guard` stands for; `last_price` is what Kite keeps in its condition.
pub(crate) fn terms(symbol: &Symbol, guard: &Guard, last_price: Price) -> OcoOrder {
    OcoOrder {
        symbol: symbol.clone(),
        side: guard.side,
        quantity: guard.quantity,
        stop: guard.trigger,
        target: guard.oco.as_ref().map_or(guard.trigger, |o| o.target),
        last_price,
    }
}

/// Records the broker's id on a row that stays PENDING (only the id changes).
pub(crate) fn placed_row(tag: &str, id: &str) -> WriteOp {
    WriteOp::OrderFinal(OrderFinal {
        tag: tag.to_string(),
        status: "PENDING",
        broker_order_id: Some(id.to_string()),
        average_price: None,
        filled_quantity: None,
        reason: None,
    })
}

async fn commit(ctx: &Context, symbol: &Symbol, writes: Vec<WriteOp>) {
    if let Err(error) = ctx.store.commit(writes).await {
        tracing::warn!(%symbol, %error, "GTT protection state not stored");
    }
}

/// Deletes the GTT before kitebreak's own exit (see the module doc).
pub(super) async fn lift(ctx: &Context, symbol: &Symbol, book: &mut Book, guard: Guard) -> Lift {
    if let Some(order_id) = guard.oco.as_ref().and_then(|o| o.fired.clone()) {
        return cancel_fired(ctx, symbol, book, &guard, order_id).await;
    }
    let id = match guard.order_id.clone() {
        Some(id) => id,
        None => match ctx
            .broker
            .find_oco(&terms(symbol, &guard, guard.trigger))
            .await
        {
            Ok(Some(found)) => found.id,
            Ok(None) if !guard.may_be_lost(ctx.gate.now()) => {
                return super::lift::not_shown_yet(&format!("GTT {}", guard.tag));
            }
            Ok(None) => {
                book.protection = None;
                let row = ended(
                    &guard.tag,
                    "LOST",
                    None,
                    "no GTT with its terms at the broker",
                );
                commit(ctx, symbol, vec![row]).await;
                return Lift::Clear;
            }
            Err(error) => {
                ctx.broker_errors.count(&error);
                return Lift::Failed(format!(
                    "GTT {} could not be looked up ({error}); no exit sent while it may fire",
                    guard.tag
                ));
            }
        },
    };
    match ctx.broker.cancel_oco(&id).await {
        Ok(OcoReport {
            state:
                OcoState::Triggered {
                    order_id: Some(order_id),
                    ..
                },
            ..
        }) => cancel_fired(ctx, symbol, book, &guard, order_id).await,
        Ok(report) => {
            book.protection = None;
            tracing::info!(%symbol, tag = %guard.tag, gtt = %id, "GTT deleted before the exit");
            let detail = serde_json::json!({"tag": guard.tag, "gtt": id});
            let reason = match report.state {
                OcoState::Triggered { reason, .. } => format!(
                    "fired, its order not placed: {}",
                    reason.unwrap_or_default()
                ),
                _ => "deleted before kitebreak's exit".into(),
            };
            let writes = vec![
                ended(&guard.tag, "CANCELLED", Some(id), &reason),
                event(symbol, "protection_cancelled", detail),
            ];
            commit(ctx, symbol, writes).await;
            Lift::Clear
        }
        Err(error) => {
            ctx.broker_errors.count(&error);
            Lift::Failed(format!(
                "GTT {id} not deleted ({error}); no exit sent while it may fire"
            ))
        }
    }
}

/// Cancels the order a fired leg placed; what it filled closes the trade.
async fn cancel_fired(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    guard: &Guard,
    order_id: OrderId,
) -> Lift {
    match ctx.broker.cancel(&order_id).await {
        Ok(status) => {
            book.protection = None;
            let record = record_of(symbol, guard, order_id.clone(), status);
            if fill_of(&record).is_some() {
                return Lift::Filled(record);
            }
            let row = ended(
                &guard.tag,
                "CANCELLED",
                Some(order_id),
                "the GTT's order was cancelled before kitebreak's exit",
            );
            commit(ctx, symbol, vec![row]).await;
            Lift::Clear
        }
        Err(error) => {
            ctx.broker_errors.count(&error);
            Lift::Failed(format!(
                "the order {order_id} of GTT {} not cancelled ({error}); no exit sent",
                guard.tag
            ))
        }
    }
}

/// One check of the symbol's GTT against the listing (`None`: not read this time).
pub(super) async fn check(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    mut guard: Guard,
    ocos: Option<&[OcoReport]>,
) {
    if let Some(order_id) = guard.oco.as_ref().and_then(|o| o.fired.clone()) {
        return settle_fired(ctx, symbol, book, guard, order_id).await;
    }
    let Some(ocos) = ocos else {
        return;
    };
    let Some(id) = guard.order_id.clone() else {
        return find_unrecorded(ctx, symbol, book, guard).await;
    };
    let report = match ocos.iter().find(|r| r.id == id) {
        Some(report) => report.clone(),
        // A listing may leave deleted GTTs out (kite-sim does): read this one.
        None => match ctx.broker.oco_status(&id).await {
            Ok(report) => report,
            Err(error) => {
                tracing::warn!(%symbol, gtt = %id, %error, "GTT not read; checked next time");
                return;
            }
        },
    };
    match report.state {
        OcoState::Active => keep_units(ctx, symbol, book, guard, &id).await,
        OcoState::Triggered {
            order_id: Some(order_id),
            stop_leg,
            ..
        } => {
            tracing::warn!(%symbol, gtt = %id, %order_id, stop_leg, "the GTT fired");
            let detail = serde_json::json!({"tag": guard.tag, "gtt": id, "order_id": order_id,
                "stop_leg": stop_leg});
            commit(
                ctx,
                symbol,
                vec![event(symbol, "protection_triggered", detail)],
            )
            .await;
            if let Some(oco) = guard.oco.as_mut() {
                oco.fired = Some(order_id.clone());
            }
            book.protection = Some(guard.clone());
            settle_fired(ctx, symbol, book, guard, order_id).await;
        }
        OcoState::Triggered { reason, .. } => {
            let reason = format!(
                "the GTT fired but its order was not placed: {}",
                reason.unwrap_or_default()
            );
            ended_elsewhere(ctx, symbol, book, &guard, id, reason).await;
        }
        OcoState::Ended(status) => {
            let reason = format!("the GTT ended ({status}) outside kitebreak");
            ended_elsewhere(ctx, symbol, book, &guard, id, reason).await;
        }
    }
}

/// A GTT whose placement answer was lost: found by its terms, or `LOST`.
async fn find_unrecorded(ctx: &Context, symbol: &Symbol, book: &mut Book, mut guard: Guard) {
    match ctx
        .broker
        .find_oco(&terms(symbol, &guard, guard.trigger))
        .await
    {
        Ok(Some(found)) => {
            tracing::info!(%symbol, tag = %guard.tag, gtt = %found.id, "GTT of unknown outcome found");
            commit(ctx, symbol, vec![placed_row(&guard.tag, &found.id)]).await;
            guard.order_id = Some(found.id);
            book.protection = Some(guard);
        }
        Ok(None) if !guard.may_be_lost(ctx.gate.now()) => {
            // Kite may list it late: it guards on, and no second GTT is placed yet.
            book.protection = Some(guard);
        }
        Ok(None) => {
            tracing::warn!(%symbol, tag = %guard.tag, "GTT of unknown outcome not found; guarding again");
            book.protection = None;
            let row = ended(
                &guard.tag,
                "LOST",
                None,
                "no GTT with its terms at the broker",
            );
            commit(ctx, symbol, vec![row]).await;
        }
        Err(error) => tracing::warn!(%symbol, %error, "GTTs not listed; checked next time"),
    }
}

/// An active GTT for other units than the trade holds is modified to them.
async fn keep_units(ctx: &Context, symbol: &Symbol, book: &mut Book, guard: Guard, id: &str) {
    let Some(trade) = book.strategy.trade() else {
        return;
    };
    if trade.quantity == guard.quantity {
        return;
    }
    let resized = Guard {
        quantity: trade.quantity,
        ..guard
    };
    let last_price = trade.price_entry;
    match ctx
        .broker
        .modify_oco(id, terms(symbol, &resized, last_price))
        .await
    {
        Ok(_) => {
            tracing::info!(%symbol, gtt = %id, units = resized.quantity.get(), "GTT resized to the trade");
            book.protection = Some(resized);
        }
        Err(error) => {
            ctx.broker_errors.count(&error);
            tracing::warn!(%symbol, gtt = %id, %error, "GTT not resized; tried again next check");
        }
    }
}

/// Raises a GTT that ended without kitebreak: the trade stays, watched by kitebreak.
async fn ended_elsewhere(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    guard: &Guard,
    id: String,
    reason: String,
) {
    book.protection = None;
    let detail = serde_json::json!({"tag": guard.tag, "gtt": id, "reason": reason});
    let writes = vec![
        ended(&guard.tag, "REJECTED", Some(id), &reason),
        event(symbol, "protection_rejected", detail),
    ];
    raise(symbol, book, reason);
    commit(ctx, symbol, writes).await;
}

/// Reads the order a fired leg placed: final with a fill closes the trade from it;
/// final without one is raised; still working is read again next check.
async fn settle_fired(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    guard: Guard,
    order_id: OrderId,
) {
    let status = match ctx.broker.order_status(&order_id).await {
        Ok(FoundOrder {
            progress: OrderProgress::Done(status),
            ..
        }) => status,
        Ok(_) => return, // Its LIMIT rests: a lift cancels it before any exit.
        Err(error) => {
            tracing::warn!(%symbol, %order_id, %error, "GTT order not read; checked next time");
            return;
        }
    };
    book.protection = None;
    let record = record_of(symbol, &guard, order_id.clone(), status);
    if fill_of(&record).is_some() {
        match closed_by_stop(ctx, symbol, book, record).await {
            Ok(Some(_)) => {}
            Ok(None) => raise(symbol, book, "the GTT's order filled only in part".into()),
            Err(error) => tracing::error!(%symbol, %error, "GTT order fill not applied"),
        }
        return;
    }
    let reason = match &record.status {
        OrderStatus::Rejected { reason } => format!("the GTT's order ended unfilled: {reason}"),
        OrderStatus::Complete { .. } => String::new(),
    };
    ended_elsewhere(ctx, symbol, book, &guard, order_id, reason).await;
}

//! Start-up: a stop that was PENDING (resting) when kitebreak stopped, settled by its
//! tag instead of being waited on (it may rest all day). A GTT's intent
//! (`protect_oco`) is settled by its trigger id, or found by its terms (`recover_oco`).

use super::oco::{self, OcoGuard, placed_row, terms};
use super::{Guard, apply_fill, ended, fill_of, raise, record_of};
use crate::broker::{OcoState, OrderId, OrderProgress, OrderStatus};
use crate::shard::Book;
use crate::shard::send::final_row;
use crate::store::{PendingOrder, WriteOp};
use crate::{Broker, EngineError, Symbol};

/// Settles a stop that was PENDING at start, by its tag. Returns the outcome's label
/// for the reconciliation report and the writes recording it.
pub(crate) async fn recover(
    broker: &dyn Broker,
    order: &PendingOrder,
    book: Option<&mut Book>,
    now: jiff::Timestamp,
) -> Result<(&'static str, Vec<WriteOp>), EngineError> {
    if order.purpose == oco::PURPOSE {
        return recover_oco(broker, order, book, now).await;
    }
    let symbol = &order.symbol;
    let found = broker.find_by_tag(&order.tag).await?;
    let trigger = order
        .signal_price
        .ok_or_else(|| EngineError::Corrupt(format!("stop {} has no trigger", order.tag)))?;
    let book = book.filter(|b| b.strategy.trade().is_some());
    let Some(found) = found else {
        return Ok(absent(order, book, trigger, now));
    };
    let guard = Guard {
        tag: order.tag.clone(),
        order_id: Some(found.order_id.clone()),
        side: order.side,
        quantity: order.quantity,
        trigger,
        oco: None,
        unknown_since: None,
    };
    match (found.progress, book) {
        (OrderProgress::Working, Some(book)) => {
            tracing::info!(%symbol, tag = %order.tag, "exchange-side stop still resting; it keeps guarding");
            book.protection = Some(guard);
            Ok(("guarding", Vec::new()))
        }
        (OrderProgress::Working, None) => {
            // Its trade is gone: left resting, it would open a new position.
            tracing::error!(%symbol, tag = %order.tag, "a stop rests without its trade; cancelling it");
            let status = broker.cancel(&found.order_id).await?;
            let record = record_of(symbol, &guard, found.order_id, status);
            Ok(("cancelled", vec![final_row(&record)]))
        }
        (OrderProgress::Done(status), Some(book)) => {
            let record = record_of(symbol, &guard, found.order_id, status);
            let Some(fill) = fill_of(&record) else {
                let reason = match &record.status {
                    OrderStatus::Rejected { reason } => reason.clone(),
                    OrderStatus::Complete { .. } => String::new(),
                };
                raise(
                    symbol,
                    book,
                    format!(
                        "the exchange-side stop ended unfilled while kitebreak was down: {reason}"
                    ),
                );
                return Ok(("rejected", vec![final_row(&record)]));
            };
            let (closed, writes, rest) = apply_fill(symbol, book, &record, fill)?;
            tracing::warn!(%symbol, tag = %order.tag, exit = %closed.price_exit, rest,
                "the exchange-side stop filled while kitebreak was down; trade closed from its fill");
            Ok(("filled", writes))
        }
        (OrderProgress::Done(status), None) => {
            let record = record_of(symbol, &guard, found.order_id, status);
            if fill_of(&record).is_some() {
                tracing::error!(%symbol, tag = %order.tag, "a stop filled without an open trade; see the position check");
            }
            Ok(("settled", vec![final_row(&record)]))
        }
    }
}

/// Settles a GTT that was PENDING at start, by its trigger id (or its terms).
async fn recover_oco(
    broker: &dyn Broker,
    order: &PendingOrder,
    book: Option<&mut Book>,
    now: jiff::Timestamp,
) -> Result<(&'static str, Vec<WriteOp>), EngineError> {
    let symbol = &order.symbol;
    let stop = order
        .signal_price
        .ok_or_else(|| EngineError::Corrupt(format!("GTT {} has no stop", order.tag)))?;
    let book = book.filter(|b| b.strategy.trade().is_some());
    let target = book
        .as_ref()
        .and_then(|b| b.strategy.trade())
        .map_or(stop, |t| t.price_target);
    let mut guard = Guard {
        tag: order.tag.clone(),
        order_id: order.broker_order_id.clone(),
        side: order.side,
        quantity: order.quantity,
        trigger: stop,
        oco: Some(OcoGuard {
            target,
            fired: None,
        }),
        unknown_since: None,
    };
    let id = match guard.order_id.clone() {
        Some(id) => id,
        None => match broker.find_oco(&terms(symbol, &guard, stop)).await? {
            Some(found) => found.id,
            None if book.is_some() => {
                // Kite may list it late: as for a stop (see `absent`).
                tracing::warn!(%symbol, tag = %order.tag,
                    "GTT not listed after a restart; looked up again");
                guard.unknown_since = Some(now);
                if let Some(book) = book {
                    book.protection = Some(guard);
                }
                return Ok(("unknown", Vec::new()));
            }
            None => {
                let row = ended(
                    &order.tag,
                    "LOST",
                    None,
                    "no GTT with its terms after a restart",
                );
                return Ok(("not_placed", vec![row]));
            }
        },
    };
    guard.order_id = Some(id.clone());
    let report = broker.oco_status(&id).await?;
    match (report.state, book) {
        (OcoState::Active, Some(book)) => {
            tracing::info!(%symbol, gtt = %id, "GTT still active; it keeps guarding");
            book.protection = Some(guard);
            Ok(("guarding", vec![placed_row(&order.tag, &id)]))
        }
        (OcoState::Active, None) => {
            // Its trade is gone: left active, it could open a new position.
            tracing::error!(%symbol, gtt = %id, "a GTT rests without its trade; deleting it");
            broker.cancel_oco(&id).await?;
            let row = ended(
                &order.tag,
                "CANCELLED",
                Some(id),
                "its trade was gone at start",
            );
            Ok(("cancelled", vec![row]))
        }
        (
            OcoState::Triggered {
                order_id: Some(order_id),
                ..
            },
            book,
        ) => recover_fired(broker, symbol, guard, order_id, book).await,
        (OcoState::Triggered { reason, .. }, book) => {
            let reason = format!(
                "the GTT fired while kitebreak was down but its order was not placed: {}",
                reason.unwrap_or_default()
            );
            if let Some(book) = book {
                raise(symbol, book, reason.clone());
            }
            Ok((
                "rejected",
                vec![ended(&order.tag, "REJECTED", Some(id), &reason)],
            ))
        }
        (OcoState::Ended(status), book) => {
            let reason = format!("the GTT ended ({status}) while kitebreak was down");
            if let Some(book) = book {
                raise(symbol, book, reason.clone());
            }
            Ok((
                "ended",
                vec![ended(&order.tag, "REJECTED", Some(id), &reason)],
            ))
        }
    }
}

/// A leg fired while kitebreak was down: its order's fill closes the trade.
async fn recover_fired(
    broker: &dyn Broker,
    symbol: &Symbol,
    mut guard: Guard,
    order_id: OrderId,
    book: Option<&mut Book>,
) -> Result<(&'static str, Vec<WriteOp>), EngineError> {
    let found = broker.order_status(&order_id).await?;
    match (found.progress, book) {
        (OrderProgress::Working, Some(book)) => {
            // Its LIMIT rests: checked each second, cancelled before any exit.
            if let Some(oco) = guard.oco.as_mut() {
                oco.fired = Some(order_id);
            }
            book.protection = Some(guard);
            Ok(("fired", Vec::new()))
        }
        (OrderProgress::Working, None) => {
            tracing::error!(%symbol, %order_id, "a GTT's order works without its trade; cancelling it");
            let status = broker.cancel(&order_id).await?;
            let record = record_of(symbol, &guard, order_id, status);
            Ok(("cancelled", vec![final_row(&record)]))
        }
        (OrderProgress::Done(status), Some(book)) => {
            let record = record_of(symbol, &guard, order_id, status);
            let Some(fill) = fill_of(&record) else {
                let reason = "the GTT's order ended unfilled while kitebreak was down";
                raise(symbol, book, reason.into());
                return Ok(("rejected", vec![final_row(&record)]));
            };
            let (closed, writes, rest) = apply_fill(symbol, book, &record, fill)?;
            tracing::warn!(%symbol, exit = %closed.price_exit, rest,
                "the GTT fired while kitebreak was down; trade closed from its order's fill");
            Ok(("filled", writes))
        }
        (OrderProgress::Done(status), None) => {
            let record = record_of(symbol, &guard, order_id, status);
            Ok(("settled", vec![final_row(&record)]))
        }
    }
}

/// A PENDING stop whose tag the book does not show at start. With its trade open it
/// may still appear (Kite can show an order late, and kitebreak may have stopped
/// just after placing it): it guards on as a stop of unknown outcome, so no exit
/// goes out beside it and no second stop is placed until the look-up window is
/// over (`check`). Without a trade it is recorded as never placed.
fn absent(
    order: &PendingOrder,
    book: Option<&mut Book>,
    trigger: kitebreak_price::Price,
    now: jiff::Timestamp,
) -> (&'static str, Vec<WriteOp>) {
    let Some(book) = book else {
        let row = ended(
            &order.tag,
            "LOST",
            None,
            "not in the broker's order book after a restart",
        );
        return ("not_placed", vec![row]);
    };
    tracing::warn!(symbol = %order.symbol, tag = %order.tag,
        "exchange-side stop not in the broker's book after a restart; looked up again");
    book.protection = Some(Guard {
        tag: order.tag.clone(),
        order_id: None,
        side: order.side,
        quantity: order.quantity,
        trigger,
        oco: None,
        unknown_since: Some(now),
    });
    ("unknown", Vec::new())
}

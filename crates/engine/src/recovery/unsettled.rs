//! Orders recovery could not settle at start (still working at the broker, or not in
//! its book yet): parked on their symbol's book, exactly as an order of unknown
//! outcome is during trading (`shard::unsettled`), so the shard's retry step settles
//! them in the background and the start never waits on the broker.
//!
//! An entry puts its symbol in `Entering` (levels locked, no new entry, counted by
//! the risk gate); an exit keeps the trade open with its exit pending and the order
//! outstanding, so no second exit goes out. A manual order has no book: it stays
//! PENDING and is reported (`outcome: unsettled`), looked up again at the next start.

use kitebreak_strategy::{Direction, EntrySignal, ExitReason, Position};

use super::{event, repositioned};
use crate::broker::{OrderStatus, Side};
use crate::report::OrderRecord;
use crate::shard::{Book, ExitRetry, Unsettled};
use crate::store::{PendingOrder, WriteOp};

/// Parks `order` on `book`; returns the event recording it.
pub(super) fn park(
    order: &PendingOrder,
    order_id: Option<String>,
    why: String,
    book: Option<&mut Book>,
    now: jiff::Timestamp,
) -> Vec<WriteOp> {
    let record = OrderRecord {
        tag: order.tag.clone(),
        order_id,
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        status: OrderStatus::Rejected {
            reason: why.clone(),
        },
    };
    let parked = Unsettled::new(record, now);
    let detail = serde_json::json!({"tag": order.tag, "purpose": order.purpose, "why": why});
    let writes = vec![event(&order.symbol, "order_unsettled", detail)];
    let symbol = &order.symbol;
    let Some(book) = book else {
        tracing::error!(%symbol, tag = %order.tag, purpose = %order.purpose,
            "order of unknown outcome left PENDING; check the broker's order book");
        return writes;
    };
    let last_close = book.strategy.recent_candles().last().map(|c| c.close);
    let signal_price = order.signal_price.or(last_close);
    match (
        order.purpose.as_str(),
        book.strategy.position().clone(),
        signal_price,
    ) {
        ("entry", Position::Flat, Some(price)) => {
            let signal = EntrySignal {
                direction: match order.side {
                    Side::Buy => Direction::Long,
                    Side::Sell => Direction::Short,
                },
                price,
                quantity: order.quantity,
            };
            book.strategy = repositioned(&book.strategy, Position::Entering(signal));
            book.entry_unsettled = Some(parked);
            tracing::warn!(%symbol, tag = %order.tag, "entry of unknown outcome: the symbol stays entering until it is settled");
        }
        ("exit", Position::Open(trade), _) => {
            let price = order.signal_price.unwrap_or(trade.price_entry);
            book.exit_retry = Some(ExitRetry {
                reason: trade.exit_reason_at(price).unwrap_or(ExitReason::Manual),
                price,
                attempts: 1,
                last_error: why,
                next_at: parked.next_at,
                outstanding: Some(parked),
            });
            tracing::warn!(%symbol, tag = %order.tag, "exit of unknown outcome: no other exit goes out until it is settled");
        }
        _ => {
            tracing::error!(%symbol, tag = %order.tag, purpose = %order.purpose,
                "order of unknown outcome left PENDING; check the broker's order book");
        }
    }
    writes
}

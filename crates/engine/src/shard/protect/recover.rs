//! Start-up: a stop that was PENDING (resting) when kitebreak stopped, settled by its
//! tag instead of being waited on (it may rest all day).

use super::{Guard, apply_fill, ended, fill_of, raise, record_of};
use crate::broker::{OrderProgress, OrderStatus};
use crate::shard::Book;
use crate::shard::send::final_row;
use crate::store::{PendingOrder, WriteOp};
use crate::{Broker, EngineError};

/// Settles a stop that was PENDING at start, by its tag. Returns the outcome's label
/// for the reconciliation report and the writes recording it.
pub(crate) async fn recover(
    broker: &dyn Broker,
    order: &PendingOrder,
    book: Option<&mut Book>,
) -> Result<(&'static str, Vec<WriteOp>), EngineError> {
    let symbol = &order.symbol;
    let found = broker.find_by_tag(&order.tag).await?;
    let Some(found) = found else {
        let row = ended(
            &order.tag,
            "LOST",
            None,
            "not in the broker's order book after a restart",
        );
        return Ok(("not_placed", vec![row]));
    };
    let guard = Guard {
        tag: order.tag.clone(),
        order_id: Some(found.order_id.clone()),
        side: order.side,
        quantity: order.quantity,
        trigger: order
            .signal_price
            .ok_or_else(|| EngineError::Corrupt(format!("stop {} has no trigger", order.tag)))?,
    };
    let book = book.filter(|b| b.strategy.trade().is_some());
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

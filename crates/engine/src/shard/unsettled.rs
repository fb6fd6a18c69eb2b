//! Entries of unknown outcome: sent, but the broker's answer (or the final status)
//! was lost and the adapter could not settle it.
//!
//! Such an entry is neither a trade nor a rejection. Its order row stays PENDING (a
//! restart looks it up by tag), the strategy stays `Entering` (levels locked; the gate
//! counts it, so risk limits see it) and the shard's retry step looks its tag up at
//! the broker with backoff (1 s doubling to 60 s, engine clock) until the broker
//! answers: found filled → the trade opens from the fill; found rejected → the entry
//! fails; found working → looked up again later; absent → never placed, LOST, and
//! the tag is never sent again.

use jiff::Timestamp;

use super::retry::backoff;
use super::{Book, Context, Shard, orders};
use crate::broker::{OrderProgress, OrderStatus};
use crate::report::{EntryOutcome, OrderRecord};
use crate::store::{OrderFinal, WriteOp};
use crate::{EngineError, Symbol};

/// An entry whose outcome is being looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsettled {
    /// The order as far as it is known (its tag is what counts).
    pub record: OrderRecord,
    /// Look-ups that found nothing final yet.
    pub attempts: u32,
    /// When to look again (engine clock).
    pub next_at: Timestamp,
}

fn later(now: Timestamp, attempts: u32) -> Timestamp {
    let delay = jiff::SignedDuration::try_from(backoff(attempts))
        .unwrap_or(jiff::SignedDuration::from_secs(60));
    now.checked_add(delay).unwrap_or(now)
}

/// Parks an entry of unknown outcome for look-ups by tag.
pub(crate) async fn entry_unknown(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
    record: OrderRecord,
) -> Result<EntryOutcome, EngineError> {
    let reason = match &record.status {
        OrderStatus::Rejected { reason } => reason.clone(),
        OrderStatus::Complete { .. } => String::new(),
    };
    tracing::error!(%symbol, tag = %record.tag, %reason,
        "ENTRY OUTCOME UNKNOWN: the order may be at the broker; looking its tag up until it answers");
    let detail = serde_json::json!({"tag": record.tag, "reason": reason});
    ctx.store
        .commit(vec![WriteOp::Event {
            symbol: Some(symbol.clone()),
            kind: "entry_unknown",
            detail,
        }])
        .await?;
    book.entry_unsettled = Some(Unsettled {
        record: record.clone(),
        attempts: 1,
        next_at: later(ctx.gate.now(), 1),
    });
    Ok(EntryOutcome::Unsettled {
        order: record,
        reason,
    })
}

/// One look-up of a parked entry; `Some` once its outcome is known and applied.
async fn look_up(
    ctx: &Context,
    symbol: &Symbol,
    book: &mut Book,
) -> Result<Option<EntryOutcome>, EngineError> {
    let Some(parked) = book.entry_unsettled.clone() else {
        return Ok(None);
    };
    let found = ctx.broker.find_by_tag(&parked.record.tag).await;
    let status = match found {
        Ok(Some(found)) => match found.progress {
            OrderProgress::Done(status) => Some((Some(found.order_id), status)),
            OrderProgress::Working => None,
        },
        Ok(None) => {
            tracing::warn!(%symbol, tag = %parked.record.tag, "the entry of unknown outcome was never placed");
            book.entry_unsettled = None;
            let _ = book.strategy.entry_failed();
            let detail = serde_json::json!({"tag": parked.record.tag, "purpose": "entry"});
            ctx.store
                .commit(vec![
                    WriteOp::OrderFinal(OrderFinal {
                        tag: parked.record.tag.clone(),
                        status: "LOST",
                        broker_order_id: None,
                        average_price: None,
                        filled_quantity: None,
                        reason: Some("not in the broker's order book".into()),
                    }),
                    WriteOp::Event {
                        symbol: Some(symbol.clone()),
                        kind: "order_lost",
                        detail,
                    },
                ])
                .await?;
            let reason = "not placed".to_owned();
            return Ok(Some(EntryOutcome::Failed {
                order: parked.record,
                reason,
            }));
        }
        Err(error) => {
            tracing::warn!(%symbol, tag = %parked.record.tag, %error, "entry look-up failed; trying again later");
            None
        }
    };
    let Some((order_id, status)) = status else {
        if let Some(parked) = book.entry_unsettled.as_mut() {
            parked.attempts += 1;
            parked.next_at = later(ctx.gate.now(), parked.attempts);
        }
        return Ok(None);
    };
    book.entry_unsettled = None;
    let record = OrderRecord {
        order_id: order_id.or(parked.record.order_id),
        status,
        ..parked.record
    };
    orders::finish_entry(ctx, symbol, book, record)
        .await
        .map(Some)
}

impl Shard {
    /// Looks up every parked entry that is due.
    pub(super) async fn settle_entries_due(&mut self) {
        let now = self.ctx.gate.now();
        let mut due: Vec<Symbol> = self
            .books
            .iter()
            .filter(|(_, b)| b.entry_unsettled.as_ref().is_some_and(|u| u.next_at <= now))
            .map(|(symbol, _)| symbol.clone())
            .collect();
        due.sort();
        for symbol in due {
            let Some(book) = self.books.get_mut(&symbol) else {
                continue;
            };
            match look_up(&self.ctx, &symbol, book).await {
                Ok(Some(outcome)) => {
                    tracing::warn!(%symbol, ?outcome, "entry of unknown outcome settled")
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%symbol, %error, "entry look-up not recorded"),
            }
            self.note(&symbol, None);
        }
    }
}

//! Orders of unknown outcome: sent, but the broker's answer (or the final status)
//! was lost and the adapter could not settle it.
//!
//! Such an order is neither a fill nor a rejection. Its row stays PENDING (a restart
//! looks it up by tag) and it is looked up by its tag with backoff (1 s doubling to
//! 60 s, engine clock) until the broker answers. "Not in the book" is not an answer
//! at first: Kite can show an order seconds after a slow placement whose answer was
//! lost, and an order declared lost that exists is an unguarded position. So an
//! absent tag counts as never placed only once [`LOOKUP_WINDOW`] has passed since
//! the outcome became unknown (or since the start, for an order found PENDING by
//! recovery); a find at any time before applies what the broker did.
//!
//! For an entry (this module's [`Unsettled`] on the book): the strategy stays
//! `Entering` (levels locked, no new entry; the gate counts it, so risk limits see
//! it); found filled → the trade opens from the fill; found rejected → the entry
//! fails; found working → its bounded final status is read (the adapter cancels a
//! market order that does not finish), else looked up again later; absent after the
//! window → LOST, and the tag is never sent again. Exits keep the same record as
//! their outstanding attempt (`shard::retry`): no second exit goes out until it is
//! settled.

use std::time::Duration;

use jiff::Timestamp;

use super::retry::backoff;
use super::{Book, Context, Shard, orders};
use crate::broker::{OrderProgress, OrderStatus};
use crate::report::{EntryOutcome, OrderRecord};
use crate::store::{OrderFinal, WriteOp};
use crate::{EngineError, Symbol};

/// How long an order of unknown outcome whose tag the broker's book does not show
/// is still looked for before it is recorded as never placed (LOST).
pub(crate) const LOOKUP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// True once [`LOOKUP_WINDOW`] has passed since an order's outcome became unknown
/// at `since`: only then may an absent tag be taken as "never placed".
pub(crate) fn window_over(since: Timestamp, now: Timestamp) -> bool {
    let window = jiff::SignedDuration::try_from(LOOKUP_WINDOW)
        .unwrap_or(jiff::SignedDuration::from_secs(300));
    since.checked_add(window).is_ok_and(|end| now >= end)
}

/// An order whose outcome is being looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsettled {
    /// The order as far as it is known (its tag is what counts).
    pub record: OrderRecord,
    /// Look-ups that found nothing final yet.
    pub attempts: u32,
    /// When to look again (engine clock).
    pub next_at: Timestamp,
    /// When its outcome became unknown: the look-up window starts here.
    pub since: Timestamp,
}

impl Unsettled {
    /// An order whose outcome became unknown at `now`; first look-up after 1 s.
    pub fn new(record: OrderRecord, now: Timestamp) -> Unsettled {
        Unsettled {
            record,
            attempts: 1,
            next_at: later(now, 1),
            since: now,
        }
    }

    /// True once an absent tag may be taken as "never placed".
    pub fn window_over(&self, now: Timestamp) -> bool {
        window_over(self.since, now)
    }

    /// The row recording that the broker never had it.
    pub fn lost_row(&self) -> WriteOp {
        WriteOp::OrderFinal(OrderFinal {
            tag: self.record.tag.clone(),
            status: "LOST",
            broker_order_id: None,
            average_price: None,
            filled_quantity: None,
            reason: Some(format!(
                "not in the broker's order book {} s after its outcome became unknown",
                LOOKUP_WINDOW.as_secs()
            )),
        })
    }
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
    book.entry_unsettled = Some(Unsettled::new(record.clone(), ctx.gate.now()));
    super::retry::wake_timer(ctx);
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
    let now = ctx.gate.now();
    let found = ctx.broker.find_by_tag(&parked.record.tag).await;
    let status = match found {
        Ok(Some(found)) => match found.progress {
            OrderProgress::Done(status) => Some((Some(found.order_id), status)),
            // Bounded (the adapter cancels a market order that does not finish); an
            // error leaves it working and it is looked up again.
            OrderProgress::Working => match ctx.broker.final_status(&found.order_id).await {
                Ok(status) => Some((Some(found.order_id), status)),
                Err(error) => {
                    ctx.broker_errors.count(&error);
                    tracing::warn!(%symbol, tag = %parked.record.tag, %error,
                        "entry of unknown outcome is still working; looking again later");
                    None
                }
            },
        },
        Ok(None) if parked.window_over(now) => {
            tracing::warn!(%symbol, tag = %parked.record.tag,
                "the entry of unknown outcome was never placed: not in the broker's book after the look-up window");
            book.entry_unsettled = None;
            let _ = book.strategy.entry_failed();
            let detail = serde_json::json!({"tag": parked.record.tag, "purpose": "entry"});
            ctx.store
                .commit(vec![
                    parked.lost_row(),
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
        Ok(None) => {
            tracing::warn!(%symbol, tag = %parked.record.tag, attempts = parked.attempts,
                "entry of unknown outcome not in the broker's book yet; looking again later");
            None
        }
        Err(error) => {
            tracing::warn!(%symbol, tag = %parked.record.tag, %error, "entry look-up failed; trying again later");
            None
        }
    };
    let Some((order_id, status)) = status else {
        if let Some(parked) = book.entry_unsettled.as_mut() {
            parked.attempts += 1;
            parked.next_at = later(now, parked.attempts);
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

//! Talking to the broker: tags, intent rows, sending, and final rows.
//!
//! Tags are `KB` plus the order's sequence number in base 36, upper case: unique
//! (the sequence continues from the highest one stored), alphanumeric, and at most
//! 15 characters for any `i64`, inside Kite's 20.

use std::sync::atomic::Ordering;
use std::time::Duration;

use kitebreak_price::{Price, Quantity};

use super::Context;
use crate::FeedState;
use crate::Symbol;
use crate::broker::{MarketOrder, OrderStatus, Side};
use crate::report::OrderRecord;
use crate::store::{OrderFinal, OrderRow, WriteOp};

/// While the live feed is up, how long an order's update (the ticker's order
/// message) has before the broker's polling starts. A poll request still in flight
/// when the update wins is dropped, and a dropped HTTP request costs its pooled
/// connection: the next order (often the next exit) then waits for a new TCP (and,
/// at Kite, TLS) connection. Measured on kite-sim before this: 47 of 200 exit
/// `POST /orders` went out on a new connection (BENCHMARKS.md, "Tick to exit
/// order"). Polling still settles every order whose update does not come.
const POLL_HEAD_START: Duration = Duration::from_millis(50);

/// The tag of order number `seq`.
pub(crate) fn tag(seq: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut value = seq.unsigned_abs();
    let mut digits = Vec::new();
    while value > 0 || digits.len() < 6 {
        // The remainder is below 36, so the index is in range.
        digits.push(DIGITS[(value % 36) as usize]);
        value /= 36;
    }
    digits.reverse();
    format!("KB{}", String::from_utf8_lossy(&digits))
}

/// The sequence number of an engine tag (the inverse of [`tag`]); `None` for a tag
/// kitebreak did not make.
pub(crate) fn seq_of(tag: &str) -> Option<i64> {
    let digits = tag.strip_prefix("KB")?;
    if digits.len() < 6
        || !digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return None;
    }
    i64::from_str_radix(digits, 36).ok()
}

impl Context {
    /// A new order with a fresh tag, and its intent row.
    pub(crate) fn new_order(
        &self,
        symbol: &Symbol,
        purpose: &'static str,
        side: Side,
        quantity: Quantity,
        signal_price: Option<Price>,
    ) -> (MarketOrder, WriteOp) {
        let (order, row) = self.order_row(symbol, purpose, side, quantity, signal_price);
        (order, WriteOp::OrderIntent(row))
    }

    /// The next exit of `symbol`'s open trade (closing `side`, `quantity` units),
    /// prepared with a fresh tag: the ARMED row to commit with the trade's change.
    /// The book takes the order only once that commit has landed (see `journal`).
    pub(crate) fn arm(
        &self,
        symbol: &Symbol,
        side: Side,
        quantity: Quantity,
    ) -> (MarketOrder, WriteOp) {
        let (order, row) = self.order_row(symbol, "exit", side, quantity, None);
        (order, WriteOp::OrderArmed(row))
    }

    fn order_row(
        &self,
        symbol: &Symbol,
        purpose: &'static str,
        side: Side,
        quantity: Quantity,
        signal_price: Option<Price>,
    ) -> (MarketOrder, OrderRow) {
        let seq = self.order_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let tag = tag(seq);
        let order = MarketOrder {
            tag: tag.clone(),
            symbol: symbol.clone(),
            side,
            quantity,
        };
        let row = OrderRow {
            tag,
            seq,
            symbol: symbol.clone(),
            purpose,
            side,
            quantity,
            signal_price,
        };
        (order, row)
    }

    /// Sends an order whose intent is already durable, waits for its final status,
    /// and says whether the outcome is unknown: the order may
    /// be at the broker (its placement answer was lost and its tag not found yet, or
    /// its final status could not be read or was still working when the bounded wait
    /// ended). Such an order keeps its PENDING row and must be looked up by its tag
    /// before another is sent in its place; its `Rejected` status only carries why.
    pub(crate) async fn send_tracked(&self, order: MarketOrder) -> (OrderRecord, bool) {
        let id = self.broker.place_market(order.clone()).await;
        let (order_id, status, unknown) = match id {
            Ok(id) => {
                // Fast path: an order update (ticker, postback) for the id; fallback:
                // the broker's own polling. Both report the same final state.
                let update = self.updates.wait(&id);
                let head_start = if self.feed.state() == FeedState::Live {
                    POLL_HEAD_START
                } else {
                    Duration::ZERO
                };
                let polled = async {
                    if !head_start.is_zero() {
                        tokio::time::sleep(head_start).await;
                    }
                    self.broker.final_status(&id).await
                };
                let status = tokio::select! {
                    Ok(status) = update => {
                        self.updates.note_fast_path();
                        Ok(status)
                    }
                    polled = polled => polled,
                };
                self.updates.done(&id);
                match status {
                    Ok(status) => (Some(id), status, false),
                    Err(error) => {
                        self.broker_errors.count(&error);
                        (
                            Some(id),
                            OrderStatus::Rejected {
                                reason: error.to_string(),
                            },
                            true,
                        )
                    }
                }
            }
            Err(error) => {
                self.broker_errors.count(&error);
                // Only a lost answer the adapter could not find by tag may hide a
                // placed order; a refusal, a 429 or a refused connection placed
                // nothing, so the order fails at once (an exit retries anew).
                let unknown = matches!(error, crate::BrokerError::OutcomeUnknown(_));
                (
                    None,
                    OrderStatus::Rejected {
                        reason: error.to_string(),
                    },
                    unknown,
                )
            }
        };
        let record = OrderRecord {
            tag: order.tag,
            order_id,
            symbol: order.symbol,
            side: order.side,
            quantity: order.quantity,
            status,
        };
        (record, unknown)
    }
}

/// The final row of a sent order.
pub(crate) fn final_row(record: &OrderRecord) -> WriteOp {
    let (status, average_price, filled_quantity, reason) = match &record.status {
        OrderStatus::Complete {
            average_price,
            filled_quantity,
            ..
        } => (
            "COMPLETE",
            Some(*average_price),
            Some(*filled_quantity),
            None,
        ),
        OrderStatus::Rejected { reason } => ("REJECTED", None, None, Some(reason.clone())),
    };
    WriteOp::OrderFinal(OrderFinal {
        tag: record.tag.clone(),
        status,
        broker_order_id: record.order_id.clone(),
        average_price,
        filled_quantity,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_short_unique_and_alphanumeric() {
        assert_eq!(tag(1), "KB000001");
        assert_eq!(tag(36), "KB000010");
        let longest = tag(i64::MAX);
        assert!(longest.len() <= MarketOrder::TAG_MAX, "{longest}");
        assert!(longest.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(tag(35), tag(36));
    }

    #[test]
    fn a_tag_gives_back_its_sequence_number() {
        for seq in [1, 35, 36, 99, 1_000_000, i64::MAX] {
            assert_eq!(seq_of(&tag(seq)), Some(seq));
        }
        for foreign in ["kb000001", "KB00001", "XY000001", "KB00000-", "KB"] {
            assert_eq!(seq_of(foreign), None, "{foreign}");
        }
    }
}

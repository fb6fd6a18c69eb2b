//! Armed exits at start (see `journal`): before the PENDING orders are looked up,
//! every ARMED row the previous run may have sent becomes PENDING (so it is looked
//! up like any order that was out); after, each open trade gets back its unsent
//! armed exit, or a fresh one, so its first exit after the restart is as fast as
//! any other.

use std::collections::HashMap;

use crate::broker::MarketOrder;
use crate::journal::Previous;
use crate::shard::{Books, closing_side, tag};
use crate::store::{ArmedOrder, OrderRow, Store, WriteOp};
use crate::{EngineError, Symbol};

/// Makes PENDING every armed tag the previous run may have sent (all of them when
/// its journal cannot be trusted), and returns the rest: armed, never sent.
pub(super) async fn promote_sent(
    store: &Store,
    previous: &Previous,
) -> Result<Vec<ArmedOrder>, EngineError> {
    let armed = store.armed_order_rows().await?;
    let (sent, unsent): (Vec<_>, Vec<_>) = armed
        .into_iter()
        .partition(|order| previous.maybe_sent(&order.tag));
    // A tag the journal names may also sit on a row a close marked UNUSED while the
    // order was on its way: the op promotes that too, and leaves any later state.
    let mut writes: Vec<WriteOp> = previous
        .sent
        .iter()
        .map(|tag| WriteOp::ArmedSent {
            tag: tag.clone(),
            signal_price: None,
        })
        .collect();
    for order in &sent {
        tracing::warn!(symbol = %order.symbol, tag = %order.tag, trusted = previous.trusted,
            "armed exit may have been sent before the stop; looked up by its tag");
        if !previous.sent.contains(&order.tag) {
            writes.push(WriteOp::ArmedSent {
                tag: order.tag.clone(),
                signal_price: None,
            });
        }
    }
    if !writes.is_empty() {
        store.commit(writes).await?;
    }
    Ok(unsent)
}

/// Hands each open trade its armed exit: the unsent one if it still closes the
/// trade, else a fresh one (tags after `last_seq`). Armed rows no trade can use are
/// marked UNUSED. Returns the writes; the caller sets nothing in a book until they
/// are committed, so it gets the orders back to put in place.
pub(super) fn rearm(
    books: &Books,
    unsent: Vec<ArmedOrder>,
    last_seq: i64,
    writes: &mut Vec<WriteOp>,
) -> HashMap<Symbol, MarketOrder> {
    let mut armed: HashMap<Symbol, MarketOrder> = HashMap::new();
    for order in unsent {
        let closes = books
            .get(&order.symbol)
            .and_then(|book| book.strategy.trade())
            .is_some_and(|trade| {
                closing_side(trade.direction) == order.side && trade.quantity == order.quantity
            });
        if closes && !armed.contains_key(&order.symbol) {
            armed.insert(
                order.symbol.clone(),
                MarketOrder {
                    tag: order.tag,
                    symbol: order.symbol,
                    side: order.side,
                    quantity: order.quantity,
                },
            );
        } else {
            writes.push(WriteOp::ArmedUnused(order.tag));
        }
    }
    let mut seq = last_seq;
    for (symbol, book) in books.iter() {
        let Some(trade) = book.strategy.trade() else {
            continue;
        };
        if armed.contains_key(symbol) {
            continue;
        }
        seq += 1;
        let order = MarketOrder {
            tag: tag(seq),
            symbol: symbol.clone(),
            side: closing_side(trade.direction),
            quantity: trade.quantity,
        };
        writes.push(WriteOp::OrderArmed(OrderRow {
            tag: order.tag.clone(),
            seq,
            symbol: symbol.clone(),
            purpose: "exit",
            side: order.side,
            quantity: order.quantity,
            signal_price: None,
        }));
        armed.insert(symbol.clone(), order);
    }
    armed
}

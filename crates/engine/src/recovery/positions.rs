//! The position check of start-up reconciliation: the broker's net positions against
//! the open trades. A difference is logged at WARN, written to the event log
//! (`position_mismatch`) and kept in the report, with the tags of the symbol's
//! orders still of unknown outcome (an unsettled entry that did fill shows up here
//! as a broker position the engine holds no trade for); nothing is adjusted.

use std::collections::BTreeMap;

use kitebreak_strategy::Direction;

use super::{PositionMismatch, Reconciliation, event};
use crate::shard::{Book, Books};
use crate::store::WriteOp;
use crate::{Broker, Symbol};

/// Net units of the open trades per symbol.
fn engine_positions(books: &Books) -> BTreeMap<Symbol, i64> {
    books
        .iter()
        .filter_map(|(symbol, book)| {
            let trade = book.strategy.trade()?;
            let units = i64::from(trade.quantity.get());
            let net = match trade.direction {
                Direction::Long => units,
                Direction::Short => -units,
            };
            Some((symbol.clone(), net))
        })
        .collect()
}

/// Tags of the symbol's orders still being looked up (entry or exit).
fn unsettled_tags(book: Option<&Book>) -> Vec<String> {
    let Some(book) = book else {
        return Vec::new();
    };
    let entry = book.entry_unsettled.as_ref();
    let exit = book
        .exit_retry
        .as_ref()
        .and_then(|r| r.outstanding.as_ref());
    entry
        .into_iter()
        .chain(exit)
        .map(|u| u.record.tag.clone())
        .collect()
}

pub(super) async fn compare(
    broker: &dyn Broker,
    books: &Books,
    report: &mut Reconciliation,
    writes: &mut Vec<WriteOp>,
) {
    let positions = match broker.positions().await {
        Ok(positions) => positions,
        Err(error) => {
            tracing::warn!(%error, "broker positions could not be read; open trades are not checked against them");
            report.positions_error = Some(error.to_string());
            return;
        }
    };
    report.positions_checked = true;
    let mut broker_net: BTreeMap<Symbol, i64> = BTreeMap::new();
    for position in positions {
        let net = i64::try_from(position.buy_quantity).unwrap_or(i64::MAX)
            - i64::try_from(position.sell_quantity).unwrap_or(i64::MAX);
        *broker_net.entry(position.symbol).or_default() += net;
    }
    let engine_net = engine_positions(books);
    let mut symbols: Vec<&Symbol> = broker_net.keys().chain(engine_net.keys()).collect();
    symbols.sort();
    symbols.dedup();
    for symbol in symbols {
        let at_broker = broker_net.get(symbol).copied().unwrap_or(0);
        let ours = engine_net.get(symbol).copied().unwrap_or(0);
        if at_broker == ours {
            continue;
        }
        let unsettled = unsettled_tags(books.get(symbol));
        tracing::warn!(%symbol, broker_net = at_broker, engine_net = ours, ?unsettled,
            "position mismatch: the broker's net position differs from the open trades; not adjusted");
        let detail = serde_json::json!({"broker_net": at_broker, "engine_net": ours,
            "unsettled": unsettled});
        writes.push(event(symbol, "position_mismatch", detail));
        report.mismatches.push(PositionMismatch {
            symbol: symbol.clone(),
            broker_net: at_broker,
            engine_net: ours,
            unsettled,
        });
    }
}

//! Start-up: rebuild every symbol's strategy from the database.
//!
//! Open trades come back as `Position::Open` and are watched again at once. Orders
//! still PENDING were out when the engine stopped; the paper broker's book did not
//! survive, so they are settled as LOST: an entry that was never recorded as filled
//! left no trade, and an exit that was never recorded left its trade open (it will
//! signal again on the next price). A live broker will instead look each tag up in
//! its order book here, before any new entry is allowed.

use std::collections::HashMap;

use kitebreak_strategy::{Position, Strategy};

use crate::shard::Book;
use crate::store::{OrderFinal, Store, WriteOp};
use crate::{Broker, EngineConfig, EngineError, Symbol};

/// Every stored symbol's book, ready for its shard.
pub(crate) async fn recover(
    store: &Store,
    config: &EngineConfig,
    broker: &dyn Broker,
) -> Result<HashMap<Symbol, Book>, EngineError> {
    settle_pending_orders(store).await?;
    let mut books = HashMap::new();
    let mut writes = Vec::new();
    for stored in store.load_symbols().await? {
        let symbol = stored.row.symbol.clone();
        let params = config.params_for(&symbol);
        if params != stored.row.params {
            tracing::info!(%symbol, "strategy parameters changed since the last run; using the configured ones");
        }
        if let Some((_, last)) = stored.candles.last() {
            broker.observe(&symbol, last.close);
        }
        let position = stored.trade.clone().map_or(Position::Flat, Position::Open);
        let candles = stored.candles.iter().map(|(_, candle)| *candle);
        let strategy = Strategy::restore(params, candles, stored.row.levels, position);
        let mut book = Book::new(strategy);
        book.history_from = stored.row.history_from;
        book.next_seq = stored.row.next_seq;
        book.recent_times = stored.recent_times;
        if let Some(trade) = &stored.trade {
            tracing::info!(%symbol, direction = %trade.direction, entry = %trade.price_entry,
                target = %trade.price_target, stop = %trade.price_stop, "open trade restored and watched");
        }
        writes.push(book.row(&symbol));
        books.insert(symbol, book);
    }
    if !writes.is_empty() {
        store.commit(writes).await?;
    }
    Ok(books)
}

async fn settle_pending_orders(store: &Store) -> Result<(), EngineError> {
    let pending = store.pending_orders().await?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut writes = Vec::with_capacity(pending.len() * 2);
    for order in pending {
        tracing::warn!(tag = %order.tag, symbol = %order.symbol, purpose = %order.purpose,
            "order was out when the engine stopped; the paper book is gone, marking it LOST");
        let detail = serde_json::json!({"tag": order.tag, "purpose": order.purpose});
        writes.push(WriteOp::OrderFinal(OrderFinal {
            tag: order.tag,
            status: "LOST",
            broker_order_id: None,
            average_price: None,
            filled_quantity: None,
            reason: Some("the engine stopped before the paper broker's answer was recorded".into()),
        }));
        writes.push(WriteOp::Event {
            symbol: Symbol::parse(&order.symbol).ok(),
            kind: "order_lost",
            detail,
        });
    }
    store.commit(writes).await
}

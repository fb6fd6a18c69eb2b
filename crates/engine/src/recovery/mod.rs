//! Start-up: rebuild every symbol's strategy from the database, then reconcile with
//! the broker before the shards take a single command.
//!
//! 1. Every symbol comes back with `Strategy::restore` (candles, levels, open trade),
//!    so open trades are watched again at once.
//! 2. Every order the database holds as PENDING was out when the engine stopped. Each
//!    is looked up in the broker's order book **by its tag**, oldest first:
//!    - found COMPLETE (or partly filled): the fill is applied as if its answer had
//!      arrived (an entry opens its trade from the average price, an exit closes it);
//!    - found REJECTED/CANCELLED with nothing filled: the failure is applied (no
//!      trade; an exit leaves its trade open, so the next price signals again);
//!    - found still working, or absent from a broker that can show an order late
//!      (`Broker::shows_orders_late`: Kite): recovery does not wait. The order stays
//!      unsettled (PENDING) and its symbol locked, an entry `Entering` (no new
//!      entry), an exit pending with no second exit; the shard's retry step keeps
//!      looking it up by tag in the background (`shard::unsettled`: bounded
//!      final-status reads, backoff, LOST only after the look-up window) while the
//!      rest of the engine runs;
//!    - absent from the paper broker's book: never placed (the paper book commits an
//!      order and its fill to its own file before `place_market` returns, so the
//!      process died before the paper "exchange" took it). It is marked LOST and its
//!      tag is never sent again (new orders take new sequence numbers).
//!
//!    A broker whose book cannot be read fails the start: trading on without knowing
//!    what is out could double an order.
//! 3. If the broker is an exchange account (`Broker::exchange_account`: Kite), its
//!    net positions are compared with the open trades. Differences are logged at
//!    WARN, written to the event log and kept in the [`Reconciliation`] report
//!    (`GET /risk`); nothing is adjusted to make them agree.
//!
//! The paper broker's book is its own file (`paper::file`), read back at open: a
//! paper order that filled before a crash the engine did not record is found by its
//! tag and adopted like Kite's. Before anything else, a book of this kind that holds
//! a tag beyond the database's last order is refused (`EngineError::ForeignBook`):
//! it belongs to another database.
//!
//! No entry can happen before all this is done: [`crate::Engine::start`] runs it
//! before any shard exists.

mod armed;
mod pairing;
mod positions;
mod unsettled;

use std::collections::HashSet;

use kitebreak_strategy::{
    Direction, EntrySignal, ExitReason, ExitSignal, Fill, Position, Relevel, Strategy,
};

use crate::broker::{OrderProgress, OrderStatus, Side};
use crate::report::OrderRecord;
use crate::shard::{Book, Books, final_row};
use crate::store::{OrderFinal, PendingOrder, Store, WriteOp};
use crate::{Broker, EngineConfig, EngineError, Symbol};

/// What start-up reconciliation found (shown by `GET /risk`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reconciliation {
    /// Every order that was PENDING at start and how it was settled.
    pub orders: Vec<SettledOrder>,
    /// Whether the broker's positions were compared (false for paper, or when they
    /// could not be read: see `positions_error`).
    pub positions_checked: bool,
    /// Why the positions could not be read, if they could not.
    pub positions_error: Option<String>,
    /// Symbols whose broker position differs from the open trades.
    pub mismatches: Vec<PositionMismatch>,
}

/// One PENDING order and what recovery found at the broker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SettledOrder {
    /// The order's tag.
    pub tag: String,
    /// The instrument.
    pub symbol: Symbol,
    /// `entry`, `exit` or `manual`.
    pub purpose: String,
    /// `filled`, `rejected`, `not_placed`, or `unsettled` (still being looked up in
    /// the background; its symbol stays locked). An exchange-side stop: `guarding`,
    /// `filled`, `rejected`, `cancelled`, `settled`, `not_placed`, or `unknown` (not
    /// in the book yet while its trade is open: it guards on until found or its
    /// look-up window is over).
    pub outcome: &'static str,
}

/// A net position the broker reports that the open trades do not explain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PositionMismatch {
    /// The instrument.
    pub symbol: Symbol,
    /// Net units at the broker (bought minus sold today).
    pub broker_net: i64,
    /// Net units of the engine's open trades (long positive, short negative).
    pub engine_net: i64,
    /// Tags of this symbol's orders of unknown outcome (still looked up): a
    /// difference they would explain once settled.
    pub unsettled: Vec<String>,
}

/// Every stored symbol's book, reconciled, and the report.
pub(crate) async fn recover(
    store: &Store,
    config: &EngineConfig,
    broker: &dyn Broker,
) -> Result<(Books, Reconciliation), EngineError> {
    if !broker.exchange_account() {
        pairing::book_belongs_here(store, broker).await?;
    }
    let journal = crate::journal::path_for(&config.database);
    let previous = crate::journal::read(&journal, config.boot_id.as_deref());
    let unsent = armed::promote_sent(store, &previous).await?;
    let pending = store.pending_order_rows().await?;
    let (mut books, mut stale) = load_books(store, config, broker).await?;
    let mut report = Reconciliation::default();
    let mut writes = Vec::new();
    let now = config.clock.now();
    for order in pending {
        // Settling may change the book (a trade opened or closed, levels unlocked).
        stale.insert(order.symbol.clone());
        if order.purpose == "protect" || order.purpose == "protect_oco" {
            let book = books.get_mut(&order.symbol);
            let (outcome, settled) =
                crate::shard::protect::recover(broker, &order, book, now).await?;
            report.orders.push(SettledOrder {
                tag: order.tag.clone(),
                symbol: order.symbol.clone(),
                purpose: order.purpose.clone(),
                outcome,
            });
            writes.extend(settled);
            continue;
        }
        let outcome = look_up(broker, &order).await?;
        report.orders.push(SettledOrder {
            tag: order.tag.clone(),
            symbol: order.symbol.clone(),
            purpose: order.purpose.clone(),
            outcome: outcome.label(),
        });
        let book = books.get_mut(&order.symbol);
        writes.extend(settle(&order, outcome, book, now));
    }
    // Only rows that differ from the disk: rewriting all 10,000 would cost start-up
    // a large commit for nothing.
    for symbol in &stale {
        if let Some(book) = books.get(symbol) {
            writes.push(book.row(symbol));
        }
    }
    if broker.exchange_account() {
        positions::compare(broker, &books, &mut report, &mut writes).await;
    }
    let last_seq = store.last_order_seq().await?;
    let armed = armed::rearm(&books, unsent, last_seq, &mut writes);
    if !writes.is_empty() {
        store.commit(writes).await?;
    }
    for (symbol, order) in armed {
        if let Some(book) = books.get_mut(&symbol) {
            book.armed = Some(order);
        }
    }
    if !report.orders.is_empty() || !report.mismatches.is_empty() {
        tracing::info!(
            settled = report.orders.len(),
            mismatches = report.mismatches.len(),
            "reconciled with the broker"
        );
    }
    Ok((books, report))
}

/// Every stored symbol's book, built as its rows arrive, and the symbols whose row
/// must be written again (parameters changed in the configuration). A `next_seq`
/// behind the newest candle is not a change: loading derives it again every time.
async fn load_books(
    store: &Store,
    config: &EngineConfig,
    broker: &dyn Broker,
) -> Result<(Books, HashSet<Symbol>), EngineError> {
    // Sized once: growing a map of 10,000 books rehashes it (both tables live at once).
    let mut books = Books::with_capacity(config.shards, store.symbol_count().await?);
    let mut stale = HashSet::new();
    store
        .load_symbols(|stored| {
            let symbol = stored.row.symbol.clone();
            let params = config.params_for(&symbol);
            if params != stored.row.params {
                tracing::info!(%symbol, "strategy parameters changed since the last run; using the configured ones");
            }
            if let Some((_, last)) = stored.candles.last() {
                broker.observe(&symbol, last.close);
            }
            if let Some(trade) = &stored.trade {
                tracing::info!(%symbol, direction = %trade.direction, entry = %trade.price_entry,
                    target = %trade.price_target, stop = %trade.price_stop, "open trade restored and watched");
            }
            let position = stored.trade.map_or(Position::Flat, Position::Open);
            let candles = stored.candles.iter().map(|(_, candle)| *candle);
            let strategy = Strategy::restore(params, candles, stored.row.levels, position);
            let mut book = Book::new(strategy);
            book.history_from = stored.row.history_from;
            book.next_seq = stored.row.next_seq;
            book.recent_times = stored.recent_times;
            if book.symbol_row(&symbol) != stored.row {
                stale.insert(symbol.clone());
            }
            books.insert(symbol, book);
            Ok(())
        })
        .await?;
    Ok((books, stale))
}

/// What the broker's book says about one PENDING order.
#[derive(Debug)]
enum Outcome {
    /// Final with something filled (`status` is `Complete`), or final with nothing.
    Final {
        order_id: String,
        status: OrderStatus,
    },
    /// The tag is not in the book of a broker that cannot show an order late
    /// (paper): never placed.
    NotPlaced,
    /// Working, or not in the book yet: looked up in the background.
    Unsettled {
        order_id: Option<String>,
        why: String,
    },
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Final {
                status: OrderStatus::Complete { .. },
                ..
            } => "filled",
            Outcome::Final { .. } => "rejected",
            Outcome::NotPlaced => "not_placed",
            Outcome::Unsettled { .. } => "unsettled",
        }
    }
}

async fn look_up(broker: &dyn Broker, order: &PendingOrder) -> Result<Outcome, EngineError> {
    let Some(found) = broker.find_by_tag(&order.tag).await? else {
        if broker.shows_orders_late() {
            tracing::warn!(tag = %order.tag, symbol = %order.symbol, purpose = %order.purpose,
                "order was out when the engine stopped and is not in the broker's book yet; looking again in the background");
            return Ok(Outcome::Unsettled {
                order_id: None,
                why: "not in the broker's book yet after a restart".into(),
            });
        }
        tracing::warn!(tag = %order.tag, symbol = %order.symbol, purpose = %order.purpose,
            "order was out when the engine stopped and the broker has no order with its tag: not placed");
        return Ok(Outcome::NotPlaced);
    };
    let status = match found.progress {
        OrderProgress::Done(status) => status,
        OrderProgress::Working => {
            tracing::warn!(tag = %order.tag, order_id = %found.order_id,
                "order from before the restart is still working; settling it in the background");
            return Ok(Outcome::Unsettled {
                order_id: Some(found.order_id),
                why: "still working at the broker after a restart".into(),
            });
        }
    };
    tracing::warn!(tag = %order.tag, symbol = %order.symbol, purpose = %order.purpose,
        order_id = %found.order_id, ?status, "order from before the restart found by its tag");
    Ok(Outcome::Final {
        order_id: found.order_id,
        status,
    })
}

fn event(symbol: &Symbol, kind: &'static str, detail: serde_json::Value) -> WriteOp {
    WriteOp::Event {
        symbol: Some(symbol.clone()),
        kind,
        detail,
    }
}

/// The same strategy (history, levels) in another position.
fn repositioned(strategy: &Strategy, position: Position) -> Strategy {
    Strategy::restore(
        *strategy.params(),
        strategy.recent_candles().copied(),
        strategy.levels(),
        position,
    )
}

/// Applies one order's outcome to its symbol's book; returns the writes recording it.
fn settle(
    order: &PendingOrder,
    outcome: Outcome,
    book: Option<&mut Book>,
    now: jiff::Timestamp,
) -> Vec<WriteOp> {
    let (order_id, status) = match outcome {
        Outcome::Unsettled { order_id, why } => {
            return unsettled::park(order, order_id, why, book, now);
        }
        Outcome::NotPlaced => {
            let detail = serde_json::json!({"tag": order.tag, "purpose": order.purpose});
            return vec![
                WriteOp::OrderFinal(OrderFinal {
                    tag: order.tag.clone(),
                    status: "LOST",
                    broker_order_id: None,
                    average_price: None,
                    filled_quantity: None,
                    reason: Some("not in the broker's order book after a restart".into()),
                }),
                event(&order.symbol, "order_lost", detail),
            ];
        }
        Outcome::Final { order_id, status } => (order_id, status),
    };
    let record = OrderRecord {
        tag: order.tag.clone(),
        order_id: Some(order_id.clone()),
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        status: status.clone(),
    };
    let mut writes = vec![final_row(&record)];
    let fill = match &status {
        OrderStatus::Complete {
            average_price,
            filled_quantity,
            time,
        } => Fill {
            price: *average_price,
            quantity: *filled_quantity,
            time: Some(*time),
            order_id: Some(order_id),
        },
        OrderStatus::Rejected { reason } => {
            let kind = match order.purpose.as_str() {
                "entry" => "entry_rejected",
                "exit" => "exit_rejected",
                _ => "manual_order",
            };
            let detail = serde_json::json!({"tag": order.tag, "reason": reason, "recovered": true});
            writes.push(event(&order.symbol, kind, detail));
            return writes;
        }
    };
    let Some(book) = book else {
        if order.purpose != "manual" {
            tracing::error!(tag = %order.tag, symbol = %order.symbol, "filled order of a symbol the database does not hold");
        }
        return writes;
    };
    match order.purpose.as_str() {
        "entry" => writes.extend(apply_entry_fill(order, book, fill)),
        "exit" => writes.extend(apply_exit_fill(order, book, fill)),
        _ => {}
    }
    writes
}

fn apply_entry_fill(order: &PendingOrder, book: &mut Book, fill: Fill) -> Vec<WriteOp> {
    let symbol = &order.symbol;
    if !matches!(book.strategy.position(), Position::Flat) {
        tracing::error!(%symbol, tag = %order.tag, "entry filled but the symbol already holds a trade; see the position check");
        return Vec::new();
    }
    let direction = match order.side {
        Side::Buy => Direction::Long,
        Side::Sell => Direction::Short,
    };
    let signal = EntrySignal {
        direction,
        price: order.signal_price.unwrap_or(fill.price),
        quantity: order.quantity,
    };
    book.strategy = repositioned(&book.strategy, Position::Entering(signal));
    match book.strategy.entry_filled(fill).cloned() {
        Ok(trade) => {
            tracing::warn!(%symbol, tag = %order.tag, entry = %trade.price_entry,
                quantity = trade.quantity.get(), "entry filled while the engine was down; trade opened and watched");
            let detail = serde_json::json!({"tag": order.tag, "entry": trade.price_entry.to_string(),
                "target": trade.price_target.to_string(), "stop": trade.price_stop.to_string(),
                "recovered": true});
            vec![
                WriteOp::OpenTrade(symbol.clone(), trade),
                event(symbol, "trade_opened", detail),
            ]
        }
        Err(error) => {
            tracing::error!(%symbol, tag = %order.tag, %error, "recovered entry fill opened no trade");
            Vec::new()
        }
    }
}

fn apply_exit_fill(order: &PendingOrder, book: &mut Book, fill: Fill) -> Vec<WriteOp> {
    let symbol = &order.symbol;
    let Position::Open(trade) = book.strategy.position().clone() else {
        tracing::error!(%symbol, tag = %order.tag, "exit filled but no open trade is stored; see the position check");
        return Vec::new();
    };
    let price = order.signal_price.unwrap_or(fill.price);
    let reason = trade.exit_reason_at(price).unwrap_or(ExitReason::Manual);
    let exit = ExitSignal { reason, price };
    book.strategy = repositioned(&book.strategy, Position::Exiting { trade, exit });
    match book.strategy.exit_filled(fill) {
        Ok(closed) => {
            if book.strategy.params().relevel() == Relevel::Fresh {
                book.history_from = book.next_seq;
            }
            tracing::warn!(%symbol, tag = %order.tag, exit = %closed.price_exit, pnl = %closed.pnl,
                "exit filled while the engine was down; trade closed");
            let detail = serde_json::json!({"tag": order.tag, "reason": closed.exit_reason,
                "exit": closed.price_exit.to_string(), "pnl": closed.pnl.to_string(), "recovered": true});
            vec![
                WriteOp::CloseTrade(symbol.clone(), closed),
                event(symbol, "trade_closed", detail),
            ]
        }
        Err(error) => {
            tracing::error!(%symbol, tag = %order.tag, %error, "recovered exit fill closed no trade");
            Vec::new()
        }
    }
}

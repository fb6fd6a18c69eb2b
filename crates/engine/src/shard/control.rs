//! Commands from an operator: manual orders, exit now, reset.

use kitebreak_price::Quantity;
use kitebreak_strategy::{AwaitBroker, ExitEvent};

use super::{Shard, orders};
use crate::broker::{OrderStatus, Side};
use crate::report::{ExitOutcome, OrderRecord};
use crate::store::WriteOp;
use crate::{EngineError, Symbol};

impl Shard {
    /// A manual buy or sell, passed to the broker as the original did: it does not
    /// open a strategy-managed trade (no target, no stop) and creates no strategy.
    #[tracing::instrument(skip(self), fields(%symbol))]
    pub(super) async fn manual_order(
        &mut self,
        symbol: Symbol,
        side: Side,
        quantity: Option<Quantity>,
    ) -> Result<OrderRecord, EngineError> {
        let quantity = quantity.unwrap_or_else(|| self.ctx.config.params_for(&symbol).quantity());
        // Without a price the broker rejects the order itself; the value limit refuses.
        let price = self.ctx.broker.ltp(&symbol).await.ok();
        if let Err(reason) = self.ctx.gate.admit(&symbol, price, quantity, false) {
            tracing::info!(%symbol, %reason, "manual order refused");
            return Err(EngineError::Refused(reason));
        }
        let (order, intent) = self.ctx.new_order(&symbol, "manual", side, quantity, None);
        self.ctx.store.commit(vec![intent]).await?;
        let (record, unknown) = self.ctx.send_tracked(order).await;
        let detail = serde_json::json!({"tag": record.tag, "side": side, "unknown": unknown});
        let mut writes = vec![WriteOp::Event {
            symbol: Some(symbol),
            kind: "manual_order",
            detail,
        }];
        if unknown {
            // Maybe at the broker: the row stays PENDING (a restart looks it up by
            // tag) and nothing says "rejected".
            self.ctx.store.commit(writes).await?;
            tracing::error!(tag = %record.tag, "manual order of unknown outcome; check the broker's order book");
            return Err(EngineError::Broker(crate::BrokerError::OutcomeUnknown(
                record.tag,
            )));
        }
        writes.insert(0, super::send::final_row(&record));
        self.ctx.store.commit(writes).await?;
        match &record.status {
            OrderStatus::Complete { .. } => Ok(record),
            OrderStatus::Rejected { reason } => Err(EngineError::OrderRejected {
                reason: reason.clone(),
            }),
        }
    }

    /// Leaves the open trade now, at market (the broker's last price is the reference).
    pub(super) async fn exit_now(&mut self, symbol: &Symbol) -> Result<ExitOutcome, EngineError> {
        let book = self
            .books
            .get_mut(symbol)
            .ok_or_else(|| EngineError::UnknownSymbol(symbol.clone()))?;
        if book.strategy.trade().is_none() {
            return Err(EngineError::NoOpenTrade(symbol.clone()));
        }
        let price = self
            .ctx
            .broker
            .ltp(symbol)
            .await
            .map_err(|_| EngineError::NoPrice(symbol.clone()))?;
        let signal = match book.strategy.exit_manually(price, &mut AwaitBroker) {
            Ok(ExitEvent::Signalled(signal)) => signal,
            Ok(ExitEvent::Closed(_)) => {
                return Err(EngineError::Conflict("exit filled without an order".into()));
            }
            Err(error) => return Err(EngineError::Conflict(error.to_string())),
        };
        match orders::exit(&self.ctx, symbol, book, signal).await? {
            ExitOutcome::Failed { reason, .. } => Err(EngineError::OrderRejected { reason }),
            closed => Ok(closed),
        }
    }

    /// Clears a symbol's history, levels and trade. Refused while a trade is in
    /// progress unless `force`; a forced reset forgets the trade without closing it
    /// at the broker (the caller owns that position from then on).
    pub(super) async fn reset(&mut self, symbol: &Symbol, force: bool) -> Result<(), EngineError> {
        let book = self
            .books
            .get_mut(symbol)
            .ok_or_else(|| EngineError::UnknownSymbol(symbol.clone()))?;
        let had_trade = book.strategy.is_locked();
        if had_trade && !force {
            return Err(EngineError::Conflict(format!(
                "{symbol} has a trade in progress; exit it first or reset with force=true"
            )));
        }
        if had_trade {
            // A stop left resting at the exchange could still fire and open a
            // position nobody watches: it goes first, or the reset does not happen.
            lift_protection(&self.ctx, symbol, book).await?;
        }
        // What is left to drop (a stop that filled may have closed the trade).
        let dropped = book.strategy.is_locked();
        let snapshot = book.clone();
        book.strategy.reset();
        book.exit_retry = None;
        book.entry_unsettled = None;
        book.armed = None;
        book.history_from = book.next_seq;
        book.recent_times.clear();
        let detail = serde_json::json!({"force": force, "dropped_trade": dropped});
        let writes = vec![
            WriteOp::ClearCandles(symbol.clone()),
            WriteOp::DeleteOpenTrade(symbol.clone()),
            book.row(symbol),
            WriteOp::Event {
                symbol: Some(symbol.clone()),
                kind: "reset",
                detail,
            },
        ];
        if let Err(error) = self.ctx.store.commit(writes).await {
            *book = snapshot;
            return Err(error);
        }
        if dropped {
            tracing::warn!(%symbol, "forced reset dropped a trade in progress");
        }
        Ok(())
    }
}

/// Cancels the exchange-side protection of a trade a forced reset is about to drop.
/// A stop that filled first closes the trade (or its filled part) from its fill, as
/// it would on an exit; a stop that may still be working refuses the reset.
async fn lift_protection(
    ctx: &super::Context,
    symbol: &Symbol,
    book: &mut super::Book,
) -> Result<(), EngineError> {
    match super::protect::lift(ctx, symbol, book).await {
        super::protect::Lift::Clear => Ok(()),
        super::protect::Lift::Filled(record) => {
            super::protect::closed_by_stop(ctx, symbol, book, record).await?;
            Ok(())
        }
        super::protect::Lift::Failed(error) => Err(EngineError::Conflict(format!(
            "{symbol} was not reset: {error}; cancel the stop at the broker or try again"
        ))),
    }
}

//! [`Engine`]: the handle the HTTP layer (and tests) talk to.
//!
//! It routes each command to the shard that owns the symbol and waits for the reply;
//! the shard replies only after the state change is committed.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kitebreak_price::{Price, Quantity};
use tokio::sync::{mpsc, oneshot};

use crate::broker::{Broker, Side};
use crate::changes::Changes;
use crate::gate::Gate;
use crate::report::{
    CandleInput, CandleReport, ExitOutcome, OrderRecord, PriceReport, SymbolCounts, SymbolStatus,
};
use crate::session::BrokerSession;
use crate::shard::{Command, Reply};
use crate::store::{ClosedTradeRecord, Store, TradeFilter, WriteOp};
use crate::{EngineError, Symbol};
use kitebreak_kite::SessionState;

mod start;
pub(crate) use start::spawn_step_loop;

/// A running engine. Cheap to clone; every clone talks to the same shards.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shards: Vec<mpsc::Sender<Command>>,
    pub(crate) store: Store,
    pub(crate) broker: Arc<dyn Broker>,
    monitoring: Arc<AtomicBool>,
    /// Work parked for the retry timer (see [`Engine::retry_step`]).
    timer_work: Arc<AtomicBool>,
    pub(crate) gate: Arc<Gate>,
    /// The broker's login session, if it has one.
    session: Option<SessionState>,
    /// Marks the session expired at its token's expiry time; stops with the engine.
    _expiry_timer: Option<crate::session::Timer>,
    reconciliation: crate::Reconciliation,
    pub(crate) feed: Arc<crate::feed::Feed>,
    pub(crate) updates: Arc<crate::updates::Updates>,
    exit_failures: Arc<AtomicU64>,
    pub(crate) broker_errors: Arc<crate::broker::BrokerErrorCounts>,
    /// This run's send journal, marked clean at shutdown.
    journal: Arc<crate::journal::SendJournal>,
    changes: Arc<Changes>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("shards", &self.inner.shards.len())
            .field("broker", &self.inner.broker.name())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Applies one candle (a repeated alert with a known time is acknowledged only).
    pub async fn candle(
        &self,
        symbol: Symbol,
        input: CandleInput,
    ) -> Result<CandleReport, EngineError> {
        self.ask(&symbol.clone(), |reply| {
            Command::Candle(symbol, input, reply)
        })
        .await
    }

    /// A price observation: updates the paper broker, and exits an open trade that
    /// reached its target or stop while monitoring is on.
    pub async fn price(&self, symbol: Symbol, price: Price) -> Result<PriceReport, EngineError> {
        self.ask(&symbol.clone(), |reply| {
            Command::Price(symbol, price, reply)
        })
        .await
    }

    /// A manual market order (the strategy's default quantity when none is given).
    pub async fn manual_order(
        &self,
        symbol: Symbol,
        side: Side,
        quantity: Option<Quantity>,
    ) -> Result<OrderRecord, EngineError> {
        self.ask(&symbol.clone(), |reply| {
            Command::Manual(symbol, side, quantity, reply)
        })
        .await
    }

    /// Exits the symbol's open trade now, at market.
    pub async fn exit(&self, symbol: Symbol) -> Result<ExitOutcome, EngineError> {
        self.ask(&symbol.clone(), |reply| Command::Exit(symbol, reply))
            .await
    }

    /// Clears a symbol's state; refused with `Conflict` while a trade is in progress
    /// unless `force`.
    pub async fn reset(&self, symbol: Symbol, force: bool) -> Result<(), EngineError> {
        self.ask(&symbol.clone(), |reply| {
            Command::Reset(symbol, force, reply)
        })
        .await
    }

    /// One symbol's status; `UnknownSymbol` if it was never seen.
    pub async fn status(&self, symbol: Symbol) -> Result<SymbolStatus, EngineError> {
        self.ask(&symbol.clone(), |reply| Command::Status(symbol, reply))
            .await
    }

    /// Every symbol's status, sorted by symbol.
    pub async fn statuses(&self) -> Result<Vec<SymbolStatus>, EngineError> {
        let mut all = Vec::new();
        for answer in self.ask_every(Command::StatusAll).await? {
            all.extend(answer?);
        }
        all.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        Ok(all)
    }

    /// How many symbols are tracked and how many have a trade (the counts of `GET /`),
    /// without building every symbol's status.
    pub async fn symbol_counts(&self) -> Result<SymbolCounts, EngineError> {
        let mut all = SymbolCounts::default();
        for counts in self.ask_every(Command::Counts).await? {
            all.total += counts.total;
            all.with_trade += counts.with_trade;
        }
        Ok(all)
    }

    /// Sends `command` to every shard, then waits for every answer (all shards work
    /// at once), in shard order.
    async fn ask_every<T>(
        &self,
        command: impl Fn(oneshot::Sender<T>) -> Command,
    ) -> Result<Vec<T>, EngineError> {
        let mut waiting = Vec::with_capacity(self.inner.shards.len());
        for shard in &self.inner.shards {
            let (reply, answer) = oneshot::channel();
            shard
                .send(command(reply))
                .await
                .map_err(|_| EngineError::Stopped)?;
            waiting.push(answer);
        }
        let mut answers = Vec::with_capacity(waiting.len());
        for answer in waiting {
            answers.push(answer.await.map_err(|_| EngineError::Stopped)?);
        }
        Ok(answers)
    }

    /// How many trades have closed, and their P&L in all (for metrics), without
    /// holding the history.
    pub async fn closed_totals(&self) -> Result<(u64, kitebreak_price::Money), EngineError> {
        self.inner.store.closed_totals(None).await
    }

    /// Closed trades, newest first.
    pub async fn closed_trades(
        &self,
        filter: &TradeFilter,
    ) -> Result<Vec<ClosedTradeRecord>, EngineError> {
        self.inner.store.closed_trades(filter).await
    }

    /// Whether price observations trigger automatic exits.
    pub fn monitoring(&self) -> bool {
        self.inner.monitoring.load(Ordering::Relaxed)
    }

    /// Turns automatic exits on price observations on or off (recorded in the event
    /// log). Candles are unaffected: their closes are still checked, as the original's
    /// webhook did whatever its monitor thread was doing.
    pub async fn set_monitoring(&self, on: bool) -> Result<(), EngineError> {
        let was = self.inner.monitoring.swap(on, Ordering::Relaxed);
        let detail = serde_json::json!({"active": on, "was": was});
        self.inner
            .store
            .commit(vec![WriteOp::Event {
                symbol: None,
                kind: "monitoring",
                detail,
            }])
            .await
    }

    /// What start-up reconciliation with the broker found (orders settled by tag,
    /// position mismatches). It finished before the engine took any command.
    pub fn reconciliation(&self) -> &crate::Reconciliation {
        &self.inner.reconciliation
    }

    /// How well the store's group commit is batching.
    pub fn commit_stats(&self) -> crate::CommitStats {
        self.inner.store.commit_stats()
    }

    /// The broker's login session, for installing a new token (an HTTP login);
    /// `None` when the broker needs none (paper).
    pub fn session(&self) -> Option<&SessionState> {
        self.inner.session.as_ref()
    }

    /// Where the broker's login session stands now (`None`: the broker needs none).
    pub fn broker_session(&self) -> Option<BrokerSession> {
        self.inner.gate.broker_session()
    }

    /// The broker the engine trades through.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.inner.broker
    }

    /// Stops the shards after the commands already queued, then flushes and closes
    /// the database. Commands sent afterwards fail with `Stopped`.
    pub async fn shutdown(&self) {
        self.inner.broker.stop_feed();
        for shard in &self.inner.shards {
            let (ack, done) = oneshot::channel();
            if shard.send(Command::Stop(ack)).await.is_ok() {
                let _ = done.await;
            }
        }
        self.inner.store.close().await;
        // Every shard has stopped: nothing more can be sent under an armed tag.
        if let Err(error) = self.inner.journal.mark_clean() {
            tracing::warn!(%error, "send journal not marked clean; the next start after a reboot looks armed exits up");
        }
        tracing::info!("engine stopped");
    }

    /// An order update from the broker (ticker, verified postback): the fast path to
    /// the final status of an order a shard is waiting for. Duplicates, late updates
    /// and other tools' orders change nothing.
    pub fn order_update(&self, update: crate::OrderUpdate) -> crate::UpdateOutcome {
        let outcome = self.inner.updates.apply(&update);
        tracing::debug!(order_id = %update.order_id, ?outcome, "order update");
        self.inner.changes.signal();
        outcome
    }

    /// One step of the exit retry timer: every shard retries its pending exits that
    /// are due on the engine clock (trades that see no prices still get out) and
    /// looks up its entries of unknown outcome that are due.
    ///
    /// Only while some shard has such work parked: a shard that parks one sets
    /// the engine's flag, and the step clears it before asking the shards and sets
    /// it again if any still has work. A shard parking work meanwhile sets it
    /// after the clear, so no step that is needed is skipped; with nothing parked
    /// (the steady state) the step wakes no shard, so it never queues 64 commands in
    /// front of a tick.
    pub async fn retry_step(&self) -> Result<(), EngineError> {
        let timer_work = &self.inner.timer_work;
        if !timer_work.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let still = self.ask_every(Command::RetryDue).await?;
        if still.contains(&true) {
            timer_work.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// One check of the exchange-side stops (`[orders] protection = "exchange"`): one
    /// read of the broker's order book (and one listing of its GTTs for CNC/NRML), then every shard settles the stops that
    /// ended (a fill closes its trade; a rejection is raised) and guards open trades
    /// that have none. A book that cannot be read is skipped until the next step;
    /// with no trade open nothing is read.
    pub async fn protect_step(&self) -> Result<(), EngineError> {
        // Nothing open, nothing to guard or settle: no reads of the broker's book
        // (they count against Kite's request budget every second).
        if self.inner.gate.open_trades() == 0 {
            return Ok(());
        }
        let book_orders = match self.inner.broker.orders().await {
            Ok(orders) => Arc::new(orders),
            Err(error) => {
                tracing::warn!(%error, "order book not read; stops checked next time");
                return Ok(());
            }
        };
        // GTTs (CNC/NRML protection) are one more listing a step; not read, their
        // checks wait for the next step (stops are still checked).
        // A broker or product without GTTs answers `Unsupported` without a request.
        let ocos = match self.inner.broker.ocos().await {
            Ok(ocos) => Some(Arc::new(ocos)),
            Err(crate::BrokerError::Unsupported(_)) => None,
            Err(error) => {
                tracing::warn!(%error, "GTTs not listed; checked next time");
                None
            }
        };
        self.ask_every(|ack| Command::Protect(book_orders.clone(), ocos.clone(), ack))
            .await?;
        Ok(())
    }

    /// Signalled whenever something observable may have changed (a command applied,
    /// but not a status read; a candle committed, a tick, a poll, a feed state, an
    /// order update): wait on it with [`Changes::until`] instead of polling.
    pub fn changes(&self) -> &Changes {
        &self.inner.changes
    }

    /// Exit attempts that failed since start (each also logged at ERROR).
    pub fn exit_failures(&self) -> u64 {
        self.inner.exit_failures.load(Ordering::Relaxed)
    }

    /// Broker calls of the order path and the price poll that failed since start, by
    /// kind (`rejected`, `unavailable`, `session_expired`, ...).
    pub fn broker_errors(&self) -> Vec<(&'static str, u64)> {
        self.inner.broker_errors.snapshot()
    }

    async fn ask<T>(
        &self,
        symbol: &Symbol,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EngineError> {
        let shard = &self.inner.shards[shard_of(symbol, self.inner.shards.len())];
        let (reply, answer) = oneshot::channel();
        shard
            .send(command(reply))
            .await
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }
}

/// The shard that owns `symbol`: a fixed hash, so a symbol never moves.
pub(crate) fn shard_of(symbol: &Symbol, shards: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    symbol.hash(&mut hasher);
    // The modulo keeps the value below `shards`, which is a usize.
    (hasher.finish() % shards as u64) as usize
}

//! Live prices and order updates from the broker, and the polling fallback.
//!
//! A broker with a live feed (Kite's ticker) hands the engine its [`FeedEvent`]s at
//! start ([`crate::Broker::start_feed`]). Two thin loops run around single steps
//! that tests call directly:
//!
//! - [`spawn_events`] (for the Kite ticker, the socket's own task: see
//!   `kite::feed`): each tick goes to the shard owning its symbol as a price
//!   observation (no reply awaited: the same `Strategy::on_price` check as
//!   `POST /price`, so it can exit); each order update goes to the
//!   [`crate::updates::Updates`] registry (the fast path to an order's final status);
//!   each state change is recorded for polling and metrics.
//! - [`Engine::poll_step`], every [`FeedConfig::poll_every`]: while the feed is not
//!   live (down, reconnecting, silent, or no tick for [`FeedConfig::stale_after`]),
//!   one batched LTP call for every watched symbol, its prices delivered like ticks.
//!   The broker's own quote budget (Kite: 1 request/second) is spent by that call.
//!
//! What is watched is [`Feed`]'s set: a symbol is watched while it has an open trade
//! (shards report after every command), subscribed at the broker on entry fill and
//! unsubscribed on exit; the ticker resubscribes the set after every reconnect.
//!
//! Ticks are coalesced per shard ([`PendingTicks`]): a tick records its symbol's
//! latest price in the shard's pending map, replacing an older one not yet applied,
//! and only the first pending tick queues a command (`Command::Ticks`) on the shard.
//! So while a shard waits on an order, its symbols' ticks wait as one price each,
//! never as a queue of stale prices in front of the ticker: nothing is lost (the
//! newest price of every symbol is applied) and the ticker never waits for a busy
//! shard, not even one whose command queue is full ([`queue_notice`]). A command
//! sent after a tick still finds it applied (the pending command is ahead of it),
//! except behind a full queue, where the notice waits for room in a task of its own;
//! a newer price of the same symbol may be applied ahead of commands queued after
//! its first pending tick, which only means it is seen sooner.
//!
//! The per-tick path does no logging above DEBUG and allocates nothing in the steady
//! state (symbols are shared, the pending map and its drain buffer keep their room).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use kitebreak_price::Price;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::broker::Broker;
use crate::changes::Changes;
use crate::engine::{Inner, shard_of};
use crate::shard::Command;
use crate::{Engine, EngineError, Symbol};

mod types;
pub use types::{FeedConfig, FeedEvent, FeedSource, FeedState, FeedStats, OrderUpdate};

/// The ticks one shard has not applied yet: the latest price of each symbol.
///
/// [`PendingTicks::put`] replaces a symbol's older pending price (the newest wins)
/// and says whether the shard must be told; [`PendingTicks::take`] hands the shard
/// everything pending and re-arms the next notice. Every price put is either taken
/// by the command already queued or causes a new one: none is lost.
#[derive(Debug, Default)]
pub(crate) struct PendingTicks {
    state: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    prices: HashMap<Symbol, Price>,
    /// A `Command::Ticks` is queued on the shard and has not taken these yet.
    notified: bool,
    /// The drain buffer, kept between drains so taking allocates nothing.
    spare: Vec<(Symbol, Price)>,
}

impl PendingTicks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `price` as `symbol`'s latest. True when no command that will take it
    /// is queued yet: the caller must queue one.
    pub fn put(&self, symbol: Symbol, price: Price) -> bool {
        let mut pending = self.lock();
        pending.prices.insert(symbol, price);
        !std::mem::replace(&mut pending.notified, true)
    }

    /// Everything pending, in no particular order; a tick put after this queues a
    /// new command. Give the buffer back with [`PendingTicks::recycle`].
    pub fn take(&self) -> Vec<(Symbol, Price)> {
        let mut pending = self.lock();
        pending.notified = false;
        let mut out = std::mem::take(&mut pending.spare);
        out.extend(pending.prices.drain());
        out
    }

    /// Returns a drained buffer for the next [`PendingTicks::take`].
    pub fn recycle(&self, mut used: Vec<(Symbol, Price)>) {
        used.clear();
        let mut pending = self.lock();
        if used.capacity() > pending.spare.capacity() {
            pending.spare = used;
        }
    }
}

/// The watched set, the feed's state and its counters; shared by the shards and the
/// two loops.
#[derive(Debug)]
pub(crate) struct Feed {
    config: FeedConfig,
    watched: Mutex<BTreeSet<Symbol>>,
    state: AtomicU8,
    origin: tokio::time::Instant,
    /// Milliseconds after `origin` of the last tick, or of going live.
    last_tick: AtomicU64,
    ticks: AtomicU64,
    polls: AtomicU64,
    poll_errors: AtomicU64,
    /// Each shard's pending ticks, by shard index.
    pending: Vec<Arc<PendingTicks>>,
    /// Signalled on every state change, tick and poll.
    changes: Arc<Changes>,
}

impl Feed {
    pub fn new(config: FeedConfig, shards: usize, changes: Arc<Changes>) -> Feed {
        Feed {
            changes,
            pending: (0..shards.max(1)).map(|_| Arc::default()).collect(),
            config,
            watched: Mutex::new(BTreeSet::new()),
            state: AtomicU8::new(FeedState::None.code()),
            origin: tokio::time::Instant::now(),
            last_tick: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            poll_errors: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Watches `symbol` (subscribing at the broker) or stops, if that changes anything.
    pub fn set_watched(&self, broker: &dyn Broker, symbol: &Symbol, wanted: bool) {
        let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        if watched.contains(symbol) == wanted {
            return;
        }
        if wanted {
            watched.insert(symbol.clone());
            broker.watch(symbol);
        } else {
            watched.remove(symbol);
            broker.unwatch(symbol);
        }
    }

    /// The watched symbols, sorted.
    pub fn watched(&self) -> Vec<Symbol> {
        let watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        watched.iter().cloned().collect()
    }

    pub fn state(&self) -> FeedState {
        FeedState::from_code(self.state.load(Ordering::Relaxed))
    }

    /// Records the feed's state; going live starts the silence clock afresh.
    pub fn set_state(&self, state: FeedState) {
        if state == FeedState::Live {
            self.last_tick.store(self.now_ms(), Ordering::Relaxed);
        }
        self.state.store(state.code(), Ordering::Relaxed);
        self.changes.signal();
    }

    fn ticked(&self) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.last_tick.store(self.now_ms(), Ordering::Relaxed);
        self.changes.signal();
    }

    /// Whether the fallback should poll now: a feed that is not live, or live but
    /// without a tick for `stale_after`.
    pub fn needs_poll(&self) -> bool {
        match self.state() {
            FeedState::None => false,
            FeedState::Live => {
                let last = self.last_tick.load(Ordering::Relaxed);
                let stale = u64::try_from(self.config.stale_after.as_millis()).unwrap_or(u64::MAX);
                self.now_ms().saturating_sub(last) >= stale
            }
            FeedState::Connecting
            | FeedState::Reconnecting
            | FeedState::Silent
            | FeedState::Stopped => true,
        }
    }

    pub fn stats(&self) -> FeedStats {
        let watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
        FeedStats {
            ticks: self.ticks.load(Ordering::Relaxed),
            polls: self.polls.load(Ordering::Relaxed),
            poll_errors: self.poll_errors.load(Ordering::Relaxed),
            watched: watched.len() as u64,
            settled_by_updates: 0,
        }
    }
}

impl Engine {
    /// Makes `price` the pending latest price of `symbol` on the shard owning it, and
    /// queues the command that applies it unless one is queued already.
    /// Never waits: see [`queue_notice`].
    pub(crate) fn send_tick(&self, symbol: Symbol, price: Price) -> Result<(), EngineError> {
        let shards = &self.inner.shards;
        let index = shard_of(&symbol, shards.len());
        let Some(pending) = self.inner.feed.pending.get(index) else {
            return Err(EngineError::Stopped);
        };
        if pending.put(symbol, price) {
            queue_notice(&shards[index], Command::Ticks(Arc::clone(pending)))?;
        }
        Ok(())
    }

    /// Delivers one live price to the shard owning `symbol` (no reply awaited).
    pub(crate) fn tick(&self, symbol: Symbol, price: Price) -> Result<(), EngineError> {
        self.send_tick(symbol, price)?;
        // Counted once handed on: a command sent after this sees the tick applied,
        // except behind a full shard queue (see `queue_notice`).
        self.inner.feed.ticked();
        Ok(())
    }

    /// One step of the polling fallback: when the live feed is not live, one batched
    /// LTP call for every watched symbol, each price delivered like a tick. Returns
    /// how many prices were delivered (0 when no poll was due).
    pub async fn poll_step(&self) -> Result<usize, EngineError> {
        let feed = &self.inner.feed;
        if !feed.needs_poll() {
            return Ok(0);
        }
        let watched = feed.watched();
        if watched.is_empty() {
            return Ok(0);
        }
        feed.polls.fetch_add(1, Ordering::Relaxed);
        let prices = match self.inner.broker.ltp_many(&watched).await {
            Ok(prices) => prices,
            Err(error) => {
                feed.poll_errors.fetch_add(1, Ordering::Relaxed);
                feed.changes.signal();
                self.inner.broker_errors.count(&error);
                tracing::warn!(%error, symbols = watched.len(), "LTP poll failed");
                return Err(error.into());
            }
        };
        let delivered = prices.len();
        for (symbol, price) in prices {
            self.send_tick(symbol, price)?;
        }
        feed.changes.signal();
        Ok(delivered)
    }

    /// What the live feed is doing.
    pub fn feed_state(&self) -> FeedState {
        self.inner.feed.state()
    }

    /// The feed's counters.
    pub fn feed_stats(&self) -> FeedStats {
        FeedStats {
            settled_by_updates: self.inner.updates.fast_path_count(),
            ..self.inner.feed.stats()
        }
    }

    /// One event of the broker's feed.
    pub(crate) fn feed_event(&self, event: FeedEvent) -> Result<(), EngineError> {
        match event {
            FeedEvent::Tick { symbol, price } => self.tick(symbol, price),
            FeedEvent::Order(update) => {
                self.order_update(update);
                Ok(())
            }
            FeedEvent::State(state) => {
                tracing::info!(state = state.as_str(), "live feed state");
                self.inner.feed.set_state(state);
                Ok(())
            }
        }
    }
}

/// Queues a shard's notice of pending ticks without waiting. When the shard's queue
/// is full (it is busy with a slow order and commands piled up behind it), a task of
/// its own queues the notice as soon as there is room, so the ticker goes on reading
/// the other shards' ticks meanwhile. Only a first pending tick sends a notice, so at
/// most one such task waits per shard.
fn queue_notice<T: Send + 'static>(shard: &mpsc::Sender<T>, notice: T) -> Result<(), EngineError> {
    match shard.try_send(notice) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(notice)) => {
            let shard = shard.clone();
            tokio::spawn(async move {
                // Closed only when the engine stops: nothing left to apply it to.
                let _ = shard.send(notice).await;
            });
            Ok(())
        }
        Err(TrySendError::Closed(_)) => Err(EngineError::Stopped),
    }
}

/// Delivers the broker's feed events until the feed or the engine ends. A feed that
/// delivers its own events straight to the engine (the Kite ticker) is started so
/// first; this loop then reads only what is left (its states).
pub(crate) fn spawn_events(engine: Weak<Inner>, events: FeedSource) {
    let mut events = events.deliver_to(engine.clone());
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let Some(inner) = engine.upgrade() else {
                return;
            };
            if let Err(EngineError::Stopped) = (Engine { inner }).feed_event(event) {
                return;
            }
        }
    });
}

/// Calls [`Engine::poll_step`] every `every` until the engine stops.
pub(crate) fn spawn_polls(engine: Weak<Inner>, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = engine.upgrade() else {
                return;
            };
            if let Err(EngineError::Stopped) = (Engine { inner }).poll_step().await {
                return;
            }
        }
    });
}

/// The feed of a broker that started one, shared by everything.
pub(crate) fn feed_for(
    config: FeedConfig,
    live: bool,
    shards: usize,
    changes: Arc<Changes>,
) -> Arc<Feed> {
    let feed = Feed::new(config, shards, changes);
    if live {
        feed.set_state(FeedState::Connecting);
    }
    Arc::new(feed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    fn sym(text: &str) -> Symbol {
        Symbol::parse(text).expect("symbol")
    }

    #[tokio::test]
    async fn a_notice_to_a_full_shard_queue_waits_in_its_own_task_not_in_the_caller() {
        let (shard, mut queue) = mpsc::channel(1);
        queue_notice(&shard, "earlier command").expect("queued");
        // The queue is full; this returns at once (the function cannot wait).
        queue_notice(&shard, "ticks").expect("handed to a task");
        // Only the waiting task holds a sender now: a dropped notice ends the
        // queue (`None`) instead of hanging the test.
        drop(shard);
        assert_eq!(queue.recv().await, Some("earlier command"));
        assert_eq!(
            queue.recv().await,
            Some("ticks"),
            "queued once there was room"
        );

        assert_eq!(queue.recv().await, None, "nothing else was queued");

        let (closed, queue) = mpsc::channel(1);
        drop(queue);
        assert!(matches!(
            queue_notice(&closed, "ticks"),
            Err(EngineError::Stopped)
        ));
    }

    #[test]
    fn pending_ticks_keep_the_newest_price_and_ask_for_one_notice_per_drain() {
        let pending = PendingTicks::default();
        assert!(pending.put(sym("INFY"), p("100")), "first tick: notify");
        assert!(!pending.put(sym("INFY"), p("101")), "already notified");
        assert!(!pending.put(sym("TCS"), p("50")));
        let mut taken = pending.take();
        taken.sort();
        assert_eq!(taken, [(sym("INFY"), p("101")), (sym("TCS"), p("50"))]);
        pending.recycle(taken);

        // After a take, the next tick needs a new notice; nothing is left behind.
        assert!(pending.take().is_empty());
        assert!(pending.put(sym("INFY"), p("102")));
        assert_eq!(pending.take(), [(sym("INFY"), p("102"))]);
    }
}

//! [`Shared`]: the running sim's state, shared by the HTTP handlers, ticker connections,
//! the engine loop and postbacks.
//!
//! The world sits behind one `std::sync::Mutex` that is never held across an `.await`:
//! every handler does its work in a closure given to [`Shared::with_world`], which also
//! publishes what the work caused (price changes, order updates) in the order it
//! happened, before the lock is released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::order::Order;
use crate::world::World;

/// Something ticker connections and postbacks react to.
#[derive(Debug, Clone)]
pub enum Event {
    /// These instruments' prices changed.
    Prices(Arc<Vec<u32>>),
    /// An order changed status.
    Order(Arc<Order>),
}

/// `LoggedRequest::method` of a client text frame on a ticker connection.
pub const WS_FRAME: &str = "WS";

/// One Kite API request as received: an HTTP request (REST, or the ticker upgrade on
/// `/`), or a text frame a ticker client sent (`method` [`WS_FRAME`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoggedRequest {
    /// Sequence number, from 1.
    pub id: u64,
    /// Simulated time of arrival (IST, Kite format).
    pub at: String,
    /// HTTP method, or [`WS_FRAME`].
    pub method: String,
    /// Path without the query (`/` for the ticker and its frames).
    pub path: String,
    /// Query pairs (for frames: the query of the connection's upgrade).
    pub query: Vec<(String, String)>,
    /// Headers, in arrival order (none for frames).
    pub headers: Vec<(String, String)>,
    /// Form body pairs.
    pub form: Vec<(String, String)>,
    /// A ticker client's text frame as sent, e.g. `{"a":"subscribe","v":[408065]}`.
    pub message: Option<String>,
    /// Response status (0 while unanswered, and for frames; 101 for an upgrade).
    pub status: u16,
}

/// Most requests kept in the log.
const MAX_LOG: usize = 100_000;

/// State shared by every task of one running sim.
#[derive(Debug)]
pub struct Shared {
    /// The configuration it started with.
    pub config: SimConfig,
    /// The clock.
    pub clock: SimClock,
    world: Mutex<World>,
    initial: World,
    /// Price and order events.
    pub events: broadcast::Sender<Event>,
    /// The Kite API request log.
    pub log: Mutex<Vec<LoggedRequest>>,
    /// Bumped to make every ticker connection drop.
    pub ws_drop: watch::Sender<u64>,
    requests: AtomicU64,
    /// The number of the last logged request, for [`Shared::log_changes`].
    logged: watch::Sender<u64>,
    /// Postbacks the receiver answered, for [`Shared::postbacks_answered`].
    pub(crate) postbacks: watch::Sender<u64>,
}

/// Locks a mutex, recovering from a panic elsewhere (state is only mutated whole).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Shared state around a freshly built world.
    pub fn new(config: SimConfig, clock: SimClock, world: World) -> Shared {
        let (events, _) = broadcast::channel(4_096);
        let (ws_drop, _) = watch::channel(0);
        Shared {
            config,
            clock,
            initial: world.clone(),
            world: Mutex::new(world),
            events,
            log: Mutex::new(Vec::new()),
            ws_drop,
            requests: AtomicU64::new(0),
            logged: watch::Sender::new(0),
            postbacks: watch::Sender::new(0),
        }
    }

    /// Appends `entry` to the request log with the next sequence number and the current
    /// simulated time; returns the number.
    pub fn log_request(&self, mut entry: LoggedRequest) -> u64 {
        entry.id = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        entry.at = crate::clock::kite_time(self.clock.now());
        let id = entry.id;
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG {
            // Long runs keep the most recent requests; tests never come close.
            log.drain(..MAX_LOG / 2);
        }
        log.push(entry);
        drop(log);
        self.logged.send_replace(id);
        id
    }

    /// Sees the number of each request logged from now on: a test waits for a request
    /// to arrive instead of polling the log.
    pub fn log_changes(&self) -> watch::Receiver<u64> {
        self.logged.subscribe()
    }

    /// Sees how many postbacks the receiver has answered (whatever its status): a
    /// test waits for a delivery instead of polling the receiver.
    pub fn postbacks_answered(&self) -> watch::Receiver<u64> {
        self.postbacks.subscribe()
    }

    /// Records the response status of logged request `id`.
    pub fn log_status(&self, id: u64, status: u16) {
        if let Some(entry) = lock(&self.log).iter_mut().rev().find(|e| e.id == id) {
            entry.status = status;
        }
    }

    /// Runs `work` on the world at the current time and publishes what it caused.
    pub fn with_world<R>(&self, work: impl FnOnce(&mut World, Timestamp) -> R) -> R {
        let now = self.clock.now();
        let mut world = lock(&self.world);
        let result = work(&mut world, now);
        let (changed, updates) = world.drain();
        // Sent under the lock so subscribers see events in the order they happened.
        if !changed.is_empty() {
            let _ = self.events.send(Event::Prices(Arc::new(changed)));
        }
        for update in updates {
            let _ = self.events.send(Event::Order(Arc::new(update)));
        }
        result
    }

    /// The second the per-second limits count a request arriving now in.
    pub fn rate_second(&self) -> i64 {
        self.config
            .rate_clock
            .second(self.clock.now(), self.clock.real_elapsed())
    }

    /// Closes every ticker connection abruptly (no close frame).
    pub fn drop_sockets(&self) {
        self.ws_drop.send_modify(|generation| *generation += 1);
    }

    /// Applies whatever is due at the current time (engine loop, tests, admin).
    pub fn step(&self) {
        self.with_world(|world, now| world.step(now));
    }

    /// Puts the world back as it was at start-up (orders, positions, prices, sessions).
    pub fn reset(&self) {
        let fresh = self.initial.clone();
        *lock(&self.world) = fresh;
        lock(&self.log).clear();
    }
}

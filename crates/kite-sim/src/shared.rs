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

/// One Kite API request as received.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// Sequence number, from 1.
    pub id: u64,
    /// Simulated time of arrival (IST, Kite format).
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// Headers, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Form body pairs.
    pub form: Vec<(String, String)>,
    /// Response status (0 while unanswered).
    pub status: u16,
}

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
        }
    }

    /// The next request-log sequence number.
    pub fn next_request_id(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
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

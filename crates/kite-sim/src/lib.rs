//! kite-sim: a local Kite Connect v3 that Kite clients cannot tell from the real one.
//!
//! It serves Kite's REST API and binary WebSocket ticker on one loopback port, with
//! scripted or random-walk prices, orders that move through Kite's statuses, GTTs,
//! postbacks, and faults on demand. [`Sim::start`] runs it inside a test or another
//! program; the `kite-sim` binary runs it from the command line.
//!
//! Layout: pure parts (`matching`, `book`, `market`, `gtt`, `sessions`, `faults`) know
//! nothing of HTTP or time sources; `world` ties them together; `shared`, `http`,
//! `ticker` and `postback` are the IO around it.

pub mod book;
pub mod clock;
pub mod config;
pub mod error;
pub mod faults;
pub mod gtt;
pub mod http;
pub mod instruments;
pub mod json;
pub mod limits;
pub mod market;
pub mod matching;
pub mod order;
pub mod params;
pub mod positions;
pub mod postback;
pub mod rms;
pub mod rng;
pub mod script;
pub mod sessions;
pub mod shared;
pub mod squareoff;
pub mod status;
pub mod ticker;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use kitebreak_price::Price;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::{ClockMode, RateClock};
pub use config::SimConfig;
pub use error::SimError;
pub use faults::Faults;
pub use shared::Shared;

/// Starts simulators.
#[derive(Debug)]
pub struct Sim;

/// A running simulator. Dropping it does not stop it; call [`SimHandle::shutdown`].
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sim {
    /// Binds, builds the market and starts serving. Must run inside a Tokio runtime.
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let target = config
            .postback_url
            .as_deref()
            .map(postback::parse_url)
            .transpose()?;
        let wall = Timestamp::now();
        let (_, first) = world::World::new(&config, wall)?;
        let mode = config.clock.unwrap_or(ClockMode::Running {
            start: first.unwrap_or(wall),
            speed: config.speed,
        });
        let start = match mode {
            ClockMode::Running { start, .. } | ClockMode::Manual { start } => start,
        };
        // Rebuild at the clock's start so opening prices and token expiry use sim time.
        let (world, _) = world::World::new(&config, start)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let period = config.engine_period;
        let shared = Arc::new(Shared::new(config, clock::SimClock::new(mode), world));
        let (stop, stopped) = watch::channel(false);
        let app = http::router(shared.clone());
        let mut until = stopped.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = until.wait_for(|s| *s).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "server stopped");
            }
        });
        let mut tasks = vec![
            server,
            tokio::spawn(engine(shared.clone(), period, stopped.clone())),
        ];
        if let Some(every) = shared.config.ws_drop_every {
            tasks.push(tokio::spawn(drop_sockets_every(
                shared.clone(),
                every,
                stopped.clone(),
            )));
        }
        if let Some(target) = target {
            let events = shared.events.subscribe();
            tasks.push(tokio::spawn(postback::run(
                shared.clone(),
                target,
                events,
                stopped.clone(),
            )));
        }
        Ok(SimHandle {
            addr,
            shared,
            stop,
            tasks,
        })
    }
}

async fn engine(
    shared: Arc<Shared>,
    period: std::time::Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = interval.tick() => shared.step(),
            _ = stopped.changed() => return,
        }
    }
}

/// Fault loop: closes every ticker connection each `every` of real time.
async fn drop_sockets_every(
    shared: Arc<Shared>,
    every: std::time::Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let start = tokio::time::Instant::now() + every;
    let mut interval = tokio::time::interval_at(start, every);
    loop {
        tokio::select! {
            _ = interval.tick() => shared.drop_sockets(),
            _ = stopped.changed() => return,
        }
    }
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// REST root, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Ticker root, e.g. `ws://127.0.0.1:41234`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The shared state, for anything the helpers below do not cover.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Trades `EXCHANGE:SYMBOL` at `price` now; resting orders and GTTs react at once.
    pub fn set_price(&self, key: &str, price: Price) -> bool {
        self.shared.with_world(|world, now| {
            let Some(token) = world.catalogue.get(key).map(|i| i.token) else {
                return false;
            };
            world.set_price(token, price, now);
            true
        })
    }

    /// Moves the clock and applies what became due (scripted prices, walk, AMO).
    pub fn advance(&self, by: SignedDuration) {
        self.shared.clock.advance(by);
        self.shared.step();
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.with_world(|world, _| {
            world.sessions.all_expire_at = faults.tokens_expire_at;
            world.faults = faults;
        });
    }

    /// Stops serving and waits for the tasks to end. Requests held open by the hang
    /// faults would keep a graceful shutdown waiting forever, so after two seconds the
    /// remaining tasks are aborted.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.drop_sockets();
        for mut task in self.tasks {
            if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

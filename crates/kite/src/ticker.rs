//! [`TickerManager`]: live last prices and order updates from Kite's WebSocket ticker.
//!
//! Why not the official crate's `KiteTicker`: kiteconnect 1.0.1 drops Kite's 1-byte
//! heartbeats before they become events and has a fixed 20 s silence timeout, so a
//! caller cannot tell a quiet market from a dead socket. This loop owns only the
//! socket; decoding stays in the crate (`kiteconnect::parse_binary` for ticks,
//! `kiteconnect::Order` for order updates). It subscribes LTP mode for the watched
//! instruments, treats *any* frame (heartbeats included) as a sign of life, counts
//! `KiteConfig::ticker_silence` without one as a silent socket (state
//! [`TickerState::Silent`], then reconnects), resubscribes after every reconnect,
//! backs off exponentially (1 s doubling to 60 s), marks the session expired when
//! the handshake is refused, and reconnects at once when a new token arrives.
//!
//! What it hears goes to a [`MarketSink`], from the socket's task:
//! [`TickerManager::spawn`] hands a channel's receiver back; [`TickerManager::new`]
//! and [`TickerTask::run`] let the caller route each event itself (kitebreak's
//! engine hands ticks to the shard owning the symbol without another task between).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use kitebreak_price::Price;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::orders::OrderSnapshot;

/// What the ticker connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickerState {
    /// First connection attempt under way.
    Connecting,
    /// Connected and hearing from Kite.
    Connected,
    /// Lost the connection; trying again.
    Reconnecting,
    /// Connected but nothing (not even a heartbeat) arrived in time; reconnecting.
    Silent,
    /// Not running: stopped, or waiting for a session (no token or expired).
    Stopped,
}

/// Something the ticker heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketEvent {
    /// A last traded price, on the instrument's tick.
    Tick {
        /// `EXCHANGE:SYMBOL`, shared: the ticker keeps one per instrument, so a tick
        /// allocates nothing.
        instrument: Arc<str>,
        /// The price.
        price: Price,
    },
    /// An order changed (Kite's order update, same shape as a postback).
    Order(OrderSnapshot),
}

#[derive(Debug)]
pub(crate) enum Command {
    Watch(Vec<u32>),
    Unwatch(Vec<u32>),
    Stop,
}

/// Where the ticker task hands what it hears, in order, from the socket's own task.
///
/// A channel sender is one (the reader then runs elsewhere); a sink that routes
/// each event itself saves the hop to another task on the way from the socket.
/// While `deliver` waits, the socket is not read: a slow sink holds the ticker up
/// (the kernel's and Kite's buffers take the ticks meanwhile), never loses one.
pub trait MarketSink: Send + 'static {
    /// Takes one event; false when nobody listens any more (the task then ends).
    fn deliver(&mut self, event: MarketEvent) -> impl Future<Output = bool> + Send;
}

impl MarketSink for mpsc::Sender<MarketEvent> {
    async fn deliver(&mut self, event: MarketEvent) -> bool {
        self.send(event).await.is_ok()
    }
}

/// The ticker task of a [`TickerManager`], before it runs (see [`TickerManager::new`]).
#[derive(Debug)]
pub struct TickerTask {
    broker: KiteBroker,
    commands: mpsc::UnboundedReceiver<Command>,
    state: watch::Sender<TickerState>,
}

impl TickerTask {
    /// Runs the ticker (connecting, reading, reconnecting) until its manager stops
    /// it or `sink` stops listening; every event goes to `sink`.
    pub async fn run(self, sink: impl MarketSink) {
        crate::ticker_loop::Task {
            broker: self.broker,
            commands: self.commands,
            events: sink,
            state: self.state,
            wanted: BTreeSet::new(),
            keys: HashMap::new(),
            keys_of: None,
        }
        .run()
        .await;
    }
}

/// Handle of the ticker task. Dropping it stops the task.
#[derive(Debug)]
pub struct TickerManager {
    commands: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<TickerState>,
    broker: KiteBroker,
}

impl TickerManager {
    /// Starts the ticker task for `broker`'s session; events arrive on the receiver.
    pub fn spawn(broker: &KiteBroker) -> (TickerManager, mpsc::Receiver<MarketEvent>) {
        let (events, event_rx) = mpsc::channel(4096);
        let (manager, task) = TickerManager::new(broker);
        tokio::spawn(task.run(events));
        (manager, event_rx)
    }

    /// The manager and its task, not started yet: spawn [`TickerTask::run`] with
    /// the sink its events go to. Subscriptions made before it runs are kept.
    pub fn new(broker: &KiteBroker) -> (TickerManager, TickerTask) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(TickerState::Connecting);
        let task = TickerTask {
            broker: broker.clone(),
            commands: command_rx,
            state: state_tx,
        };
        let manager = TickerManager {
            commands,
            state,
            broker: broker.clone(),
        };
        (manager, task)
    }

    /// Subscribes LTP mode for these `EXCHANGE:SYMBOL` keys (kept across reconnects).
    pub fn watch(&self, keys: &[&str]) -> Result<(), KiteError> {
        let tokens = self.tokens(keys)?;
        self.send(Command::Watch(tokens))
    }

    /// Stops the subscriptions of these keys.
    pub fn unwatch(&self, keys: &[&str]) -> Result<(), KiteError> {
        let tokens = self.tokens(keys)?;
        self.send(Command::Unwatch(tokens))
    }

    /// The current state.
    pub fn state(&self) -> TickerState {
        *self.state.borrow()
    }

    /// A receiver of state changes.
    pub fn states(&self) -> watch::Receiver<TickerState> {
        self.state.clone()
    }

    /// Closes the socket and ends the task.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    fn tokens(&self, keys: &[&str]) -> Result<Vec<u32>, KiteError> {
        keys.iter()
            .map(|k| self.broker.instrument(k).map(|i| i.token))
            .collect()
    }

    fn send(&self, command: Command) -> Result<(), KiteError> {
        self.commands
            .send(command)
            .map_err(|_| KiteError::InvalidInput("the ticker has stopped".into()))
    }
}

impl Drop for TickerManager {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }
}

/// Reconnect delay after `attempt` consecutive failures: 1, 2, 4 … 60 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

pub(crate) use self::Command as TickerCommand;

/// The JSON text frames the ticker sends for a set of tokens.
pub(crate) fn subscribe_frames(tokens: &[u32]) -> [Message; 2] {
    let subscribe = serde_json::json!({"a": "subscribe", "v": tokens});
    let mode = serde_json::json!({"a": "mode", "v": ["ltp", tokens]});
    [
        Message::Text(subscribe.to_string().into()),
        Message::Text(mode.to_string().into()),
    ]
}

pub(crate) async fn send_all<S>(ws: &mut S, frames: impl IntoIterator<Item = Message>) -> bool
where
    S: SinkExt<Message> + Unpin,
{
    for frame in frames {
        if ws.send(frame).await.is_err() {
            return false;
        }
    }
    true
}

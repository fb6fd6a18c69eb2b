//! What the live feed carries and reports: the polling fallback's settings, the
//! feed's connection states, the broker's events (ticks, order updates, states),
//! the source they arrive from, and the counters the metrics read.

use std::time::Duration;

use kitebreak_price::Price;
use tokio::sync::mpsc;

use crate::Symbol;
use crate::broker::{OrderId, OrderProgress};

/// How the polling fallback behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedConfig {
    /// How often the fallback may poll (Kite allows one quote call a second).
    pub poll_every: Duration,
    /// A live feed with no tick for this long counts as silent and is polled.
    pub stale_after: Duration,
}

impl Default for FeedConfig {
    fn default() -> FeedConfig {
        FeedConfig {
            poll_every: Duration::from_secs(1),
            stale_after: Duration::from_secs(3),
        }
    }
}

/// What a broker's live feed is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// The broker has no live feed (paper): prices come from candles and `/price`.
    None,
    /// Connecting for the first time.
    Connecting,
    /// Connected and hearing from the broker.
    Live,
    /// Lost; reconnecting.
    Reconnecting,
    /// Connected but silent; reconnecting.
    Silent,
    /// Stopped (no session, or shut down).
    Stopped,
}

impl FeedState {
    /// Every state, for metrics that show one gauge per state.
    pub const ALL: [FeedState; 6] = [
        FeedState::None,
        FeedState::Connecting,
        FeedState::Live,
        FeedState::Reconnecting,
        FeedState::Silent,
        FeedState::Stopped,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::None => "none",
            FeedState::Connecting => "connecting",
            FeedState::Live => "live",
            FeedState::Reconnecting => "reconnecting",
            FeedState::Silent => "silent",
            FeedState::Stopped => "stopped",
        }
    }

    pub(super) fn code(self) -> u8 {
        match self {
            FeedState::None => 0,
            FeedState::Connecting => 1,
            FeedState::Live => 2,
            FeedState::Reconnecting => 3,
            FeedState::Silent => 4,
            FeedState::Stopped => 5,
        }
    }

    pub(super) fn from_code(code: u8) -> FeedState {
        match code {
            1 => FeedState::Connecting,
            2 => FeedState::Live,
            3 => FeedState::Reconnecting,
            4 => FeedState::Silent,
            5 => FeedState::Stopped,
            _ => FeedState::None,
        }
    }
}

/// An order changed at the broker (a ticker order update or a verified postback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The broker's id.
    pub order_id: OrderId,
    /// The order's tag, if it has one.
    pub tag: Option<String>,
    /// Where it stands now.
    pub progress: OrderProgress,
}

/// Something a broker's live feed heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A last traded price.
    Tick {
        /// The instrument.
        symbol: Symbol,
        /// The price.
        price: Price,
    },
    /// An order changed.
    Order(OrderUpdate),
    /// The feed's connection changed state.
    State(FeedState),
}

/// A broker's live feed as the engine reads it: its events, in order.
///
/// The engine's feed loop awaits [`FeedSource::next`] and routes each event itself.
/// The Kite ticker is the exception on the hot path: the engine starts its socket
/// task with a sink that routes each tick and order update there and then (no task
/// between the socket and the shard), and the loop reads only its states. A broker
/// or test with events of its own hands a channel ([`FeedSource::channel`]); a
/// wrapper that reads a Kite feed through `next` gets its events over a channel
/// too (one hop more).
#[derive(Debug)]
pub struct FeedSource(Source);

#[derive(Debug)]
enum Source {
    Channel(mpsc::Receiver<FeedEvent>),
    Kite(crate::kite::TickerFeed),
}

impl FeedSource {
    /// A feed whose events are written to a channel.
    pub fn channel(events: mpsc::Receiver<FeedEvent>) -> FeedSource {
        FeedSource(Source::Channel(events))
    }

    pub(crate) fn kite(feed: crate::kite::TickerFeed) -> FeedSource {
        FeedSource(Source::Kite(feed))
    }

    /// Lets a feed that can deliver its events straight to `engine` do so (the Kite
    /// ticker); what is left comes through [`FeedSource::next`].
    pub(crate) fn deliver_to(self, engine: std::sync::Weak<crate::engine::Inner>) -> FeedSource {
        match self.0 {
            Source::Kite(feed) => FeedSource(Source::Kite(feed.deliver_to(engine))),
            channel => FeedSource(channel),
        }
    }

    /// The next event; `None` once the feed has ended.
    pub async fn next(&mut self) -> Option<FeedEvent> {
        match &mut self.0 {
            Source::Channel(events) => events.recv().await,
            Source::Kite(feed) => feed.next().await,
        }
    }
}

/// Counters of the feed, for `GET /metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedStats {
    /// Ticks delivered to shards.
    pub ticks: u64,
    /// Batched LTP polls made by the fallback.
    pub polls: u64,
    /// Polls that failed.
    pub poll_errors: u64,
    /// Symbols watched now.
    pub watched: u64,
    /// Orders whose final status came from an order update (ticker, postback)
    /// before the broker's polling had it.
    pub settled_by_updates: u64,
}

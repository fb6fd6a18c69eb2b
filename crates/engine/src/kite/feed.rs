//! The Kite ticker as the engine's live feed: starting it, (un)subscribing symbols,
//! and turning its events into [`FeedEvent`]s (ticks of `EXCHANGE:SYMBOL` become the
//! engine's symbols, order updates [`OrderUpdate`]s, ticker states [`FeedState`]s).
//!
//! The engine starts the ticker task with a [`Deliver`] sink
//! ([`TickerFeed::deliver_to`]): the socket's task converts each tick and hands it to
//! the shard owning its symbol itself, so no task sits between the socket and the
//! shard; the engine's feed loop then reads only the ticker's states. A broker
//! wrapper that reads the feed itself ([`TickerFeed::next`]) starts the task into a
//! channel instead (one hop more).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use kitebreak_kite::{
    MarketEvent, MarketSink, OrderSnapshot, TickerManager, TickerState, TickerTask,
};
use tokio::sync::mpsc;

use super::{KiteAdapter, found};
use crate::engine::Inner;
use crate::feed::{FeedEvent, FeedSource, FeedState, OrderUpdate};
use crate::{Engine, EngineError, Symbol};

impl KiteAdapter {
    /// Creates the ticker (once); it starts when the engine takes the feed.
    pub(super) fn start_ticker(&self) -> Option<FeedSource> {
        let (manager, task) = TickerManager::new(&self.kite);
        let states = manager.states();
        if self.ticker.set(manager).is_err() {
            tracing::error!("the kite ticker was already started; not starting a second one");
            return None;
        }
        Some(FeedSource::kite(TickerFeed {
            events: Events::Unstarted(task, Symbols::new(&self.exchange)),
            states,
        }))
    }

    /// Subscribes (`on`) or unsubscribes `symbol`'s LTP on the ticker.
    pub(super) fn subscribe(&self, symbol: &Symbol, on: bool) {
        let Some(ticker) = self.ticker.get() else {
            return;
        };
        let key = self.key(symbol);
        let done = if on {
            ticker.watch(&[&key])
        } else {
            ticker.unwatch(&[&key])
        };
        match done {
            Ok(()) => tracing::info!(%symbol, on, "live price subscription"),
            Err(error) => {
                tracing::error!(%symbol, on, %error, "live price subscription failed; polling covers it")
            }
        }
    }
}

/// A Kite order as the engine's order update.
pub(super) fn update_of(snapshot: &OrderSnapshot) -> OrderUpdate {
    OrderUpdate {
        order_id: snapshot.order_id.clone(),
        tag: snapshot.tag.clone(),
        progress: found(snapshot).progress,
    }
}

fn feed_state(state: TickerState) -> FeedState {
    match state {
        TickerState::Connecting => FeedState::Connecting,
        TickerState::Connected => FeedState::Live,
        TickerState::Reconnecting => FeedState::Reconnecting,
        TickerState::Silent => FeedState::Silent,
        TickerState::Stopped => FeedState::Stopped,
    }
}

/// Most instruments whose symbol [`Symbols`] remembers; past this it starts afresh.
const SYMBOLS_KEPT: usize = 10_000;

/// The engine's symbol of each `EXCHANGE:SYMBOL` the ticker sent, parsed once (a tick
/// then costs a lookup and a reference count, no allocation). `None`: another
/// exchange's instrument, or a name the engine does not accept.
#[derive(Debug)]
pub(super) struct Symbols {
    prefix: String,
    known: HashMap<Arc<str>, Option<Symbol>>,
}

impl Symbols {
    pub(super) fn new(exchange: &str) -> Symbols {
        Symbols {
            prefix: format!("{exchange}:"),
            known: HashMap::new(),
        }
    }

    /// The engine's symbol of `instrument`, if it is on this exchange.
    pub(super) fn of(&mut self, instrument: &Arc<str>) -> Option<Symbol> {
        if let Some(known) = self.known.get(&**instrument) {
            return known.clone();
        }
        if self.known.len() >= SYMBOLS_KEPT {
            self.known.clear();
        }
        let symbol = instrument
            .strip_prefix(&self.prefix)
            .and_then(|name| Symbol::parse(name).ok());
        self.known.insert(Arc::clone(instrument), symbol.clone());
        symbol
    }

    /// `event` as the engine's feed event; `None` for a tick of an instrument that
    /// is not one of the engine's symbols.
    fn feed_event(&mut self, event: MarketEvent) -> Option<FeedEvent> {
        match event {
            MarketEvent::Tick { instrument, price } => {
                let symbol = self.of(&instrument)?;
                Some(FeedEvent::Tick { symbol, price })
            }
            MarketEvent::Order(snapshot) => Some(FeedEvent::Order(update_of(&snapshot))),
        }
    }
}

/// The ticker's events and states as the engine's feed events.
#[derive(Debug)]
pub(crate) struct TickerFeed {
    events: Events,
    states: tokio::sync::watch::Receiver<TickerState>,
}

/// Where the ticker task's events go.
#[derive(Debug)]
enum Events {
    /// Not started yet.
    Unstarted(TickerTask, Symbols),
    /// Started into a channel that [`TickerFeed::next`] reads.
    Channel(mpsc::Receiver<MarketEvent>, Symbols),
    /// Started with a [`Deliver`] sink: `next` reads only the states.
    Delivered,
}

impl TickerFeed {
    /// Starts the ticker task delivering its ticks and order updates straight to
    /// `engine`'s shards and registry ([`Deliver`]); what is left to read through
    /// [`TickerFeed::next`] is the ticker's states. A feed already read through a
    /// channel goes on that way.
    pub(crate) fn deliver_to(mut self, engine: Weak<Inner>) -> TickerFeed {
        if let Events::Unstarted(task, symbols) = self.events {
            tokio::spawn(task.run(Deliver { engine, symbols }));
            self.events = Events::Delivered;
        }
        self
    }

    /// The next event; `None` once the ticker has ended. Ticks of instruments that are
    /// not the engine's symbols are skipped. The first call starts an unstarted
    /// ticker into a channel.
    pub(crate) async fn next(&mut self) -> Option<FeedEvent> {
        if matches!(self.events, Events::Unstarted(..)) {
            let unstarted = std::mem::replace(&mut self.events, Events::Delivered);
            self.events = into_channel(unstarted);
        }
        loop {
            let Events::Channel(events, symbols) = &mut self.events else {
                self.states.changed().await.ok()?;
                return Some(self.state());
            };
            // Both branches are cancel-safe: a tick is never half taken.
            tokio::select! {
                event = events.recv() => {
                    if let Some(event) = symbols.feed_event(event?) {
                        return Some(event);
                    }
                }
                changed = self.states.changed() => {
                    changed.ok()?;
                    return Some(self.state());
                }
            }
        }
    }

    fn state(&mut self) -> FeedEvent {
        FeedEvent::State(feed_state(*self.states.borrow_and_update()))
    }
}

/// Starts an unstarted ticker task into a channel; anything else stays as it is.
fn into_channel(events: Events) -> Events {
    match events {
        Events::Unstarted(task, symbols) => {
            let (sender, receiver) = mpsc::channel(4096);
            tokio::spawn(task.run(sender));
            Events::Channel(receiver, symbols)
        }
        started => started,
    }
}

/// The sink the ticker task runs with: each tick goes to the shard owning its
/// symbol (`Engine::tick`, no reply awaited), each order update to the registry,
/// from the socket's own task. It never waits, not even for a shard whose queue is
/// full (`feed::queue_notice`), so one busy shard cannot hold up the others' ticks.
#[derive(Debug)]
struct Deliver {
    engine: Weak<Inner>,
    symbols: Symbols,
}

impl MarketSink for Deliver {
    async fn deliver(&mut self, event: MarketEvent) -> bool {
        let Some(event) = self.symbols.feed_event(event) else {
            return true;
        };
        let Some(inner) = self.engine.upgrade() else {
            return false;
        };
        !matches!(
            (Engine { inner }).feed_event(event),
            Err(EngineError::Stopped)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruments_map_to_symbols_of_the_exchange_once() {
        let mut symbols = Symbols::new("NSE");
        let infy: Arc<str> = Arc::from("NSE:INFY");
        let first = symbols.of(&infy);
        assert_eq!(first.as_ref().map(Symbol::as_str), Some("INFY"));
        assert_eq!(symbols.of(&infy), first, "remembered");
        assert_eq!(symbols.of(&Arc::from("BSE:INFY")), None, "another exchange");
        assert_eq!(symbols.of(&Arc::from("NSE:NIFTY 50")), None, "not a symbol");
        assert_eq!(symbols.known.len(), 3);
    }
}

//! The Kite ticker as the engine's live feed: starting it, (un)subscribing symbols,
//! and turning its events into [`FeedEvent`]s (ticks of `EXCHANGE:SYMBOL` become the
//! engine's symbols, order updates [`OrderUpdate`]s, ticker states [`FeedState`]s)
//! inside [`TickerFeed::next`], which the engine's feed loop awaits.

use std::collections::HashMap;
use std::sync::Arc;

use kitebreak_kite::{MarketEvent, OrderSnapshot, TickerManager, TickerState};
use tokio::sync::mpsc;

use super::{KiteAdapter, found};
use crate::Symbol;
use crate::feed::{FeedEvent, FeedSource, FeedState, OrderUpdate};

impl KiteAdapter {
    /// Starts the ticker (once); its events are read through the returned feed.
    pub(super) fn start_ticker(&self) -> Option<FeedSource> {
        let (manager, events) = TickerManager::spawn(&self.kite);
        let states = manager.states();
        if self.ticker.set(manager).is_err() {
            tracing::error!("the kite ticker was already started; not starting a second one");
            return None;
        }
        Some(FeedSource::kite(TickerFeed {
            symbols: Symbols::new(&self.exchange),
            events,
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
}

/// The ticker's events and states as the engine's feed events, converted where the
/// engine's feed loop reads them (no task of its own: one hop fewer per tick).
#[derive(Debug)]
pub(crate) struct TickerFeed {
    symbols: Symbols,
    events: mpsc::Receiver<MarketEvent>,
    states: tokio::sync::watch::Receiver<TickerState>,
}

impl TickerFeed {
    /// The next event; `None` once the ticker has ended. Ticks of instruments that are
    /// not the engine's symbols are skipped.
    pub(crate) async fn next(&mut self) -> Option<FeedEvent> {
        loop {
            // Both branches are cancel-safe: a tick is never half taken.
            tokio::select! {
                event = self.events.recv() => match event? {
                    MarketEvent::Tick { instrument, price } => {
                        if let Some(symbol) = self.symbols.of(&instrument) {
                            return Some(FeedEvent::Tick { symbol, price });
                        }
                    }
                    MarketEvent::Order(snapshot) => return Some(FeedEvent::Order(update_of(&snapshot))),
                },
                changed = self.states.changed() => {
                    changed.ok()?;
                    let state = *self.states.borrow_and_update();
                    return Some(FeedEvent::State(feed_state(state)));
                }
            }
        }
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

//! The Kite ticker as the engine's live feed: starting it, (un)subscribing symbols,
//! and turning its events into [`FeedEvent`]s (ticks of `EXCHANGE:SYMBOL` become the
//! engine's symbols, order updates [`OrderUpdate`]s, ticker states [`FeedState`]s).

use kitebreak_kite::{MarketEvent, OrderSnapshot, TickerManager, TickerState};
use tokio::sync::mpsc;

use super::{KiteAdapter, found};
use crate::Symbol;
use crate::feed::{FeedEvent, FeedState, OrderUpdate};

impl KiteAdapter {
    /// Starts the ticker (once) and the task forwarding its events.
    pub(super) fn start_ticker(&self) -> Option<mpsc::Receiver<FeedEvent>> {
        let (manager, events) = TickerManager::spawn(&self.kite);
        let states = manager.states();
        if self.ticker.set(manager).is_err() {
            tracing::error!("the kite ticker was already started; not starting a second one");
            return None;
        }
        let (out, feed) = mpsc::channel(4096);
        let prefix = format!("{}:", self.exchange);
        tokio::spawn(forward(prefix, events, states, out));
        Some(feed)
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

/// Forwards the ticker's events and states as the engine's feed events until either
/// side ends.
async fn forward(
    prefix: String,
    mut events: mpsc::Receiver<MarketEvent>,
    mut states: tokio::sync::watch::Receiver<TickerState>,
    out: mpsc::Sender<FeedEvent>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                None => return,
                Some(MarketEvent::Tick { instrument, price }) => {
                    let name = instrument.strip_prefix(&prefix);
                    match name.and_then(|n| Symbol::parse(n).ok()) {
                        Some(symbol) => FeedEvent::Tick { symbol, price },
                        None => continue,
                    }
                }
                Some(MarketEvent::Order(snapshot)) => FeedEvent::Order(update_of(&snapshot)),
            },
            changed = states.changed() => {
                if changed.is_err() {
                    return;
                }
                let state = *states.borrow_and_update();
                FeedEvent::State(feed_state(state))
            }
        };
        if out.send(event).await.is_err() {
            return;
        }
    }
}

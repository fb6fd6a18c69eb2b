//! Ticks are coalesced per shard: while a shard waits on an exit order, the ticks of
//! its other symbols wait as one latest price each, and every symbol's newest price
//! is applied once the shard is free. Deterministic: the exit's placement is held
//! until the test releases it, and the feed is a channel the test writes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, FeedEvent, FeedSource, FeedState, FoundOrder, MarketOrder,
    Ohlc, OrderId, OrderReport, OrderStatus, PaperBroker, PositionReport, PositionState, Symbol,
};
use kitebreak_price::Price;
use tokio::sync::{Notify, mpsc};

use crate::helpers::{enter_long, eventually, p, start_with, sym};

/// A paper broker with a live feed the test writes, that can hold one placement
/// until released, and that records every price the engine observes.
#[derive(Debug, Default)]
struct HoldingBroker {
    paper: PaperBroker,
    hold_next: AtomicBool,
    holding: Notify,
    release: Notify,
    feed: Mutex<Option<mpsc::Receiver<FeedEvent>>>,
    observed: Mutex<Vec<(Symbol, Price)>>,
}

impl HoldingBroker {
    fn observed(&self) -> Vec<(Symbol, Price)> {
        self.observed.lock().expect("lock").clone()
    }
}

impl Broker for HoldingBroker {
    fn name(&self) -> &'static str {
        "holding"
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move {
            if self.hold_next.swap(false, Ordering::SeqCst) {
                self.holding.notify_one();
                self.release.notified().await;
            }
            self.paper.place_market(order).await
        })
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.paper.final_status(id)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.paper.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.paper.ohlc(symbol)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.paper.find_by_tag(tag)
    }
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        self.paper.orders()
    }
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        self.paper.positions()
    }
    fn observe(&self, symbol: &Symbol, price: Price) {
        self.observed
            .lock()
            .expect("lock")
            .push((symbol.clone(), price));
        self.paper.observe(symbol, price);
    }
    fn start_feed(&self) -> Option<FeedSource> {
        self.feed
            .lock()
            .expect("lock")
            .take()
            .map(FeedSource::channel)
    }
}

#[tokio::test]
async fn ticks_wait_as_the_latest_price_per_symbol_while_a_shard_sends_an_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (feed, events) = mpsc::channel(16);
    let broker = Arc::new(HoldingBroker {
        feed: Mutex::new(Some(events)),
        ..HoldingBroker::default()
    });
    let engine = start_with(dir.path(), broker.clone(), |config| {
        // One shard: INFY's exit blocks TCS's ticks. No polling fallback.
        config.shards = 1;
        config.feed.poll_every = Duration::from_secs(3600);
        config.feed.stale_after = Duration::from_secs(3600);
    })
    .await;
    feed.send(FeedEvent::State(FeedState::Live))
        .await
        .expect("feed");
    enter_long(&engine, "INFY").await;
    enter_long(&engine, "TCS").await;
    for symbol in ["INFY", "TCS"] {
        let status = engine.status(sym(symbol)).await.expect("status");
        assert_eq!(status.position, PositionState::Open, "{symbol}");
    }
    broker.observed.lock().expect("lock").clear();

    // INFY reaches its target (109.18); its exit order is held at the broker.
    broker.hold_next.store(true, Ordering::SeqCst);
    let tick = |symbol: &str, price: &str| FeedEvent::Tick {
        symbol: sym(symbol),
        price: p(price),
    };
    feed.send(tick("INFY", "110")).await.expect("feed");
    broker.holding.notified().await;

    // Meanwhile 100 in-band ticks of TCS (target 109.18, stop 104.94), and one more
    // INFY price: all queue behind the held exit.
    let tcs: Vec<Price> = (0..100)
        .map(|i| Price::from_micros(105_500_000 + 20_000 * i).expect("price"))
        .collect();
    for price in &tcs {
        let event = FeedEvent::Tick {
            symbol: sym("TCS"),
            price: *price,
        };
        feed.send(event).await.expect("feed");
    }
    feed.send(tick("INFY", "111")).await.expect("feed");
    eventually(&engine, "every tick is pending on the shard", || async {
        engine.feed_stats().ticks == 102
    })
    .await;
    assert_eq!(
        broker.observed(),
        [(sym("INFY"), p("110"))],
        "the shard is still sending INFY's exit"
    );

    broker.release.notify_one();
    // Queued behind the pending ticks on the same shard.
    let infy = engine.status(sym("INFY")).await.expect("status");
    assert_eq!(
        infy.position,
        PositionState::Flat,
        "INFY exited at its target"
    );
    let tcs_last = *tcs.last().expect("ticks");
    let mut after: Vec<(Symbol, Price)> = broker.observed().split_off(1);
    after.sort();
    assert_eq!(
        after,
        [(sym("INFY"), p("111")), (sym("TCS"), tcs_last)],
        "one pending price per symbol, the newest"
    );
    let tcs_status = engine.status(sym("TCS")).await.expect("status");
    assert_eq!(tcs_status.position, PositionState::Open, "in band: no exit");
    engine.shutdown().await;
}

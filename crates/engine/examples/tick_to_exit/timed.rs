//! The Kite adapter behind a wrapper that notes when the engine asks for each
//! placement (and, with `--probe-feed`, when each tick leaves the adapter's feed).

use std::time::Instant;

use kitebreak_engine::{
    BoxFuture, Broker, BrokerError, FeedEvent, FeedSource, FoundOrder, KiteAdapter, MarketOrder,
    Ohlc, OrderId, OrderReport, OrderStatus, PositionReport, Symbol, ThrottleWaits,
};
use kitebreak_kite::SessionState;
use kitebreak_price::Price;
use tokio::sync::mpsc;

use crate::notes;

/// The Kite adapter, noting when the engine asks for each placement (and, with
/// `--probe-feed`, when each tick leaves the adapter's feed: two channel hops more).
pub struct Timed {
    pub kite: KiteAdapter,
    pub placed: notes::Sender<(Instant, Symbol)>,
    pub fed: Option<notes::Sender<(Instant, Symbol)>>,
}

impl Broker for Timed {
    fn name(&self) -> &'static str {
        self.kite.name()
    }
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        let _ = self.placed.send((Instant::now(), order.symbol.clone()));
        self.kite.place_market(order)
    }
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.kite.final_status(id)
    }
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        self.kite.ltp(symbol)
    }
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        self.kite.ohlc(symbol)
    }
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        self.kite.find_by_tag(tag)
    }
    fn shows_orders_late(&self) -> bool {
        self.kite.shows_orders_late()
    }
    fn exchange_account(&self) -> bool {
        self.kite.exchange_account()
    }
    fn ltp_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Price)>, BrokerError>> {
        self.kite.ltp_many(symbols)
    }
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        self.kite.orders()
    }
    fn keep_warm(&self) -> BoxFuture<'_, Result<bool, BrokerError>> {
        self.kite.keep_warm()
    }
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        self.kite.positions()
    }
    fn session(&self) -> Option<SessionState> {
        self.kite.session()
    }
    fn start_feed(&self) -> Option<FeedSource> {
        let mut feed = self.kite.start_feed()?;
        let Some(fed) = self.fed.clone() else {
            return Some(feed);
        };
        let (out, probed) = mpsc::channel(4096);
        tokio::spawn(async move {
            while let Some(event) = feed.next().await {
                if let FeedEvent::Tick { symbol, .. } = &event {
                    let _ = fed.send((Instant::now(), symbol.clone()));
                }
                if out.send(event).await.is_err() {
                    return;
                }
            }
        });
        Some(FeedSource::channel(probed))
    }
    fn throttle_waits(&self) -> Vec<ThrottleWaits> {
        self.kite.throttle_waits()
    }
    fn stop_feed(&self) {
        self.kite.stop_feed();
    }
    fn watch(&self, symbol: &Symbol) {
        self.kite.watch(symbol);
    }
    fn unwatch(&self, symbol: &Symbol) {
        self.kite.unwatch(symbol);
    }
    fn verify_postback(&self, body: &[u8]) -> Result<kitebreak_engine::OrderUpdate, BrokerError> {
        self.kite.verify_postback(body)
    }
    fn place_stop(
        &self,
        order: kitebreak_engine::StopOrder,
    ) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        self.kite.place_stop(order)
    }
    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        self.kite.cancel(id)
    }
    fn place_oco(
        &self,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'_, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.kite.place_oco(order)
    }
    fn modify_oco<'a>(
        &'a self,
        id: &'a str,
        order: kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoId, BrokerError>> {
        self.kite.modify_oco(id, order)
    }
    fn cancel_oco<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.kite.cancel_oco(id)
    }
    fn oco_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<kitebreak_engine::OcoReport, BrokerError>> {
        self.kite.oco_status(id)
    }
    fn ocos(&self) -> BoxFuture<'_, Result<Vec<kitebreak_engine::OcoReport>, BrokerError>> {
        self.kite.ocos()
    }
    fn find_oco<'a>(
        &'a self,
        order: &'a kitebreak_engine::OcoOrder,
    ) -> BoxFuture<'a, Result<Option<kitebreak_engine::OcoReport>, BrokerError>> {
        self.kite.find_oco(order)
    }
    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        self.kite.order_status(id)
    }
}

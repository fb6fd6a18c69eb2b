//! [`KiteAdapter`]: the engine's [`Broker`] over Zerodha Kite Connect, a thin wrapper
//! around `kitebreak_kite::KiteBroker`.
//!
//! - Entries and exits are MARKET orders with the engine's tag, the configured
//!   exchange and product, and Kite's market protection (set in `KiteConfig`).
//! - A placement whose answer was lost is looked for in the order book by its tag
//!   (`reconcile`, a few reads about a second apart): found means placed (its id is
//!   used); absent is *not yet known*, [`BrokerError::OutcomeUnknown`], because Kite
//!   can show a slow order later; the engine keeps looking (`shard::unsettled`).
//!   The same tag is never sent twice.
//! - Placement errors say whether the order was certainly not placed: only
//!   `OutcomeUnknown` may hide an order. Kite's refusals (Input/Order/Margin ...
//!   exceptions, other 4xx) are [`BrokerError::Rejected`], a 429 or a refused
//!   connection [`BrokerError::Unavailable`] (nothing placed, try later), a dead
//!   session [`BrokerError::SessionExpired`].
//! - The final status of a MARKET order is awaited for a bounded time
//!   ([`KiteAdapter::with_settle_within`], `KiteBroker::settle`): still working then,
//!   it is cancelled and its part fill (if any) reported; still working after the
//!   cancel is [`BrokerError::StillWorking`], which the engine keeps pending. On
//!   reads, every error means "not known", never a rejection.
//! - The engine's [`Ohlc::close`] is the latest price, so it maps from Kite's `last`
//!   (Kite's own `close` is the previous session's).
//! - The live feed is Kite's ticker (`TickerManager`, LTP mode), started by the engine
//!   through [`Broker::start_feed`]: ticks of `EXCHANGE:SYMBOL` become the engine's
//!   symbols, order updates become [`OrderUpdate`]s, ticker states [`FeedState`]s.
//!   Postbacks are verified with the app's API secret before they are trusted.
//! - CNC/NRML trades are guarded by a two-leg GTT instead of an SL-M stop (`oco`):
//!   placed, modified, deleted and read through `KiteBroker`'s GTT calls.
//! - The resting SL-M stop's trigger moves with `modify_stop` (Kite's modify, rounded
//!   onto the tick like a placement); order history, fills (`trades`), instrument
//!   lookup (the loaded dump: token, tick, lot, segment) and OHLC of many symbols
//!   map Kite's exact types to the engine's.

use std::sync::{Arc, OnceLock};

use kitebreak_kite::{KiteBroker, KiteError, Product, TickerManager};
use kitebreak_price::Price;

use crate::Symbol;
use crate::broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, InstrumentInfo, MarketOrder, Ohlc, OrderId,
    OrderReport, OrderStatus, OrderStep, PositionReport,
};

mod calls;
mod feed;
mod oco;
mod orders;

pub(crate) use feed::TickerFeed;
use orders::{broker_error, placement_error, price_of, status_error};
pub(crate) use orders::{found, status_of};

use crate::feed::OrderUpdate;

/// How many order-book reads look for a placement of unknown outcome at once.
const RECONCILE_ATTEMPTS: u32 = 5;

/// How long the API client may go without a request while trades are open before
/// [`Broker::keep_warm`] sends one, when not configured: a third of reqwest's 90 s
/// pool idle time, and under the 60–75 s idle limits common to load balancers and
/// proxies (Kite's own is not published). The engine checks every 10 s, so at most
/// 40 s pass without a request.
pub const DEFAULT_KEEP_WARM_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a MARKET order may work before it is cancelled, when not configured.
pub const DEFAULT_SETTLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// The Kite broker as the engine sees it.
#[derive(Debug, Clone)]
pub struct KiteAdapter {
    kite: KiteBroker,
    exchange: String,
    product: Product,
    /// How long a final-status wait lasts before the order is cancelled.
    settle_within: std::time::Duration,
    /// How long the API client may be quiet while trades are open.
    keep_warm_after: std::time::Duration,
    /// The ticker, once the engine started the feed.
    ticker: Arc<OnceLock<TickerManager>>,
}

impl KiteAdapter {
    /// An adapter trading on NSE with the intraday (MIS) product.
    pub fn new(kite: KiteBroker) -> KiteAdapter {
        KiteAdapter::with(kite, "NSE", Product::Mis)
    }

    /// An adapter trading on `exchange` (e.g. `NSE`, `BSE`) with `product`.
    pub fn with(kite: KiteBroker, exchange: impl Into<String>, product: Product) -> KiteAdapter {
        KiteAdapter {
            kite,
            exchange: exchange.into(),
            product,
            settle_within: DEFAULT_SETTLE_WITHIN,
            keep_warm_after: DEFAULT_KEEP_WARM_AFTER,
            ticker: Arc::new(OnceLock::new()),
        }
    }

    /// Waits at most `limit` for an order's final status before cancelling it, and
    /// `limit` again for the cancel (default [`DEFAULT_SETTLE_WITHIN`]): a market order
    /// that never finishes cannot hold a shard.
    pub fn with_settle_within(mut self, limit: std::time::Duration) -> KiteAdapter {
        self.settle_within = limit;
        self
    }

    /// Sends a keep-warm read once the API client was quiet for `quiet` while trades
    /// are open (default [`DEFAULT_KEEP_WARM_AFTER`]; see [`Broker::keep_warm`]).
    pub fn with_keep_warm_after(mut self, quiet: std::time::Duration) -> KiteAdapter {
        self.keep_warm_after = quiet;
        self
    }

    /// The wrapped Kite broker (session state, instruments, ticker).
    pub fn kite(&self) -> &KiteBroker {
        &self.kite
    }

    fn key(&self, symbol: &Symbol) -> String {
        format!("{}:{}", self.exchange, symbol.as_str())
    }

    fn symbol_of(&self, instrument: &str) -> Option<Symbol> {
        let name = instrument.split_once(':').map_or(instrument, |(_, s)| s);
        Symbol::parse(name).ok()
    }
}

impl Broker for KiteAdapter {
    fn name(&self) -> &'static str {
        "kite"
    }

    fn session(&self) -> Option<kitebreak_kite::SessionState> {
        Some(self.kite.session().clone())
    }

    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(self.place(order))
    }

    fn keep_warm(&self) -> BoxFuture<'_, Result<bool, BrokerError>> {
        Box::pin(async move {
            self.kite
                .keep_warm(self.keep_warm_after)
                .await
                .map_err(broker_error)
        })
    }

    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        Box::pin(async move {
            let done = self
                .kite
                .settle(id, self.settle_within)
                .await
                .map_err(status_error)?;
            Ok(status_of(&done))
        })
    }

    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        Box::pin(async move {
            let key = self.key(symbol);
            let mut prices = self.kite.ltp(&[&key]).await.map_err(broker_error)?;
            price_of(prices.remove(&key), symbol)
        })
    }

    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        Box::pin(async move {
            let key = self.key(symbol);
            let mut all = self.kite.ohlc(&[&key]).await.map_err(broker_error)?;
            let found = all
                .remove(&key)
                .ok_or_else(|| BrokerError::NoPrice(symbol.clone()))?;
            Ok(Ohlc {
                open: found.open,
                high: found.high,
                low: found.low,
                close: found.last,
            })
        })
    }

    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        Box::pin(async move {
            let snapshot = self.kite.find_by_tag(tag).await.map_err(broker_error)?;
            Ok(snapshot.as_ref().map(found))
        })
    }

    fn shows_orders_late(&self) -> bool {
        true
    }

    fn exchange_account(&self) -> bool {
        true
    }

    fn place_stop(
        &self,
        order: crate::broker::StopOrder,
    ) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(self.place_stop_order(order))
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        Box::pin(self.cancel_order(id))
    }

    fn start_feed(&self) -> Option<crate::FeedSource> {
        self.start_ticker()
    }

    fn throttle_waits(&self) -> Vec<crate::broker::ThrottleWaits> {
        kitebreak_kite::limits::Endpoint::ALL
            .iter()
            .map(|&endpoint| {
                let stats = self.kite.throttled(endpoint);
                crate::broker::ThrottleWaits {
                    endpoint: endpoint.as_str(),
                    waits: stats.waits,
                    waited: stats.waited,
                }
            })
            .collect()
    }

    fn stop_feed(&self) {
        if let Some(ticker) = self.ticker.get() {
            ticker.stop();
        }
    }

    fn watch(&self, symbol: &Symbol) {
        self.subscribe(symbol, true);
    }

    fn unwatch(&self, symbol: &Symbol) {
        self.subscribe(symbol, false);
    }

    fn verify_postback(&self, body: &[u8]) -> Result<OrderUpdate, BrokerError> {
        let Some(secret) = &self.kite.config().api_secret else {
            return Err(BrokerError::Unsupported(
                "postbacks without KITE_API_SECRET (needed to verify them)",
            ));
        };
        match kitebreak_kite::postback::verify_postback(body, secret) {
            Ok(snapshot) => Ok(feed::update_of(&snapshot)),
            // The checksum did not match: nobody but Kite knows the secret.
            Err(KiteError::InvalidInput(message)) => Err(BrokerError::Forged(message)),
            Err(error) => Err(BrokerError::BadPostback(error.to_string())),
        }
    }

    fn modify_stop<'a>(
        &'a self,
        id: &'a str,
        order: crate::broker::StopOrder,
    ) -> BoxFuture<'a, Result<OrderId, BrokerError>> {
        Box::pin(self.modify_stop_order(id, order))
    }

    fn order_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OrderStep>, BrokerError>> {
        Box::pin(self.history(id))
    }

    fn trades<'a>(&'a self, id: Option<&'a str>) -> BoxFuture<'a, Result<Vec<Fill>, BrokerError>> {
        Box::pin(self.fills(id))
    }

    fn instrument(&self, symbol: &Symbol) -> Result<InstrumentInfo, BrokerError> {
        self.instrument_info(symbol)
    }

    fn ohlc_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Ohlc)>, BrokerError>> {
        Box::pin(self.ohlc_of(symbols))
    }

    fn place_oco(
        &self,
        order: crate::broker::OcoOrder,
    ) -> BoxFuture<'_, Result<crate::broker::OcoId, BrokerError>> {
        Box::pin(self.place_oco_order(order))
    }

    fn modify_oco<'a>(
        &'a self,
        id: &'a str,
        order: crate::broker::OcoOrder,
    ) -> BoxFuture<'a, Result<crate::broker::OcoId, BrokerError>> {
        Box::pin(self.modify_oco_order(id, order))
    }

    fn cancel_oco<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
        Box::pin(self.cancel_oco_order(id))
    }

    fn oco_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
        Box::pin(self.oco_status_of(id))
    }

    fn ocos(&self) -> BoxFuture<'_, Result<Vec<crate::broker::OcoReport>, BrokerError>> {
        Box::pin(self.oco_list())
    }

    fn find_oco<'a>(
        &'a self,
        order: &'a crate::broker::OcoOrder,
    ) -> BoxFuture<'a, Result<Option<crate::broker::OcoReport>, BrokerError>> {
        Box::pin(self.find_oco_of(order))
    }

    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        Box::pin(self.order_found(id))
    }

    fn ltp_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Price)>, BrokerError>> {
        Box::pin(async move {
            let keys: Vec<String> = symbols.iter().map(|s| self.key(s)).collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            // One call per 1000 keys, each through the adapter's 1/s quote budget.
            let mut prices = self.kite.ltp(&refs).await.map_err(broker_error)?;
            Ok(symbols
                .iter()
                .zip(&keys)
                .filter_map(|(symbol, key)| Some((symbol.clone(), prices.remove(key)?)))
                .collect())
        })
    }

    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        Box::pin(async move {
            let orders = self.kite.orders().await.map_err(broker_error)?;
            Ok(orders.iter().filter_map(|o| self.report(o)).collect())
        })
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        Box::pin(async move {
            let positions = self.kite.positions().await.map_err(broker_error)?;
            Ok(positions
                .iter()
                .filter_map(|p| {
                    Some(PositionReport {
                        symbol: self.symbol_of(&p.instrument)?,
                        buy_quantity: u64::from(p.buy_quantity),
                        sell_quantity: u64::from(p.sell_quantity),
                        last_price: p.last_price,
                    })
                })
                .collect())
        })
    }
}

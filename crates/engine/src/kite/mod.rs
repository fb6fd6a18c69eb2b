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

use kitebreak_kite::{
    ErrorClass, KiteBroker, KiteError, OrderKind, OrderRequest, OrderSnapshot, Product, Tag,
    TickerManager,
};
use kitebreak_price::{Price, Quantity};

use crate::Symbol;
use crate::broker::{
    BoxFuture, Broker, BrokerError, Fill, FoundOrder, InstrumentInfo, MarketOrder, Ohlc, OrderId,
    OrderProgress, OrderReport, OrderStatus, OrderStep, PositionReport, Side,
};
mod calls;
mod feed;
mod oco;

pub(crate) use feed::TickerFeed;

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

    async fn place(&self, order: MarketOrder) -> Result<OrderId, BrokerError> {
        let tag = Tag::new(&order.tag).map_err(broker_error)?;
        let request = OrderRequest {
            tag,
            instrument: self.key(&order.symbol),
            side: match order.side {
                Side::Buy => kitebreak_kite::Side::Buy,
                Side::Sell => kitebreak_kite::Side::Sell,
            },
            quantity: order.quantity,
            kind: OrderKind::Market,
            product: self.product,
        };
        self.send(&request).await
    }

    /// An SL-M order guarding a trade (MIS): the closing side at the trade's stop,
    /// with market protection, rounded onto the tick so it triggers no later than
    /// the stop. CNC/NRML trades are guarded by a GTT OCO instead (`oco`).
    async fn place_stop_order(
        &self,
        order: crate::broker::StopOrder,
    ) -> Result<OrderId, BrokerError> {
        let request = self.stop_request(order)?;
        // The same rule as every placement: a stop whose answer was lost and that
        // is not in the book yet is of unknown outcome, never "not placed" (a
        // resting stop kitebreak forgot could later open a position of its own).
        self.send(&request).await
    }

    /// The SL-M request of `order` (MIS only).
    fn stop_request(&self, order: crate::broker::StopOrder) -> Result<OrderRequest, BrokerError> {
        if self.product != Product::Mis {
            return Err(BrokerError::Unsupported(
                "an SL-M stop for CNC/NRML trades (a GTT OCO guards them: place_oco)",
            ));
        }
        Ok(OrderRequest {
            tag: Tag::new(&order.tag).map_err(broker_error)?,
            instrument: self.key(&order.symbol),
            side: match order.side {
                Side::Buy => kitebreak_kite::Side::Buy,
                Side::Sell => kitebreak_kite::Side::Sell,
            },
            quantity: order.quantity,
            kind: OrderKind::StopLossMarket {
                trigger: order.trigger,
            },
            product: self.product,
        })
    }

    /// Sends one placement exactly once. A lost answer is looked up by its tag;
    /// not found yet (or not readable) is [`BrokerError::OutcomeUnknown`], which the
    /// engine keeps looking up; every other error means nothing was placed.
    async fn send(&self, request: &OrderRequest) -> Result<OrderId, BrokerError> {
        match self.kite.place_order(request).await {
            Ok(id) => Ok(id),
            Err(KiteError::OutcomeUnknown { tag, .. }) => {
                tracing::warn!(tag, "placement answer lost; looking the tag up");
                match self.kite.reconcile(&tag, RECONCILE_ATTEMPTS).await {
                    Ok(Some(found)) => Ok(found.order_id),
                    Ok(None) => {
                        tracing::error!(
                            tag,
                            "order of unknown outcome not in Kite's book yet; the engine keeps looking"
                        );
                        Err(BrokerError::OutcomeUnknown(tag))
                    }
                    Err(error) => {
                        tracing::error!(tag, %error, "order of unknown outcome not looked up");
                        Err(BrokerError::OutcomeUnknown(tag))
                    }
                }
            }
            Err(other) => Err(placement_error(other)),
        }
    }

    /// Cancels order `id` and reads where it ended. A refused cancel (the order
    /// completed first) is answered by the order's final state, not as an error.
    async fn cancel_order(&self, id: &str) -> Result<OrderStatus, BrokerError> {
        let cancelled = self.kite.cancel_order(id).await;
        if let Err(error) = &cancelled {
            tracing::warn!(order_id = id, %error, "cancel refused; reading the order");
        }
        let now = self.kite.order(id).await.map_err(broker_error)?;
        if now.state.is_final() {
            return Ok(status_of(&now));
        }
        match cancelled {
            Ok(_) => {
                let done = self.kite.final_status(id).await.map_err(broker_error)?;
                Ok(status_of(&done))
            }
            Err(error) => Err(broker_error(error)),
        }
    }

    fn report(&self, snapshot: &OrderSnapshot) -> Option<OrderReport> {
        let tag = snapshot.tag.clone()?;
        if !snapshot.state.is_final() {
            return None;
        }
        let order = MarketOrder {
            tag,
            symbol: self.symbol_of(&snapshot.instrument)?,
            side: match snapshot.side {
                kitebreak_kite::Side::Buy => Side::Buy,
                kitebreak_kite::Side::Sell => Side::Sell,
            },
            quantity: Quantity::new(snapshot.quantity).ok()?,
        };
        Some(OrderReport {
            order_id: snapshot.order_id.clone(),
            order,
            status: status_of(snapshot),
        })
    }
}

/// The engine's view of a final Kite order.
///
/// Whatever filled is a fill: COMPLETE with `filled_quantity` below the quantity, or
/// CANCELLED/REJECTED after a partial fill, is `Complete` with the filled units at
/// their average price (an entry then becomes a trade of that size). Only an order
/// that filled nothing is `Rejected`.
pub(crate) fn status_of(snapshot: &OrderSnapshot) -> OrderStatus {
    let filled = Quantity::new(snapshot.filled_quantity).ok();
    match (&snapshot.state, snapshot.average_price, filled) {
        (state, Some(average_price), Some(filled_quantity)) => {
            if snapshot.filled_quantity < snapshot.quantity {
                tracing::warn!(
                    order_id = snapshot.order_id,
                    filled = snapshot.filled_quantity,
                    quantity = snapshot.quantity,
                    "order ended {state:?} partly filled; the filled part counts"
                );
            }
            OrderStatus::Complete {
                average_price,
                filled_quantity,
                time: snapshot.time,
            }
        }
        (state, _, _) => {
            let reason = snapshot
                .message
                .clone()
                .unwrap_or_else(|| format!("{state:?}").to_lowercase());
            OrderStatus::Rejected { reason }
        }
    }
}

/// An order of the book, as found by its tag.
pub(crate) fn found(snapshot: &OrderSnapshot) -> FoundOrder {
    FoundOrder {
        order_id: snapshot.order_id.clone(),
        progress: if snapshot.state.is_final() {
            OrderProgress::Done(status_of(snapshot))
        } else {
            OrderProgress::Working
        },
    }
}

/// Classifies a Kite error for the engine.
fn broker_error(error: KiteError) -> BrokerError {
    match (&error, error.class()) {
        (KiteError::TokenExpired | KiteError::NoSession, _) => BrokerError::SessionExpired,
        (_, ErrorClass::Rejected) => BrokerError::Rejected(error.to_string()),
        _ => BrokerError::Unavailable(error.to_string()),
    }
}

/// Classifies the error of a placement that certainly did not happen (everything
/// but `OutcomeUnknown`, which `place` handles): never an unknown outcome.
fn placement_error(error: KiteError) -> BrokerError {
    match (&error, error.class()) {
        (KiteError::TokenExpired | KiteError::NoSession, _) => BrokerError::SessionExpired,
        // 429, a refused connection: Kite did nothing; the same order may go later.
        (_, ErrorClass::Retryable) => BrokerError::Unavailable(error.to_string()),
        _ => BrokerError::Rejected(error.to_string()),
    }
}

/// Classifies the error of a final-status wait: never a rejection of the order.
fn status_error(error: KiteError) -> BrokerError {
    match error {
        KiteError::StillWorking { order_id, .. } => BrokerError::StillWorking(order_id),
        KiteError::TokenExpired | KiteError::NoSession => BrokerError::SessionExpired,
        other => BrokerError::Unavailable(other.to_string()),
    }
}

fn price_of(found: Option<Price>, symbol: &Symbol) -> Result<Price, BrokerError> {
    found.ok_or_else(|| BrokerError::NoPrice(symbol.clone()))
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

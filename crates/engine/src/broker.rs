//! The [`Broker`] trait: the engine's only way to place orders and read prices.
//!
//! Deliberately small: place a market order under a unique tag, learn its final
//! status, find an order again by its tag (after a lost answer or a crash), read last
//! traded prices and OHLC (one symbol, or many in one call for the polling fallback),
//! list orders, positions and fills, read one order's history, look an instrument up,
//! and place, move (`modify_stop`) and cancel the resting stop of exchange-side
//! protection, or its two-leg GTT (OCO: `place_oco`, `modify_oco`, `cancel_oco`,
//! `oco_status`, `ocos`, `find_oco`, and `order_status` for the order a GTT placed).
//! Optional calls default to [`BrokerError::Unsupported`]. The paper broker and the Kite adapter implement it. The
//! engine holds an `Arc<dyn Broker>`, so futures are boxed by hand (async fns in
//! traits are not object safe).

use std::future::Future;
use std::pin::Pin;

use kitebreak_price::Price;

use crate::Symbol;

mod error;
mod oco;
mod order;
pub(crate) use error::BrokerErrorCounts;
pub use error::{BrokerError, ThrottleWaits};
pub use oco::{OcoId, OcoOrder, OcoReport, OcoState};
pub use order::{
    Fill, FoundOrder, InstrumentInfo, MarketOrder, Ohlc, OrderId, OrderProgress, OrderReport,
    OrderStatus, OrderStep, PositionReport, Side, StopOrder,
};

/// A boxed, sendable future, as the trait's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything the engine needs from a broker.
pub trait Broker: Send + Sync + 'static {
    /// A short name for logs and the health endpoint (`paper`, `kite`).
    fn name(&self) -> &'static str;

    /// Places a market order; the id is returned once the broker accepted it.
    ///
    /// Only [`BrokerError::OutcomeUnknown`] means the order may be at the broker;
    /// every other error means it certainly was not placed (an entry then fails at
    /// once, an exit is retried under a new tag).
    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>>;

    /// Waits for the order's final status (COMPLETE or REJECTED), for a bounded time
    /// where the broker can take long (Kite: `KiteAdapter::with_settle_within`).
    /// Any error ([`BrokerError::StillWorking`], [`BrokerError::Unavailable`], ...)
    /// means the status is not known: the order is not rejected and stays pending.
    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>>;

    /// The last traded price of `symbol`.
    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>>;

    /// The session's open, high, low and latest price of `symbol`.
    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>>;

    /// The order placed today under `tag`, if the broker's book has it. After a
    /// crash or a lost answer this decides: found means placed (never send that tag
    /// again); absent means not placed, at once where the book cannot show an order
    /// late, else only after the look-up window ([`Broker::shows_orders_late`]).
    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>>;

    /// Whether an accepted order can be missing from [`Broker::find_by_tag`]'s book
    /// for a while (Kite shows a slow order late). Then a PENDING tag absent from the
    /// book after a restart is not final: recovery parks the order as of unknown
    /// outcome and looks it up again until the look-up window ends. `false` (the
    /// default) where an order is in the book by the time `place_market` returns and
    /// the book survives restarts (paper: its own file), so a PENDING tag absent
    /// from it was never placed and is recorded LOST at once.
    fn shows_orders_late(&self) -> bool {
        false
    }

    /// Whether orders reach an exchange account that outlives this process (Kite):
    /// its net positions are compared with the open trades at start, and a stop can
    /// rest there to guard a trade while kitebreak is down (exchange-side
    /// protection, [`Broker::place_stop`]). `false` (the default) for paper: its
    /// positions are the engine's own fills, and it has no exchange to rest a stop at.
    fn exchange_account(&self) -> bool {
        false
    }

    /// Last traded prices of many symbols in as few calls as the broker allows (the
    /// polling fallback of exit monitoring). Symbols without a price are left out.
    fn ltp_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Price)>, BrokerError>> {
        Box::pin(async move {
            let mut prices = Vec::with_capacity(symbols.len());
            for symbol in symbols {
                match self.ltp(symbol).await {
                    Ok(price) => prices.push((symbol.clone(), price)),
                    Err(BrokerError::NoPrice(_)) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(prices)
        })
    }

    /// Today's orders, oldest first (paper: every order in its book, all days).
    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>>;

    /// The tags of [`Broker::orders`], oldest first: what recovery needs to tell
    /// whether a book of the process's own (paper) belongs to its database, without
    /// a copy of every order (a paper book holds every order of every day).
    fn tags(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move {
            let orders = self.orders().await?;
            Ok(orders.into_iter().map(|report| report.order.tag).collect())
        })
    }

    /// Today's net positions (paper: over its whole book).
    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>>;

    /// A price the engine observed (a candle close, a fed price). The paper broker
    /// fills at it; a live broker has its own feed and ignores it.
    fn observe(&self, _symbol: &Symbol, _price: Price) {}

    /// The broker's login session, if it has one (Kite; the paper broker has none).
    /// While it is expired the engine refuses new entries; exits are still sent.
    fn session(&self) -> Option<kitebreak_kite::SessionState> {
        None
    }

    /// Starts the broker's live feed (ticks for watched symbols, order updates,
    /// connection states); called once by the engine at start. `None`: no live
    /// feed (paper), and no polling fallback either.
    fn start_feed(&self) -> Option<crate::FeedSource> {
        None
    }

    /// How long requests waited for the broker's request budgets (Kite's limits).
    fn throttle_waits(&self) -> Vec<ThrottleWaits> {
        Vec::new()
    }

    /// Stops the live feed (engine shutdown).
    fn stop_feed(&self) {}

    /// Keeps the connection to the broker's API from going idle while trades are
    /// open, so an exit does not first pay for a new connection: a light request
    /// when none went out for a while. Returns whether one was sent. Brokers with
    /// no connection to keep (paper) send nothing.
    fn keep_warm(&self) -> BoxFuture<'_, Result<bool, BrokerError>> {
        Box::pin(async { Ok(false) })
    }

    /// Live prices of `symbol` are wanted (a trade opened).
    fn watch(&self, _symbol: &Symbol) {}

    /// Live prices of `symbol` are no longer wanted (its trade closed).
    fn unwatch(&self, _symbol: &Symbol) {}

    /// Places an exchange-side stop order guarding an open trade (`[orders]
    /// protection = "exchange"`). Like [`Broker::place_market`], a lost answer is
    /// settled by the tag. [`BrokerError::Unsupported`] where the broker has none
    /// (paper: protection there is a no-op).
    fn place_stop(&self, _order: StopOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("exchange-side protection")) })
    }

    /// Cancels a working order and returns where it ended: `Rejected` when the
    /// cancel took it out with nothing filled, `Complete` with the filled units when
    /// it filled (wholly, or in part before the cancel). An order that was already
    /// final answers its final status. An error means the order may still be working.
    fn cancel<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("cancelling orders")) })
    }

    /// Verifies a postback body (the broker's order webhook) and decodes its order.
    /// [`BrokerError::Unsupported`] when this broker has none; a body that fails
    /// verification is [`BrokerError::Forged`] and must change nothing.
    fn verify_postback(&self, _body: &[u8]) -> Result<crate::OrderUpdate, BrokerError> {
        Err(BrokerError::Unsupported("postbacks"))
    }

    /// Moves the trigger of a resting stop order placed by [`Broker::place_stop`]
    /// (`order` as it should now be; its tag cannot change). The broker rounds the
    /// trigger onto its tick like a placement's. An error means the stop may still
    /// rest at its old trigger: read it again.
    fn modify_stop<'a>(
        &'a self,
        _id: &'a str,
        _order: StopOrder,
    ) -> BoxFuture<'a, Result<OrderId, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("modifying orders")) })
    }

    /// Every state order `id` went through, oldest first.
    fn order_history<'a>(
        &'a self,
        _id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OrderStep>, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("order history")) })
    }

    /// Today's fills, or only those of order `id` (paper: from its whole book).
    fn trades<'a>(&'a self, _id: Option<&'a str>) -> BoxFuture<'a, Result<Vec<Fill>, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("trades")) })
    }

    /// The broker's instrument for `symbol` (token, tick, lot size, segment).
    fn instrument(&self, _symbol: &Symbol) -> Result<InstrumentInfo, BrokerError> {
        Err(BrokerError::Unsupported("instrument lookup"))
    }

    /// Open, high, low and latest prices of many symbols in as few calls as the
    /// broker allows. Symbols without prices are left out.
    fn ohlc_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Ohlc)>, BrokerError>> {
        Box::pin(async move {
            let mut all = Vec::with_capacity(symbols.len());
            for symbol in symbols {
                match self.ohlc(symbol).await {
                    Ok(ohlc) => all.push((symbol.clone(), ohlc)),
                    Err(BrokerError::NoPrice(_)) => {}
                    Err(error) => return Err(error),
                }
            }
            Ok(all)
        })
    }
    /// Places a two-leg GTT guarding an open trade (`[orders] protection =
    /// "exchange"` with a delivery or carry product). Only
    /// [`BrokerError::OutcomeUnknown`] means it may rest at the broker: find it
    /// with [`Broker::find_oco`], never place it again blindly.
    fn place_oco(&self, _order: OcoOrder) -> BoxFuture<'_, Result<OcoId, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// Replaces the terms of active GTT `id` (the trade's units after a part
    /// closed). An error means it may still rest with its old terms: read it.
    fn modify_oco<'a>(
        &'a self,
        _id: &'a str,
        _order: OcoOrder,
    ) -> BoxFuture<'a, Result<OcoId, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// Deletes GTT `id` and answers where it ended: `Ended` once deleted (or ended
    /// before), `Triggered` when a leg fired first (its order is then the caller's
    /// to settle). An error means it may still be active.
    fn cancel_oco<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<OcoReport, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// GTT `id` as the broker shows it now.
    fn oco_status<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<OcoReport, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// Every GTT the broker lists (one read: the protection check's).
    fn ocos(&self) -> BoxFuture<'_, Result<Vec<OcoReport>, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// The newest GTT that is not deleted and has `order`'s terms (symbol, side,
    /// units, stop trigger on the tick), if any: how a GTT whose placement answer
    /// was lost, or that was placed but not recorded, is found again.
    fn find_oco<'a>(
        &'a self,
        _order: &'a OcoOrder,
    ) -> BoxFuture<'a, Result<Option<OcoReport>, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("GTT protection")) })
    }

    /// Order `id` as the broker's book shows it now (no wait): the order a GTT's
    /// leg placed, which carries no tag.
    fn order_status<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        Box::pin(async { Err(BrokerError::Unsupported("order lookup by id")) })
    }
}

//! The broker session as the engine sees it: entries pause while it is expired,
//! exits never do.
//!
//! The state itself is the broker's [`SessionState`] (one per process, shared with
//! the Kite adapter and its ticker); a broker without one (paper) never pauses. This
//! module adds what the engine needs around it:
//!
//! - [`SessionWatch`], a [`Broker`] wrapper the engine puts around a broker that has
//!   a session: any call answering [`BrokerError::SessionExpired`] (an order, a status
//!   poll, a price read, recovery's order-book reads) marks the session expired, so
//!   a TokenException anywhere pauses entries.
//! - [`BrokerSession`], the view `GET /` and `GET /risk` render, and the refusal
//!   reason the gate gives entries while the session is not usable.
//! - The expiry timer: [`SessionState::spawn_expiry_timer`] on the engine's clock,
//!   so entries pause at 06:00 IST before Kite starts refusing. It stops with the
//!   engine ([`Timer`]).
//!
//! A new token (a login, the session file) is installed in the `SessionState` by
//! whoever receives it; the gate reads the state on every entry, so entries resume
//! at once, without a restart.

use std::sync::Arc;

use jiff::Timestamp;
use kitebreak_kite::{Expired, ExpiryCause, SessionState};
use kitebreak_price::Price;

use crate::Symbol;
use crate::broker::{
    BoxFuture, Broker, BrokerError, FoundOrder, MarketOrder, Ohlc, OrderId, OrderReport,
    OrderStatus, PositionReport, ThrottleWaits,
};
use crate::clock::Clock;
use crate::feed::OrderUpdate;

/// What to do about a session that cannot trade.
pub const LOGIN_HINT: &str =
    "run `kitebreak login --request-token T` or open /login on this server";

/// Where the broker session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionHealth {
    /// A token is in place and has not been refused.
    Active,
    /// The token was refused or reached its expiry time.
    Expired(Expired),
    /// No token was ever loaded.
    Missing,
}

/// The broker session, for status endpoints and the entry gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerSession {
    /// Active, expired or missing.
    pub health: SessionHealth,
    /// When the current token dies, when known.
    pub expires_at: Option<Timestamp>,
    /// How many times the session expired since start.
    pub expiries: u64,
}

impl BrokerSession {
    /// The view of `state` now.
    pub fn of(state: &SessionState) -> BrokerSession {
        let status = state.status();
        let health = match (&status.token, status.expired) {
            (None, _) => SessionHealth::Missing,
            (Some(_), Some(expired)) => SessionHealth::Expired(expired),
            (Some(_), None) => SessionHealth::Active,
        };
        BrokerSession {
            health,
            expires_at: status.expires_at,
            expiries: status.expiries,
        }
    }

    /// `active`, `expired` or `missing`.
    pub fn state_name(&self) -> &'static str {
        match self.health {
            SessionHealth::Active => "active",
            SessionHealth::Expired(_) => "expired",
            SessionHealth::Missing => "missing",
        }
    }

    /// Why entries are refused, if they are (the text the webhook and manual orders
    /// answer with, and status endpoints show).
    pub fn refusal(&self) -> Option<String> {
        match self.health {
            SessionHealth::Active => None,
            SessionHealth::Expired(expired) => Some(format!(
                "broker session expired: {} at {}; new entries are paused until a new \
                 token is in place (exits are still attempted): {LOGIN_HINT}",
                expired.cause.describe(),
                expired.since
            )),
            SessionHealth::Missing => Some(format!(
                "no broker session: new entries are paused until a token is in place: \
                 {LOGIN_HINT}"
            )),
        }
    }
}

/// A broker whose `SessionExpired` answers mark the shared session expired.
pub(crate) struct SessionWatch {
    inner: Arc<dyn Broker>,
    session: SessionState,
    clock: Arc<dyn Clock>,
}

impl SessionWatch {
    /// Wraps `broker`, whose session is `session`.
    pub(crate) fn new(
        inner: Arc<dyn Broker>,
        session: SessionState,
        clock: Arc<dyn Clock>,
    ) -> SessionWatch {
        SessionWatch {
            inner,
            session,
            clock,
        }
    }

    fn note<T>(&self, result: Result<T, BrokerError>) -> Result<T, BrokerError> {
        if matches!(result, Err(BrokerError::SessionExpired)) {
            self.session
                .mark_expired(ExpiryCause::Refused, self.clock.now());
        }
        result
    }
}

impl Broker for SessionWatch {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn place_market(&self, order: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move { self.note(self.inner.place_market(order).await) })
    }

    fn final_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        Box::pin(async move { self.note(self.inner.final_status(id).await) })
    }

    fn ltp<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
        Box::pin(async move { self.note(self.inner.ltp(symbol).await) })
    }

    fn ohlc<'a>(&'a self, symbol: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
        Box::pin(async move { self.note(self.inner.ohlc(symbol).await) })
    }

    fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.orders().await) })
    }

    fn keep_warm(&self) -> BoxFuture<'_, Result<bool, BrokerError>> {
        Box::pin(async move { self.note(self.inner.keep_warm().await) })
    }

    fn tags(&self) -> BoxFuture<'_, Result<Vec<String>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.tags().await) })
    }

    fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.positions().await) })
    }

    fn find_by_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.find_by_tag(tag).await) })
    }

    fn ltp_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Price)>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.ltp_many(symbols).await) })
    }

    fn place_stop(
        &self,
        order: crate::broker::StopOrder,
    ) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
        Box::pin(async move { self.note(self.inner.place_stop(order).await) })
    }

    fn cancel<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
        Box::pin(async move { self.note(self.inner.cancel(id).await) })
    }

    fn modify_stop<'a>(
        &'a self,
        id: &'a str,
        order: crate::broker::StopOrder,
    ) -> BoxFuture<'a, Result<OrderId, BrokerError>> {
        Box::pin(async move { self.note(self.inner.modify_stop(id, order).await) })
    }

    fn order_history<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::broker::OrderStep>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.order_history(id).await) })
    }

    fn trades<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<crate::broker::Fill>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.trades(id).await) })
    }

    fn ohlc_many<'a>(
        &'a self,
        symbols: &'a [Symbol],
    ) -> BoxFuture<'a, Result<Vec<(Symbol, Ohlc)>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.ohlc_many(symbols).await) })
    }

    fn place_oco(
        &self,
        order: crate::broker::OcoOrder,
    ) -> BoxFuture<'_, Result<crate::broker::OcoId, BrokerError>> {
        Box::pin(async move { self.note(self.inner.place_oco(order).await) })
    }

    fn modify_oco<'a>(
        &'a self,
        id: &'a str,
        order: crate::broker::OcoOrder,
    ) -> BoxFuture<'a, Result<crate::broker::OcoId, BrokerError>> {
        Box::pin(async move { self.note(self.inner.modify_oco(id, order).await) })
    }

    fn cancel_oco<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
        Box::pin(async move { self.note(self.inner.cancel_oco(id).await) })
    }

    fn oco_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
        Box::pin(async move { self.note(self.inner.oco_status(id).await) })
    }

    fn ocos(&self) -> BoxFuture<'_, Result<Vec<crate::broker::OcoReport>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.ocos().await) })
    }

    fn find_oco<'a>(
        &'a self,
        order: &'a crate::broker::OcoOrder,
    ) -> BoxFuture<'a, Result<Option<crate::broker::OcoReport>, BrokerError>> {
        Box::pin(async move { self.note(self.inner.find_oco(order).await) })
    }

    fn order_status<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
        Box::pin(async move { self.note(self.inner.order_status(id).await) })
    }

    // Everything below only forwards: a method left to the trait's default here
    // would silently turn the wrapped broker's feature off (its live feed, its
    // postbacks), so every method of `Broker` is spelled out.

    fn shows_orders_late(&self) -> bool {
        self.inner.shows_orders_late()
    }

    fn exchange_account(&self) -> bool {
        self.inner.exchange_account()
    }

    fn observe(&self, symbol: &Symbol, price: Price) {
        self.inner.observe(symbol, price);
    }

    fn session(&self) -> Option<SessionState> {
        Some(self.session.clone())
    }

    fn start_feed(&self) -> Option<crate::FeedSource> {
        self.inner.start_feed()
    }

    fn throttle_waits(&self) -> Vec<ThrottleWaits> {
        self.inner.throttle_waits()
    }

    fn stop_feed(&self) {
        self.inner.stop_feed();
    }

    fn watch(&self, symbol: &Symbol) {
        self.inner.watch(symbol);
    }

    fn unwatch(&self, symbol: &Symbol) {
        self.inner.unwatch(symbol);
    }

    fn verify_postback(&self, body: &[u8]) -> Result<OrderUpdate, BrokerError> {
        self.inner.verify_postback(body)
    }

    fn instrument(&self, symbol: &Symbol) -> Result<crate::broker::InstrumentInfo, BrokerError> {
        self.inner.instrument(symbol)
    }
}

/// The expiry timer of a running engine; aborted when the engine is dropped.
#[derive(Debug)]
pub(crate) struct Timer(tokio::task::JoinHandle<()>);

impl Timer {
    /// Starts the timer of `session` on `clock`.
    pub(crate) fn start(session: &SessionState, clock: Arc<dyn Clock>) -> Timer {
        Timer(session.spawn_expiry_timer(Arc::new(move || clock.now())))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    /// The `fn` names of the block that starts with the line `header` (up to the
    /// first line that is a lone `}`), at one level of indentation.
    fn methods_of(source: &str, header: &str) -> std::collections::BTreeSet<String> {
        source
            .lines()
            .skip_while(|line| !line.starts_with(header))
            .skip(1)
            .take_while(|line| *line != "}")
            .filter_map(|line| line.strip_prefix("    fn "))
            .filter_map(|rest| rest.split(['(', '<']).next())
            .map(str::to_owned)
            .collect()
    }

    /// Every `Broker` method is forwarded: one left to the trait's default would be
    /// silently switched off for every Kite engine (it once hid `keep_warm`).
    #[test]
    fn the_session_watch_forwards_every_broker_method() {
        let wanted = methods_of(include_str!("broker.rs"), "pub trait Broker");
        let forwarded = methods_of(include_str!("session.rs"), "impl Broker for SessionWatch");
        assert!(wanted.len() > 20, "the trait was read: {wanted:?}");
        let missing: Vec<_> = wanted.difference(&forwarded).collect();
        assert!(missing.is_empty(), "not forwarded: {missing:?}");
    }

    /// A broker whose session died: every call answers `SessionExpired`.
    struct Dead;

    impl Broker for Dead {
        fn name(&self) -> &'static str {
            "dead"
        }
        fn place_market(&self, _: MarketOrder) -> BoxFuture<'_, Result<OrderId, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn final_status<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<OrderStatus, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn ltp<'a>(&'a self, _: &'a Symbol) -> BoxFuture<'a, Result<Price, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn ohlc<'a>(&'a self, _: &'a Symbol) -> BoxFuture<'a, Result<Ohlc, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn orders(&self) -> BoxFuture<'_, Result<Vec<OrderReport>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn positions(&self) -> BoxFuture<'_, Result<Vec<PositionReport>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn find_by_tag<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<FoundOrder>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn modify_stop<'a>(
            &'a self,
            _: &'a str,
            _: crate::broker::StopOrder,
        ) -> BoxFuture<'a, Result<OrderId, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn order_history<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Vec<crate::broker::OrderStep>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn trades<'a>(
            &'a self,
            _: Option<&'a str>,
        ) -> BoxFuture<'a, Result<Vec<crate::broker::Fill>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn ohlc_many<'a>(
            &'a self,
            _: &'a [Symbol],
        ) -> BoxFuture<'a, Result<Vec<(Symbol, Ohlc)>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn instrument(&self, _: &Symbol) -> Result<crate::broker::InstrumentInfo, BrokerError> {
            Err(BrokerError::SessionExpired)
        }
        fn place_oco(
            &self,
            _: crate::broker::OcoOrder,
        ) -> BoxFuture<'_, Result<crate::broker::OcoId, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn modify_oco<'a>(
            &'a self,
            _: &'a str,
            _: crate::broker::OcoOrder,
        ) -> BoxFuture<'a, Result<crate::broker::OcoId, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn cancel_oco<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn oco_status<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<crate::broker::OcoReport, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn ocos(&self) -> BoxFuture<'_, Result<Vec<crate::broker::OcoReport>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn find_oco<'a>(
            &'a self,
            _: &'a crate::broker::OcoOrder,
        ) -> BoxFuture<'a, Result<Option<crate::broker::OcoReport>, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn order_status<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<FoundOrder, BrokerError>> {
            Box::pin(async { Err(BrokerError::SessionExpired) })
        }
        fn shows_orders_late(&self) -> bool {
            true
        }
        fn exchange_account(&self) -> bool {
            true
        }
    }

    /// The calls the trait defaults to `Unsupported` reach the wrapped broker: a
    /// wrapper that fell back to the default would answer `Unsupported` instead.
    #[tokio::test]
    async fn the_order_and_catalogue_calls_are_forwarded_not_defaulted() {
        let at: Timestamp = "2026-11-25T04:30:00Z".parse().expect("time");
        let session = SessionState::new(None);
        let watched = SessionWatch::new(Arc::new(Dead), session, Arc::new(ManualClock::new(at)));
        let symbol = Symbol::parse("INFY").expect("symbol");
        let stop = crate::broker::StopOrder {
            tag: "kbstop".into(),
            symbol: symbol.clone(),
            side: crate::broker::Side::Sell,
            quantity: kitebreak_price::Quantity::new(1).expect("quantity"),
            trigger: "95".parse().expect("price"),
        };
        let expired = |e: &BrokerError| matches!(e, BrokerError::SessionExpired);
        assert!(
            watched
                .modify_stop("1", stop)
                .await
                .is_err_and(|e| expired(&e))
        );
        assert!(watched.order_history("1").await.is_err_and(|e| expired(&e)));
        assert!(watched.trades(None).await.is_err_and(|e| expired(&e)));
        let many = std::slice::from_ref(&symbol);
        assert!(watched.ohlc_many(many).await.is_err_and(|e| expired(&e)));
        assert!(watched.instrument(&symbol).is_err_and(|e| expired(&e)));
        let oco = crate::broker::OcoOrder {
            symbol: symbol.clone(),
            side: crate::broker::Side::Sell,
            quantity: kitebreak_price::Quantity::new(1).expect("quantity"),
            stop: "95".parse().expect("price"),
            target: "110".parse().expect("price"),
            last_price: "100".parse().expect("price"),
        };
        assert!(
            watched
                .place_oco(oco.clone())
                .await
                .is_err_and(|e| expired(&e))
        );
        assert!(
            watched
                .modify_oco("1", oco.clone())
                .await
                .is_err_and(|e| expired(&e))
        );
        assert!(watched.cancel_oco("1").await.is_err_and(|e| expired(&e)));
        assert!(watched.oco_status("1").await.is_err_and(|e| expired(&e)));
        assert!(watched.ocos().await.is_err_and(|e| expired(&e)));
        assert!(watched.find_oco(&oco).await.is_err_and(|e| expired(&e)));
        assert!(watched.order_status("1").await.is_err_and(|e| expired(&e)));
        // The flags recovery and protection read (both default to false).
        assert!(watched.shows_orders_late());
        assert!(watched.exchange_account());
    }

    #[tokio::test]
    async fn any_broker_call_answering_session_expired_marks_the_session_once() {
        let at: Timestamp = "2026-11-25T04:30:00Z".parse().expect("time");
        let token = kiteconnect::AccessToken::new("t").expect("token");
        let session = SessionState::new(Some(token));
        let watched = SessionWatch::new(
            Arc::new(Dead),
            session.clone(),
            Arc::new(ManualClock::new(at)),
        );
        assert_eq!(BrokerSession::of(&session).refusal(), None);
        let symbol = Symbol::parse("INFY").expect("symbol");
        assert!(watched.positions().await.is_err());
        assert!(watched.ltp(&symbol).await.is_err());
        let view = BrokerSession::of(&session);
        assert_eq!(
            view.health,
            SessionHealth::Expired(Expired {
                cause: ExpiryCause::Refused,
                since: at
            })
        );
        assert_eq!(view.expiries, 1, "one transition");
        let refusal = view.refusal().expect("entries refused");
        assert!(refusal.contains("TokenException") && refusal.contains(LOGIN_HINT));
        assert_eq!(watched.session().map(|s| s.is_expired()), Some(true));
    }

    #[test]
    fn a_missing_session_refuses_entries_too() {
        let view = BrokerSession::of(&SessionState::new(None));
        assert_eq!(view.state_name(), "missing");
        assert!(
            view.refusal()
                .is_some_and(|r| r.contains("no broker session"))
        );
    }
}

//! [`KiteBroker`]: the adapter's front door. It owns the official client, the
//! session state, the rate limits and the instrument catalogue, and offers one
//! method per thing the engine needs (orders here; reads in `book` and `market`).
//!
//! Two rules shape it. Reads go through [`KiteBroker::read`]: budget, then the call,
//! then jittered exponential backoff on retryable errors. Placements go out exactly
//! once: a lost answer becomes [`KiteError::OutcomeUnknown`] and the caller looks the
//! order up by its tag ([`KiteBroker::find_by_tag`]) instead of sending it again.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use kiteconnect::{KiteConnect, OrderParams, OrderType, Variety};

use crate::config::KiteConfig;
use crate::error::KiteError;
use crate::exact;
use crate::instruments::{Instrument, Instruments};
use crate::limits::{Endpoint, Limits};
use crate::orders::{OrderKind, OrderRequest};
use crate::session::SessionState;

/// The Kite broker. Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct KiteBroker {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: KiteConfig,
    pub(crate) session: SessionState,
    pub(crate) limits: Limits,
    pub(crate) instruments: RwLock<Arc<Instruments>>,
    /// The client for the session generation it was built for.
    client: Mutex<Option<(u64, KiteConnect)>>,
}

impl KiteBroker {
    /// A broker over `config`, sharing `session` (load it with
    /// [`crate::session::load_session`] or fill it after a login).
    pub fn new(config: KiteConfig, session: SessionState) -> KiteBroker {
        KiteBroker {
            inner: Arc::new(Inner {
                config,
                session,
                limits: Limits::kite(),
                instruments: RwLock::new(Arc::new(Instruments::default())),
                client: Mutex::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &KiteConfig {
        &self.inner.config
    }

    /// The shared session state (expired flag, current token).
    pub fn session(&self) -> &SessionState {
        &self.inner.session
    }

    /// How often requests of `endpoint` waited for Kite's budget, and for how long.
    pub fn throttled(&self, endpoint: Endpoint) -> crate::limits::ThrottleStats {
        self.inner.limits.throttled(endpoint)
    }

    /// The instrument catalogue loaded so far.
    pub fn instruments(&self) -> Arc<Instruments> {
        let guard = self
            .inner
            .instruments
            .read()
            .unwrap_or_else(|p| p.into_inner());
        guard.clone()
    }

    /// Replaces the catalogue (tests, or a dump loaded elsewhere).
    pub fn set_instruments(&self, all: Instruments) {
        let mut guard = self
            .inner
            .instruments
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *guard = Arc::new(all);
    }

    /// The instrument of `EXCHANGE:SYMBOL`.
    pub fn instrument(&self, key: &str) -> Result<Instrument, KiteError> {
        self.instruments().get(key).cloned()
    }

    /// The official client for the current token, rebuilt when the token changes.
    pub(crate) fn client(&self) -> Result<KiteConnect, KiteError> {
        let status = self.inner.session.status();
        let token = status.token.ok_or(KiteError::NoSession)?;
        let mut cached = self.inner.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, client)) = cached.as_ref()
            && *generation == status.generation
        {
            return Ok(client.clone());
        }
        let client = self.inner.config.client(Some(token))?;
        *cached = Some((status.generation, client.clone()));
        Ok(client)
    }

    /// Runs a read: waits for budget, calls, retries transient failures with
    /// jittered exponential backoff, and flags the session on TokenException.
    pub(crate) async fn read<T, F, Fut>(&self, endpoint: Endpoint, call: F) -> Result<T, KiteError>
    where
        F: Fn(KiteConnect) -> Fut,
        Fut: Future<Output = kiteconnect::Result<T>>,
    {
        let config = &self.inner.config;
        let backoff = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(config.retry_delay)
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(config.read_attempts.saturating_sub(1));
        let attempt = || async {
            self.inner.limits.acquire(endpoint).await;
            let client = self.client()?;
            call(client).await.map_err(KiteError::from_read)
        };
        let result = attempt
            .retry(backoff)
            .when(KiteError::is_retryable)
            .notify(|error, delay| tracing::warn!(%error, ?delay, "kite read failed, retrying"))
            .await;
        self.note(result)
    }

    /// Flags the session on TokenException; passes the result on.
    pub(crate) fn note<T>(&self, result: Result<T, KiteError>) -> Result<T, KiteError> {
        if matches!(result, Err(KiteError::TokenExpired)) {
            self.inner.session.mark_expired();
        }
        result
    }

    /// Places an order exactly once and returns Kite's order id.
    ///
    /// Prices are rounded to the tick in the favourable direction; MARKET and SL-M
    /// carry the configured `market_protection`; the tag always goes along. If the
    /// answer is lost (timeout, dropped connection, 5xx) the result is
    /// [`KiteError::OutcomeUnknown`]: call [`KiteBroker::find_by_tag`], never resend.
    pub async fn place_order(&self, order: &OrderRequest) -> Result<String, KiteError> {
        let instrument = self.instrument(&order.instrument)?;
        let params = self.order_params(order, &instrument)?;
        if self.inner.session.is_expired() {
            return Err(KiteError::TokenExpired);
        }
        self.inner.limits.acquire(Endpoint::PlaceOrder).await;
        let client = self.client()?;
        let tag = order.tag.as_str();
        tracing::info!(tag, instrument = %order.instrument, "placing order");
        let result = client
            .place_order(Variety::Regular, params)
            .await
            .map(|placed| placed.order_id)
            .map_err(|error| KiteError::from_placement(error, tag));
        self.note(result)
    }

    /// The form of a placement, in Kite's terms.
    pub fn order_params(
        &self,
        order: &OrderRequest,
        instrument: &Instrument,
    ) -> Result<OrderParams, KiteError> {
        let quantity = order.quantity.get();
        if !quantity.is_multiple_of(instrument.lot_size) {
            return Err(KiteError::InvalidInput(format!(
                "{quantity} is not a multiple of the lot size {} of {}",
                instrument.lot_size, instrument.key
            )));
        }
        let protection = self.inner.config.market_protection.wire();
        let out = |p| exact::price_out(p, instrument.tick, order.side).map(|p| p.to_f64());
        let params = OrderParams::new()
            .exchange(exchange(&instrument.exchange)?)
            .tradingsymbol(instrument.tradingsymbol.clone())
            .transaction_type(order.side.kite())
            .quantity(i64::from(quantity))
            .product(order.product.kite())
            .validity(kiteconnect::Validity::Day)
            .tag(order.tag.as_str());
        Ok(match order.kind {
            OrderKind::Market => params
                .order_type(OrderType::Market)
                .market_protection(protection),
            OrderKind::Limit { price } => params.order_type(OrderType::Limit).price(out(price)?),
            OrderKind::StopLoss { price, trigger } => params
                .order_type(OrderType::Sl)
                .price(out(price)?)
                .trigger_price(out(trigger)?),
            OrderKind::StopLossMarket { trigger } => params
                .order_type(OrderType::SlM)
                .trigger_price(out(trigger)?)
                .market_protection(protection),
        })
    }
}

/// Kite's exchange from the dump's text.
fn exchange(text: &str) -> Result<kiteconnect::Exchange, KiteError> {
    use kiteconnect::Exchange as E;
    Ok(match text {
        "NSE" => E::Nse,
        "BSE" => E::Bse,
        "NFO" => E::Nfo,
        "BFO" => E::Bfo,
        "CDS" => E::Cds,
        "BCD" => E::Bcd,
        "MCX" => E::Mcx,
        other => {
            return Err(KiteError::InvalidInput(format!(
                "exchange {other} is not tradable"
            )));
        }
    })
}

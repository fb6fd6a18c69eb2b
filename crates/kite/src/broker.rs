//! [`KiteBroker`]: the adapter's front door. It owns the official client, the
//! session state, the rate limits and the instrument catalogue, and offers one
//! method per thing the engine needs (orders here; reads in `book` and `market`).
//!
//! Two rules shape it. Reads go through [`KiteBroker::read`]: budget, then the call,
//! then jittered exponential backoff on retryable errors. Placements go out exactly
//! once: a lost answer becomes [`KiteError::OutcomeUnknown`] and the caller looks the
//! order up by its tag ([`KiteBroker::find_by_tag`]) instead of sending it again.

use std::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use kiteconnect::{KiteConnect, OrderParams, OrderType};

use crate::config::KiteConfig;
use crate::error::KiteError;
use crate::exact;
use crate::instruments::{Instrument, Instruments};
use crate::limits::{Endpoint, Limits};
use crate::orders::{OrderKind, OrderRequest, Variety};
use crate::placement::{PlacementConnection, Sent};
use crate::session::{ExpiryCause, SessionState};

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
    /// The catalogue; a watch so a reload can be waited for.
    pub(crate) instruments: tokio::sync::watch::Sender<Arc<Instruments>>,
    /// The client for the session generation it was built for, and its
    /// `Authorization` header for the placement connection.
    client: Mutex<Option<(u64, SignedClient)>>,
    /// Placements' own connection (`None`: they all use `client`).
    placement: Option<PlacementConnection>,
    /// When the API client was last handed out for a request (keep-warm).
    client_used: Mutex<Option<tokio::time::Instant>>,
}

/// The official client of one session generation, with the `Authorization` header
/// the placement connection signs with (built once per token, not per order).
#[derive(Debug, Clone)]
pub(crate) struct SignedClient {
    api: KiteConnect,
    authorization: Option<http::HeaderValue>,
}

impl KiteBroker {
    /// A broker over `config`, sharing `session` (load it with
    /// [`crate::session::load_session`] or fill it after a login).
    pub fn new(config: KiteConfig, session: SessionState) -> KiteBroker {
        let placement = PlacementConnection::new(&config.rest_root, config.request_timeout);
        KiteBroker {
            inner: Arc::new(Inner {
                config,
                session,
                limits: Limits::kite(),
                instruments: tokio::sync::watch::Sender::new(Arc::new(Instruments::default())),
                client: Mutex::new(None),
                placement,
                client_used: Mutex::new(None),
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
        Arc::clone(&self.inner.instruments.borrow())
    }

    /// Sees every catalogue that replaces the current one (the daily reload), for
    /// whoever keeps something derived from it, or waits for the first load.
    pub fn instrument_updates(&self) -> tokio::sync::watch::Receiver<Arc<Instruments>> {
        self.inner.instruments.subscribe()
    }

    /// Replaces the catalogue (tests, or a dump loaded elsewhere).
    pub fn set_instruments(&self, all: Instruments) {
        self.inner.instruments.send_replace(Arc::new(all));
    }

    /// The instrument of `EXCHANGE:SYMBOL`.
    pub fn instrument(&self, key: &str) -> Result<Instrument, KiteError> {
        self.instruments().get(key).cloned()
    }

    /// The official client for the current token, for a request that goes out on
    /// it (noted for [`KiteBroker::keep_warm`]).
    pub(crate) fn client(&self) -> Result<KiteConnect, KiteError> {
        let client = self.client_unused()?.api;
        self.note_client_use();
        Ok(client)
    }

    fn note_client_use(&self) {
        *self
            .inner
            .client_used
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(tokio::time::Instant::now());
    }

    /// The official client for the current token, rebuilt when the token changes,
    /// without noting a use (its requests may go out on the placement connection).
    fn client_unused(&self) -> Result<SignedClient, KiteError> {
        let status = self.inner.session.status();
        let token = status.token.ok_or(KiteError::NoSession)?;
        let mut cached = self.inner.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, client)) = cached.as_ref()
            && *generation == status.generation
        {
            return Ok(client.clone());
        }
        let api = self.inner.config.client(Some(token))?;
        let authorization = crate::placement::authorization(&api);
        let client = SignedClient { api, authorization };
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

    /// Keeps the API client's connection open while kitebreak has nothing to ask
    /// Kite: when it carried no request for `quiet`, one `GET /user/profile` (the
    /// lightest read) goes out on it. Placements' own connection is opened if it is
    /// not open and kept the same way. Returns whether a read was sent.
    ///
    /// Why: with the ticker live, an open trade needs no REST call until its exit,
    /// and an idle connection is dropped by the HTTP client (reqwest: after 90 s) or
    /// by a server or proxy on the way, so an exit hours after its entry would first
    /// pay a TCP and TLS connect. Nothing is sent without a usable session; one
    /// attempt each, no retries (the next call is the retry).
    pub async fn keep_warm(&self, quiet: Duration) -> Result<bool, KiteError> {
        if !self.inner.session.status().is_usable() {
            return Ok(false);
        }
        let api_client = self.keep_client_warm(quiet).await;
        let placements = self.keep_placements_warm(quiet).await;
        Ok(api_client? | placements?)
    }

    async fn keep_client_warm(&self, quiet: Duration) -> Result<bool, KiteError> {
        let used = *self
            .inner
            .client_used
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if used.is_some_and(|used| used.elapsed() < quiet) {
            return Ok(false);
        }
        self.inner.limits.acquire(Endpoint::Other).await;
        let result = self.client()?.profile().await.map_err(KiteError::from_read);
        self.note(result).map(|_| true)
    }

    async fn keep_placements_warm(&self, quiet: Duration) -> Result<bool, KiteError> {
        let Some(placement) = &self.inner.placement else {
            return Ok(false);
        };
        if !placement.open().await || placement.idle_for() < quiet {
            return Ok(false);
        }
        let SignedClient {
            api: client,
            authorization,
        } = self.client_unused()?;
        let Some(authorization) = authorization else {
            return Ok(false);
        };
        self.inner.limits.acquire(Endpoint::Other).await;
        let read = client.profile();
        match placement
            .send::<serde_json::Value>(read.request(), &authorization)
            .await
        {
            Sent::Answered(result) => self
                .note(result.map_err(KiteError::from_read))
                .map(|_| true),
            // An order took it, or it was found closed (and is being reopened).
            Sent::NotSent => Ok(false),
        }
    }

    /// Opens placements' own connection now unless it is open (waiting for the TCP
    /// and TLS connect); returns whether it is open. Orders never wait for it: one
    /// that finds it closed goes through the API client and has it reopened in the
    /// background, and [`KiteBroker::keep_warm`] opens it too.
    pub async fn open_placement_connection(&self) -> bool {
        match &self.inner.placement {
            Some(placement) => placement.open().await,
            None => false,
        }
    }

    /// Flags the session on TokenException; passes the result on.
    pub(crate) fn note<T>(&self, result: Result<T, KiteError>) -> Result<T, KiteError> {
        if matches!(result, Err(KiteError::TokenExpired)) {
            self.inner
                .session
                .mark_expired(ExpiryCause::Refused, jiff::Timestamp::now());
        }
        result
    }

    /// Ends the API session at Kite (`DELETE /session/token?api_key=..&access_token=..`)
    /// and marks it expired here, so placements stop at once. The session file is the
    /// login command's to remove; the user stays logged in to Kite web and app.
    pub async fn logout(&self) -> Result<(), KiteError> {
        self.read(Endpoint::Other, |c| {
            c.invalidate_access_token().into_future()
        })
        .await?;
        self.inner
            .session
            .mark_expired(ExpiryCause::LoggedOut, jiff::Timestamp::now());
        Ok(())
    }

    /// Places an order exactly once and returns Kite's order id.
    ///
    /// Prices are rounded to the tick in the favourable direction; MARKET and SL-M
    /// carry the configured `market_protection`; the tag always goes along. If the
    /// answer is lost (timeout, dropped connection, 5xx) the result is
    /// [`KiteError::OutcomeUnknown`]: call [`KiteBroker::find_by_tag`], never resend.
    pub async fn place_order(&self, order: &OrderRequest) -> Result<String, KiteError> {
        self.place_order_as(Variety::Regular, order).await
    }

    /// [`KiteBroker::place_order`] as `variety`: [`Variety::Amo`] queues an
    /// after-market order (`POST /orders/amo`) for the next session.
    pub async fn place_order_as(
        &self,
        variety: Variety,
        order: &OrderRequest,
    ) -> Result<String, KiteError> {
        let instrument = self.instrument(&order.instrument)?;
        let params = self.order_params(order, &instrument)?;
        // Sent even while the session is marked expired: the engine pauses entries
        // itself, and an exit must reach Kite, whose answer is the truth (the mark
        // may be the 06:00 timer a moment early, or a token that was replaced).
        self.inner.limits.acquire(Endpoint::PlaceOrder).await;
        let client = self.client_unused()?;
        let tag = order.tag.as_str();
        let call = client.api.place_order(variety.kite(), params);
        let sent = match (&self.inner.placement, &client.authorization) {
            (Some(placement), Some(authorization)) => {
                placement.send(call.request(), authorization).await
            }
            _ => Sent::NotSent,
        };
        let placed = match sent {
            Sent::Answered(placed) => placed,
            Sent::NotSent => {
                self.note_client_use();
                call.await
            }
        };
        let result = placed
            .map(|placed: kiteconnect::OrderResponse| placed.order_id)
            .map_err(|error| KiteError::from_placement(error, tag));
        // Logged once Kite has answered, not before: a log line's write is not on the
        // path from the decision to the request (the intent is on disk already).
        match &result {
            Ok(order_id) => tracing::info!(tag, %order_id, instrument = %order.instrument,
                variety = variety.as_str(), "order placed"),
            Err(error) => tracing::warn!(tag, %error, instrument = %order.instrument,
                variety = variety.as_str(), "order not placed"),
        }
        self.note(result)
    }

    /// The form of a placement, in Kite's terms.
    pub fn order_params(
        &self,
        order: &OrderRequest,
        instrument: &Instrument,
    ) -> Result<OrderParams, KiteError> {
        if instrument.segment == "INDICES" {
            return Err(KiteError::InvalidInput(format!(
                "{} is an index, not a tradable instrument",
                instrument.key
            )));
        }
        let quantity = whole_lots(order, instrument)?;
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

/// The order's quantity, refused unless it is a whole number of lots.
pub(crate) fn whole_lots(order: &OrderRequest, instrument: &Instrument) -> Result<u32, KiteError> {
    whole_lots_of(order.quantity, instrument)
}

/// `quantity`, refused unless it is a whole number of `instrument`'s lots.
pub(crate) fn whole_lots_of(
    quantity: kitebreak_price::Quantity,
    instrument: &Instrument,
) -> Result<u32, KiteError> {
    let quantity = quantity.get();
    if quantity.is_multiple_of(instrument.lot_size) {
        Ok(quantity)
    } else {
        Err(KiteError::InvalidInput(format!(
            "{quantity} is not a multiple of the lot size {} of {}",
            instrument.lot_size, instrument.key
        )))
    }
}

/// The path of the full instrument dump.
const DUMP_PATH: &str = "/instruments";
/// Whole-request budget of the multi-megabyte dump (the official crate's figure).
const DUMP_TIMEOUT: Duration = Duration::from_secs(120);

impl KiteBroker {
    /// `GET /instruments` signed with the session, as Kite's documentation shows it
    /// and pykiteconnect and gokiteconnect send it. The official Rust crate sends the
    /// dump request without `Authorization`; a Kite that authenticates every request
    /// (the docs' rule since v3) would refuse that, so while a live token exists the
    /// dump is fetched here, through the same budget, retries and TokenException
    /// handling as every read. `None` without a live token: the caller then fetches it
    /// unsigned through the crate.
    pub(crate) async fn fetch_dump_signed(&self) -> Option<Result<Vec<u8>, KiteError>> {
        let status = self.inner.session.status();
        let token = status.token.filter(|_| status.expired.is_none())?;
        let config = &self.inner.config;
        let url = format!("{}{DUMP_PATH}", config.rest_root.trim_end_matches('/'));
        let auth = format!("token {}:{}", config.api_key, token.expose());
        let http = match reqwest::Client::builder()
            .user_agent(concat!("kitebreak/", env!("CARGO_PKG_VERSION")))
            .timeout(DUMP_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
        {
            Ok(http) => http,
            Err(error) => return Some(Err(KiteError::Setup(transport(error)))),
        };
        let fetch = |_client: KiteConnect| download(&http, &url, &auth);
        Some(self.read(Endpoint::Other, fetch).await)
    }
}

/// One signed GET of the dump, with Kite's errors as the crate reports them.
async fn download(http: &reqwest::Client, url: &str, auth: &str) -> kiteconnect::Result<Vec<u8>> {
    let mut authorization = reqwest::header::HeaderValue::from_str(auth)
        .map_err(|_| kiteconnect::Error::InvalidInput("invalid api_key or access_token"))?;
    authorization.set_sensitive(true);
    let response = http
        .get(url)
        .header("X-Kite-Version", "3")
        .header(reqwest::header::AUTHORIZATION, authorization)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(transport)?;
    // Kite may answer a CSV endpoint with a JSON error envelope, even with HTTP 200.
    let is_envelope = body.trim_ascii_start().starts_with(b"{");
    if (200..300).contains(&status) && !is_envelope {
        return Ok(body.to_vec());
    }
    Err(dump_error(status, &body))
}

#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    message: Option<String>,
    error_type: Option<String>,
    data: Option<serde_json::Value>,
}

/// The crate's error for a failed dump answer: Kite's envelope when there is one.
fn dump_error(status: u16, body: &[u8]) -> kiteconnect::Error {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => kiteconnect::Error::Api(kiteconnect::error::ApiError::new(
            kiteconnect::error::ErrorKind::from(
                envelope.error_type.as_deref().unwrap_or("Unknown"),
            ),
            envelope.message.unwrap_or_else(|| format!("HTTP {status}")),
            status,
            envelope.data,
        )),
        Err(source) if (200..300).contains(&status) => kiteconnect::Error::Decode {
            path: DUMP_PATH.into(),
            source,
        },
        Err(_) => kiteconnect::Error::Http {
            status,
            path: DUMP_PATH.into(),
        },
    }
}

/// A transport failure without its URL (the URL carries no secret, but the crate
/// strips it too).
fn transport(error: reqwest::Error) -> kiteconnect::Error {
    kiteconnect::Error::Transport(Box::new(error.without_url()))
}

/// Kite's exchange from the dump's text.
pub(crate) fn exchange(text: &str) -> Result<kiteconnect::Exchange, KiteError> {
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

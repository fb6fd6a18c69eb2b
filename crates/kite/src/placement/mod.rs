//! The placement connection: one kept-alive HTTP/1.1 connection to Kite's REST root
//! that order placements use when it is free, written to by the task that places the
//! order.
//!
//! Why: through the official crate, a placement is built by reqwest and queued for
//! the pool's connection task, which writes it when the runtime next runs that task.
//! On two cores that hop and the request building were ~0.08 ms of the median tick →
//! order on the wire, and most of its tail (docs/decisions/tick-to-exit-latency.md,
//! "Placements write their own request"). Here the placing task sends the request and
//! drives the connection itself while it waits for the answer.
//!
//! What goes out is the crate's own request (`KiteConnect::place_order(..).request()`:
//! its path and form fields, in its order) with the headers its client sends, and the
//! answer is decoded into the crate's errors as its client decodes it, so
//! [`crate::KiteError::from_placement`] judges both paths alike. Only form and empty
//! bodies without a query go this way (placements, and the keep-warm profile read).
//!
//! Never sent twice, never held up: a placement that finds the connection busy
//! (another order on its way), not open, or closed returns [`Sent::NotSent`] at once
//! and the caller sends it through the crate's client instead; a closed or missing
//! connection is then opened in the background for the next one
//! ([`PlacementConnection::open`] opens it and waits). Once the request is handed to
//! the connection, every failure (closed, timed out, garbled) is the caller's unknown
//! outcome, as on the crate's path, unless hyper gives the request back unsent.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use kiteconnect::{Body, Request};
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower_service::Service;

mod answer;

use answer::{Answer, decode};

/// The TCP and TLS connect's budget (reqwest's connect timeout in the crate).
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// TCP keepalive, as the crate's reqwest client sets it: a connection a NAT or
/// proxy dropped silently is found dead within about a minute, not by an order.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// How long a kept connection may take to be ready for the next request; one that
/// is not is dropped and a new one opened.
const READY_WITHIN: Duration = Duration::from_millis(100);

/// The `User-Agent` the crate's client sends (`{app_name} kiteconnect-rs/{version}`);
/// a test compares the two on the wire.
const USER_AGENT_VALUE: &str = concat!(
    "kitebreak/",
    env!("CARGO_PKG_VERSION"),
    " kiteconnect-rs/1.0.1"
);

type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// The connection and what it needs to open a new one.
pub(crate) struct PlacementConnection {
    opener: Opener,
    host: HeaderValue,
    timeout: Duration,
    /// The open connection, if any. Orders try it and never wait for it: a busy
    /// connection sends the order the other way.
    slot: Arc<tokio::sync::Mutex<Option<Open>>>,
    /// When a request last went out on it (or when it was made).
    used: Mutex<Instant>,
}

/// What opening a connection needs (cloned into a background open).
#[derive(Clone)]
struct Opener {
    connector: HttpsConnector<HttpConnector>,
    /// Scheme and authority of the REST root: what is connected to.
    root: http::Uri,
}

impl std::fmt::Debug for PlacementConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlacementConnection")
            .field("root", &self.opener.root)
            .finish_non_exhaustive()
    }
}

/// An open connection: the request side and the connection's own future, which
/// does the reading and writing whenever it is polled.
struct Open {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Pin<Box<http1::Connection<Stream, Full<Bytes>>>>,
}

/// What a send came to.
pub(crate) enum Sent<T> {
    /// Nothing went out: the caller sends it another way.
    NotSent,
    /// The request went to the connection; this is what came back.
    Answered(kiteconnect::Result<T>),
}

/// Why a request handed to the connection got no answer. Carried as the source of
/// `kiteconnect::Error::Transport`, like reqwest's errors on the crate's path.
#[derive(Debug, thiserror::Error)]
enum Lost {
    #[error("placement connection: {0}")]
    Http(#[from] hyper::Error),
    #[error("placement connection closed before the answer")]
    Closed,
    #[error("placement connection: no answer within {0:?}")]
    TimedOut(Duration),
}

impl PlacementConnection {
    /// A connection to `rest_root` (not opened yet), verifying TLS certificates
    /// against the platform's roots with the process's crypto provider (aws-lc-rs
    /// unless one was installed), as the crate's reqwest client does. `None` if the
    /// root is not an http(s) URL or TLS cannot be set up: every placement then goes
    /// through the crate.
    pub(crate) fn new(rest_root: &str, timeout: Duration) -> Option<PlacementConnection> {
        let root: http::Uri = rest_root.parse().ok()?;
        let authority = root.authority()?.clone();
        if !matches!(root.scheme_str(), Some("http" | "https")) {
            return None;
        }
        let tls = match tls_config() {
            Ok(tls) => tls,
            Err(error) => {
                tracing::warn!(%error, "no TLS for the placement connection; orders use the API client");
                return None;
            }
        };
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_WITHIN));
        tcp.set_keepalive(Some(KEEPALIVE));
        tcp.set_keepalive_interval(Some(KEEPALIVE));
        tcp.set_keepalive_retries(Some(3));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let root = http::Uri::builder()
            .scheme(root.scheme_str()?)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .ok()?;
        Some(PlacementConnection {
            opener: Opener { connector, root },
            host: HeaderValue::from_str(authority.as_str()).ok()?,
            timeout,
            slot: Arc::new(tokio::sync::Mutex::new(None)),
            used: Mutex::new(Instant::now()),
        })
    }

    /// Opens the connection unless it is open and usable, waiting for it (and for
    /// an order on it to finish). Returns whether it is open.
    pub(crate) async fn open(&self) -> bool {
        let mut slot = self.slot.lock().await;
        let kept = match slot.take() {
            Some(open) => usable(open).await,
            None => None,
        };
        *slot = match kept {
            Some(open) => Some(open),
            None => self.opener.connect().await,
        };
        slot.is_some()
    }

    /// How long since a request last went out on the connection (or since it was
    /// made), for the keep-warm check.
    pub(crate) fn idle_for(&self) -> Duration {
        self.used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// Sends `request` signed with `authorization` if the connection is open and
    /// free, and decodes the answer as the crate would.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: &Request,
        authorization: &HeaderValue,
    ) -> Sent<T> {
        let Some(outgoing) = self.outgoing(request, authorization) else {
            return Sent::NotSent;
        };
        let Ok(mut slot) = self.slot.try_lock() else {
            return Sent::NotSent;
        };
        let kept = match slot.take() {
            Some(open) => usable(open).await,
            None => None,
        };
        let Some(open) = kept else {
            drop(slot);
            self.open_in_background();
            return Sent::NotSent;
        };
        *self.used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        let path = request.path();
        match tokio::time::timeout(self.timeout, exchange(open, outgoing)).await {
            Ok(Exchanged::Answered(kept, answer)) => {
                *slot = kept;
                Sent::Answered(decode(&answer, path))
            }
            Ok(Exchanged::Unsent) => {
                drop(slot);
                self.open_in_background();
                Sent::NotSent
            }
            Ok(Exchanged::Lost(lost)) => Sent::Answered(Err(transport(lost))),
            Err(_) => Sent::Answered(Err(transport(Lost::TimedOut(self.timeout)))),
        }
    }

    /// Opens a connection for the next order in a task of its own, unless one is
    /// being opened (or used) already.
    fn open_in_background(&self) {
        let Ok(mut slot) = Arc::clone(&self.slot).try_lock_owned() else {
            return;
        };
        let opener = self.opener.clone();
        tokio::spawn(async move {
            if slot.is_none() {
                *slot = opener.connect().await;
            }
        });
    }

    /// The request on the wire: origin-form path, the crate's headers, the form.
    /// `None` for what the crate's client should send itself (a query, JSON).
    fn outgoing(
        &self,
        request: &Request,
        authorization: &HeaderValue,
    ) -> Option<http::Request<Full<Bytes>>> {
        if !request.query_pairs().is_empty() {
            return None;
        }
        let builder = http::Request::builder()
            .method(request.method().clone())
            .uri(request.path())
            .header(HOST, self.host.clone())
            .header(ACCEPT, "application/json")
            .header("X-Kite-Version", "3")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(AUTHORIZATION, authorization.clone());
        let body = match request.body() {
            Body::None => Bytes::new(),
            Body::Form(fields) => {
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish();
                return builder
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(form)))
                    .ok();
            }
            _ => return None,
        };
        builder.body(Full::new(body)).ok()
    }
}

impl Opener {
    /// Opens a connection: TCP (no Nagle delay), TLS for https. `None` (logged) if
    /// it cannot be opened; nothing was sent.
    async fn connect(&self) -> Option<Open> {
        let mut connector = self.connector.clone();
        let opened = tokio::time::timeout(CONNECT_WITHIN, async {
            poll_fn(|cx| connector.poll_ready(cx)).await?;
            connector.call(self.root.clone()).await
        })
        .await;
        let stream = match opened {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::warn!(%error, "placement connection not opened; orders use the API client");
                return None;
            }
            Err(_) => {
                tracing::warn!(
                    "placement connection not opened in time; orders use the API client"
                );
                return None;
            }
        };
        match http1::handshake(stream).await {
            Ok((sender, driver)) => Some(Open {
                sender,
                driver: Box::pin(driver),
            }),
            Err(error) => {
                tracing::warn!(%error, "placement connection not set up; orders use the API client");
                None
            }
        }
    }
}

/// A kept connection, polled for the first time since its last answer: that is
/// when it sees a close by the server, and when it becomes ready for the next
/// request. `None` if it is closed or not ready within [`READY_WITHIN`].
async fn usable(open: Open) -> Option<Open> {
    tokio::time::timeout(READY_WITHIN, ready(open))
        .await
        .ok()
        .flatten()
}

async fn ready(mut open: Open) -> Option<Open> {
    let usable = poll_fn(|cx| {
        if open.driver.as_mut().poll(cx).is_ready() {
            return Poll::Ready(false);
        }
        open.sender.poll_ready(cx).map(|ready| ready.is_ok())
    })
    .await;
    usable.then_some(open)
}

/// What one request on the connection came to.
enum Exchanged {
    /// An answer, and the connection if it can carry another request.
    Answered(Option<Open>, Answer),
    /// hyper gave the request back before writing any of it (the connection turned
    /// out closed): not sent.
    Unsent,
    /// Sent (or maybe sent), no answer.
    Lost(Lost),
}

/// Sends `request` on `open` and reads the whole answer, driving the connection
/// meanwhile.
async fn exchange(open: Open, request: http::Request<Full<Bytes>>) -> Exchanged {
    let Open {
        mut sender,
        mut driver,
    } = open;
    let response = sender.try_send_request(request);
    let answer = async {
        let (parts, body) = match response.await {
            Ok(response) => response.into_parts(),
            Err(mut refused) => {
                return match refused.take_message() {
                    Some(_) => Err(None),
                    None => Err(Some(Lost::Http(refused.into_error()))),
                };
            }
        };
        let body = body.collect().await.map_err(|e| Some(Lost::Http(e)))?;
        Ok(Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.to_bytes(),
        })
    };
    let mut answer = std::pin::pin!(answer);
    let ended = tokio::select! {
        biased;
        answer = &mut answer => {
            return match answer {
                Ok(answer) => Exchanged::Answered(Some(Open { sender, driver }), answer),
                Err(None) => Exchanged::Unsent,
                Err(Some(lost)) => Exchanged::Lost(lost),
            };
        }
        ended = driver.as_mut() => ended,
    };
    // The connection ended (a close after the answer, or a failure). Whatever it
    // delivered is in `answer`; with the connection dropped the rest fails at once.
    drop(driver);
    match answer.await {
        Ok(answer) => Exchanged::Answered(None, answer),
        Err(None) => Exchanged::Unsent,
        Err(Some(_)) => Exchanged::Lost(ended.err().map_or(Lost::Closed, Lost::Http)),
    }
}

/// The TLS set-up reqwest makes: the installed crypto provider or aws-lc-rs, safe
/// protocol versions, the platform's certificate verifier.
fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth())
}

fn transport(lost: Lost) -> kiteconnect::Error {
    kiteconnect::Error::Transport(Box::new(lost))
}

/// `Authorization: token api_key:access_token` of `client`, marked sensitive (kept
/// out of debug output), as the crate's client signs its requests.
pub(crate) fn authorization(client: &kiteconnect::KiteConnect) -> Option<HeaderValue> {
    let token = client.access_token()?;
    let mut value =
        HeaderValue::from_str(&format!("token {}:{}", client.api_key(), token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

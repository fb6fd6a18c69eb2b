//! The ticker task behind [`crate::ticker::TickerManager`]: one socket at a time,
//! reconnecting with backoff, resubscribing from the remembered set.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::broker::KiteBroker;
use crate::instruments::Instruments;
use crate::orders::OrderSnapshot;
use crate::ticker::{
    MarketEvent, MarketSink, TickerCommand as Command, TickerState, backoff, send_all,
    subscribe_frames,
};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why one connection ended.
enum End {
    /// Asked to stop, or nobody listens any more.
    Stop,
    /// Nothing arrived within the silence limit.
    Silent,
    /// Closed or broken by the other side.
    Dropped,
    /// A new token arrived: reconnect now with it.
    NewToken,
}

pub(crate) struct Task<S> {
    pub(crate) broker: KiteBroker,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: S,
    pub(crate) state: watch::Sender<TickerState>,
    pub(crate) wanted: BTreeSet<u32>,
    /// Each ticking instrument's key, made once; valid for the catalogue `keys_of`.
    pub(crate) keys: HashMap<u32, Arc<str>>,
    pub(crate) keys_of: Option<Arc<Instruments>>,
}

impl<S: MarketSink> Task<S> {
    pub(crate) async fn run(mut self) {
        let mut session = self.broker.session().subscribe();
        let mut failures: u32 = 0;
        loop {
            let status = session.borrow_and_update().clone();
            let token = match status.token {
                Some(token) if status.expired.is_none() => token,
                _ => {
                    self.state.send_replace(TickerState::Stopped);
                    if !self.wait_for_session(&mut session).await {
                        return;
                    }
                    continue;
                }
            };
            match self.connect(&token).await {
                Ok(socket) => {
                    failures = 0;
                    self.state.send_replace(TickerState::Connected);
                    match self.serve(socket, &mut session).await {
                        End::Stop => break,
                        End::NewToken => continue,
                        End::Silent => {
                            self.state.send_replace(TickerState::Silent);
                            tracing::warn!("kite ticker silent; reconnecting");
                        }
                        End::Dropped => {
                            self.state.send_replace(TickerState::Reconnecting);
                        }
                    }
                }
                Err(Some(status)) if status == 403 || status == 401 => {
                    self.broker
                        .session()
                        .mark_expired(crate::ExpiryCause::Refused, jiff::Timestamp::now());
                    continue;
                }
                Err(_) => {
                    self.state.send_replace(TickerState::Reconnecting);
                }
            }
            failures += 1;
            let pause = tokio::time::sleep(backoff(failures));
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    () = &mut pause => break,
                    command = self.commands.recv() => if !self.apply(command) { return self.stopped() },
                    _ = session.changed() => break,
                }
            }
        }
        self.stopped();
    }

    fn stopped(&self) {
        self.state.send_replace(TickerState::Stopped);
    }

    /// Waits for a usable session; false when asked to stop meanwhile.
    async fn wait_for_session(
        &mut self,
        session: &mut watch::Receiver<crate::SessionStatus>,
    ) -> bool {
        loop {
            tokio::select! {
                changed = session.changed() => return changed.is_ok(),
                command = self.commands.recv() => if !self.apply(command) { return false },
            }
        }
    }

    /// Records a command; false for Stop or a closed channel.
    fn apply(&mut self, command: Option<Command>) -> bool {
        match command {
            Some(Command::Watch(tokens)) => self.wanted.extend(tokens),
            Some(Command::Unwatch(tokens)) => tokens.iter().for_each(|t| {
                self.wanted.remove(t);
            }),
            Some(Command::Stop) | None => return false,
        }
        true
    }

    /// Opens the socket; `Err(Some(status))` when the handshake was refused.
    async fn connect(&self, token: &kiteconnect::AccessToken) -> Result<Socket, Option<u16>> {
        let mut url = self.broker.config().ws_url().map_err(|_| None)?;
        url.query_pairs_mut()
            .append_pair("api_key", &self.broker.config().api_key)
            .append_pair("access_token", token.expose());
        let request = handshake(url.as_str()).map_err(|_| None)?;
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tungstenite::Error::Http(response)) => Err(Some(response.status().as_u16())),
            Err(error) => {
                // The error text may hold the URL; log its kind only.
                tracing::warn!(kind = %error_kind(&error), "kite ticker connect failed");
                Err(None)
            }
        }
    }

    async fn serve(
        &mut self,
        mut socket: Socket,
        session: &mut watch::Receiver<crate::SessionStatus>,
    ) -> End {
        let wanted: Vec<u32> = self.wanted.iter().copied().collect();
        if !wanted.is_empty() && !send_all(&mut socket, subscribe_frames(&wanted)).await {
            return End::Dropped;
        }
        let silence = self.broker.config().ticker_silence;
        loop {
            tokio::select! {
                frame = tokio::time::timeout(silence, socket.next()) => match frame {
                    Err(_) => return End::Silent,
                    Ok(Some(Ok(message))) => if !self.handle(message).await { return End::Stop },
                    Ok(Some(Err(_)) | None) => return End::Dropped,
                },
                command = self.commands.recv() => {
                    let frames = match &command {
                        Some(Command::Watch(tokens)) => subscribe_frames(tokens).to_vec(),
                        Some(Command::Unwatch(tokens)) => vec![Message::Text(
                            serde_json::json!({"a": "unsubscribe", "v": tokens}).to_string().into(),
                        )],
                        _ => Vec::new(),
                    };
                    if !self.apply(command) {
                        let _ = socket.close(None).await;
                        return End::Stop;
                    }
                    if !send_all(&mut socket, frames).await {
                        return End::Dropped;
                    }
                }
                changed = session.changed() => {
                    let _ = socket.close(None).await;
                    return if changed.is_ok() { End::NewToken } else { End::Stop };
                }
            }
        }
    }

    /// Forwards what a frame carries; false when the receiver is gone.
    async fn handle(&mut self, message: Message) -> bool {
        match message {
            Message::Binary(data) => {
                let catalogue = self.broker.instruments();
                for tick in kiteconnect::parse_binary(&data) {
                    let Some(event) = self.tick(&catalogue, &tick) else {
                        continue;
                    };
                    if !self.events.deliver(event).await {
                        return false;
                    }
                }
                true
            }
            Message::Text(text) => match order_update(text.as_str()) {
                Some(event) => self.events.deliver(event).await,
                None => true,
            },
            _ => true,
        }
    }

    /// One decoded packet as a tick: a known instrument with a price on its tick.
    fn tick(
        &mut self,
        catalogue: &Arc<Instruments>,
        tick: &kiteconnect::Tick,
    ) -> Option<MarketEvent> {
        let instrument = catalogue.by_token(tick.instrument_token)?;
        let price = crate::exact::price_in(tick.last_price?, instrument.tick).ok()?;
        // A reloaded catalogue may name a token differently: start the keys afresh.
        if !self
            .keys_of
            .as_ref()
            .is_some_and(|of| Arc::ptr_eq(of, catalogue))
        {
            self.keys.clear();
            self.keys_of = Some(Arc::clone(catalogue));
        }
        let key = self
            .keys
            .entry(tick.instrument_token)
            .or_insert_with(|| Arc::from(instrument.key.as_str()));
        Some(MarketEvent::Tick {
            instrument: Arc::clone(key),
            price,
        })
    }
}

/// The upgrade request: the URL plus the headers Kite's own clients send.
fn handshake(url: &str) -> Result<tungstenite::handshake::client::Request, tungstenite::Error> {
    use tungstenite::client::IntoClientRequest;
    use tungstenite::http::HeaderValue;
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("X-Kite-Version", HeaderValue::from_static("3"));
    headers.insert(
        "User-Agent",
        HeaderValue::from_static(concat!("kitebreak/", env!("CARGO_PKG_VERSION"))),
    );
    Ok(request)
}

/// An order update text frame (`{"type":"order","data":{...}}`) as an event.
fn order_update(text: &str) -> Option<MarketEvent> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        data: serde_json::Value,
    }
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    if envelope.kind != "order" {
        return None;
    }
    let order: kiteconnect::Order = serde_json::from_value(envelope.data).ok()?;
    OrderSnapshot::from_kite(&order)
        .ok()
        .map(MarketEvent::Order)
}

fn error_kind(error: &tungstenite::Error) -> &'static str {
    match error {
        tungstenite::Error::Io(_) => "io",
        tungstenite::Error::Tls(_) => "tls",
        tungstenite::Error::Url(_) => "url",
        _ => "protocol",
    }
}

//! One ticker connection: the upgrade on `/`, subscriptions, ticks, order updates and
//! heartbeats.
//!
//! The upgrade needs `api_key` and `access_token` query parameters naming a live
//! session, else it is refused with 403 before any WebSocket exists. Subscribing sends
//! the current tick at once; later ticks follow price changes. Whenever a second passes
//! with nothing sent, a one-byte heartbeat goes out. The upgrade and every text frame
//! the client sends are in the request log (`/_sim/requests`). Faults: `ws_silent` stops
//! all output, `/_sim/ws/drop` closes the socket without a close frame.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::http::gate::header_pairs;
use crate::json;
use crate::params::Params;
use crate::shared::{Event, LoggedRequest, Shared, WS_FRAME};
use crate::ticker::packet::{HEARTBEAT, Mode, frame, packet};

/// Longest a connection goes without a message: after this, a heartbeat is sent.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// `GET /` with an upgrade: the ticker. Without one: a short note on what this is.
pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = Params::parse(raw.unwrap_or_default().as_bytes());
    let id = shared.log_request(LoggedRequest {
        method: "GET".into(),
        path: "/".into(),
        query: query.0.clone(),
        headers: header_pairs(&headers),
        ..LoggedRequest::default()
    });
    let Ok(ws) = ws else {
        shared.log_status(id, 200);
        return axum::Json(json!({"status": "success", "data": {"service": "kite-sim"}}))
            .into_response();
    };
    let key = query.get("api_key").unwrap_or_default();
    let token = query.get("access_token").unwrap_or_default();
    if !shared.with_world(|w, now| w.sessions.admits(key, token, now)) {
        shared.log_status(id, 403);
        let body = json!({"status": "error", "message": "Invalid `access_token` or `api_key`.", "error_type": "TokenException", "data": null});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    shared.log_status(id, 101);
    ws.on_upgrade(move |socket| {
        let (outgoing, incoming) = socket.split();
        serve(shared, query, incoming, outgoing)
    })
}

#[derive(Debug, Deserialize)]
struct Command {
    a: String,
    #[serde(default)]
    v: serde_json::Value,
}

fn tokens(value: &serde_json::Value) -> Vec<u32> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|t| t.as_u64())
                .filter_map(|t| u32::try_from(t).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Kite's cap on instruments per connection.
pub const MAX_SUBSCRIPTIONS: usize = 3_000;

/// Whether `token` is (or may become) one of the connection's subscriptions.
fn has_room(subscriptions: &HashMap<u32, Mode>, token: u32) -> bool {
    subscriptions.len() < MAX_SUBSCRIPTIONS || subscriptions.contains_key(&token)
}

/// What a client message changed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Applied {
    /// Tokens whose current tick should be sent now.
    send: Vec<u32>,
    /// Tokens refused for want of room (beyond [`MAX_SUBSCRIPTIONS`]).
    refused: usize,
}

/// Applies a client message. Tokens beyond [`MAX_SUBSCRIPTIONS`] are refused (the
/// client hears so in an `error` message) and the connection stays up.
fn command(subscriptions: &mut HashMap<u32, Mode>, text: &str) -> Applied {
    let Ok(command) = serde_json::from_str::<Command>(text) else {
        return Applied::default();
    };
    let (list, mode) = match command.a.as_str() {
        "subscribe" => (tokens(&command.v), None),
        "mode" => {
            let Some(mode) = command
                .v
                .get(0)
                .and_then(|m| m.as_str())
                .and_then(Mode::parse)
            else {
                return Applied::default();
            };
            (command.v.get(1).map(tokens).unwrap_or_default(), Some(mode))
        }
        "unsubscribe" => {
            for token in tokens(&command.v) {
                subscriptions.remove(&token);
            }
            return Applied::default();
        }
        _ => return Applied::default(),
    };
    let (send, refused): (Vec<u32>, Vec<u32>) = list.into_iter().partition(|token| {
        let room = has_room(subscriptions, *token);
        if room {
            match mode {
                Some(mode) => {
                    subscriptions.insert(*token, mode);
                }
                None => {
                    subscriptions.entry(*token).or_insert(Mode::Quote);
                }
            }
        }
        room
    });
    Applied {
        send,
        refused: refused.len(),
    }
}

fn ticks(shared: &Shared, subscriptions: &HashMap<u32, Mode>, wanted: &[u32]) -> Option<Vec<u8>> {
    let packets: Vec<Vec<u8>> = shared.with_world(|world, now| {
        wanted
            .iter()
            .filter_map(|token| {
                let mode = subscriptions.get(token)?;
                let instrument = world.catalogue.by_token(*token)?;
                let quote = world.market.quote(*token)?;
                Some(packet(instrument, quote, *mode, now))
            })
            .collect()
    });
    (!packets.is_empty()).then(|| frame(&packets))
}

/// Runs one connection until either side ends it: client frames in, ticks, order
/// updates and heartbeats out. `query` is the upgrade's, for the request log.
pub async fn serve<I, O, E>(shared: Arc<Shared>, query: Params, mut incoming: I, mut outgoing: O)
where
    I: Stream<Item = Result<Message, E>> + Unpin,
    O: Sink<Message> + Unpin,
{
    let mut events = shared.events.subscribe();
    let mut dropped = shared.ws_drop.subscribe();
    let mut subscriptions: HashMap<u32, Mode> = HashMap::new();
    let beat = tokio::time::sleep(HEARTBEAT_EVERY);
    tokio::pin!(beat);
    loop {
        let messages: Vec<Message> = tokio::select! {
            frame = incoming.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    shared.log_request(LoggedRequest {
                        method: WS_FRAME.into(),
                        path: "/".into(),
                        query: query.0.clone(),
                        message: Some(text.as_str().to_string()),
                        ..LoggedRequest::default()
                    });
                    let applied = command(&mut subscriptions, text.as_str());
                    let mut out: Vec<Message> = ticks(&shared, &subscriptions, &applied.send)
                        .map(|f| Message::Binary(f.into()))
                        .into_iter()
                        .collect();
                    if applied.refused > 0 {
                        let error = format!(
                            "{} instrument(s) not subscribed: at most {MAX_SUBSCRIPTIONS} per connection.",
                            applied.refused
                        );
                        out.push(Message::Text(json!({"type": "error", "data": error}).to_string().into()));
                    }
                    out
                }
                Some(Ok(Message::Close(_))) => {
                    // Complete the closing handshake so the client sees a clean close.
                    let _ = outgoing.send(Message::Close(None)).await;
                    return;
                }
                None | Some(Err(_)) => return,
                Some(Ok(_)) => Vec::new(),
            },
            event = events.recv() => match event {
                Ok(Event::Prices(changed)) => ticks(&shared, &subscriptions, &changed)
                    .map(|f| Message::Binary(f.into()))
                    .into_iter()
                    .collect(),
                Ok(Event::Order(order)) => {
                    let config = &shared.config;
                    let data = json::order_update(&order, &config.user_id, config.app_id, &config.api_secret);
                    vec![Message::Text(json!({"type": "order", "data": data}).to_string().into())]
                }
                Err(RecvError::Lagged(_)) => Vec::new(),
                Err(RecvError::Closed) => return,
            },
            () = &mut beat => vec![Message::Binary(HEARTBEAT.to_vec().into())],
            _ = dropped.changed() => return,
        };
        if messages.is_empty() {
            continue;
        }
        // A silent connection sends nothing, yet keeps its rhythm (no busy loop).
        if !shared.with_world(|w, _| w.faults.ws_silent) {
            for message in messages {
                if outgoing.send(message).await.is_err() {
                    return;
                }
            }
        }
        beat.as_mut()
            .reset(tokio::time::Instant::now() + HEARTBEAT_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ClockMode, SimClock};
    use crate::config::SimConfig;
    use crate::shared::lock;
    use crate::world::World;
    use tokio::sync::mpsc;
    use tokio::time::Instant;

    fn shared() -> Arc<Shared> {
        let start = jiff::Timestamp::from_second(1_795_581_000).expect("10:00 IST");
        let config = SimConfig::for_tests(start);
        let (world, _) = World::new(&config, start).expect("world");
        let clock = SimClock::new(ClockMode::Manual { start });
        Arc::new(Shared::new(config, clock, world))
    }

    type Frames = std::pin::Pin<Box<dyn Stream<Item = Result<Message, ()>> + Send>>;

    fn frames(rx: mpsc::Receiver<Message>) -> Frames {
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|m| (Ok(m), rx))
        }))
    }

    fn is_heartbeat(message: &Message) -> bool {
        matches!(message, Message::Binary(bytes) if bytes.as_ref() == HEARTBEAT)
    }

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_follows_every_second_without_output_and_frames_are_logged() {
        let shared = shared();
        let (client, from_client) = mpsc::channel(8);
        let (to_client, mut received) = mpsc::channel(8);
        let sink = Box::pin(futures_util::sink::unfold(
            to_client,
            |tx, message: Message| async move { tx.send(message).await.map(|()| tx) },
        ));
        let query = Params::parse(b"api_key=k&access_token=t");
        let connection = tokio::spawn(serve(shared.clone(), query, frames(from_client), sink));
        let origin = Instant::now();
        let mut beats = Vec::new();
        for _ in 0..3 {
            let message = received.recv().await.expect("open");
            assert!(is_heartbeat(&message), "{message:?}");
            beats.push(origin.elapsed());
        }
        let secs = Duration::from_secs;
        assert_eq!(beats, [secs(1), secs(2), secs(3)]);

        tokio::time::sleep(Duration::from_millis(500)).await;
        let subscribe = r#"{"a":"subscribe","v":[408065]}"#;
        client
            .send(Message::Text(subscribe.into()))
            .await
            .expect("sent");
        let tick = received.recv().await.expect("open");
        assert!(
            matches!(&tick, Message::Binary(b) if b.len() > 1),
            "{tick:?}"
        );
        assert_eq!(origin.elapsed(), Duration::from_millis(3_500));
        let beat = received.recv().await.expect("open");
        assert!(is_heartbeat(&beat));
        assert_eq!(origin.elapsed(), Duration::from_millis(4_500));

        let log = lock(&shared.log).clone();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].method.as_str(), log[0].message.as_deref()),
            (WS_FRAME, Some(subscribe))
        );
        assert!(log[0].query.contains(&("api_key".into(), "k".into())));
        drop(client);
        connection
            .await
            .expect("the connection ends with its client");
    }

    #[test]
    fn messages_change_subscriptions_within_the_cap() {
        let mut subscriptions = HashMap::new();
        let sent = |applied: Applied| applied.send;
        assert_eq!(
            sent(command(
                &mut subscriptions,
                r#"{"a":"subscribe","v":[408065,884737]}"#
            )),
            [408_065, 884_737]
        );
        assert_eq!(subscriptions.get(&408_065), Some(&Mode::Quote));
        assert_eq!(
            sent(command(
                &mut subscriptions,
                r#"{"a":"mode","v":["full",[408065]]}"#
            )),
            [408_065]
        );
        assert_eq!(subscriptions.get(&408_065), Some(&Mode::Full));
        command(&mut subscriptions, r#"{"a":"unsubscribe","v":[884737]}"#);
        assert_eq!(subscriptions.len(), 1);
        let many: Vec<u32> = (1..=3_005).collect();
        let text = serde_json::json!({"a": "subscribe", "v": many}).to_string();
        let applied = command(&mut subscriptions, &text);
        assert_eq!((applied.send.len(), applied.refused), (2_999, 6));
        assert_eq!(subscriptions.len(), MAX_SUBSCRIPTIONS);
        assert_eq!(command(&mut subscriptions, "not json"), Applied::default());
    }
}

//! One ticker connection: the upgrade on `/`, subscriptions, ticks, order updates and
//! heartbeats.
//!
//! The upgrade needs `api_key` and `access_token` query parameters naming a live
//! session, else it is refused with 403 before any WebSocket exists. Subscribing sends
//! the current tick at once; later ticks follow price changes. When nothing else went
//! out for a second a one-byte heartbeat does. Faults: `ws_silent` stops all output,
//! `/_sim/ws/drop` closes the socket without a close frame.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::json;
use crate::shared::{Event, Shared};
use crate::ticker::packet::{HEARTBEAT, Mode, frame, packet};

/// Query of the upgrade request.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    api_key: Option<String>,
    access_token: Option<String>,
}

/// `GET /` with an upgrade: the ticker. Without one: a short note on what this is.
pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Query(credentials): Query<Credentials>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return axum::Json(json!({"status": "success", "data": {"service": "kite-sim"}}))
            .into_response();
    };
    let key = credentials.api_key.unwrap_or_default();
    let token = credentials.access_token.unwrap_or_default();
    if !shared.with_world(|w, now| w.sessions.admits(&key, &token, now)) {
        let body = json!({"status": "error", "message": "Invalid `access_token` or `api_key`.", "error_type": "TokenException", "data": null});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    ws.on_upgrade(move |socket| serve(shared, socket))
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

/// Applies a client message; returns the tokens whose current tick should be sent.
/// Tokens beyond [`MAX_SUBSCRIPTIONS`] are ignored and the connection stays up.
fn command(subscriptions: &mut HashMap<u32, Mode>, text: &str) -> Vec<u32> {
    let Ok(command) = serde_json::from_str::<Command>(text) else {
        return Vec::new();
    };
    match command.a.as_str() {
        "subscribe" => {
            let mut list = tokens(&command.v);
            list.retain(|token| {
                let room = has_room(subscriptions, *token);
                if room {
                    subscriptions.entry(*token).or_insert(Mode::Quote);
                }
                room
            });
            list
        }
        "unsubscribe" => {
            for token in tokens(&command.v) {
                subscriptions.remove(&token);
            }
            Vec::new()
        }
        "mode" => {
            let mode = command
                .v
                .get(0)
                .and_then(|m| m.as_str())
                .and_then(Mode::parse);
            let mut list = command.v.get(1).map(tokens).unwrap_or_default();
            let Some(mode) = mode else { return Vec::new() };
            list.retain(|token| {
                let room = has_room(subscriptions, *token);
                if room {
                    subscriptions.insert(*token, mode);
                }
                room
            });
            list
        }
        _ => Vec::new(),
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

async fn serve(shared: Arc<Shared>, mut socket: WebSocket) {
    let mut events = shared.events.subscribe();
    let mut dropped = shared.ws_drop.subscribe();
    let mut subscriptions: HashMap<u32, Mode> = HashMap::new();
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let mut sent_since_beat = false;
    loop {
        let outgoing = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let wanted = command(&mut subscriptions, text.as_str());
                    ticks(&shared, &subscriptions, &wanted).map(|f| Message::Binary(f.into()))
                }
                Some(Ok(Message::Close(_))) => {
                    // Complete the closing handshake so the client sees a clean close.
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                None | Some(Err(_)) => return,
                Some(Ok(_)) => None,
            },
            event = events.recv() => match event {
                Ok(Event::Prices(changed)) => ticks(&shared, &subscriptions, &changed).map(|f| Message::Binary(f.into())),
                Ok(Event::Order(order)) => {
                    let config = &shared.config;
                    let data = json::order_update(&order, &config.user_id, config.app_id, &config.api_secret);
                    Some(Message::Text(json!({"type": "order", "data": data}).to_string().into()))
                }
                Err(RecvError::Lagged(_)) => None,
                Err(RecvError::Closed) => return,
            },
            _ = heartbeat.tick() => {
                let beat = (!sent_since_beat).then(|| Message::Binary(HEARTBEAT.to_vec().into()));
                sent_since_beat = false;
                beat
            }
            _ = dropped.changed() => return,
        };
        let Some(message) = outgoing else { continue };
        if shared.with_world(|w, _| w.faults.ws_silent) {
            continue;
        }
        if socket.send(message).await.is_err() {
            return;
        }
        sent_since_beat = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_change_subscriptions_within_the_cap() {
        let mut subscriptions = HashMap::new();
        assert_eq!(
            command(
                &mut subscriptions,
                r#"{"a":"subscribe","v":[408065,884737]}"#
            ),
            [408_065, 884_737]
        );
        assert_eq!(subscriptions.get(&408_065), Some(&Mode::Quote));
        assert_eq!(
            command(&mut subscriptions, r#"{"a":"mode","v":["full",[408065]]}"#),
            [408_065]
        );
        assert_eq!(subscriptions.get(&408_065), Some(&Mode::Full));
        command(&mut subscriptions, r#"{"a":"unsubscribe","v":[884737]}"#);
        assert_eq!(subscriptions.len(), 1);
        let many: Vec<u32> = (1..=3_005).collect();
        let text = serde_json::json!({"a": "subscribe", "v": many}).to_string();
        assert_eq!(command(&mut subscriptions, &text).len(), 2_999);
        assert_eq!(subscriptions.len(), MAX_SUBSCRIPTIONS);
        assert!(command(&mut subscriptions, "not json").is_empty());
    }
}

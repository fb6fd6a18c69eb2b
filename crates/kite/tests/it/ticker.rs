//! The ticker manager against kite-sim: LTP ticks, order updates, reconnects with
//! resubscription, a silent socket, and a refused session.

use std::time::Duration;

use kite_sim::Faults;
use kitebreak_kite::{MarketEvent, TickerManager, TickerState};
use kitebreak_price::Price;
use tokio::sync::mpsc::Receiver;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use crate::helpers::{price, reaches, spawn};

/// The next tick of `instrument` at `want`, skipping anything else.
async fn tick(events: &mut Receiver<MarketEvent>, instrument: &str, want: Price) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.recv().await {
            if let MarketEvent::Tick {
                instrument: key,
                price,
            } = &event
                && &**key == instrument
                && *price == want
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found.ok(), Some(true), "tick {instrument} @ {want}");
}

async fn state(manager: &TickerManager, want: TickerState) {
    let mut states = manager.states();
    let reached =
        tokio::time::timeout(Duration::from_secs(10), states.wait_for(|s| *s == want)).await;
    assert!(
        matches!(reached, Ok(Ok(_))),
        "state {want:?}, now {:?}",
        manager.state()
    );
}

#[tokio::test]
async fn ticks_arrive_and_resubscribe_after_a_dropped_socket() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    manager.watch(&["NSE:INFY"]).expect("known");
    state(&manager, TickerState::Connected).await;
    tick(&mut events, "NSE:INFY", price("1500")).await;
    env.sim.shared().ws_drop.send_modify(|g| *g += 1);
    state(&manager, TickerState::Reconnecting).await;
    state(&manager, TickerState::Connected).await;
    env.sim.set_price("NSE:INFY", price("1501.05"));
    tick(&mut events, "NSE:INFY", price("1501.05")).await;
    manager.stop();
    state(&manager, TickerState::Stopped).await;
}

#[tokio::test]
async fn a_connected_but_silent_socket_is_reported_and_replaced() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    manager.watch(&["NSE:INFY"]).expect("known");
    state(&manager, TickerState::Connected).await;
    tick(&mut events, "NSE:INFY", price("1500")).await;
    env.sim.set_faults(Faults {
        ws_silent: true,
        ..Faults::default()
    });
    state(&manager, TickerState::Silent).await;
    env.sim.set_faults(Faults::default());
    state(&manager, TickerState::Connected).await;
    env.sim.set_price("NSE:INFY", price("1499.95"));
    tick(&mut events, "NSE:INFY", price("1499.95")).await;
}

#[tokio::test]
async fn order_updates_arrive_as_exact_snapshots() {
    let env = spawn().await;
    let (manager, mut events) = TickerManager::spawn(&env.broker);
    state(&manager, TickerState::Connected).await;
    let order = kitebreak_kite::OrderRequest {
        tag: kitebreak_kite::Tag::new("kbtick1").expect("tag"),
        instrument: "NSE:INFY".into(),
        side: kitebreak_kite::Side::Sell,
        quantity: kitebreak_price::Quantity::ONE,
        kind: kitebreak_kite::OrderKind::Market,
        product: kitebreak_kite::Product::Mis,
    };
    env.broker.place_order(&order).await.expect("placed");
    let update = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(MarketEvent::Order(o)) if o.tag.as_deref() == Some("kbtick1") => {
                    return Some(o);
                }
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
    .expect("an order update");
    assert_eq!(update.instrument, "NSE:INFY");
}

#[tokio::test]
async fn a_refused_ticker_session_marks_it_expired_and_a_new_token_reconnects() {
    let env = spawn().await;
    env.sim.set_faults(Faults {
        tokens_expire_at: Some(crate::helpers::start()),
        ..Faults::default()
    });
    let (manager, _events) = TickerManager::spawn(&env.broker);
    reaches(
        "the session is marked expired",
        env.broker.session().subscribe(),
        |status| status.expired.is_some(),
    )
    .await;
    state(&manager, TickerState::Stopped).await;
    env.sim.set_faults(Faults::default());
    // A login writes the session file; the running process reads it (the file watch's
    // step) and the ticker reconnects with the new token.
    kitebreak_kite::session::exchange_request_token(env.broker.config(), "rt9")
        .await
        .expect("login");
    let installed = env
        .broker
        .session()
        .reload_from_file(env.broker.config(), crate::helpers::start())
        .expect("reload");
    assert!(installed);
    state(&manager, TickerState::Connected).await;
}

/// The next text frame the client sent, as JSON.
async fn client_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
) -> serde_json::Value {
    use futures_util::StreamExt;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        match next {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                return serde_json::from_str(text.as_str()).expect("JSON frame");
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[tokio::test]
#[expect(clippy::result_large_err, reason = "tungstenite's callback signature")]
async fn every_connection_subscribes_ltp_mode_for_the_watched_tokens() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ws_root = format!("ws://{}", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("dir");
    let config = crate::helpers::config_for("http://127.0.0.1:9", &ws_root, dir.path());
    let token = kiteconnect::AccessToken::new("tok").expect("token");
    let broker =
        kitebreak_kite::KiteBroker::new(config, kitebreak_kite::SessionState::new(Some(token)));
    let dump = crate::helpers::fixture_bytes("instruments_nse.csv");
    broker.set_instruments(kitebreak_kite::Instruments::from_csv(&dump).expect("dump"));
    let (manager, _events) = TickerManager::spawn(&broker);
    manager.watch(&["NSE:CENTRALBK-BE"]).expect("known");
    for _ in 0..2 {
        let (stream, _) = listener.accept().await.expect("connection");
        let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            assert_eq!(request.uri().path(), "/");
            let query = request.uri().query().unwrap_or_default();
            assert_eq!(query, "api_key=kitesim_key&access_token=tok");
            let version = request
                .headers()
                .get("x-kite-version")
                .map(|v| v.as_bytes());
            assert_eq!(version, Some(&b"3"[..]));
            Ok(response)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, check)
            .await
            .expect("upgrade");
        assert_eq!(
            client_frame(&mut ws).await,
            serde_json::json!({"a": "subscribe", "v": [3_813_889]})
        );
        assert_eq!(
            client_frame(&mut ws).await,
            serde_json::json!({"a": "mode", "v": ["ltp", [3_813_889]]})
        );
        drop(ws); // an abrupt drop: the manager must reconnect and subscribe again
    }
    manager.stop();
}

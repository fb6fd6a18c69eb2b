//! Injected faults: error shares, hangs, lost order responses, forced rejections,
//! dropped sockets, and the admin API that sets them.

use std::time::Duration;

use kite_sim::{Faults, SimConfig};
use kiteconnect::{
    Error, Exchange, Mode, OrderParams, OrderType, Product, TickerEvent, TransactionType, Variety,
};
use serde_json::{Value, json};

use crate::helpers::{config, kite, kite_with_timeout, price, spawn_sim, spawn_with};

fn limit_buy() -> OrderParams {
    OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Buy)
        .order_type(OrderType::Limit)
        .price(1400.0)
        .product(Product::Mis)
        .quantity(1)
        .tag("kb-lost-1")
}

#[tokio::test]
async fn error_shares_answer_with_kites_statuses() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    for (faults, status, kind) in [
        (
            Faults {
                share_429: 1.0,
                ..Faults::default()
            },
            429,
            "NetworkException",
        ),
        (
            Faults {
                share_500: 1.0,
                ..Faults::default()
            },
            500,
            "GeneralException",
        ),
        (
            Faults {
                share_503: 1.0,
                ..Faults::default()
            },
            503,
            "NetworkException",
        ),
    ] {
        sim.set_faults(faults);
        match kite.orders().await {
            Err(Error::Api(api)) => assert_eq!((api.status, api.kind.as_str()), (status, kind)),
            other => panic!("expected {status}, got {other:?}"),
        }
    }
    sim.set_faults(Faults::default());
    kite.orders().await.expect("healthy again");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hung_request_and_a_lost_order_response_time_out_but_the_order_stands() {
    let sim = spawn_sim().await;
    sim.set_price("NSE:INFY", price("1500"));
    let impatient = kite_with_timeout(&sim, Duration::from_millis(300));
    sim.set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    assert!(matches!(impatient.orders().await, Err(Error::Transport(_))));
    impatient.orders().await.expect("only one request hangs");

    sim.set_faults(Faults {
        lose_next_order: 1,
        ..Faults::default()
    });
    assert!(matches!(
        impatient.place_order(Variety::Regular, limit_buy()).await,
        Err(Error::Transport(_))
    ));
    let orders = impatient.orders().await.expect("orders");
    assert_eq!(
        orders
            .iter()
            .filter(|o| o.tag.as_deref() == Some("kb-lost-1"))
            .count(),
        1,
        "the order exists, findable by tag"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn reject_next_order_rejects_exactly_one() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    sim.set_faults(Faults {
        reject_next_order: 1,
        reject_message: Some("RMS: blocked".into()),
        ..Faults::default()
    });
    let first = kite
        .place_order(Variety::Regular, limit_buy())
        .await
        .expect("accepted");
    let second = kite
        .place_order(Variety::Regular, limit_buy())
        .await
        .expect("accepted");
    let state = |id: String| {
        let kite = kite.clone();
        async move {
            kite.order_history(&id)
                .await
                .expect("history")
                .pop()
                .map(|o| (o.status, o.status_message))
        }
    };
    assert_eq!(
        state(first.order_id).await,
        Some(("REJECTED".into(), Some("RMS: blocked".into())))
    );
    assert_eq!(
        state(second.order_id).await.map(|s| s.0),
        Some("OPEN".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_sets_prices_faults_and_shows_the_request_log() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let admin = |path: &str, body: Value| {
        let request = kiteconnect::Request::post(path.to_string()).json(body);
        kite.call(request).raw()
    };
    admin(
        "/_sim/price",
        json!({"symbol": "NSE:INFY", "price": "1234.5"}),
    )
    .await
    .expect("set price");
    let ltp = kite.ltp(&["NSE:INFY", "NSE:NOSUCH"]).await.expect("ltp");
    assert_eq!(ltp.len(), 1, "unknown instruments are simply missing");
    assert_eq!(ltp["NSE:INFY"].last_price, 1234.5);
    admin("/_sim/faults", json!({"share_503": 1.0}))
        .await
        .expect("set faults");
    assert!(kite.profile().await.is_err());
    admin("/_sim/faults", json!({}))
        .await
        .expect("clear faults");
    let log = kite
        .call(kiteconnect::Request::get("/_sim/requests"))
        .raw()
        .await
        .expect("log");
    let entries = log.as_array().expect("list");
    let quote = entries
        .iter()
        .find(|e| e["path"] == "/quote/ltp")
        .expect("logged");
    assert_eq!(
        quote["query"],
        json!([["i", "NSE:INFY"], ["i", "NSE:NOSUCH"]])
    );
    assert!(
        quote["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .any(|h| h[0] == "x-kite-version" && h[1] == "3")
    );
    assert_eq!(entries.iter().filter(|e| e["status"] == 503).count(), 1);
    admin("/_sim/reset", json!({})).await.expect("reset");
    assert_ne!(
        kite.ltp(&["NSE:INFY"]).await.expect("ltp")["NSE:INFY"].last_price,
        1234.5
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn drops_on_a_schedule_make_the_official_ticker_reconnect() {
    let sim = spawn_with(SimConfig {
        ws_drop_every: Some(Duration::from_millis(300)),
        ..config()
    })
    .await;
    let kite = kite(&sim);
    let url = url::Url::parse(&sim.ws_url()).expect("url");
    let (ticker, mut events) = kite.ticker().url(url).spawn().expect("ticker");
    ticker.subscribe(&[408_065], Mode::Ltp).expect("subscribe");
    let mut connected = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while connected < 2 {
        match tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("in time")
            .expect("open")
        {
            TickerEvent::Connected => connected += 1,
            TickerEvent::Closed(reason) => panic!("closed: {reason}"),
            _ => {}
        }
    }
    ticker.close();
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    kite.profile().await.expect("profile");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_silent_socket_sends_neither_ticks_nor_heartbeats() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let sim = spawn_sim().await;
    sim.set_faults(Faults {
        ws_silent: true,
        ..Faults::default()
    });
    let url = format!(
        "{}/?api_key={}&access_token={}",
        sim.ws_url(),
        kite_sim::config::DEFAULT_API_KEY,
        crate::helpers::TOKEN
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("upgrade");
    socket
        .send(Message::Text(
            r#"{"a":"mode","v":["full",[408065]]}"#.into(),
        ))
        .await
        .expect("send");
    sim.set_price("NSE:INFY", price("1500"));
    let quiet = tokio::time::timeout(Duration::from_millis(2_500), socket.next()).await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
    sim.set_faults(Faults::default());
    let woke = tokio::time::timeout(Duration::from_secs(3), socket.next())
        .await
        .expect("a heartbeat once no longer silent");
    assert!(matches!(woke, Some(Ok(Message::Binary(_)))));
    sim.shutdown().await;
}

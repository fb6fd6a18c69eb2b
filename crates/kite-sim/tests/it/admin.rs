//! The `/_sim/` admin API over HTTP: orders, positions, clock, faults, socket drops,
//! reset, and clear JSON errors for bad bodies.

use std::time::Duration;

use kiteconnect::{
    Error, Exchange, KiteConnect, Mode, OrderParams, OrderType, Product, Request, TickerEvent,
    TransactionType, Variety,
};
use serde_json::{Value, json};

use crate::helpers::{kite, spawn_sim};

async fn admin_get(kite: &KiteConnect, path: &str) -> Value {
    kite.call(Request::get(path.to_string()))
        .raw()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn admin_post(kite: &KiteConnect, path: &str, body: Value) -> Result<Value, Error> {
    kite.call(Request::post(path.to_string()).json(body))
        .raw()
        .await
}

fn market_buy(quantity: i64) -> OrderParams {
    OrderParams::new()
        .exchange(Exchange::Nse)
        .tradingsymbol("INFY")
        .transaction_type(TransactionType::Buy)
        .order_type(OrderType::Market)
        .market_protection(-1.0)
        .product(Product::Mis)
        .quantity(quantity)
        .tag("kb-admin-1")
}

#[tokio::test]
async fn orders_positions_and_the_clock_are_visible_and_reset_clears_them() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    admin_post(
        &kite,
        "/_sim/price",
        json!({"symbol": "INFY", "price": 1500.5}),
    )
    .await
    .expect("a bare NSE symbol and a JSON number");
    let placed = kite
        .place_order(Variety::Regular, market_buy(3))
        .await
        .expect("placed");

    let orders = admin_get(&kite, "/_sim/orders").await;
    let first = &orders[0];
    assert_eq!(first["order"]["order_id"], placed.order_id.as_str());
    assert_eq!(first["order"]["status"], "COMPLETE");
    assert_eq!(first["order"]["tag"], "kb-admin-1");
    let path: Vec<&str> = first["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert_eq!(
        path,
        [
            "PUT ORDER REQ RECEIVED",
            "VALIDATION PENDING",
            "OPEN PENDING",
            "OPEN",
            "COMPLETE"
        ]
    );

    let positions = admin_get(&kite, "/_sim/positions").await;
    assert_eq!(positions["positions"][0]["tradingsymbol"], "INFY");
    assert_eq!(positions["positions"][0]["quantity"], 3);
    // MIS margin: 20% of 3 × 1500.5.
    assert_eq!(positions["utilised"], 900.3);
    assert_eq!(positions["available"], 1_000_000.0 - 900.3);

    let moved = admin_post(&kite, "/_sim/clock", json!({"advance_seconds": 90}))
        .await
        .expect("clock");
    assert_eq!(moved["now"], "2026-11-25T04:31:30Z");
    let set = admin_post(&kite, "/_sim/clock", json!({"set": "2026-11-25T05:00:00Z"}))
        .await
        .expect("clock");
    assert_eq!(set["now"], "2026-11-25T05:00:00Z");

    admin_post(&kite, "/_sim/reset", json!({}))
        .await
        .expect("reset");
    assert_eq!(admin_get(&kite, "/_sim/orders").await, json!([]));
    assert_eq!(
        admin_get(&kite, "/_sim/positions").await["positions"],
        json!([])
    );
    assert_eq!(admin_get(&kite, "/_sim/requests").await, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_set_over_http_take_effect_and_read_back() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    admin_post(
        &kite,
        "/_sim/price",
        json!({"symbol": "NSE:INFY", "price": "1500"}),
    )
    .await
    .expect("price");
    admin_post(
        &kite,
        "/_sim/faults",
        json!({"reject_next_order": 1, "reject_message": "RMS: halted", "tokens_expire_at": "2026-11-25T04:31:00Z"}),
    )
    .await
    .expect("faults");
    let faults = admin_get(&kite, "/_sim/faults").await;
    assert_eq!(
        (
            faults["reject_next_order"].clone(),
            faults["tokens_expire_at"].clone()
        ),
        (json!(1), json!("2026-11-25T04:31:00Z"))
    );
    let placed = kite
        .place_order(Variety::Regular, market_buy(1))
        .await
        .expect("accepted");
    let last = kite
        .order_history(&placed.order_id)
        .await
        .expect("history")
        .pop()
        .expect("state");
    assert_eq!(
        (last.status.as_str(), last.status_message.as_deref()),
        ("REJECTED", Some("RMS: halted"))
    );
    admin_post(&kite, "/_sim/clock", json!({"advance_seconds": 60}))
        .await
        .expect("clock");
    match kite.profile().await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (403, "TokenException"))
        }
        other => panic!("the token expired at the set time: {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_admin_bodies_get_json_input_errors_and_change_nothing() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let before = admin_get(&kite, "/_sim/faults").await;
    for (path, body) in [
        ("/_sim/price", json!({"symbol": "NSE:INFY"})),
        ("/_sim/price", json!({"symbol": "NSE:INFY", "price": "-5"})),
        ("/_sim/price", json!({"symbol": "NSE:NOSUCH", "price": "5"})),
        ("/_sim/faults", json!({"share_500": 1.5})),
        ("/_sim/faults", json!({"no_such_fault": true})),
        ("/_sim/clock", json!({"advance_seconds": "soon"})),
    ] {
        match admin_post(&kite, path, body.clone()).await {
            Err(Error::Api(api)) => {
                assert_eq!(
                    (api.status, api.kind.as_str()),
                    (400, "InputException"),
                    "{path} {body}"
                );
                assert!(!api.message.is_empty());
            }
            other => panic!("{path} {body}: expected a 400, got {other:?}"),
        }
    }
    assert_eq!(admin_get(&kite, "/_sim/faults").await, before);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_drop_call_makes_the_official_ticker_reconnect() {
    let sim = spawn_sim().await;
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
            TickerEvent::Connected => {
                connected += 1;
                if connected == 1 {
                    admin_post(&kite, "/_sim/ws/drop", json!({}))
                        .await
                        .expect("drop");
                }
            }
            TickerEvent::Closed(reason) => panic!("closed: {reason}"),
            _ => {}
        }
    }
    ticker.close();
    sim.shutdown().await;
}

//! The binary ticker: frames decode with the official parser to the prices given, and
//! the official ticker client subscribes, receives ticks and order updates.

use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kite_sim::instruments::Catalogue;
use kite_sim::market::Quote;
use kite_sim::ticker::packet::{Mode, frame, packet};
use kiteconnect::{
    Exchange, Mode as KiteMode, OrderParams, OrderType, Product, TickerEvent, TransactionType,
    Variety, parse_binary,
};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TOKEN, fixture_bytes, kite, price, spawn_sim, start};

const DUMP: &str = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange
884737,3456,TATAMOTORS,TATA MOTORS,0.0,,0.0,0.05,1,EQ,NSE,NSE
256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE
412675,1612,USDINR21JUNFUT,USDINR,0.0,2021-06-28,0.0,0.0025,1,FUT,CDS-FUT,CDS
1234438,4822,USDINR26DECFUT,USDINR,0.0,2026-12-29,0.0,0.0025,1,FUT,BCD-FUT,BCD
";

fn quote(last: &str, open: &str, high: &str, low: &str, close: &str) -> Quote {
    let mut quote = Quote::new(price(close), start());
    quote.open = price(open);
    quote.high = price(high);
    quote.low = price(low);
    quote.trade(price(last), 7, start());
    quote
}

#[test]
fn an_ltp_frame_is_byte_for_byte_kites() {
    let catalogue = Catalogue::from_csv(DUMP, Path::new("test")).expect("dump");
    let tata = catalogue.get("NSE:TATAMOTORS").expect("listed");
    let ours = frame(&[packet(
        tata,
        &Quote::new(price("392.95"), start()),
        Mode::Ltp,
        start(),
    )]);
    assert_eq!(ours, fixture_bytes("ltpMode_binary.packet"));
}

#[test]
fn every_packet_kind_decodes_with_the_official_parser() {
    let catalogue = Catalogue::from_csv(DUMP, Path::new("test")).expect("dump");
    let tata = catalogue.get("NSE:TATAMOTORS").expect("listed");
    let nifty = catalogue.get("NSE:NIFTY 50").expect("listed");
    let usdinr = catalogue.get("CDS:USDINR21JUNFUT").expect("listed");
    let equity = quote("392.95", "390", "395.5", "389.05", "391");
    let index = quote("24510.35", "24400", "24555.1", "24390.25", "24450.8");
    let currency = quote("72.7525", "72.5", "72.8", "72.45", "72.6");
    let packets = vec![
        packet(tata, &equity, Mode::Ltp, start()),
        packet(tata, &equity, Mode::Quote, start()),
        packet(tata, &equity, Mode::Full, start()),
        packet(nifty, &index, Mode::Quote, start()),
        packet(nifty, &index, Mode::Full, start()),
        packet(usdinr, &currency, Mode::Full, start()),
    ];
    let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
    assert_eq!(sizes, [8, 44, 184, 28, 32, 184]);
    let ticks = parse_binary(&frame(&packets));
    assert_eq!(ticks.len(), 6);
    assert_eq!(ticks[0].last_price, Some(392.95));
    let full = &ticks[2];
    assert_eq!(
        (full.open, full.high, full.low, full.close),
        (Some(390.0), Some(395.5), Some(389.05), Some(391.0))
    );
    assert_eq!((full.last_quantity, full.volume), (Some(7), Some(7)));
    let depth = full.depth.as_ref().expect("depth");
    assert_eq!(
        (depth.buy[0].price, depth.sell[0].price, depth.buy.len()),
        (392.9, 393.0, 5)
    );
    assert_eq!(
        full.exchange_time,
        Some(u32::try_from(start().as_second()).expect("epoch"))
    );
    let index_full = &ticks[4];
    assert!(index_full.is_index);
    assert_eq!(
        (
            index_full.last_price,
            index_full.high,
            index_full.low,
            index_full.open,
            index_full.close
        ),
        (
            Some(24510.35),
            Some(24555.1),
            Some(24390.25),
            Some(24400.0),
            Some(24450.8)
        )
    );
    assert_eq!(ticks[5].last_price, Some(72.7525));
    assert_eq!(
        depth_prices(&ticks[5]),
        (Some(72.75), Some(72.755)),
        "CDS depth ÷10^7 on the 0.0025 grid"
    );
}

fn depth_prices(tick: &kiteconnect::Tick) -> (Option<f64>, Option<f64>) {
    let depth = tick.depth.as_ref();
    (
        depth.and_then(|d| d.buy.first()).map(|e| e.price),
        depth.and_then(|d| d.sell.first()).map(|e| e.price),
    )
}

#[test]
fn quote_packets_carry_every_field_and_each_segment_has_its_divisor() {
    let catalogue = Catalogue::from_csv(DUMP, Path::new("test")).expect("dump");
    let tata = catalogue.get("NSE:TATAMOTORS").expect("listed");
    let nifty = catalogue.get("NSE:NIFTY 50").expect("listed");
    let bcd = catalogue.get("BCD:USDINR26DECFUT").expect("listed");
    let mut equity = quote("392.95", "390", "395.5", "389.05", "391");
    equity.trade(price("393.05"), 3, start());
    let index = quote("24410.35", "24400", "24555.1", "24390.25", "24450.8");
    let currency = quote("83.1225", "83", "83.2", "82.9", "83.05");
    let frame_bytes = frame(&[
        packet(tata, &equity, Mode::Quote, start()),
        packet(nifty, &index, Mode::Ltp, start()),
        packet(nifty, &index, Mode::Quote, start()),
        packet(bcd, &currency, Mode::Quote, start()),
        packet(bcd, &currency, Mode::Ltp, start()),
    ]);
    let ticks = parse_binary(&frame_bytes);
    assert_eq!(ticks.len(), 5);
    let q = &ticks[0];
    assert_eq!(
        (q.last_price, q.last_quantity, q.volume),
        (Some(393.05), Some(3), Some(10))
    );
    // (392.95 × 7 + 393.05 × 3) / 10 = 392.98
    assert_eq!(q.average_price, Some(392.98));
    assert_eq!(
        (q.open, q.high, q.low, q.close),
        (Some(390.0), Some(395.5), Some(389.05), Some(391.0))
    );
    assert!(q.buy_quantity.is_some() && q.sell_quantity.is_some() && q.depth.is_none());
    assert_eq!(
        (ticks[1].is_index, ticks[1].last_price, ticks[1].close),
        (true, Some(24410.35), None),
        "an index in ltp mode is the plain 8-byte packet"
    );
    assert_eq!(ticks[2].close, Some(24450.8));
    assert_eq!(
        (ticks[3].last_price, ticks[3].open, ticks[3].close),
        (Some(83.1225), Some(83.0), Some(83.05)),
        "BCD ÷10^4"
    );
    assert_eq!(ticks[4].last_price, Some(83.1225));
    // The index price change (bytes 24..28) is signed: 24410.35 − 24450.8 = −40.45.
    let index_quote = packet(nifty, &index, Mode::Quote, start());
    let change = i32::from_be_bytes(index_quote[24..28].try_into().expect("4 bytes"));
    assert_eq!(change, -4_045);
}

#[tokio::test]
async fn the_official_ticker_subscribes_and_gets_ticks_and_order_updates() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1573.15"));
    let url = url_of(&sim.ws_url());
    let (ticker, mut events) = kite.ticker().url(url).spawn().expect("ticker");
    ticker
        .subscribe(&[408_065], KiteMode::Full)
        .expect("subscribe");
    let mut wanted = vec![Some(1573.15), Some(1580.5)];
    let mut order_seen = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(wanted.is_empty() && order_seen) {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("events in time")
            .expect("open");
        match event {
            TickerEvent::Ticks(ticks) => {
                for tick in ticks.iter().filter(|t| t.instrument_token == 408_065) {
                    if wanted.first() == Some(&tick.last_price) {
                        wanted.remove(0);
                        if wanted.len() == 1 {
                            sim.set_price("NSE:INFY", price("1580.5"));
                        } else if wanted.is_empty() {
                            let order = OrderParams::new()
                                .exchange(Exchange::Nse)
                                .tradingsymbol("INFY")
                                .transaction_type(TransactionType::Buy)
                                .order_type(OrderType::Market)
                                .market_protection(-1.0)
                                .product(Product::Mis)
                                .quantity(1);
                            kite.place_order(Variety::Regular, order)
                                .await
                                .expect("placed");
                        }
                    }
                }
            }
            TickerEvent::OrderUpdate(order) if order.status == "COMPLETE" => order_seen = true,
            TickerEvent::Closed(reason) => panic!("ticker closed: {reason}"),
            _ => {}
        }
    }
    ticker.close();
    sim.shutdown().await;
}

fn url_of(text: &str) -> url::Url {
    url::Url::parse(text).expect("ws url")
}

#[tokio::test]
async fn an_idle_connection_gets_one_byte_heartbeats_and_a_bad_token_is_refused() {
    let sim = spawn_sim().await;
    let good = format!(
        "{}/?api_key={}&access_token={TOKEN}",
        sim.ws_url(),
        kite_sim::config::DEFAULT_API_KEY
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(good.as_str())
        .await
        .expect("upgrade");
    socket
        .send(Message::Text(r#"{"a":"subscribe","v":[]}"#.into()))
        .await
        .expect("send");
    let message = tokio::time::timeout(Duration::from_secs(3), socket.next())
        .await
        .expect("a heartbeat within 3 s");
    match message {
        Some(Ok(Message::Binary(bytes))) => assert_eq!(bytes.len(), 1),
        other => panic!("expected a heartbeat, got {other:?}"),
    }
    let bad = format!(
        "{}/?api_key={}&access_token=nope",
        sim.ws_url(),
        kite_sim::config::DEFAULT_API_KEY
    );
    match tokio_tungstenite::connect_async(bad.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn the_request_log_shows_the_upgrade_and_every_client_frame() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let mut logged = sim.shared().log_changes();
    let (ticker, mut events) = kite
        .ticker()
        .url(url_of(&sim.ws_url()))
        .spawn()
        .expect("ticker");
    // The client sends the difference to what it has, so act once it is connected.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(TickerEvent::Connected)) => break,
            Ok(Some(TickerEvent::Closed(reason))) => panic!("closed: {reason}"),
            Ok(Some(_)) => {}
            other => panic!("no connection: {other:?}"),
        }
    }
    ticker
        .subscribe(&[408_065], KiteMode::Full)
        .expect("subscribe");
    ticker.set_mode(KiteMode::Ltp, &[408_065]).expect("mode");
    ticker.unsubscribe(&[408_065]).expect("unsubscribe");
    let frames = |log: &serde_json::Value| -> Vec<serde_json::Value> {
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["method"] == "WS")
                    .filter_map(|e| e["message"].as_str())
                    .filter_map(|m| serde_json::from_str(m).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    // Looked at again whenever the sim logs a request (no polling); ticker events
    // are drained meanwhile so the client keeps running. The bound only turns a hang
    // into a failure.
    let wait = async {
        loop {
            let log = kite
                .call(kiteconnect::Request::get("/_sim/requests"))
                .raw()
                .await
                .expect("log");
            if frames(&log).iter().any(|f| f["a"] == "unsubscribe") {
                break log;
            }
            tokio::select! {
                changed = logged.changed() => changed.expect("the sim runs"),
                _ = events.recv() => {}
            }
        }
    };
    let log = tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the frames are logged");
    let entries = log.as_array().expect("list");
    let upgrade = entries
        .iter()
        .find(|e| e["method"] == "GET" && e["path"] == "/")
        .expect("the upgrade is logged");
    assert_eq!(upgrade["status"], 101);
    assert!(
        upgrade["query"]
            .as_array()
            .expect("query")
            .iter()
            .any(|pair| pair[0] == "api_key" && pair[1] == kite_sim::config::DEFAULT_API_KEY)
    );
    let actions: Vec<serde_json::Value> = frames(&log)
        .iter()
        .map(|f| serde_json::json!([f["a"], f["v"]]))
        .collect();
    let mode_full = serde_json::json!(["mode", ["full", [408_065]]]);
    let mode_ltp = serde_json::json!(["mode", ["ltp", [408_065]]]);
    let subscribe = serde_json::json!(["subscribe", [408_065]]);
    let unsubscribe = serde_json::json!(["unsubscribe", [408_065]]);
    let position = |wanted: &serde_json::Value| {
        actions
            .iter()
            .position(|a| a == wanted)
            .unwrap_or_else(|| panic!("{wanted} not in {actions:?}"))
    };
    assert!(position(&subscribe) < position(&mode_full));
    assert!(position(&mode_full) < position(&mode_ltp));
    assert!(position(&mode_ltp) < position(&unsubscribe));
    ticker.close();
    sim.shutdown().await;
}

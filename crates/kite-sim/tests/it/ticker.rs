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

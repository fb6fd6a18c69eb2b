//! The Kite sample responses the adapter relies on decode into exact types.

use kitebreak_kite::postback::{postback_checksum, verify_postback};
use kitebreak_kite::{Instruments, OrderSnapshot, OrderState, Side};
use kiteconnect::ApiSecret;

use crate::helpers::{fixture, fixture_bytes, price};

#[test]
fn orders_fixture_becomes_exact_snapshots() {
    let orders: Vec<kiteconnect::Order> =
        serde_json::from_value(fixture("orders.json")).expect("orders");
    let snapshots: Vec<OrderSnapshot> = orders
        .iter()
        .map(|o| OrderSnapshot::from_kite(o).expect("snapshot"))
        .collect();
    assert_eq!(snapshots.len(), orders.len());
    let rejected = snapshots
        .iter()
        .find(|s| s.state == OrderState::Rejected)
        .expect("a rejection");
    assert!(rejected.message.is_some());
    let filled = snapshots
        .iter()
        .find(|s| s.state == OrderState::Complete)
        .expect("a fill");
    assert!(filled.average_price.is_some());
    assert_eq!(snapshots[1].average_price, Some(price("109.4")));
}

#[test]
fn instrument_dumps_give_ticks_lots_tokens_and_segments() {
    let nse = Instruments::from_csv(&fixture_bytes("instruments_nse.csv")).expect("nse");
    let row = nse.get("NSE:CENTRALBK-BE").expect("row");
    assert_eq!(
        (row.token, row.lot_size, row.tick),
        (3_813_889, 1, price("0.05"))
    );
    assert_eq!(row.segment, "NSE");
    assert_eq!(
        nse.by_token(3_813_889).map(|i| i.key.as_str()),
        Some("NSE:CENTRALBK-BE")
    );
    let all = Instruments::from_csv(&fixture_bytes("instruments_all.csv")).expect("all");
    assert!(all.len() > 10);
    assert!(all.get("NSE:NOSUCH").is_err());
}

#[test]
fn postback_fixture_verifies_with_its_checksum_recomputed() {
    let secret = ApiSecret::new("my_api_secret").expect("secret");
    let mut body = fixture("postback.json");
    // The fixture's secret is unknown: its checksum must fail, a recomputed one pass.
    assert!(verify_postback(&fixture_bytes("postback.json"), &secret).is_err());
    let sum = postback_checksum("220303000308932", "2022-03-03 09:24:25", &secret);
    body["checksum"] = serde_json::Value::String(sum);
    let order = verify_postback(body.to_string().as_bytes(), &secret).expect("verified");
    assert_eq!(order.state, OrderState::Complete);
    assert_eq!(order.side, Side::Buy);
    assert_eq!(order.average_price, Some(price("470")));
    body["order_timestamp"] = "2022-03-03 09:24:26".into();
    assert!(verify_postback(body.to_string().as_bytes(), &secret).is_err());
}

#[test]
fn ticker_frames_decode_through_the_official_parser_onto_the_tick() {
    let ticks = kiteconnect::parse_binary(&fixture_bytes("ltpMode_binary.packet"));
    assert_eq!(ticks.len(), 1);
    assert_eq!(ticks[0].instrument_token, 884_737);
    let last = ticks[0].last_price.expect("ltp");
    assert_eq!(
        kitebreak_kite::exact::price_in(last, price("0.05")).ok(),
        Some(price("392.95"))
    );
    assert!(
        kiteconnect::parse_binary(&[0]).is_empty(),
        "a heartbeat carries no tick"
    );
}

#[test]
fn ltp_and_ohlc_fixtures_decode_onto_the_tick() {
    let ltp: std::collections::HashMap<String, kiteconnect::QuoteLtp> =
        serde_json::from_value(fixture("ltp.json")).expect("ltp");
    let infy = &ltp["NSE:INFY"];
    assert_eq!(
        kitebreak_kite::exact::price_in(infy.last_price, price("0.05")).ok(),
        Some(price("1074.35"))
    );
    let ohlc: std::collections::HashMap<String, kiteconnect::QuoteOhlc> =
        serde_json::from_value(fixture("ohlc.json")).expect("ohlc");
    assert_eq!(
        kitebreak_kite::exact::price_in(ohlc["NSE:INFY"].ohlc.low, price("0.05")).ok(),
        Some(price("1070.9"))
    );
}

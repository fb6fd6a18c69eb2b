//! Every REST response keeps at least the keys of the matching fixture file.

use kite_sim::SimConfig;
use kite_sim::config::HoldingSeed;
use kite_sim::sessions::sha256_hex;
use kiteconnect::{KiteConnect, Request};
use serde_json::Value;

use crate::helpers::{assert_keys, config, fixture, fixture_bytes, kite, price, spawn_with};

async fn data(kite: &KiteConnect, request: Request) -> Value {
    let path = request.path().to_string();
    kite.call(request)
        .raw()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn check(kite: &KiteConnect, request: Request, fixture_name: &str) -> Value {
    let label = format!("{} {} vs {fixture_name}", request.method(), request.path());
    let ours = data(kite, request).await;
    assert_keys(&ours, &fixture(fixture_name), &label);
    ours
}

fn order_form(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = vec![
        ("exchange", "NSE"),
        ("tradingsymbol", "INFY"),
        ("transaction_type", "BUY"),
        ("quantity", "2"),
        ("product", "CNC"),
        // Clients send redundant and unknown fields; Kite ignores them.
        ("variety", "regular"),
        ("algo_id", "sim-test"),
        ("not_a_kite_field", "1"),
    ];
    form.extend_from_slice(extra);
    form.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn gtt_form(lower: &str, upper: &str) -> Vec<(&'static str, String)> {
    vec![
        ("type", "two-leg".to_string()),
        (
            "condition",
            format!(
                r#"{{"exchange":"NSE","tradingsymbol":"INFY","trigger_values":[{lower},{upper}],"last_price":1500}}"#
            ),
        ),
        (
            "orders",
            format!(
                r#"[{{"exchange":"NSE","tradingsymbol":"INFY","transaction_type":"SELL","quantity":1,"price":{lower},"order_type":"LIMIT","product":"CNC"}},{{"exchange":"NSE","tradingsymbol":"INFY","transaction_type":"SELL","quantity":1,"price":{upper},"order_type":"LIMIT","product":"CNC"}}]"#
            ),
        ),
    ]
}

#[tokio::test]
async fn every_rest_response_keeps_the_fixture_keys() {
    let sim = spawn_with(SimConfig {
        holdings: vec!["NSE:INFY:5:1400".parse::<HoldingSeed>().expect("seed")],
        ..config()
    })
    .await;
    let kite = kite(&sim);
    assert!(sim.set_price("NSE:INFY", price("1500")));

    let checksum = sha256_hex(&[
        kite.api_key(),
        "any-request-token",
        kite_sim::config::DEFAULT_API_SECRET,
    ]);
    let login = Request::post("/session/token").form([
        ("api_key", kite.api_key().to_string()),
        ("request_token", "any-request-token".to_string()),
        ("checksum", checksum),
    ]);
    check(&kite, login, "generate_session.json").await;
    check(&kite, Request::get("/user/profile"), "profile.json").await;
    check(&kite, Request::get("/user/margins"), "margins.json").await;
    check(
        &kite,
        Request::get("/user/margins/equity"),
        "margins_equity.json",
    )
    .await;
    check(
        &kite,
        Request::get("/user/margins/commodity"),
        "margin_commodity.json",
    )
    .await;
    check(
        &kite,
        Request::get("/quote").query([("i", "NSE:INFY")]),
        "quote.json",
    )
    .await;
    check(
        &kite,
        Request::get("/quote/ltp").query([("i", "NSE:INFY")]),
        "ltp.json",
    )
    .await;
    check(
        &kite,
        Request::get("/quote/ohlc").query([("i", "NSE:INFY")]),
        "ohlc.json",
    )
    .await;

    let filled = check(
        &kite,
        Request::post("/orders/regular").form(order_form(&[
            ("order_type", "MARKET"),
            ("market_protection", "-1"),
            ("tag", "shape"),
        ])),
        "order_response.json",
    )
    .await;
    let resting = check(
        &kite,
        Request::post("/orders/regular")
            .form(order_form(&[("order_type", "LIMIT"), ("price", "1450")])),
        "order_response.json",
    )
    .await;
    let resting = resting["order_id"].as_str().expect("id").to_string();
    check(
        &kite,
        Request::put(format!("/orders/regular/{resting}"))
            .form([("price", "1455"), ("order_id", resting.as_str())]),
        "order_modify.json",
    )
    .await;
    check(
        &kite,
        Request::delete(format!("/orders/regular/{resting}")),
        "order_cancel.json",
    )
    .await;
    check(&kite, Request::get("/orders"), "orders.json").await;
    check(
        &kite,
        Request::get(format!("/orders/{resting}")),
        "order_info.json",
    )
    .await;
    check(&kite, Request::get("/trades"), "trades.json").await;
    let filled = filled["order_id"].as_str().expect("id");
    check(
        &kite,
        Request::get(format!("/orders/{filled}/trades")),
        "order_trades.json",
    )
    .await;
    check(
        &kite,
        Request::get("/portfolio/positions"),
        "positions.json",
    )
    .await;
    check(&kite, Request::get("/portfolio/holdings"), "holdings.json").await;

    let first = check(
        &kite,
        Request::post("/gtt/triggers").form(gtt_form("1400", "1600")),
        "gtt_place_order.json",
    )
    .await;
    let id = first["trigger_id"].as_i64().expect("trigger id");
    check(
        &kite,
        Request::post("/gtt/triggers").form(gtt_form("1300", "1700")),
        "gtt_place_order.json",
    )
    .await;
    check(
        &kite,
        Request::put(format!("/gtt/triggers/{id}")).form(gtt_form("1390", "1610")),
        "gtt_modify_order.json",
    )
    .await;
    assert!(sim.set_price("NSE:INFY", price("1615")));
    check(
        &kite,
        Request::get(format!("/gtt/triggers/{id}")),
        "gtt_get_order.json",
    )
    .await;
    check(&kite, Request::get("/gtt/triggers"), "gtt_get_orders.json").await;
    check(
        &kite,
        Request::delete(format!("/gtt/triggers/{}", id + 1)),
        "gtt_delete_order.json",
    )
    .await;

    let historical = |oi: &'static str| {
        Request::get("/instruments/historical/408065/minute").query([
            ("from", "2026-11-24 09:15:00"),
            ("to", "2026-11-24 09:20:00"),
            ("oi", oi),
        ])
    };
    check(&kite, historical("0"), "historical_minute.json").await;
    check(&kite, historical("1"), "historical_oi.json").await;
    check(
        &kite,
        Request::delete("/session/token")
            .query([("api_key", kite.api_key()), ("access_token", "other")]),
        "session_logout.json",
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_instrument_dump_has_kites_header_and_parses_with_the_official_client() {
    let sim = spawn_with(config()).await;
    let kite = kite(&sim);
    let ours = kite
        .call(Request::get("/instruments/NSE"))
        .response()
        .await
        .expect("dump");
    assert!(ours.content_type().is_some_and(|t| t.contains("csv")));
    let fixture = fixture_bytes("instruments_nse.csv");
    let header = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(header(ours.body()), header(&fixture));
    let rows = kite.instruments().await.expect("typed dump");
    assert!(
        rows.iter()
            .any(|i| i.tradingsymbol == "INFY" && i.instrument_token == 408_065)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_full_dump_has_kites_header_too() {
    let sim = spawn_with(config()).await;
    let kite = kite(&sim);
    let ours = kite
        .call(Request::get("/instruments"))
        .response()
        .await
        .expect("dump");
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        first_line(ours.body()),
        first_line(&fixture_bytes("instruments_all.csv"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_paths_and_wrong_methods_answer_in_kites_error_shape() {
    let sim = spawn_with(config()).await;
    let kite = kite(&sim);
    for (request, status) in [
        (Request::get("/instruments/historical/INFY/minute"), 400),
        (Request::get("/gtt/triggers/abc"), 400),
        (Request::put("/user/profile"), 405),
        (Request::get("/no/such/route"), 404),
    ] {
        let label = format!("{} {}", request.method(), request.path());
        match kite.call(request).raw().await {
            Err(kiteconnect::Error::Api(api)) => {
                assert_eq!(api.status, status, "{label}");
                assert!(!api.message.is_empty(), "{label}");
            }
            other => panic!("{label}: expected a Kite error, got {other:?}"),
        }
    }
    sim.shutdown().await;
}

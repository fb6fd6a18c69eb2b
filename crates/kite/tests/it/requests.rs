//! The exact requests the adapter sends, read back from kite-sim's request log.

use kitebreak_kite::{OrderKind, OrderRequest, Product, Side, Tag};
use kitebreak_price::Quantity;

use crate::helpers::{field, header, log, price, spawn};

fn order(tag: &str, side: Side, kind: OrderKind) -> OrderRequest {
    OrderRequest {
        tag: Tag::new(tag).expect("tag"),
        instrument: "NSE:INFY".into(),
        side,
        quantity: Quantity::new(2).expect("quantity"),
        kind,
        product: Product::Mis,
    }
}

#[tokio::test]
async fn a_market_order_is_one_signed_post_with_tag_and_market_protection() {
    let env = spawn().await;
    let id = env
        .broker
        .place_order(&order("kb1", Side::Buy, OrderKind::Market))
        .await
        .expect("placed");
    assert!(!id.is_empty());
    let placed: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.path == "/orders/regular")
        .collect();
    assert_eq!(placed.len(), 1);
    let request = &placed[0];
    assert_eq!(request.method, "POST");
    assert_eq!(header(request, "x-kite-version"), Some("3"));
    assert_eq!(
        header(request, "authorization"),
        Some("token kitesim_key:test_access_token")
    );
    let form = &request.form;
    for (name, want) in [
        ("exchange", "NSE"),
        ("tradingsymbol", "INFY"),
        ("transaction_type", "BUY"),
        ("order_type", "MARKET"),
        ("quantity", "2"),
        ("product", "MIS"),
        ("validity", "DAY"),
        ("tag", "kb1"),
        ("market_protection", "-1"),
    ] {
        assert_eq!(field(form, name), Some(want), "form field {name}");
    }
    assert_eq!(field(form, "price"), None);
}

#[tokio::test]
async fn limit_prices_go_out_on_the_tick_in_the_favourable_direction() {
    let env = spawn().await;
    let sell = OrderKind::Limit {
        price: price("1600.03"),
    };
    let buy = OrderKind::StopLoss {
        price: price("1400.07"),
        trigger: price("1400.09"),
    };
    env.broker
        .place_order(&order("kbsell", Side::Sell, sell))
        .await
        .expect("sell");
    env.broker
        .place_order(&order("kbbuy", Side::Buy, buy))
        .await
        .expect("buy");
    let forms: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.path == "/orders/regular")
        .map(|r| r.form)
        .collect();
    assert_eq!(field(&forms[0], "price"), Some("1600.05"));
    assert_eq!(field(&forms[0], "market_protection"), None);
    assert_eq!(field(&forms[1], "price"), Some("1400.05"));
    assert_eq!(field(&forms[1], "trigger_price"), Some("1400.05"));
    assert_eq!(field(&forms[1], "order_type"), Some("SL"));
}

#[tokio::test]
async fn ltp_for_many_symbols_is_one_get_with_repeated_keys() {
    let env = spawn().await;
    env.sim.set_price("NSE:RELIANCE", price("2500.55"));
    let prices = env
        .broker
        .ltp(&["NSE:INFY", "NSE:RELIANCE", "NSE:NOSUCH"])
        .await
        .expect("ltp");
    assert_eq!(prices.get("NSE:INFY"), Some(&price("1500")));
    assert_eq!(prices.get("NSE:RELIANCE"), Some(&price("2500.55")));
    assert!(!prices.contains_key("NSE:NOSUCH"));
    let calls: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.path == "/quote/ltp")
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "GET");
    let keys: Vec<&str> = calls[0]
        .query
        .iter()
        .filter(|(k, _)| k == "i")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(keys, ["NSE:INFY", "NSE:RELIANCE", "NSE:NOSUCH"]);
    assert_eq!(header(&calls[0], "x-kite-version"), Some("3"));
}

#[tokio::test]
async fn reads_send_the_documented_method_and_path() {
    let env = spawn().await;
    env.broker.orders().await.expect("orders");
    env.broker.positions().await.expect("positions");
    env.broker.ohlc(&["NSE:INFY"]).await.expect("ohlc");
    let seen: Vec<(String, String)> = log(&env.sim)
        .into_iter()
        .map(|r| (r.method, r.path))
        .filter(|(_, p)| p != "/instruments")
        .collect();
    let want = [
        ("GET", "/orders"),
        ("GET", "/portfolio/positions"),
        ("GET", "/quote/ohlc"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn modify_and_cancel_use_put_and_delete_on_the_order() {
    let env = spawn().await;
    let resting = order(
        "kbrest1",
        Side::Buy,
        OrderKind::Limit {
            price: price("1400"),
        },
    );
    let id = env.broker.place_order(&resting).await.expect("placed");
    let lower = order(
        "kbrest1",
        Side::Buy,
        OrderKind::Limit {
            price: price("1390.04"),
        },
    );
    env.broker
        .modify_order(&id, &lower)
        .await
        .expect("modified");
    env.broker.cancel_order(&id).await.expect("cancelled");
    let path = format!("/orders/regular/{id}");
    let calls: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "PUT");
    assert_eq!(field(&calls[0].form, "price"), Some("1390"));
    assert_eq!(field(&calls[0].form, "order_type"), Some("LIMIT"));
    assert_eq!(calls[1].method, "DELETE");
    for call in &calls {
        assert_eq!(header(call, "x-kite-version"), Some("3"));
    }
    let history = env.broker.order_history(&id).await.expect("history");
    assert!(history.len() > 3);
}

#[tokio::test]
async fn more_keys_than_kites_maximum_are_split_into_calls_of_at_most_1000() {
    let env = spawn().await;
    let keys: Vec<String> = (0..1500).map(|n| format!("NSE:X{n}")).collect();
    let mut refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    refs.push("NSE:INFY");
    let prices = env.broker.ltp(&refs).await.expect("ltp");
    assert_eq!(prices.get("NSE:INFY"), Some(&price("1500")));
    let sizes: Vec<usize> = log(&env.sim)
        .iter()
        .filter(|r| r.path == "/quote/ltp")
        .map(|r| r.query.iter().filter(|(k, _)| k == "i").count())
        .collect();
    assert_eq!(sizes, [1000, 501]);
}

// ---------------------------------------------------------------------------------
// The same calls pinned against wiremock, independent of kite-sim: every method,
// path, header, query and form field as the real Kite Connect v3 documents them
// (kite-api.md §1-§10, pykiteconnect/gokiteconnect). Form and query comparisons are
// exact: no field missing, none extra.
// ---------------------------------------------------------------------------------

mod wire {
    use std::time::Duration;

    use kitebreak_kite::{
        Instruments, Interval, KiteBroker, OrderKind, OrderRequest, Product, SessionState, Side,
        Tag, Variety,
    };
    use kitebreak_price::Quantity;
    use kiteconnect::AccessToken;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use crate::helpers::{config_for, fixture_bytes, price};

    /// INFY on a 0.05 tick, a sub-250 stock on 0.01, and an index (not tradable).
    const DUMP: &str = "\
instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange
408065,1594,INFY,INFOSYS,0.0,,0.0,0.05,1,EQ,NSE,NSE
3813889,14898,CENTRALBK,CENTRAL BANK OF INDIA,0.0,,0.0,0.01,1,EQ,NSE,NSE
256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE
12073986,47164,NIFTY26DECFUT,NIFTY,0.0,2026-12-31,0.0,0.1,75,FUT,NFO-FUT,NFO
";

    async fn broker(server: &MockServer) -> (KiteBroker, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let mut config = config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
        config.read_attempts = 1;
        let token = AccessToken::new("wiretoken").expect("token");
        let broker = KiteBroker::new(config, SessionState::new(Some(token)));
        broker.set_instruments(Instruments::from_csv(DUMP.as_bytes()).expect("dump"));
        (broker, dir)
    }

    fn fixture(name: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(fixture_bytes(name), "application/json")
    }

    async fn mount(server: &MockServer, verb: &str, route: &str, answer: ResponseTemplate) {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(answer)
            .mount(server)
            .await;
    }

    async fn requests(server: &MockServer) -> Vec<Request> {
        server.received_requests().await.unwrap_or_default()
    }

    fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
        request.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Headers of every authenticated REST call.
    fn assert_signed(request: &Request) {
        assert_eq!(
            header(request, "x-kite-version"),
            Some("3"),
            "{}",
            request.url
        );
        assert_eq!(
            header(request, "authorization"),
            Some("token kitesim_key:wiretoken"),
            "{}",
            request.url
        );
    }

    fn sorted(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
        pairs.sort();
        pairs
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        sorted(
            want.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn form(request: &Request) -> Vec<(String, String)> {
        assert_eq!(
            header(request, "content-type"),
            Some("application/x-www-form-urlencoded"),
            "{}",
            request.url
        );
        sorted(
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect(),
        )
    }

    fn query(request: &Request) -> Vec<(String, String)> {
        sorted(request.url.query_pairs().into_owned().collect())
    }

    fn order(tag: &str, side: Side, kind: OrderKind) -> OrderRequest {
        OrderRequest {
            tag: Tag::new(tag).expect("tag"),
            instrument: "NSE:INFY".into(),
            side,
            quantity: Quantity::new(3).expect("quantity"),
            kind,
            product: Product::Mis,
        }
    }

    #[tokio::test]
    async fn placements_post_exactly_kites_form_for_each_order_type() {
        let server = MockServer::start().await;
        mount(
            &server,
            "POST",
            "/orders/regular",
            fixture("order_response.json"),
        )
        .await;
        mount(
            &server,
            "POST",
            "/orders/amo",
            fixture("order_response.json"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        let cases = [
            (Variety::Regular, Side::Buy, OrderKind::Market),
            (
                Variety::Regular,
                Side::Sell,
                OrderKind::StopLossMarket {
                    trigger: price("1450.02"),
                },
            ),
            (
                Variety::Regular,
                Side::Buy,
                OrderKind::Limit {
                    price: price("1500.09"),
                },
            ),
            (
                Variety::Amo,
                Side::Sell,
                OrderKind::StopLoss {
                    price: price("1449.01"),
                    trigger: price("1450.01"),
                },
            ),
        ];
        for (n, (variety, side, kind)) in cases.into_iter().enumerate() {
            let id = broker
                .place_order_as(variety, &order(&format!("kbwire{n}"), side, kind))
                .await
                .expect("placed");
            assert_eq!(id, "151220000000000");
        }
        let sent = requests(&server).await;
        let paths: Vec<(&str, &str)> = sent
            .iter()
            .map(|r| (r.method.as_str(), r.url.path()))
            .collect();
        assert_eq!(
            paths,
            [
                ("POST", "/orders/regular"),
                ("POST", "/orders/regular"),
                ("POST", "/orders/regular"),
                ("POST", "/orders/amo"),
            ]
        );
        let common = |tag: &'static str, side: &'static str| {
            vec![
                ("exchange", "NSE"),
                ("tradingsymbol", "INFY"),
                ("transaction_type", side),
                ("quantity", "3"),
                ("product", "MIS"),
                ("validity", "DAY"),
                ("tag", tag),
            ]
        };
        let mut market = common("kbwire0", "BUY");
        market.extend([("order_type", "MARKET"), ("market_protection", "-1")]);
        // A sell stop rounds up (triggers no later), a buy limit down (pays no more).
        let mut stop_market = common("kbwire1", "SELL");
        stop_market.extend([
            ("order_type", "SL-M"),
            ("trigger_price", "1450.05"),
            ("market_protection", "-1"),
        ]);
        let mut limit = common("kbwire2", "BUY");
        limit.extend([("order_type", "LIMIT"), ("price", "1500.05")]);
        let mut stop_limit = common("kbwire3", "SELL");
        stop_limit.extend([
            ("order_type", "SL"),
            ("price", "1449.05"),
            ("trigger_price", "1450.05"),
        ]);
        for (request, want) in sent.iter().zip([market, stop_market, limit, stop_limit]) {
            assert_signed(request);
            assert_eq!(form(request), pairs(&want), "{}", request.url);
            assert!(request.url.query().is_none(), "{}", request.url);
        }
    }

    #[tokio::test]
    async fn indices_and_off_lot_quantities_are_refused_before_anything_is_sent() {
        let server = MockServer::start().await;
        let (broker, _dir) = broker(&server).await;
        let mut index = order("kbidx1", Side::Buy, OrderKind::Market);
        index.instrument = "NSE:NIFTY 50".into();
        let error = broker.place_order(&index).await.expect_err("an index");
        assert_eq!(error.class(), kitebreak_kite::ErrorClass::Rejected);
        let mut future = order("kblot1", Side::Buy, OrderKind::Market);
        future.instrument = "NFO:NIFTY26DECFUT".into();
        let error = broker
            .place_order(&future)
            .await
            .expect_err("3 of a 75 lot");
        assert!(error.to_string().contains("lot size 75"), "{error}");
        let error = broker
            .modify_order("1", &future)
            .await
            .expect_err("3 of a 75 lot");
        assert_eq!(error.class(), kitebreak_kite::ErrorClass::Rejected);
        assert!(requests(&server).await.is_empty());
    }

    #[tokio::test]
    async fn a_custom_market_protection_band_goes_out_as_its_percent() {
        let server = MockServer::start().await;
        mount(
            &server,
            "POST",
            "/orders/regular",
            fixture("order_response.json"),
        )
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let mut config = config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
        config.market_protection =
            kitebreak_kite::MarketProtection::percent(3).expect("a valid band");
        let token = AccessToken::new("wiretoken").expect("token");
        let broker = KiteBroker::new(config, SessionState::new(Some(token)));
        broker.set_instruments(Instruments::from_csv(DUMP.as_bytes()).expect("dump"));
        broker
            .place_order(&order("kbmp3", Side::Buy, OrderKind::Market))
            .await
            .expect("placed");
        let sent = requests(&server).await;
        let fields = form(&sent[0]);
        assert!(fields.contains(&("market_protection".into(), "3".into())));
    }

    #[tokio::test]
    async fn modify_and_cancel_name_the_variety_and_order_in_the_path() {
        let server = MockServer::start().await;
        let id = "1953341975595868160";
        let regular = format!("/orders/regular/{id}");
        let amo = format!("/orders/amo/{id}");
        mount(&server, "PUT", &regular, fixture("order_modify.json")).await;
        mount(&server, "DELETE", &regular, fixture("order_cancel.json")).await;
        mount(&server, "PUT", &amo, fixture("order_modify.json")).await;
        mount(&server, "DELETE", &amo, fixture("order_cancel.json")).await;
        let (broker, _dir) = broker(&server).await;
        let lower = order(
            "kbmod1",
            Side::Buy,
            OrderKind::Limit {
                price: price("1390.04"),
            },
        );
        broker.modify_order(id, &lower).await.expect("modified");
        broker.cancel_order(id).await.expect("cancelled");
        let to_market = order("kbmod1", Side::Sell, OrderKind::Market);
        broker
            .modify_order_as(Variety::Amo, id, &to_market)
            .await
            .expect("modified");
        broker
            .cancel_order_as(Variety::Amo, id)
            .await
            .expect("cancelled");
        let sent = requests(&server).await;
        let seen: Vec<(&str, &str)> = sent
            .iter()
            .map(|r| (r.method.as_str(), r.url.path()))
            .collect();
        assert_eq!(
            seen,
            [
                ("PUT", regular.as_str()),
                ("DELETE", regular.as_str()),
                ("PUT", amo.as_str()),
                ("DELETE", amo.as_str()),
            ]
        );
        sent.iter().for_each(assert_signed);
        assert_eq!(
            form(&sent[0]),
            pairs(&[
                ("order_type", "LIMIT"),
                ("quantity", "3"),
                ("price", "1390"),
            ])
        );
        assert_eq!(
            form(&sent[2]),
            pairs(&[
                ("order_type", "MARKET"),
                ("quantity", "3"),
                ("market_protection", "-1"),
            ])
        );
        for cancel in [&sent[1], &sent[3]] {
            assert!(cancel.body.is_empty());
            assert!(cancel.url.query().is_none());
        }
    }

    #[tokio::test]
    async fn order_book_reads_are_plain_signed_gets_decoded_exactly() {
        let server = MockServer::start().await;
        let id = "171229000724687";
        mount(&server, "GET", "/orders", fixture("orders.json")).await;
        mount(
            &server,
            "GET",
            &format!("/orders/{id}"),
            fixture("order_info.json"),
        )
        .await;
        mount(&server, "GET", "/trades", fixture("trades.json")).await;
        mount(
            &server,
            "GET",
            &format!("/orders/{id}/trades"),
            fixture("order_trades.json"),
        )
        .await;
        mount(
            &server,
            "GET",
            "/portfolio/positions",
            fixture("positions.json"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;

        let orders = broker.orders().await.expect("orders");
        assert_eq!(orders.len(), 10);
        assert_eq!(
            orders[8].order_id, "1953341975595868160",
            "19-digit ids stay text"
        );
        assert_eq!(orders[3].variety, "iceberg");
        let history = broker.order_history(id).await.expect("history");
        assert_eq!(
            history.first().map(|o| o.state.clone()),
            Some(kitebreak_kite::OrderState::Pending(
                "PUT ORDER REQ RECEIVED".into()
            ))
        );
        let fills = broker.trades().await.expect("trades");
        assert_eq!(fills.len(), 4);
        assert_eq!(
            fills[1].price,
            price("72.755"),
            "CDS keeps its four decimals"
        );
        let one = broker.order_fills(id).await.expect("order trades");
        assert_eq!((one.len(), one[0].price), (1, price("4852")));
        let positions = broker.positions().await.expect("positions");
        assert_eq!(positions.len(), 3);
        assert_eq!(positions[0].instrument, "MCX:LEADMINI17DECFUT");

        let sent = requests(&server).await;
        let seen: Vec<(&str, String)> = sent
            .iter()
            .map(|r| (r.method.as_str(), r.url.path().to_string()))
            .collect();
        assert_eq!(
            seen,
            [
                ("GET", "/orders".to_string()),
                ("GET", format!("/orders/{id}")),
                ("GET", "/trades".to_string()),
                ("GET", format!("/orders/{id}/trades")),
                ("GET", "/portfolio/positions".to_string()),
            ]
        );
        for request in &sent {
            assert_signed(request);
            assert!(request.url.query().is_none(), "{}", request.url);
            assert!(request.body.is_empty(), "{}", request.url);
        }
    }

    #[tokio::test]
    async fn quotes_repeat_i_with_exchange_symbol_keys_and_encode_spaces() {
        let server = MockServer::start().await;
        mount(&server, "GET", "/quote/ltp", fixture("ltp.json")).await;
        mount(&server, "GET", "/quote/ohlc", fixture("ohlc.json")).await;
        let (broker, _dir) = broker(&server).await;
        let keys = ["NSE:INFY", "NSE:NIFTY 50", "BSE:SENSEX"];
        let ltp = broker.ltp(&keys).await.expect("ltp");
        assert_eq!(ltp.get("NSE:INFY"), Some(&price("1074.35")));
        assert_eq!(ltp.len(), 1, "keys Kite leaves out are absent");
        let ohlc = broker.ohlc(&keys[..1]).await.expect("ohlc");
        let infy = ohlc.get("NSE:INFY").expect("infy");
        assert_eq!(
            (infy.open, infy.high, infy.low, infy.close, infy.last),
            (
                price("1085.8"),
                price("1085.9"),
                price("1070.9"),
                price("1075.8"),
                price("1075")
            )
        );
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(
            (sent[0].method.as_str(), sent[0].url.path()),
            ("GET", "/quote/ltp")
        );
        assert_eq!(
            sent[0].url.query(),
            Some("i=NSE%3AINFY&i=NSE%3ANIFTY+50&i=BSE%3ASENSEX")
        );
        assert_eq!(
            (sent[1].method.as_str(), sent[1].url.path()),
            ("GET", "/quote/ohlc")
        );
        assert_eq!(query(&sent[1]), pairs(&[("i", "NSE:INFY")]));
        sent.iter().for_each(assert_signed);
    }

    #[tokio::test]
    async fn historical_candles_send_ist_times_and_flags_in_the_query() {
        let server = MockServer::start().await;
        mount(
            &server,
            "GET",
            "/instruments/historical/408065/minute",
            fixture("historical_minute.json"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        let from = "2017-12-15T03:45:00Z".parse().expect("from");
        let to = "2017-12-15T04:15:00Z".parse().expect("to");
        let candles = broker
            .historical_candles("NSE:INFY", Interval::Minute, from, to, false)
            .await
            .expect("candles");
        assert_eq!(candles[0].open, price("1704.5"));
        assert_eq!(candles[0].at, from);
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 1);
        assert_signed(&sent[0]);
        // Kite reads from/to as IST wall-clock "yyyy-mm-dd hh:mm:ss". The client also
        // echoes instrument_token and interval, as pykiteconnect does; Kite ignores them.
        assert_eq!(
            query(&sent[0]),
            pairs(&[
                ("from", "2017-12-15 09:15:00"),
                ("to", "2017-12-15 09:45:00"),
                ("continuous", "0"),
                ("oi", "0"),
                ("instrument_token", "408065"),
                ("interval", "minute"),
            ])
        );
    }

    #[tokio::test]
    async fn the_instrument_dump_is_a_signed_get_of_slash_instruments_parsed_from_csv() {
        let server = MockServer::start().await;
        let csv = fixture_bytes("instruments_nse.csv");
        mount(
            &server,
            "GET",
            "/instruments",
            ResponseTemplate::new(200).set_body_raw(csv, "text/csv"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        let count = broker.load_instruments().await.expect("dump");
        assert_eq!(count, 99);
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method.as_str(), "GET");
        assert!(sent[0].url.query().is_none());
        // Signed like every call in Kite's docs (and in pykiteconnect/gokiteconnect).
        assert_signed(&sent[0]);

        // Without a session (before the first login) it still loads, unsigned.
        let dir = tempfile::tempdir().expect("dir");
        let config = config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
        let anonymous = KiteBroker::new(config, SessionState::new(None));
        assert_eq!(anonymous.load_instruments().await.expect("dump"), 99);
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(header(&sent[1], "x-kite-version"), Some("3"));
        assert_eq!(header(&sent[1], "authorization"), None);
    }

    /// `bytes` as a gzip member with one stored (uncompressed) deflate block.
    fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
        let crc = bytes.iter().fold(!0u32, |mut crc, byte| {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
            crc
        });
        let len = u16::try_from(bytes.len()).expect("one stored block");
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(bytes);
        out.extend((!crc).to_le_bytes());
        out.extend(u32::try_from(bytes.len()).expect("size").to_le_bytes());
        out
    }

    #[tokio::test]
    async fn a_gzipped_dump_is_unpacked() {
        let server = MockServer::start().await;
        let csv = fixture_bytes("instruments_nse.csv");
        let answer = ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_raw(gzip_stored(&csv), "text/csv");
        mount(&server, "GET", "/instruments", answer).await;
        let (broker, _dir) = broker(&server).await;
        assert_eq!(broker.load_instruments().await.expect("dump"), 99);
        let sent = requests(&server).await;
        let accepts = header(&sent[0], "accept-encoding").unwrap_or_default();
        assert!(accepts.contains("gzip"), "{accepts}");
    }

    #[tokio::test]
    async fn a_dump_answered_with_a_token_exception_flags_the_session() {
        let server = MockServer::start().await;
        let refusal = serde_json::json!({"status": "error", "error_type": "TokenException",
            "message": "Incorrect `api_key` or `access_token`.", "data": null});
        mount(
            &server,
            "GET",
            "/instruments",
            ResponseTemplate::new(403).set_body_json(refusal),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        let error = broker.load_instruments().await.expect_err("refused");
        assert!(
            matches!(error, kitebreak_kite::KiteError::TokenExpired),
            "{error}"
        );
        assert!(broker.session().is_expired());
        assert_eq!(broker.instruments().len(), 4, "the old catalogue stays");
    }

    #[tokio::test]
    async fn the_token_exchange_posts_key_request_token_and_checksum_only() {
        use sha2::{Digest, Sha256};
        let server = MockServer::start().await;
        mount(
            &server,
            "POST",
            "/session/token",
            fixture("generate_session.json"),
        )
        .await;
        let dir = tempfile::tempdir().expect("dir");
        let config = config_for(&server.uri(), "ws://127.0.0.1:9", dir.path());
        let stored = kitebreak_kite::session::exchange_request_token(&config, "rt-wire")
            .await
            .expect("login");
        assert_eq!(stored.user_id, "XX0000");
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(header(&sent[0], "x-kite-version"), Some("3"));
        assert_eq!(header(&sent[0], "authorization"), None, "no token yet");
        let checksum = hex::encode(Sha256::digest(b"kitesim_keyrt-wirekitesim_secret"));
        assert_eq!(
            form(&sent[0]),
            pairs(&[
                ("api_key", "kitesim_key"),
                ("request_token", "rt-wire"),
                ("checksum", checksum.as_str()),
            ])
        );
    }

    #[tokio::test]
    async fn logout_deletes_the_session_token_with_key_and_token_in_the_query() {
        let server = MockServer::start().await;
        mount(
            &server,
            "DELETE",
            "/session/token",
            fixture("session_logout.json"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        broker.logout().await.expect("logged out");
        assert!(broker.session().is_expired(), "placements stop at once");
        let sent = requests(&server).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method.as_str(), "DELETE");
        assert_signed(&sent[0]);
        assert_eq!(
            query(&sent[0]),
            pairs(&[("api_key", "kitesim_key"), ("access_token", "wiretoken")])
        );
        assert!(sent[0].body.is_empty());
    }

    #[tokio::test]
    async fn a_bounded_wait_for_a_working_order_ends_still_working_not_rejected() {
        let server = MockServer::start().await;
        let id = "171229000724687";
        // The fixture's history ends OPEN (a resting limit order).
        mount(
            &server,
            "GET",
            &format!("/orders/{id}"),
            fixture("order_info.json"),
        )
        .await;
        let (broker, _dir) = broker(&server).await;
        let error = broker
            .final_status_within(id, Duration::from_millis(200))
            .await
            .expect_err("never final");
        assert_eq!(error.class(), kitebreak_kite::ErrorClass::UnknownOutcome);
        assert!(
            matches!(&error, kitebreak_kite::KiteError::StillWorking { order_id, status }
                if order_id == id && status == "OPEN"),
            "{error}"
        );
        assert!(requests(&server).await.len() >= 2, "it polled");
    }
}

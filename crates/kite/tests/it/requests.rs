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

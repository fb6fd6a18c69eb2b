//! The market: scripted prices on a moving clock, symbols added by a script, quote
//! limits, historical candles, and GTTs that fire once.

use jiff::SignedDuration;
use kite_sim::SimConfig;
use kiteconnect::{
    Error, Exchange, GttParams, GttTrigger, GttTriggerParams, Product, TransactionType,
};

use crate::helpers::{config, kite, price, spawn_sim, spawn_with};

#[tokio::test]
async fn a_price_script_plays_as_the_clock_moves_and_adds_unknown_symbols() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("prices.csv");
    std::fs::write(
        &script,
        "time,symbol,price\n0,INFY,1500\n5,NSE:INFY,1502.5\n5,NEWCO,99.95\n10,INFY,1499\n",
    )
    .expect("write");
    let sim = spawn_with(SimConfig {
        prices: Some(script),
        ..config()
    })
    .await;
    let kite = kite(&sim);
    let ltp = |key: &'static str| {
        let kite = kite.clone();
        async move {
            kite.ltp(&[key])
                .await
                .expect("ltp")
                .get(key)
                .map(|q| q.last_price)
        }
    };
    sim.advance(SignedDuration::ZERO);
    assert_eq!(ltp("NSE:INFY").await, Some(1500.0));
    sim.advance(SignedDuration::from_secs(5));
    assert_eq!(ltp("NSE:INFY").await, Some(1502.5));
    assert_eq!(ltp("NSE:NEWCO").await, Some(99.95));
    sim.advance(SignedDuration::from_secs(5));
    assert_eq!(ltp("NSE:INFY").await, Some(1499.0));
    let ohlc = kite.ohlc(&["NSE:INFY"]).await.expect("ohlc");
    assert_eq!(
        (ohlc["NSE:INFY"].ohlc.high, ohlc["NSE:INFY"].ohlc.low),
        (1502.5, 1499.0)
    );
    let newco = kite.instruments_by_exchange("NSE").await.expect("dump");
    let newco = newco
        .iter()
        .find(|i| i.tradingsymbol == "NEWCO")
        .expect("added to the dump");
    assert_eq!(
        (
            newco.tick_size,
            newco.instrument_type.as_str(),
            newco.instrument_token & 0xff
        ),
        (0.05, "EQ", 1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn quotes_cap_the_instruments_per_call() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let keys: Vec<String> = (0..501).map(|i| format!("NSE:X{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    match kite.quote(&keys).await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (400, "InputException"))
        }
        other => panic!("501 keys must be refused: {other:?}"),
    }
    assert!(kite.ltp(&keys).await.expect("ltp takes 1000").is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn historical_candles_decode_with_the_official_client() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let day = |h: u32, m: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .expect("time")
    };
    let candles = kite
        .historical_data(408_065, "minute", day(9, 15), day(9, 44), false, true)
        .await
        .expect("candles");
    assert_eq!(candles.len(), 30);
    assert_eq!(candles[0].date.to_rfc3339(), "2026-11-24T09:15:00+05:30");
    assert!(
        candles.iter().all(|c| c.low <= c.open.min(c.close)
            && c.high >= c.open.max(c.close)
            && c.oi == Some(0))
    );
    let again = kite
        .historical_data(408_065, "minute", day(9, 15), day(9, 44), false, true)
        .await
        .expect("candles");
    assert_eq!(
        format!("{candles:?}"),
        format!("{again:?}"),
        "deterministic"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_two_leg_gtt_fires_once() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    let trigger = GttTrigger::TwoLeg {
        lower: GttTriggerParams::new(1450.0, 1449.0, 2),
        upper: GttTriggerParams::new(1600.0, 1601.0, 2),
    };
    let params = GttParams::new(
        "INFY",
        Exchange::Nse,
        1500.0,
        TransactionType::Sell,
        trigger,
    )
    .product(Product::Mis);
    let placed = kite.place_gtt(params).await.expect("placed");
    sim.set_price("NSE:INFY", price("1460"));
    assert_eq!(
        kite.gtt(placed.trigger_id).await.expect("gtt").status,
        "active"
    );
    sim.set_price("NSE:INFY", price("1449.5"));
    let fired = kite.gtt(placed.trigger_id).await.expect("gtt");
    assert_eq!(fired.status, "triggered");
    let result = fired.orders[0]
        .result
        .as_ref()
        .expect("the lower leg fired");
    assert_eq!(result.triggered_at, 1449.5);
    assert!(fired.orders[1].result.is_none());
    sim.set_price("NSE:INFY", price("1440"));
    sim.set_price("NSE:INFY", price("1610"));
    let orders = kite.orders().await.expect("orders");
    assert_eq!(orders.len(), 1, "fired once");
    assert_eq!(
        (
            orders[0].status.as_str(),
            orders[0].price,
            orders[0].quantity
        ),
        ("COMPLETE", 1449.0, 2.0)
    );
    match kite.delete_gtt(placed.trigger_id).await {
        Err(Error::Api(api)) => assert_eq!(api.status, 400),
        other => panic!("a triggered GTT cannot be deleted: {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn strict_rate_limits_allow_one_quote_call_per_second() {
    let sim = spawn_with(SimConfig {
        strict_rate_limits: true,
        rate_clock: kite_sim::RateClock::Sim,
        ..config()
    })
    .await;
    let kite = kite(&sim);
    kite.ltp(&["NSE:INFY"]).await.expect("first quote call");
    match kite.ohlc(&["NSE:INFY"]).await {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (429, "NetworkException"))
        }
        other => panic!("expected 429, got {other:?}"),
    }
    kite.orders()
        .await
        .expect("other endpoints have their own budget");
    sim.advance(SignedDuration::from_secs(1));
    kite.ltp(&["NSE:INFY"]).await.expect("a new second");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_single_gtt_fires_once_when_its_trigger_is_crossed() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    sim.set_price("NSE:INFY", price("1500"));
    // A buy above the market: fires when the price rises to 1550.
    let trigger = GttTrigger::Single(GttTriggerParams::new(1550.0, 1552.0, 3));
    let params = GttParams::new("INFY", Exchange::Nse, 1500.0, TransactionType::Buy, trigger)
        .product(Product::Cnc);
    let placed = kite.place_gtt(params).await.expect("placed");
    sim.set_price("NSE:INFY", price("1549.95"));
    assert_eq!(
        kite.gtt(placed.trigger_id).await.expect("gtt").status,
        "active"
    );
    assert!(kite.orders().await.expect("orders").is_empty());
    sim.set_price("NSE:INFY", price("1550"));
    let fired = kite.gtt(placed.trigger_id).await.expect("gtt");
    assert_eq!(fired.status, "triggered");
    sim.set_price("NSE:INFY", price("1540"));
    sim.set_price("NSE:INFY", price("1555"));
    let orders = kite.orders().await.expect("orders");
    assert_eq!(orders.len(), 1, "fired once");
    assert_eq!(
        (
            orders[0].transaction_type.as_str(),
            orders[0].order_type.as_str(),
            orders[0].price,
            orders[0].quantity,
            orders[0].status.as_str()
        ),
        ("BUY", "LIMIT", 1552.0, 3.0, "COMPLETE")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn day_candles_are_stamped_at_midnight_and_skip_the_weekend() {
    let sim = spawn_sim().await;
    let kite = kite(&sim);
    let at = |d: u32, h: u32, m: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 11, d)
            .and_then(|day| day.and_hms_opt(h, m, 0))
            .expect("time")
    };
    // Friday 20th to Tuesday 24th: no Saturday or Sunday candle.
    let days = kite
        .historical_data(408_065, "day", at(20, 0, 0), at(24, 15, 30), false, false)
        .await
        .expect("candles");
    let stamps: Vec<String> = days.iter().map(|c| c.date.to_rfc3339()).collect();
    assert_eq!(
        stamps,
        [
            "2026-11-20T00:00:00+05:30",
            "2026-11-23T00:00:00+05:30",
            "2026-11-24T00:00:00+05:30"
        ]
    );
    assert!(days.iter().all(|c| c.oi.is_none()));
    // Five-minute candles start on the 09:15 grid, whatever `from` says.
    let five = kite
        .historical_data(
            408_065,
            "5minute",
            at(24, 9, 17),
            at(24, 9, 40),
            false,
            false,
        )
        .await
        .expect("candles");
    let first = five.first().map(|c| c.date.to_rfc3339());
    assert_eq!(first.as_deref(), Some("2026-11-24T09:20:00+05:30"));
    assert_eq!(five.len(), 5);
    match kite
        .historical_data(
            408_065,
            "2minute",
            at(24, 9, 15),
            at(24, 9, 40),
            false,
            false,
        )
        .await
    {
        Err(Error::Api(api)) => {
            assert_eq!((api.status, api.kind.as_str()), (400, "InputException"))
        }
        other => panic!("an unknown interval must be refused: {other:?}"),
    }
    // Minute candles span at most 60 days per request.
    let sixty_one_days_earlier = chrono::NaiveDate::from_ymd_opt(2026, 9, 24)
        .and_then(|d| d.and_hms_opt(9, 15, 0))
        .expect("time");
    match kite
        .historical_data(
            408_065,
            "minute",
            sixty_one_days_earlier,
            at(24, 9, 15),
            false,
            false,
        )
        .await
    {
        Err(Error::Api(api)) => {
            assert_eq!(api.status, 400);
            assert!(api.message.contains("60 days"), "{}", api.message);
        }
        other => panic!("a 61-day minute range must be refused: {other:?}"),
    }
    sim.shutdown().await;
}

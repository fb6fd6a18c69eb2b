//! Historical candles through the adapter against kite-sim: exact prices equal to the
//! text Kite sent, the request Kite documents, long ranges split into windows that
//! stay within the historical budget, and bad ranges refused before anything is sent.

use std::str::FromStr;

use jiff::Timestamp;
use kite_sim::SimConfig;
use kitebreak_kite::{Interval, KiteError};
use kitebreak_price::Price;
use kiteconnect::{AccessToken, KiteConnect, Request};

use crate::helpers::{TOKEN, field, log, spawn, spawn_with, start};

fn at(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

#[tokio::test]
async fn candles_come_back_exactly_as_kite_sent_them() {
    let env = spawn().await;
    // 2026-11-24 09:15 to 09:44 IST.
    let (from, to) = (at("2026-11-24T03:45:00Z"), at("2026-11-24T04:14:00Z"));
    let candles = env
        .broker
        .historical_candles("NSE:INFY", Interval::Minute, from, to, true)
        .await
        .expect("candles");
    assert_eq!(candles.len(), 30);
    assert_eq!(candles[0].at, from);
    assert_eq!(candles[29].at, to);
    assert!(candles.iter().all(|c| c.oi == Some(0) && c.low <= c.high));

    let requests: Vec<_> = log(&env.sim)
        .into_iter()
        .filter(|r| r.path.starts_with("/instruments/historical/"))
        .collect();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/instruments/historical/408065/minute");
    assert_eq!(
        field(&requests[0].query, "from"),
        Some("2026-11-24 09:15:00")
    );
    assert_eq!(field(&requests[0].query, "to"), Some("2026-11-24 09:44:00"));
    assert_eq!(field(&requests[0].query, "oi"), Some("1"));

    // The same candles as raw JSON: every price is the decimal text on the wire.
    let raw = KiteConnect::builder(kite_sim::config::DEFAULT_API_KEY)
        .access_token(AccessToken::new(TOKEN).expect("token"))
        .base_url(env.sim.url())
        .build()
        .expect("client")
        .call(
            Request::get("/instruments/historical/408065/minute").query([
                ("from", "2026-11-24 09:15:00"),
                ("to", "2026-11-24 09:44:00"),
                ("oi", "1"),
            ]),
        )
        .raw()
        .await
        .expect("raw candles");
    let rows = raw["candles"].as_array().expect("rows");
    assert_eq!(rows.len(), candles.len());
    for (row, candle) in rows.iter().zip(&candles) {
        let text = |i: usize| Price::from_str(&row[i].to_string()).expect("a price");
        assert_eq!(
            (candle.open, candle.high, candle.low, candle.close),
            (text(1), text(2), text(3), text(4))
        );
        assert_eq!(Some(candle.volume), row[5].as_u64());
    }
}

#[tokio::test]
async fn a_long_range_is_split_into_windows_within_the_historical_budget() {
    // kite-sim enforces Kite's 3 historical requests per (real) second here.
    let env = spawn_with(SimConfig {
        strict_rate_limits: true,
        ..SimConfig::for_tests(start())
    })
    .await;
    // 900 days of hourly candles: three windows of at most 400 days.
    let to = at("2026-11-24T10:00:00Z");
    let from = to
        .checked_sub(jiff::SignedDuration::from_hours(24 * 900))
        .expect("time");
    let candles = env
        .broker
        .historical_candles("NSE:INFY", Interval::SixtyMinute, from, to, false)
        .await
        .expect("candles");
    assert!(candles.len() > 4_000, "{}", candles.len());
    assert!(
        candles.windows(2).all(|pair| pair[0].at < pair[1].at),
        "oldest first, no candle twice"
    );
    assert!(candles.iter().all(|c| c.oi.is_none()));
    let statuses: Vec<u16> = log(&env.sim)
        .iter()
        .filter(|r| r.path.starts_with("/instruments/historical/"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200, 200], "three windows, none refused");
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_sent() {
    let env = spawn().await;
    let (from, to) = (at("2026-11-24T03:45:00Z"), at("2026-11-24T04:14:00Z"));
    assert!(matches!(
        env.broker
            .historical_candles("NSE:INFY", Interval::Minute, to, from, false)
            .await,
        Err(KiteError::InvalidInput(_))
    ));
    assert!(matches!(
        env.broker
            .historical_candles("NSE:NOSUCH", Interval::Minute, from, to, false)
            .await,
        Err(KiteError::UnknownInstrument(_))
    ));
    assert!(
        log(&env.sim)
            .iter()
            .all(|r| !r.path.starts_with("/instruments/historical/"))
    );
}

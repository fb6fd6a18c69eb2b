//! Market data endpoints: `/quote`, `/quote/ltp`, `/quote/ohlc`, `/instruments`,
//! `/instruments/historical/{token}/{interval}`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::clock::ist;
use crate::http::reply::{ApiError, ApiResult, Segments, ok};
use crate::json;
use crate::market::tick_of;
use crate::params::Params;
use crate::rng::SplitMix;
use crate::script::parse_time;
use crate::shared::Shared;

/// Which quote view.
#[derive(Debug, Clone, Copy)]
enum View {
    Full,
    Ltp,
    Ohlc,
}

fn quotes(shared: &Shared, params: &Params, view: View, max: usize) -> ApiResult {
    let keys = params.all("i");
    if keys.len() > max {
        return Err(ApiError::input(format!(
            "Too many instruments: at most {max} per request."
        )));
    }
    let data: Map<String, Value> = shared.with_world(|world, now| {
        keys.iter()
            .filter_map(|key| {
                let instrument = world.catalogue.get(key)?;
                let quote = world.market.quote(instrument.token)?;
                let token = instrument.token;
                let value = match view {
                    View::Full => json::quote(token, quote, tick_of(instrument), now),
                    View::Ltp => json!({"instrument_token": token, "last_price": quote.last.to_f64()}),
                    View::Ohlc => json!({"instrument_token": token, "last_price": quote.last.to_f64(), "ohlc": json::ohlc(quote)}),
                };
                Some(((*key).to_string(), value))
            })
            .collect()
    });
    Ok(ok(Value::Object(data)))
}

/// `GET /quote` (at most 500 instruments).
pub async fn quote(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    quotes(&shared, &params, View::Full, 500)
}

/// `GET /quote/ltp` (at most 1000).
pub async fn ltp(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    quotes(&shared, &params, View::Ltp, 1000)
}

/// `GET /quote/ohlc` (at most 1000).
pub async fn ohlc(
    State(shared): State<Arc<Shared>>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    quotes(&shared, &params, View::Ohlc, 1000)
}

fn dump(shared: &Shared, exchange: Option<&str>) -> axum::response::Response {
    let csv = shared.with_world(|world, _| world.catalogue.to_csv(exchange));
    ([(header::CONTENT_TYPE, "text/csv")], csv).into_response()
}

/// `GET /instruments`.
pub async fn instruments(State(shared): State<Arc<Shared>>) -> axum::response::Response {
    dump(&shared, None)
}

/// `GET /instruments/{exchange}`.
pub async fn instruments_of(
    State(shared): State<Arc<Shared>>,
    Segments(exchange): Segments<String>,
) -> axum::response::Response {
    dump(&shared, Some(&exchange))
}

/// Seconds per candle and the longest range one request may span, in days, per
/// interval (Kite's caps as third parties report them; kite-api.md §10 marks them
/// unconfirmed).
fn interval_terms(interval: &str) -> Option<(i64, i64)> {
    Some(match interval {
        "minute" => (60, 60),
        "3minute" => (180, 100),
        "5minute" => (300, 100),
        "10minute" => (600, 100),
        "15minute" => (900, 200),
        "30minute" => (1_800, 200),
        "60minute" => (3_600, 400),
        "day" => (86_400, 2_000),
        _ => return None,
    })
}

/// `GET /instruments/historical/{token}/{interval}?from&to[&oi=1]`: synthetic candles,
/// the same for the same token and times, ending near the instrument's current price.
pub async fn historical(
    State(shared): State<Arc<Shared>>,
    Segments((token, interval)): Segments<(u32, String)>,
    Extension(params): Extension<Params>,
) -> ApiResult {
    let (step, max_days) =
        interval_terms(&interval).ok_or_else(|| ApiError::input("Invalid interval."))?;
    let now = shared.clock.now();
    let time = |key: &str| {
        params
            .get(key)
            .and_then(|t| parse_time(t, now))
            .ok_or_else(|| ApiError::input(format!("Invalid `{key}`.")))
    };
    let (from, to) = (time("from")?, time("to")?);
    if to < from {
        return Err(ApiError::input("Invalid range: `to` is before `from`."));
    }
    if to.as_second() - from.as_second() > max_days * 86_400 {
        return Err(ApiError::input(format!(
            "interval exceeds max limit: {max_days} days"
        )));
    }
    let base = shared
        .with_world(|world, _| world.market.quote(token).map(|q| q.close.micros()))
        .ok_or_else(|| ApiError::input("Invalid `instrument_token`."))?;
    let with_oi = params.get("oi") == Some("1");
    Ok(ok(
        json!({"candles": candles(token, base, from, to, step, with_oi)}),
    ))
}

/// When the candles of `[from, to]` open: for intraday intervals every `step` from
/// 09:15 IST while the session lasts (to 15:30), for `day` each weekday at 00:00 IST, as
/// Kite stamps them.
fn candle_starts(from: Timestamp, to: Timestamp, step: i64) -> Vec<Timestamp> {
    let zone = ist();
    let last = zone.to_datetime(to).date();
    let mut day = zone.to_datetime(from).date();
    let mut starts = Vec::new();
    while day <= last {
        if day.weekday().to_monday_one_offset() <= 5 {
            if step == 86_400 {
                starts.extend(zone.to_timestamp(day.at(0, 0, 0, 0)).ok());
            } else if let (Ok(open), Ok(close)) = (
                zone.to_timestamp(day.at(9, 15, 0, 0)),
                zone.to_timestamp(day.at(15, 30, 0, 0)),
            ) {
                let mut at = open;
                while at < close {
                    if at >= from && at <= to {
                        starts.push(at);
                    }
                    match at.checked_add(SignedDuration::from_secs(step)) {
                        Ok(next) => at = next,
                        Err(_) => break,
                    }
                }
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    starts
}

fn candles(
    token: u32,
    base: i64,
    from: Timestamp,
    to: Timestamp,
    step: i64,
    with_oi: bool,
) -> Vec<Value> {
    candle_starts(from, to, step)
        .into_iter()
        .map(|at| {
            let mut rng = SplitMix::new(u64::from(token) ^ at.as_second() as u64);
            let drift = |rng: &mut SplitMix| base + rng.between(-200, 200) * base / 10_000;
            let (open, close) = (drift(&mut rng), drift(&mut rng));
            let high = open.max(close) + rng.between(0, 50) * base / 10_000;
            let low = open.min(close) - rng.between(0, 50) * base / 10_000;
            // Whole 0.05 steps (every tick size in the bundled dump divides them).
            let px = |m: i64| (m / 50_000 * 5) as f64 / 100.0;
            let stamp = ist()
                .to_datetime(at)
                .strftime("%Y-%m-%dT%H:%M:%S+0530")
                .to_string();
            let mut row = json!([
                stamp,
                px(open),
                px(high),
                px(low),
                px(close),
                rng.between(100, 10_000)
            ]);
            if with_oi && let Some(list) = row.as_array_mut() {
                list.push(json!(0));
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ist_time(text: &str) -> Timestamp {
        let base = Timestamp::UNIX_EPOCH;
        parse_time(text, base).expect("time")
    }

    fn stamps(from: &str, to: &str, step: i64) -> Vec<String> {
        candle_starts(ist_time(from), ist_time(to), step)
            .into_iter()
            .map(crate::clock::kite_time)
            .collect()
    }

    #[test]
    fn candles_open_on_kites_grid() {
        assert_eq!(
            stamps("2026-11-24 09:16:30", "2026-11-24 09:30:00", 300),
            [
                "2026-11-24 09:20:00",
                "2026-11-24 09:25:00",
                "2026-11-24 09:30:00"
            ]
        );
        let hours = stamps("2026-11-24 00:00:00", "2026-11-24 23:59:59", 3_600);
        assert_eq!(
            hours.first().map(String::as_str),
            Some("2026-11-24 09:15:00")
        );
        assert_eq!(
            hours.last().map(String::as_str),
            Some("2026-11-24 15:15:00")
        );
        assert_eq!(hours.len(), 7);
        // Friday to Monday: the weekend has no candles; day candles are at midnight.
        assert_eq!(
            stamps("2026-11-20 09:15:00", "2026-11-23 15:30:00", 86_400),
            ["2026-11-20 00:00:00", "2026-11-23 00:00:00"]
        );
    }
}

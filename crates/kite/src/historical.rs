//! Historical candles: `GET /instruments/historical/{token}/{interval}` through the
//! official client, spending the `historical` budget (3 requests/s) and coming back
//! as exact prices.
//!
//! Kite caps how many days one request may span per interval (kite-api.md §10; the
//! figures are third-party and unconfirmed), so a longer range is split into
//! consecutive windows that never overlap, fetched one after another. Prices are read
//! through their shortest decimal text and kept to six decimals, not rounded to
//! today's tick: old candles may sit on an older tick grid. Times sent are IST, as
//! Kite reads them; times received carry their own offset.

use std::future::IntoFuture;

use chrono::{NaiveDate, NaiveDateTime};
use jiff::{SignedDuration, Timestamp};
use kitebreak_price::Price;

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::exact;
use crate::limits::Endpoint;
use crate::time;

/// A candle interval, as Kite names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    /// One minute.
    Minute,
    /// Three minutes.
    ThreeMinute,
    /// Five minutes.
    FiveMinute,
    /// Ten minutes.
    TenMinute,
    /// Fifteen minutes.
    FifteenMinute,
    /// Thirty minutes.
    ThirtyMinute,
    /// Sixty minutes.
    SixtyMinute,
    /// One trading day.
    Day,
}

impl Interval {
    /// Kite's path segment: `minute`, `3minute`, ..., `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::Minute => "minute",
            Interval::ThreeMinute => "3minute",
            Interval::FiveMinute => "5minute",
            Interval::TenMinute => "10minute",
            Interval::FifteenMinute => "15minute",
            Interval::ThirtyMinute => "30minute",
            Interval::SixtyMinute => "60minute",
            Interval::Day => "day",
        }
    }

    /// The longest range, in days, one request may span.
    pub fn max_days(self) -> i64 {
        match self {
            Interval::Minute => 60,
            Interval::ThreeMinute | Interval::FiveMinute | Interval::TenMinute => 100,
            Interval::FifteenMinute | Interval::ThirtyMinute => 200,
            Interval::SixtyMinute => 400,
            Interval::Day => 2000,
        }
    }
}

impl std::str::FromStr for Interval {
    type Err = KiteError;

    fn from_str(text: &str) -> Result<Interval, KiteError> {
        [
            Interval::Minute,
            Interval::ThreeMinute,
            Interval::FiveMinute,
            Interval::TenMinute,
            Interval::FifteenMinute,
            Interval::ThirtyMinute,
            Interval::SixtyMinute,
            Interval::Day,
        ]
        .into_iter()
        .find(|i| i.as_str() == text)
        .ok_or_else(|| KiteError::InvalidInput(format!("unknown candle interval {text:?}")))
    }
}

/// One historical candle with exact prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoricalCandle {
    /// When the candle opened.
    pub at: Timestamp,
    /// First traded price.
    pub open: Price,
    /// Highest traded price.
    pub high: Price,
    /// Lowest traded price.
    pub low: Price,
    /// Last traded price.
    pub close: Price,
    /// Units traded.
    pub volume: u64,
    /// Open interest, when asked for.
    pub oi: Option<u64>,
}

/// The request windows covering `[from, to]`: each spans at most the interval's
/// maximum, they do not overlap, and together they cover the range to the second.
pub fn windows(from: Timestamp, to: Timestamp, interval: Interval) -> Vec<(Timestamp, Timestamp)> {
    let span = SignedDuration::from_hours(24 * interval.max_days()) - SignedDuration::from_secs(1);
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.checked_add(span).map_or(to, |end| end.min(to));
        out.push((start, end));
        match end.checked_add(SignedDuration::from_secs(1)) {
            Ok(next) => start = next,
            Err(_) => break,
        }
    }
    out
}

impl KiteBroker {
    /// Candles of `key` (`EXCHANGE:SYMBOL`) from `from` to `to`, both inclusive,
    /// oldest first. Long ranges take several requests, each waiting for the
    /// historical budget; transient failures are retried like every read.
    pub async fn historical_candles(
        &self,
        key: &str,
        interval: Interval,
        from: Timestamp,
        to: Timestamp,
        with_oi: bool,
    ) -> Result<Vec<HistoricalCandle>, KiteError> {
        if to < from {
            return Err(KiteError::InvalidInput(format!(
                "candle range ends ({to}) before it starts ({from})"
            )));
        }
        let token = self.instrument(key)?.token;
        let mut candles = Vec::new();
        for (start, end) in windows(from, to, interval) {
            let (start, end) = (ist_naive(start)?, ist_naive(end)?);
            let rows = self
                .read(Endpoint::Historical, |c| {
                    c.historical_data(token, interval.as_str(), start, end, false, with_oi)
                        .into_future()
                })
                .await?;
            for row in &rows {
                candles.push(candle(row)?);
            }
        }
        Ok(candles)
    }
}

/// A candle from the client's floats, exactly.
fn candle(row: &kiteconnect::Candle) -> Result<HistoricalCandle, KiteError> {
    let at = Timestamp::new(
        row.date.timestamp(),
        i32::try_from(row.date.timestamp_subsec_nanos()).unwrap_or(0),
    )
    .map_err(|e| KiteError::Decode(format!("candle time {}: {e}", row.date)))?;
    let price = |value: f64| {
        exact::price_in_exact(value).map_err(|_| {
            KiteError::Decode(format!("candle at {at}: price {value} is not positive"))
        })
    };
    let oi = row
        .oi
        .map(|oi| {
            u64::try_from(oi)
                .map_err(|_| KiteError::Decode(format!("candle at {at}: open interest {oi}")))
        })
        .transpose()?;
    Ok(HistoricalCandle {
        at,
        open: price(row.open)?,
        high: price(row.high)?,
        low: price(row.low)?,
        close: price(row.close)?,
        volume: row.volume,
        oi,
    })
}

/// An instant as the IST wall-clock time Kite's `from`/`to` expect.
fn ist_naive(at: Timestamp) -> Result<NaiveDateTime, KiteError> {
    let local = at.to_zoned(time::ist()).datetime();
    let part = |n: i8| u32::try_from(n).unwrap_or(0);
    NaiveDate::from_ymd_opt(
        i32::from(local.year()),
        part(local.month()),
        part(local.day()),
    )
    .and_then(|d| {
        d.and_hms_opt(
            part(local.hour()),
            part(local.minute()),
            part(local.second()),
        )
    })
    .ok_or_else(|| KiteError::InvalidInput(format!("time {at} has no IST calendar form")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    #[test]
    fn long_ranges_split_into_windows_that_touch_but_never_overlap() {
        let from = at("2026-01-01T03:45:00Z");
        let to = at("2026-05-01T10:00:00Z");
        let parts = windows(from, to, Interval::Minute);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].0, from);
        assert_eq!(parts[2].1, to);
        for pair in parts.windows(2) {
            assert_eq!(
                pair[1].0.duration_since(pair[0].1),
                SignedDuration::from_secs(1)
            );
        }
        let most = SignedDuration::from_hours(24 * 60);
        assert!(parts.iter().all(|(a, b)| b.duration_since(*a) < most));
        assert_eq!(windows(from, from, Interval::Day), [(from, from)]);
        assert!(windows(to, from, Interval::Day).is_empty());
    }

    #[test]
    fn intervals_parse_from_kites_names_and_times_go_out_in_ist() {
        assert_eq!(
            "15minute".parse::<Interval>().ok(),
            Some(Interval::FifteenMinute)
        );
        assert!("2minute".parse::<Interval>().is_err());
        let naive = ist_naive(at("2026-11-24T03:45:00Z")).expect("converts");
        assert_eq!(naive.to_string(), "2026-11-24 09:15:00");
    }
}

//! Candle times: the formats TradingView, Kite and common CSV exports use.
//!
//! Accepted: RFC 3339 (`2024-01-02T09:15:00Z`, `...+05:30`), Kite's historical format
//! with an offset lacking its colon (`2017-12-15T09:15:00+0530`), civil date-times
//! (`2024-01-02 09:15:00`, `2024-01-02T09:15`) and dates (`2024-01-02`), and Unix
//! epoch seconds or milliseconds (`1704186900`, `1704186900000`). Times without an
//! offset are Indian Standard Time (UTC+05:30), the exchange's clock.

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, fmt::strtime};

/// Why a text is not a candle time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a time (expected ISO 8601 / RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]`, or epoch seconds/milliseconds)"
)]
pub struct TimeError {
    text: String,
}

/// Epoch values above this are milliseconds (10^11 seconds is the year 5138).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Parses a candle time; naive times are taken as IST.
pub fn parse_time(text: &str) -> Result<Timestamp, TimeError> {
    let text = text.trim();
    let error = || TimeError {
        text: text.chars().take(40).collect(),
    };
    if text.is_empty() {
        return Err(error());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let value: i64 = text.parse().map_err(|_| error())?;
        let parsed = if value >= MILLIS_THRESHOLD {
            Timestamp::from_millisecond(value)
        } else {
            Timestamp::from_second(value)
        };
        return parsed.map_err(|_| error());
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    if let Ok(zoned) = strtime::parse("%Y-%m-%dT%H:%M:%S%z", text).and_then(|t| t.to_timestamp()) {
        return Ok(zoned);
    }
    let civil = text
        .parse::<DateTime>()
        .or_else(|_| {
            text.parse::<Date>()
                .map(|date| date.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| error())?;
    ist().to_timestamp(civil).map_err(|_| error())
}

fn ist() -> TimeZone {
    // +05:30 has no DST; a fixed offset avoids depending on the system's tz database.
    TimeZone::fixed(Offset::from_seconds(19_800).expect("+05:30 is a valid offset"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp in test")
    }

    #[test]
    fn recognises_the_usual_formats() {
        let expected = utc("2024-01-02T03:45:00Z"); // 09:15 IST
        for text in [
            "2024-01-02T03:45:00Z",
            "2024-01-02T09:15:00+05:30",
            "2024-01-02T09:15:00+0530",
            "2024-01-02 09:15:00",
            "2024-01-02T09:15",
            "1704167100",
            "1704167100000",
        ] {
            assert_eq!(parse_time(text), Ok(expected), "{text}");
        }
        assert_eq!(parse_time("2004-08-19"), Ok(utc("2004-08-18T18:30:00Z")));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for text in [
            "",
            "yesterday",
            "2024-13-01",
            "12:00",
            "2024-01-02 25:00:00",
        ] {
            assert!(parse_time(text).is_err(), "{text:?} was accepted");
        }
    }
}

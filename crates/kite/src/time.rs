//! Kite's clock: timestamps without a zone are IST (UTC+05:30, no DST), and access
//! tokens die at 06:00 IST the day after they were made.

use chrono::{Datelike, NaiveDateTime, Timelike};
use jiff::Timestamp;
use jiff::civil::{DateTime, time};
use jiff::tz::{Offset, TimeZone};

use crate::error::KiteError;

/// IST as a fixed offset.
pub fn ist() -> TimeZone {
    TimeZone::fixed(Offset::from_seconds(19_800).unwrap_or(Offset::UTC))
}

/// A Kite `yyyy-mm-dd hh:mm:ss` (IST) as decoded by the client, as an instant.
pub fn ist_to_timestamp(value: NaiveDateTime) -> Result<Timestamp, KiteError> {
    let bad = |e: jiff::Error| KiteError::Decode(format!("timestamp {value}: {e}"));
    let year =
        i16::try_from(value.year()).map_err(|_| KiteError::Decode(format!("year {value}")))?;
    let small = |n: u32| i8::try_from(n).unwrap_or(0);
    let civil = DateTime::new(
        year,
        small(value.month()),
        small(value.day()),
        small(value.hour()),
        small(value.minute()),
        small(value.second()),
        0,
    )
    .map_err(bad)?;
    civil.to_zoned(ist()).map(|z| z.timestamp()).map_err(bad)
}

/// When an access token made at `login` expires: 06:00 IST on the next day (a login
/// between midnight and 06:00 IST still dies at 06:00 that same morning).
pub fn token_expiry(login: Timestamp) -> Timestamp {
    let local = login.to_zoned(ist());
    let six = time(6, 0, 0, 0);
    let day = if local.time() < six {
        local.date()
    } else {
        local.date().tomorrow().unwrap_or(local.date())
    };
    day.to_datetime(six)
        .to_zoned(ist())
        .map(|z| z.timestamp())
        .unwrap_or(login)
}

/// Today's date in IST (names the daily instrument dump).
pub fn ist_date(now: Timestamp) -> jiff::civil::Date {
    now.to_zoned(ist()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    #[test]
    fn tokens_expire_at_six_ist_next_morning() {
        assert_eq!(
            token_expiry(at("2026-11-25T03:45:00Z")),
            at("2026-11-26T00:30:00Z")
        );
        // 02:00 IST: the same morning's 06:00.
        assert_eq!(
            token_expiry(at("2026-11-24T20:30:00Z")),
            at("2026-11-25T00:30:00Z")
        );
    }

    #[test]
    fn kite_times_are_ist() {
        let naive = chrono::NaiveDate::from_ymd_opt(2021, 5, 31)
            .and_then(|d| d.and_hms_opt(9, 18, 57))
            .expect("valid");
        assert_eq!(
            ist_to_timestamp(naive).ok(),
            Some(at("2021-05-31T03:48:57Z"))
        );
    }
}

//! Zerodha's automatic intraday square-off: at 15:25 IST on a trading day, open MIS
//! orders are cancelled and MIS positions are closed at market.
//!
//! kitebreak squares off by itself earlier; the sim does what the broker would do if it
//! did not, so a missed square-off shows up in tests as the broker's orders, not silence.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};

use crate::clock::ist;

/// Minutes after midnight IST at which the broker squares off (15:25).
pub const SQUARE_OFF_MINUTE: i32 = 15 * 60 + 25;

/// The trading day to square off at `now`, unless it was already done (`last`).
pub fn due(now: Timestamp, last: Option<Date>) -> Option<Date> {
    let local = ist().to_datetime(now);
    let minutes = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let weekday = !matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
    let today = local.date();
    (weekday && minutes >= SQUARE_OFF_MINUTE && last != Some(today)).then_some(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_trading_day_after_fifteen_twenty_five() {
        // 2026-11-25 (Wednesday) 10:00 IST.
        let morning = Timestamp::from_second(1_795_581_000).expect("time");
        let at = |minutes: i64| {
            morning
                .checked_add(jiff::SignedDuration::from_mins(minutes))
                .expect("t")
        };
        assert_eq!(due(morning, None), None);
        let day = due(at(325), None).expect("15:25 is due");
        assert_eq!(due(at(330), Some(day)), None);
        // Saturday 28 Nov.
        assert_eq!(due(at(3 * 24 * 60 + 330), Some(day)), None);
    }
}

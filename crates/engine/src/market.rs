//! Market rules: the IST trading window, weekends, holidays and MIS square-off, as
//! pure functions of an instant. No clock is read here; the engine passes `now`.
//!
//! Entries are taken on a trading day from `open` until `square_off` (MIS) or
//! `close`; exits are never gated by these rules. From `square_off` on, every open
//! MIS trade is due to be squared off.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::Offset;

/// India Standard Time, UTC+05:30 (no daylight saving).
pub fn ist() -> Offset {
    Offset::from_seconds(19_800).unwrap_or(Offset::UTC)
}

/// `now` as an IST date and time of day.
pub fn ist_datetime(now: Timestamp) -> DateTime {
    ist().to_datetime(now)
}

/// The exchange's trading calendar and session, in IST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRules {
    /// Session open (entries from here).
    pub open: Time,
    /// Session close (no entries from here).
    pub close: Time,
    /// MIS square-off: open trades are exited and entries stop from here. `None` when
    /// the product is not intraday.
    pub square_off: Option<Time>,
    /// Days without trading besides Saturdays and Sundays.
    pub holidays: BTreeSet<Date>,
}

impl Default for MarketRules {
    /// NSE's equity session, 09:15–15:30 IST, MIS square-off at 15:15, no holidays.
    fn default() -> MarketRules {
        MarketRules {
            open: Time::constant(9, 15, 0, 0),
            close: Time::constant(15, 30, 0, 0),
            square_off: Some(Time::constant(15, 15, 0, 0)),
            holidays: BTreeSet::new(),
        }
    }
}

/// Why no entry may be taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketClosed {
    /// Saturday or Sunday.
    Weekend(Date),
    /// A listed holiday.
    Holiday(Date),
    /// Before the session opens.
    BeforeOpen(Time),
    /// At or after MIS square-off.
    AfterSquareOff(Time),
    /// At or after the session close.
    AfterClose(Time),
}

impl fmt::Display for MarketClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MarketClosed::Weekend(day) => write!(f, "market closed: {day} is a weekend"),
            MarketClosed::Holiday(day) => write!(f, "market closed: {day} is a holiday"),
            MarketClosed::BeforeOpen(open) => write!(f, "market closed: opens at {open} IST"),
            MarketClosed::AfterSquareOff(at) => {
                write!(f, "no new entries after the MIS square-off at {at} IST")
            }
            MarketClosed::AfterClose(close) => write!(f, "market closed: closed at {close} IST"),
        }
    }
}

impl MarketRules {
    /// True when `day` is a trading day: not a weekend, not a holiday.
    pub fn is_trading_day(&self, day: Date) -> bool {
        self.closed_day(day).is_none()
    }

    fn closed_day(&self, day: Date) -> Option<MarketClosed> {
        if matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            Some(MarketClosed::Weekend(day))
        } else if self.holidays.contains(&day) {
            Some(MarketClosed::Holiday(day))
        } else {
            None
        }
    }

    /// Whether a new entry may be taken at `now`, and if not, why.
    pub fn entry_allowed(&self, now: Timestamp) -> Result<(), MarketClosed> {
        let at = ist_datetime(now);
        if let Some(closed) = self.closed_day(at.date()) {
            return Err(closed);
        }
        let time = at.time();
        if time < self.open {
            return Err(MarketClosed::BeforeOpen(self.open));
        }
        if let Some(square_off) = self.square_off
            && time >= square_off
            && square_off < self.close
        {
            return Err(MarketClosed::AfterSquareOff(square_off));
        }
        if time >= self.close {
            return Err(MarketClosed::AfterClose(self.close));
        }
        Ok(())
    }

    /// True when open MIS trades must be squared off at `now`: a trading day at or
    /// after the square-off time. (Trades still open on a later morning were missed by
    /// a stopped engine; they are squared off at the next trading day's square-off.)
    pub fn square_off_due(&self, now: Timestamp) -> bool {
        let at = ist_datetime(now);
        self.square_off
            .is_some_and(|time| self.is_trading_day(at.date()) && at.time() >= time)
    }
}

#[cfg(test)]
mod tests;

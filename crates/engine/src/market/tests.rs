//! Table-driven tests of the market rules: window edges, weekends, holidays and
//! the square-off time.

use super::*;

/// An IST wall-clock time as an instant.
fn at(ist_text: &str) -> Timestamp {
    let text = format!("{ist_text}+05:30");
    text.parse().expect("test time")
}

fn rules_with_holiday() -> MarketRules {
    let mut rules = MarketRules::default();
    rules.holidays.insert(Date::constant(2026, 1, 26));
    rules
}

#[test]
fn entries_are_allowed_only_inside_the_window_on_trading_days() {
    let rules = rules_with_holiday();
    let nine_fifteen = Time::constant(9, 15, 0, 0);
    let quarter_past_three = Time::constant(15, 15, 0, 0);
    let cases = [
        // Tuesday 24 November 2026.
        (
            "2026-11-24T09:14:59",
            Err(MarketClosed::BeforeOpen(nine_fifteen)),
        ),
        ("2026-11-24T09:15:00", Ok(())),
        ("2026-11-24T12:00:00", Ok(())),
        ("2026-11-24T15:14:59", Ok(())),
        (
            "2026-11-24T15:15:00",
            Err(MarketClosed::AfterSquareOff(quarter_past_three)),
        ),
        (
            "2026-11-24T15:30:00",
            Err(MarketClosed::AfterSquareOff(quarter_past_three)),
        ),
        (
            "2026-11-28T10:00:00",
            Err(MarketClosed::Weekend(Date::constant(2026, 11, 28))),
        ),
        (
            "2026-11-29T10:00:00",
            Err(MarketClosed::Weekend(Date::constant(2026, 11, 29))),
        ),
        (
            "2026-01-26T10:00:00",
            Err(MarketClosed::Holiday(Date::constant(2026, 1, 26))),
        ),
    ];
    for (time, expected) in cases {
        assert_eq!(rules.entry_allowed(at(time)), expected, "at {time} IST");
    }
}

#[test]
fn without_square_off_entries_run_until_the_close() {
    let rules = MarketRules {
        square_off: None,
        ..MarketRules::default()
    };
    let close = Time::constant(15, 30, 0, 0);
    let cases = [
        ("2026-11-24T15:15:00", Ok(())),
        ("2026-11-24T15:29:59", Ok(())),
        ("2026-11-24T15:30:00", Err(MarketClosed::AfterClose(close))),
    ];
    for (time, expected) in cases {
        assert_eq!(rules.entry_allowed(at(time)), expected, "at {time} IST");
    }
}

#[test]
fn square_off_is_due_from_its_time_on_trading_days_only() {
    let rules = rules_with_holiday();
    let cases = [
        ("2026-11-24T15:14:59", true, false),
        ("2026-11-24T15:15:00", true, true),
        ("2026-11-24T23:59:59", true, true),
        ("2026-11-25T09:00:00", true, false),
        ("2026-11-28T15:20:00", true, false),
        ("2026-01-26T15:20:00", true, false),
        ("2026-11-24T15:20:00", false, false),
    ];
    for (time, mis, due) in cases {
        let rules = MarketRules {
            square_off: if mis { rules.square_off } else { None },
            ..rules.clone()
        };
        assert_eq!(
            rules.square_off_due(at(time)),
            due,
            "at {time} IST, MIS {mis}"
        );
    }
}

#[test]
fn an_instant_is_read_in_ist() {
    let utc: Timestamp = "2026-11-24T03:45:00Z".parse().expect("time");
    assert_eq!(ist_datetime(utc).time(), Time::constant(9, 15, 0, 0));
    assert_eq!(MarketRules::default().entry_allowed(utc), Ok(()));
}

#[test]
fn refusals_read_as_reasons() {
    let reason = MarketClosed::AfterSquareOff(Time::constant(15, 15, 0, 0)).to_string();
    assert_eq!(
        reason,
        "no new entries after the MIS square-off at 15:15:00 IST"
    );
}

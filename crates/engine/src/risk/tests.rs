//! Table-driven tests of the risk check.

use super::*;

fn price(text: &str) -> Price {
    text.parse().expect("test price")
}

/// Rupees (a price cannot be zero, money can).
fn money(text: &str) -> Money {
    if text == "0" {
        return Money::ZERO;
    }
    price(text).times(Quantity::ONE)
}

fn quantity(units: u32) -> Quantity {
    Quantity::new(units).expect("test quantity")
}

fn limits() -> RiskLimits {
    RiskLimits {
        max_open_trades: Some(2),
        max_order_quantity: Some(quantity(10)),
        max_order_value: Some(money("10000")),
        max_daily_loss: Some(money("500")),
    }
}

fn exposure(open_trades: u32, pnl: &str) -> Exposure {
    let pnl_today = if let Some(loss) = pnl.strip_prefix('-') {
        -money(loss)
    } else {
        money(pnl)
    };
    Exposure {
        open_trades,
        pnl_today,
    }
}

#[test]
fn each_limit_refuses_exactly_past_its_edge() {
    use KillSwitch::*;
    let cases = [
        (Active, exposure(0, "0"), "100", 10, Ok(())),
        (Active, exposure(1, "-499.99"), "1000", 10, Ok(())),
        (
            Halted,
            exposure(0, "0"),
            "100",
            1,
            Err(RiskRefusal::KillSwitch(Halted)),
        ),
        (
            Flatten,
            exposure(0, "0"),
            "100",
            1,
            Err(RiskRefusal::KillSwitch(Flatten)),
        ),
        (
            Active,
            exposure(2, "0"),
            "100",
            1,
            Err(RiskRefusal::MaxOpenTrades(2)),
        ),
        (
            Active,
            exposure(0, "0"),
            "100",
            11,
            Err(RiskRefusal::MaxOrderQuantity {
                limit: quantity(10),
                quantity: quantity(11),
            }),
        ),
        (
            Active,
            exposure(0, "0"),
            "1000.000001",
            10,
            Err(RiskRefusal::MaxOrderValue {
                limit: money("10000"),
                value: money("10000.00001"),
            }),
        ),
        (
            Active,
            exposure(0, "-500"),
            "100",
            1,
            Err(RiskRefusal::MaxDailyLoss {
                limit: money("500"),
                pnl: -money("500"),
            }),
        ),
    ];
    for (switch, exposure, at, units, expected) in cases {
        let got = limits().check_entry(switch, exposure, Some(price(at)), quantity(units));
        assert_eq!(got, expected, "{switch:?} {exposure:?} {at} x {units}");
    }
}

#[test]
fn no_limits_allow_any_entry_while_active() {
    let got = RiskLimits::default().check_entry(
        KillSwitch::Active,
        exposure(1000, "-1000000"),
        Some(price("99999")),
        quantity(100_000),
    );
    assert_eq!(got, Ok(()));
}

#[test]
fn an_unknown_price_is_refused_only_under_a_value_limit() {
    let no_value = RiskLimits {
        max_order_value: None,
        ..limits()
    };
    let at_rest = exposure(0, "0");
    let one = quantity(1);
    assert_eq!(
        no_value.check_entry(KillSwitch::Active, at_rest, None, one),
        Ok(())
    );
    assert_eq!(
        limits().check_entry(KillSwitch::Active, at_rest, None, one),
        Err(RiskRefusal::NoPrice)
    );
}

#[test]
fn kill_switch_names_round_trip() {
    for state in [KillSwitch::Active, KillSwitch::Halted, KillSwitch::Flatten] {
        assert_eq!(KillSwitch::parse(state.as_str()), Some(state));
    }
    assert_eq!(KillSwitch::parse("stopped"), None);
}

#[test]
fn refusals_read_as_reasons() {
    let reason = RiskRefusal::KillSwitch(KillSwitch::Halted).to_string();
    assert_eq!(reason, "risk: kill switch is halted, no new entries");
}

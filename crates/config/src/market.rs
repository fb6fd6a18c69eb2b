//! `[market]` and `[risk]`, validated into [`MarketClock`] and [`RiskLimits`].
//!
//! Both are checked at start, then converted into the engine's own types
//! (`kitebreak_engine::market::MarketRules`, `kitebreak_engine::risk::RiskLimits`),
//! which the engine enforces.

use std::collections::BTreeSet;
use std::path::Path;

use jiff::civil::{Date, Time};
use kitebreak_engine::market::MarketRules;
use kitebreak_engine::risk;
use kitebreak_price::{Price, Quantity};

use crate::orders::Product;

use crate::tree::{KillSwitch, MarketSection, RiskSection};

/// The IST trading clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketClock {
    /// Session open, IST.
    pub open: Time,
    /// Session close, IST.
    pub close: Time,
    /// MIS square-off time, IST (between open and close).
    pub square_off: Time,
    /// Days without trading besides weekends: `holidays` and `holidays_file` together.
    pub holidays: BTreeSet<Date>,
    /// False when `market.enforce = false`: no clock is enforced.
    pub enforce: bool,
}

impl MarketClock {
    /// The engine's rules (`None` when not enforced); MIS square-off applies only
    /// when orders are placed as MIS.
    pub fn rules(&self, product: Product) -> Option<MarketRules> {
        self.enforce.then(|| MarketRules {
            open: self.open,
            close: self.close,
            square_off: (product == Product::Mis).then_some(self.square_off),
            holidays: self.holidays.clone(),
        })
    }
}

/// Risk limits; `None` means no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskLimits {
    /// Most trades open at once.
    pub max_open_trades: Option<u32>,
    /// Largest quantity of one order.
    pub max_order_quantity: Option<Quantity>,
    /// Largest value of one order, rupees.
    pub max_order_value: Option<Price>,
    /// Day's loss at which entries stop, rupees.
    pub max_daily_loss: Option<Price>,
    /// The kill switch at start.
    pub kill_switch: KillSwitch,
}

impl RiskLimits {
    /// The engine's limits (rupee amounts as exact [`kitebreak_price::Money`]).
    pub fn engine_limits(&self) -> risk::RiskLimits {
        let rupees = |price: Price| price.times(Quantity::ONE);
        risk::RiskLimits {
            max_open_trades: self.max_open_trades,
            max_order_quantity: self.max_order_quantity,
            max_order_value: self.max_order_value.map(rupees),
            max_daily_loss: self.max_daily_loss.map(rupees),
        }
    }

    /// The engine's kill switch at a first start (a state stored by the engine wins).
    pub fn engine_kill_switch(&self) -> risk::KillSwitch {
        match self.kill_switch {
            KillSwitch::Active => risk::KillSwitch::Active,
            KillSwitch::Halted => risk::KillSwitch::Halted,
            KillSwitch::Flatten => risk::KillSwitch::Flatten,
        }
    }

    /// True when any limit is set or the kill switch is not `active`.
    pub fn any_set(&self) -> bool {
        self.max_open_trades.is_some()
            || self.max_order_quantity.is_some()
            || self.max_order_value.is_some()
            || self.max_daily_loss.is_some()
            || self.kill_switch != KillSwitch::Active
    }
}

/// A problem with one `[market]`/`[risk]` key: (key, message).
pub(crate) type KeyProblem = (&'static str, String);

/// Checks the session times and reads the holidays file.
pub(crate) fn market_clock(section: &MarketSection) -> Result<MarketClock, KeyProblem> {
    if section.open >= section.close {
        return Err((
            "market.close",
            format!(
                "must be after market.open ({}), got {}",
                section.open, section.close
            ),
        ));
    }
    if section.square_off <= section.open || section.square_off > section.close {
        return Err((
            "market.square_off",
            format!(
                "must be after market.open ({}) and not after market.close ({}), got {}",
                section.open, section.close, section.square_off
            ),
        ));
    }
    let mut holidays: BTreeSet<Date> = section.holidays.iter().copied().collect();
    if let Some(path) = &section.holidays_file {
        holidays.extend(read_holidays(path).map_err(|message| ("market.holidays_file", message))?);
    }
    Ok(MarketClock {
        open: section.open,
        close: section.close,
        square_off: section.square_off,
        holidays,
        enforce: section.enforce,
    })
}

/// One `YYYY-MM-DD` per line; blank lines and `#` comments are skipped.
fn read_holidays(path: &Path) -> Result<Vec<Date>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut dates = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let date = line.parse::<Date>().map_err(|_| {
            format!(
                "{} line {}: `{line}` is not a date (YYYY-MM-DD)",
                path.display(),
                index + 1
            )
        })?;
        dates.push(date);
    }
    Ok(dates)
}

/// Checks that set limits are positive.
pub(crate) fn risk_limits(section: &RiskSection) -> Result<RiskLimits, KeyProblem> {
    if section.max_open_trades == Some(0) {
        return Err((
            "risk.max_open_trades",
            "must be at least 1 (leave it out for no limit)".into(),
        ));
    }
    Ok(RiskLimits {
        max_open_trades: section.max_open_trades,
        max_order_quantity: section.max_order_quantity,
        max_order_value: section.max_order_value,
        max_daily_loss: section.max_daily_loss,
        kill_switch: section.kill_switch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_times_must_be_in_order() {
        let mut section = MarketSection::default();
        assert!(market_clock(&section).is_ok());
        section.square_off = Time::constant(15, 45, 0, 0);
        assert_eq!(
            market_clock(&section).map_err(|e| e.0),
            Err("market.square_off")
        );
        section.close = Time::constant(9, 0, 0, 0);
        assert_eq!(market_clock(&section).map_err(|e| e.0), Err("market.close"));
    }

    #[test]
    fn risk_limits_report_whether_any_is_set() {
        let mut section = RiskSection::default();
        assert!(!risk_limits(&section).expect("valid").any_set());
        section.kill_switch = KillSwitch::Halted;
        assert!(risk_limits(&section).expect("valid").any_set());
        section.max_open_trades = Some(0);
        assert_eq!(
            risk_limits(&section).map_err(|e| e.0),
            Err("risk.max_open_trades")
        );
    }

    #[test]
    fn holidays_file_lines_are_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("holidays.txt");
        std::fs::write(
            &path,
            "# NSE 2026\n2026-01-26  # Republic Day\n\n2026-03-03\n",
        )
        .expect("write");
        let section = MarketSection {
            holidays: vec![Date::constant(2026, 1, 26)],
            holidays_file: Some(path.clone()),
            ..MarketSection::default()
        };
        let clock = market_clock(&section).expect("valid");
        assert_eq!(clock.holidays.len(), 2);
        std::fs::write(&path, "2026-01-26\nRepublic Day\n").expect("write");
        let error = market_clock(&section).expect_err("bad line");
        assert!(error.1.contains("line 2"), "{}", error.1);
    }
}

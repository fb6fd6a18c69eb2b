//! Conversions between domain values and SQLite columns.
//!
//! Prices and ratios are INTEGER micro-units, money is TEXT decimal, times are
//! RFC 3339 TEXT. Reading back is fallible: a value that does not parse means the
//! database was edited by hand or is corrupt, and is reported as such, never guessed.

use jiff::Timestamp;
use kitebreak_price::{Price, Quantity, Ratio};
use kitebreak_strategy::{Direction, ExitReason};

use crate::EngineError;

pub(super) fn price_from(micros: i64, column: &str) -> Result<Price, EngineError> {
    Price::from_micros(micros).map_err(|e| corrupt(column, e))
}

pub(super) fn price_opt(micros: Option<i64>, column: &str) -> Result<Option<Price>, EngineError> {
    micros.map(|m| price_from(m, column)).transpose()
}

pub(super) fn ratio_from(micros: i64, column: &str) -> Result<Ratio, EngineError> {
    Ratio::from_micros(micros).map_err(|e| corrupt(column, e))
}

pub(super) fn quantity_from(units: i64, column: &str) -> Result<Quantity, EngineError> {
    let units = u32::try_from(units).map_err(|e| corrupt(column, e))?;
    Quantity::new(units).map_err(|e| corrupt(column, e))
}

pub(super) fn time_text(time: Option<Timestamp>) -> Option<String> {
    time.map(|t| t.to_string())
}

pub(super) fn time_opt(
    text: Option<String>,
    column: &str,
) -> Result<Option<Timestamp>, EngineError> {
    text.map(|t| t.parse::<Timestamp>().map_err(|e| corrupt(column, e)))
        .transpose()
}

pub(super) fn direction_text(direction: Direction) -> &'static str {
    match direction {
        Direction::Long => "long",
        Direction::Short => "short",
    }
}

pub(super) fn direction_from(text: &str) -> Result<Direction, EngineError> {
    match text {
        "long" => Ok(Direction::Long),
        "short" => Ok(Direction::Short),
        other => Err(corrupt("direction", other)),
    }
}

pub(super) fn reason_text(reason: ExitReason) -> &'static str {
    match reason {
        ExitReason::Profit => "profit",
        ExitReason::Loss => "loss",
        ExitReason::Manual => "manual",
    }
}

pub(super) fn corrupt(column: &str, cause: impl std::fmt::Display) -> EngineError {
    EngineError::Corrupt(format!("column {column}: {cause}"))
}

pub(super) fn now_text() -> String {
    Timestamp::now().to_string()
}

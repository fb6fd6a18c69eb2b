//! The one error type of the candle reader.

use std::path::PathBuf;

use kitebreak_price::NumberError;
use kitebreak_strategy::StrategyError;

use crate::TimeError;

/// Why a candle file could not be read; every row-level error names its line.
#[derive(Debug, thiserror::Error)]
pub enum CandleFileError {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid CSV at this line (wrong field count, bad UTF-8, ...).
    #[error("line {line}: malformed CSV")]
    Csv {
        /// 1-based line number.
        line: u64,
        /// The CSV parser's error.
        #[source]
        source: csv::Error,
    },
    /// The header lacks a required column.
    #[error("line 1: no `{column}` column in the header ({header})")]
    MissingColumn {
        /// The column that is required.
        column: &'static str,
        /// The header as found.
        header: String,
    },
    /// Two header columns claim the same role.
    #[error("line 1: more than one {role} column in the header ({header})")]
    DuplicateColumn {
        /// `time`, `open`, `high`, ...
        role: &'static str,
        /// The header as found.
        header: String,
    },
    /// A price or volume that is not an exact non-negative number.
    #[error("line {line}: column `{column}`")]
    BadNumber {
        /// 1-based line number.
        line: u64,
        /// The column's role.
        column: &'static str,
        /// Why the value is not accepted.
        #[source]
        source: NumberError,
    },
    /// A time that is not in a recognised format.
    #[error("line {line}: column `time`")]
    BadTime {
        /// 1-based line number.
        line: u64,
        /// Why the time is not accepted.
        #[source]
        source: TimeError,
    },
    /// High, low and close contradict each other (only in strict mode).
    #[error("line {line}")]
    InconsistentCandle {
        /// 1-based line number.
        line: u64,
        /// Which relation fails.
        #[source]
        source: StrategyError,
    },
}

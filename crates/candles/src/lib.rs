//! Reading candles from files, for `trace`, `backtest`, `replay` and the demo feed.
//!
//! A CSV file has a header row; columns are matched by name, ignoring case: a time
//! column (`time`, `date`, `datetime`, `timestamp`, or a blank first header, as pandas
//! writes), `open` (optional), `high`, `low`, `close`, `volume` (optional). Other
//! columns are ignored. Every problem is reported with its line number and nothing is
//! guessed: a value that is not an exact price stops the read.
//!
//! Times are parsed by [`parse_time`], which the webhook uses as well.

mod error;
mod reader;
mod time;

pub use error::CandleFileError;
pub use reader::{CandleReader, CandleRecord, Columns};
pub use time::{TimeError, parse_time};

//! [`CandleReader`]: a streaming CSV reader yielding one [`CandleRecord`] per row.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use jiff::Timestamp;
use kitebreak_price::{NumberError, Price};
use kitebreak_strategy::Candle;

use crate::{CandleFileError, parse_time};

/// One row of a candle file.
#[derive(Debug, Clone, PartialEq)]
pub struct CandleRecord {
    /// 1-based line number in the file.
    pub line: u64,
    /// The candle's time, when the file has a time column.
    pub time: Option<Timestamp>,
    /// Opening price, when the file has one.
    pub open: Option<Price>,
    /// High, low and close (taken as given: see [`CandleReader::strict`]).
    pub candle: Candle,
    /// Traded volume, when the file has one. Informational only, never in a decision.
    pub volume: Option<f64>,
}

/// Which field of a row holds each part of a candle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// The time column, if any.
    pub time: Option<usize>,
    /// The open column, if any.
    pub open: Option<usize>,
    /// The high column.
    pub high: usize,
    /// The low column.
    pub low: usize,
    /// The close column.
    pub close: usize,
    /// The volume column, if any.
    pub volume: Option<usize>,
}

impl Columns {
    /// Finds the columns in a header row, by name and ignoring case.
    pub fn from_header(header: &csv::StringRecord) -> Result<Columns, CandleFileError> {
        let text = header.iter().collect::<Vec<_>>().join(",");
        let mut found: [Option<usize>; 6] = [None; 6];
        const ROLES: [&str; 6] = ["time", "open", "high", "low", "close", "volume"];
        for (index, name) in header.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            let role = match name.as_str() {
                "" if index == 0 => 0,
                "time" | "date" | "datetime" | "timestamp" => 0,
                "open" => 1,
                "high" => 2,
                "low" => 3,
                "close" => 4,
                "volume" => 5,
                _ => continue,
            };
            if found[role].replace(index).is_some() {
                return Err(CandleFileError::DuplicateColumn {
                    role: ROLES[role],
                    header: text,
                });
            }
        }
        let required = |role: usize| {
            found[role].ok_or_else(|| CandleFileError::MissingColumn {
                column: ROLES[role],
                header: text.clone(),
            })
        };
        Ok(Columns {
            time: found[0],
            open: found[1],
            high: required(2)?,
            low: required(3)?,
            close: required(4)?,
            volume: found[5],
        })
    }
}

/// Reads candles from CSV, row by row.
pub struct CandleReader<R> {
    rows: csv::StringRecordsIntoIter<R>,
    columns: Columns,
    strict: bool,
}

impl CandleReader<File> {
    /// Opens a CSV file and reads its header.
    pub fn open(path: &Path) -> Result<CandleReader<File>, CandleFileError> {
        let file = File::open(path).map_err(|source| CandleFileError::Io {
            path: path.to_owned(),
            source,
        })?;
        CandleReader::new(file)
    }
}

impl<R: Read> CandleReader<R> {
    /// Reads the header from `input`.
    pub fn new(input: R) -> Result<CandleReader<R>, CandleFileError> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let header = csv
            .headers()
            .map_err(|source| CandleFileError::Csv { line: 1, source })?;
        let columns = Columns::from_header(header)?;
        Ok(CandleReader {
            rows: csv.into_records(),
            columns,
            strict: false,
        })
    }

    /// Refuse rows whose low is above the high or whose close lies outside
    /// low..high. By default such rows are passed on as given (real data files, and
    /// the original service, have them); callers may warn.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The columns found in the header.
    pub fn columns(&self) -> Columns {
        self.columns
    }

    fn record(&self, row: &csv::StringRecord) -> Result<CandleRecord, CandleFileError> {
        let line = row.position().map_or(0, csv::Position::line);
        let field = |index: usize| row.get(index).unwrap_or("");
        let price = |index: usize, column: &'static str| {
            field(index)
                .parse::<Price>()
                .map_err(|source| CandleFileError::BadNumber {
                    line,
                    column,
                    source,
                })
        };
        let optional = |index: Option<usize>| index.map(field).filter(|text| !text.is_empty());
        let time = optional(self.columns.time)
            .map(parse_time)
            .transpose()
            .map_err(|source| CandleFileError::BadTime { line, source })?;
        let open = match optional(self.columns.open) {
            Some(_) => self.columns.open.map(|i| price(i, "open")).transpose()?,
            None => None,
        };
        let candle = Candle {
            high: price(self.columns.high, "high")?,
            low: price(self.columns.low, "low")?,
            close: price(self.columns.close, "close")?,
        };
        if self.strict {
            candle
                .check_consistent()
                .map_err(|source| CandleFileError::InconsistentCandle { line, source })?;
        }
        let volume = optional(self.columns.volume)
            .map(|text| {
                parse_volume(text).map_err(|source| CandleFileError::BadNumber {
                    line,
                    column: "volume",
                    source,
                })
            })
            .transpose()?;
        Ok(CandleRecord {
            line,
            time,
            open,
            candle,
            volume,
        })
    }
}

fn parse_volume(text: &str) -> Result<f64, NumberError> {
    match text.parse::<f64>() {
        Ok(volume) if volume.is_finite() && volume >= 0.0 => Ok(volume),
        Ok(volume) if volume.is_finite() => Err(NumberError::Negative {
            what: "volume",
            text: text.to_owned(),
        }),
        Ok(_) => Err(NumberError::NotFinite { what: "volume" }),
        Err(_) => Err(NumberError::Malformed {
            text: text.chars().take(40).collect(),
        }),
    }
}

impl<R: Read> Iterator for CandleReader<R> {
    type Item = Result<CandleRecord, CandleFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = match self.rows.next()? {
            Ok(row) => row,
            Err(source) => {
                let line = source.position().map_or(0, csv::Position::line);
                return Some(Err(CandleFileError::Csv { line, source }));
            }
        };
        Some(self.record(&row))
    }
}

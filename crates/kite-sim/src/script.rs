//! Reading price scripts: `time,symbol,price` rows, or one `time,price` file per symbol.
//!
//! Times may be RFC 3339, `YYYY-MM-DD HH:MM:SS` (IST), `YYYY-MM-DD` (midnight IST),
//! `HH:MM:SS` (IST, on the day of `base`), or whole seconds after `base`. Symbols are `EXCHANGE:SYMBOL` or a bare NSE
//! symbol; one that no dump lists is added as an NSE equity with tick 0.05.

use std::path::Path;

use jiff::civil::{DateTime, Time};
use jiff::{SignedDuration, Timestamp};
use kitebreak_price::Price;

use crate::clock::ist;
use crate::error::SimError;
use crate::instruments::Catalogue;
use crate::market::ScriptedPrice;

/// Parses one time cell.
pub fn parse_time(text: &str, base: Timestamp) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return base.checked_add(SignedDuration::from_secs(seconds)).ok();
    }
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    if let Ok(local) = text.replacen(' ', "T", 1).parse::<DateTime>() {
        return ist().to_timestamp(local).ok();
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return ist().to_timestamp(date.to_datetime(Time::midnight())).ok();
    }
    let time = text.parse::<Time>().ok()?;
    let day = ist().to_datetime(base).date();
    ist().to_timestamp(day.to_datetime(time)).ok()
}

/// Reads a script file or directory, adding unknown symbols to `catalogue`.
pub fn load(
    path: &Path,
    base: Timestamp,
    catalogue: &mut Catalogue,
) -> Result<Vec<ScriptedPrice>, SimError> {
    if path.is_dir() {
        let mut all = Vec::new();
        let entries = std::fs::read_dir(path).map_err(|source| io(path, source))?;
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "csv"))
        {
            let symbol = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            all.extend(read(file, Some(&symbol), base, catalogue)?);
        }
        return Ok(all);
    }
    read(path, None, base, catalogue)
}

fn io(path: &Path, source: std::io::Error) -> SimError {
    SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(
    path: &Path,
    symbol: Option<&str>,
    base: Timestamp,
    catalogue: &mut Catalogue,
) -> Result<Vec<ScriptedPrice>, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| io(path, source))?;
    parse(&text, path, symbol, base, catalogue)
}

/// Parses script text; `symbol` is set for per-symbol files (`time,price`).
pub fn parse(
    text: &str,
    origin: &Path,
    symbol: Option<&str>,
    base: Timestamp,
    catalogue: &mut Catalogue,
) -> Result<Vec<ScriptedPrice>, SimError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| csv_error(origin, 1, e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let time_col =
        column("time").ok_or_else(|| csv_error(origin, 1, "missing column `time`".into()))?;
    let price_col =
        column("price").ok_or_else(|| csv_error(origin, 1, "missing column `price`".into()))?;
    let symbol_col = column("symbol");
    if symbol.is_none() && symbol_col.is_none() {
        return Err(csv_error(origin, 1, "missing column `symbol`".into()));
    }
    let mut script = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        let record = record.map_err(|e| csv_error(origin, line, e.to_string()))?;
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        let at = parse_time(cell(time_col), base)
            .ok_or_else(|| csv_error(origin, line, format!("bad time {:?}", cell(time_col))))?;
        let price = cell(price_col)
            .parse::<Price>()
            .map_err(|e| csv_error(origin, line, e.to_string()))?;
        let name = symbol.or_else(|| symbol_col.map(cell)).unwrap_or_default();
        let token = resolve(name, catalogue);
        script.push(ScriptedPrice { at, token, price });
    }
    Ok(script)
}

fn resolve(name: &str, catalogue: &mut Catalogue) -> u32 {
    let key = if name.contains(':') {
        name.to_string()
    } else {
        format!("NSE:{name}")
    };
    if let Some(instrument) = catalogue.get(&key) {
        return instrument.token;
    }
    let bare = key.split_once(':').map_or(name, |(_, s)| s);
    catalogue.add_nse_equity(bare)
}

fn csv_error(path: &Path, line: u64, message: String) -> SimError {
    SimError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_new_symbols() {
        let base = Timestamp::from_second(1_764_048_600).expect("11:00 IST");
        let mut catalogue = Catalogue::default();
        let text = "time,symbol,price\n10,NEWCO,101.5\n11:00:05,NSE:NEWCO,102\n2025-11-25 11:00:07,NEWCO,103\n";
        let script = parse(text, Path::new("p.csv"), None, base, &mut catalogue).expect("parses");
        let seconds: Vec<i64> = script
            .iter()
            .map(|s| s.at.as_second() - base.as_second())
            .collect();
        assert_eq!(seconds, vec![10, 5, 7]);
        assert!(catalogue.get("NSE:NEWCO").is_some_and(|i| i.tick.is_some()));
        let midnight = parse_time("2025-11-26", base).expect("a date");
        assert_eq!(crate::clock::kite_time(midnight), "2025-11-26 00:00:00");
    }

    #[test]
    fn a_directory_holds_one_file_per_symbol() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("INFY.csv"), "time,price\n0,1500\n1,1501\n").expect("write");
        std::fs::write(dir.path().join("NEWCO.csv"), "time,price\n0,10\n").expect("write");
        let base = Timestamp::from_second(1_764_048_600).expect("time");
        let mut catalogue = Catalogue::default();
        let script = load(dir.path(), base, &mut catalogue).expect("loads");
        assert_eq!(script.len(), 3);
        assert!(catalogue.get("NSE:INFY").is_some() && catalogue.get("NSE:NEWCO").is_some());
    }
}

//! [`Catalogue`]: the instruments the sim trades, read from a Kite instrument dump.
//!
//! Rows keep their original CSV text so `GET /instruments` answers with exactly what was
//! loaded. Lookups go by `EXCHANGE:TRADINGSYMBOL` (the quote key) and by token.

use std::collections::HashMap;
use std::path::Path;

use kitebreak_price::Price;

use crate::error::SimError;

/// The dump bundled with the sim: well-known NSE equities and two indices.
pub const DEFAULT_INSTRUMENTS: &str = include_str!("../data/instruments-nse-common.csv");

/// The header of Kite's instrument dump.
pub const HEADER: [&str; 12] = [
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
];

/// Segment code (low byte of the token) of indices.
pub const SEGMENT_INDICES: u32 = 9;

/// One row of the dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// The instrument token (`exchange_token << 8 | segment`).
    pub token: u32,
    /// `tradingsymbol`.
    pub tradingsymbol: String,
    /// `exchange` (NSE, BSE, NFO, ...).
    pub exchange: String,
    /// Tick size; `None` for rows that give 0 (indices).
    pub tick: Option<Price>,
    /// Lot size (1 for cash equities; 0 in the dump for indices).
    pub lot_size: u32,
    /// Price from the dump, if it gave one above zero.
    pub dump_price: Option<Price>,
    /// The row's twelve fields as read.
    pub fields: Vec<String>,
}

impl Instrument {
    /// `EXCHANGE:TRADINGSYMBOL`, the key of the quote APIs.
    pub fn key(&self) -> String {
        format!("{}:{}", self.exchange, self.tradingsymbol)
    }

    /// Segment code: the token's low byte.
    pub fn segment(&self) -> u32 {
        self.token & 0xff
    }

    /// Indices are not tradable and have their own ticker packets.
    pub fn is_index(&self) -> bool {
        self.segment() == SEGMENT_INDICES
    }

    /// An NSE equity added because a price script named it: tick 0.05, lot 1.
    pub fn nse_equity(tradingsymbol: &str, exchange_token: u32) -> Instrument {
        let token = (exchange_token << 8) | 1;
        let fields = [
            token.to_string(),
            exchange_token.to_string(),
            tradingsymbol.to_string(),
            tradingsymbol.to_string(),
            "0.0".into(),
            String::new(),
            "0.0".into(),
            "0.05".into(),
            "1".into(),
            "EQ".into(),
            "NSE".into(),
            "NSE".into(),
        ];
        Instrument {
            token,
            tradingsymbol: tradingsymbol.to_string(),
            exchange: "NSE".into(),
            tick: Price::from_scaled(5, 2).ok(),
            lot_size: 1,
            dump_price: None,
            fields: fields.into(),
        }
    }

    fn from_record(record: &csv::StringRecord) -> Result<Instrument, String> {
        if record.len() != HEADER.len() {
            return Err(format!(
                "expected {} fields, got {}",
                HEADER.len(),
                record.len()
            ));
        }
        let field = |i: usize| record.get(i).unwrap_or_default().trim();
        let token = field(0)
            .parse::<u32>()
            .map_err(|_| format!("bad instrument_token {:?}", field(0)))?;
        let tick = field(7).parse::<Price>().ok();
        let lot_size = field(8)
            .parse::<f64>()
            .map_err(|_| "bad lot_size".to_string())?;
        Ok(Instrument {
            token,
            tradingsymbol: field(2).to_string(),
            exchange: field(11).to_string(),
            tick,
            // Lot sizes are whole numbers in every dump.
            lot_size: lot_size.max(0.0) as u32,
            dump_price: field(4).parse::<Price>().ok(),
            fields: record.iter().map(str::to_string).collect(),
        })
    }
}

/// All instruments, with lookups.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    rows: Vec<Instrument>,
    by_key: HashMap<String, usize>,
    by_token: HashMap<u32, usize>,
}

impl Catalogue {
    /// Reads a dump from CSV text; `origin` names it in errors.
    pub fn from_csv(text: &str, origin: &Path) -> Result<Catalogue, SimError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut catalogue = Catalogue::default();
        for (index, record) in reader.records().enumerate() {
            let line = index as u64 + 2;
            let bad = |message: String| SimError::Csv {
                path: origin.to_path_buf(),
                line,
                message,
            };
            let record = record.map_err(|e| bad(e.to_string()))?;
            catalogue.insert(Instrument::from_record(&record).map_err(bad)?);
        }
        Ok(catalogue)
    }

    /// Reads a dump from a file.
    pub fn from_file(path: &Path) -> Result<Catalogue, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Catalogue::from_csv(&text, path)
    }

    /// Adds a row; a row with an existing key or token replaces nothing (first wins).
    pub fn insert(&mut self, instrument: Instrument) {
        let key = instrument.key();
        if self.by_key.contains_key(&key) || self.by_token.contains_key(&instrument.token) {
            return;
        }
        self.by_key.insert(key, self.rows.len());
        self.by_token.insert(instrument.token, self.rows.len());
        self.rows.push(instrument);
    }

    /// Adds an NSE equity for a symbol no dump holds, with an unused token.
    pub fn add_nse_equity(&mut self, tradingsymbol: &str) -> u32 {
        if let Some(existing) = self.get(&format!("NSE:{tradingsymbol}")) {
            return existing.token;
        }
        // Synthetic exchange tokens start high to stay clear of real ones.
        let mut exchange_token = 9_000_000 + self.rows.len() as u32;
        while self.by_token.contains_key(&((exchange_token << 8) | 1)) {
            exchange_token += 1;
        }
        let instrument = Instrument::nse_equity(tradingsymbol, exchange_token);
        let token = instrument.token;
        self.insert(instrument);
        token
    }

    /// By `EXCHANGE:TRADINGSYMBOL`.
    pub fn get(&self, key: &str) -> Option<&Instrument> {
        self.by_key.get(key).and_then(|&i| self.rows.get(i))
    }

    /// By instrument token.
    pub fn by_token(&self, token: u32) -> Option<&Instrument> {
        self.by_token.get(&token).and_then(|&i| self.rows.get(i))
    }

    /// Every row, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.rows.iter()
    }

    /// The dump as Kite serves it, optionally for one exchange only.
    pub fn to_csv(&self, exchange: Option<&str>) -> String {
        let mut out = HEADER.join(",");
        out.push('\n');
        let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
        for row in self
            .rows
            .iter()
            .filter(|r| exchange.is_none_or(|e| r.exchange == e))
        {
            // Writing to a Vec cannot fail.
            let _ = writer.write_record(&row.fields);
        }
        let body = writer.into_inner().unwrap_or_default();
        out.push_str(&String::from_utf8_lossy(&body));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_dump_loads_with_tokens_and_ticks() {
        let catalogue =
            Catalogue::from_csv(DEFAULT_INSTRUMENTS, Path::new("default")).expect("loads");
        let infy = catalogue.get("NSE:INFY").expect("INFY");
        assert_eq!(infy.token, 408_065);
        assert_eq!(infy.tick.map(|t| t.to_string()), Some("0.05".into()));
        let nifty = catalogue.get("NSE:NIFTY 50").expect("index");
        assert!(nifty.is_index());
        assert_eq!(nifty.tick, None);
        assert!(
            catalogue
                .to_csv(Some("NSE"))
                .starts_with("instrument_token,")
        );
    }

    #[test]
    fn symbols_added_from_a_script_are_nse_equities() {
        let mut catalogue = Catalogue::default();
        let token = catalogue.add_nse_equity("NEWCO");
        let row = catalogue.by_token(token).expect("added");
        assert_eq!(row.key(), "NSE:NEWCO");
        assert_eq!(row.segment(), 1);
        assert_eq!(catalogue.add_nse_equity("NEWCO"), token);
    }
}

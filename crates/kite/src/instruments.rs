//! The daily instrument dump: fetched once per IST day, cached in the data directory,
//! and indexed by `EXCHANGE:SYMBOL` and by instrument token.
//!
//! Kite reuses instrument tokens for derivatives after expiry, so the key is the
//! exchange plus trading symbol (kite-api.md §4); tokens are only for the ticker.
//! Floats of the dump (tick size) become exact [`Price`]s here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use kitebreak_price::Price;

use crate::error::KiteError;
use crate::{exact, time};

/// One tradable (or index) instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// `EXCHANGE:SYMBOL`, e.g. `NSE:INFY`.
    pub key: String,
    /// The ticker's id for it.
    pub token: u32,
    /// Exchange, e.g. `NSE`.
    pub exchange: String,
    /// Trading symbol, e.g. `INFY`.
    pub tradingsymbol: String,
    /// Segment, e.g. `NSE`, `NFO-OPT`, `INDICES`.
    pub segment: String,
    /// `EQ`, `FUT`, `CE`, `PE`.
    pub instrument_type: String,
    /// Smallest price step.
    pub tick: Price,
    /// Units per lot.
    pub lot_size: u32,
}

/// The instrument dump as lookups.
#[derive(Debug, Clone, Default)]
pub struct Instruments {
    by_key: HashMap<String, Instrument>,
    by_token: HashMap<u32, String>,
}

impl Instruments {
    /// Parses a dump (Kite's CSV; the header names the columns).
    pub fn from_csv(bytes: &[u8]) -> Result<Instruments, KiteError> {
        let mut reader = csv::Reader::from_reader(bytes);
        let mut all = Instruments::default();
        for row in reader.deserialize::<kiteconnect::Instrument>() {
            let row = row.map_err(|e| KiteError::Decode(format!("instrument dump: {e}")))?;
            if let Some(instrument) = convert(&row) {
                all.insert(instrument);
            }
        }
        Ok(all)
    }

    fn insert(&mut self, instrument: Instrument) {
        self.by_token
            .insert(instrument.token, instrument.key.clone());
        self.by_key.insert(instrument.key.clone(), instrument);
    }

    /// The instrument of `EXCHANGE:SYMBOL`.
    pub fn get(&self, key: &str) -> Result<&Instrument, KiteError> {
        self.by_key
            .get(key)
            .ok_or_else(|| KiteError::UnknownInstrument(key.to_string()))
    }

    /// The instrument with this ticker token.
    pub fn by_token(&self, token: u32) -> Option<&Instrument> {
        self.by_token.get(&token).and_then(|k| self.by_key.get(k))
    }

    /// How many instruments are known.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when the dump was empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A row with a tick size that is not a positive price (some index rows have 0) is
/// kept with a 0.01 tick only for indices, and dropped otherwise.
fn convert(row: &kiteconnect::Instrument) -> Option<Instrument> {
    let tick = match Price::from_f64(row.tick_size) {
        Ok(tick) => tick,
        Err(_) if row.segment == "INDICES" => Price::from_micros(10_000).ok()?,
        Err(_) => return None,
    };
    Some(Instrument {
        key: format!("{}:{}", row.exchange, row.tradingsymbol),
        token: row.instrument_token,
        exchange: row.exchange.clone(),
        tradingsymbol: row.tradingsymbol.clone(),
        segment: row.segment.clone(),
        instrument_type: row.instrument_type.clone(),
        tick,
        lot_size: exact::count_in(row.lot_size).ok()?.max(1),
    })
}

/// The cache file of the dump for the IST day of `now`.
pub fn cache_path(data_dir: &Path, now: Timestamp) -> PathBuf {
    data_dir.join(format!("instruments-{}.csv", time::ist_date(now)))
}

/// Today's dump from the cache, or fetched with `fetch` and cached.
pub async fn load_or_fetch<F, Fut>(
    data_dir: &Path,
    now: Timestamp,
    fetch: F,
) -> Result<Instruments, KiteError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, KiteError>>,
{
    let path = cache_path(data_dir, now);
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(all) = Instruments::from_csv(&bytes)
        && !all.is_empty()
    {
        return Ok(all);
    }
    let bytes = fetch().await?;
    let all = Instruments::from_csv(&bytes)?;
    let io = |action, source| KiteError::Io {
        action,
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(|e| io("creating the directory of", e))?;
    let temp = path.with_extension("csv.tmp");
    std::fs::write(&temp, &bytes).map_err(|e| io("writing", e))?;
    std::fs::rename(&temp, &path).map_err(|e| io("replacing", e))?;
    Ok(all)
}

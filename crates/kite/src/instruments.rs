//! The daily instrument dump: fetched once per dump day, cached in the data directory,
//! and indexed by `EXCHANGE:SYMBOL` and by instrument token.
//!
//! Kite generates the dump once a day and suggests fetching it at about 08:30 IST
//! (kite-api.md §4), so a dump *day* runs from 08:30 IST to 08:30 IST the next
//! morning ([`dump_day`]). A cached file is named after its dump day; a newer day's
//! file replaces the older ones.
//!
//! Kite reuses instrument tokens for derivatives after expiry, so the key is the
//! exchange plus trading symbol (kite-api.md §4); tokens are only for the ticker.
//! Floats of the dump (tick size) become exact [`Price`]s here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::{Date, Time};
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
    day: Option<Date>,
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

    /// The dump day this catalogue is for, when it came through [`load_or_fetch`]
    /// (`None` for one parsed from bytes directly).
    pub fn day(&self) -> Option<Date> {
        self.day
    }

    /// Marks the catalogue as the dump of `day`.
    pub fn for_day(mut self, day: Date) -> Instruments {
        self.day = Some(day);
        self
    }
}

/// When Kite's new daily dump is ready: 08:30 IST.
pub const DUMP_READY: Time = Time::constant(8, 30, 0, 0);

/// The dump day current at `now`: today (IST) from 08:30 IST on, yesterday before.
pub fn dump_day(now: Timestamp) -> Date {
    let local = now.to_zoned(time::ist());
    if local.time() >= DUMP_READY {
        local.date()
    } else {
        local.date().yesterday().unwrap_or(local.date())
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

/// The cache file of the dump current at `now` (named after its [`dump_day`]).
pub fn cache_path(data_dir: &Path, now: Timestamp) -> PathBuf {
    day_path(data_dir, dump_day(now))
}

fn day_path(data_dir: &Path, day: Date) -> PathBuf {
    data_dir.join(format!("instruments-{day}.csv"))
}

/// The dump current at `now`: from the cache, or fetched with `fetch` and cached
/// (older days' files are then removed). The result carries its dump day.
pub async fn load_or_fetch<F, Fut>(
    data_dir: &Path,
    now: Timestamp,
    fetch: F,
) -> Result<Instruments, KiteError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, KiteError>>,
{
    let day = dump_day(now);
    let path = day_path(data_dir, day);
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(all) = Instruments::from_csv(&bytes)
        && !all.is_empty()
    {
        return Ok(all.for_day(day));
    }
    let bytes = fetch().await?;
    let all = Instruments::from_csv(&bytes)?;
    if all.is_empty() {
        return Err(KiteError::Decode("the instrument dump is empty".into()));
    }
    let io = |action, source| KiteError::Io {
        action,
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(|e| io("creating the directory of", e))?;
    let temp = path.with_extension("csv.tmp");
    std::fs::write(&temp, &bytes).map_err(|e| io("writing", e))?;
    std::fs::rename(&temp, &path).map_err(|e| io("replacing", e))?;
    remove_older_dumps(data_dir, day);
    Ok(all.for_day(day))
}

/// Deletes cached dumps of days before `day` (best effort: a file that cannot be
/// removed is only logged).
fn remove_older_dumps(data_dir: &Path, day: Date) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let older = name
            .to_str()
            .and_then(|n| n.strip_prefix("instruments-"))
            .and_then(|n| n.strip_suffix(".csv"))
            .and_then(|d| d.parse::<Date>().ok())
            .is_some_and(|d| d < day);
        if older && let Err(error) = std::fs::remove_file(entry.path()) {
            tracing::warn!(%error, file = ?entry.path(), "could not remove an old instrument dump");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    #[test]
    fn the_dump_day_turns_at_half_past_eight_ist() {
        let day = |text: &str| dump_day(at(text)).to_string();
        // 08:29:59 IST on the 25th is still the 24th's dump; 08:30 is the 25th's.
        assert_eq!(day("2026-11-25T02:59:59Z"), "2026-11-24");
        assert_eq!(day("2026-11-25T03:00:00Z"), "2026-11-25");
        // 23:30 IST on the 25th (18:00 UTC).
        assert_eq!(day("2026-11-25T18:00:00Z"), "2026-11-25");
        let dir = Path::new("/data");
        assert_eq!(
            cache_path(dir, at("2026-11-25T03:00:00Z")),
            Path::new("/data/instruments-2026-11-25.csv")
        );
    }

    #[tokio::test]
    async fn a_new_day_fetches_once_caches_and_drops_older_files() {
        let dir = tempfile::tempdir().expect("dir");
        let dump = b"instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n408065,1594,INFY,INFOSYS,0.0,,0.0,0.05,1,EQ,NSE,NSE\n".to_vec();
        let fetches = std::cell::Cell::new(0);
        let fetch = || {
            fetches.set(fetches.get() + 1);
            let bytes = dump.clone();
            async move { Ok(bytes) }
        };
        let monday = at("2026-11-23T04:00:00Z");
        let all = load_or_fetch(dir.path(), monday, fetch)
            .await
            .expect("loads");
        assert_eq!(
            (all.len(), all.day().map(|d| d.to_string())),
            (1, Some("2026-11-23".into()))
        );
        let again = load_or_fetch(dir.path(), monday, fetch)
            .await
            .expect("cached");
        assert_eq!((again.len(), fetches.get()), (1, 1), "read from the cache");
        let tuesday = at("2026-11-24T04:00:00Z");
        load_or_fetch(dir.path(), tuesday, fetch)
            .await
            .expect("loads");
        assert_eq!(fetches.get(), 2);
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        files.sort();
        assert_eq!(files, ["instruments-2026-11-24.csv"]);
        let empty = || async {
            Ok(b"instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n".to_vec())
        };
        let wednesday = at("2026-11-25T04:00:00Z");
        assert!(load_or_fetch(dir.path(), wednesday, empty).await.is_err());
        assert!(
            dir.path().join("instruments-2026-11-24.csv").exists(),
            "kept"
        );
    }
}

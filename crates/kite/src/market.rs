//! Market reads: last prices and OHLC for many instruments in as few calls as Kite
//! allows (1000 keys per `/quote/ltp` or `/quote/ohlc` call), and the instrument dump
//! with its daily refresh ([`KiteBroker::refresh_instruments`], one step, and
//! [`KiteBroker::keep_instruments_current`], the thin loop around it).
//!
//! Keys Kite has no data for are simply absent from the answer (kite-api.md §6), so
//! they are absent from the result too, as are keys whose prices are zero (untraded). Floats become prices on the instrument's
//! tick (six decimals when the instrument is not in the catalogue).

use std::collections::HashMap;
use std::future::IntoFuture;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use kitebreak_price::Price;
use tokio::sync::watch;

use crate::broker::KiteBroker;
use crate::error::KiteError;
use crate::exact;
use crate::instruments::{self, Instruments};
use crate::limits::Endpoint;

/// Kite's per-call maximum of instrument keys for `/quote/ltp` and `/quote/ohlc`.
pub const QUOTE_BATCH: usize = 1000;

/// What one step of the daily instrument refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstrumentRefresh {
    /// The catalogue already is this dump day's; nothing was read or fetched.
    Current(Date),
    /// The catalogue was replaced by this day's dump (from the cache or fetched).
    Loaded {
        /// The dump day now loaded.
        day: Date,
        /// Instruments in it.
        count: usize,
    },
}

/// The session's open, high, low, previous close and last price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ohlc {
    /// Today's open.
    pub open: Price,
    /// Today's high.
    pub high: Price,
    /// Today's low.
    pub low: Price,
    /// The previous session's close (Kite's `ohlc.close`).
    pub close: Price,
    /// The last traded price.
    pub last: Price,
}

impl KiteBroker {
    /// Last traded prices of many `EXCHANGE:SYMBOL` keys, one call per 1000 keys.
    pub async fn ltp(&self, keys: &[&str]) -> Result<HashMap<String, Price>, KiteError> {
        let mut prices = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(QUOTE_BATCH) {
            let chunk: Vec<String> = chunk.iter().map(|k| (*k).to_string()).collect();
            let answer = self
                .read(Endpoint::Quote, |c| {
                    let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    c.ltp(&refs).into_future()
                })
                .await?;
            for (key, quote) in answer {
                // No trade yet (0) is "no price", like an absent key, not an error.
                match self.price_in(&key, quote.last_price) {
                    Ok(price) => {
                        prices.insert(key, price);
                    }
                    Err(error) => tracing::debug!(%key, %error, "no usable last price"),
                }
            }
        }
        Ok(prices)
    }

    /// OHLC and last price of many keys, one call per 1000 keys.
    pub async fn ohlc(&self, keys: &[&str]) -> Result<HashMap<String, Ohlc>, KiteError> {
        let mut all = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(QUOTE_BATCH) {
            let chunk: Vec<String> = chunk.iter().map(|k| (*k).to_string()).collect();
            let answer = self
                .read(Endpoint::Quote, |c| {
                    let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    c.ohlc(&refs).into_future()
                })
                .await?;
            for (key, quote) in answer {
                let ohlc = (|| {
                    Ok::<_, KiteError>(Ohlc {
                        open: self.price_in(&key, quote.ohlc.open)?,
                        high: self.price_in(&key, quote.ohlc.high)?,
                        low: self.price_in(&key, quote.ohlc.low)?,
                        close: self.price_in(&key, quote.ohlc.close)?,
                        last: self.price_in(&key, quote.last_price)?,
                    })
                })();
                // An untraded instrument has zeros: absent, like a key Kite omits.
                match ohlc {
                    Ok(ohlc) => {
                        all.insert(key, ohlc);
                    }
                    Err(error) => tracing::debug!(%key, %error, "no usable OHLC"),
                }
            }
        }
        Ok(all)
    }

    /// A Kite float for `key`, on its tick.
    pub fn price_in(&self, key: &str, value: f64) -> Result<Price, KiteError> {
        match self.instrument(key) {
            Ok(instrument) => exact::price_in(value, instrument.tick),
            Err(_) => exact::price_in_exact(value),
        }
    }

    /// Loads the dump current now from the data directory, fetching and caching it
    /// first if needed, and makes it the catalogue.
    pub async fn load_instruments(&self) -> Result<usize, KiteError> {
        self.load_instruments_at(Timestamp::now()).await
    }

    /// Loads the dump current at `now` (its [`instruments::dump_day`]) and makes it
    /// the catalogue. On failure the catalogue stays as it was.
    pub async fn load_instruments_at(&self, now: Timestamp) -> Result<usize, KiteError> {
        let dir = self.config().data_dir.clone();
        let all = instruments::load_or_fetch(&dir, now, || self.fetch_dump()).await?;
        let count = all.len();
        self.set_instruments(all);
        Ok(count)
    }

    /// One step of the daily refresh: when the catalogue is not the dump day current
    /// at `now` (a new day began at 08:30 IST, or nothing is loaded), load that day's
    /// dump. Call it as often as you like; it fetches once per dump day.
    pub async fn refresh_instruments(
        &self,
        now: Timestamp,
    ) -> Result<InstrumentRefresh, KiteError> {
        let day = instruments::dump_day(now);
        if self.instruments().day() == Some(day) {
            return Ok(InstrumentRefresh::Current(day));
        }
        let count = self.load_instruments_at(now).await?;
        Ok(InstrumentRefresh::Loaded { day, count })
    }

    /// Runs [`KiteBroker::refresh_instruments`] at once and then every `every` until
    /// `stop` turns true (or its sender is gone). A failed step is logged and the old
    /// catalogue kept; the next check tries again. `clock` gives the time of a step.
    pub async fn keep_instruments_current(
        &self,
        every: Duration,
        clock: impl Fn() -> Timestamp,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut checks = tokio::time::interval(every);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = checks.tick() => match self.refresh_instruments(clock()).await {
                    Ok(InstrumentRefresh::Loaded { day, count }) => {
                        tracing::info!(%day, count, "instrument dump loaded");
                    }
                    Ok(InstrumentRefresh::Current(_)) => {}
                    Err(error) => tracing::warn!(%error, "instrument dump refresh failed; keeping the old one"),
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }

    /// Downloads the full dump: signed while a session is live (as Kite documents
    /// it), else unsigned through the crate (Kite serves the dump publicly).
    async fn fetch_dump(&self) -> Result<Vec<u8>, KiteError> {
        if let Some(signed) = self.fetch_dump_signed().await {
            return signed;
        }
        let client = self.config().client(None)?;
        let response = self.read_public(|| client.instruments().response()).await?;
        Ok(response.body().to_vec())
    }

    async fn read_public<T, F, Fut>(&self, call: F) -> Result<T, KiteError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = kiteconnect::Result<T>>,
    {
        use backon::Retryable;
        let backoff = backon::ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.config().retry_delay)
            .with_max_times(self.config().read_attempts.saturating_sub(1));
        let attempt = || async {
            self.inner.limits.acquire(Endpoint::Other).await;
            call().await.map_err(KiteError::from_read)
        };
        attempt.retry(backoff).when(KiteError::is_retryable).await
    }
}

/// Parses a dump already on disk (for tools and tests).
pub fn instruments_from_file(path: &std::path::Path) -> Result<Instruments, KiteError> {
    let bytes = std::fs::read(path).map_err(|source| KiteError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    Instruments::from_csv(&bytes)
}

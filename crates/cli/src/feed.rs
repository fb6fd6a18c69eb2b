//! Posting candles to a server's `/webhook`, as TradingView alerts would: one JSON
//! object per candle with the original service's keys, in file order, at a set rate.
//! `replay` and `serve --demo` both use it, so the demo travels the same path as
//! real alerts (parsing, passphrase, engine).

use std::time::Duration;

use jiff::tz::Offset;
use kitebreak_candles::CandleRecord;
use kitebreak_config::Secret;
use serde_json::{Map, Value, json};

/// India Standard Time, the offset candle times are written with.
const IST_SECONDS: i32 = 19_800;

/// A candle the server answered for.
#[derive(Debug)]
pub enum Outcome {
    /// Applied; the response body (levels, breakout, order, exit).
    Accepted(Value),
    /// A repeated candle time: acknowledged, not applied.
    Duplicate,
    /// Refused as bad input (4xx): the server's message.
    Rejected(String),
}

/// Why a feed stopped before the end.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct Stopped {
    /// The file line of the candle that could not be delivered.
    pub line: u64,
    /// What went wrong (a server error, an unreachable server).
    pub reason: String,
}

/// Counts of what happened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Candles applied.
    pub accepted: u64,
    /// Candles acknowledged as repeats.
    pub duplicate: u64,
    /// Candles refused as bad input.
    pub errors: u64,
    /// Trades entered.
    pub entries: u64,
    /// Trades exited.
    pub exits: u64,
}

/// Where and how candles are posted.
#[derive(Debug)]
pub struct Feed {
    client: reqwest::Client,
    webhook: reqwest::Url,
    symbol: String,
    passphrase: Option<Secret>,
    period: Option<Duration>,
}

impl Feed {
    /// A feed posting to `url` (`/webhook` appended unless present), `rate` candles
    /// per second (0: each as soon as the previous one is answered).
    pub fn new(
        url: &str,
        symbol: &str,
        passphrase: Option<Secret>,
        rate: u32,
    ) -> anyhow::Result<Feed> {
        let trimmed = url.trim().trim_end_matches('/');
        let full = if trimmed.ends_with("/webhook") {
            trimmed.to_owned()
        } else {
            format!("{trimmed}/webhook")
        };
        let webhook = reqwest::Url::parse(&full)
            .map_err(|error| anyhow::anyhow!("invalid URL `{url}`: {error}"))?;
        let mut client = reqwest::Client::builder();
        if is_loopback(&webhook) {
            // An HTTP(S)_PROXY meant for the outside must not catch a local server.
            client = client.no_proxy();
        }
        let client = client
            .build()
            .map_err(|error| anyhow::anyhow!("cannot set up the HTTP client: {error}"))?;
        Ok(Feed {
            client,
            webhook,
            symbol: symbol.to_owned(),
            passphrase,
            period: (rate > 0).then(|| Duration::from_secs(1) / rate),
        })
    }

    /// The webhook URL candles go to.
    pub fn webhook(&self) -> &reqwest::Url {
        &self.webhook
    }

    /// The JSON body of one candle.
    pub fn payload(&self, record: &CandleRecord) -> Value {
        let mut body = Map::new();
        body.insert("symbol".into(), json!(self.symbol));
        if let Some(time) = record.time {
            let ist = Offset::from_seconds(IST_SECONDS).unwrap_or(Offset::UTC);
            body.insert(
                "time".into(),
                json!(time.display_with_offset(ist).to_string()),
            );
        }
        if let Some(open) = record.open {
            body.insert("open".into(), json!(open));
        }
        body.insert("high".into(), json!(record.candle.high));
        body.insert("low".into(), json!(record.candle.low));
        body.insert("close".into(), json!(record.candle.close));
        if let Some(volume) = record.volume {
            body.insert("volume".into(), volume_json(volume));
        }
        if let Some(passphrase) = &self.passphrase {
            body.insert("passphrase".into(), json!(passphrase.expose()));
        }
        Value::Object(body)
    }

    /// Posts one candle; `Err` when the server failed or could not be reached.
    pub async fn post(&self, record: &CandleRecord) -> Result<Outcome, Stopped> {
        let stop = |reason: String| Stopped {
            line: record.line,
            reason,
        };
        let response = self
            .client
            .post(self.webhook.clone())
            .json(&self.payload(record))
            .send()
            .await
            .map_err(|error| stop(format!("cannot reach {}: {}", self.webhook, causes(&error))))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body["message"]
            .as_str()
            .unwrap_or("(no message)")
            .to_owned();
        match status.as_u16() {
            200..=299 if body["duplicate"] == json!(true) => Ok(Outcome::Duplicate),
            200..=299 => Ok(Outcome::Accepted(body)),
            400 | 422 => Ok(Outcome::Rejected(message)),
            _ => Err(stop(format!("the server answered {status}: {message}"))),
        }
    }

    /// Posts `records` in order at the feed's rate, calling `seen` with each answer,
    /// until the end, a server error, or `stop()` turns true.
    pub async fn run(
        &self,
        records: &[CandleRecord],
        mut seen: impl FnMut(&CandleRecord, &Outcome),
        stop: impl Fn() -> bool,
    ) -> (Tally, Result<(), Stopped>) {
        let mut tally = Tally::default();
        let mut ticks = self.period.map(|period| {
            let mut interval = tokio::time::interval(period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        for record in records {
            if let Some(ticks) = ticks.as_mut() {
                ticks.tick().await;
            }
            if stop() {
                break;
            }
            let outcome = match self.post(record).await {
                Ok(outcome) => outcome,
                Err(stopped) => return (tally, Err(stopped)),
            };
            count(&mut tally, &outcome);
            seen(record, &outcome);
        }
        (tally, Ok(()))
    }
}

/// True for `localhost` and loopback addresses.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error with its causes: reqwest's own message hides why a request failed.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn count(tally: &mut Tally, outcome: &Outcome) {
    match outcome {
        Outcome::Accepted(body) => {
            tally.accepted += 1;
            tally.entries += u64::from(body["trade_entered"] == json!(true));
            tally.exits += u64::from(body["trade_exited"] == json!(true));
        }
        Outcome::Duplicate => tally.duplicate += 1,
        Outcome::Rejected(_) => tally.errors += 1,
    }
}

/// Whole volumes as integers (`22351900`, not `22351900.0`).
fn volume_json(volume: f64) -> Value {
    // Volumes are at most 2^53 in any real file, where f64 holds integers exactly.
    if volume.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&volume) {
        json!(volume as u64)
    } else {
        json!(volume)
    }
}

#[cfg(test)]
mod tests;

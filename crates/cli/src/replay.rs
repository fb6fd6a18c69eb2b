//! `kitebreak replay`: posts a candle file to a running server's `/webhook`.
//!
//! The whole file is read first, so a bad row stops the command before anything is
//! sent. Candles the server refuses as bad input (4xx) are reported with their line
//! and counted; the first server error (5xx, auth failure, unreachable server) stops
//! the replay with its line number and a failure exit status.

use std::path::Path;

use anyhow::Context;
use kitebreak_candles::{CandleReader, CandleRecord};
use kitebreak_config::Secrets;
use kitebreak_engine::Symbol;

use crate::cli::ReplayArgs;
use crate::feed::{Feed, Outcome, Tally};

/// Runs the replay, printing a summary on stdout.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let records = CandleReader::open(&args.csv)?
        .collect::<Result<Vec<CandleRecord>, _>>()
        .with_context(|| format!("in {}", args.csv.display()))?;
    let symbol = symbol(args.symbol.as_deref(), &args.csv)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let passphrase = Secrets::from_env(&env)?.webhook_secret;
    let feed = Feed::new(&args.url, symbol.as_str(), passphrase, args.rate)?;
    let file = args.csv.display().to_string();
    tracing::info!(%symbol, candles = records.len(), url = %feed.webhook(), "replaying {file}");
    // A progress line every tenth of the file: a slow replay is not a hung one.
    let step = (records.len() / 10).max(1);
    let mut sent = 0;
    let (tally, result) = feed
        .run(
            &records,
            |record, outcome| {
                if let Outcome::Rejected(message) = outcome {
                    tracing::warn!("{file} line {}: rejected: {message}", record.line);
                }
                sent += 1;
                if sent % step == 0 {
                    tracing::info!("replay: {sent} of {} candles sent", records.len());
                }
            },
            || false,
        )
        .await;
    println!(
        "{}",
        summary(&tally, records.len(), &file, feed.webhook().as_str())
    );
    result.with_context(|| format!("replay of {file} stopped"))
}

/// `--symbol`, or the file name up to its first `-`, `_` or `.` (`GOOG-daily.csv` →
/// `GOOG`).
fn symbol(given: Option<&str>, csv: &Path) -> anyhow::Result<Symbol> {
    let text = match given {
        Some(text) => text.to_owned(),
        None => {
            let name = csv
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.split(['-', '_', '.'])
                .next()
                .unwrap_or_default()
                .to_owned()
        }
    };
    Symbol::parse(&text).with_context(|| match given {
        Some(_) => "invalid --symbol".to_owned(),
        None => format!(
            "cannot take a symbol from the file name `{}`; pass --symbol",
            csv.display()
        ),
    })
}

fn summary(tally: &Tally, total: usize, file: &str, url: &str) -> String {
    let sent = tally.accepted + tally.duplicate + tally.errors;
    format!(
        "replayed {sent} of {total} candles from {file} to {url}: {} accepted, {} duplicate, \
         {} errors ({} entries, {} exits)",
        tally.accepted, tally.duplicate, tally.errors, tally.entries, tally.exits
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symbol_defaults_to_the_start_of_the_file_name() {
        let from = |given: Option<&str>, file: &str| {
            symbol(given, Path::new(file)).map(|s| s.to_string()).ok()
        };
        assert_eq!(from(None, "samples/GOOG-daily.csv"), Some("GOOG".into()));
        assert_eq!(from(None, "/x/reliance_15m.csv"), Some("RELIANCE".into()));
        assert_eq!(from(Some("bajaj-auto"), "x.csv"), Some("BAJAJ-AUTO".into()));
        assert_eq!(from(None, ".csv"), None);
        assert_eq!(from(Some("a/b"), "x.csv"), None);
    }
}

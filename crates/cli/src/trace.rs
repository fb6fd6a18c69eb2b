//! `kitebreak trace`: the strategy's state after every candle of a file.

use std::io::{self, BufWriter, Write};

use anyhow::Context;
use kitebreak_candles::CandleReader;
use kitebreak_strategy::{FillAtSignalPrice, Strategy, TraceLine};

use crate::cli::TraceArgs;
use crate::pretty_json;

/// Runs the trace, writing JSON lines to stdout and warnings to stderr.
pub fn run(args: &TraceArgs) -> anyhow::Result<()> {
    let params = args.strategy.params()?;
    // The whole file is read before anything is printed, so a bad row stops the
    // command with its line number and no partial output.
    let records = CandleReader::open(&args.csv)?
        .strict(args.strict)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("in {}", args.csv.display()))?;
    let mut strategy = Strategy::new(params);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (i, record) in records.iter().enumerate() {
        if let Err(problem) = record.candle.check_consistent() {
            eprintln!(
                "kitebreak: warning: {} line {}: {problem}; used as given",
                args.csv.display(),
                record.line
            );
        }
        let mut fills = FillAtSignalPrice { time: record.time };
        let events = strategy.on_candle(&record.candle, &mut fills);
        let line = TraceLine::new(i as u64, &record.candle, &strategy, &events);
        if let Err(error) = pretty_json::write_line(&mut out, &line) {
            return quiet_on_closed_pipe(error);
        }
    }
    out.flush().or_else(quiet_on_closed_pipe)
}

/// `kitebreak trace ... | head` closes the pipe early; that is not an error.
fn quiet_on_closed_pipe(error: io::Error) -> anyhow::Result<()> {
    if error.kind() == io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(error).context("writing the trace")
}

//! The command line: subcommands and flags as `spec/product.md` §1 names them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use kitebreak_price::{Quantity, Ratio};
use kitebreak_strategy::{Relevel, StrategyError, StrategyParams};

/// kitebreak: support/resistance breakout trading for Zerodha Kite Connect.
#[derive(Debug, Parser)]
#[command(name = "kitebreak", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands (more arrive with the server, backtester and Kite login).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the strategy's state after every candle of a CSV file, as JSON lines.
    Trace(TraceArgs),
}

/// `kitebreak trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Candle file: a header row with time (or date/datetime/timestamp, or a blank
    /// first header), optional open, high, low, close, optional volume.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,

    /// Refuse rows whose low is above the high or whose close lies outside low..high
    /// (by default they are used as given, with a warning on stderr).
    #[arg(long)]
    pub strict: bool,

    /// Strategy parameters.
    #[command(flatten)]
    pub strategy: StrategyArgs,
}

/// The strategy flags shared by `trace` and (later) `backtest`.
#[derive(Debug, Args)]
pub struct StrategyArgs {
    /// Candles examined for swing highs and lows.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub lookback: usize,

    /// Profit target as a fraction of the entry price (0.03 is 3%).
    #[arg(long, default_value = "0.03", value_name = "F")]
    pub profit_target: Ratio,

    /// Stop loss as a fraction of the entry price (0.01 is 1%).
    #[arg(long, default_value = "0.01", value_name = "F")]
    pub stop_loss: Ratio,

    /// After a trade: `fresh` re-detects levels only from new candles, `rolling`
    /// re-detects at once from the recent window (the original's behaviour).
    #[arg(long, default_value = "fresh", value_name = "MODE")]
    pub relevel: Relevel,

    /// Order quantity.
    #[arg(long, default_value = "1", value_name = "N")]
    pub quantity: Quantity,
}

impl StrategyArgs {
    /// Validated strategy parameters.
    pub fn params(&self) -> Result<StrategyParams, StrategyError> {
        StrategyParams::new(
            self.lookback,
            self.profit_target,
            self.stop_loss,
            self.relevel,
            self.quantity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn strategy_flags_parse_exactly() {
        let cli = Cli::try_parse_from([
            "kitebreak",
            "trace",
            "--csv",
            "x.csv",
            "--lookback",
            "20",
            "--profit-target",
            "0.015",
            "--stop-loss",
            "0.005",
            "--relevel",
            "rolling",
            "--quantity",
            "5",
        ])
        .expect("valid command line");
        let Command::Trace(args) = cli.command;
        let params = args.strategy.params().expect("valid params");
        assert_eq!(params.lookback(), 20);
        assert_eq!(params.profit_target().to_string(), "0.015");
        assert_eq!(params.stop_loss().to_string(), "0.005");
        assert_eq!(params.relevel(), Relevel::Rolling);
        assert_eq!(params.quantity().get(), 5);
    }

    #[test]
    fn bad_flag_values_are_refused_by_the_parser() {
        for bad in [
            ["--profit-target", "abc"],
            ["--stop-loss", "-0.01"],
            ["--relevel", "sometimes"],
            ["--quantity", "0"],
        ] {
            let args = ["kitebreak", "trace", "--csv", "x.csv", bad[0], bad[1]];
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?} accepted");
        }
    }
}

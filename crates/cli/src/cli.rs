//! The command line: subcommands and flags as `spec/product.md` §1 names them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kitebreak_price::{Quantity, Ratio};
use kitebreak_strategy::{Relevel, StrategyError, StrategyParams};

/// kitebreak: support/resistance breakout trading for Zerodha Kite Connect.
#[derive(Debug, Parser)]
#[command(name = "kitebreak", version, about, propagate_version = true)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--config`, `--log-format`, `-v`, `-q`: accepted before or after the subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file (TOML) for `serve`; see kitebreak.example.toml. Environment
    /// variables (`KITEBREAK_SECTION__KEY`) override it.
    #[arg(long, global = true, value_name = "FILE", env = "KITEBREAK_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log lines on stderr as human-readable text or as JSON objects.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More logging (-v debug, -vv trace). `RUST_LOG` overrides both -v and -q.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less logging (-q warnings and errors only, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event.
    Json,
}

/// The subcommands (more arrive with the backtester and Kite login).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service: the original API, the webhook and the paper engine.
    Serve(ServeArgs),
    /// Post the candles of a CSV file to a running server's /webhook.
    Replay(ReplayArgs),
    /// Print the strategy's state after every candle of a CSV file, as JSON lines.
    Trace(TraceArgs),
    /// Kite login: print the login URL, or exchange --request-token and store the session.
    Login(LoginArgs),
}

/// `kitebreak login`. Reads `KITE_API_KEY` and `KITE_API_SECRET` (or their `_FILE`).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The `request_token` from Kite's redirect after login; without it, the login URL
    /// is printed.
    #[arg(long, value_name = "T")]
    pub request_token: Option<String>,

    /// Directory for the session file [config: server.data_dir; default ./data], the
    /// same one `serve` uses.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Kite's REST root (a local kite-sim, for example).
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_REST_ROOT)]
    pub kite_root: String,

    /// Kite's WebSocket root.
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_WS_ROOT)]
    pub kite_ws: String,

    /// Root of Kite's browser login page (the printed URL is ROOT/connect/login?...).
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_LOGIN_ROOT)]
    pub kite_login: String,
}

/// `kitebreak serve`. The flags override the configuration's `[server]` keys.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [config: server.listen; default 127.0.0.1:5000]. Port 0
    /// picks a free port; the address is printed as `listening on http://ADDR`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Broker to trade through [config: server.broker; default paper].
    #[arg(long, value_name = "BROKER", value_parser = ["paper", "kite"])]
    pub broker: Option<String>,

    /// Directory holding the SQLite database and the paper book [config:
    /// server.data_dir; default ./data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Feed the paper engine the bundled GOOG daily candles, so levels, entries and
    /// exits appear within seconds. Uses a fresh DIR/demo.db (and demo.paper.db),
    /// never the real state.
    #[arg(long)]
    pub demo: bool,

    /// Demo candles per second (0: as fast as the server answers).
    #[arg(long, value_name = "N", default_value_t = 5, requires = "demo")]
    pub demo_rate: u32,

    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Kite's REST root for `--broker kite` (a local kite-sim, for example).
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_REST_ROOT)]
    pub kite_root: String,

    /// Kite's ticker root for `--broker kite`.
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_WS_ROOT)]
    pub kite_ws: String,

    /// Root of Kite's browser login page, where `GET /login` redirects.
    #[arg(long, value_name = "URL", default_value = kitebreak_kite::config::DEFAULT_LOGIN_ROOT)]
    pub kite_login: String,
}

/// `kitebreak replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Candle file (the same columns as `trace`).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,

    /// The server, e.g. http://127.0.0.1:5000 (`/webhook` is added unless present).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Symbol of the candles [default: the file name up to its first `-`, `_` or `.`].
    #[arg(long, value_name = "SYMBOL")]
    pub symbol: Option<String>,

    /// Candles per second (0: as fast as the server answers).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub rate: u32,
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
        let Command::Trace(args) = cli.command else {
            panic!("parsed as another command");
        };
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

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from(["kitebreak", "-vv", "serve", "--log-format", "json"])
            .expect("valid command line");
        assert_eq!(cli.global.verbose, 2);
        assert_eq!(cli.global.log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["kitebreak", "serve", "-v", "-q"]).is_err());
        assert!(Cli::try_parse_from(["kitebreak", "serve", "--broker", "ib"]).is_err());
    }
}

//! `kitebreak`: the one binary. It parses the command line and wires the library
//! crates together; no trading logic lives here.
//!
//! - `cli`: the flags; `telemetry`: logging, set up once for every command.
//! - `serve` (with `demo`), `replay` (with `feed`, shared with the demo), `trace`,
//!   `login` (Kite's daily token, through `kitebreak-kite`).
//! - Configuration is `kitebreak-config`'s: loaded once, validated, then turned into
//!   the server's and engine's settings.

mod cli;
mod demo;
mod feed;
mod live;
mod login;
mod pretty_json;
mod replay;
mod serve;
mod telemetry;
mod trace;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc instead of glibc malloc: glibc keeps one arena per allocating thread
/// (tokio workers, SQLite's threads), each holding on to freed memory, which tripled
/// the RSS of 10,000 symbols; jemalloc, configured in `.cargo/config.toml`, returns
/// it (docs/decisions/allocator.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(&cli.global);
    let result = match &cli.command {
        cli::Command::Trace(args) => trace::run(args),
        cli::Command::Serve(args) => block_on(serve::run(args, &cli.global)),
        cli::Command::Replay(args) => block_on(replay::run(args)),
        cli::Command::Login(args) => block_on(login::run(args, &cli.global)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::debug!("{error:?}");
            eprintln!("kitebreak: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an async command on a multi-threaded tokio runtime.
fn block_on(command: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(command)
}

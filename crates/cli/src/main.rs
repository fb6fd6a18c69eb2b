//! `kitebreak`: the one binary. It parses the command line and wires the library
//! crates together; no trading logic lives here.

mod cli;
mod pretty_json;
mod trace;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Trace(args) => trace::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kitebreak: {error:#}");
            ExitCode::FAILURE
        }
    }
}

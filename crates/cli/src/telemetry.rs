//! Logging: the one place a tracing subscriber is installed.
//!
//! Logs go to stderr (stdout carries command output: trace lines, the listening
//! address, replay's summary). `RUST_LOG` wins when set; otherwise `-v`/`-q` pick the
//! level, INFO by default. Library crates only emit events; tests that do not call
//! [`init`] stay quiet.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// The filter when `RUST_LOG` is not set: `-qq` error … `-vv` trace.
fn default_filter(verbose: u8, quiet: u8) -> &'static str {
    match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    }
}

/// Installs the subscriber for this process. Call once, first thing.
pub fn init(global: &GlobalArgs) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => EnvFilter::try_new(text).unwrap_or_else(|error| {
            eprintln!("kitebreak: ignoring RUST_LOG ({error})");
            EnvFilter::new(default_filter(global.verbose, global.quiet))
        }),
        _ => EnvFilter::new(default_filter(global.verbose, global.quiet)),
    };
    // Colours only on a terminal, and never when NO_COLOR is set (no-color.org).
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let installed = match global.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(error) = installed {
        eprintln!("kitebreak: logging is unavailable: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_moves_the_default_level() {
        assert_eq!(default_filter(0, 0), "info");
        assert_eq!(default_filter(0, 1), "warn");
        assert_eq!(default_filter(0, 5), "error");
        assert_eq!(default_filter(1, 0), "debug");
        assert_eq!(default_filter(3, 0), "trace");
    }
}

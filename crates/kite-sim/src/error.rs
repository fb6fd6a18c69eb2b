//! [`SimError`]: why the simulator could not start or load its market.
//!
//! Errors answered to Kite clients are not here: they are HTTP responses built by
//! `http::reply::ApiError`, because a client's mistake is data, not a failure of the sim.

use std::path::PathBuf;

/// What stopped the simulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file (instruments or prices) had a bad row.
    #[error("{path}: line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the bad row.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// A setting was invalid.
    #[error("invalid {name}: {message}")]
    Config {
        /// The setting.
        name: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

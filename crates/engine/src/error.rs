//! The one error type of the engine: what a command can fail with, classified so the
//! HTTP layer can pick a status code without reading messages.

use std::sync::Arc;

use crate::Symbol;

/// Why an engine command did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The symbol has never been seen (no candle ever arrived for it).
    #[error("no strategy for symbol {0}")]
    UnknownSymbol(Symbol),
    /// The command contradicts the symbol's state (a reset while a trade is open).
    #[error("{0}")]
    Conflict(String),
    /// The input is not acceptable (a malformed symbol, a candle whose prices disagree).
    #[error("{0}")]
    InvalidInput(String),
    /// A manual exit was asked for a symbol that has no open trade.
    #[error("no open trade for {0}")]
    NoOpenTrade(Symbol),
    /// No price is known for the symbol, so no market order can be priced.
    #[error("no price known for {0}")]
    NoPrice(Symbol),
    /// The market clock or a risk limit refused an entry; no order was sent.
    #[error("{0}")]
    Refused(String),
    /// The broker refused the order; nothing was filled.
    #[error("order rejected: {reason}")]
    OrderRejected {
        /// The broker's words.
        reason: String,
    },
    /// The broker could not be reached or answered with something unusable.
    #[error("broker error")]
    Broker(#[source] crate::BrokerError),
    /// Reading or writing the database failed.
    #[error("database error")]
    Store(#[source] sqlx::Error),
    /// A group commit failed; every write in the batch shares this cause.
    #[error("database commit failed")]
    CommitFailed(#[source] Arc<sqlx::Error>),
    /// The database's folder could not be created.
    #[error("cannot create the data directory")]
    DataDir(#[source] std::io::Error),
    /// The send journal beside the database (`<database>.sending`) could not be
    /// written.
    #[error("cannot write the send journal {path}")]
    Journal {
        /// The journal's file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A stored row could not be read back into a domain value (a corrupt database).
    #[error("corrupt stored state: {0}")]
    Corrupt(String),
    /// The paper broker's book file could not be opened, read or written (a
    /// corrupt file, or one that is not a paper book).
    #[error("paper book {}", path.display())]
    PaperBook {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong with it.
        #[source]
        source: Box<EngineError>,
    },
    /// The broker's book holds an order under a tag this database never issued:
    /// the book (the paper broker's file) belongs to another database. Refused at
    /// start rather than adopting another history's fills.
    #[error(
        "the broker's book holds order {tag}, which this database never issued (its last \
         order is number {last}): the book belongs to another database; move one of them away"
    )]
    ForeignBook {
        /// The tag found in the book.
        tag: String,
        /// The database's highest order sequence number.
        last: i64,
    },
    /// The engine is shutting down (or a task died) and cannot take commands.
    #[error("engine is not running")]
    Stopped,
}

impl From<sqlx::Error> for EngineError {
    fn from(error: sqlx::Error) -> EngineError {
        EngineError::Store(error)
    }
}

impl From<crate::BrokerError> for EngineError {
    fn from(error: crate::BrokerError) -> EngineError {
        EngineError::Broker(error)
    }
}

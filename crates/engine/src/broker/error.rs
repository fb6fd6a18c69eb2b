//! Why a broker call failed ([`BrokerError`]), the counts of those failures by kind
//! (metrics), and the waits for a broker's request budget.

use super::OrderId;
use crate::Symbol;

/// Why a broker call failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// No such order id in the book.
    #[error("unknown order id {0}")]
    UnknownOrder(OrderId),
    /// No price is known for the symbol.
    #[error("no price known for {0}")]
    NoPrice(Symbol),
    /// The broker refused the request (bad input, RMS, unknown instrument); the
    /// engine treats it as a rejection.
    #[error("broker rejected the request: {0}")]
    Rejected(String),
    /// The order tagged with this tag was certainly not placed. Treated as a
    /// rejection; never re-sent under the same tag.
    #[error("order tagged {0} was not placed")]
    NotPlaced(String),
    /// The broker is unreachable, rate limiting or answered with something unusable;
    /// the same request may succeed later. From [`Broker::place_market`] it means the
    /// order was certainly not placed (a 429, a refused connection); from a read it
    /// means nothing is known, so an order is never recorded as rejected on it.
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    /// The placement of the order tagged with this tag may have happened: its answer
    /// was lost and the broker's book does not show the tag (yet). Never re-sent
    /// under that tag and never counted as a rejection: the engine looks the tag up
    /// until it is found or the look-up window ends (`shard::unsettled`).
    #[error("order tagged {0} has an unknown outcome: not in the broker's book yet")]
    OutcomeUnknown(String),
    /// The order was still working when the bounded wait for its final status ended:
    /// it exists at the broker and may still fill. Neither rejected nor re-sent.
    #[error("order {0} is still working; its final status is not known yet")]
    StillWorking(OrderId),
    /// This broker does not offer the feature (postbacks on paper).
    #[error("the broker does not support {0}")]
    Unsupported(&'static str),
    /// A postback failed verification (its checksum is wrong): not from the broker.
    #[error("postback refused: {0}")]
    Forged(String),
    /// A postback body that is not a readable order update.
    #[error("unreadable postback: {0}")]
    BadPostback(String),
    /// The broker session expired or is missing: log in again (`kitebreak login`).
    #[error("broker session expired: run `kitebreak login`")]
    SessionExpired,
}

impl BrokerError {
    /// Every kind, for metrics.
    pub const KINDS: [&'static str; 11] = [
        "unknown_order",
        "no_price",
        "rejected",
        "not_placed",
        "unavailable",
        "outcome_unknown",
        "still_working",
        "session_expired",
        "unsupported",
        "forged",
        "bad_postback",
    ];

    /// A short label for the kind of failure (metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerError::UnknownOrder(_) => "unknown_order",
            BrokerError::NoPrice(_) => "no_price",
            BrokerError::Rejected(_) => "rejected",
            BrokerError::NotPlaced(_) => "not_placed",
            BrokerError::Unavailable(_) => "unavailable",
            BrokerError::OutcomeUnknown(_) => "outcome_unknown",
            BrokerError::StillWorking(_) => "still_working",
            BrokerError::SessionExpired => "session_expired",
            BrokerError::Unsupported(_) => "unsupported",
            BrokerError::Forged(_) => "forged",
            BrokerError::BadPostback(_) => "bad_postback",
        }
    }
}

/// Broker calls of the order path and the price poll that failed, by kind.
#[derive(Debug, Default)]
pub(crate) struct BrokerErrorCounts {
    counts: [std::sync::atomic::AtomicU64; BrokerError::KINDS.len()],
}

impl BrokerErrorCounts {
    pub fn count(&self, error: &BrokerError) {
        if let Some(i) = BrokerError::KINDS.iter().position(|k| *k == error.kind()) {
            self.counts[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        BrokerError::KINDS
            .iter()
            .zip(&self.counts)
            .map(|(kind, n)| (*kind, n.load(std::sync::atomic::Ordering::Relaxed)))
            .collect()
    }
}

/// Time spent waiting for a broker's request budget, per endpoint class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleWaits {
    /// The endpoint class (`quote`, `place_order`, ...).
    pub endpoint: &'static str,
    /// Requests that waited.
    pub waits: u64,
    /// Their total wait.
    pub waited: std::time::Duration,
}

//! [`KiteError`]: the one error type of this crate, classified the way callers branch.
//!
//! Every failure of the Kite API is sorted into one of four classes ([`ErrorClass`]):
//! retryable (network, 429, 5xx on reads), rejected (validation, RMS: asking again
//! will not help), fatal (the session token is dead: log in again) and unknown outcome
//! (an order placement whose answer never came, or an order still working when a
//! bounded wait ended: reconcile, never resend blindly). Kite's `error_type` decides
//! before the HTTP status (a named refusal such as OrderException is a rejection even
//! on HTTP 500). Secrets never reach these values: the official crate already strips
//! queries and redacts tokens, and nothing here formats a token.

use kiteconnect::error::ErrorKind;

/// How a caller should react to a [`KiteError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: network, rate limit, server trouble. Safe to try again later.
    Retryable,
    /// Kite refused the request (bad input, RMS, unknown order). Do not repeat it as is.
    Rejected,
    /// The session is gone (TokenException) or the adapter is misconfigured.
    Fatal,
    /// An order's outcome is not known yet: a placement whose answer was lost (look
    /// it up by its tag) or an order still working when the wait ended (re-read it
    /// by id). Never treat it as rejected, never send it again.
    UnknownOutcome,
}

/// Why a call to Kite failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KiteError {
    /// Network trouble, HTTP 429 or a 5xx answer on a call that changed nothing.
    #[error("kite is unavailable or rate limiting, try again later")]
    Retryable(#[source] kiteconnect::Error),
    /// Kite refused the request.
    #[error("kite rejected the request ({kind}, HTTP {status}): {message}")]
    Rejected {
        /// Kite's `error_type`, such as `InputException` or `OrderException`.
        kind: String,
        /// Kite's message.
        message: String,
        /// HTTP status.
        status: u16,
    },
    /// The access token expired or was revoked (TokenException): log in again.
    #[error("kite session expired or invalid: run `kitebreak login`")]
    TokenExpired,
    /// No access token is loaded yet.
    #[error("no kite session: run `kitebreak login`")]
    NoSession,
    /// The placement of the order tagged `tag` was sent but no answer came back.
    #[error("order tagged {tag} may or may not have been placed; reconcile with find_by_tag")]
    OutcomeUnknown {
        /// The order's unique tag.
        tag: String,
        /// What went wrong on the wire.
        #[source]
        source: kiteconnect::Error,
    },
    /// The order was still working (`status`) when the bounded wait for its final
    /// status ended. It exists at Kite and may still fill.
    #[error("order {order_id} is still {status}; its final status is not known yet")]
    StillWorking {
        /// Kite's order id.
        order_id: String,
        /// Kite's last status seen, e.g. `OPEN`.
        status: String,
    },
    /// A response that does not fit what Kite documents.
    #[error("unexpected kite response: {0}")]
    Decode(String),
    /// The instrument is not in the instrument dump.
    #[error("unknown instrument {0}")]
    UnknownInstrument(String),
    /// The caller asked for something that cannot be sent.
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// Reading or writing a file in the data directory failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done, e.g. "writing".
        action: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The client library refused to build a request (bad URL, key, token).
    #[error("kite client setup failed")]
    Setup(#[source] kiteconnect::Error),
}

impl KiteError {
    /// The class of this error; see [`ErrorClass`].
    pub fn class(&self) -> ErrorClass {
        match self {
            KiteError::Retryable(_) => ErrorClass::Retryable,
            KiteError::Rejected { .. }
            | KiteError::UnknownInstrument(_)
            | KiteError::InvalidInput(_)
            | KiteError::Decode(_) => ErrorClass::Rejected,
            KiteError::TokenExpired
            | KiteError::NoSession
            | KiteError::Io { .. }
            | KiteError::Setup(_) => ErrorClass::Fatal,
            KiteError::OutcomeUnknown { .. } | KiteError::StillWorking { .. } => {
                ErrorClass::UnknownOutcome
            }
        }
    }

    /// True for errors a read may simply repeat.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// Classifies an error of a call that changes nothing (reads, logins).
    ///
    /// Kite's `error_type` decides first (kite-api.md §3): TokenException is fatal,
    /// the refusals (Input, Order, Permission, User, TwoFA, Margin, Holding) are
    /// rejections whatever the HTTP status; 429 is always a rate limit; the rest
    /// (Network, Data, General, unknown types) are transient on 5xx.
    pub fn from_read(error: kiteconnect::Error) -> KiteError {
        match &error {
            kiteconnect::Error::Api(api) => match api_verdict(api) {
                Verdict::Token => KiteError::TokenExpired,
                Verdict::Transient => KiteError::Retryable(error),
                Verdict::Refused | Verdict::Unclear => KiteError::Rejected {
                    kind: api.kind.to_string(),
                    message: api.message.clone(),
                    status: api.status,
                },
            },
            kiteconnect::Error::Http { status, .. }
            | kiteconnect::Error::Blocked { status, .. } => {
                if transient_status(*status) {
                    KiteError::Retryable(error)
                } else {
                    KiteError::Rejected {
                        kind: "Http".into(),
                        message: error.to_string(),
                        status: *status,
                    }
                }
            }
            kiteconnect::Error::Transport(_) | kiteconnect::Error::WebSocket(_) => {
                KiteError::Retryable(error)
            }
            kiteconnect::Error::Decode { .. } => KiteError::Decode(error.to_string()),
            _ => KiteError::Setup(error),
        }
    }

    /// Classifies an error of an order placement tagged `tag`.
    ///
    /// Only answers that prove Kite did not act are definite: 429, a refusal named
    /// by its `error_type` (InputException, OrderException, MarginException, ...)
    /// at any status, 4xx envelopes, TokenException, a Cloudflare block, and a
    /// connection that was never established. A timeout, a dropped connection, a 5xx
    /// without a refusal type (NetworkException: the API could not reach the OMS,
    /// DataException, GeneralException) or an unreadable 200 may hide a placed order.
    pub fn from_placement(error: kiteconnect::Error, tag: &str) -> KiteError {
        let unknown = match &error {
            kiteconnect::Error::Api(api) => api_verdict(api) == Verdict::Transient,
            kiteconnect::Error::Http { status, .. } => *status >= 500,
            kiteconnect::Error::Transport(source) => !never_sent(source.as_ref()),
            kiteconnect::Error::Decode { .. } => true,
            _ => false,
        };
        let unknown = unknown && !is_rate_limit(&error);
        if unknown {
            KiteError::OutcomeUnknown {
                tag: tag.to_string(),
                source: error,
            }
        } else {
            KiteError::from_read(error)
        }
    }
}

/// What an error envelope says about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// TokenException: the session is gone; nothing was done.
    Token,
    /// Kite (or the OMS behind it) refused the request; nothing was done.
    Refused,
    /// Rate limit or server trouble: a read may be repeated.
    Transient,
    /// A 4xx without a refusal type, e.g. `GeneralException` "Route not found".
    Unclear,
}

/// The verdict of one error envelope, from its `error_type` first and its HTTP
/// status second.
fn api_verdict(api: &kiteconnect::error::ApiError) -> Verdict {
    match &api.kind {
        ErrorKind::Token => Verdict::Token,
        _ if api.status == 429 => Verdict::Transient,
        ErrorKind::Input
        | ErrorKind::Order
        | ErrorKind::Permission
        | ErrorKind::User
        | ErrorKind::TwoFA => Verdict::Refused,
        ErrorKind::Other(name) if REFUSALS.contains(&name.as_str()) => Verdict::Refused,
        ErrorKind::Network => Verdict::Transient,
        _ if transient_status(api.status) => Verdict::Transient,
        _ => Verdict::Unclear,
    }
}

/// `error_type`s the crate has no variant for that still mean "refused".
const REFUSALS: [&str; 2] = ["MarginException", "HoldingException"];

/// HTTP 429 in any form: Kite counted the request against a limit and did nothing.
fn is_rate_limit(error: &kiteconnect::Error) -> bool {
    match error {
        kiteconnect::Error::Api(api) => api.status == 429,
        kiteconnect::Error::Http { status, .. } | kiteconnect::Error::Blocked { status, .. } => {
            *status == 429
        }
        _ => false,
    }
}

/// 429 and 5xx: the server may answer differently a little later.
fn transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// True when the transport error proves the request never left: the TCP connection
/// itself failed (refused, unreachable) and no byte of the request was written.
fn never_sent(source: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    source
        .downcast_ref::<reqwest::Error>()
        .is_some_and(reqwest::Error::is_connect)
}

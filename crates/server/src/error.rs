//! [`ApiError`]: every error the API answers with, as `{"status":"error","message"}`
//! and the right status code. Unexpected failures are logged here and answered
//! with an opaque message.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kitebreak_engine::{BrokerError, EngineError};

/// An error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or not acceptable.
    #[error("{0}")]
    BadRequest(String),
    /// 400 from a broker data endpoint; the body also names the symbol.
    #[error("{message}")]
    BadSymbolRequest {
        /// What went wrong.
        message: String,
        /// The symbol asked about.
        symbol: String,
    },
    /// 401: credentials are missing.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: credentials are wrong.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such symbol or path.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 429: this client failed authentication too often; retry after the delay.
    #[error("too many authentication failures; try again in {retry_after} s")]
    TooManyRequests {
        /// Seconds until the client's window ends.
        retry_after: u64,
    },
    /// 413: the body is larger than the limit.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// 502: the broker failed.
    #[error("broker error")]
    BadGateway(#[source] EngineError),
    /// 503: the service is shutting down.
    #[error("service unavailable")]
    Unavailable,
    /// 503 with the reason: not configured (Kite login without its keys), or the
    /// broker session expired.
    #[error("{0}")]
    UnavailableBecause(String),
    /// 500 with a message that is safe to show (no secret, no internal detail).
    #[error("{0}")]
    ServerFault(String),
    /// 500: anything unexpected; the cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] EngineError),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::BadSymbolRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable | ApiError::UnavailableBecause(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::ServerFault(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::UnknownSymbol(_) => ApiError::NotFound(error.to_string()),
            EngineError::Conflict(message) | EngineError::Refused(message) => {
                ApiError::Conflict(message)
            }
            EngineError::InvalidInput(message) => ApiError::BadRequest(message),
            EngineError::NoOpenTrade(_)
            | EngineError::NoPrice(_)
            | EngineError::OrderRejected { .. } => ApiError::BadRequest(error.to_string()),
            EngineError::Broker(inner @ (BrokerError::Rejected(_) | BrokerError::NotPlaced(_))) => {
                ApiError::BadRequest(inner.to_string())
            }
            EngineError::Broker(inner @ BrokerError::SessionExpired) => {
                ApiError::UnavailableBecause(format!("{inner} or open /login"))
            }
            EngineError::Broker(_) => ApiError::BadGateway(error),
            EngineError::Stopped => ApiError::Unavailable,
            other => ApiError::Internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            let cause = std::error::Error::source(&self).map(|c| format!("{c:?}"));
            tracing::error!(error = %self, cause, "request failed");
        }
        let mut body = serde_json::json!({"status": "error", "message": self.to_string()});
        if let ApiError::BadSymbolRequest { symbol, .. } = &self {
            body["symbol"] = serde_json::Value::from(symbol.as_str());
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

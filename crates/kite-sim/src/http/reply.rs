//! Kite's response envelope: `{"status":"success","data":...}` and
//! `{"status":"error","message":...,"error_type":...}` with the matching HTTP status.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::book::Refusal;

/// Kite's invalid-session message.
pub const TOKEN_MESSAGE: &str = "Incorrect `api_key` or `access_token`.";

/// An error answered in Kite's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error_type`, e.g. `InputException`.
    pub error_type: &'static str,
    /// `message`.
    pub message: String,
}

impl ApiError {
    /// 400 InputException.
    pub fn input(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error_type: "InputException",
            message: message.into(),
        }
    }

    /// 403 TokenException.
    pub fn token() -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            error_type: "TokenException",
            message: TOKEN_MESSAGE.into(),
        }
    }

    /// 400 OrderException.
    pub fn order(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error_type: "OrderException",
            message: message.into(),
        }
    }

    /// 404 GeneralException.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error_type: "GeneralException",
            message: message.into(),
        }
    }

    /// An injected failure with this HTTP status.
    pub fn injected(status: u16) -> ApiError {
        match status {
            429 => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                error_type: "NetworkException",
                message: "Too many requests".into(),
            },
            503 => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error_type: "NetworkException",
                message: "Couldn't connect to the OMS. Please try again.".into(),
            },
            _ => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                error_type: "GeneralException",
                message: "Something went wrong. Please try again.".into(),
            },
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::TooManyOrders => ApiError::injected(429),
            Refusal::Input(message) => ApiError::input(message),
            Refusal::Order(message) => ApiError::order(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"status": "error", "message": self.message, "error_type": self.error_type, "data": null});
        (self.status, Json(body)).into_response()
    }
}

/// A success envelope around `data`.
pub fn ok(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// What handlers return.
pub type ApiResult = Result<Response, ApiError>;

/// A JSON body (admin API); one that does not parse is 400 InputException in Kite's
/// error shape, never axum's plain-text rejection.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| JsonBody(value))
            .map_err(|rejection| ApiError::input(rejection.body_text()))
    }
}

/// Path segments; one that does not parse (a token that is not a number) is 400
/// InputException in Kite's error shape.
#[derive(Debug)]
pub struct Segments<T>(pub T);

impl<S, T> FromRequestParts<S> for Segments<T>
where
    Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Segments(value))
            .map_err(|rejection| ApiError::input(rejection.body_text()))
    }
}

//! Kite login endpoints. The paper broker has no session, so they answer 400 with
//! a clear message (the paths stay, so the original's clients get the original's
//! status for "the exchange failed"); the Kite broker will implement them.

use crate::ApiError;

const PAPER: &str = "Kite login is not available: this server runs the paper broker";

/// `POST /generate_token`.
pub async fn generate_token() -> ApiError {
    ApiError::BadRequest(PAPER.into())
}

/// `GET /login` and `GET /login/callback`.
pub async fn login() -> ApiError {
    ApiError::BadRequest(PAPER.into())
}

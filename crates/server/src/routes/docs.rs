//! `GET /openapi.json` and the Swagger UI at `GET /docs`, whose HTML, JS and CSS
//! are compiled into the binary (`utoipa-swagger-ui`'s `vendored` feature), so the
//! page works with no internet.

use std::sync::Arc;

use axum::Extension;
use axum::extract::Path;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::Config;

use crate::ApiError;

/// The OpenAPI document, serialized once when the router is built.
#[derive(Debug, Clone)]
pub struct Document(Arc<str>);

impl Document {
    /// Serializes `document` (a document that cannot serialize is served as `{}`,
    /// which the docs test would catch).
    pub fn new(document: &OpenApi) -> Document {
        Document(document.to_json().unwrap_or_else(|_| "{}".into()).into())
    }
}

/// The OpenAPI 3 document of every route.
#[utoipa::path(get, path = "/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(document): Extension<Document>) -> Response {
    let json = HeaderValue::from_static("application/json");
    ([(CONTENT_TYPE, json)], document.0.to_string()).into_response()
}

/// Redirects to `/docs/`, so the page's relative asset links resolve.
#[utoipa::path(get, path = "/docs", tag = "service",
    responses((status = 303, description = "to /docs/")))]
pub async fn docs() -> Redirect {
    Redirect::to("/docs/")
}

/// The Swagger UI page.
#[utoipa::path(get, path = "/docs/", tag = "service",
    responses((status = 200, description = "Swagger UI", content_type = "text/html")))]
pub async fn docs_index() -> Result<Response, ApiError> {
    asset("index.html")
}

/// The Swagger UI's scripts and styles.
#[utoipa::path(get, path = "/docs/{file}", tag = "service",
    params(("file" = String, Path, description = "an asset of the page")),
    responses((status = 200, description = "the asset"), (status = 404, body = crate::openapi::Message)))]
pub async fn docs_asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    asset(&file)
}

fn asset(file: &str) -> Result<Response, ApiError> {
    let config = Arc::new(Config::from("/openapi.json"));
    let missing = || ApiError::NotFound(format!("no such documentation file: {file}"));
    let found = utoipa_swagger_ui::serve(file, config).map_err(|_| missing())?;
    let found = found.ok_or_else(missing)?;
    let kind = HeaderValue::from_str(&found.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = (
        StatusCode::OK,
        [(CONTENT_TYPE, kind)],
        found.bytes.into_owned(),
    )
        .into_response();
    if found.gzpipped {
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

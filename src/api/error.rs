//! The web API's error: each cause maps to one status and a `{"detail": …}` body (what sentry-cli and
//! Grafana read). Database errors are logged, never shown.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::core::{CoreError, ErrorKind, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::domain::search::SearchError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Authentication credentials were not provided or are invalid.")]
    Unauthorized,
    /// Unknown, or outside the caller's organizations: the two are never told apart.
    #[error("The requested resource does not exist")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("Invalid search query: {0}")]
    BadQuery(#[from] SearchError),
    #[error("The request body is too large")]
    BodyTooLarge,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("The request body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// What a use case (or a read) failed with, answered as every edge answers it.
    #[error("{0}")]
    Core(#[from] CoreError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::Core(error.into())
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) | ApiError::BadQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Core(error) => error.kind().status(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest(detail.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Core(error) => match error.kind() {
                ErrorKind::NotFound => ApiError::NotFound.to_string(),
                ErrorKind::Unavailable => "The database is unavailable; try again shortly.".to_owned(),
                ErrorKind::Internal => "Internal error".to_owned(),
                _ => error.to_string(),
            },
            other => other.to_string(),
        };
        if status.is_server_error() {
            tracing::error!(error = ?self, "API request failed");
        } else {
            tracing::debug!(%status, %detail, "API request refused");
        }
        let mut body = serde_json::json!({ "detail": detail });
        if let ApiError::BadQuery(error) = &self {
            body["position"] = error.position.into();
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

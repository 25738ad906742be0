//! JSON request bodies whose every failure is answered like any other API error: `{"detail": …}` with
//! 400 (unreadable or wrongly typed JSON), 413 (over 2 MiB) or 415 (not sent as JSON), never
//! axum's plain-text rejection.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::request_body::{read_capped, BodyReadError};

/// The largest JSON body the API reads; the same figure as axum's default.
pub const MAX_JSON_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        if !is_json(&request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_capped(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|error| match error {
                BodyReadError::TooLarge => ApiError::BodyTooLarge,
                BodyReadError::Unreadable => ApiError::bad_request("the request body could not be read"),
            })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
    }
}

/// `application/json`, or any `application/*+json`, with or without parameters.
fn is_json(request: &Request) -> bool {
    let Some(content_type) = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

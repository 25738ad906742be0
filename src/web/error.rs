//! What a page request can fail with, and the page each failure shows. Database errors are logged and
//! shown as a generic 500 page, never in detail.

use std::time::Duration;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::core::{CoreError, ErrorKind, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("sign in first")]
    SignInRequired { next: String },
    #[error("page not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("too many attempts")]
    TooManyAttempts(Duration),
    /// What a use case (or a read) failed with, answered as every edge answers it.
    #[error("{0}")]
    Core(#[from] CoreError),
    #[error("rendering: {0}")]
    Render(#[from] askama::Error),
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> WebError {
        WebError::Core(error.into())
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: String,
    static_version: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            WebError::SignInRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or you may not see it.".to_owned(),
            ),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", (*why).to_owned()),
            WebError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", why.clone()),
            WebError::TooManyAttempts(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!(
                    "Too many failed sign-ins. Try again in {} seconds.",
                    wait.as_secs().max(1)
                ),
            ),
            WebError::Core(error) => core_answer(error),
            WebError::Render(_) => {
                tracing::error!(error = %self, "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The error was logged.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            status: status.as_u16(),
            heading,
            message,
            static_version: &super::static_files::VERSION,
        };
        let body = page.render().unwrap_or_else(|_| heading.to_owned());
        let mut response = (status, Html(body)).into_response();
        let retry_after = match &self {
            WebError::TooManyAttempts(wait) => Some(wait.as_secs().max(1)),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The page for a use case's failure: the same status the API answers with, and a sentence.
fn core_answer(error: &CoreError) -> (StatusCode, &'static str, String) {
    let kind = error.kind();
    let (heading, message) = match kind {
        ErrorKind::NotFound => ("Not found", "There is nothing here, or you may not see it.".to_owned()),
        ErrorKind::Forbidden => ("Not allowed", error.to_string()),
        ErrorKind::Invalid => ("Bad request", error.to_string()),
        ErrorKind::Conflict => ("Not possible", error.to_string()),
        ErrorKind::Unavailable => {
            tracing::warn!(%error, "page failed: database unavailable");
            (
                "Try again shortly",
                "The database is not answering right now.".to_owned(),
            )
        }
        ErrorKind::Internal => {
            tracing::error!(%error, "page failed");
            ("Something went wrong", "The error was logged.".to_owned())
        }
    };
    (kind.status(), heading, message)
}

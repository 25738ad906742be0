//! What a page request can fail with, and the page each failure shows. Database errors are logged and
//! shown as a generic 500 page, never in detail.

use std::time::Duration;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

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
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("rendering: {0}")]
    Render(#[from] askama::Error),
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
                let target = format!("/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                return Redirect::to(&target).into_response();
            }
            WebError::NotFound => (StatusCode::NOT_FOUND, "Not found", "There is nothing here, or you may not see it.".to_owned()),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", (*why).to_owned()),
            WebError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Bad request", why.clone()),
            WebError::TooManyAttempts(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Too many failed sign-ins. Try again in {} seconds.", wait.as_secs().max(1)),
            ),
            WebError::Store(_) | WebError::Render(_) => {
                tracing::error!(error = %self, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "The error was logged.".to_owned())
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
        if let WebError::TooManyAttempts(wait) = self {
            if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

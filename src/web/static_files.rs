//! The stylesheet and script, compiled into the binary. Their URLs carry a hash of their content, so they
//! are cached for a year and a new build's pages ask for the new files.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const FILES: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("../../static/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../static/app.js")),
];

/// The first 12 hex digits of the SHA-256 of all embedded files: the cache-busting version in their URLs.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let all: String = FILES.iter().map(|(_, _, body)| *body).collect();
    crate::domain::accounts::hash_token(&all)[..12].to_owned()
});

pub fn router() -> Router {
    Router::new().route("/static/{version}/{name}", get(serve))
}

async fn serve(Path((_version, name)): Path<(String, String)>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

//! One module per area of the UI; each handler extracts, calls the store, and renders one view.

pub mod auth;
pub mod issue_detail;
pub mod issues;
pub mod projects;

use askama::Template;
use axum::response::Html;

use super::error::WebError;

/// Renders a page's view.
pub fn render(view: &impl Template) -> Result<Html<String>, WebError> {
    Ok(Html(view.render()?))
}

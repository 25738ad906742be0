//! One module per area of the UI; each handler extracts, calls the store, and renders one view.

pub mod account;
pub mod alerts;
pub mod auth;
pub mod feedback;
pub mod issue_detail;
pub mod issues;
pub mod members;
pub mod monitors;
mod pager;
pub mod performance;
pub mod project_data;
pub mod project_settings;
pub mod projects;
pub mod releases;
pub mod stats;
pub mod traces;
pub mod transaction;

use askama::Template;
use axum::response::Html;
use serde::Deserialize;

use super::error::WebError;

/// Renders a page's view.
pub fn render(view: &impl Template) -> Result<Html<String>, WebError> {
    Ok(Html(view.render()?))
}

/// `?notice=` after a form's redirect: a code the page looks up in its own fixed list, so no text
/// from the URL ever reaches the page.
#[derive(Deserialize, Default)]
pub struct NoticeParam {
    #[serde(default)]
    notice: String,
}

/// A short message above a page after one of its forms was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub text: &'static str,
    pub is_error: bool,
}

impl NoticeParam {
    /// The message for the code, from `(code, text, is_error)` rows; `None` for unknown codes.
    pub fn lookup(&self, table: &[(&str, &'static str, bool)]) -> Option<Notice> {
        table
            .iter()
            .find(|(code, _, _)| *code == self.notice)
            .map(|(_, text, is_error)| Notice {
                text,
                is_error: *is_error,
            })
    }
}

/// A slug or name made safe to put into a URL path as one segment.
pub fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

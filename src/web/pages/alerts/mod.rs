//! Alerting in the UI: a project's rules and delivery log, and the organization's notification channels.
//! Every member may look; only admins and owners change anything. Secrets are only ever shown masked,
//! except a webhook secret Faultline generated, once, on the page answering its creation.

mod channel_form;
pub mod channels;
pub mod deliveries;
mod metric_form;
pub mod metric_rules;
mod rule_form;
pub mod rules;

use crate::core::Access;
use crate::domain::accounts::Scope;
use crate::web::session::Viewer;
use crate::web::WebError;

use super::{path_segment, Notice};

/// A message above a page: a fixed notice, or text made while handling the request (a validation error,
/// a test notification's outcome). Never text taken from the URL.
pub struct Message {
    pub text: String,
    pub is_error: bool,
}

impl Message {
    pub fn error(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            is_error: true,
        }
    }

    pub fn ok(text: impl Into<String>) -> Message {
        Message {
            text: text.into(),
            is_error: false,
        }
    }
}

impl From<Notice> for Message {
    fn from(notice: Notice) -> Message {
        Message {
            text: notice.text.to_owned(),
            is_error: notice.is_error,
        }
    }
}

/// Error texts are lower-case to read well inside other sentences; a notice is a sentence of its own.
pub(in crate::web::pages) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

/// Where a project's rule list is, for links and redirects.
pub fn alerts_path(org: &str, project: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/alerts/",
        path_segment(org),
        path_segment(project)
    )
}

/// Where an organization's channel list is.
pub fn channels_path(org: &str) -> String {
    format!("/organizations/{}/settings/channels/", path_segment(org))
}

/// The organization in the URL for a page that offers a change (a form): members get the same 403 the
/// change itself would get from `core`, non-members 404.
fn editor_access(viewer: &Viewer, org: &str) -> Result<Access, WebError> {
    let access = viewer.access(org)?;
    access.require(Scope::ProjectWrite)?;
    Ok(access)
}

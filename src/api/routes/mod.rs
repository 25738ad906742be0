//! The API's handlers, one file per resource. Each extracts, calls one function, and maps the result.

pub mod alert_channels;
pub mod alert_rules;
pub mod artifacts;
pub mod attachments;
pub mod discover;
pub mod events;
pub mod feedback;
mod filters;
pub mod index;
pub mod issues;
pub mod lookups;
pub mod monitors;
pub mod project_filters;
pub mod projects;
pub mod release_commits;
pub mod releases;
mod scope;
pub mod sessions;
pub mod stats;
pub mod teams;

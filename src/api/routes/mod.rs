//! The API's handlers, one file per resource. Each extracts, calls one function, and maps the result.

pub mod events;
mod filters;
pub mod index;
pub mod issues;
pub mod lookups;
pub mod projects;
pub mod releases;
mod scope;

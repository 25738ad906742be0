//! A stored event payload turned into what the issue page shows. Pure functions over the JSON, so an
//! event with missing sections or unexpected types still renders (as less), never fails the page.
//! Every string here came from the event: templates show it escaped and never as markup, link or class.

mod sections;
mod stack;
mod values;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use sections::{ContextView, CrumbView, RequestView};
pub use stack::{ExceptionView, FrameView, SourceLine, StackView};
use values::{field, pairs, text};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventView {
    pub message: Option<String>,
    /// The raised exception first, the root cause last.
    pub exceptions: Vec<ExceptionView>,
    /// The stack of an event without exceptions (a thread's or the legacy top-level one).
    pub stack: Option<StackView>,
    /// Library frames hidden behind the "show all frames" toggle, over all stacks.
    pub hidden_frames: usize,
    pub breadcrumbs: Vec<CrumbView>,
    pub request: Option<RequestView>,
    pub user: Vec<(String, String)>,
    pub contexts: Vec<ContextView>,
    pub sdk: Option<String>,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub tags: Vec<(String, String)>,
    pub extra: Vec<(String, String)>,
    /// The fingerprint the SDK asked for, if any.
    pub fingerprint: Vec<String>,
}

pub fn event_view(payload: &Value) -> EventView {
    let exceptions = stack::exception_chain(payload);
    let stack = if exceptions.is_empty() {
        stack::standalone_stack(payload)
    } else {
        None
    };
    let hidden_frames = exceptions.iter().map(|e| e.stack.hidden_frames).sum::<usize>()
        + stack.as_ref().map_or(0, |stack| stack.hidden_frames);
    EventView {
        message: sections::message(payload),
        exceptions,
        stack,
        hidden_frames,
        breadcrumbs: sections::breadcrumbs(payload),
        request: sections::request(payload),
        user: sections::user(payload),
        contexts: sections::contexts(payload),
        sdk: sections::sdk(payload),
        release: field(payload, "release"),
        environment: field(payload, "environment"),
        tags: pairs(payload.get("tags").unwrap_or(&Value::Null)),
        extra: pairs(payload.get("extra").unwrap_or(&Value::Null)),
        fingerprint: match payload.get("fingerprint") {
            Some(Value::Array(parts)) => parts.iter().filter_map(text).collect(),
            Some(other) => text(other).into_iter().collect(),
            None => Vec::new(),
        },
    }
}

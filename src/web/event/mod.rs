//! A stored event turned into what the issue page shows. Pure functions over the typed event (decoded
//! from the stored payload once, as the API decodes it), so the page and the API read events the same
//! way; only the free-form parts (contexts, extra, variables…) are still JSON, read leniently.
//! Every string here came from the event: templates show it escaped and never as markup, link or class.

mod performance;
mod sections;
mod stack;
mod values;

#[cfg(test)]
mod tests;

use crate::domain::event::Event;
pub use performance::PerformanceView;
pub use sections::{ContextView, CrumbView, RequestView};
pub use stack::{ExceptionView, StackView};
use values::{map_pairs, non_empty};

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
    /// A performance issue's problem and the spans around it.
    pub performance: Option<PerformanceView>,
}

/// What the page shows of a stored event, read from the typed event the API reads too.
pub fn event_view(event: &Event) -> EventView {
    let exceptions = stack::exception_chain(event);
    let stack = if exceptions.is_empty() {
        stack::standalone_stack(event)
    } else {
        None
    };
    let hidden_frames = exceptions.iter().map(|e| e.stack.hidden_frames).sum::<usize>()
        + stack.as_ref().map_or(0, |stack| stack.hidden_frames);
    EventView {
        message: sections::message(event),
        exceptions,
        stack,
        hidden_frames,
        breadcrumbs: sections::breadcrumbs(event),
        request: sections::request(event),
        user: sections::user(event),
        contexts: sections::contexts(event),
        sdk: sections::sdk(event),
        release: non_empty(&event.release),
        environment: non_empty(&event.environment),
        tags: event.tags.clone(),
        extra: map_pairs(&event.extra),
        fingerprint: event.fingerprint.clone(),
        performance: event.performance.as_ref().map(performance::performance_view),
    }
}

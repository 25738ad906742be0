//! What an event is called: its type (`error`/`default`), title, metadata and culprit (§9.5, §9.6).
//! Issues take these from their latest event (§9.3).

use crate::domain::event::{Event, Exception, Frame};
use crate::domain::grouping::{crash_frame, exception_frames, is_in_app, standalone_frames};

const MAX_TYPE_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 1024;
const MAX_MESSAGE_TITLE_CHARS: usize = 100;
const MAX_CULPRIT_CHARS: usize = 200;
const MAX_CULPRIT_LOCATION_CHARS: usize = 100;
/// Sentry's title for an event that says nothing at all (§9.5).
const UNLABELED_TITLE: &str = "<unlabeled event>";

/// The parts of an event the issue list shows beside the title (§9.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMetadata {
    /// Exception type (default `Error`); `None` for message events and synthetic exceptions.
    pub ty: Option<String>,
    /// Exception value, or the message of a message event.
    pub value: Option<String>,
    /// File and function of the crash frame.
    pub filename: Option<String>,
    pub function: Option<String>,
}

/// `error` when the event carries an exception, else `default` (§7.1 `type`).
pub fn event_type(event: &Event) -> &'static str {
    if event.exception.is_empty() {
        "default"
    } else {
        "error"
    }
}

pub fn event_metadata(event: &Event) -> EventMetadata {
    let crash = crash_frame(event);
    let (ty, value) = match event.main_exception() {
        Some(exception) => (
            exception_type(exception),
            present(exception.value.as_deref()).map(|v| truncate(v, MAX_VALUE_CHARS)),
        ),
        None => (None, message(event).map(|m| truncate(m, MAX_VALUE_CHARS))),
    };
    EventMetadata {
        ty,
        value,
        filename: crash
            .and_then(|f| present(f.filename.as_deref().or(f.abs_path.as_deref())))
            .map(str::to_string),
        function: crash_function(crash).map(str::to_string),
    }
}

/// `Type: first line of value` for errors, the message's first line otherwise (§9.5).
pub fn event_title(event: &Event) -> String {
    let Some(exception) = event.main_exception() else {
        return message_title(event);
    };
    if is_synthetic(exception) {
        // The SDK invented the type (e.g. a signal name); the crashing function says more.
        return crash_function(crash_frame(event)).unwrap_or("<unknown>").to_string();
    }
    let metadata = event_metadata(event);
    let ty = metadata.ty.unwrap_or_else(|| "Error".to_string());
    match metadata.value.as_deref().and_then(first_line) {
        Some(line) => format!("{ty}: {line}"),
        None => ty,
    }
}

fn message_title(event: &Event) -> String {
    match message(event).and_then(first_line) {
        Some(line) if line.chars().count() > MAX_MESSAGE_TITLE_CHARS => {
            let kept: String = line.chars().take(MAX_MESSAGE_TITLE_CHARS - 3).collect();
            format!("{kept}...")
        }
        Some(line) => line.to_string(),
        None => UNLABELED_TITLE.to_string(),
    }
}

/// Where the event happened: the client's culprit or transaction, else the crash location,
/// else the request URL; empty when none (§9.6).
pub fn event_culprit(event: &Event) -> String {
    let explicit = present(event.culprit.as_deref()).or(present(event.transaction.as_deref()));
    if let Some(culprit) = explicit {
        return truncate(culprit, MAX_CULPRIT_CHARS);
    }
    if event.main_exception().is_some_and(is_synthetic) {
        return String::new();
    }
    let from_stack = stack_culprit(event).filter(|c| !c.is_empty());
    let from_request = || {
        let url = event.request.as_ref().and_then(|r| r.url.as_deref());
        present(url).map(str::to_string)
    };
    from_stack
        .or_else(from_request)
        .map(|culprit| truncate(&culprit, MAX_CULPRIT_CHARS))
        .unwrap_or_default()
}

/// The culprit of the most recent in-app frame that has one, else of the most recent frame.
fn stack_culprit(event: &Event) -> Option<String> {
    let frames = culprit_frames(event);
    let culprit = |frame: &Frame| frame_culprit(frame, &event.platform);
    let in_app = frames
        .iter()
        .rev()
        .filter(|frame| is_in_app(frame))
        .map(culprit)
        .find(|c| !c.is_empty());
    in_app.or_else(|| frames.last().map(culprit))
}

/// The last exception that has frames; without exceptions, the event's own stack.
fn culprit_frames(event: &Event) -> &[Frame] {
    if event.exception.is_empty() {
        return standalone_frames(event);
    }
    event
        .exception
        .iter()
        .rev()
        .map(|exception| exception_frames(event, exception))
        .find(|frames| !frames.is_empty())
        .unwrap_or(&[])
}

/// Native code has no module, so the function alone names the place; JS reads `fn(file)`,
/// everything else `module in fn` (§9.6).
fn frame_culprit(frame: &Frame, event_platform: &str) -> String {
    let platform = present(frame.platform.as_deref()).unwrap_or(event_platform);
    let function = present(frame.function.as_deref()).unwrap_or("?");
    if matches!(platform, "objc" | "cocoa" | "native") {
        return function.to_string();
    }
    let Some(location) = present(frame.module.as_deref()).or(present(frame.filename.as_deref())) else {
        return String::new();
    };
    if matches!(platform, "javascript" | "node") {
        format!("{function}({location})")
    } else {
        format!("{} in {function}", truncate(location, MAX_CULPRIT_LOCATION_CHARS))
    }
}

fn exception_type(exception: &Exception) -> Option<String> {
    if is_synthetic(exception) {
        return None;
    }
    let ty = present(exception.ty.as_deref()).unwrap_or("Error");
    Some(truncate(ty, MAX_TYPE_CHARS))
}

fn is_synthetic(exception: &Exception) -> bool {
    exception.mechanism.as_ref().and_then(|m| m.synthetic) == Some(true)
}

fn crash_function(frame: Option<&Frame>) -> Option<&str> {
    frame.and_then(|f| present(f.function.as_deref()))
}

/// Display prefers the formatted text; the template is the fallback (§9.5).
fn message(event: &Event) -> Option<&str> {
    let logentry = event.logentry.as_ref()?;
    present(logentry.formatted.as_deref()).or(present(logentry.message.as_deref()))
}

fn first_line(text: &str) -> Option<&str> {
    text.trim().lines().next().map(str::trim).filter(|l| !l.is_empty())
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{LogEntry, Mechanism, Request, Stacktrace};

    fn error(ty: Option<&str>, value: Option<&str>) -> Event {
        Event {
            platform: "python".into(),
            exception: vec![Exception {
                ty: ty.map(str::to_string),
                value: value.map(str::to_string),
                ..Exception::default()
            }],
            ..Event::default()
        }
    }

    fn with_frames(mut event: Event, frames: Vec<Frame>) -> Event {
        if let Some(exception) = event.exception.last_mut() {
            exception.stacktrace = Some(Stacktrace {
                frames,
                ..Stacktrace::default()
            });
        }
        event
    }

    fn frame(module: Option<&str>, filename: &str, function: &str, in_app: bool) -> Frame {
        Frame {
            module: module.map(str::to_string),
            filename: Some(filename.to_string()),
            function: Some(function.to_string()),
            in_app: Some(in_app),
            ..Frame::default()
        }
    }

    fn synthetic(mut event: Event) -> Event {
        if let Some(exception) = event.exception.last_mut() {
            exception.mechanism = Some(Mechanism {
                synthetic: Some(true),
                ..Mechanism::default()
            });
        }
        event
    }

    fn message_event(formatted: Option<&str>, template: Option<&str>) -> Event {
        Event {
            logentry: Some(LogEntry {
                message: template.map(str::to_string),
                formatted: formatted.map(str::to_string),
                params: None,
            }),
            ..Event::default()
        }
    }

    #[test]
    fn error_titles_use_the_first_line_of_the_value() {
        let event = error(Some("ValueError"), Some("bad\nsecond line"));
        assert_eq!(event_title(&event), "ValueError: bad");
    }

    #[test]
    fn error_titles_without_a_value_are_the_type() {
        assert_eq!(event_title(&error(Some("ValueError"), Some(""))), "ValueError");
        assert_eq!(event_title(&error(Some("ValueError"), None)), "ValueError");
    }

    #[test]
    fn errors_without_a_type_are_called_error() {
        assert_eq!(event_title(&error(None, Some("boom"))), "Error: boom");
    }

    #[test]
    fn synthetic_errors_are_titled_by_the_crash_function() {
        let frames = vec![
            frame(None, "start.c", "_start", false),
            frame(None, "main.c", "main", true),
            frame(None, "libc.c", "abort", false),
        ];
        let event = synthetic(with_frames(error(Some("SIGSEGV"), Some("x")), frames));
        assert_eq!(event_title(&event), "main");
        assert_eq!(event_metadata(&event).ty, None);
    }

    #[test]
    fn synthetic_errors_without_frames_are_unknown() {
        assert_eq!(event_title(&synthetic(error(Some("SIGSEGV"), None))), "<unknown>");
    }

    #[test]
    fn metadata_truncates_type_and_value() {
        let long_type = "T".repeat(300);
        let long_value = "v".repeat(3000);
        let metadata = event_metadata(&error(Some(&long_type), Some(&long_value)));
        assert_eq!(metadata.ty.map(|t| t.chars().count()), Some(128));
        assert_eq!(metadata.value.map(|v| v.chars().count()), Some(1024));
    }

    #[test]
    fn metadata_names_the_crash_frame() {
        let frames = vec![frame(Some("app.views"), "views.py", "index", true)];
        let metadata = event_metadata(&with_frames(error(Some("KeyError"), None), frames));
        assert_eq!(metadata.filename.as_deref(), Some("views.py"));
        assert_eq!(metadata.function.as_deref(), Some("index"));
    }

    #[test]
    fn message_titles_prefer_the_formatted_text() {
        let event = message_event(Some("Sending 5 requests\nmore"), Some("Sending %d requests"));
        assert_eq!(event_title(&event), "Sending 5 requests");
        assert_eq!(event_title(&message_event(None, Some("tpl %s"))), "tpl %s");
    }

    #[test]
    fn long_message_titles_are_truncated() {
        let title = event_title(&message_event(Some(&"x".repeat(500)), None));
        assert_eq!(title.chars().count(), 100);
        assert!(title.ends_with("..."));
    }

    #[test]
    fn empty_events_are_unlabeled() {
        assert_eq!(event_title(&Event::default()), "<unlabeled event>");
    }

    #[test]
    fn the_event_type_follows_the_exception() {
        assert_eq!(event_type(&error(Some("E"), None)), "error");
        assert_eq!(event_type(&message_event(Some("hi"), None)), "default");
    }

    #[test]
    fn python_culprits_read_module_in_function() {
        let frames = vec![
            frame(Some("app.views"), "views.py", "index", true),
            frame(Some("django.db"), "db.py", "execute", false),
        ];
        let event = with_frames(error(Some("KeyError"), None), frames);
        assert_eq!(event_culprit(&event), "app.views in index");
    }

    #[test]
    fn javascript_culprits_read_function_of_file() {
        let frames = vec![frame(None, "app.js", "handleClick", true)];
        let mut event = with_frames(error(Some("TypeError"), None), frames);
        event.platform = "javascript".into();
        assert_eq!(event_culprit(&event), "handleClick(app.js)");
    }

    #[test]
    fn native_culprits_are_the_function() {
        let frames = vec![frame(None, "main.c", "main", true)];
        let mut event = with_frames(error(Some("E"), None), frames);
        event.platform = "native".into();
        assert_eq!(event_culprit(&event), "main");
    }

    #[test]
    fn the_transaction_is_the_culprit_when_present() {
        let frames = vec![frame(Some("app.views"), "views.py", "index", true)];
        let mut event = with_frames(error(Some("KeyError"), None), frames);
        event.transaction = Some("/checkout".into());
        assert_eq!(event_culprit(&event), "/checkout");
    }

    #[test]
    fn without_in_app_frames_the_most_recent_frame_is_the_culprit() {
        let frames = vec![
            frame(Some("lib.a"), "a.py", "outer", false),
            frame(Some("lib.b"), "b.py", "inner", false),
        ];
        let event = with_frames(error(Some("E"), None), frames);
        assert_eq!(event_culprit(&event), "lib.b in inner");
    }

    #[test]
    fn synthetic_errors_have_no_culprit() {
        let frames = vec![frame(None, "main.c", "main", true)];
        let event = synthetic(with_frames(error(Some("SIGSEGV"), None), frames));
        assert_eq!(event_culprit(&event), "");
    }

    #[test]
    fn the_request_url_is_the_last_resort_culprit() {
        let mut event = message_event(Some("hi"), None);
        assert_eq!(event_culprit(&event), "");
        event.request = Some(Request {
            url: Some("https://shop.example.com/cart".into()),
            ..Request::default()
        });
        assert_eq!(event_culprit(&event), "https://shop.example.com/cart");
    }

    #[test]
    fn culprits_are_truncated() {
        let mut event = message_event(Some("hi"), None);
        event.transaction = Some("/".repeat(300));
        assert_eq!(event_culprit(&event).chars().count(), 200);
    }
}

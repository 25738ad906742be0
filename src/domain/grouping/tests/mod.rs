//! The grouping test vectors of protocol §8.4 (and §12 vector 22), one rule per test: shared
//! event builders here, frame rules in `stacks`, message and fingerprint rules in `messages`.

mod messages;
mod stacks;

use super::{compute_grouping, Grouping};
use crate::domain::event::{Event, Exception, Frame, LogEntry, Mechanism, Stacktrace, Thread};

fn frame(module: &str, function: &str, in_app: bool) -> Frame {
    Frame {
        module: Some(module.to_string()),
        filename: Some(format!("{}.py", module.replace('.', "/"))),
        abs_path: Some(format!("/srv/app/{}.py", module.replace('.', "/"))),
        function: Some(function.to_string()),
        lineno: Some(10),
        in_app: Some(in_app),
        ..Frame::default()
    }
}

fn stack(frames: Vec<Frame>) -> Option<Stacktrace> {
    Some(Stacktrace {
        frames,
        ..Stacktrace::default()
    })
}

fn exception(ty: &str, value: &str, frames: Vec<Frame>) -> Exception {
    Exception {
        ty: Some(ty.to_string()),
        value: Some(value.to_string()),
        stacktrace: if frames.is_empty() { None } else { stack(frames) },
        ..Exception::default()
    }
}

fn error_event(platform: &str, exceptions: Vec<Exception>) -> Event {
    Event {
        platform: platform.to_string(),
        exception: exceptions,
        ..Event::default()
    }
}

fn python_error(ty: &str, value: &str, frames: Vec<Frame>) -> Event {
    error_event("python", vec![exception(ty, value, frames)])
}

fn app_frames() -> Vec<Frame> {
    vec![frame("app.main", "run", true), frame("app.views", "index", true)]
}

fn message_event(message: Option<&str>, formatted: Option<&str>) -> Event {
    Event {
        platform: "python".into(),
        logentry: Some(LogEntry {
            message: message.map(str::to_string),
            formatted: formatted.map(str::to_string),
            params: None,
        }),
        ..Event::default()
    }
}

fn group(event: &Event) -> Grouping {
    compute_grouping(event)
}

#[track_caller]
fn assert_same_group(a: &Event, b: &Event) {
    let (ga, gb) = (group(a), group(b));
    assert_eq!(ga.hash, gb.hash, "expected one group:\n{ga:#?}\n{gb:#?}");
}

#[track_caller]
fn assert_different_groups(a: &Event, b: &Event) {
    let (ga, gb) = (group(a), group(b));
    assert_ne!(ga.hash, gb.hash, "expected two groups:\n{ga:#?}\n{gb:#?}");
}

#[test]
fn hashes_are_64_lowercase_hex() {
    let hash = group(&python_error("KeyError", "x", app_frames())).hash;
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
}

#[test]
fn components_explain_why_an_event_was_grouped() {
    let mut crash = frame("app.views", "index", true);
    crash.context_line = Some("    total = 1 / 0".into());
    let event = python_error("ZeroDivisionError", "division by zero", vec![crash]);
    assert_eq!(
        group(&event).components,
        vec![
            "exception type: ZeroDivisionError",
            "in-app frame: app.views | index | total = 1 / 0",
        ]
    );
}

#[test]
fn events_without_anything_usable_share_the_fallback_group() {
    let empty = Event::default();
    let other = Event {
        platform: "go".into(),
        transaction: Some("/x".into()),
        ..Event::default()
    };
    assert_same_group(&empty, &other);
    assert_eq!(group(&empty).components.len(), 1);
}

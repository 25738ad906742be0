//! Exceptions, mechanisms and threads (§7.2), including the legacy top-level stacktrace and
//! borrowing a thread's stacktrace for an exception that has none.

use serde_json::{Map, Value};

use super::fields::{
    bool_field, into_lenient_string, into_values, string_field, strip_nul, take, truncate_chars, Notes,
};
use super::stacktrace::parse_stacktrace;
use super::trim::{trim_databag, LARGE_BAG_BYTES};
use crate::domain::event::{Event, Exception, Mechanism, Stacktrace, Thread};

const MAX_TYPE_CHARS: usize = 256;
const MAX_VALUE_CHARS: usize = 8192;
const MAX_SUMMARY_CHARS: usize = 1024;

/// Reads `exception`, `threads` and the legacy `stacktrace` into `event`.
pub(super) fn read_exceptions(map: &mut Map<String, Value>, event: &mut Event, notes: &mut Notes) {
    event.exception = take(map, "exception")
        .map(|raw| into_values(raw, "exception", notes))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| parse_exception(raw, notes))
        .collect();
    event.threads = take(map, "threads")
        .map(|raw| into_values(raw, "threads", notes))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|raw| parse_thread(raw, notes))
        .collect();
    event.stacktrace = take(map, "stacktrace").and_then(|raw| parse_stacktrace(raw, notes));
    if let [only] = event.exception.as_mut_slice() {
        if only.stacktrace.is_none() {
            only.stacktrace = event.stacktrace.take();
        }
    }
    borrow_thread_stacktraces(&mut event.exception, &event.threads);
}

fn parse_exception(raw: Value, notes: &mut Notes) -> Option<Exception> {
    let Value::Object(mut object) = raw else {
        notes.invalid("exception");
        return None;
    };
    let mut value = take(&mut object, "value").and_then(into_lenient_string);
    if let Some(value) = value.as_mut() {
        if truncate_chars(value, MAX_VALUE_CHARS) {
            notes.too_long("exception.value");
        }
    }
    let exception = Exception {
        ty: string_field(&mut object, "type", MAX_TYPE_CHARS, notes),
        value,
        module: string_field(&mut object, "module", MAX_TYPE_CHARS, notes),
        thread_id: take_id(&mut object, "thread_id"),
        mechanism: take(&mut object, "mechanism").and_then(|raw| parse_mechanism(raw, notes)),
        stacktrace: take(&mut object, "stacktrace").and_then(|raw| parse_stacktrace(raw, notes)),
        raw_stacktrace: take(&mut object, "raw_stacktrace").and_then(|raw| parse_stacktrace(raw, notes)),
    };
    let usable = exception.ty.is_some() || exception.value.is_some() || exception.stacktrace.is_some();
    if !usable {
        notes.invalid("exception");
    }
    usable.then_some(exception)
}

fn parse_mechanism(raw: Value, notes: &mut Notes) -> Option<Mechanism> {
    let mut object = match raw {
        Value::Object(object) => object,
        // Legacy SDKs sent the mechanism type as a bare string.
        Value::String(ty) => {
            return Some(Mechanism {
                ty: Some(strip_nul(ty)),
                ..Mechanism::default()
            })
        }
        _ => {
            notes.invalid("mechanism");
            return None;
        }
    };
    let mut bag = |key: &str| {
        take(&mut object, key).map(|mut value| {
            trim_databag(&mut value, LARGE_BAG_BYTES);
            value
        })
    };
    let (data, meta) = (bag("data"), bag("meta"));
    Some(Mechanism {
        ty: string_field(&mut object, "type", MAX_TYPE_CHARS, notes),
        handled: bool_field(&mut object, "handled", notes),
        synthetic: bool_field(&mut object, "synthetic", notes),
        description: string_field(&mut object, "description", MAX_SUMMARY_CHARS, notes),
        help_link: string_field(&mut object, "help_link", MAX_SUMMARY_CHARS, notes),
        data,
        meta,
        exception_id: take_id(&mut object, "exception_id"),
        parent_id: take_id(&mut object, "parent_id"),
        is_exception_group: bool_field(&mut object, "is_exception_group", notes),
        source: string_field(&mut object, "source", MAX_SUMMARY_CHARS, notes),
    })
}

fn parse_thread(raw: Value, notes: &mut Notes) -> Option<Thread> {
    let Value::Object(mut object) = raw else {
        notes.invalid("threads");
        return None;
    };
    Some(Thread {
        id: take_id(&mut object, "id"),
        name: string_field(&mut object, "name", MAX_SUMMARY_CHARS, notes),
        crashed: bool_field(&mut object, "crashed", notes),
        current: bool_field(&mut object, "current", notes),
        main: bool_field(&mut object, "main", notes),
        stacktrace: take(&mut object, "stacktrace").and_then(|raw| parse_stacktrace(raw, notes)),
    })
}

/// Thread and exception ids are numbers or strings; anything else is ignored.
fn take_id(object: &mut Map<String, Value>, key: &str) -> Option<Value> {
    match take(object, key)? {
        Value::String(text) => {
            let mut text = strip_nul(text);
            truncate_chars(&mut text, MAX_TYPE_CHARS);
            Some(Value::String(text))
        }
        number @ Value::Number(_) => Some(number),
        _ => None,
    }
}

/// An exception without a stacktrace takes the one of the thread named by its `thread_id`; the
/// raised (last) exception falls back to the crashed, then the current thread (§7.2, as
/// GlitchTip does for Java and Cocoa). Causes do not fall back: they would all get one stack.
fn borrow_thread_stacktraces(exceptions: &mut [Exception], threads: &[Thread]) {
    let last = exceptions.len().saturating_sub(1);
    for (index, exception) in exceptions.iter_mut().enumerate() {
        if exception.stacktrace.is_some() {
            continue;
        }
        let by_id = exception
            .thread_id
            .as_ref()
            .and_then(|id| thread_stacktrace(threads, |thread| same_id(thread.id.as_ref(), id)));
        let fallback = || {
            thread_stacktrace(threads, |thread| thread.crashed == Some(true))
                .or_else(|| thread_stacktrace(threads, |thread| thread.current == Some(true)))
        };
        exception.stacktrace = by_id.or_else(|| (index == last).then(fallback).flatten()).cloned();
    }
}

fn thread_stacktrace(threads: &[Thread], matches: impl Fn(&Thread) -> bool) -> Option<&Stacktrace> {
    threads
        .iter()
        .filter(|thread| matches(thread))
        .find_map(|thread| thread.stacktrace.as_ref())
}

/// `1` and `"1"` name the same thread.
fn same_id(thread_id: Option<&Value>, wanted: &Value) -> bool {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    thread_id.and_then(text).is_some_and(|id| Some(id) == text(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(raw: Value) -> (Event, Vec<String>) {
        let Value::Object(mut map) = raw else { unreachable!() };
        let mut event = Event::default();
        let mut notes = Notes::default();
        read_exceptions(&mut map, &mut event, &mut notes);
        (event, notes.into_vec().into_iter().map(|note| note.name).collect())
    }

    #[test]
    fn bare_list_single_object_and_values_wrapper_are_the_same() {
        let one = json!({"type": "ValueError", "value": "bad", "stacktrace": {"frames": [{"function": "f"}]}});
        let wrapped = read(json!({"exception": {"values": [one.clone()]}})).0.exception;
        let bare = read(json!({"exception": [one.clone()]})).0.exception;
        let single = read(json!({ "exception": one })).0.exception;
        assert_eq!(wrapped.len(), 1);
        assert_eq!(wrapped, bare);
        assert_eq!(bare, single);
        assert_eq!(wrapped[0].ty.as_deref(), Some("ValueError"));
    }

    #[test]
    fn non_string_values_are_stringified() {
        let (event, _) = read(json!({"exception": [{"type": "E", "value": 42}, {"type": "F", "value": {"a": 1}}]}));
        assert_eq!(event.exception[0].value.as_deref(), Some("42"));
        assert_eq!(event.exception[1].value.as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn empty_or_non_object_exceptions_are_dropped() {
        let (event, names) = read(json!({"exception": [5, {"module": "x"}, {"type": "E"}]}));
        assert_eq!(event.exception.len(), 1);
        assert_eq!(names, ["exception", "exception"]);
    }

    #[test]
    fn mechanism_fields_are_read() {
        let raw = json!({"exception": [{"type": "E", "mechanism": {"type": "excepthook", "handled": false, "meta": {"errno": {"number": 111}}, "exception_id": 1}}]});
        let (event, names) = read(raw);
        let mechanism = event.exception[0].mechanism.clone().unwrap();
        assert_eq!(mechanism.ty.as_deref(), Some("excepthook"));
        assert_eq!(mechanism.handled, Some(false));
        assert_eq!(mechanism.meta, Some(json!({"errno": {"number": 111}})));
        assert_eq!(mechanism.exception_id, Some(json!(1)));
        assert!(event.is_unhandled());
        assert!(names.is_empty());
    }

    #[test]
    fn threads_accept_the_three_shapes() {
        let thread = json!({"id": 1, "name": "main", "crashed": true});
        for raw in [
            json!({"values": [thread.clone()]}),
            json!([thread.clone()]),
            thread.clone(),
        ] {
            let (event, _) = read(json!({ "threads": raw }));
            assert_eq!(event.threads.len(), 1);
            assert_eq!(event.threads[0].name.as_deref(), Some("main"));
        }
    }

    #[test]
    fn exception_borrows_the_stacktrace_of_its_thread() {
        let raw = json!({
            "exception": [{"type": "E", "thread_id": "2"}],
            "threads": [
                {"id": 1, "crashed": true, "stacktrace": {"frames": [{"function": "crashed"}]}},
                {"id": 2, "stacktrace": {"frames": [{"function": "own"}]}}
            ]
        });
        let (event, _) = read(raw);
        let frames = &event.exception[0].stacktrace.as_ref().unwrap().frames;
        assert_eq!(frames[0].function.as_deref(), Some("own"));
    }

    #[test]
    fn raised_exception_falls_back_to_crashed_then_current_thread() {
        let raw = json!({
            "exception": [{"type": "Cause"}, {"type": "E"}],
            "threads": [
                {"id": 1, "current": true, "stacktrace": {"frames": [{"function": "current"}]}},
                {"id": 2, "crashed": true, "stacktrace": {"frames": [{"function": "crashed"}]}}
            ]
        });
        let (event, _) = read(raw);
        assert!(event.exception[0].stacktrace.is_none());
        let frames = &event.exception[1].stacktrace.as_ref().unwrap().frames;
        assert_eq!(frames[0].function.as_deref(), Some("crashed"));
        let raw =
            json!({"exception": {"type": "E"}, "threads": [{"current": true, "stacktrace": [{"function": "cur"}]}]});
        let (event, _) = read(raw);
        assert!(event.exception[0].stacktrace.is_some());
    }

    #[test]
    fn legacy_stacktrace_is_kept_or_given_to_a_lone_exception() {
        let (event, _) = read(json!({"stacktrace": {"frames": [{"function": "f"}]}}));
        assert_eq!(event.stacktrace.unwrap().frames.len(), 1);
        let (event, _) = read(json!({"exception": {"type": "E"}, "stacktrace": {"frames": [{"function": "f"}]}}));
        assert!(event.stacktrace.is_none());
        assert_eq!(event.exception[0].stacktrace.as_ref().unwrap().frames.len(), 1);
    }
}

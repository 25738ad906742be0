//! The `entries[]` of an API event (§11.4): one `{"type", "data"}` per interface the event
//! carries, in Sentry's display order (message, exception, stacktrace, threads, breadcrumbs,
//! request). Frames are rendered camelCase with numbered source lines, oldest call first.

use serde_json::{json, Value};

use super::time::iso8601_secs;
use crate::domain::event::{Breadcrumb, Event, Exception, Frame, LogEntry, Request, Stacktrace, Thread};
use crate::domain::grouping::is_in_app;

/// Sentry's breadcrumb type and level when the SDK sent none.
const DEFAULT_BREADCRUMB_TYPE: &str = "default";
const DEFAULT_BREADCRUMB_LEVEL: &str = "info";

pub(super) fn event_entries(event: &Event) -> Vec<Value> {
    let entries = [
        event.logentry.as_ref().map(|l| entry("message", message_data(l))),
        (!event.exception.is_empty()).then(|| entry("exception", exception_data(&event.exception))),
        event
            .stacktrace
            .as_ref()
            .map(|s| entry("stacktrace", stacktrace_data(s))),
        (!event.threads.is_empty()).then(|| entry("threads", threads_data(&event.threads))),
        (!event.breadcrumbs.is_empty()).then(|| entry("breadcrumbs", breadcrumbs_data(&event.breadcrumbs))),
        event.request.as_ref().map(|r| entry("request", request_data(r))),
    ];
    entries.into_iter().flatten().collect()
}

fn entry(kind: &str, data: Value) -> Value {
    json!({ "type": kind, "data": data })
}

fn message_data(logentry: &LogEntry) -> Value {
    json!({
        "formatted": logentry.formatted.as_ref().or(logentry.message.as_ref()),
        "message": logentry.message,
        "params": logentry.params,
    })
}

fn exception_data(exceptions: &[Exception]) -> Value {
    let mut stacks = exceptions.iter().filter_map(|e| e.stacktrace.as_ref());
    json!({
        "values": exceptions.iter().map(exception_value).collect::<Vec<_>>(),
        "hasSystemFrames": stacks.any(has_system_frames),
        "excOmitted": null,
    })
}

fn exception_value(exception: &Exception) -> Value {
    json!({
        "type": exception.ty,
        "value": exception.value,
        "module": exception.module,
        "mechanism": exception.mechanism,
        "threadId": exception.thread_id,
        "stacktrace": optional_stacktrace(exception.stacktrace.as_ref()),
        "rawStacktrace": optional_stacktrace(exception.raw_stacktrace.as_ref()),
    })
}

fn threads_data(threads: &[Thread]) -> Value {
    let values: Vec<Value> = threads
        .iter()
        .map(|thread| {
            json!({
                "id": thread.id,
                "name": thread.name,
                "current": thread.current.unwrap_or(false),
                "crashed": thread.crashed.unwrap_or(false),
                "stacktrace": optional_stacktrace(thread.stacktrace.as_ref()),
                "rawStacktrace": null,
            })
        })
        .collect();
    json!({ "values": values })
}

/// A stack without frames says nothing, so Sentry shows it as absent.
fn optional_stacktrace(stacktrace: Option<&Stacktrace>) -> Value {
    match stacktrace {
        Some(stacktrace) if !stacktrace.frames.is_empty() => stacktrace_data(stacktrace),
        _ => Value::Null,
    }
}

fn stacktrace_data(stacktrace: &Stacktrace) -> Value {
    json!({
        "frames": stacktrace.frames.iter().map(frame_data).collect::<Vec<_>>(),
        "framesOmitted": stacktrace.frames_omitted,
        "registers": stacktrace.registers,
        "hasSystemFrames": has_system_frames(stacktrace),
    })
}

/// True only for a mix: an all-library or all-app stack has nothing to collapse in the UI.
fn has_system_frames(stacktrace: &Stacktrace) -> bool {
    let in_app = stacktrace.frames.iter().filter(|frame| is_in_app(frame)).count();
    in_app > 0 && in_app < stacktrace.frames.len()
}

/// `inApp` is the server's verdict (the SDK's flag minus known library paths), the same one
/// titles, culprits and grouping use, so the highlighted frames match the culprit.
fn frame_data(frame: &Frame) -> Value {
    json!({
        "filename": frame.filename,
        "absPath": frame.abs_path,
        "module": frame.module,
        "package": frame.package,
        "platform": frame.platform,
        "function": frame.function,
        "rawFunction": frame.raw_function,
        "symbol": frame.symbol,
        "instructionAddr": frame.instruction_addr,
        "symbolAddr": frame.symbol_addr,
        "imageAddr": frame.image_addr,
        "context": source_context(frame),
        "lineNo": frame.lineno,
        "colNo": frame.colno,
        "inApp": is_in_app(frame),
        "trust": null,
        "errors": null,
        "vars": frame.vars,
        "data": frame.data,
    })
}

/// `[lineNo, line]` pairs around the frame's line; empty without a line number to anchor them.
/// A missing context line is left out rather than sent as `null`, keeping the numbering.
fn source_context(frame: &Frame) -> Vec<(i64, &str)> {
    let Some(lineno) = frame.lineno.map(|n| i64::try_from(n).unwrap_or(i64::MAX)) else {
        return Vec::new();
    };
    let before = i64::try_from(frame.pre_context.len()).unwrap_or(i64::MAX);
    let pre = frame.pre_context.iter().zip(lineno.saturating_sub(before)..);
    let center = frame.context_line.iter().map(|line| (line, lineno));
    let post = frame.post_context.iter().zip(lineno.saturating_add(1)..);
    pre.chain(center)
        .chain(post)
        .map(|(line, number)| (number, line.as_str()))
        .collect()
}

fn breadcrumbs_data(breadcrumbs: &[Breadcrumb]) -> Value {
    let values: Vec<Value> = breadcrumbs
        .iter()
        .map(|crumb| {
            json!({
                "type": crumb.ty.as_deref().unwrap_or(DEFAULT_BREADCRUMB_TYPE),
                "timestamp": crumb.timestamp.map(iso8601_secs),
                "level": crumb.level.map_or(DEFAULT_BREADCRUMB_LEVEL, |level| level.as_str()),
                "category": crumb.category,
                "message": crumb.message,
                "data": crumb.data,
                "event_id": null,
            })
        })
        .collect();
    json!({ "values": values })
}

fn request_data(request: &Request) -> Value {
    let mut headers: Vec<&(String, String)> = request.headers.iter().collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "url": request.url,
        "method": request.method,
        "query": request.query_string,
        "fragment": request.fragment,
        "data": request.data,
        "headers": headers,
        "cookies": request.cookies,
        "env": (!request.env.is_empty()).then_some(&request.env),
        "inferredContentType": inferred_content_type(request),
    })
}

/// The declared media type without parameters; a structured body without one reads as JSON.
fn inferred_content_type(request: &Request) -> Option<String> {
    let declared = request
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, value)| value.split(';').next())
        .map(|media_type| media_type.trim().to_ascii_lowercase())
        .filter(|media_type| !media_type.is_empty());
    let structured = matches!(request.data, Some(Value::Object(_) | Value::Array(_)));
    declared.or_else(|| structured.then(|| "application/json".to_owned()))
}

#[cfg(test)]
mod tests;

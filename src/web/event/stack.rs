//! Exceptions and their stack frames as the page shows them: the raised exception first, frames
//! newest call first, library frames folded away behind the in-app ones.

use serde_json::Value;

use super::values::{field, flag, list, number, pairs, text};
use crate::domain::event::Frame;
use crate::domain::grouping::is_in_app;

#[derive(Debug, Clone, PartialEq)]
pub struct SourceLine {
    pub number: Option<u64>,
    pub text: String,
    /// The line the frame was executing.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FrameView {
    pub function: String,
    /// The module, else the file name, else the absolute path.
    pub location: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub in_app: bool,
    /// A library frame of a stack that also has in-app frames: shown only on request.
    pub hidden: bool,
    /// Shown unfolded: in-app frames, or the newest frame of a stack without any.
    pub open: bool,
    pub source: Vec<SourceLine>,
    pub vars: Vec<(String, String)>,
}

impl FrameView {
    /// "function in location at line N", the one-line form of the frame.
    pub fn summary(&self) -> String {
        let mut summary = self.function.clone();
        if !self.location.is_empty() {
            summary.push_str(&format!(" in {}", self.location));
        }
        if let Some(line) = self.line {
            summary.push_str(&format!(" at line {line}"));
        }
        summary
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackView {
    /// Newest call first.
    pub frames: Vec<FrameView>,
    pub hidden_frames: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionView {
    pub ty: String,
    pub value: Option<String>,
    pub module: Option<String>,
    pub mechanism: Option<String>,
    pub handled: Option<bool>,
    /// The first exception of a chain: what went wrong to begin with.
    pub root_cause: bool,
    /// The last exception of a chain: the one that reached the SDK.
    pub raised: bool,
    pub stack: StackView,
}

/// An event's exceptions, the raised one first. Sentry lists `exception.values` oldest first: the
/// first value is the root cause and the last the exception that was finally raised.
pub fn exception_chain(payload: &Value) -> Vec<ExceptionView> {
    let values = list(payload.get("exception").unwrap_or(&Value::Null));
    let chained = values.len() > 1;
    let mut chain: Vec<ExceptionView> = values
        .iter()
        .enumerate()
        .filter(|(_, value)| value.is_object())
        .map(|(index, value)| ExceptionView {
            ty: field(value, "type").unwrap_or_else(|| "Error".to_owned()),
            value: field(value, "value"),
            module: field(value, "module"),
            mechanism: value.get("mechanism").and_then(|m| field(m, "type")),
            handled: value.get("mechanism").and_then(|m| m.get("handled")).and_then(flag),
            root_cause: chained && index == 0,
            raised: chained && index == values.len() - 1,
            stack: stack_view(value.get("stacktrace").unwrap_or(&Value::Null)),
        })
        .collect();
    chain.reverse();
    chain
}

/// The stack of an event without exceptions: its own `stacktrace`, else the crashed (or current)
/// thread's, else the first thread's that has one.
pub fn standalone_stack(payload: &Value) -> Option<StackView> {
    let threads = list(payload.get("threads").unwrap_or(&Value::Null));
    let thread_stack = |wanted: &str| {
        threads
            .iter()
            .find(|thread| thread.get(wanted).and_then(flag) == Some(true) && thread.get("stacktrace").is_some())
            .and_then(|thread| thread.get("stacktrace"))
    };
    let stacktrace = payload
        .get("stacktrace")
        .or_else(|| thread_stack("crashed"))
        .or_else(|| thread_stack("current"))
        .or_else(|| threads.iter().find_map(|thread| thread.get("stacktrace")))?;
    Some(stack_view(stacktrace)).filter(|stack| !stack.frames.is_empty())
}

/// Frames newest first (Sentry sends them oldest first). Library frames are hidden only when the
/// stack has an in-app frame to show instead.
pub fn stack_view(stacktrace: &Value) -> StackView {
    let mut frames: Vec<FrameView> = list(stacktrace.get("frames").unwrap_or(&Value::Null))
        .iter()
        .filter(|frame| frame.is_object())
        .map(frame_view)
        .collect();
    frames.reverse();
    let any_in_app = frames.iter().any(|frame| frame.in_app);
    let mut hidden_frames = 0;
    for (index, frame) in frames.iter_mut().enumerate() {
        frame.hidden = any_in_app && !frame.in_app;
        frame.open = frame.in_app || (!any_in_app && index == 0);
        hidden_frames += usize::from(frame.hidden);
    }
    StackView { frames, hidden_frames }
}

fn frame_view(frame: &Value) -> FrameView {
    let location = field(frame, "module")
        .or_else(|| field(frame, "filename"))
        .or_else(|| field(frame, "abs_path"))
        .unwrap_or_default();
    let function = field(frame, "function")
        .or_else(|| field(frame, "raw_function"))
        .or_else(|| field(frame, "symbol"))
        .unwrap_or_else(|| "?".to_owned());
    let line = frame.get("lineno").and_then(number);
    FrameView {
        function,
        location,
        line,
        column: frame.get("colno").and_then(number),
        in_app: server_in_app(frame),
        hidden: false,
        open: false,
        source: source_lines(frame, line),
        vars: pairs(frame.get("vars").unwrap_or(&Value::Null)),
    }
}

/// The same verdict grouping and culprits use: the SDK's flag, minus known library locations.
fn server_in_app(frame: &Value) -> bool {
    let probe = Frame {
        in_app: frame.get("in_app").and_then(flag),
        abs_path: field(frame, "abs_path"),
        filename: field(frame, "filename"),
        ..Frame::default()
    };
    is_in_app(&probe)
}

/// Context lines numbered around the frame's line (unnumbered when the line is unknown).
fn source_lines(frame: &Value, line: Option<u64>) -> Vec<SourceLine> {
    let lines_of = |key: &str| -> Vec<String> {
        match frame.get(key) {
            Some(Value::Array(items)) => items.iter().map(|item| text(item).unwrap_or_default()).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    let pre = lines_of("pre_context");
    let current = frame.get("context_line").and_then(text);
    let post = lines_of("post_context");
    if current.is_none() && pre.is_empty() && post.is_empty() {
        return Vec::new();
    }
    let first = line.map(|line| line.saturating_sub(pre.len() as u64));
    let numbered = |offset: usize| first.map(|first| first + offset as u64);
    let mut source: Vec<SourceLine> = pre
        .into_iter()
        .enumerate()
        .map(|(i, text)| SourceLine {
            number: numbered(i),
            text,
            current: false,
        })
        .collect();
    if let Some(text) = current {
        source.push(SourceLine {
            number: line,
            text,
            current: true,
        });
    }
    source.extend(post.into_iter().enumerate().map(|(i, text)| SourceLine {
        number: line.map(|line| line + 1 + i as u64),
        text,
        current: false,
    }));
    source
}

//! Exceptions and their stack frames as the page shows them: the raised exception first, frames
//! newest call first, library frames folded away behind the in-app ones.

use super::values::{non_empty, optional_pairs};
use crate::domain::event::{Event, Exception, Frame, Stacktrace, Thread};
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
    /// Mapped by a source map from this minified file.
    pub mapped_from: Option<String>,
    /// Why a source map did not map it.
    pub unmapped_because: Option<String>,
}

impl FrameView {
    /// "function in location at line N", the one-line form of the frame (what the tests compare).
    #[cfg(test)]
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
    /// The frames as sent, when source maps replaced them.
    pub minified: Option<StackView>,
}

/// An event's exceptions, the raised one first. The event lists them oldest first: the first is
/// the root cause and the last the exception that was finally raised.
pub fn exception_chain(event: &Event) -> Vec<ExceptionView> {
    let count = event.exception.len();
    let chained = count > 1;
    let mut chain: Vec<ExceptionView> = event
        .exception
        .iter()
        .enumerate()
        .map(|(index, exception)| ExceptionView {
            root_cause: chained && index == 0,
            raised: chained && index == count - 1,
            ..exception_view(exception)
        })
        .collect();
    chain.reverse();
    chain
}

fn exception_view(exception: &Exception) -> ExceptionView {
    let mechanism = exception.mechanism.as_ref();
    ExceptionView {
        ty: non_empty(&exception.ty).unwrap_or_else(|| "Error".to_owned()),
        value: non_empty(&exception.value),
        module: non_empty(&exception.module),
        mechanism: mechanism.and_then(|m| non_empty(&m.ty)),
        handled: mechanism.and_then(|m| m.handled),
        root_cause: false,
        raised: false,
        stack: exception.stacktrace.as_ref().map(stack_view).unwrap_or_default(),
        minified: exception.raw_stacktrace.as_ref().map(stack_view),
    }
}

/// The stack of an event without exceptions: its own `stacktrace`, else the crashed (or current)
/// thread's, else the first thread's that has one.
pub fn standalone_stack(event: &Event) -> Option<StackView> {
    let threads = &event.threads;
    let thread_stack = |wanted: fn(&Thread) -> Option<bool>| {
        threads
            .iter()
            .find(|thread| wanted(thread) == Some(true) && thread.stacktrace.is_some())
            .and_then(|thread| thread.stacktrace.as_ref())
    };
    let stacktrace = event
        .stacktrace
        .as_ref()
        .or_else(|| thread_stack(|thread| thread.crashed))
        .or_else(|| thread_stack(|thread| thread.current))
        .or_else(|| threads.iter().find_map(|thread| thread.stacktrace.as_ref()))?;
    Some(stack_view(stacktrace)).filter(|stack| !stack.frames.is_empty())
}

/// Frames newest first (the event stores them oldest first). Library frames are hidden only when
/// the stack has an in-app frame to show instead.
pub fn stack_view(stacktrace: &Stacktrace) -> StackView {
    let mut frames: Vec<FrameView> = stacktrace.frames.iter().map(frame_view).collect();
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

fn frame_view(frame: &Frame) -> FrameView {
    let location = non_empty(&frame.module)
        .or_else(|| non_empty(&frame.filename))
        .or_else(|| non_empty(&frame.abs_path))
        .unwrap_or_default();
    let function = non_empty(&frame.function)
        .or_else(|| non_empty(&frame.raw_function))
        .or_else(|| non_empty(&frame.symbol))
        .unwrap_or_else(|| "?".to_owned());
    FrameView {
        function,
        location,
        line: frame.lineno,
        column: frame.colno,
        // The same verdict grouping and culprits use: the SDK's flag, minus known library locations.
        in_app: is_in_app(frame),
        hidden: false,
        open: false,
        source: source_lines(frame),
        vars: optional_pairs(frame.vars.as_ref()),
        mapped_from: data_text(frame, "sourcemap"),
        unmapped_because: data_text(frame, "sourcemap_error"),
    }
}

/// A text the frame's processing noted (`data.sourcemap`, `data.sourcemap_error`).
fn data_text(frame: &Frame, key: &str) -> Option<String> {
    let text = frame.data.as_ref()?.get(key)?.as_str()?;
    Some(text.chars().take(300).collect())
}

/// Context lines numbered around the frame's line (unnumbered when the line is unknown).
fn source_lines(frame: &Frame) -> Vec<SourceLine> {
    let (pre, current, post) = (&frame.pre_context, &frame.context_line, &frame.post_context);
    if current.is_none() && pre.is_empty() && post.is_empty() {
        return Vec::new();
    }
    let line = frame.lineno;
    let first = line.map(|line| line.saturating_sub(pre.len() as u64));
    let unmarked = |number: Option<u64>, text: &String| SourceLine {
        number,
        text: text.clone(),
        current: false,
    };
    let mut source: Vec<SourceLine> = pre
        .iter()
        .enumerate()
        .map(|(i, text)| unmarked(first.map(|first| first + i as u64), text))
        .collect();
    if let Some(text) = current {
        source.push(SourceLine {
            number: line,
            text: text.clone(),
            current: true,
        });
    }
    let after = |i: usize| line.map(|line| line + 1 + i as u64);
    source.extend(post.iter().enumerate().map(|(i, text)| unmarked(after(i), text)));
    source
}

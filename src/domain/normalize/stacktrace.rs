//! Stack traces and frames (§7.2): lenient frame fields, and at most the newest 250 frames.

use serde_json::{Map, Value};

use super::fields::{into_bool, strip_nul, take, truncate_chars, Notes};
use super::trim::{trim_databag, LARGE_BAG_BYTES, SMALL_BAG_BYTES};
use crate::domain::event::{Frame, Stacktrace};

/// Relay's frame hard limit; frames are oldest first, so the oldest are dropped (§7.2).
pub(super) const MAX_FRAMES: usize = 250;
const MAX_PATH_CHARS: usize = 256;
const MAX_CONTEXT_LINE_CHARS: usize = 1024;
const MAX_CONTEXT_LINES: usize = 50;

/// Reads a stacktrace object (a bare frame list is accepted too); `None` when unusable.
pub(super) fn parse_stacktrace(raw: Value, notes: &mut Notes) -> Option<Stacktrace> {
    let (frames, mut object) = match raw {
        Value::Object(mut object) => (take(&mut object, "frames"), object),
        frames @ Value::Array(_) => (Some(frames), Map::new()),
        _ => {
            notes.invalid("stacktrace");
            return None;
        }
    };
    let mut frames = match frames {
        Some(Value::Array(frames)) => frames,
        None => Vec::new(),
        Some(_) => {
            notes.invalid("stacktrace.frames");
            Vec::new()
        }
    };
    let mut frames_omitted = take(&mut object, "frames_omitted").map(|mut omitted| {
        trim_databag(&mut omitted, SMALL_BAG_BYTES);
        omitted
    });
    if frames.len() > MAX_FRAMES {
        let dropped = frames.len() - MAX_FRAMES;
        frames.drain(..dropped);
        frames_omitted.get_or_insert_with(|| serde_json::json!([0, dropped]));
    }
    let mut registers = take(&mut object, "registers");
    if let Some(registers) = registers.as_mut() {
        trim_databag(registers, LARGE_BAG_BYTES);
    }
    let frames = frames
        .into_iter()
        .filter_map(|frame| parse_frame(frame, notes))
        .collect();
    Some(Stacktrace {
        frames,
        frames_omitted,
        registers,
    })
}

fn parse_frame(raw: Value, notes: &mut Notes) -> Option<Frame> {
    let Value::Object(mut object) = raw else {
        notes.invalid("stacktrace.frames");
        return None;
    };
    let mut frame = Frame {
        filename: frame_string(&mut object, "filename", notes),
        abs_path: frame_string(&mut object, "abs_path", notes),
        function: frame_string(&mut object, "function", notes),
        raw_function: frame_string(&mut object, "raw_function", notes),
        module: frame_string(&mut object, "module", notes),
        package: frame_string(&mut object, "package", notes),
        platform: frame_string(&mut object, "platform", notes),
        symbol: frame_string(&mut object, "symbol", notes),
        ..Frame::default()
    };
    frame.lineno = take(&mut object, "lineno").and_then(|raw| line_number(raw, "lineno", notes));
    frame.colno = take(&mut object, "colno").and_then(|raw| line_number(raw, "colno", notes));
    frame.context_line = take(&mut object, "context_line").and_then(context_line);
    frame.pre_context = context_lines(take(&mut object, "pre_context"), notes);
    frame.post_context = context_lines(take(&mut object, "post_context"), notes);
    frame.in_app = take(&mut object, "in_app").and_then(|raw| into_bool(raw, "frame.in_app", notes));
    frame.vars = take(&mut object, "vars").map(|mut vars| {
        trim_databag(&mut vars, LARGE_BAG_BYTES);
        vars
    });
    frame.instruction_addr = take(&mut object, "instruction_addr").and_then(address);
    frame.symbol_addr = take(&mut object, "symbol_addr").and_then(address);
    frame.image_addr = take(&mut object, "image_addr").and_then(address);
    frame.data = take(&mut object, "data").filter(Value::is_object).map(|mut data| {
        trim_databag(&mut data, SMALL_BAG_BYTES);
        data
    });
    Some(frame)
}

fn frame_string(object: &mut Map<String, Value>, key: &str, notes: &mut Notes) -> Option<String> {
    match take(object, key)? {
        Value::String(text) => {
            let mut text = strip_nul(text);
            truncate_chars(&mut text, MAX_PATH_CHARS);
            Some(text)
        }
        _ => {
            notes.invalid(&frame_field(key));
            None
        }
    }
}

fn frame_field(key: &str) -> String {
    format!("frame.{key}")
}

/// Line and column numbers arrive as integers, floats or digit strings; 0 means unknown.
fn line_number(raw: Value, key: &str, notes: &mut Notes) -> Option<u64> {
    let number = match &raw {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64)),
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n as u64),
        _ => None,
    };
    if number.is_none() {
        notes.invalid(&frame_field(key));
    }
    number.filter(|n| *n > 0)
}

fn context_line(raw: Value) -> Option<String> {
    let mut line = match raw {
        Value::String(line) => strip_nul(line),
        Value::Null => return None,
        other => other.to_string(),
    };
    truncate_chars(&mut line, MAX_CONTEXT_LINE_CHARS);
    Some(line)
}

/// A list of source lines; `null` entries are blank lines.
fn context_lines(raw: Option<Value>, notes: &mut Notes) -> Vec<String> {
    match raw {
        None => Vec::new(),
        Some(Value::Array(lines)) => lines
            .into_iter()
            .take(MAX_CONTEXT_LINES)
            .map(|line| context_line(line).unwrap_or_default())
            .collect(),
        Some(_) => {
            notes.invalid("frame.context");
            Vec::new()
        }
    }
}

/// Addresses are hex strings; native SDKs sometimes send plain integers.
fn address(raw: Value) -> Option<String> {
    match raw {
        Value::String(text) => {
            let mut text = strip_nul(text);
            truncate_chars(&mut text, 64);
            Some(text)
        }
        Value::Number(number) => number.as_u64().map(|n| format!("{n:#x}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(raw: Value) -> (Option<Stacktrace>, Vec<String>) {
        let mut notes = Notes::default();
        let stacktrace = parse_stacktrace(raw, &mut notes);
        (stacktrace, notes.into_vec().into_iter().map(|note| note.name).collect())
    }

    #[test]
    fn line_numbers_may_be_strings_or_floats() {
        let raw = json!({"frames": [
            {"lineno": "12", "colno": 3.0},
            {"lineno": 7.9},
            {"lineno": "x", "colno": -1}
        ]});
        let (stacktrace, names) = parse(raw);
        let frames = stacktrace.unwrap().frames;
        assert_eq!((frames[0].lineno, frames[0].colno), (Some(12), Some(3)));
        assert_eq!(frames[1].lineno, Some(7));
        assert_eq!((frames[2].lineno, frames[2].colno), (None, None));
        assert_eq!(names, ["frame.lineno", "frame.colno"]);
    }

    #[test]
    fn context_lists_accept_nulls_and_stringify() {
        let raw = json!({"frames": [{"pre_context": ["a", null, 3], "context_line": "b", "post_context": "bad"}]});
        let (stacktrace, names) = parse(raw);
        let frame = &stacktrace.unwrap().frames[0];
        assert_eq!(frame.pre_context, ["a", "", "3"]);
        assert_eq!(frame.context_line.as_deref(), Some("b"));
        assert!(frame.post_context.is_empty());
        assert_eq!(names, ["frame.context"]);
    }

    #[test]
    fn only_the_newest_250_frames_are_kept() {
        let frames: Vec<Value> = (1..=300).map(|n| json!({"lineno": n})).collect();
        let (stacktrace, _) = parse(json!({ "frames": frames }));
        let stacktrace = stacktrace.unwrap();
        assert_eq!(stacktrace.frames.len(), MAX_FRAMES);
        assert_eq!(stacktrace.frames[0].lineno, Some(51));
        assert_eq!(stacktrace.frames[249].lineno, Some(300));
        assert_eq!(stacktrace.frames_omitted, Some(json!([0, 50])));
    }

    #[test]
    fn non_object_frames_are_dropped_and_noted() {
        let (stacktrace, names) = parse(json!({"frames": [1, {"function": "main"}]}));
        let frames = stacktrace.unwrap().frames;
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].function.as_deref(), Some("main"));
        assert_eq!(names, ["stacktrace.frames"]);
    }

    #[test]
    fn frame_fields_are_read() {
        let raw = json!([{
            "filename": "app.py", "abs_path": "/srv/app.py", "function": "run", "module": "app",
            "in_app": true, "vars": {"x": "1"}, "instruction_addr": 4096, "symbol_addr": "0x10"
        }]);
        let (stacktrace, names) = parse(raw);
        let frame = &stacktrace.unwrap().frames[0];
        assert_eq!(frame.filename.as_deref(), Some("app.py"));
        assert_eq!(frame.abs_path.as_deref(), Some("/srv/app.py"));
        assert_eq!(frame.module.as_deref(), Some("app"));
        assert_eq!(frame.in_app, Some(true));
        assert_eq!(frame.vars, Some(json!({"x": "1"})));
        assert_eq!(frame.instruction_addr.as_deref(), Some("0x1000"));
        assert_eq!(frame.symbol_addr.as_deref(), Some("0x10"));
        assert!(names.is_empty());
    }

    #[test]
    fn wrong_shapes_are_noted() {
        let (stacktrace, names) = parse(json!("nope"));
        assert!(stacktrace.is_none());
        assert_eq!(names, ["stacktrace"]);
        let (_, names) = parse(json!({"frames": [{"function": 5}]}));
        assert_eq!(names, ["frame.function"]);
    }
}

//! Grouping v1 (§8.4): decides which issue an event belongs to by hashing what identifies the
//! bug (custom fingerprint, exception types and in-app frames, or the parameterized message).

mod fingerprint;
mod frames;
mod names;
mod parameterize;
mod recursion;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

pub use frames::{crash_frame, exception_frames, is_in_app, standalone_frames};
pub use parameterize::normalize_message;

use crate::domain::event::{Event, Exception, Frame};
use frames::{frame_keys, FrameKey, Variant};
use sha2::{Digest, Sha256};

/// Stored beside every hash so the algorithm can evolve without silently splitting issues.
pub const GROUPING_VERSION: &str = "v1";

/// The group of an event and why it landed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// 64 lowercase hex: SHA-256 over a length-prefixed encoding of the contributing values.
    pub hash: String,
    /// Human-readable "why grouped here" lines, e.g. `exception type: ZeroDivisionError`.
    pub components: Vec<String>,
}

/// Computes the grouping of a normalized event (§8.4).
pub fn compute_grouping(event: &Event) -> Grouping {
    if fingerprint::is_custom(&event.fingerprint) {
        fingerprint::fingerprint_grouping(event, || default_grouping(event))
    } else {
        default_grouping(event)
    }
}

/// §8.4 steps 2–7: exceptions, else a standalone stack, else the message, else the fallback.
fn default_grouping(event: &Event) -> Grouping {
    let mut builder = GroupingBuilder::default();
    let grouped = add_exceptions(&mut builder, event)
        || add_standalone_stack(&mut builder, event)
        || add_message(&mut builder, event);
    if !grouped {
        // §8.1: events with nothing usable all share one issue.
        builder.add("fallback", &[], "fallback: no exception, stack trace or message".into());
    }
    builder.finish()
}

fn add_exceptions(builder: &mut GroupingBuilder, event: &Event) -> bool {
    let stacks: Vec<&[Frame]> = event
        .exception
        .iter()
        .map(|exception| exception_frames(event, exception))
        .collect();
    let variant = Variant::for_stacks(stacks.iter().copied());
    let mut grouped = false;
    for (exception, frames) in event.exception.iter().zip(stacks) {
        let keys = frame_keys(frames, &event.platform, variant);
        grouped |= add_exception(builder, exception, &keys, variant);
    }
    grouped
}

fn add_exception(builder: &mut GroupingBuilder, exception: &Exception, keys: &[FrameKey], variant: Variant) -> bool {
    let is_synthetic = exception.mechanism.as_ref().and_then(|m| m.synthetic) == Some(true);
    // A synthetic type is made up by the SDK (e.g. a signal name) and says nothing (§8.1).
    let ty = non_empty(&exception.ty).filter(|_| !is_synthetic);
    // The value only identifies the bug when no frame does (§8.1 exception component).
    let value = keys
        .is_empty()
        .then(|| non_empty(&exception.value).map(normalize_message))
        .flatten()
        .filter(|v| !v.is_empty());
    if ty.is_none() && keys.is_empty() && value.is_none() {
        return false;
    }
    builder.mark("exception");
    if let Some(ty) = ty {
        builder.add("type", &[ty], format!("exception type: {ty}"));
    }
    add_frames(builder, keys, variant);
    if let Some(value) = value {
        builder.add("value", &[&value], format!("exception value: {value}"));
    }
    true
}

fn add_standalone_stack(builder: &mut GroupingBuilder, event: &Event) -> bool {
    let frames = standalone_frames(event);
    let variant = Variant::for_stacks([frames]);
    let keys = frame_keys(frames, &event.platform, variant);
    if keys.is_empty() {
        return false;
    }
    builder.mark("stacktrace");
    add_frames(builder, &keys, variant);
    true
}

fn add_frames(builder: &mut GroupingBuilder, keys: &[FrameKey], variant: Variant) {
    let label = match variant {
        Variant::App => "in-app frame",
        Variant::System => "frame",
    };
    for key in keys {
        let location = key.location.as_deref().unwrap_or("");
        let function = key.function.as_deref().unwrap_or("");
        let context = key.context_line.as_deref().unwrap_or("");
        let mut line = format!(
            "{label}: {} | {}",
            key.location.as_deref().unwrap_or("?"),
            key.function.as_deref().unwrap_or("?")
        );
        if let Some(context) = &key.context_line {
            line.push_str(" | ");
            line.push_str(context);
        }
        builder.add("frame", &[location, function, context], line);
    }
}

/// §8.4 step 6: the template groups better than the formatted text, which embeds the values.
fn add_message(builder: &mut GroupingBuilder, event: &Event) -> bool {
    let Some(logentry) = &event.logentry else {
        return false;
    };
    let Some(text) = non_empty(&logentry.message).or_else(|| non_empty(&logentry.formatted)) else {
        return false;
    };
    let normalized = normalize_message(text);
    if normalized.is_empty() {
        return false;
    }
    builder.add("message", &[&normalized], format!("message: {normalized}"));
    true
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Collects hash parts and display lines side by side so they can never disagree.
#[derive(Debug, Default)]
struct GroupingBuilder {
    parts: Vec<String>,
    components: Vec<String>,
}

impl GroupingBuilder {
    /// A hash-only boundary, so values cannot slide between neighbouring exceptions.
    fn mark(&mut self, label: &str) {
        self.parts.push(label.to_string());
        self.parts.push("0".to_string());
    }

    fn add(&mut self, label: &str, values: &[&str], line: String) {
        self.parts.push(label.to_string());
        self.parts.push(values.len().to_string());
        self.parts.extend(values.iter().map(|v| v.to_string()));
        self.components.push(line);
    }

    fn finish(self) -> Grouping {
        let mut parts = vec!["default".to_string()];
        parts.extend(self.parts);
        Grouping {
            hash: hash_parts(&parts),
            components: self.components,
        }
    }
}

/// SHA-256 over each part prefixed by its byte length: `["a","bc"]` and `["ab","c"]` differ
/// (unlike Sentry's separator-less concatenation, §8.4 step 8).
fn hash_parts(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

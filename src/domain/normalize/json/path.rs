//! Where the repair scanner is in the document. Keys are kept as byte ranges of the input, so
//! tracking allocates nothing per key; the Sentry-style dotted path (`exception.values.0.value`)
//! is rendered only when a repair is noted.

use std::ops::Range;

use crate::domain::normalize::fields::truncate_bytes;

/// serde_json refuses text nested deeper than this, repaired or not, so deeper levels are only
/// counted: hostile nesting cannot grow the stack.
const MAX_TRACKED_DEPTH: usize = 128;
/// Longest key shown in a path, in bytes of the raw text.
const MAX_KEY_BYTES: usize = 40;
/// Longest rendered path, before its `…`.
pub(super) const MAX_PATH_BYTES: usize = 200;

enum Level {
    Object {
        /// The latest key read; `None` before the first key and while a key is being read.
        key: Option<Range<usize>>,
        awaiting_key: bool,
    },
    Array {
        index: usize,
    },
}

#[derive(Default)]
pub(super) struct JsonPath {
    levels: Vec<Level>,
    untracked_depth: usize,
}

impl JsonPath {
    pub(super) fn open_object(&mut self) {
        self.open(Level::Object {
            key: None,
            awaiting_key: true,
        });
    }

    pub(super) fn open_array(&mut self) {
        self.open(Level::Array { index: 0 });
    }

    fn open(&mut self, level: Level) {
        if self.untracked_depth > 0 || self.levels.len() == MAX_TRACKED_DEPTH {
            self.untracked_depth += 1;
        } else {
            self.levels.push(level);
        }
    }

    /// A `}` or `]`; mismatched brackets are the parser's to refuse, so either closes a level.
    pub(super) fn close(&mut self) {
        if self.untracked_depth > 0 {
            self.untracked_depth -= 1;
        } else {
            self.levels.pop();
        }
    }

    /// A `,`: the next element of an array, or the next key of an object.
    pub(super) fn next_member(&mut self) {
        match self.innermost() {
            Some(Level::Array { index }) => *index += 1,
            Some(Level::Object { awaiting_key, .. }) => *awaiting_key = true,
            None => {}
        }
    }

    /// A `:`: what follows is the value of the key just read.
    pub(super) fn key_done(&mut self) {
        if let Some(Level::Object { awaiting_key, .. }) = self.innermost() {
            *awaiting_key = false;
        }
    }

    /// Whether the next string or token stands where an object key belongs.
    pub(super) fn awaits_key(&self) -> bool {
        self.untracked_depth == 0 && matches!(self.levels.last(), Some(Level::Object { awaiting_key: true, .. }))
    }

    /// A key string starts: until it ends, repairs inside it are noted at its object.
    pub(super) fn begin_key(&mut self) {
        if let Some(Level::Object { key, .. }) = self.innermost() {
            *key = None;
        }
    }

    /// The key string spanning `span` of the input (without its quotes) ended.
    pub(super) fn end_key(&mut self, span: Range<usize>) {
        if let Some(Level::Object { key, .. }) = self.innermost() {
            *key = Some(span);
        }
    }

    fn innermost(&mut self) -> Option<&mut Level> {
        if self.untracked_depth > 0 {
            return None;
        }
        self.levels.last_mut()
    }

    /// The dotted path, keys as written in `input` (escapes and all), cut to [`MAX_PATH_BYTES`].
    pub(super) fn render(&self, input: &[u8]) -> String {
        let mut path = String::new();
        for level in &self.levels {
            let segment = match level {
                Level::Object { key: Some(span), .. } => {
                    let end = span.end.min(span.start.saturating_add(MAX_KEY_BYTES));
                    String::from_utf8_lossy(input.get(span.start..end).unwrap_or_default()).into_owned()
                }
                Level::Object { key: None, .. } => continue,
                Level::Array { index } => index.to_string(),
            };
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
            if path.len() > MAX_PATH_BYTES {
                truncate_bytes(&mut path, MAX_PATH_BYTES);
                path.push('…');
                break;
            }
        }
        path
    }
}

//! The repair pass over event JSON that serde_json refused: a small tokenizer that tracks string
//! state and escapes and rewrites only the tokens real SDKs get wrong (§3.3):
//!
//! - a lone UTF-16 surrogate escape (`\ud83d` cut from its pair by `String.slice` in browsers,
//!   `\udce9` from Python's surrogateescape) becomes `\ufffd`, U+FFFD, rewritten in place;
//! - a number beyond the f64 range (`1e400`) is kept as the string `"1e400"`, not clamped: the
//!   digits the SDK sent stay readable, and a clamped `1.7976931348623157e308` would be a value
//!   nobody sent;
//! - a bare `NaN` / `Infinity` / `-Infinity` of old Python clients becomes `null`.
//!
//! One pass, each byte looked at a bounded number of times; the output grows by at most two
//! bytes per rewritten token, and notes stop at [`MAX_NOTED_REPAIRS`].

use super::path::JsonPath;

/// Enough to show the pattern of a broken payload; every token is still repaired.
pub(super) const MAX_NOTED_REPAIRS: usize = 20;
/// Longest original token kept in a note, before its `…`.
pub(super) const MAX_ORIGINAL_BYTES: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RepairKind {
    LoneSurrogate,
    NumberOutOfRange,
    NonFiniteNumber,
}

/// One rewritten token: what it was and where.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Repair {
    pub(super) kind: RepairKind,
    /// Dotted path of the value holding it, e.g. `exception.values.0.value`.
    pub(super) path: String,
    /// The token as sent, cut to [`MAX_ORIGINAL_BYTES`].
    pub(super) original: String,
}

#[derive(Debug)]
pub(super) struct RepairedText {
    pub(super) text: Vec<u8>,
    /// The first [`MAX_NOTED_REPAIRS`] repairs, in text order.
    pub(super) repairs: Vec<Repair>,
}

/// Bare tokens Python's `json.dumps` emits for non-finite floats, longest first so `-Infinity`
/// is not read as `-` followed by `Infinity`.
const NON_FINITE_TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
const REPLACEMENT_ESCAPE: &[u8] = br"\ufffd";
/// `\uXXXX`.
const ESCAPE_LENGTH: usize = 6;

/// Rewrites the repairable tokens of `input`; `None` when there were none.
pub(super) fn repair_json_text(input: &[u8]) -> Option<RepairedText> {
    let mut scanner = Scanner {
        input,
        pos: 0,
        output: Vec::with_capacity(input.len() + 16),
        path: JsonPath::default(),
        repairs: Vec::new(),
        repaired: false,
    };
    while let Some(&byte) = input.get(scanner.pos) {
        match byte {
            b'"' => scanner.string(),
            b'{' => scanner.structural(JsonPath::open_object),
            b'[' => scanner.structural(JsonPath::open_array),
            b'}' | b']' => scanner.structural(JsonPath::close),
            b',' => scanner.structural(JsonPath::next_member),
            b':' => scanner.structural(JsonPath::key_done),
            b'N' | b'I' | b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9' => scanner.bare_token(),
            _ => scanner.copy(1),
        }
    }
    scanner.repaired.then_some(RepairedText {
        text: scanner.output,
        repairs: scanner.repairs,
    })
}

struct Scanner<'a> {
    input: &'a [u8],
    /// Always at most `input.len()`: every advance is clamped.
    pos: usize,
    output: Vec<u8>,
    path: JsonPath,
    repairs: Vec<Repair>,
    repaired: bool,
}

impl<'a> Scanner<'a> {
    fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn copy(&mut self, length: usize) {
        let end = self.pos.saturating_add(length).min(self.input.len());
        self.output
            .extend_from_slice(self.input.get(self.pos..end).unwrap_or_default());
        self.pos = end;
    }

    fn structural(&mut self, track: fn(&mut JsonPath)) {
        track(&mut self.path);
        self.copy(1);
    }

    /// Writes `replacement` for the next `length` input bytes and notes the repair.
    fn replace(&mut self, length: usize, replacement: &[&[u8]], kind: RepairKind) {
        let end = self.pos.saturating_add(length).min(self.input.len());
        let original = self.input.get(self.pos..end).unwrap_or_default();
        if self.repairs.len() < MAX_NOTED_REPAIRS {
            // Repaired tokens are ASCII, so a byte cut splits no character.
            let shown = original.get(..MAX_ORIGINAL_BYTES).unwrap_or(original);
            let mut text = String::from_utf8_lossy(shown).into_owned();
            if shown.len() < original.len() {
                text.push('…');
            }
            let path = self.path.render(self.input);
            self.repairs.push(Repair {
                kind,
                path,
                original: text,
            });
        }
        replacement.iter().for_each(|part| self.output.extend_from_slice(part));
        self.pos = end;
        self.repaired = true;
    }

    /// A string from its opening quote to its closing one (or the end of the input).
    fn string(&mut self) {
        let is_key = self.path.awaits_key();
        if is_key {
            self.path.begin_key();
        }
        self.copy(1);
        let start = self.pos;
        loop {
            let plain = self.rest().iter().position(|&b| b == b'"' || b == b'\\');
            self.copy(plain.unwrap_or(usize::MAX));
            match self.input.get(self.pos) {
                Some(b'"') => break,
                Some(_) => self.escape(),
                None => return,
            }
        }
        if is_key {
            self.path.end_key(start..self.pos);
        }
        self.copy(1);
    }

    /// An escape inside a string; only `\u` escapes of a lone surrogate are rewritten.
    fn escape(&mut self) {
        let rest = self.rest();
        match hex_escape(rest) {
            Some(0xD800..=0xDBFF)
                if rest
                    .get(ESCAPE_LENGTH..)
                    .and_then(hex_escape)
                    .is_some_and(is_low_surrogate) =>
            {
                self.copy(2 * ESCAPE_LENGTH)
            }
            Some(0xD800..=0xDFFF) => self.replace(ESCAPE_LENGTH, &[REPLACEMENT_ESCAPE], RepairKind::LoneSurrogate),
            Some(_) => self.copy(ESCAPE_LENGTH),
            // `\\`, `\"` and the other short escapes, or a broken `\u` left for the parser to refuse.
            None => self.copy(2),
        }
    }

    /// A bare token outside strings: a non-finite token, a number, or anything else copied as is.
    fn bare_token(&mut self) {
        let rest = self.rest();
        if let Some(token) = NON_FINITE_TOKENS.into_iter().find(|token| rest.starts_with(token)) {
            return self.replace(token.len(), &[b"null"], RepairKind::NonFiniteNumber);
        }
        let length = rest.iter().take_while(|&&b| is_number_byte(b)).count().max(1);
        let token = rest.get(..length).unwrap_or_default();
        // A key must stay unquoted-and-refused: quoting it would make invalid JSON valid.
        if !self.path.awaits_key() && overflows_f64(token) {
            self.replace(length, &[b"\"", token, b"\""], RepairKind::NumberOutOfRange);
        } else {
            self.copy(length);
        }
    }
}

/// The code unit of a `\uXXXX` escape at the start of `bytes`.
fn hex_escape(bytes: &[u8]) -> Option<u16> {
    let [b'\\', b'u', digits @ ..] = bytes else {
        return None;
    };
    let digits = digits.get(..4)?;
    digits.iter().try_fold(0u16, |unit, &digit| {
        Some(unit << 4 | (digit as char).to_digit(16)? as u16)
    })
}

fn is_low_surrogate(unit: u16) -> bool {
    (0xDC00..=0xDFFF).contains(&unit)
}

fn is_number_byte(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
}

/// A well-formed JSON number that serde_json still refuses: the same reader that refused the
/// text decides, so the repair and the parse cannot disagree about the float range.
fn overflows_f64(token: &[u8]) -> bool {
    is_json_number(token) && serde_json::from_slice::<serde_json::Value>(token).is_err()
}

/// RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(token: &[u8]) -> bool {
    let unsigned = token.strip_prefix(b"-").unwrap_or(token);
    let mut rest = match unsigned {
        [b'0', tail @ ..] => tail,
        [b'1'..=b'9', ..] => skip_digits(unsigned),
        _ => return false,
    };
    if let Some(fraction) = rest.strip_prefix(b".") {
        match at_least_one_digit(fraction) {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
    if let [b'e' | b'E', exponent @ ..] = rest {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        match at_least_one_digit(exponent) {
            Some(tail) => rest = tail,
            None => return false,
        }
    }
    rest.is_empty()
}

fn skip_digits(bytes: &[u8]) -> &[u8] {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    bytes.get(digits..).unwrap_or_default()
}

fn at_least_one_digit(bytes: &[u8]) -> Option<&[u8]> {
    let tail = skip_digits(bytes);
    (tail.len() < bytes.len()).then_some(tail)
}

#[cfg(test)]
#[path = "repair_tests.rs"]
mod tests;

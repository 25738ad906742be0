//! Data scrubbing, run after normalization and before storage: values under sensitive keys become
//! `[Filtered]`, and payment card numbers are masked wherever they appear in the event.
//!
//! Where keys are checked: request headers, cookies, query string, env, URL query and body (JSON
//! value, JSON text or form-urlencoded text), extra, contexts, breadcrumb data, frame vars and
//! user data, recursively inside objects and arrays.
//!
//! Default sensitive keys (matched case-insensitively, ignoring `-`, `_` and spaces, as substrings
//! of the key): `password`, `passwd`, `pwd`, `secret`, `token`, `apikey`, `authorization`,
//! `bearer`, `cookie` (so `set-cookie`), `session`, `csrf`, `xsrf`, `creditcard`, `cardnumber`,
//! `ccnumber`, `cvv`, `cvc`, `privatekey`, `credential`, `jwt`, `signature`; and `auth` unless it
//! starts `author…` or `authentic…` (`x-auth`, `basic_auth` match; `author` does not). Each
//! project's extra keys are normalized the same way and added.
//!
//! Card numbers: 13–19 digits, optionally grouped by single spaces or dashes, Luhn-valid and
//! starting with 2–6 (Visa, Mastercard, Amex, Discover, JCB…), so millisecond timestamps and ids
//! survive. Only strings with at least 13 digits are scanned; never the hex ids that tie an event to its
//! trace (`trace_id`, `span_id`, …), whose digit runs can pass for a card number.
//!
//! A transaction's body, kept as the SDK sent it, is scrubbed as a whole JSON document (`json`).

mod cards;
mod form;
mod json;
mod keys;
mod walk;

use serde_json::{Map, Value};

use crate::domain::event::{Event, Frame, Request};
use keys::SensitiveKeys;
use walk::TextVisitor;

/// What replaces a scrubbed value.
pub const FILTERED: &str = "[Filtered]";

/// The built-in sensitive keys every project scrubs (besides `auth…`, see the module doc), for showing
/// next to a project's own keys.
pub fn default_sensitive_keys() -> &'static [&'static str] {
    &keys::DEFAULT_PATTERNS
}

/// Removes secrets from events; built once per project (its extra keys) and reused.
#[derive(Debug, Clone)]
pub struct Scrubber {
    keys: SensitiveKeys,
}

impl Default for Scrubber {
    fn default() -> Scrubber {
        Scrubber::new(&[])
    }
}

impl Scrubber {
    /// The default sensitive-key list extended by the project's keys.
    pub fn new(extra_keys: &[String]) -> Scrubber {
        Scrubber {
            keys: SensitiveKeys::new(extra_keys),
        }
    }

    pub fn scrub(&self, event: &mut Event) {
        self.filter_sensitive_keys(event);
        walk::visit_event(event, &mut CardMasker);
    }

    fn filter_sensitive_keys(&self, event: &mut Event) {
        if let Some(request) = event.request.as_mut() {
            self.scrub_request(request);
        }
        self.scrub_map(&mut event.extra);
        self.scrub_map(&mut event.contexts);
        for crumb in &mut event.breadcrumbs {
            self.scrub_optional(&mut crumb.data);
        }
        for frame in frames_mut(event) {
            self.scrub_optional(&mut frame.vars);
        }
        if let Some(user) = event.user.as_mut() {
            self.scrub_optional(&mut user.data);
        }
    }

    fn scrub_request(&self, request: &mut Request) {
        for pairs in [&mut request.headers, &mut request.cookies, &mut request.query_string] {
            for (key, value) in pairs.iter_mut() {
                if !value.is_empty() && self.keys.is_sensitive(key) {
                    *value = FILTERED.to_owned();
                }
            }
        }
        self.scrub_map(&mut request.env);
        if let Some(url) = request.url.as_mut() {
            if let Some(scrubbed) = form::scrub_url(url, &self.keys) {
                *url = scrubbed;
            }
        }
        match request.data.as_mut() {
            Some(Value::String(body)) => {
                if let Some(scrubbed) = self.scrub_body_text(body) {
                    *body = scrubbed;
                }
            }
            Some(data) => {
                self.scrub_value(data);
            }
            None => {}
        }
    }

    /// A raw body is JSON text or form-urlencoded text; either way its keys are checked.
    fn scrub_body_text(&self, body: &str) -> Option<String> {
        let trimmed = body.trim_start();
        if trimmed.starts_with(['{', '[']) {
            if let Ok(mut parsed) = serde_json::from_str::<Value>(body) {
                return self.scrub_value(&mut parsed).then(|| parsed.to_string());
            }
        }
        form::scrub_form_text(body, &self.keys)
    }

    fn scrub_optional(&self, value: &mut Option<Value>) {
        if let Some(value) = value.as_mut() {
            self.scrub_value(value);
        }
    }

    /// Returns whether anything was filtered.
    fn scrub_value(&self, value: &mut Value) -> bool {
        match value {
            Value::Object(map) => self.scrub_map(map),
            Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= self.scrub_value(item);
                }
                changed
            }
            _ => false,
        }
    }

    fn scrub_map(&self, map: &mut Map<String, Value>) -> bool {
        let mut changed = false;
        for (key, value) in map.iter_mut() {
            if value.is_null() {
                continue;
            }
            if self.keys.is_sensitive(key) {
                *value = Value::String(FILTERED.to_owned());
                changed = true;
            } else {
                changed |= self.scrub_value(value);
            }
        }
        changed
    }
}

fn frames_mut(event: &mut Event) -> impl Iterator<Item = &mut Frame> {
    let exceptions = event.exception.iter_mut().filter_map(|e| e.stacktrace.as_mut());
    let threads = event.threads.iter_mut().filter_map(|t| t.stacktrace.as_mut());
    exceptions
        .chain(threads)
        .chain(event.stacktrace.as_mut())
        .flat_map(|stacktrace| stacktrace.frames.iter_mut())
}

/// Masks card numbers in every text of the event, including JSON integers in databags.
struct CardMasker;

impl TextVisitor for CardMasker {
    fn text(&mut self, text: &mut String) {
        cards::mask_card_numbers(text);
    }

    fn json(&mut self, value: &mut Value) {
        match value {
            Value::String(text) => self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            Value::Object(map) => map
                .iter_mut()
                .filter(|(key, _)| !json::ID_KEYS.contains(&key.as_str()))
                .for_each(|(_, item)| self.json(item)),
            Value::Number(_) if cards::is_card_number(value) => {
                *value = Value::String(FILTERED.to_owned());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

//! Scrubbing a JSON document kept as the SDK sent it (a transaction's body), where the typed event's fields
//! are not at hand: the value of every sensitive key anywhere, of every sensitive `[key, value]` pair
//! (headers and cookies sent as lists), sensitive parameters of URLs, query strings and span descriptions
//! (`GET /api?token=…`), a raw request body, and card numbers in every text but the ids that tie a trace's
//! spans together.

use serde_json::{Map, Value};

use super::{cards, form, Scrubber, FILTERED};

/// Keys whose values are ids (hex), never scanned for card numbers: masking one would cut a span from
/// its tree, or an error from its trace.
pub(super) const ID_KEYS: [&str; 5] = ["trace_id", "span_id", "parent_span_id", "event_id", "segment_id"];

impl Scrubber {
    /// Scrubs a whole JSON document in place; see the module doc.
    pub fn scrub_json(&self, document: &mut Value) {
        if let Some(Value::String(body)) = document.pointer_mut("/request/data") {
            if let Some(scrubbed) = self.scrub_body_text(body) {
                *body = scrubbed;
            }
        }
        self.scrub_tree(document);
        mask_cards(document);
    }

    fn scrub_tree(&self, value: &mut Value) {
        match value {
            Value::Object(map) => self.scrub_object(map),
            Value::Array(items) => {
                if let [Value::String(key), value] = items.as_mut_slice() {
                    if !value.is_null() && self.keys.is_sensitive(key) {
                        *value = Value::String(FILTERED.to_owned());
                        return;
                    }
                }
                items.iter_mut().for_each(|item| self.scrub_tree(item));
            }
            _ => {}
        }
    }

    fn scrub_object(&self, map: &mut Map<String, Value>) {
        for (key, value) in map.iter_mut() {
            if value.is_null() {
                continue;
            }
            if self.keys.is_sensitive(key) {
                *value = Value::String(FILTERED.to_owned());
                continue;
            }
            match value {
                Value::String(text) => {
                    if let Some(scrubbed) = self.scrub_text_field(key, text) {
                        *text = scrubbed;
                    }
                }
                _ => self.scrub_tree(value),
            }
        }
    }

    /// Texts that carry keys of their own: URLs and descriptions (`GET https://…?token=…`) and query strings.
    fn scrub_text_field(&self, key: &str, text: &str) -> Option<String> {
        match key {
            "url" | "http.url" => form::scrub_url(text, &self.keys),
            // Only a URL's query: a SQL description's `?` placeholders are not one.
            "description" if names_a_url(text) => form::scrub_url(text, &self.keys),
            "query_string" | "http.query" => form::scrub_form_text(text, &self.keys),
            _ => None,
        }
    }
}

/// `GET https://…`, `GET /path?…`, or a bare URL.
fn names_a_url(text: &str) -> bool {
    let target = text.split_once(' ').map_or(text, |(_, rest)| rest.trim_start());
    text.contains("://") || target.starts_with('/')
}

fn mask_cards(value: &mut Value) {
    match value {
        Value::String(text) => {
            cards::mask_card_numbers(text);
        }
        Value::Array(items) => items.iter_mut().for_each(mask_cards),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(key, _)| !ID_KEYS.contains(&key.as_str()))
            .for_each(|(_, item)| mask_cards(item)),
        Value::Number(_) if cards::is_card_number(value) => *value = Value::String(FILTERED.to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_transaction_body_loses_its_secrets_and_keeps_its_tree() {
        let mut body = json!({
            "transaction": "/checkout",
            "request": {
                "url": "https://shop.example/checkout?step=2&token=SECRET1",
                "headers": [["Authorization", "Bearer SECRET2"], ["Accept", "text/html"]],
                "cookies": "sessionid=SECRET3",
                "data": "card=4111111111111111&password=SECRET4",
                "query_string": "step=2&api_key=SECRET5"
            },
            "contexts": {"trace": {"trace_id": "4111111111111111aaaaaaaaaaaaaaaa", "span_id": "4111111111111111"}},
            "extra": {"user_password": "SECRET6", "note": "paid with 4111 1111 1111 1111"},
            "spans": [{
                "span_id": "4111111111111111", "parent_span_id": "4111111111111111",
                "op": "http.client", "description": "GET https://api.example/v1?secret=SECRET7&page=1",
                "data": {"http.query": "token=SECRET8", "db.password": "SECRET9", "card": 4_111_111_111_111_111_u64}
            }, {
                "span_id": "b", "op": "db", "description": "SELECT * FROM users WHERE token = ? AND id = ?"
            }]
        });
        Scrubber::default().scrub_json(&mut body);
        let text = body.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("4111111111111111&"), "{text}");
        assert_eq!(body["request"]["headers"][1], json!(["Accept", "text/html"]));
        assert_eq!(
            body["request"]["url"],
            "https://shop.example/checkout?step=2&token=[Filtered]"
        );
        assert_eq!(
            body["spans"][0]["description"],
            "GET https://api.example/v1?secret=[Filtered]&page=1"
        );
        assert_eq!(
            body["spans"][1]["description"],
            "SELECT * FROM users WHERE token = ? AND id = ?"
        );
        assert_eq!(body["extra"]["note"], "paid with [Filtered]");
        assert_eq!(body["spans"][0]["data"]["card"], "[Filtered]");
        assert_eq!(body["spans"][0]["span_id"], "4111111111111111", "ids are never masked");
        assert_eq!(body["spans"][0]["parent_span_id"], "4111111111111111");
        assert_eq!(
            body["contexts"]["trace"]["trace_id"],
            "4111111111111111aaaaaaaaaaaaaaaa"
        );
        assert_eq!(body["transaction"], "/checkout");
    }
}

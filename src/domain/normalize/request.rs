//! The HTTP request interface (§7.1): headers, query string and cookies given as an object, a pair
//! list or a raw string become ordered pairs; body and environment are databags.

use serde_json::{Map, Value};

use super::fields::{into_lenient_string, string_field, strip_nul, take, truncate_chars, Notes};
use super::trim::{trim_databag, trim_map, MASSIVE_BAG_BYTES};
use crate::domain::event::Request;

const MAX_URL_CHARS: usize = 8192;
const MAX_METHOD_CHARS: usize = 32;
const MAX_PAIR_VALUE_CHARS: usize = 8192;

/// The raw-string syntaxes a pair list can arrive in.
#[derive(Clone, Copy)]
enum RawPairs {
    /// `a=b&c=d`, optionally with a leading `?`.
    Query,
    /// `a=b; c=d`.
    Cookies,
    /// `Name: value` lines.
    Headers,
}

pub(super) fn parse_request(raw: Value, notes: &mut Notes) -> Option<Request> {
    let Value::Object(mut object) = raw else {
        notes.invalid("request");
        return None;
    };
    let method = string_field(&mut object, "method", MAX_METHOD_CHARS, notes)
        .map(|method| method.trim().to_ascii_uppercase())
        .filter(|method| !method.is_empty());
    let mut data = take(&mut object, "data");
    if let Some(data) = data.as_mut() {
        trim_databag(data, MASSIVE_BAG_BYTES);
    }
    let mut env = match take(&mut object, "env") {
        Some(Value::Object(env)) => env,
        Some(_) => {
            notes.invalid("request.env");
            Map::new()
        }
        None => Map::new(),
    };
    trim_map(&mut env, MASSIVE_BAG_BYTES);
    Some(Request {
        url: string_field(&mut object, "url", MAX_URL_CHARS, notes),
        method,
        headers: read_pairs(&mut object, "headers", RawPairs::Headers, notes),
        query_string: read_pairs(&mut object, "query_string", RawPairs::Query, notes),
        cookies: read_pairs(&mut object, "cookies", RawPairs::Cookies, notes),
        data,
        env,
        fragment: string_field(&mut object, "fragment", MAX_URL_CHARS, notes),
    })
}

fn read_pairs(
    object: &mut Map<String, Value>,
    key: &str,
    syntax: RawPairs,
    notes: &mut Notes,
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    match take(object, key) {
        None => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                push_values(&mut pairs, name, value);
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Array(pair) if pair.len() == 2 => {
                        let mut pair = pair.into_iter();
                        let name = pair.next().and_then(into_lenient_string).unwrap_or_default();
                        push_values(&mut pairs, name, pair.next().unwrap_or_default());
                    }
                    _ => notes.invalid(&format!("request.{key}")),
                }
            }
        }
        Some(Value::String(raw)) => split_raw(&raw, syntax, &mut pairs),
        Some(_) => notes.invalid(&format!("request.{key}")),
    }
    pairs.retain(|(name, _)| !name.is_empty());
    pairs
}

/// A list value (`{"a": ["1", "2"]}`) stands for a repeated name.
fn push_values(pairs: &mut Vec<(String, String)>, name: String, value: Value) {
    let name = strip_nul(name);
    match value {
        Value::Array(values) => {
            for value in values {
                pairs.push((name.clone(), pair_value(value)));
            }
        }
        value => pairs.push((name, pair_value(value))),
    }
}

fn pair_value(value: Value) -> String {
    let mut text = into_lenient_string(value).unwrap_or_default();
    truncate_chars(&mut text, MAX_PAIR_VALUE_CHARS);
    text
}

/// Splits a raw string; no percent-decoding is applied (see `Request::query_string`).
fn split_raw(raw: &str, syntax: RawPairs, pairs: &mut Vec<(String, String)>) {
    let (raw, separator, delimiter) = match syntax {
        RawPairs::Query => (raw.strip_prefix('?').unwrap_or(raw), '&', '='),
        RawPairs::Cookies => (raw, ';', '='),
        RawPairs::Headers => (raw, '\n', ':'),
    };
    for part in raw.split(separator) {
        let part = match syntax {
            RawPairs::Query => part,
            RawPairs::Cookies | RawPairs::Headers => part.trim(),
        };
        if part.is_empty() {
            continue;
        }
        let (name, value) = part.split_once(delimiter).unwrap_or((part, ""));
        let value = match syntax {
            RawPairs::Query => value,
            RawPairs::Cookies | RawPairs::Headers => value.trim(),
        };
        pairs.push((
            strip_nul(name.trim().to_owned()),
            pair_value(Value::String(value.to_owned())),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(raw: Value) -> Request {
        parse_request(raw, &mut Notes::default()).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn headers_accept_object_pair_list_and_raw_text() {
        let expected = pairs(&[("Accept", "text/html"), ("X-N", "1")]);
        assert_eq!(
            parse(json!({"headers": {"Accept": "text/html", "X-N": 1}})).headers,
            expected
        );
        assert_eq!(
            parse(json!({"headers": [["Accept", "text/html"], ["X-N", 1]]})).headers,
            expected
        );
        assert_eq!(
            parse(json!({"headers": "Accept: text/html\r\nX-N: 1"})).headers,
            expected
        );
    }

    #[test]
    fn query_string_accepts_raw_object_and_pairs() {
        let expected = pairs(&[("a", "b"), ("c", ""), ("d", "1=2")]);
        assert_eq!(parse(json!({"query_string": "?a=b&c&d=1=2"})).query_string, expected);
        assert_eq!(
            parse(json!({"query_string": [["a", "b"], ["c", null], ["d", "1=2"]]})).query_string,
            expected
        );
        let repeated = parse(json!({"query_string": {"a": ["1", "2"]}})).query_string;
        assert_eq!(repeated, pairs(&[("a", "1"), ("a", "2")]));
    }

    #[test]
    fn cookies_accept_raw_header_syntax() {
        let expected = pairs(&[("sessionid", "abc"), ("theme", "dark")]);
        assert_eq!(parse(json!({"cookies": "sessionid=abc; theme=dark"})).cookies, expected);
        assert_eq!(
            parse(json!({"cookies": {"sessionid": "abc", "theme": "dark"}})).cookies,
            expected
        );
    }

    #[test]
    fn method_is_uppercased_and_url_data_env_fragment_kept() {
        let raw = json!({"url": "http://x/y", "method": "post", "data": {"a": [1]}, "env": {"REMOTE_ADDR": "1.2.3.4"}, "fragment": "top"});
        let request = parse(raw);
        assert_eq!(request.method.as_deref(), Some("POST"));
        assert_eq!(request.url.as_deref(), Some("http://x/y"));
        assert_eq!(request.data, Some(json!({"a": [1]})));
        assert_eq!(request.env["REMOTE_ADDR"], "1.2.3.4");
        assert_eq!(request.fragment.as_deref(), Some("top"));
        assert_eq!(parse(json!({"data": "raw body"})).data, Some(json!("raw body")));
    }

    #[test]
    fn wrong_shapes_are_noted_and_dropped() {
        let mut notes = Notes::default();
        let request = parse_request(json!({"headers": 5, "env": [], "cookies": [1, ["a", "b"]]}), &mut notes).unwrap();
        assert!(request.headers.is_empty());
        assert_eq!(request.cookies, pairs(&[("a", "b")]));
        let names: Vec<String> = notes.into_vec().into_iter().map(|note| note.name).collect();
        assert_eq!(names, ["request.env", "request.headers", "request.cookies"]);
        assert!(parse_request(json!("GET /"), &mut Notes::default()).is_none());
    }
}

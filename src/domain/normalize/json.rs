//! Tolerant JSON parsing: legacy Python clients emit bare `NaN` / `Infinity` / `-Infinity`
//! tokens, which we read as `null` (§3.3).

use serde_json::Value;

/// Bare tokens Python's `json.dumps` emits for non-finite floats, longest first so `-Infinity`
/// is not read as `-` followed by `Infinity`.
const NON_FINITE_TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];

/// serde_json parse that tolerates bare NaN / Infinity / -Infinity tokens outside strings (mapped to null), §3.3.
pub fn parse_lenient_json(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let error = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    match replace_non_finite_tokens(bytes) {
        Some(repaired) => serde_json::from_slice(&repaired),
        None => Err(error),
    }
}

/// Rewrites non-finite tokens outside string literals as `null`; `None` when there were none.
fn replace_non_finite_tokens(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut output = Vec::with_capacity(bytes.len());
    let mut replaced = false;
    let mut in_string = false;
    let mut escaped = false;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if byte == b'"' {
            in_string = true;
        } else if let Some(token) = token_at(&bytes[index..]) {
            output.extend_from_slice(b"null");
            index += token.len();
            replaced = true;
            continue;
        }
        output.push(byte);
        index += 1;
    }
    replaced.then_some(output)
}

fn token_at(rest: &[u8]) -> Option<&'static [u8]> {
    NON_FINITE_TOKENS.into_iter().find(|token| rest.starts_with(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_json_parses_unchanged() {
        assert_eq!(parse_lenient_json(br#"{"a": 1.5}"#).unwrap(), json!({"a": 1.5}));
    }

    #[test]
    fn nan_and_infinities_outside_strings_become_null() {
        let body = br#"{"extra": {"ratio": NaN, "max": Infinity, "min": -Infinity, "list": [1, NaN]}}"#;
        let value = parse_lenient_json(body).unwrap();
        assert_eq!(
            value,
            json!({"extra": {"ratio": null, "max": null, "min": null, "list": [1, null]}})
        );
    }

    #[test]
    fn tokens_inside_strings_are_kept() {
        let body = br#"{"message": "got NaN and \"Infinity\"", "x": NaN}"#;
        let value = parse_lenient_json(body).unwrap();
        assert_eq!(value["message"], "got NaN and \"Infinity\"");
        assert_eq!(value["x"], Value::Null);
    }

    #[test]
    fn garbage_is_still_an_error() {
        assert!(parse_lenient_json(b"{not json").is_err());
        assert!(parse_lenient_json(b"{\"a\": NaNa}").is_err());
    }
}

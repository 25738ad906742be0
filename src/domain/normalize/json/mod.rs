//! Tolerant JSON parsing (§3.3). serde_json reads the payload as is; only text it refuses with a
//! syntax error goes through the repair pass ([`repair`]) and is parsed again, so a lone
//! surrogate escape, an out-of-range number or a bare `NaN` costs the event one note, not its life.

mod path;
mod repair;

use serde_json::error::Category;
use serde_json::Value;

use crate::domain::event::ProcessingError;
use repair::{repair_json_text, Repair, RepairKind};

/// A parsed payload and the notes of the repairs its text needed (empty on the fast path).
#[derive(Debug, Clone, PartialEq)]
pub struct LenientJson {
    pub value: Value,
    pub repairs: Vec<ProcessingError>,
}

impl From<Value> for LenientJson {
    fn from(value: Value) -> LenientJson {
        LenientJson {
            value,
            repairs: Vec::new(),
        }
    }
}

/// serde_json parse that repairs lone surrogate escapes, numbers beyond the f64 range and bare
/// NaN / Infinity tokens, noting each repair. Any other refusal is returned as serde_json's error.
pub fn parse_lenient_json(bytes: &[u8]) -> Result<LenientJson, serde_json::Error> {
    let refusal = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => return Ok(LenientJson::from(value)),
        Err(error) => error,
    };
    // Every token the pass rewrites is refused as a syntax error; a text cut short (an EOF error)
    // fails before any such token, so scanning it would only cost time.
    if refusal.classify() != Category::Syntax {
        return Err(refusal);
    }
    let Some(repaired) = repair_json_text(bytes) else {
        return Err(refusal);
    };
    let value = serde_json::from_slice(&repaired.text)?;
    Ok(LenientJson {
        value,
        repairs: repaired.repairs.into_iter().map(note).collect(),
    })
}

/// Sentry's `invalid_data` note: the value as sent was not usable as JSON and was replaced.
fn note(repair: Repair) -> ProcessingError {
    let reason = match repair.kind {
        RepairKind::LoneSurrogate => "lone UTF-16 surrogate escape replaced with U+FFFD",
        RepairKind::NumberOutOfRange => "number beyond the 64-bit float range kept as a string",
        RepairKind::NonFiniteNumber => "NaN or Infinity replaced with null",
    };
    ProcessingError {
        kind: "invalid_data".to_owned(),
        name: repair.path,
        value: Some(repair.original),
        reason: Some(reason.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> LenientJson {
        parse_lenient_json(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn plain_json_parses_unchanged_without_notes() {
        assert_eq!(parse(r#"{"a": 1.5}"#), LenientJson::from(json!({"a": 1.5})));
        let pair = parse(r#"{"message":"error \ud83d\ude00"}"#);
        assert_eq!(pair.value["message"], "error 😀");
        assert!(pair.repairs.is_empty());
    }

    #[test]
    fn nan_and_infinities_outside_strings_become_null() {
        let body = r#"{"extra": {"ratio": NaN, "max": Infinity, "min": -Infinity, "list": [1, NaN]}}"#;
        let parsed = parse(body);
        assert_eq!(
            parsed.value,
            json!({"extra": {"ratio": null, "max": null, "min": null, "list": [1, null]}})
        );
        assert_eq!(parsed.repairs.len(), 4);
        assert_eq!(parsed.repairs[3].name, "extra.list.1");
    }

    #[test]
    fn tokens_inside_strings_are_kept() {
        let parsed = parse(r#"{"message": "got NaN and \"Infinity\"", "x": NaN}"#);
        assert_eq!(parsed.value["message"], "got NaN and \"Infinity\"");
        assert_eq!(parsed.value["x"], Value::Null);
    }

    #[test]
    fn a_lone_surrogate_becomes_the_replacement_character_and_a_note() {
        let parsed = parse(r#"{"message":"error \ud83d"}"#);
        assert_eq!(parsed.value["message"], "error \u{fffd}");
        let expected = ProcessingError {
            kind: "invalid_data".into(),
            name: "message".into(),
            value: Some(r"\ud83d".into()),
            reason: Some("lone UTF-16 surrogate escape replaced with U+FFFD".into()),
        };
        assert_eq!(parsed.repairs, [expected]);
        let python = parse(r#"{"frames":[{"abs_path":"/srv/caf\udce9.py"}],"x":"\udc00\ud800"}"#);
        assert_eq!(python.value["frames"][0]["abs_path"], "/srv/caf\u{fffd}.py");
        assert_eq!(python.value["x"], "\u{fffd}\u{fffd}");
        assert_eq!(python.repairs.len(), 3);
    }

    #[test]
    fn an_out_of_range_number_is_kept_as_its_text() {
        let parsed = parse(r#"{"extra":{"big":1e400,"small":-1e400,"fine":1e308}}"#);
        assert_eq!(
            parsed.value["extra"],
            json!({"big": "1e400", "small": "-1e400", "fine": 1e308})
        );
        assert_eq!(parsed.repairs[0].name, "extra.big");
        assert_eq!(parsed.repairs[0].value.as_deref(), Some("1e400"));
    }

    #[test]
    fn a_big_integer_is_read_as_a_float_on_the_fast_path() {
        let parsed = parse(r#"{"n":123456789012345678901234567890}"#);
        assert_eq!(parsed.value["n"].as_f64(), Some(1.2345678901234568e29));
        assert!(parsed.repairs.is_empty());
    }

    #[test]
    fn other_errors_are_still_refused() {
        assert!(parse_lenient_json(b"{not json").is_err());
        assert!(parse_lenient_json(b"{\"a\": NaNa}").is_err());
        // Repairable tokens do not rescue a text that is broken besides.
        assert!(parse_lenient_json(br#"{"message":"\ud83d""#).is_err());
        assert!(parse_lenient_json(br#"{"message":"\ud83d",}"#).is_err());
        assert!(parse_lenient_json(br#"{"n":1e400"#).is_err());
        assert!(parse_lenient_json(br#"{1e400: 1}"#).is_err());
    }
}

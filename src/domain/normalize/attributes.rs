//! Top-level scalar attributes and free-form maps of an event (§7.1): level, platform, logger,
//! release, environment, fingerprint, contexts, extra, modules, sdk and their limits (§7.6).

use serde_json::{Map, Value};

use super::fields::{into_lenient_string, into_string, string_field, take, truncate_chars, Notes};
use super::trim::{trim_databag, trim_map, MASSIVE_BAG_BYTES};
use crate::domain::event::{Event, Level};

const MAX_LOGGER_CHARS: usize = 64;
const MAX_TRANSACTION_CHARS: usize = 200;
const MAX_SERVER_NAME_CHARS: usize = 256;
const MAX_RELEASE_CHARS: usize = 200;
const MAX_DIST_CHARS: usize = 64;
const MAX_ENVIRONMENT_CHARS: usize = 64;
const MAX_CULPRIT_CHARS: usize = 200;
const MAX_PLATFORM_CHARS: usize = 64;
const DEFAULT_PLATFORM: &str = "other";

/// Reads the simple top-level attributes into `event`.
pub(super) fn read_attributes(map: &mut Map<String, Value>, event: &mut Event, notes: &mut Notes) {
    event.platform = read_platform(map, notes);
    event.level = match take(map, "level") {
        Some(raw) => parse_level(&raw).unwrap_or_else(|| {
            notes.invalid("level");
            Level::default()
        }),
        None => Level::default(),
    };
    event.logger = string_field(map, "logger", MAX_LOGGER_CHARS, notes)
        .filter(|logger| valid_or_noted(!logger.contains(['\r', '\n']), "logger", notes));
    event.transaction = string_field(map, "transaction", MAX_TRANSACTION_CHARS, notes)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    event.server_name = string_field(map, "server_name", MAX_SERVER_NAME_CHARS, notes);
    event.culprit = string_field(map, "culprit", MAX_CULPRIT_CHARS, notes);
    event.release = take(map, "release").and_then(|raw| parse_release(raw, notes));
    event.dist = take(map, "dist").and_then(|raw| parse_dist(raw, notes));
    event.environment = take(map, "environment")
        .and_then(|raw| into_string(raw, "environment", notes))
        .and_then(|text| parse_environment(&text, notes));
    event.fingerprint = take(map, "fingerprint")
        .map(|raw| parse_fingerprint(raw, notes))
        .unwrap_or_default();
}

/// Reads contexts, extra, modules and sdk: free-form maps bounded as databags (§7.6).
pub(super) fn read_free_form(map: &mut Map<String, Value>, event: &mut Event, notes: &mut Notes) {
    event.contexts = take_object(map, "contexts", notes)
        .map(|contexts| parse_contexts(contexts, notes))
        .unwrap_or_default();
    event.extra = take_object(map, "extra", notes).unwrap_or_default();
    trim_map(&mut event.extra, MASSIVE_BAG_BYTES);
    event.modules = take_object(map, "modules", notes)
        .map(parse_modules)
        .unwrap_or_default();
    event.sdk = take_object(map, "sdk", notes).map(|sdk| {
        let mut sdk = Value::Object(sdk);
        trim_databag(&mut sdk, MASSIVE_BAG_BYTES);
        sdk
    });
}

/// Level names and Python's numeric logging levels (§7.1); `None` for anything else.
pub(super) fn parse_level(raw: &Value) -> Option<Level> {
    match raw {
        Value::String(name) => match name.trim().to_ascii_lowercase().as_str() {
            "fatal" | "critical" => Some(Level::Fatal),
            "error" => Some(Level::Error),
            "warning" | "warn" => Some(Level::Warning),
            "info" | "log" => Some(Level::Info),
            "debug" | "trace" => Some(Level::Debug),
            number => level_from_number(number.parse().ok()?),
        },
        Value::Number(number) => level_from_number(number.as_f64()?),
        _ => None,
    }
}

fn level_from_number(number: f64) -> Option<Level> {
    match number as i64 {
        _ if number.fract() != 0.0 => None,
        10 => Some(Level::Debug),
        20 => Some(Level::Info),
        30 => Some(Level::Warning),
        40 => Some(Level::Error),
        50 => Some(Level::Fatal),
        _ => None,
    }
}

fn read_platform(map: &mut Map<String, Value>, notes: &mut Notes) -> String {
    take(map, "platform")
        .and_then(|raw| into_string(raw, "platform", notes))
        .map(|text| text.trim().to_ascii_lowercase())
        .filter(|text| {
            let valid = !text.is_empty() && text.chars().count() <= MAX_PLATFORM_CHARS;
            valid_or_noted(valid, "platform", notes)
        })
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_owned())
}

/// Releases may be numbers; path-like or blank ones are dropped (§7.1).
fn parse_release(raw: Value, notes: &mut Notes) -> Option<String> {
    let raw = match raw {
        Value::String(_) | Value::Number(_) => raw,
        _ => {
            notes.invalid("release");
            return None;
        }
    };
    let text = into_lenient_string(raw)?;
    let release = text.trim();
    let valid = !release.is_empty()
        && !matches!(release, "." | "..")
        && !release.contains(['\n', '\r', '\t', '/', '\\'])
        && release.chars().count() <= MAX_RELEASE_CHARS;
    valid_or_noted(valid, "release", notes).then(|| release.to_owned())
}

fn parse_dist(raw: Value, notes: &mut Notes) -> Option<String> {
    let text = match raw {
        Value::String(_) | Value::Number(_) => into_lenient_string(raw)?,
        _ => {
            notes.invalid("dist");
            return None;
        }
    };
    let dist = text.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let valid = dist.chars().all(allowed) && dist.len() <= MAX_DIST_CHARS;
    (valid_or_noted(valid, "dist", notes) && !dist.is_empty()).then(|| dist.to_owned())
}

/// Trimmed, at most 64 characters, no whitespace or `/` (§7.1). Shared with the tag promotion.
pub(super) fn parse_environment(text: &str, notes: &mut Notes) -> Option<String> {
    let environment = text.trim();
    let valid = !environment.contains(|c: char| c.is_whitespace() || c == '/')
        && environment.chars().count() <= MAX_ENVIRONMENT_CHARS;
    (valid_or_noted(valid, "environment", notes) && !environment.is_empty()).then(|| environment.to_owned())
}

/// An array of strings; numbers and booleans are stringified, a nested container voids it (§8.2).
fn parse_fingerprint(raw: Value, notes: &mut Notes) -> Vec<String> {
    let Value::Array(items) = raw else {
        notes.invalid("fingerprint");
        return Vec::new();
    };
    let mut fingerprint = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Null => {}
            Value::Bool(flag) => fingerprint.push(if flag { "True" } else { "False" }.to_owned()),
            Value::String(_) | Value::Number(_) => {
                let mut part = into_lenient_string(item).unwrap_or_default();
                truncate_chars(&mut part, 1024);
                fingerprint.push(part);
            }
            Value::Array(_) | Value::Object(_) => {
                notes.invalid("fingerprint");
                return Vec::new();
            }
        }
    }
    fingerprint
}

/// Each context must be an object; its `type` defaults to its key (§7.1).
fn parse_contexts(contexts: Map<String, Value>, notes: &mut Notes) -> Map<String, Value> {
    let mut kept = Map::new();
    for (key, context) in contexts {
        let Value::Object(mut context) = context else {
            if !context.is_null() {
                notes.invalid("contexts");
            }
            continue;
        };
        if !matches!(context.get("type"), Some(Value::String(_))) {
            context.insert("type".to_owned(), Value::String(key.clone()));
        }
        kept.insert(key, Value::Object(context));
    }
    trim_map(&mut kept, MASSIVE_BAG_BYTES);
    kept
}

/// `{package: version}`; versions given as numbers are stringified, other shapes dropped.
fn parse_modules(modules: Map<String, Value>) -> Map<String, Value> {
    let mut kept: Map<String, Value> = modules
        .into_iter()
        .filter(|(_, version)| matches!(version, Value::String(_) | Value::Number(_)))
        .map(|(name, version)| {
            let version = into_lenient_string(version).unwrap_or_default();
            (name, Value::String(version))
        })
        .collect();
    trim_map(&mut kept, MASSIVE_BAG_BYTES);
    kept
}

pub(super) fn take_object(map: &mut Map<String, Value>, key: &str, notes: &mut Notes) -> Option<Map<String, Value>> {
    match take(map, key)? {
        Value::Object(object) => Some(object),
        _ => {
            notes.invalid(key);
            None
        }
    }
}

fn valid_or_noted(valid: bool, name: &str, notes: &mut Notes) -> bool {
    if !valid {
        notes.invalid(name);
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(raw: Value) -> (Event, Vec<String>) {
        let Value::Object(mut map) = raw else { unreachable!() };
        let mut event = Event::default();
        let mut notes = Notes::default();
        read_attributes(&mut map, &mut event, &mut notes);
        read_free_form(&mut map, &mut event, &mut notes);
        let names = notes.into_vec().into_iter().map(|note| note.name).collect();
        (event, names)
    }

    #[test]
    fn levels_accept_names_aliases_and_python_numbers() {
        let cases = [
            (json!("critical"), Level::Fatal),
            (json!("log"), Level::Info),
            (json!("warn"), Level::Warning),
            (json!("WARNING"), Level::Warning),
            (json!(10), Level::Debug),
            (json!(20), Level::Info),
            (json!(30), Level::Warning),
            (json!(40), Level::Error),
            (json!(50), Level::Fatal),
            (json!("40"), Level::Error),
        ];
        for (raw, level) in cases {
            assert_eq!(parse_level(&raw), Some(level), "{raw}");
        }
        assert_eq!(parse_level(&json!(35)), None);
        assert_eq!(parse_level(&json!("loud")), None);
    }

    #[test]
    fn missing_or_bad_level_defaults_to_error() {
        assert_eq!(read(json!({})).0.level, Level::Error);
        let (event, names) = read(json!({"level": "loud"}));
        assert_eq!(event.level, Level::Error);
        assert_eq!(names, ["level"]);
    }

    #[test]
    fn platform_defaults_to_other() {
        assert_eq!(read(json!({})).0.platform, "other");
        assert_eq!(read(json!({"platform": 3})).0.platform, "other");
        assert_eq!(read(json!({"platform": "python"})).0.platform, "python");
    }

    #[test]
    fn logger_is_capped_and_rejects_line_breaks() {
        let (event, _) = read(json!({"logger": "x".repeat(100)}));
        assert_eq!(event.logger.unwrap().len(), 64);
        let (event, names) = read(json!({"logger": "a\nb"}));
        assert_eq!(event.logger, None);
        assert_eq!(names, ["logger"]);
    }

    #[test]
    fn transaction_is_trimmed_and_capped() {
        let (event, _) = read(json!({"transaction": "  /checkout  "}));
        assert_eq!(event.transaction.as_deref(), Some("/checkout"));
        let (event, _) = read(json!({"transaction": "t".repeat(300)}));
        assert_eq!(event.transaction.unwrap().len(), 200);
        let (event, _) = read(json!({"server_name": "s".repeat(300)}));
        assert_eq!(event.server_name.unwrap().len(), 256);
    }

    #[test]
    fn releases_are_trimmed_numbers_stringified_and_path_like_ones_dropped() {
        assert_eq!(read(json!({"release": " 1.2.3 "})).0.release.as_deref(), Some("1.2.3"));
        assert_eq!(read(json!({"release": 42})).0.release.as_deref(), Some("42"));
        for bad in [
            json!("a/b"),
            json!("a\\b"),
            json!("a\tb"),
            json!("."),
            json!(".."),
            json!(" "),
            json!("r".repeat(201)),
            json!(["x"]),
        ] {
            let (event, names) = read(json!({ "release": bad }));
            assert_eq!(event.release, None, "{bad}");
            assert_eq!(names, ["release"]);
        }
    }

    #[test]
    fn dist_and_environment_are_validated() {
        assert_eq!(read(json!({"dist": 12})).0.dist.as_deref(), Some("12"));
        assert_eq!(read(json!({"dist": "a b"})).0.dist, None);
        assert_eq!(
            read(json!({"environment": " prod "})).0.environment.as_deref(),
            Some("prod")
        );
        for bad in ["pro d", "a/b", "a\nb", &"e".repeat(65)] {
            let (event, names) = read(json!({ "environment": bad }));
            assert_eq!(event.environment, None, "{bad}");
            assert_eq!(names, ["environment"]);
        }
    }

    #[test]
    fn fingerprint_stringifies_numbers_and_drops_non_arrays() {
        let (event, _) = read(json!({"fingerprint": ["{{ default }}", 42, 1.5, true]}));
        assert_eq!(event.fingerprint, ["{{ default }}", "42", "1.5", "True"]);
        let (event, names) = read(json!({"fingerprint": "custom"}));
        assert!(event.fingerprint.is_empty());
        assert_eq!(names, ["fingerprint"]);
    }

    #[test]
    fn contexts_get_their_type_and_non_objects_are_dropped() {
        let (event, names) = read(json!({"contexts": {"os": {"name": "Linux"}, "gpu": {"type": "gpu"}, "bad": 5}}));
        assert_eq!(event.contexts["os"]["type"], "os");
        assert_eq!(event.contexts["gpu"]["type"], "gpu");
        assert!(!event.contexts.contains_key("bad"));
        assert_eq!(names, ["contexts"]);
    }

    #[test]
    fn extra_modules_and_sdk_must_be_objects() {
        let (event, names) =
            read(json!({"extra": [1], "modules": {"django": "5.0", "n": 3, "x": {}}, "sdk": "python"}));
        assert!(event.extra.is_empty());
        assert_eq!(
            event.modules,
            json!({"django": "5.0", "n": "3"}).as_object().unwrap().clone()
        );
        assert_eq!(event.sdk, None);
        assert_eq!(names, ["extra", "sdk"]);
    }

    #[test]
    fn culprit_is_capped() {
        let (event, names) = read(json!({"culprit": "c".repeat(250)}));
        assert_eq!(event.culprit.unwrap().len(), 200);
        assert_eq!(names, ["culprit"]);
    }
}

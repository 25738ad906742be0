//! Custom fingerprints (§8.2, §8.4 step 1): resolves `{{ variable }}` entries against the event
//! and hashes the resolved list instead of the default components.

use super::{crash_frame, hash_parts, Grouping};
use crate::domain::event::{Event, Frame};
use regex::Regex;
use std::sync::LazyLock;

/// An entry is a variable only when it is nothing but `{{ name }}` (§8.2).
static VARIABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\{\{\s*([^\s{}]+)\s*\}\}$").expect("variable pattern is valid"));

/// True when the fingerprint replaces the default grouping. `["{{ default }}"]` alone asks for
/// exactly the default, so it must keep the default hash rather than start a new issue.
pub fn is_custom(fingerprint: &[String]) -> bool {
    match fingerprint {
        [] => false,
        [only] => !variable_name(only).is_some_and(|v| v.eq_ignore_ascii_case("default")),
        _ => true,
    }
}

/// Hashes the resolved entries as the length-prefixed list `["fp", entry1, entry2, …]`.
pub fn fingerprint_grouping(event: &Event, default: impl FnOnce() -> Grouping) -> Grouping {
    let mut compute_default = Some(default);
    let mut default_hash = None;
    let mut parts = vec!["fp".to_string()];
    let mut components = Vec::new();
    for entry in &event.fingerprint {
        let Some(name) = variable_name(entry) else {
            parts.push(entry.clone());
            components.push(format!("fingerprint: {entry}"));
            continue;
        };
        if name.eq_ignore_ascii_case("default") {
            if let Some(compute) = compute_default.take() {
                let grouping = compute();
                components.push("fingerprint: {{ default }}".to_string());
                components.extend(grouping.components);
                default_hash = Some(grouping.hash);
            }
            parts.push(format!("default:{}", default_hash.as_deref().unwrap_or("")));
            continue;
        }
        let resolved = resolve_variable(event, name);
        components.push(format!("fingerprint: {{{{ {name} }}}} = {resolved}"));
        parts.push(resolved);
    }
    Grouping {
        hash: hash_parts(&parts),
        components,
    }
}

fn variable_name(entry: &str) -> Option<&str> {
    VARIABLE
        .captures(entry)
        .and_then(|caps| caps.get(1))
        .map(|m| m.as_str())
}

/// The value of a variable, or a `<no-…>` placeholder when the event lacks it (§8.2).
fn resolve_variable(event: &Event, name: &str) -> String {
    if let Some(key) = tag_key(name) {
        return present(event.tag(key))
            .map(str::to_string)
            .unwrap_or_else(|| format!("<no-value-for-tag-{key}>"));
    }
    let lowered = name.to_ascii_lowercase();
    let (value, placeholder) = match lowered.as_str() {
        "transaction" => (present(event.transaction.as_deref()), "transaction"),
        "message" => (message(event), "message"),
        "type" | "error.type" => (main_exception_field(event, |e| &e.ty), "type"),
        "value" | "error.value" => (main_exception_field(event, |e| &e.value), "value"),
        "function" | "stack.function" => (crash_field(event, |f| &f.function), "function"),
        "path" | "stack.abs_path" => (crash_field(event, |f| &f.abs_path), "abs-path"),
        "stack.filename" => (crash_field(event, |f| &f.filename), "filename"),
        "module" | "stack.module" => (crash_field(event, |f| &f.module), "module"),
        "package" | "stack.package" => (crash_package(event), "package"),
        "level" => (Some(event.level.as_str()), "level"),
        "logger" => (present(event.logger.as_deref()), "logger"),
        _ => return format!("<unrecognized-variable-{name}>"),
    };
    value
        .map(str::to_string)
        .unwrap_or_else(|| format!("<no-{placeholder}>"))
}

/// Tag keys keep their case; only the `tags.` prefix is case-insensitive.
fn tag_key(name: &str) -> Option<&str> {
    let prefix = name.get(..5)?;
    prefix
        .eq_ignore_ascii_case("tags.")
        .then(|| &name[5..])
        .filter(|key| !key.is_empty())
}

fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// `{{ message }}`: formatted log message, else its template, else the raised exception's value.
fn message(event: &Event) -> Option<&str> {
    let logentry = event.logentry.as_ref();
    present(logentry.and_then(|l| l.formatted.as_deref()))
        .or_else(|| present(logentry.and_then(|l| l.message.as_deref())))
        .or_else(|| main_exception_field(event, |e| &e.value))
}

fn main_exception_field(
    event: &Event,
    field: impl Fn(&crate::domain::event::Exception) -> &Option<String>,
) -> Option<&str> {
    present(event.main_exception().and_then(|e| field(e).as_deref()))
}

fn crash_field(event: &Event, field: impl Fn(&Frame) -> &Option<String>) -> Option<&str> {
    present(crash_frame(event).and_then(|f| field(f).as_deref()))
}

/// `{{ package }}` is the last path segment of the binary or library (§8.2).
fn crash_package(event: &Event) -> Option<&str> {
    let package = crash_field(event, |f| &f.package)?;
    present(package.rsplit(['/', '\\']).next())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{Exception, Stacktrace};

    fn event_with_fingerprint(entries: &[&str]) -> Event {
        Event {
            fingerprint: entries.iter().map(|e| e.to_string()).collect(),
            ..Event::default()
        }
    }

    fn resolved(event: &Event) -> Vec<String> {
        let default = || Grouping {
            hash: "d".repeat(64),
            components: vec!["message: hello".into()],
        };
        fingerprint_grouping(event, default).components
    }

    #[test]
    fn variables_allow_any_whitespace_and_case_inside_braces() {
        let mut event = event_with_fingerprint(&["{{transaction}}", "{{  TRANSACTION  }}"]);
        event.transaction = Some("/checkout".into());
        assert_eq!(
            resolved(&event),
            vec![
                "fingerprint: {{ transaction }} = /checkout",
                "fingerprint: {{ TRANSACTION }} = /checkout"
            ]
        );
    }

    #[test]
    fn text_around_a_variable_makes_the_entry_a_literal() {
        let event = event_with_fingerprint(&["x {{ transaction }}"]);
        assert_eq!(resolved(&event), vec!["fingerprint: x {{ transaction }}"]);
    }

    #[test]
    fn missing_data_resolves_to_named_placeholders() {
        let event = event_with_fingerprint(&[
            "{{ transaction }}",
            "{{ type }}",
            "{{ error.value }}",
            "{{ stack.function }}",
            "{{ tags.foo }}",
            "{{ logger }}",
        ]);
        let values: Vec<String> = event
            .fingerprint
            .iter()
            .map(|entry| resolve_variable(&event, variable_name(entry).unwrap_or("")))
            .collect();
        assert_eq!(
            values,
            vec![
                "<no-transaction>",
                "<no-type>",
                "<no-value>",
                "<no-function>",
                "<no-value-for-tag-foo>",
                "<no-logger>"
            ]
        );
    }

    #[test]
    fn default_entries_expand_to_the_default_components_once() {
        let event = event_with_fingerprint(&["{{ default }}", "{{default}}", "x"]);
        assert_eq!(
            resolved(&event),
            vec!["fingerprint: {{ default }}", "message: hello", "fingerprint: x"]
        );
    }

    #[test]
    fn unknown_variables_are_marked_unrecognized() {
        let event = Event::default();
        assert_eq!(resolve_variable(&event, "bogus"), "<unrecognized-variable-bogus>");
    }

    #[test]
    fn event_fields_resolve_to_their_values() {
        let mut event = Event {
            logger: Some("shop.payments".into()),
            tags: vec![("region".into(), "eu-west-1".into())],
            ..Event::default()
        };
        event.exception.push(Exception {
            ty: Some("KeyError".into()),
            value: Some("'USD'".into()),
            ..Exception::default()
        });
        assert_eq!(resolve_variable(&event, "tags.region"), "eu-west-1");
        assert_eq!(resolve_variable(&event, "error.type"), "KeyError");
        assert_eq!(resolve_variable(&event, "value"), "'USD'");
        assert_eq!(resolve_variable(&event, "message"), "'USD'");
        assert_eq!(resolve_variable(&event, "level"), "error");
        assert_eq!(resolve_variable(&event, "logger"), "shop.payments");
    }

    #[test]
    fn frame_variables_use_the_most_recent_in_app_frame_with_a_function() {
        let frame = |function: Option<&str>, in_app: bool, module: &str| Frame {
            function: function.map(str::to_string),
            module: Some(module.into()),
            abs_path: Some(format!("/srv/{module}.py")),
            package: Some("/usr/lib/libapp.so".into()),
            in_app: Some(in_app),
            ..Frame::default()
        };
        let mut event = Event::default();
        event.exception.push(Exception {
            stacktrace: Some(Stacktrace {
                frames: vec![
                    frame(Some("handler"), true, "app.views"),
                    frame(None, true, "app.anon"),
                    frame(Some("get"), false, "requests"),
                ],
                ..Stacktrace::default()
            }),
            ..Exception::default()
        });
        assert_eq!(resolve_variable(&event, "function"), "handler");
        assert_eq!(resolve_variable(&event, "stack.module"), "app.views");
        assert_eq!(resolve_variable(&event, "path"), "/srv/app.views.py");
        assert_eq!(resolve_variable(&event, "package"), "libapp.so");
    }

    #[test]
    fn default_alone_is_not_a_custom_fingerprint() {
        assert!(!is_custom(&[]));
        assert!(!is_custom(&["{{ default }}".to_string()]));
        assert!(is_custom(&["{{ default }}".to_string(), "x".to_string()]));
        assert!(is_custom(&["db-timeout".to_string()]));
    }
}

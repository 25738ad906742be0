//! The user interface (§7.1) and IP address inference (§7.5): `{{auto}}` placeholders, the WSGI
//! `REMOTE_ADDR`, and the client IP for browser and Apple SDKs.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::fields::{into_lenient_string, string_field, take, truncate_chars, Notes};
use super::trim::{trim_databag, trim_map, LARGE_BAG_BYTES, MASSIVE_BAG_BYTES};
use crate::domain::event::{Event, User};

/// The SDK's request for "use the address this event came from".
const AUTO_IP: &str = "{{auto}}";
const MAX_EMAIL_CHARS: usize = 75;
const MAX_NAME_CHARS: usize = 128;
/// Platforms whose SDKs expect the server to fill in the client IP (§7.5).
const IP_INFERRING_PLATFORMS: [&str; 3] = ["javascript", "cocoa", "objc"];

pub(super) fn parse_user(raw: Value, notes: &mut Notes) -> Option<User> {
    let Value::Object(mut object) = raw else {
        notes.invalid("user");
        return None;
    };
    let id = match take(&mut object, "id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => into_lenient_string(id),
        Some(_) => {
            notes.invalid("user.id");
            None
        }
        None => None,
    };
    let mut username = take(&mut object, "username").and_then(into_lenient_string);
    if let Some(username) = username.as_mut() {
        truncate_chars(username, MAX_NAME_CHARS);
    }
    let user = User {
        id: id.filter(|id| !id.is_empty()),
        email: string_field(&mut object, "email", MAX_EMAIL_CHARS, notes),
        username,
        ip_address: take(&mut object, "ip_address").and_then(|raw| parse_ip(raw, notes)),
        name: string_field(&mut object, "name", MAX_NAME_CHARS, notes),
        geo: take(&mut object, "geo").and_then(|geo| parse_geo(geo, notes)),
        segment: string_field(&mut object, "segment", MAX_NAME_CHARS, notes),
        data: merge_data(take(&mut object, "data"), object, notes),
    };
    Some(user)
}

/// Unknown user attributes are kept under `data`, as Relay does.
fn merge_data(data: Option<Value>, unknown: Map<String, Value>, notes: &mut Notes) -> Option<Value> {
    let mut merged = match data {
        None => Map::new(),
        Some(Value::Object(data)) => data,
        Some(_) => {
            notes.invalid("user.data");
            Map::new()
        }
    };
    for (key, value) in unknown {
        if !value.is_null() {
            merged.entry(key).or_insert(value);
        }
    }
    trim_map(&mut merged, MASSIVE_BAG_BYTES);
    (!merged.is_empty()).then_some(Value::Object(merged))
}

fn parse_geo(raw: Value, notes: &mut Notes) -> Option<Value> {
    let mut geo = raw;
    if !geo.is_object() {
        notes.invalid("user.geo");
        return None;
    }
    trim_databag(&mut geo, LARGE_BAG_BYTES);
    Some(geo)
}

/// A valid IP address or the `{{auto}}` placeholder (resolved later).
fn parse_ip(raw: Value, notes: &mut Notes) -> Option<String> {
    let valid = match &raw {
        Value::String(text) => text == AUTO_IP || text.trim().parse::<IpAddr>().is_ok(),
        _ => false,
    };
    if !valid {
        notes.invalid("user.ip_address");
        return None;
    }
    raw.as_str().map(|text| text.trim().to_owned())
}

/// `sdk.settings.infer_ip` (§7.5).
#[derive(Clone, Copy, PartialEq, Eq)]
enum InferIp {
    /// Always use the client address when the event carries none.
    Auto,
    /// Never use the client address.
    Never,
    /// Older SDKs: decided by platform.
    Legacy,
}

fn infer_ip_setting(sdk: Option<&Value>) -> InferIp {
    match sdk
        .and_then(|sdk| sdk.pointer("/settings/infer_ip"))
        .and_then(Value::as_str)
    {
        Some("auto") => InferIp::Auto,
        Some("never") => InferIp::Never,
        _ => InferIp::Legacy,
    }
}

/// Resolves `{{auto}}` placeholders and fills `user.ip_address` (§7.5). `client_ip` is the address
/// the caller trusts (peer or first `X-Forwarded-For` hop); `infer_ip: never` withholds it.
pub(super) fn infer_ip_addresses(event: &mut Event, client_ip: Option<&str>) {
    let setting = infer_ip_setting(event.sdk.as_ref());
    let client_ip = client_ip.filter(|_| setting != InferIp::Never);
    let remote_addr = resolve_remote_addr(event, client_ip);
    let user_ip = event.user.as_ref().and_then(|user| user.ip_address.as_deref());
    let user_ip = match user_ip {
        Some(AUTO_IP) => client_ip.map(str::to_owned),
        Some(ip) => Some(ip.to_owned()),
        None => remote_addr.or_else(|| {
            let platform_infers = IP_INFERRING_PLATFORMS.contains(&event.platform.as_str());
            let wanted = setting == InferIp::Auto || platform_infers;
            client_ip.filter(|_| wanted).map(str::to_owned)
        }),
    };
    match (event.user.as_mut(), user_ip) {
        (Some(user), ip) => user.ip_address = ip,
        (None, Some(ip)) => {
            event.user = Some(User {
                ip_address: Some(ip),
                ..User::default()
            })
        }
        (None, None) => {}
    }
    if event.user.as_ref() == Some(&User::default()) {
        event.user = None;
    }
}

/// Replaces `request.env.REMOTE_ADDR == "{{auto}}"` and returns the usable remote address.
fn resolve_remote_addr(event: &mut Event, client_ip: Option<&str>) -> Option<String> {
    let env = &mut event.request.as_mut()?.env;
    if env.get("REMOTE_ADDR").and_then(Value::as_str) == Some(AUTO_IP) {
        match client_ip {
            Some(ip) => env.insert("REMOTE_ADDR".to_owned(), Value::String(ip.to_owned())),
            None => env.remove("REMOTE_ADDR"),
        };
    }
    let remote_addr = env.get("REMOTE_ADDR")?.as_str()?.trim();
    remote_addr.parse::<IpAddr>().is_ok().then(|| remote_addr.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Request;
    use serde_json::json;

    fn event_with(platform: &str, user: Option<Value>, env: Option<Value>, sdk: Option<Value>) -> Event {
        let mut notes = Notes::default();
        Event {
            platform: platform.to_owned(),
            user: user.and_then(|raw| parse_user(raw, &mut notes)),
            request: env.map(|env| Request {
                env: env.as_object().cloned().unwrap_or_default(),
                ..Request::default()
            }),
            sdk,
            ..Event::default()
        }
    }

    fn ip_of(event: &Event) -> Option<&str> {
        event.user.as_ref()?.ip_address.as_deref()
    }

    #[test]
    fn numeric_ids_are_stringified_and_email_capped() {
        let user = parse_user(json!({"id": 42, "email": "e".repeat(80)}), &mut Notes::default()).unwrap();
        assert_eq!(user.id.as_deref(), Some("42"));
        assert_eq!(user.email.as_deref().map(str::len), Some(MAX_EMAIL_CHARS));
        assert_eq!(user.identity().as_deref(), Some("id:42"));
    }

    #[test]
    fn unknown_attributes_land_in_data() {
        let user = parse_user(
            json!({"id": "1", "plan": "pro", "data": {"a": 1}}),
            &mut Notes::default(),
        )
        .unwrap();
        assert_eq!(user.data, Some(json!({"a": 1, "plan": "pro"})));
    }

    #[test]
    fn invalid_ip_and_id_are_dropped_and_noted() {
        let mut notes = Notes::default();
        let user = parse_user(json!({"id": [1], "ip_address": "not-an-ip"}), &mut notes).unwrap();
        assert_eq!((user.id, user.ip_address), (None, None));
        assert_eq!(notes.into_vec().len(), 2);
    }

    #[test]
    fn auto_ip_becomes_the_client_ip() {
        let mut event = event_with("python", Some(json!({"ip_address": "{{auto}}"})), None, None);
        infer_ip_addresses(&mut event, Some("203.0.113.9"));
        assert_eq!(ip_of(&event), Some("203.0.113.9"));
    }

    #[test]
    fn auto_ip_without_client_ip_is_dropped() {
        let mut event = event_with("python", Some(json!({"id": "1", "ip_address": "{{auto}}"})), None, None);
        infer_ip_addresses(&mut event, None);
        assert_eq!(ip_of(&event), None);
    }

    #[test]
    fn remote_addr_auto_is_resolved_and_copied_to_a_new_user() {
        let mut event = event_with("python", None, Some(json!({"REMOTE_ADDR": "{{auto}}"})), None);
        infer_ip_addresses(&mut event, Some("198.51.100.4"));
        assert_eq!(event.request.as_ref().unwrap().env["REMOTE_ADDR"], "198.51.100.4");
        assert_eq!(ip_of(&event), Some("198.51.100.4"));
        let mut event = event_with("python", None, Some(json!({"REMOTE_ADDR": "{{auto}}"})), None);
        infer_ip_addresses(&mut event, None);
        assert!(event.request.as_ref().unwrap().env.is_empty());
        assert!(event.user.is_none());
    }

    #[test]
    fn explicit_user_ip_wins_over_remote_addr() {
        let mut event = event_with(
            "python",
            Some(json!({"ip_address": "10.0.0.1"})),
            Some(json!({"REMOTE_ADDR": "10.0.0.2"})),
            None,
        );
        infer_ip_addresses(&mut event, Some("10.0.0.3"));
        assert_eq!(ip_of(&event), Some("10.0.0.1"));
    }

    #[test]
    fn browser_and_apple_platforms_get_the_client_ip() {
        for platform in ["javascript", "cocoa", "objc"] {
            let mut event = event_with(platform, None, None, None);
            infer_ip_addresses(&mut event, Some("192.0.2.1"));
            assert_eq!(ip_of(&event), Some("192.0.2.1"), "{platform}");
        }
        let mut event = event_with("python", None, None, None);
        infer_ip_addresses(&mut event, Some("192.0.2.1"));
        assert!(event.user.is_none());
    }

    #[test]
    fn infer_ip_setting_overrides_the_platform_rule() {
        let auto = Some(json!({"settings": {"infer_ip": "auto"}}));
        let mut event = event_with("node", None, None, auto);
        infer_ip_addresses(&mut event, Some("192.0.2.1"));
        assert_eq!(ip_of(&event), Some("192.0.2.1"));
        let never = Some(json!({"settings": {"infer_ip": "never"}}));
        let mut event = event_with("javascript", Some(json!({"ip_address": "{{auto}}"})), None, never);
        infer_ip_addresses(&mut event, Some("192.0.2.1"));
        assert_eq!(ip_of(&event), None);
    }
}

use serde_json::json;

use super::*;
use crate::domain::event::{Exception, Level, Mechanism, Request};

/// An event with every source of a derived tag, and client tags that collide with some of them.
fn rich_event() -> Event {
    let contexts = json!({
        "browser": {"name": "Firefox", "version": "128.0"},
        "os": {"name": "Linux"},
        "runtime": {"name": "CPython", "version": 3.11},
        "device": {"name": "Pixel"}
    });
    Event {
        level: Level::Warning,
        logger: Some("shop.cart".into()),
        environment: Some("production".into()),
        release: Some("shop@1.2.3".into()),
        dist: Some("42".into()),
        server_name: Some("web-3".into()),
        transaction: Some("/cart".into()),
        request: Some(Request {
            url: Some("https://shop.example.com/cart".into()),
            ..Request::default()
        }),
        user: Some(User {
            id: Some("7".into()),
            email: Some("a@b.example".into()),
            ..User::default()
        }),
        contexts: contexts.as_object().unwrap().clone(),
        exception: vec![Exception {
            mechanism: Some(Mechanism {
                ty: Some("onerror".into()),
                handled: Some(false),
                ..Mechanism::default()
            }),
            ..Exception::default()
        }],
        tags: vec![("level".into(), "debug".into()), ("region".into(), "eu".into())],
        ..Event::default()
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_rich_event_has_every_derived_tag_sorted_with_its_own() {
    let expected = pairs(&[
        ("browser", "Firefox 128.0"),
        ("browser.name", "Firefox"),
        ("dist", "42"),
        ("environment", "production"),
        ("handled", "no"),
        ("level", "warning"),
        ("logger", "shop.cart"),
        ("mechanism", "onerror"),
        ("os", "Linux"),
        ("os.name", "Linux"),
        ("region", "eu"),
        ("release", "shop@1.2.3"),
        ("runtime", "CPython 3.11"),
        ("runtime.name", "CPython"),
        ("server_name", "web-3"),
        ("transaction", "/cart"),
        ("url", "https://shop.example.com/cart"),
        ("user", "id:7"),
        ("user.email", "a@b.example"),
    ]);
    assert_eq!(event_tags(&rich_event()), expected);
}

#[test]
fn derived_tags_replace_client_tags_of_the_same_key() {
    let tags = event_tags(&rich_event());
    let levels: Vec<&str> = tags
        .iter()
        .filter(|(k, _)| k == "level")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(levels, ["warning"]);
}

#[test]
fn a_dist_without_a_release_is_no_tag() {
    let event = Event {
        release: None,
        ..rich_event()
    };
    let tags = event_tags(&event);
    assert!(!tags.iter().any(|(k, _)| k == "dist" || k == "release"), "{tags:?}");
}

#[test]
fn values_that_cannot_be_indexed_are_left_out_and_the_client_tag_stays() {
    let mut event = rich_event();
    event.transaction = Some(format!("/{}", "a".repeat(250)));
    event.server_name = Some("web\n3".into());
    event.tags.push(("server_name".into(), "web-3".into()));
    let tags = event_tags(&event);
    assert!(!tags.iter().any(|(k, _)| k == "transaction"));
    assert!(tags.contains(&("server_name".to_owned(), "web-3".to_owned())));
}

#[test]
fn blank_values_are_no_tag_and_handled_mechanisms_say_yes() {
    let mut event = Event {
        environment: Some("  ".into()),
        user: Some(User {
            email: Some(String::new()),
            ip_address: Some("192.0.2.1".into()),
            ..User::default()
        }),
        ..Event::default()
    };
    event.exception = vec![Exception {
        mechanism: Some(Mechanism {
            ty: Some(String::new()),
            handled: Some(true),
            ..Mechanism::default()
        }),
        ..Exception::default()
    }];
    let expected = pairs(&[("handled", "yes"), ("level", "error"), ("user", "ip:192.0.2.1")]);
    assert_eq!(event_tags(&event), expected);
}

#[test]
fn tag_keys_are_labelled_as_sentry_labels_them() {
    assert_eq!(tag_key_label("browser"), "Browser");
    assert_eq!(tag_key_label("browser.name"), "Browser.Name");
    assert_eq!(tag_key_label("server_name"), "Server");
    assert_eq!(tag_key_label("os"), "OS");
    assert_eq!(tag_key_label("my_custom_tag"), "My Custom Tag");
}

use serde_json::json;

use super::*;
use crate::domain::normalize::{normalize_event, NormalizeContext};

fn event(payload: serde_json::Value) -> Event {
    let ctx = NormalizeContext {
        received_at: 1_700_000_000.0,
        client_ip: None,
        header_event_id: None,
        sent_at: None,
        json_repairs: &[],
    };
    normalize_event(payload, &ctx).unwrap()
}

fn browser(agent: &str) -> Event {
    event(json!({
        "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]},
        "request": {"url": "https://shop.example/cart", "headers": {"User-Agent": agent}},
    }))
}

#[test]
fn nothing_is_filtered_until_a_filter_is_on() {
    let filters = InboundFilters::default();
    assert_eq!(
        filters.matches(&browser("Googlebot/2.1 (+http://www.google.com/bot.html)")),
        None
    );
}

#[test]
fn each_toggle_filters_what_it_names() {
    let all = InboundFilters {
        browser_extensions: true,
        localhost: true,
        web_crawlers: true,
        legacy_browsers: true,
        ..InboundFilters::default()
    };
    let bot = browser("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
    assert_eq!(all.matches(&bot), Some("web-crawlers"));
    let ie = browser("Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko");
    assert_eq!(all.matches(&ie), Some("legacy-browsers"));
    let modern = browser("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
    assert_eq!(all.matches(&modern), None);
    let local = event(json!({"message": "boom", "request": {"url": "http://localhost:3000/"}}));
    assert_eq!(all.matches(&local), Some("localhost"));
    let extension = event(json!({"exception": {"values": [{"type": "Error", "value": "boom",
        "stacktrace": {"frames": [{"abs_path": "chrome-extension://abcdef/content.js", "lineno": 1}]}}]}}));
    assert_eq!(all.matches(&extension), Some("browser-extensions"));
}

#[test]
fn message_and_release_patterns_are_case_insensitive_globs() {
    let filters = InboundFilters {
        error_messages: Patterns::parse(&["*ResizeObserver loop*", "ChunkLoadError:*"]).unwrap(),
        releases: Patterns::parse(&["*-dev"]).unwrap(),
        ..InboundFilters::default()
    };
    let resize =
        event(json!({"exception": {"values": [{"type": "Error", "value": "resizeobserver LOOP limit exceeded"}]}}));
    assert_eq!(filters.matches(&resize), Some("error-message"));
    let chunk =
        event(json!({"exception": {"values": [{"type": "ChunkLoadError", "value": "Loading chunk 7 failed"}]}}));
    assert_eq!(filters.matches(&chunk), Some("error-message"));
    let dev = event(json!({"message": "boom", "release": "shop@1.2-dev"}));
    assert_eq!(filters.matches(&dev), Some("release-version"));
    let kept = event(json!({"message": "boom", "release": "shop@1.2"}));
    assert_eq!(filters.matches(&kept), None);
}

#[test]
fn bad_patterns_are_refused_with_a_sentence() {
    let error = Patterns::parse(&["[unclosed"]).unwrap_err();
    assert!(
        error.to_string().starts_with("the pattern \"[unclosed\" is not valid"),
        "{error}"
    );
    let long = "x".repeat(201);
    assert!(matches!(Patterns::parse(&[long]), Err(InvalidPattern::TooLong(_))));
    let many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    assert_eq!(Patterns::parse(&many), Err(InvalidPattern::TooMany));
}

#[test]
fn stored_filters_read_back_the_same() {
    let filters = InboundFilters {
        localhost: true,
        error_messages: Patterns::parse(&["*boom*"]).unwrap(),
        ..InboundFilters::default()
    };
    let text = serde_json::to_string(&filters).unwrap();
    assert_eq!(serde_json::from_str::<InboundFilters>(&text).unwrap(), filters);
    assert!(serde_json::from_str::<InboundFilters>("{}").unwrap().is_empty());
}

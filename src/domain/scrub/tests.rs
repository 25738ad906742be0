//! Scrubbing tests on whole normalized events, including the recorded corpus.

use serde_json::{json, Value};

use super::*;
use crate::domain::normalize::corpus_tests::{corpus_events, normalize_corpus_event};
use crate::domain::normalize::{normalize_event, NormalizeContext};

fn normalize(raw: Value) -> Event {
    let ctx = NormalizeContext {
        received_at: 1_704_067_200.0,
        ..NormalizeContext::default()
    };
    normalize_event(raw, &ctx).unwrap()
}

fn scrubbed(raw: Value) -> Event {
    let mut event = normalize(raw);
    Scrubber::default().scrub(&mut event);
    event
}

fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn request_headers_cookies_query_and_env_are_filtered_by_key() {
    let event = scrubbed(json!({"request": {
        "headers": {"Authorization": "Bearer abc", "Cookie": "sessionid=1", "X-Api-Key": "k", "Accept": "*/*"},
        "cookies": "sessionid=abc; csrftoken=def; theme=dark",
        "query_string": "page=2&token=xyz",
        "env": {"HTTP_AUTHORIZATION": "Basic x", "REMOTE_ADDR": "10.0.0.1"},
        "url": "https://shop/cb?code=1&access_token=abc"
    }}));
    let request = event.request.unwrap();
    for key in ["Authorization", "Cookie", "X-Api-Key"] {
        assert_eq!(pair(&request.headers, key), Some(FILTERED), "{key}");
    }
    assert_eq!(pair(&request.headers, "Accept"), Some("*/*"));
    assert_eq!(pair(&request.cookies, "sessionid"), Some(FILTERED));
    assert_eq!(pair(&request.cookies, "csrftoken"), Some(FILTERED));
    assert_eq!(pair(&request.cookies, "theme"), Some("dark"));
    assert_eq!(pair(&request.query_string, "token"), Some(FILTERED));
    assert_eq!(pair(&request.query_string, "page"), Some("2"));
    assert_eq!(request.env["HTTP_AUTHORIZATION"], FILTERED);
    assert_eq!(request.env["REMOTE_ADDR"], "10.0.0.1");
    assert_eq!(
        request.url.as_deref(),
        Some("https://shop/cb?code=1&access_token=[Filtered]")
    );
}

#[test]
fn request_bodies_are_filtered_as_json_json_text_or_form_text() {
    let data =
        scrubbed(json!({"request": {"data": {"user": "ann", "card": {"cvv": "123"}, "items": [{"password": "p"}]}}}))
            .request
            .unwrap()
            .data
            .unwrap();
    assert_eq!(
        data,
        json!({"user": "ann", "card": {"cvv": FILTERED}, "items": [{"password": FILTERED}]})
    );
    let form = scrubbed(json!({"request": {"data": "user=ann&password=hunter2"}}))
        .request
        .unwrap()
        .data;
    assert_eq!(form, Some(json!("user=ann&password=[Filtered]")));
    let text = scrubbed(json!({"request": {"data": "{\"secret\": \"s\", \"n\": 1}"}}))
        .request
        .unwrap()
        .data
        .unwrap();
    let reparsed: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
    assert_eq!(reparsed, json!({"secret": FILTERED, "n": 1}));
}

#[test]
fn databags_are_filtered_recursively() {
    let event = scrubbed(json!({
        "extra": {"config": {"db": {"password": "p", "host": "h"}}, "author": "ann"},
        "contexts": {"app": {"api_key": "k"}},
        "breadcrumbs": [{"data": {"headers": {"Set-Cookie": "a=b"}}}],
        "user": {"id": "1", "data": {"private_key": "pk"}},
        "exception": {"type": "E", "stacktrace": {"frames": [{"vars": {"request": {"HTTP_COOKIE": "'s=1'"}, "pwd": "x"}}]}}
    }));
    assert_eq!(event.extra["config"]["db"]["password"], FILTERED);
    assert_eq!(event.extra["config"]["db"]["host"], "h");
    assert_eq!(event.extra["author"], "ann", "author is not an auth key");
    assert_eq!(event.contexts["app"]["api_key"], FILTERED);
    assert_eq!(
        event.breadcrumbs[0].data.as_ref().unwrap()["headers"]["Set-Cookie"],
        FILTERED
    );
    assert_eq!(event.user.unwrap().data.unwrap()["private_key"], FILTERED);
    let vars = event.exception[0].stacktrace.as_ref().unwrap().frames[0]
        .vars
        .clone()
        .unwrap();
    assert_eq!(vars, json!({"request": {"HTTP_COOKIE": FILTERED}, "pwd": FILTERED}));
}

#[test]
fn card_numbers_are_masked_in_exception_values_only_when_luhn_valid() {
    let event = scrubbed(json!({"exception": [
        {"type": "CardError", "value": "charge failed for 4111 1111 1111 1111"},
        {"type": "CardError", "value": "charge failed for 4111 1111 1111 1112"}
    ]}));
    assert_eq!(
        event.exception[0].value.as_deref(),
        Some("charge failed for [Filtered]")
    );
    assert_eq!(
        event.exception[1].value.as_deref(),
        Some("charge failed for 4111 1111 1111 1112")
    );
}

#[test]
fn card_numbers_are_masked_everywhere() {
    let card = "4111-1111-1111-1111";
    let event = scrubbed(json!({
        "message": format!("paid with {card}"),
        "tags": {"card": card},
        "breadcrumbs": [{"message": card}],
        "extra": {"note": card, "as_number": 4_111_111_111_111_111_u64},
        "request": {"headers": {"X-Note": card}, "query_string": [["n", card]]},
        "exception": {"type": "E", "stacktrace": {"frames": [{"vars": {"v": card}, "context_line": card}]}}
    }));
    let text = serde_json::to_string(&event).unwrap();
    assert!(!text.contains("4111"), "{text}");
    assert_eq!(event.tag("card"), Some(FILTERED));
    assert_eq!(event.extra["as_number"], FILTERED);
}

#[test]
fn trace_ids_are_never_taken_for_card_numbers() {
    // 16 digits, Luhn-valid, starting with 4: a card number anywhere else.
    let trace_id = "4111111111111111abcdefabcdefabcd";
    let event = scrubbed(json!({
        "contexts": {"trace": {"trace_id": trace_id, "span_id": "4111111111111111", "note": "4111111111111111"}}
    }));
    assert_eq!(event.contexts["trace"]["trace_id"], trace_id);
    assert_eq!(event.contexts["trace"]["span_id"], "4111111111111111");
    assert_eq!(event.contexts["trace"]["note"], FILTERED);
}

#[test]
fn project_keys_extend_the_defaults() {
    let mut event = normalize(json!({"extra": {"customer_ssn": "123-45-6789", "tenant": "t"}}));
    Scrubber::new(&["Customer SSN".to_owned()]).scrub(&mut event);
    assert_eq!(event.extra["customer_ssn"], FILTERED);
    assert_eq!(event.extra["tenant"], "t");
    let mut event = normalize(json!({"extra": {"customer_ssn": "123-45-6789"}}));
    Scrubber::default().scrub(&mut event);
    assert_eq!(event.extra["customer_ssn"], "123-45-6789");
}

#[test]
fn null_values_under_sensitive_keys_stay_null() {
    let event = scrubbed(json!({"extra": {"password": null, "token": ""}}));
    assert_eq!(event.extra["password"], Value::Null);
    assert_eq!(event.extra["token"], FILTERED);
}

/// The recorded WSGI events carry no secrets of their own (their only `session` is source code in
/// context lines), so scrubbing must leave them intact; injected secrets must go.
#[test]
fn corpus_wsgi_events_keep_source_and_lose_injected_secrets() {
    let scrubber = Scrubber::default();
    let wsgi = corpus_events().into_iter().filter(|(name, ..)| name.contains("wsgi"));
    let mut seen = 0;
    for (name, header, payload) in wsgi {
        let mut event = normalize_corpus_event(&header, payload.clone());
        let before = event.clone();
        scrubber.scrub(&mut event);
        assert_eq!(event, before, "{name}: nothing secret to scrub");
        let mut payload = payload;
        let request = &mut payload["request"];
        request["headers"]["Cookie"] = json!("sessionid=s3cr3t; csrftoken=c5rf");
        request["headers"]["Authorization"] = json!("Bearer s3cr3t");
        request["cookies"] = json!({"sessionid": "s3cr3t", "csrftoken": "c5rf"});
        request["query_string"] = json!("expand=items&api_key=s3cr3t");
        request["data"] = json!({"username": "ann", "password": "s3cr3t"});
        request["env"]["HTTP_COOKIE"] = json!("sessionid=s3cr3t");
        payload["extra"]["db_password"] = json!("s3cr3t");
        let mut event = normalize_corpus_event(&header, payload);
        scrubber.scrub(&mut event);
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("s3cr3t") && !text.contains("c5rf"), "{name}");
        assert!(text.contains("SessionMiddleware"), "{name}: source lines are not data");
        assert_eq!(event.request.unwrap().data.unwrap()["username"], "ann");
        seen += 1;
    }
    assert_eq!(seen, 8);
}

//! Issue lists through the web API: the default query, search syntax, sorts, keyset pages walked through
//! the Link header, stats, and look-ups by numeric and short id. Both databases.

use crate::common;

use std::collections::HashSet;

use common::api::Token;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::lifecycle::{IssueState, Resolution};
use faultline::domain::Timestamp;
use faultline::store::issues;
use reqwest::Method;
use serde_json::{json, Value};

async fn send(app: &TestApp, event: Value) {
    let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
    assert_eq!(response.status(), 200);
}

/// Five issues: `f0`…`f4`, where issue `fN` has N+1 events; `f1` is a warning in staging from release 2.0
/// with user alice; the others are errors in production.
async fn five_issues(app: &TestApp) {
    for n in 0..5u64 {
        for _ in 0..=n {
            let mut event = exception_event(&format!("Error{n}"), "boom", "shop.views", &format!("f{n}"), 10);
            event["environment"] = json!("production");
            event["tags"] = json!({"region": format!("eu-{}", n % 2)});
            if n == 1 {
                event["level"] = json!("warning");
                event["environment"] = json!("staging");
                event["release"] = json!("2.0");
                event["user"] = json!({"id": "7", "email": "alice@example.com"});
            }
            send(app, event).await;
        }
    }
}

fn titles(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, token: &Token, query: &str) -> Value {
    app.get_json(token, &format!("/api/0/projects/default/default/issues/{query}"))
        .await
        .expect(200)
}

async fn the_default_query_shows_unresolved_issues_and_an_empty_one_shows_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    five_issues(&app).await;
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let resolved = all.iter().find(|i| i.title.starts_with("Error3")).unwrap();
    let mut state = IssueState::new_issue();
    state.resolve(Resolution::Plain, Timestamp::from_millis(0));
    issues::set_state(&app.db, resolved.id, &state).await.unwrap();

    let response = app.get_json(&token, "/api/0/projects/default/default/issues/").await;
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    let (_, _, more) = response.link_entry("next");
    assert!(!more, "one page holds everything");
    let default = response.expect(200);
    assert_eq!(default.as_array().unwrap().len(), 4);
    assert!(!titles(&default).iter().any(|t| t.starts_with("Error3")));
    let everything = list(&app, &token, "?query=").await;
    assert_eq!(everything.as_array().unwrap().len(), 5);
    let issue = everything
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Error4: boom")
        .unwrap();
    assert_eq!(issue["count"], json!("5"), "count is a string");
    assert_eq!(issue["userCount"], json!(0));
    assert_eq!(issue["status"], "unresolved");
    assert_eq!(issue["project"]["slug"], "default");
    assert!(issue["shortId"].as_str().unwrap().starts_with("DEFAULT-"));
    assert!(issue["permalink"].as_str().unwrap().starts_with("http"));
    app.stop().await;
}

async fn search_filters_by_status_level_tags_user_and_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    five_issues(&app).await;
    let cases: [(&str, &[&str]); 9] = [
        ("level:warning", &["Error1: boom"]),
        (
            "!level:warning is:unresolved",
            &["Error4: boom", "Error3: boom", "Error2: boom", "Error0: boom"],
        ),
        ("environment:staging", &["Error1: boom"]),
        ("release:2.0", &["Error1: boom"]),
        ("user.email:alice@example.com", &["Error1: boom"]),
        (
            "region:eu-0 !environment:[staging]",
            &["Error4: boom", "Error2: boom", "Error0: boom"],
        ),
        ("error2", &["Error2: boom"]),
        ("\"Error3: boom\"", &["Error3: boom"]),
        ("is:resolved", &[]),
    ];
    for (query, expected) in cases {
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let found = list(&app, &token, &format!("?query={encoded}")).await;
        assert_eq!(titles(&found), expected, "{query}");
    }
    let bad = app
        .get_json(&token, "/api/0/projects/default/default/issues/?query=level%3Aloud")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["position"], 6);
    assert!(bad.body["detail"].as_str().unwrap().contains("position 6"));
    app.stop().await;
}

/// A browser error with every source of a derived tag: contexts, a mechanism, request, user, server.
fn browser_error() -> Value {
    let mut event = exception_event("TypeError", "x is undefined", "app.cart", "render", 5);
    event["platform"] = json!("javascript");
    event["exception"]["values"][0]["mechanism"] = json!({"type": "onunhandledrejection", "handled": false});
    event["contexts"] = json!({"browser": {"name": "Firefox", "version": "128.0"}, "os": {"name": "Linux"}});
    event["request"] = json!({"url": "https://shop.example.com/cart?step=2", "method": "GET"});
    event["user"] = json!({"id": "7", "email": "alice@example.com"});
    event["server_name"] = json!("web-3");
    event["logger"] = json!("shop.cart");
    event["release"] = json!("shop@2.0");
    event["dist"] = json!("42");
    event["tags"] = json!({"region": "eu", "level": "debug"});
    event
}

fn tag_pairs(tags: &Value) -> HashSet<(String, String)> {
    let pair = |tag: &Value| {
        (
            tag["key"].as_str().unwrap().to_owned(),
            tag["value"].as_str().unwrap().to_owned(),
        )
    };
    tags.as_array().unwrap().iter().map(pair).collect()
}

/// The issue's stored facets (what search reads), as `(key, value)` pairs.
async fn facet_pairs(app: &TestApp, token: &Token, issue_id: &str) -> HashSet<(String, String)> {
    let tags = app
        .get_json(token, &format!("/api/0/issues/{issue_id}/tags/"))
        .await
        .expect(200);
    let values = tags
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|tag| tag["topValues"].as_array().unwrap().clone());
    tag_pairs(&Value::Array(values.collect()))
}

async fn every_tag_the_event_api_shows_is_found_by_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, browser_error()).await;
    send(&app, exception_event("KeyError", "'sku'", "shop.views", "index", 3)).await;
    let found = list(&app, &token, "?query=browser.name%3AFirefox").await;
    assert_eq!(titles(&found), ["TypeError: x is undefined"]);
    let issue_id = found[0]["id"].as_str().unwrap().to_owned();
    let event = app
        .get_json(&token, &format!("/api/0/issues/{issue_id}/events/latest/"))
        .await
        .expect(200);
    let shown = tag_pairs(&event["tags"]);
    for expected in [
        ("browser.name", "Firefox"),
        ("browser", "Firefox 128.0"),
        ("mechanism", "onunhandledrejection"),
    ] {
        assert!(
            shown.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {shown:?}"
        );
    }
    assert_eq!(
        shown,
        facet_pairs(&app, &token, &issue_id).await,
        "the event's tags are the issue's facets"
    );
    for (key, value) in &shown {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        let query = format!("{key}:\"{quoted}\"");
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let found = list(&app, &token, &format!("?query={encoded}")).await;
        // `level:error` and `handled:no` find the other issue too: it also is an unhandled error.
        assert!(
            titles(&found).contains(&"TypeError: x is undefined".to_owned()),
            "{query}"
        );
    }
    app.stop().await;
}

/// Walks every page forward through `rel="next"` cursors, then back through `rel="previous"`.
async fn walk(app: &TestApp, token: &Token, first: &str) -> (Vec<String>, Vec<String>) {
    let mut forward = Vec::new();
    let mut pages = Vec::new();
    let mut path = first.to_owned();
    loop {
        let response = app.get_json(token, &path).await;
        let (url, cursor, more) = response.link_entry("next");
        assert!(
            url.contains(&format!("&cursor={}", cursor.replace(':', "%3A"))),
            "{url}"
        );
        let body = response.expect(200);
        pages.push(path.clone());
        forward.extend(titles(&body));
        if !more {
            break;
        }
        path = format!("{first}&cursor={cursor}");
    }
    let mut backward = Vec::new();
    let last = app.get_json(token, pages.last().unwrap()).await;
    let (_, mut cursor, mut more) = last.link_entry("previous");
    backward.extend(titles(&last.body).into_iter().rev());
    while more {
        let response = app.get_json(token, &format!("{first}&cursor={cursor}")).await;
        (_, cursor, more) = response.link_entry("previous");
        backward.extend(titles(&response.expect(200)).into_iter().rev());
    }
    backward.reverse();
    (forward, backward)
}

async fn cursors_walk_every_sort_forward_and_back_without_gaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    five_issues(&app).await;
    let by_frequency = [
        "Error4: boom",
        "Error3: boom",
        "Error2: boom",
        "Error1: boom",
        "Error0: boom",
    ];
    for sort in ["date", "new", "freq", "user"] {
        let first = format!("/api/0/projects/default/default/issues/?query=&sort={sort}&limit=2");
        let (forward, backward) = walk(&app, &token, &first).await;
        assert_eq!(forward.len(), 5, "{sort}: {forward:?}");
        assert_eq!(forward.iter().collect::<HashSet<_>>().len(), 5, "{sort}: no repeats");
        assert_eq!(backward, forward, "{sort}: walking back gives the same order");
        if sort != "user" {
            // Events were sent f0 first, f4 last, and f4 has the most.
            assert_eq!(forward, by_frequency, "{sort}");
        }
    }
    let bad = app
        .get_json(&token, "/api/0/projects/default/default/issues/?sort=trendy")
        .await;
    assert_eq!(bad.status, 400);
    let bad = app
        .get_json(&token, "/api/0/projects/default/default/issues/?cursor=x")
        .await;
    assert_eq!(bad.status, 400);
    let clamped = list(&app, &token, "?query=&limit=10000").await;
    assert_eq!(
        clamped.as_array().unwrap().len(),
        5,
        "huge limits are clamped, not refused"
    );
    app.stop().await;
}

async fn organization_lists_filter_projects_environments_and_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    five_issues(&app).await;
    let path = |q: &str| format!("/api/0/organizations/default/issues/?query={q}");
    let all = app.get_json(&token, &path("&statsPeriod=24h")).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 5);
    let stats = all[0]["stats"]["24h"].as_array().unwrap();
    assert_eq!(stats.len(), 24);
    assert_eq!(
        stats.iter().map(|b| b[1].as_i64().unwrap()).sum::<i64>(),
        5,
        "Error4's five events"
    );
    let project = format!("&project={}", app.project_id);
    assert_eq!(
        app.get_json(&token, &path(&project))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let other = app.get_json(&token, &path("&project=999999")).await.expect(200);
    assert_eq!(other, json!([]));
    let staging = app.get_json(&token, &path("&environment=staging")).await.expect(200);
    assert_eq!(titles(&staging), ["Error1: boom"]);
    let future = app
        .get_json(&token, &path("&start=2999-01-01T00:00:00"))
        .await
        .expect(200);
    assert_eq!(future, json!([]));
    let past = app
        .get_json(&token, &path("&start=2000-01-01T00:00:00&end=2999-01-01T00:00:00Z"))
        .await;
    assert_eq!(past.expect(200).as_array().unwrap().len(), 5);
    let bad = app.get_json(&token, &path("&statsPeriod=forever")).await;
    assert_eq!(bad.status, 400);
    app.stop().await;
}

async fn one_issue_by_numeric_or_short_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, exception_event("ValueError", "bad", "app.views", "index", 3)).await;
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let by_id = app
        .get_json(&token, &format!("/api/0/issues/{}/", issue.id))
        .await
        .expect(200);
    assert_eq!(by_id["id"], json!(issue.id.to_string()));
    assert_eq!(by_id["title"], "ValueError: bad");
    assert_eq!(by_id["culprit"], "app.views in index");
    assert_eq!(by_id["metadata"]["type"], "ValueError");
    let short = by_id["shortId"].as_str().unwrap().to_owned();
    assert_eq!(short, "DEFAULT-1");
    for path in [
        "/api/0/organizations/default/issues/DEFAULT-1/".to_owned(),
        "/api/0/organizations/default/issues/default-1/".to_owned(),
        "/api/0/issues/DEFAULT-1/".to_owned(),
        format!("/api/0/organizations/default/issues/{}/", issue.id),
    ] {
        assert_eq!(
            app.get_json(&token, &path).await.expect(200)["id"],
            by_id["id"],
            "{path}"
        );
    }
    let lookup = app
        .get_json(&token, "/api/0/organizations/default/shortids/default-1/")
        .await
        .expect(200);
    assert_eq!(lookup["groupId"], by_id["id"]);
    assert_eq!(lookup["projectSlug"], "default");
    assert_eq!(lookup["group"]["shortId"], "DEFAULT-1");
    assert_eq!(app.get_json(&token, "/api/0/issues/DEFAULT-2/").await.status, 404);
    assert_eq!(app.get_json(&token, "/api/0/issues/999999/").await.status, 404);
    app.stop().await;
}

async fn issues_are_deleted_singly_and_in_bulk(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    five_issues(&app).await;
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let one = format!("/api/0/issues/{}/", all[0].id);
    assert_eq!(app.api(&token, Method::DELETE, &one, None).await.status, 202);
    assert_eq!(app.get_json(&token, &one).await.status, 404);
    let ids = format!("?id={}&id={}", all[1].id, all[2].id);
    let bulk = format!("/api/0/projects/default/default/issues/{ids}");
    assert_eq!(app.api(&token, Method::DELETE, &bulk, None).await.status, 204);
    assert_eq!(issues::list_issues(&app.db, app.project_id).await.unwrap().len(), 2);
    app.stop().await;
}

on_both_databases!(
    the_default_query_shows_unresolved_issues_and_an_empty_one_shows_all,
    search_filters_by_status_level_tags_user_and_text,
    cursors_walk_every_sort_forward_and_back_without_gaps,
    organization_lists_filter_projects_environments_and_time,
    one_issue_by_numeric_or_short_id,
    issues_are_deleted_singly_and_in_bulk,
    every_tag_the_event_api_shows_is_found_by_search,
);

//! Events through the web API: an issue's latest/oldest/by-id event with Sentry's `entries`, event lists
//! paged newest first, project events, event-id look-ups and tag facets. Both databases.

use crate::common;

use common::{corpus_envelopes, corpus_for, envelope, exception_event, gzip, new_event_id, Backend, TestApp};
use faultline::store::issues;
use serde_json::{json, Value};

async fn send_corpus(app: &TestApp) {
    for (_, body) in corpus_envelopes() {
        let response = app
            .client
            .post(app.url(&app.envelope_path()))
            .header("x-sentry-auth", app.auth_header())
            .header("content-encoding", "gzip")
            .body(gzip(&corpus_for(app, &body)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

fn exception_frames(event: &Value) -> Vec<Value> {
    let entries = event["entries"].as_array().expect("entries");
    let exception = entries
        .iter()
        .find(|e| e["type"] == "exception")
        .expect("an exception entry");
    exception["data"]["values"].as_array().unwrap().last().unwrap()["stacktrace"]["frames"]
        .as_array()
        .unwrap()
        .clone()
}

async fn the_latest_event_has_sentry_entries_with_camel_case_frames(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send_corpus(&app).await;
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let zero = listed
        .iter()
        .find(|i| i.title == "ZeroDivisionError: division by zero")
        .unwrap();
    let latest = app
        .get_json(&token, &format!("/api/0/issues/{}/events/latest/", zero.id))
        .await;
    assert_eq!(latest.content_type.as_deref(), Some("application/json"));
    let latest = latest.expect(200);
    assert_eq!(latest["groupID"], json!(zero.id.to_string()));
    assert_eq!(latest["eventID"], latest["id"]);
    assert_eq!(latest["title"], "ZeroDivisionError: division by zero");
    let frames = exception_frames(&latest);
    let crash = frames.last().unwrap();
    assert_eq!(crash["inApp"], true);
    assert!(crash["lineNo"].as_u64().unwrap() > 0);
    assert!(crash["absPath"].as_str().unwrap().ends_with(".py"));
    let context = crash["context"].as_array().unwrap();
    assert!(context.iter().any(|pair| pair[0] == crash["lineNo"]), "{context:?}");
    assert!(
        crash.get("lineno").is_none() && crash.get("in_app").is_none(),
        "no snake_case keys"
    );
    let tags = latest["tags"].as_array().unwrap();
    let keys: Vec<&str> = tags.iter().map(|t| t["key"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "tags sorted by key");
    assert!(keys.contains(&"level"));

    let oldest = app
        .get_json(&token, &format!("/api/0/issues/{}/events/oldest/", zero.id))
        .await
        .expect(200);
    assert!(oldest["dateCreated"].as_str().unwrap() <= latest["dateCreated"].as_str().unwrap());
    let by_id = format!(
        "/api/0/issues/{}/events/{}/",
        zero.id,
        oldest["eventID"].as_str().unwrap()
    );
    assert_eq!(
        app.get_json(&token, &by_id).await.expect(200)["eventID"],
        oldest["eventID"]
    );
    let other = listed.iter().find(|i| i.id != zero.id).unwrap();
    let elsewhere = format!(
        "/api/0/issues/{}/events/{}/",
        other.id,
        oldest["eventID"].as_str().unwrap()
    );
    assert_eq!(
        app.get_json(&token, &elsewhere).await.status,
        404,
        "the event belongs to another issue"
    );
    app.stop().await;
}

async fn event_lists_page_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let mut sent = Vec::new();
    for n in 0..5 {
        let id = new_event_id();
        let mut event = exception_event("E", "x", "m", "f", 1);
        event["timestamp"] = json!(1_700_000_000 + n);
        app.post_envelope(envelope(&id, &event)).await;
        sent.push(id);
    }
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let first = format!("/api/0/issues/{}/events/?limit=3", issue.id);
    let page = app.get_json(&token, &first).await;
    let (_, cursor, more) = page.link_entry("next");
    assert!(more);
    let page = page.expect(200);
    let ids: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&sent[4], &sent[3], &sent[2]]);
    let keys: Vec<&String> = page[0].as_object().unwrap().keys().collect();
    assert!(
        keys.iter().any(|k| *k == "event.type") && page[0].get("entries").is_none(),
        "simple form"
    );
    let next = app.get_json(&token, &format!("{first}&cursor={cursor}")).await;
    assert!(!next.link_entry("next").2);
    let next = next.expect(200);
    let ids: Vec<&str> = next
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [&sent[1], &sent[0]]);
    let full = app.get_json(&token, &format!("{first}&full=true")).await.expect(200);
    assert!(full[0]["entries"].is_array());

    let project = app
        .get_json(&token, "/api/0/projects/default/default/events/")
        .await
        .expect(200);
    assert_eq!(project.as_array().unwrap().len(), 5);
    assert!(project[0]["tags"].is_array() && project[0]["dateCreated"].is_string());
    let one = format!("/api/0/projects/default/default/events/{}/", sent[2]);
    assert_eq!(app.get_json(&token, &one).await.expect(200)["eventID"], json!(sent[2]));
    let lookup = format!("/api/0/organizations/default/eventids/{}/", sent[2]);
    let found = app.get_json(&token, &lookup).await.expect(200);
    assert_eq!(found["groupId"], json!(issue.id.to_string()));
    assert_eq!(found["projectSlug"], "default");
    assert_eq!(found["event"]["eventID"], json!(sent[2]));
    let missing = format!("/api/0/organizations/default/eventids/{}/", new_event_id());
    assert_eq!(app.get_json(&token, &missing).await.status, 404);
    app.stop().await;
}

async fn tag_facets_count_values_per_issue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for browser in ["Firefox", "Firefox", "Chrome"] {
        let mut event = exception_event("E", "x", "m", "f", 1);
        event["tags"] = json!({"browser": browser});
        app.post_envelope(envelope(&new_event_id(), &event)).await;
    }
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let tags = app
        .get_json(&token, &format!("/api/0/issues/{}/tags/", issue.id))
        .await
        .expect(200);
    let browser = tags.as_array().unwrap().iter().find(|t| t["key"] == "browser").unwrap();
    assert_eq!(browser["totalValues"], 3);
    assert_eq!(browser["uniqueValues"], 2);
    assert_eq!(browser["topValues"][0]["value"], "Firefox");
    assert_eq!(browser["topValues"][0]["count"], 2);
    let values = app
        .get_json(&token, &format!("/api/0/issues/{}/tags/browser/values/", issue.id))
        .await
        .expect(200);
    assert_eq!(values.as_array().unwrap().len(), 2);
    let one = app
        .get_json(&token, &format!("/api/0/issues/{}/tags/browser/", issue.id))
        .await
        .expect(200);
    assert_eq!(one["key"], "browser");
    assert_eq!(
        app.get_json(&token, &format!("/api/0/issues/{}/tags/nope/", issue.id))
            .await
            .status,
        404
    );
    app.stop().await;
}

on_both_databases!(
    the_latest_event_has_sentry_entries_with_camel_case_frames,
    event_lists_page_newest_first,
    tag_facets_count_values_per_issue,
);

//! Releases done right (issue 14): the commits `releases set-commits` sends are stored and shown, a ref to an
//! unknown repository is a 400 naming it, and a release's deploy count and first/last event are true.
//! Both databases.

use crate::common;

use common::api::{error_detail, json_body, Token};
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const RELEASES: &str = "/api/0/organizations/default/releases/";
const REPOS: &str = "/api/0/organizations/default/repos/";
const HOSTILE: &str = "<script>alert('x')</script>\"; DROP TABLE releases; --";

async fn new_release(app: &TestApp, token: &Token, version: &str) {
    let body = json!({"version": version, "projects": ["default"]});
    json_body(app.api(token, Method::POST, RELEASES, Some(body)).await, 201);
}

async fn put_release(app: &TestApp, token: &Token, version: &str, body: Value) -> common::api::ApiResponse {
    app.api(token, Method::PUT, &format!("{RELEASES}{version}/"), Some(body))
        .await
}

/// A commit as `sentry-cli releases set-commits --local` sends it.
fn cli_commit(sha: &str, author: &str, message: &str) -> Value {
    json!({
        "patch_set": [{"path": "src/cart.py", "type": "M"}],
        "repository": "acme/shop",
        "author_name": author,
        "author_email": format!("{}@example.com", author.to_lowercase()),
        "timestamp": "2026-03-01T10:00:00+02:00",
        "message": message,
        "id": sha,
    })
}

fn epoch_ms(value: &Value) -> i128 {
    let text = value.as_str().unwrap_or_else(|| panic!("a date, got {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap().unix_timestamp_nanos() / 1_000_000
}

async fn set_commits_stores_them_and_the_release_shows_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "2.0.0").await;
    let (newest, older) = ("a".repeat(40), "b".repeat(40));
    let body = json!({"commits": [
        cli_commit(&newest, "Ada", HOSTILE),
        cli_commit(&older, "Bob", "Fix the cart"),
    ]});
    let release = json_body(put_release(&app, &token, "2.0.0", body).await, 200);
    assert_eq!(release["commitCount"], 2);
    assert_eq!(release["lastCommit"]["id"], newest.as_str());
    assert_eq!(release["lastCommit"]["message"], HOSTILE, "stored as sent");
    assert_eq!(release["lastCommit"]["dateCreated"], "2026-03-01T08:00:00.000000Z");
    let authors = &release["authors"];
    assert_eq!(
        authors,
        &json!([{"name": "Ada", "email": "ada@example.com"}, {"name": "Bob", "email": "bob@example.com"}])
    );

    let listed = json_body(app.get_json(&token, &format!("{RELEASES}2.0.0/commits/")).await, 200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [newest.as_str(), older.as_str()], "in the order sent");
    assert_eq!(listed[1]["repository"]["name"], "acme/shop");
    assert_eq!(listed[1]["author"]["name"], "Bob");
    let project_scoped = "/api/0/projects/default/default/releases/2.0.0/commits/";
    assert_eq!(json_body(app.get_json(&token, project_scoped).await, 200), listed);

    let repos = json_body(app.get_json(&token, REPOS).await, 200);
    assert_eq!(repos.as_array().unwrap().len(), 1, "{repos}");
    assert_eq!(repos[0]["name"], "acme/shop", "set-commits made the repository known");
    assert!(
        repos[0]["provider"]["id"].is_string() && repos[0]["id"].is_string(),
        "{repos}"
    );
    assert!(repos[0]["dateCreated"].is_string(), "{repos}");

    let again = json!({"commits": [cli_commit(&"c".repeat(40), "Cy", "Release 2.0.0")]});
    let replaced = json_body(put_release(&app, &token, "2.0.0", again).await, 200);
    assert_eq!(replaced["commitCount"], 1, "setting commits again replaces the list");
    assert_eq!(replaced["authors"], json!([{"name": "Cy", "email": "cy@example.com"}]));
    app.stop().await;
}

async fn the_previous_release_with_commits_is_where_local_commits_start(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "1.0.0").await;
    let previous = |v: &str| format!("{RELEASES}{v}/previous-with-commits/");
    assert_eq!(
        json_body(app.get_json(&token, &previous("1.0.0")).await, 200),
        json!({})
    );
    let body = json!({"commits": [cli_commit(&"d".repeat(40), "Ada", "First")]});
    json_body(put_release(&app, &token, "1.0.0", body).await, 200);
    new_release(&app, &token, "1.1.0").await;
    let found = json_body(app.get_json(&token, &previous("1.1.0")).await, 200);
    assert_eq!(found["version"], "1.0.0");
    assert_eq!(found["lastCommit"]["id"], "d".repeat(40));
    app.stop().await;
}

async fn refs_to_an_unknown_repository_are_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "3.0.0").await;
    // What `sentry-cli releases set-commits 3.0.0 --commit acme/api@<sha>` sends.
    let refs = json!({"refs": [{"repository": "acme/api", "commit": "f00d", "previousCommit": null}]});
    let detail = error_detail(put_release(&app, &token, "3.0.0", refs.clone()).await, 400);
    assert!(detail.contains("Unknown repository 'acme/api'"), "{detail}");
    let release = json_body(app.get_json(&token, &format!("{RELEASES}3.0.0/")).await, 200);
    assert_eq!(release["commitCount"], 0, "nothing stored");

    let added = json!({"name": "acme/api", "url": "https://github.com/acme/api", "provider": "integrations:github"});
    let repo = json_body(app.api(&token, Method::POST, REPOS, Some(added.clone())).await, 201);
    assert_eq!(
        (&repo["name"], &repo["provider"]["id"]),
        (&json!("acme/api"), &json!("integrations:github"))
    );
    json_body(app.api(&token, Method::POST, REPOS, Some(added)).await, 200);
    error_detail(
        app.api(&token, Method::POST, REPOS, Some(json!({"name": " "}))).await,
        400,
    );

    let release = json_body(put_release(&app, &token, "3.0.0", refs).await, 200);
    assert_eq!(
        (&release["commitCount"], &release["lastCommit"]["id"]),
        (&json!(1), &json!("f00d"))
    );
    let cleared = json_body(put_release(&app, &token, "3.0.0", json!({"refs": []})).await, 200);
    assert_eq!(cleared["commitCount"], 0, "`set-commits --clear` sends empty refs");
    app.stop().await;
}

async fn bad_commit_lists_are_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "4.0.0").await;
    let mut without_id = cli_commit("abc", "Ada", "ok");
    without_id.as_object_mut().unwrap().remove("id");
    let body = json!({"commits": [cli_commit("abc", "Ada", "ok"), without_id]});
    let detail = error_detail(put_release(&app, &token, "4.0.0", body).await, 400);
    assert_eq!(detail, "commits[1]: a commit needs an id (its SHA)");

    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"id": format!("{i:x}"), "repository": "r"}))
        .collect();
    let detail = error_detail(put_release(&app, &token, "4.0.0", json!({"commits": many})).await, 400);
    assert!(detail.contains("10001 commits is too many"), "{detail}");

    let mut bad_date = cli_commit("abc", "Ada", "ok");
    bad_date["timestamp"] = json!("yesterday");
    let detail = error_detail(
        put_release(&app, &token, "4.0.0", json!({"commits": [bad_date]})).await,
        400,
    );
    assert!(detail.contains("timestamp"), "{detail}");
    let release = json_body(app.get_json(&token, &format!("{RELEASES}4.0.0/")).await, 200);
    assert_eq!(release["commitCount"], 0, "a refused list stores nothing");
    assert_eq!(json_body(app.get_json(&token, REPOS).await, 200), json!([]));
    app.stop().await;
}

async fn deploy_count_counts_every_deploy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "5.0.0").await;
    let deploys = format!("{RELEASES}5.0.0/deploys/");
    for environment in ["staging", "production"] {
        let body = json!({"environment": environment});
        json_body(app.api(&token, Method::POST, &deploys, Some(body)).await, 201);
    }
    let release = json_body(app.get_json(&token, &format!("{RELEASES}5.0.0/")).await, 200);
    assert_eq!(release["deployCount"], 2);
    assert_eq!(release["lastDeploy"]["environment"], "production");
    app.stop().await;
}

async fn first_and_last_event_are_the_release_events_times(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    new_release(&app, &token, "6.0.0").await;
    let release = json_body(app.get_json(&token, &format!("{RELEASES}6.0.0/")).await, 200);
    assert_eq!(
        (&release["firstEvent"], &release["lastEvent"]),
        (&Value::Null, &Value::Null)
    );

    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (earlier, later) = (now - 600, now - 60);
    for (at, function) in [(later, "checkout"), (earlier, "add_item")] {
        let mut event = exception_event("KeyError", "'sku'", "shop.cart", function, 3);
        event["release"] = json!("6.0.0");
        event["timestamp"] = json!(at);
        let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
        assert_eq!(response.status(), 200);
    }
    let release = json_body(app.get_json(&token, &format!("{RELEASES}6.0.0/")).await, 200);
    assert_eq!(
        epoch_ms(&release["firstEvent"]),
        i128::from(earlier) * 1000,
        "{release}"
    );
    assert_eq!(epoch_ms(&release["lastEvent"]), i128::from(later) * 1000, "{release}");
    app.stop().await;
}

on_both_databases!(
    set_commits_stores_them_and_the_release_shows_them,
    the_previous_release_with_commits_is_where_local_commits_start,
    refs_to_an_unknown_repository_are_refused_by_name,
    bad_commit_lists_are_refused_with_a_sentence,
    deploy_count_counts_every_deploy,
    first_and_last_event_are_the_release_events_times,
);

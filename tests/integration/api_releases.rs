//! Releases and deploys through the web API, organization- and project-scoped, as sentry-cli 2.x and 3.x
//! call them (protocol §11.2, vector 29): creation is an upsert, dates carry a zone, unknown versions are
//! 404, scopes and organizations are enforced. Both databases.

use crate::common;

use common::api::{error_detail, json_body, ApiResponse, Token, ALL_SCOPES};
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ORG_RELEASES: &str = "/api/0/organizations/default/releases/";
const PROJECT_RELEASES: &str = "/api/0/projects/default/default/releases/";

/// Parses an RFC 3339 date with a `Z` zone (what sentry-cli requires of every date it reads).
fn utc_date(value: &Value) -> OffsetDateTime {
    let text = value.as_str().unwrap_or_else(|| panic!("a date string, got {value}"));
    assert!(text.ends_with('Z'), "{text} is UTC with a Z");
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text} is RFC 3339: {e}"))
}

fn versions(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|r| r["version"].as_str().expect("a version"))
        .collect()
}

async fn create(app: &TestApp, token: &Token, base: &str, body: Value) -> ApiResponse {
    app.api(token, Method::POST, base, Some(body)).await
}

async fn create_is_an_upsert_answering_201_then_208(app: &TestApp, token: &Token, base: &str, version: &str) {
    let body = json!({"version": version, "projects": ["default"]});
    let created = json_body(create(app, token, base, body).await, 201);
    assert_eq!(created["version"], version);
    utc_date(&created["dateCreated"]);
    assert_eq!(
        created["newGroups"].as_u64(),
        Some(0),
        "newGroups is a non-negative integer"
    );
    let projects = created["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 1, "{created}");
    assert_eq!(
        (&projects[0]["slug"], &projects[0]["name"]),
        (&json!("default"), &json!("Default"))
    );
    assert_eq!(created["dateReleased"], Value::Null);
    assert_eq!(created["lastCommit"], Value::Null);

    let url = format!("https://example.com/releases/{version}");
    let again = json!({"version": version, "projects": ["default"], "url": url});
    let merged = json_body(create(app, token, base, again).await, 208);
    assert_eq!(merged["url"], url, "the second POST merges its fields");
    assert_eq!(
        merged["dateCreated"], created["dateCreated"],
        "the release is not recreated"
    );

    let third = json_body(
        create(app, token, base, json!({"version": version, "projects": ["default"]})).await,
        208,
    );
    assert_eq!(third["url"], url, "a POST without url keeps the stored one");
    let detail = json_body(app.get_json(token, &format!("{base}{version}/")).await, 200);
    assert_eq!(detail["url"], url);
}

async fn creating_an_existing_release_merges_into_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    create_is_an_upsert_answering_201_then_208(&app, &token, ORG_RELEASES, "1.2.0").await;
    create_is_an_upsert_answering_201_then_208(&app, &token, PROJECT_RELEASES, "1.3.0").await;
    let listed = json_body(app.get_json(&token, ORG_RELEASES).await, 200);
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "re-posting never duplicates: {listed}"
    );
    app.stop().await;
}

async fn a_release_needs_a_valid_version_and_a_known_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for bad_version in [json!(""), json!("a/b"), json!("..")] {
        let body = json!({"version": bad_version, "projects": ["default"]});
        error_detail(create(&app, &token, ORG_RELEASES, body).await, 400);
    }
    let unknown_project = json!({"version": "1.0.0", "projects": ["nope"]});
    error_detail(create(&app, &token, ORG_RELEASES, unknown_project).await, 400);
    let no_project = json!({"version": "1.0.0"});
    error_detail(create(&app, &token, ORG_RELEASES, no_project).await, 400);
    let from_path = json_body(
        create(&app, &token, PROJECT_RELEASES, json!({"version": "1.0.0"})).await,
        201,
    );
    assert_eq!(
        from_path["projects"][0]["slug"], "default",
        "the project-scoped route names the project"
    );
    app.stop().await;
}

/// A body sentry-cli would never send: wrong field type, cut-off JSON, or no JSON media type.
async fn a_malformed_body_is_a_json_bad_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let cases = [
        ("application/json", "{\"version\": 5, \"projects\": [\"default\"]}"),
        ("application/json", "{\"version\": \"1.0"),
        ("text/plain", "{\"version\": \"1.0\", \"projects\": [\"default\"]}"),
    ];
    let mut answers = Vec::new();
    for (media_type, body) in cases {
        let request = app.client.post(app.url(ORG_RELEASES)).bearer_auth(&token.0);
        let response = request
            .header("content-type", media_type)
            .body(body)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let detail = serde_json::from_str::<Value>(&response.text().await.unwrap())
            .ok()
            .map(|b| b["detail"].clone());
        answers.push((status, content_type, detail.is_some_and(|d| d.is_string())));
    }
    // Sentry (Django REST framework) answers 400 to unreadable JSON and 415 to another media type.
    let json_error = |status: u16| (status, Some("application/json".to_owned()), true);
    let expected = [json_error(400), json_error(400), json_error(415)];
    assert_eq!(answers, expected, "(status, content type, has a string detail)");
    app.stop().await;
}

async fn versions_with_plus_and_at_signs_round_trip_through_encoded_paths(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let version = "my-app@1.0.0+build.7";
    let body = json!({"version": version, "projects": [app.project_id]});
    json_body(create(&app, &token, PROJECT_RELEASES, body).await, 201);
    // sentry-cli percent-encodes `+` and keeps `@`; a `+` must not turn into a space.
    for base in [ORG_RELEASES, PROJECT_RELEASES] {
        let shown = json_body(
            app.get_json(&token, &format!("{base}my-app@1.0.0%2Bbuild.7/")).await,
            200,
        );
        assert_eq!(shown["version"], version);
    }
    let finalize = json!({"dateReleased": "2026-01-01T00:00:00Z"});
    let path = format!("{PROJECT_RELEASES}my-app@1.0.0%2Bbuild.7/");
    json_body(app.api(&token, Method::PUT, &path, Some(finalize)).await, 200);
    let deploys = format!("{ORG_RELEASES}my-app@1.0.0%2Bbuild.7/deploys/");
    let deploy = json!({"environment": "production"});
    json_body(app.api(&token, Method::POST, &deploys, Some(deploy)).await, 201);
    app.stop().await;
}

async fn a_project_scoped_route_shows_only_that_projects_releases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    app.create_project(None, "web").await;
    json_body(
        create(
            &app,
            &token,
            ORG_RELEASES,
            json!({"version": "1.2.0", "projects": ["default"]}),
        )
        .await,
        201,
    );
    let elsewhere = "/api/0/projects/default/web/releases/1.2.0/";
    let finalize = json!({"dateReleased": "2026-01-01T00:00:00Z"});
    let statuses = [
        app.get_json(&token, elsewhere).await.status.as_u16(),
        app.api(&token, Method::PUT, elsewhere, Some(finalize))
            .await
            .status
            .as_u16(),
        app.api(&token, Method::DELETE, elsewhere, None).await.status.as_u16(),
    ];
    assert_eq!(
        statuses,
        [404, 404, 404],
        "GET, PUT, DELETE of a release outside the project"
    );
    json_body(app.get_json(&token, &format!("{ORG_RELEASES}1.2.0/")).await, 200);
    app.stop().await;
}

async fn finalizing_with_a_nanosecond_date_shows_it_as_released(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let released = OffsetDateTime::parse("2026-11-21T13:47:06.854639445Z", &Rfc3339).unwrap();
    for (base, version) in [(ORG_RELEASES, "1.2.0"), (PROJECT_RELEASES, "1.3.0")] {
        json_body(
            create(&app, &token, base, json!({"version": version, "projects": ["default"]})).await,
            201,
        );
        // sentry-cli's finalize body: nanosecond precision, and `projects` on the project-scoped form.
        let body = json!({"projects": ["default"], "dateReleased": "2026-11-21T13:47:06.854639445Z"});
        let path = format!("{base}{version}/");
        let finalized = json_body(app.api(&token, Method::PUT, &path, Some(body)).await, 200);
        assert_eq!(finalized["version"], version);
        let shown = utc_date(&finalized["dateReleased"]);
        assert!(
            (shown - released).abs() < time::Duration::milliseconds(1),
            "{shown} vs {released}"
        );
        let detail = json_body(app.get_json(&token, &path).await, 200);
        assert_eq!(detail["dateReleased"], finalized["dateReleased"]);
    }
    let bad_date = json!({"dateReleased": "next tuesday"});
    let path = format!("{ORG_RELEASES}1.2.0/");
    error_detail(app.api(&token, Method::PUT, &path, Some(bad_date)).await, 400);
    app.stop().await;
}

async fn an_unknown_release_is_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for base in [ORG_RELEASES, PROJECT_RELEASES] {
        let path = format!("{base}nope/");
        error_detail(app.get_json(&token, &path).await, 404);
        let finalize = json!({"dateReleased": "2026-01-01T00:00:00Z"});
        error_detail(app.api(&token, Method::PUT, &path, Some(finalize)).await, 404);
        error_detail(app.api(&token, Method::DELETE, &path, None).await, 404);
    }
    let unknown_project = "/api/0/projects/default/nope/releases/";
    error_detail(app.get_json(&token, unknown_project).await, 404);
    app.stop().await;
}

async fn releases_are_listed_newest_first_and_per_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    app.create_project(None, "web").await;
    // Creation order is the reverse of version order, so only a date ordering passes.
    for (version, project) in [("2.0.0", "default"), ("1.5.0", "web"), ("1.0.0", "default")] {
        json_body(
            create(
                &app,
                &token,
                ORG_RELEASES,
                json!({"version": version, "projects": [project]}),
            )
            .await,
            201,
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let everything = json_body(app.get_json(&token, ORG_RELEASES).await, 200);
    assert_eq!(versions(&everything), ["1.0.0", "1.5.0", "2.0.0"]);
    let default = json_body(app.get_json(&token, PROJECT_RELEASES).await, 200);
    assert_eq!(versions(&default), ["1.0.0", "2.0.0"]);
    let web = json_body(app.get_json(&token, "/api/0/projects/default/web/releases/").await, 200);
    assert_eq!(versions(&web), ["1.5.0"]);
    assert_eq!(web[0]["projects"][0]["slug"], "web");
    app.stop().await;
}

async fn a_deleted_release_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for (base, version) in [(ORG_RELEASES, "1.2.0"), (PROJECT_RELEASES, "1.3.0")] {
        json_body(
            create(&app, &token, base, json!({"version": version, "projects": ["default"]})).await,
            201,
        );
        let path = format!("{base}{version}/");
        let deleted = app.api(&token, Method::DELETE, &path, None).await;
        assert_eq!(deleted.expect(204), Value::Null);
        error_detail(app.get_json(&token, &path).await, 404);
    }
    let listed = json_body(app.get_json(&token, ORG_RELEASES).await, 200);
    assert_eq!(listed, json!([]));
    app.stop().await;
}

async fn a_release_first_seen_by_ingest_counts_its_new_issues(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let mut event = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 3);
    event["release"] = json!("shop@3.1.4");
    let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
    assert_eq!(response.status(), 200);
    let listed = json_body(app.get_json(&token, ORG_RELEASES).await, 200);
    assert_eq!(versions(&listed), ["shop@3.1.4"]);
    let release = &listed[0];
    assert_eq!(release["newGroups"], 1);
    assert_eq!(release["projects"][0]["slug"], "default");
    utc_date(&release["dateCreated"]);
    utc_date(&release["lastEvent"]);
    // sentry-cli's `releases new` for a version ingest already saw: it exists, so 208 and the same release.
    let body = json!({"version": "shop@3.1.4", "projects": ["default"], "url": "https://example.com/3.1.4"});
    let merged = json_body(create(&app, &token, PROJECT_RELEASES, body).await, 208);
    assert_eq!(merged["dateCreated"], release["dateCreated"]);
    assert_eq!(
        (&merged["newGroups"], &merged["url"]),
        (&json!(1), &json!("https://example.com/3.1.4"))
    );
    app.stop().await;
}

async fn deploys_need_an_environment_and_always_have_a_finish_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    json_body(
        create(
            &app,
            &token,
            ORG_RELEASES,
            json!({"version": "1.2.0", "projects": ["default"]}),
        )
        .await,
        201,
    );
    let deploys = format!("{ORG_RELEASES}1.2.0/deploys/");
    let without_environment = json!({"name": "canary"});
    error_detail(
        app.api(&token, Method::POST, &deploys, Some(without_environment)).await,
        400,
    );

    let unfinished = json!({"environment": "staging", "name": "canary", "url": null, "dateStarted": null});
    let created = json_body(app.api(&token, Method::POST, &deploys, Some(unfinished)).await, 201);
    assert_eq!(
        (&created["environment"], &created["name"]),
        (&json!("staging"), &json!("canary"))
    );
    utc_date(&created["dateFinished"]);
    // sentry-cli's `deploys new -e production` body: every key present, nanosecond dateFinished.
    let from_cli = json!({"environment": "production", "name": null, "url": null, "dateStarted": null,
                          "dateFinished": "2099-01-01T00:00:00.123456789Z"});
    json_body(app.api(&token, Method::POST, &deploys, Some(from_cli)).await, 201);

    let listed = json_body(app.get_json(&token, &deploys).await, 200);
    let listed = listed.as_array().expect("a deploy list");
    assert_eq!(listed.len(), 2);
    let environments: Vec<&Value> = listed.iter().map(|d| &d["environment"]).collect();
    assert_eq!(environments, [&json!("production"), &json!("staging")], "newest first");
    for deploy in listed {
        utc_date(&deploy["dateFinished"]);
    }

    let unknown = format!("{ORG_RELEASES}nope/deploys/");
    error_detail(app.get_json(&token, &unknown).await, 404);
    let body = json!({"environment": "production"});
    error_detail(app.api(&token, Method::POST, &unknown, Some(body)).await, 404);
    app.stop().await;
}

async fn a_token_without_project_releases_cannot_change_releases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    json_body(
        create(
            &app,
            &owner,
            ORG_RELEASES,
            json!({"version": "1.2.0", "projects": ["default"]}),
        )
        .await,
        201,
    );
    let reader = app
        .token(
            "reader@example.com",
            None,
            Role::Owner,
            "org:read project:read event:read",
        )
        .await;
    let body = json!({"version": "1.3.0", "projects": ["default"]});
    error_detail(create(&app, &reader, ORG_RELEASES, body.clone()).await, 403);
    error_detail(create(&app, &reader, PROJECT_RELEASES, body).await, 403);
    let finalize = json!({"dateReleased": "2026-01-01T00:00:00Z"});
    let path = format!("{ORG_RELEASES}1.2.0/");
    error_detail(app.api(&reader, Method::PUT, &path, Some(finalize)).await, 403);
    error_detail(app.api(&reader, Method::DELETE, &path, None).await, 403);
    let deploy = json!({"environment": "production"});
    error_detail(
        app.api(&reader, Method::POST, &format!("{path}deploys/"), Some(deploy))
            .await,
        403,
    );
    let listed = json_body(app.get_json(&reader, ORG_RELEASES).await, 200);
    assert_eq!(versions(&listed), ["1.2.0"], "reading needs only project:read");
    app.stop().await;
}

async fn another_organizations_releases_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    json_body(
        create(
            &app,
            &owner,
            ORG_RELEASES,
            json!({"version": "1.2.0", "projects": ["default"]}),
        )
        .await,
        201,
    );
    faultline::store::organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let stranger = app
        .token("stranger@acme.test", Some("acme"), Role::Owner, ALL_SCOPES)
        .await;
    assert_eq!(
        json_body(
            app.get_json(&stranger, "/api/0/organizations/acme/releases/").await,
            200
        ),
        json!([])
    );
    error_detail(app.get_json(&stranger, ORG_RELEASES).await, 404);
    error_detail(app.get_json(&stranger, PROJECT_RELEASES).await, 404);
    error_detail(app.get_json(&stranger, &format!("{ORG_RELEASES}1.2.0/")).await, 404);
    let body = json!({"version": "6.6.6", "projects": ["default"]});
    error_detail(create(&app, &stranger, ORG_RELEASES, body).await, 404);
    app.stop().await;
}

async fn an_invalid_token_is_unauthorized(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let forged = Token("sntryu_".to_owned() + &"0".repeat(64));
    error_detail(app.get_json(&forged, ORG_RELEASES).await, 401);
    app.stop().await;
}

async fn commits_start_empty_and_release_files_need_a_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    json_body(
        create(
            &app,
            &token,
            ORG_RELEASES,
            json!({"version": "1.2.0", "projects": ["default"]}),
        )
        .await,
        201,
    );
    for path in [
        format!("{ORG_RELEASES}1.2.0/commits/"),
        format!("{PROJECT_RELEASES}1.2.0/commits/"),
    ] {
        assert_eq!(json_body(app.get_json(&token, &path).await, 200), json!([]), "{path}");
    }
    let chunk_upload = "/api/0/organizations/default/chunk-upload/";
    let options = json_body(app.get_json(&token, chunk_upload).await, 200);
    assert_eq!(
        options["url"],
        format!("http://{}{chunk_upload}", app.addr),
        "{options}"
    );
    let files = format!("{ORG_RELEASES}1.2.0/files/");
    let detail = error_detail(app.api(&token, Method::POST, &files, Some(json!({}))).await, 400);
    assert!(detail.contains("multipart"), "{detail}");
    app.stop().await;
}

on_both_databases!(
    creating_an_existing_release_merges_into_it,
    a_release_needs_a_valid_version_and_a_known_project,
    versions_with_plus_and_at_signs_round_trip_through_encoded_paths,
    finalizing_with_a_nanosecond_date_shows_it_as_released,
    an_unknown_release_is_not_found,
    releases_are_listed_newest_first_and_per_project,
    a_deleted_release_is_gone,
    a_release_first_seen_by_ingest_counts_its_new_issues,
    deploys_need_an_environment_and_always_have_a_finish_date,
    a_token_without_project_releases_cannot_change_releases,
    another_organizations_releases_are_not_found,
    an_invalid_token_is_unauthorized,
    commits_start_empty_and_release_files_need_a_form,
    a_malformed_body_is_a_json_bad_request,
    a_project_scoped_route_shows_only_that_projects_releases,
);

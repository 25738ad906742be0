//! Projects and their client keys through the web API (protocol §11.2): lists and details as tools read
//! them, creation that yields a working DSN, keys that ingest honours, roles and organizations enforced.
//! Both databases.

use crate::common;
use faultline::domain::ProjectId;

use common::api::{error_detail, json_body, Token, ALL_SCOPES};
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::issues;
use reqwest::Method;
use serde_json::{json, Value};

const CREATE_PROJECT: &str = "/api/0/teams/default/default/projects/";
const DEFAULT_KEYS: &str = "/api/0/projects/default/default/keys/";

fn slugs(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|p| p["slug"].as_str().expect("a slug"))
        .collect()
}

/// Sends one event with a DSN's credentials (key and project id) and returns the ingest status.
async fn ingest_with(app: &TestApp, public_key: &str, project_id: &str, environment: &str) -> u16 {
    let mut event = exception_event("ValueError", "bad", "shop.views", "checkout", 12);
    event["environment"] = json!(environment);
    let auth = format!("Sentry sentry_version=7, sentry_key={public_key}, sentry_client=test/1.0");
    let response = app
        .client
        .post(app.url(&format!("/api/{project_id}/envelope/")))
        .header("x-sentry-auth", auth)
        .body(envelope(&new_event_id(), &event))
        .send()
        .await
        .expect("request sent");
    response.status().as_u16()
}

/// The key and project id of a DSN `scheme://<key>@host/<project id>`.
fn dsn_parts(dsn: &Value) -> (String, String) {
    let dsn = url::Url::parse(dsn.as_str().expect("a DSN string")).expect("the DSN is a URL");
    (dsn.username().to_owned(), dsn.path().trim_matches('/').to_owned())
}

async fn acme_with_a_project(app: &TestApp) -> Token {
    faultline::store::organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    app.create_project(Some("acme"), "web").await;
    app.token("ops@acme.test", Some("acme"), Role::Owner, ALL_SCOPES).await
}

async fn projects_are_listed_within_the_callers_organizations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let acme = acme_with_a_project(&app).await;
    for path in ["/api/0/projects/", "/api/0/organizations/default/projects/"] {
        let listed = json_body(app.get_json(&owner, path).await, 200);
        assert_eq!(slugs(&listed), ["default"], "{path}");
        assert_eq!(listed[0]["id"], app.project_id.to_string(), "ids are strings");
        assert_eq!(listed[0]["organization"]["slug"], "default");
    }
    let theirs = json_body(app.get_json(&acme, "/api/0/projects/").await, 200);
    assert_eq!(slugs(&theirs), ["web"]);
    assert_eq!(theirs[0]["organization"]["slug"], "acme");
    app.stop().await;
}

async fn project_detail_shows_its_team_and_the_environments_of_its_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let project_id = app.project_id.to_string();
    for environment in ["staging", "production"] {
        assert_eq!(ingest_with(&app, &app.public_key, &project_id, environment).await, 200);
    }
    let detail = json_body(app.get_json(&owner, "/api/0/projects/default/default/").await, 200);
    assert_eq!(detail["id"], project_id);
    assert_eq!(
        (&detail["slug"], &detail["name"]),
        (&json!("default"), &json!("Default"))
    );
    assert_eq!(detail["team"]["slug"], "default");
    assert_eq!(slugs(&detail["teams"]), ["default"]);
    assert_eq!(detail["environments"], json!(["production", "staging"]));
    error_detail(app.get_json(&owner, "/api/0/projects/default/nope/").await, 404);
    app.stop().await;
}

async fn a_project_created_through_the_api_accepts_events_with_its_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let body = json!({"name": "Web Shop", "slug": "web-shop", "platform": "python"});
    let created = json_body(
        app.api(&owner, Method::POST, CREATE_PROJECT, Some(body.clone())).await,
        201,
    );
    assert_eq!(
        (&created["slug"], &created["name"]),
        (&json!("web-shop"), &json!("Web Shop"))
    );
    assert_eq!(created["platform"], "python");
    assert_eq!(created["team"]["slug"], "default");
    let project_id: ProjectId = created["id"].as_str().expect("a string id").parse().expect("numeric");

    let keys = json_body(
        app.get_json(&owner, "/api/0/projects/default/web-shop/keys/").await,
        200,
    );
    let keys = keys.as_array().expect("a key list");
    assert_eq!(keys.len(), 1, "a new project gets one key");
    let (public_key, dsn_project) = dsn_parts(&keys[0]["dsn"]["public"]);
    assert_eq!(dsn_project, project_id.to_string());
    assert_eq!(ingest_with(&app, &public_key, &dsn_project, "production").await, 200);
    assert_eq!(issues::list_issues(&app.db, project_id).await.unwrap().len(), 1);
    assert!(issues::list_issues(&app.db, app.project_id).await.unwrap().is_empty());

    let duplicate = app.api(&owner, Method::POST, CREATE_PROJECT, Some(body)).await;
    error_detail(duplicate, 409);
    let listed = json_body(
        app.get_json(&owner, "/api/0/organizations/default/projects/").await,
        200,
    );
    assert_eq!(slugs(&listed), ["default", "web-shop"]);
    let unknown_team = app.api(
        &owner,
        Method::POST,
        "/api/0/teams/default/nope/projects/",
        Some(json!({"name": "x"})),
    );
    error_detail(unknown_team.await, 404);
    app.stop().await;
}

async fn a_project_created_without_a_slug_gets_one_from_its_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let body = json!({"name": "Web Shop", "platform": "python"});
    let created = json_body(app.api(&owner, Method::POST, CREATE_PROJECT, Some(body)).await, 201);
    assert_eq!(
        (&created["slug"], &created["name"]),
        (&json!("web-shop"), &json!("Web Shop"))
    );
    let bad_slug = json!({"name": "Web", "slug": "no spaces allowed"});
    error_detail(app.api(&owner, Method::POST, CREATE_PROJECT, Some(bad_slug)).await, 400);
    app.stop().await;
}

async fn the_listed_dsn_is_the_one_ingest_accepts(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.public_url = url::Url::parse("https://errors.example.com/").unwrap();
    })
    .await;
    let owner = app.owner_token().await;
    let keys = json_body(app.get_json(&owner, DEFAULT_KEYS).await, 200);
    let key = &keys[0];
    let expected = format!("https://{}@errors.example.com/{}", app.public_key, app.project_id);
    assert_eq!(key["dsn"]["public"], expected);
    assert_eq!(
        (&key["public"], &key["isActive"]),
        (&json!(app.public_key), &json!(true))
    );
    let (public_key, project_id) = dsn_parts(&key["dsn"]["public"]);
    assert_eq!(ingest_with(&app, &public_key, &project_id, "production").await, 200);
    app.stop().await;
}

async fn a_disabled_or_deleted_key_is_refused_by_ingest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let project_id = app.project_id.to_string();
    let created = json_body(
        app.api(&owner, Method::POST, DEFAULT_KEYS, Some(json!({"name": "ci"})))
            .await,
        201,
    );
    assert_eq!((&created["name"], &created["isActive"]), (&json!("ci"), &json!(true)));
    let ci_key = created["public"].as_str().expect("a public key").to_owned();
    assert_ne!(ci_key, app.public_key);
    let key_path = format!("{DEFAULT_KEYS}{ci_key}/");
    let disabled = app
        .api(&owner, Method::PUT, &key_path, Some(json!({"isActive": false})))
        .await;
    assert_eq!(json_body(disabled, 200)["isActive"], false);
    assert_eq!(ingest_with(&app, &ci_key, &project_id, "production").await, 403);
    assert_eq!(ingest_with(&app, &app.public_key, &project_id, "production").await, 200);

    let doomed = json_body(app.api(&owner, Method::POST, DEFAULT_KEYS, None).await, 201);
    let doomed_key = doomed["public"].as_str().expect("a public key").to_owned();
    let deleted = app
        .api(&owner, Method::DELETE, &format!("{DEFAULT_KEYS}{doomed_key}/"), None)
        .await;
    assert_eq!(deleted.expect(204), Value::Null);
    error_detail(app.get_json(&owner, &format!("{DEFAULT_KEYS}{doomed_key}/")).await, 404);
    let listed = json_body(app.get_json(&owner, DEFAULT_KEYS).await, 200);
    let listed: Vec<&Value> = listed.as_array().unwrap().iter().map(|k| &k["public"]).collect();
    assert_eq!(listed.len(), 2, "the default and the disabled key remain");
    assert!(!listed.contains(&&json!(doomed_key)));
    assert_eq!(ingest_with(&app, &doomed_key, &project_id, "production").await, 403);
    app.stop().await;
}

async fn members_cannot_create_projects_or_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let member = app.token("dev@example.com", None, Role::Member, ALL_SCOPES).await;
    let body = json!({"name": "Web", "slug": "web", "platform": "python"});
    error_detail(app.api(&member, Method::POST, CREATE_PROJECT, Some(body)).await, 403);
    error_detail(
        app.api(&member, Method::POST, DEFAULT_KEYS, Some(json!({"name": "x"})))
            .await,
        403,
    );
    let listed = json_body(
        app.get_json(&member, "/api/0/organizations/default/projects/").await,
        200,
    );
    assert_eq!(slugs(&listed), ["default"], "members still read every project");
    json_body(app.get_json(&member, DEFAULT_KEYS).await, 200);
    app.stop().await;
}

async fn another_organizations_projects_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let acme = acme_with_a_project(&app).await;
    error_detail(app.get_json(&acme, "/api/0/organizations/default/projects/").await, 404);
    error_detail(app.get_json(&acme, "/api/0/projects/default/default/").await, 404);
    error_detail(app.get_json(&acme, DEFAULT_KEYS).await, 404);
    let body = json!({"name": "Intruder"});
    error_detail(app.api(&acme, Method::POST, CREATE_PROJECT, Some(body)).await, 404);
    error_detail(app.get_json(&owner, "/api/0/projects/acme/web/").await, 404);
    error_detail(app.get_json(&owner, "/api/0/organizations/acme/projects/").await, 404);
    json_body(app.get_json(&acme, "/api/0/projects/acme/web/").await, 200);
    let same_slug = json!({"name": "Web", "slug": "web"});
    let ours = json_body(
        app.api(&owner, Method::POST, CREATE_PROJECT, Some(same_slug)).await,
        201,
    );
    assert_eq!(
        ours["organization"]["slug"], "default",
        "slugs are unique per organization only"
    );
    app.stop().await;
}

on_both_databases!(
    projects_are_listed_within_the_callers_organizations,
    project_detail_shows_its_team_and_the_environments_of_its_events,
    a_project_created_through_the_api_accepts_events_with_its_key,
    the_listed_dsn_is_the_one_ingest_accepts,
    a_disabled_or_deleted_key_is_refused_by_ingest,
    members_cannot_create_projects_or_keys,
    another_organizations_projects_are_not_found,
    a_project_created_without_a_slug_gets_one_from_its_name,
);

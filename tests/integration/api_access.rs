//! Who may see what through the web API: 401 without a valid token, 403 for a missing scope, and 404 for
//! anything in another organization, by numeric id, short id and event id alike. Both databases.

use crate::common;
use faultline::domain::IssueId;

use common::api::{Token, ALL_SCOPES};
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::{accounts, issues, organizations};
use reqwest::Method;
use serde_json::json;

/// Organization `acme` with project `web`, one issue and its event; a token of an acme owner.
struct OtherOrganization {
    token: Token,
    issue_id: IssueId,
    short_id: String,
    event_id: String,
}

async fn other_organization(app: &TestApp) -> OtherOrganization {
    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let dsn = app.create_project(Some("acme"), "web").await;
    let event_id = new_event_id();
    let event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
    let response = app
        .client
        .post(dsn.envelope_url())
        .header(
            "x-sentry-auth",
            format!("Sentry sentry_version=7, sentry_key={}", dsn.public_key.as_str()),
        )
        .body(envelope(&event_id, &event))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let acme_project = faultline::store::projects::find_organization_project(
        &app.db,
        organizations::find_organization(&app.db, "acme")
            .await
            .unwrap()
            .unwrap()
            .id,
        "web",
    )
    .await
    .unwrap()
    .unwrap();
    let issue = issues::list_issues(&app.db, acme_project.id).await.unwrap().remove(0);
    OtherOrganization {
        token: app.token("ceo@acme.test", Some("acme"), Role::Owner, ALL_SCOPES).await,
        issue_id: issue.id,
        short_id: format!("WEB-{}", issue.short_id_number),
        event_id,
    }
}

async fn requests_without_a_valid_token_get_401_with_a_detail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let missing = app.client.get(app.url("/api/0/")).send().await.unwrap();
    let missing = common::api::ApiResponse::read(missing).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.content_type.as_deref(), Some("application/json"));
    assert!(missing.body["detail"].as_str().unwrap().contains("credentials"));
    let wrong = app.get_json(&Token(format!("{}x", token.0)), "/api/0/").await;
    assert_eq!(wrong.status, 401);
    let basic = app
        .client
        .get(app.url("/api/0/organizations/"))
        .header("authorization", format!("Basic {}", token.0))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);

    let me = app.get_json(&token, "/api/0/").await.expect(200);
    assert_eq!(me["user"]["email"], "owner@example.com");
    assert_eq!(me["user"]["id"], json!(me["user"]["id"].as_str().unwrap()));
    assert_eq!(me["auth"]["scopes"].as_array().unwrap().len(), 7);
    app.stop().await;
}

async fn a_revoked_token_stops_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    app.get_json(&token, "/api/0/organizations/").await.expect(200);
    let user = accounts::find_user_by_email(&app.db, "owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let listed = accounts::list_tokens(&app.db, user.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].token_hint, token.0[token.0.len() - 4..]);
    accounts::revoke_token(&app.db, listed[0].id).await.unwrap();
    assert_eq!(app.get_json(&token, "/api/0/organizations/").await.status, 401);
    assert!(accounts::revoke_token(&app.db, listed[0].id).await.is_err());
    app.stop().await;
}

async fn a_missing_scope_is_403_and_the_role_caps_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_envelope(envelope(&new_event_id(), &exception_event("E", "x", "m", "f", 1)))
        .await;
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let path = format!("/api/0/issues/{}/", issue.id);

    let reader = app
        .token("reader@example.com", None, Role::Owner, "org:read event:read")
        .await;
    app.get_json(&reader, &path).await.expect(200);
    let refused = app
        .api(&reader, Method::PUT, &path, Some(json!({"status": "resolved"})))
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["detail"].as_str().unwrap().contains("event:write"));

    // A member's token carries event:admin, but the member role does not grant it.
    let member = app.token("member@example.com", None, Role::Member, ALL_SCOPES).await;
    app.api(&member, Method::PUT, &path, Some(json!({"status": "resolved"})))
        .await
        .expect(200);
    assert_eq!(app.api(&member, Method::DELETE, &path, None).await.status, 403);
    assert!(issues::get_issue(&app.db, issue.id).await.unwrap().is_some());
    app.stop().await;
}

async fn another_organizations_data_is_not_found_by_any_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = other_organization(&app).await;
    let outsider = app.owner_token().await;
    let hidden = [
        format!("/api/0/issues/{}/", acme.issue_id),
        format!("/api/0/issues/{}/", acme.short_id),
        format!("/api/0/organizations/acme/issues/{}/", acme.issue_id),
        format!("/api/0/organizations/default/issues/{}/", acme.issue_id),
        format!("/api/0/organizations/default/issues/{}/", acme.short_id),
        format!("/api/0/organizations/acme/shortids/{}/", acme.short_id),
        format!("/api/0/organizations/default/shortids/{}/", acme.short_id),
        format!("/api/0/organizations/acme/eventids/{}/", acme.event_id),
        format!("/api/0/organizations/default/eventids/{}/", acme.event_id),
        format!("/api/0/issues/{}/events/latest/", acme.issue_id),
        format!("/api/0/issues/{}/events/{}/", acme.issue_id, acme.event_id),
        format!("/api/0/issues/{}/events/", acme.issue_id),
        format!("/api/0/issues/{}/tags/", acme.issue_id),
        "/api/0/organizations/acme/".to_owned(),
        "/api/0/organizations/acme/issues/".to_owned(),
        "/api/0/projects/acme/web/".to_owned(),
        "/api/0/projects/acme/web/issues/".to_owned(),
        "/api/0/projects/acme/web/keys/".to_owned(),
        format!("/api/0/projects/acme/web/events/{}/", acme.event_id),
        "/api/0/organizations/acme/releases/".to_owned(),
    ];
    for path in &hidden {
        let response = app.get_json(&outsider, path).await;
        assert_eq!(response.status, 404, "{path}: {}", response.body);
        assert_eq!(
            response.body,
            json!({"detail": "The requested resource does not exist"}),
            "{path}"
        );
    }
    // Writes are refused the same way, and change nothing.
    let put = format!("/api/0/issues/{}/", acme.issue_id);
    assert_eq!(
        app.api(&outsider, Method::PUT, &put, Some(json!({"status": "resolved"})))
            .await
            .status,
        404
    );
    assert_eq!(app.api(&outsider, Method::DELETE, &put, None).await.status, 404);
    let bulk = format!("/api/0/organizations/default/issues/?id={}", acme.issue_id);
    let bulk = app
        .api(&outsider, Method::PUT, &bulk, Some(json!({"status": "resolved"})))
        .await;
    assert_eq!(bulk.status, 204, "an id outside the organization matches nothing");
    let untouched = issues::get_issue(&app.db, acme.issue_id).await.unwrap().unwrap();
    assert_eq!(untouched.state.status.as_str(), "unresolved");

    // The organization's own token sees all of it, and lists only its own organization.
    for path in &hidden[..3] {
        app.get_json(&acme.token, path).await.expect(200);
    }
    app.get_json(
        &acme.token,
        &format!("/api/0/organizations/acme/eventids/{}/", acme.event_id),
    )
    .await
    .expect(200);
    let listed = app.get_json(&acme.token, "/api/0/organizations/").await.expect(200);
    let slugs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    let projects = app.get_json(&acme.token, "/api/0/projects/").await.expect(200);
    assert_eq!(projects.as_array().unwrap().len(), 1);
    assert_eq!(projects[0]["slug"], "web");
    app.stop().await;
}

async fn unknown_api_paths_answer_json_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let response = app.get_json(&token, "/api/0/no/such/thing/").await;
    assert_eq!(response.status, 404);
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    app.stop().await;
}

async fn oversized_input_gets_a_clear_json_error_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let huge = json!({"version": "1.0", "projects": ["default"], "url": "x".repeat(3 * 1024 * 1024)});
    let response = app
        .api(
            &token,
            Method::POST,
            "/api/0/organizations/default/releases/",
            Some(huge),
        )
        .await;
    assert_eq!(response.status, 413);
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    assert!(response.body["detail"].is_string());
    let releases = app
        .get_json(&token, "/api/0/organizations/default/releases/")
        .await
        .expect(200);
    assert_eq!(releases, json!([]), "nothing was created");

    let long_search: String = url::form_urlencoded::byte_serialize("word ".repeat(200).as_bytes()).collect();
    let path = format!("/api/0/projects/default/default/issues/?query={long_search}");
    let response = app.get_json(&token, &path).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["position"], 500);

    let ids: String = (1..=1001).map(|id| format!("id={id}&")).collect();
    let path = format!("/api/0/projects/default/default/issues/?{ids}");
    let response = app
        .api(&token, Method::PUT, &path, Some(json!({"status": "resolved"})))
        .await;
    assert_eq!(response.status, 400);
    assert!(response.body["detail"].as_str().unwrap().contains("1000"));
    app.stop().await;
}

on_both_databases!(
    oversized_input_gets_a_clear_json_error_and_changes_nothing,
    requests_without_a_valid_token_get_401_with_a_detail,
    a_revoked_token_stops_working,
    a_missing_scope_is_403_and_the_role_caps_the_token,
    another_organizations_data_is_not_found_by_any_id,
    unknown_api_paths_answer_json_404,
);

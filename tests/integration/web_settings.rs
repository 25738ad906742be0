//! The settings pages: a project's name and platform, client keys (their DSNs work for ingest, disabling
//! or deleting one stops it at once), setup snippets, members and roles, extra scrubbing keys; and the
//! user's password and API tokens. Admin-only changes, other organizations and CSRF. Both databases.

use crate::common;

use common::web::{WebClient, PASSWORD};
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::{ApiToken, Role, ScopeSet};
use faultline::store::{accounts, events, organizations, projects, sessions};
use serde_json::json;

const SETTINGS: &str = "/organizations/default/projects/default/settings/";
const PUBLIC_URL: &str = "http://errors.example.com:9000/";

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| config.public_url = PUBLIC_URL.parse().unwrap()).await
}

fn at(path: &str) -> String {
    format!("{SETTINGS}{path}")
}

fn dsn(app: &TestApp, key: &str) -> String {
    format!("http://{key}@errors.example.com:9000/{}", app.project_id)
}

/// Posts an event authenticated with `key`; returns the status ingest answered.
async fn send_with_key(app: &TestApp, key: &str, event: serde_json::Value) -> (u16, String) {
    let id = new_event_id();
    let response = app
        .client
        .post(app.url(&app.envelope_path()))
        .header(
            "x-sentry-auth",
            format!("Sentry sentry_version=7, sentry_key={key}, sentry_client=test/1.0"),
        )
        .body(envelope(&id, &event))
        .send()
        .await
        .expect("sent");
    (response.status().as_u16(), id)
}

fn an_event() -> serde_json::Value {
    exception_event("ValueError", "bad input", "shop.views", "checkout", 12)
}

async fn default_project(app: &TestApp) -> projects::Project {
    projects::get_project(&app.db, app.project_id).await.unwrap().unwrap()
}

async fn role_of(app: &TestApp, email: &str) -> Option<Role> {
    let org = organizations::find_organization(&app.db, "default")
        .await
        .unwrap()
        .unwrap();
    let members = organizations::list_members(&app.db, org.id).await.unwrap();
    members.into_iter().find(|m| m.email == email).map(|m| m.role)
}

async fn audited(app: &TestApp, email: &str, action: &str) -> bool {
    let entries = sessions::recent_audit(&app.db, 100).await.unwrap();
    entries.iter().any(|e| e.email == email && e.action == action)
}

async fn admins_rename_the_project_and_change_its_platform(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let saved = admin
        .submit(
            SETTINGS,
            &at("general"),
            &[("name", "Storefront"), ("platform", "python-django")],
        )
        .await
        .expect(303);
    assert_eq!(saved.location(), Some(&*format!("{SETTINGS}?notice=general#general")));
    let project = default_project(&app).await;
    assert_eq!(
        (project.name.as_str(), project.platform.as_deref()),
        ("Storefront", Some("python-django"))
    );
    let page = admin.get(saved.location().unwrap()).await.expect(200);
    assert!(page.body.contains("Project saved."));
    assert!(page.body.contains(r#"value="Storefront""#));
    assert!(page.body.contains(r#"<option value="python-django" selected>"#));

    admin
        .submit(SETTINGS, &at("general"), &[("name", "X"), ("platform", "cobol")])
        .await
        .expect(400);
    let blank = admin
        .submit(SETTINGS, &at("general"), &[("name", "  "), ("platform", "")])
        .await
        .expect(303);
    assert!(admin
        .get(blank.location().unwrap())
        .await
        .body
        .contains("The project needs a name"));
    assert_eq!(
        default_project(&app).await.name,
        "Storefront",
        "refused changes change nothing"
    );
    app.stop().await;
}

async fn members_see_the_settings_but_cannot_change_them(backend: Backend) {
    let app = spawn(backend).await;
    app.signed_in_admin("admin@example.com").await;
    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = member.get(SETTINGS).await.expect(200);
    assert!(
        page.body.contains(&dsn(&app, &app.public_key)),
        "members need the DSN too"
    );
    assert!(
        !page.body.contains(&format!(r#"action="{}""#, at("general"))),
        "no forms for members"
    );
    assert!(page.body.contains("only admins and owners"));

    for (action, fields) in [
        ("general", vec![("name", "Mine"), ("platform", "go")]),
        ("keys", vec![("label", "mine")]),
        (
            "keys/state",
            vec![("key", app.public_key.as_str()), ("enabled", "false")],
        ),
        ("keys/delete", vec![("key", app.public_key.as_str())]),
        ("scrubbing", vec![("keys", "iban")]),
        ("members", vec![("email", "dev@example.com"), ("role", "owner")]),
    ] {
        member.submit(SETTINGS, &at(action), &fields).await.expect(403);
    }
    let project = default_project(&app).await;
    assert_eq!((project.name.as_str(), project.platform), ("Default", None));
    let keys = projects::list_keys(&app.db, app.project_id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].enabled);
    assert!(projects::scrub_keys(&app.db, app.project_id).await.unwrap().is_empty());
    assert_eq!(role_of(&app, "dev@example.com").await, Some(Role::Member));
    app.stop().await;
}

async fn client_keys_are_created_disabled_and_deleted_with_immediate_effect(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    admin
        .submit(SETTINGS, &at("keys"), &[("label", "Mobile app")])
        .await
        .expect(303);
    let keys = projects::list_keys(&app.db, app.project_id).await.unwrap();
    let new = keys
        .iter()
        .find(|k| k.label == "Mobile app")
        .expect("the new key")
        .public_key
        .clone();
    let page = admin.get(SETTINGS).await.expect(200);
    let shown = dsn(&app, &new);
    assert!(page.body.contains(&format!(
        r#"<code id="dsn-2">{shown}</code><button type="button" data-copy="dsn-2">Copy</button>"#
    )));

    assert_eq!(send_with_key(&app, &new, an_event()).await.0, 200, "the new DSN works");
    admin
        .submit(SETTINGS, &at("keys/state"), &[("key", &new), ("enabled", "false")])
        .await
        .expect(303);
    assert!(admin
        .get(SETTINGS)
        .await
        .body
        .contains(r#"<span class="status-pill key-off">disabled</span>"#));
    assert_eq!(
        send_with_key(&app, &new, an_event()).await.0,
        403,
        "refused at once, despite ingest's key cache"
    );
    admin
        .submit(SETTINGS, &at("keys/state"), &[("key", &new), ("enabled", "true")])
        .await
        .expect(303);
    assert_eq!(send_with_key(&app, &new, an_event()).await.0, 200);

    admin
        .submit(SETTINGS, &at("keys/delete"), &[("key", &new)])
        .await
        .expect(303);
    let keys = projects::list_keys(&app.db, app.project_id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(!admin.get(SETTINGS).await.body.contains(&shown));
    assert_eq!(send_with_key(&app, &new, an_event()).await.0, 403);
    admin
        .submit(SETTINGS, &at("keys/delete"), &[("key", &new)])
        .await
        .expect(404);
    assert_eq!(
        send_with_key(&app, &app.public_key, an_event()).await.0,
        200,
        "the other key is untouched"
    );
    app.stop().await;
}

async fn setup_snippets_carry_the_real_dsn(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let page = admin.get(SETTINGS).await.expect(200);
    let dsn = dsn(&app, &app.public_key);
    for (id, line) in [
        ("setup-python", format!(r#"dsn="{dsn}","#)),
        ("setup-django", format!(r#"dsn="{dsn}","#)),
        ("setup-browser", format!(r#"dsn: "{dsn}","#)),
        ("setup-node", format!(r#"dsn: "{dsn}","#)),
        ("setup-rust", format!(r#""{dsn}","#)),
        ("setup-go", format!(r#"Dsn:         "{dsn}","#)),
    ] {
        let start = page
            .body
            .find(&format!(r#"<code id="{id}">"#))
            .unwrap_or_else(|| panic!("{id} shown"));
        let end = start + page.body[start..].find("</code>").unwrap();
        assert!(
            page.body[start..end].contains(&line),
            "{id}: {}",
            &page.body[start..end]
        );
        assert!(page.body.contains(&format!(r#"data-copy="{id}""#)));
    }
    assert!(page.body.contains("DjangoIntegration()") && page.body.contains("sentry::release_name!()"));

    admin
        .submit(
            SETTINGS,
            &at("keys/state"),
            &[("key", &app.public_key), ("enabled", "false")],
        )
        .await
        .expect(303);
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(
        !page.body.contains(r#"id="setup-python""#),
        "no snippet with a disabled key"
    );
    assert!(page.body.contains("Enable or create a client key"));
    app.stop().await;
}

async fn roles_change_and_existing_users_are_added_by_email(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.signed_in_admin("owner@example.com").await;
    app.user("dev@example.com", None, Role::Member).await;
    organizations::create_organization(&app.db, "other", "Other")
        .await
        .unwrap();
    app.user("new@example.com", Some("other"), Role::Member).await;
    let dev = accounts::find_user_by_email(&app.db, "dev@example.com")
        .await
        .unwrap()
        .unwrap();
    let dev_id = dev.id.to_string();

    owner
        .submit(
            SETTINGS,
            &at("members/role"),
            &[("user_id", &dev_id), ("role", "admin")],
        )
        .await
        .expect(303);
    assert_eq!(role_of(&app, "dev@example.com").await, Some(Role::Admin));

    let added = owner
        .submit(
            SETTINGS,
            &at("members"),
            &[("email", "NEW@example.com"), ("role", "member")],
        )
        .await
        .expect(303);
    assert_eq!(role_of(&app, "new@example.com").await, Some(Role::Member));
    let page = owner.get(added.location().unwrap()).await.expect(200);
    assert!(page.body.contains("Member added.") && page.body.contains("new@example.com"));

    let unknown = owner
        .submit(
            SETTINGS,
            &at("members"),
            &[("email", "nobody@example.com"), ("role", "member")],
        )
        .await
        .expect(303);
    assert!(owner
        .get(unknown.location().unwrap())
        .await
        .body
        .contains("There is no user with that e-mail"));

    // An admin manages members but cannot make owners.
    let admin = WebClient::new(&app);
    admin.sign_in("dev@example.com", PASSWORD).await.expect(303);
    let new = accounts::find_user_by_email(&app.db, "new@example.com")
        .await
        .unwrap()
        .unwrap();
    let refused = admin
        .submit(
            SETTINGS,
            &at("members/role"),
            &[("user_id", &new.id.to_string()), ("role", "owner")],
        )
        .await
        .expect(303);
    assert!(admin
        .get(refused.location().unwrap())
        .await
        .body
        .contains("Only owners can make or unmake owners."));
    assert_eq!(role_of(&app, "new@example.com").await, Some(Role::Member));
    admin
        .submit(SETTINGS, &at("members/remove"), &[("user_id", &new.id.to_string())])
        .await
        .expect(303);
    assert_eq!(role_of(&app, "new@example.com").await, None);
    assert!(
        organizations::memberships(&app.db, new.id)
            .await
            .unwrap()
            .iter()
            .any(|(o, _)| o.slug == "other"),
        "only this organization's membership goes"
    );
    admin
        .submit(
            SETTINGS,
            &at("members/role"),
            &[("user_id", &new.id.to_string()), ("role", "admin")],
        )
        .await
        .expect(404);
    app.stop().await;
}

async fn the_last_owner_cannot_be_removed_or_demoted(backend: Backend) {
    let app = spawn(backend).await;
    let owner = app.signed_in_admin("owner@example.com").await;
    let me = accounts::find_user_by_email(&app.db, "owner@example.com")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let removed = owner
        .submit(SETTINGS, &at("members/remove"), &[("user_id", &me)])
        .await
        .expect(303);
    assert!(owner
        .get(removed.location().unwrap())
        .await
        .body
        .contains("An organization needs at least one owner."));
    owner
        .submit(SETTINGS, &at("members/role"), &[("user_id", &me), ("role", "member")])
        .await
        .expect(303);
    assert_eq!(role_of(&app, "owner@example.com").await, Some(Role::Owner));

    app.user("second@example.com", None, Role::Owner).await;
    owner
        .submit(SETTINGS, &at("members/role"), &[("user_id", &me), ("role", "admin")])
        .await
        .expect(303);
    assert_eq!(
        role_of(&app, "owner@example.com").await,
        Some(Role::Admin),
        "another owner remains"
    );
    app.stop().await;
}

async fn extra_scrubbing_keys_apply_to_the_next_event(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    assert_eq!(
        send_with_key(&app, &app.public_key, an_event()).await.0,
        200,
        "ingest has cached the key"
    );
    admin
        .submit(
            SETTINGS,
            &at("scrubbing"),
            &[("keys", "iban\r\n  tax_id \r\n\r\niban\r\n")],
        )
        .await
        .expect(303);
    assert_eq!(
        projects::scrub_keys(&app.db, app.project_id).await.unwrap(),
        ["iban", "tax_id"]
    );
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(page.body.contains("iban\ntax_id</textarea>"));
    assert!(
        page.body.contains("<code>password</code>"),
        "the built-in keys are listed"
    );

    let mut event = an_event();
    event["extra"] = json!({"tax_id": "DE-TAX-4711", "order": 17});
    let (status, id) = send_with_key(&app, &app.public_key, event).await;
    assert_eq!(status, 200);
    let stored = events::get_event(&app.db, app.project_id, &id)
        .await
        .unwrap()
        .expect("stored");
    let text = stored.payload_json().unwrap().to_string();
    assert!(!text.contains("DE-TAX-4711"), "{text}");
    assert!(text.contains("[Filtered]") && text.contains("\"order\":17"));
    app.stop().await;
}

async fn changing_the_password_signs_out_other_sessions(backend: Backend) {
    let app = spawn(backend).await;
    let here = app.signed_in("dev@example.com", None, Role::Member).await;
    let elsewhere = WebClient::new(&app);
    elsewhere.sign_in("dev@example.com", PASSWORD).await.expect(303);
    let page = "/settings/account/";
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let fields = [
            ("current_password", current),
            ("new_password", new),
            ("new_password_again", again),
        ];
        let here = &here;
        async move {
            here.submit(page, "/settings/account/password", &fields)
                .await
                .expect(303)
        }
    };
    for (current, new, again, message) in [
        (
            "wrong password",
            "a new secret",
            "a new secret",
            "The current password is wrong.",
        ),
        (PASSWORD, "short", "short", "at least 8 characters"),
        (PASSWORD, "a new secret", "another one", "The two new passwords differ."),
    ] {
        let refused = change(current, new, again).await;
        assert!(
            here.get(refused.location().unwrap()).await.body.contains(message),
            "{message}"
        );
    }
    elsewhere.get(page).await.expect(200);

    let changed = change(PASSWORD, "a new secret", "a new secret").await;
    assert!(here
        .get(changed.location().unwrap())
        .await
        .expect(200)
        .body
        .contains("Password changed."));
    assert_eq!(
        elsewhere.get(page).await.expect(303).location(),
        Some("/login?next=%2Fsettings%2Faccount%2F")
    );
    let fresh = WebClient::new(&app);
    fresh.sign_in("dev@example.com", PASSWORD).await.expect(401);
    fresh.sign_in("dev@example.com", "a new secret").await.expect(303);
    assert!(audited(&app, "dev@example.com", "password_changed").await);
    app.stop().await;
}

/// The token in the `<code id="new-token">` of a page.
fn shown_token(body: &str) -> Option<String> {
    let marker = r#"<code id="new-token">"#;
    let start = body.find(marker)? + marker.len();
    let end = start + body[start..].find('<')?;
    Some(body[start..end].to_owned())
}

async fn api_tokens_are_shown_once_work_and_are_revoked(backend: Backend) {
    let app = spawn(backend).await;
    let dev = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = "/settings/account/";
    let created = dev
        .submit(
            page,
            "/settings/account/tokens",
            &[("name", "ci"), ("scope", "org:read"), ("scope", "project:read")],
        )
        .await
        .expect(200);
    let token = shown_token(&created.body).expect("the token on the answer");
    assert!(token.starts_with("sntryu_"), "{token}");
    let again = dev.get(page).await.expect(200);
    assert!(
        !again.body.contains(&token) && shown_token(&again.body).is_none(),
        "shown once"
    );
    assert!(again.body.contains(&format!("…{}", &token[token.len() - 4..])));
    assert!(again
        .body
        .contains("<span class=\"tag\">org:read</span> <span class=\"tag\">project:read</span>"));

    let api = |token: String| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url("/api/0/organizations/"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }
    };
    assert_eq!(api(token.clone()).await, 200);
    let user = accounts::find_user_by_email(&app.db, "dev@example.com")
        .await
        .unwrap()
        .unwrap();
    let id = accounts::list_tokens(&app.db, user.id).await.unwrap()[0].id.to_string();
    dev.submit(page, "/settings/account/tokens/revoke", &[("token_id", &id)])
        .await
        .expect(303);
    assert_eq!(api(token).await, 401);
    assert!(audited(&app, "dev@example.com", "token_created").await);
    assert!(audited(&app, "dev@example.com", "token_revoked").await);

    dev.submit(page, "/settings/account/tokens", &[("name", "none")])
        .await
        .expect(303);
    assert!(
        accounts::list_tokens(&app.db, user.id).await.unwrap().is_empty(),
        "no token without scopes"
    );
    app.stop().await;
}

async fn another_users_token_cannot_be_revoked(backend: Backend) {
    let app = spawn(backend).await;
    app.user("other@example.com", None, Role::Member).await;
    let other = accounts::find_user_by_email(&app.db, "other@example.com")
        .await
        .unwrap()
        .unwrap();
    let token = ApiToken::generate();
    let scopes = ScopeSet::parse("org:read").unwrap();
    let id = accounts::create_token(&app.db, other.id, &token.hash, &token.hint(), "theirs", &scopes)
        .await
        .unwrap();
    let dev = app.signed_in("dev@example.com", None, Role::Member).await;
    dev.submit(
        "/settings/account/",
        "/settings/account/tokens/revoke",
        &[("token_id", &id.to_string())],
    )
    .await
    .expect(404);
    assert!(
        accounts::find_token(&app.db, &token.hash).await.unwrap().is_some(),
        "still live"
    );
    assert!(
        !dev.get("/settings/account/").await.body.contains("theirs"),
        "not listed either"
    );
    app.stop().await;
}

async fn another_organizations_project_settings_are_not_found(backend: Backend) {
    let app = spawn(backend).await;
    let other = organizations::create_organization(&app.db, "other", "Other")
        .await
        .unwrap();
    projects::create_project(
        &app.db,
        other.id,
        "secret",
        "Secret",
        None,
        "fedcba9876543210fedcba9876543210",
    )
    .await
    .unwrap();
    let admin = app.signed_in_admin("admin@example.com").await;
    admin
        .get("/organizations/other/projects/secret/settings/")
        .await
        .expect(404);
    admin
        .get("/organizations/default/projects/secret/settings/")
        .await
        .expect(404);
    let csrf = admin.get(SETTINGS).await.expect(200).csrf();
    for path in [
        "/organizations/other/projects/secret/settings/general",
        "/organizations/default/projects/secret/settings/general",
    ] {
        admin
            .post_raw(path, &[("csrf", &csrf), ("name", "Taken"), ("platform", "")])
            .await
            .expect(404);
    }
    let secret = projects::find_organization_project(&app.db, other.id, "secret")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.name, "Secret");
    app.stop().await;
}

async fn settings_forms_need_the_csrf_token(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    admin
        .post_raw(&at("general"), &[("name", "Forged"), ("platform", "")])
        .await
        .expect(403);
    admin
        .post_raw(&at("keys/delete"), &[("csrf", "forged"), ("key", &app.public_key)])
        .await
        .expect(403);
    admin
        .post_raw(
            "/settings/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "x".repeat(9).as_str()),
                ("new_password_again", "x".repeat(9).as_str()),
            ],
        )
        .await
        .expect(403);
    assert_eq!(default_project(&app).await.name, "Default");
    assert_eq!(projects::list_keys(&app.db, app.project_id).await.unwrap().len(), 1);
    app.stop().await;
}

on_both_databases!(
    admins_rename_the_project_and_change_its_platform,
    members_see_the_settings_but_cannot_change_them,
    client_keys_are_created_disabled_and_deleted_with_immediate_effect,
    setup_snippets_carry_the_real_dsn,
    roles_change_and_existing_users_are_added_by_email,
    the_last_owner_cannot_be_removed_or_demoted,
    extra_scrubbing_keys_apply_to_the_next_event,
    changing_the_password_signs_out_other_sessions,
    api_tokens_are_shown_once_work_and_are_revoked,
    another_users_token_cannot_be_revoked,
    another_organizations_project_settings_are_not_found,
    settings_forms_need_the_csrf_token,
);

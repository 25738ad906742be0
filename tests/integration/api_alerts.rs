//! Alert rules, channels and the delivery log through the JSON API: round trips, secrets masked in
//! every answer, other organizations' objects not found, scopes enforced, bad input refused with a
//! sentence. Both databases.

use crate::common;
use faultline::domain::RuleId;

use std::time::Duration;

use common::api::{error_detail, json_body, Token, ALL_SCOPES};
use common::receiver::Receiver;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::ChannelConfig;
use faultline::store::{alerts, organizations};
use reqwest::Method;
use serde_json::{json, Value};

const RULES: &str = "/api/0/projects/default/default/rules/";
const CHANNELS: &str = "/api/0/organizations/default/channels/";
const SLACK_URL: &str = "https://hooks.slack.com/services/T0001/B0002/SeCrEtPaThTokenAbcd";
const SMTP_PASSWORD: &str = "smtp-pass-Xq81Zr";

async fn builtin_channel(app: &TestApp) -> faultline::domain::ChannelId {
    let org = organizations::find_organization(&app.db, "default")
        .await
        .unwrap()
        .unwrap();
    let channels = alerts::list_channels(&app.db, org.id).await.unwrap();
    channels.iter().find(|c| c.builtin).expect("built-in channel").id
}

fn no_secret_in(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains("SeCrEtPaTh") && !text.contains(SMTP_PASSWORD), "{text}");
}

async fn rules_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let channel = builtin_channel(&app).await;
    let listed = json_body(app.get_json(&owner, RULES).await, 200);
    assert_eq!(listed[0]["name"], "New or regressed issue");
    assert_eq!(listed[0]["triggers"]["new_issue"], true);
    assert_eq!(listed[0]["channels"], json!([channel]));

    let body = json!({
        "name": "Busy checkout",
        "triggers": {"frequency": {"count": 50, "minutes": 5}, "users": {"count": 3, "minutes": 60}},
        "conditions": {"min_level": "error", "environment": "production", "tag": {"key": "browser", "value": "Firefox"}},
        "cooldown_minutes": 10,
        "channels": [channel],
    });
    let created = json_body(app.api(&owner, Method::POST, RULES, Some(body)).await, 201);
    assert_eq!(created["enabled"], true, "enabled unless told");
    assert_eq!(
        created["triggers"],
        json!({"new_issue": false, "regression": false, "frequency": {"count": 50, "minutes": 5}, "users": {"count": 3, "minutes": 60}})
    );
    assert_eq!(
        created["conditions"]["tag"],
        json!({"key": "browser", "value": "Firefox"})
    );
    let path = format!("{RULES}{}/", created["id"]);
    assert_eq!(json_body(app.get_json(&owner, &path).await, 200), created);

    let renamed = json_body(
        app.api(
            &owner,
            Method::PUT,
            &path,
            Some(json!({"name": "Busier checkout", "enabled": false})),
        )
        .await,
        200,
    );
    assert_eq!(renamed["name"], "Busier checkout");
    assert_eq!(renamed["enabled"], false);
    assert_eq!(
        renamed["triggers"], created["triggers"],
        "unnamed fields keep their values"
    );
    assert_eq!(renamed["conditions"], created["conditions"]);
    let replaced = json_body(
        app.api(
            &owner,
            Method::PUT,
            &path,
            Some(json!({"triggers": {"regression": true}, "conditions": {}})),
        )
        .await,
        200,
    );
    assert_eq!(
        replaced["triggers"],
        json!({"new_issue": false, "regression": true, "frequency": null, "users": null})
    );
    assert_eq!(
        replaced["conditions"],
        json!({"min_level": null, "environment": null, "tag": null})
    );
    let stored = alerts::get_rule(&app.db, app.project_id, RuleId(replaced["id"].as_i64().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.enabled && stored.triggers.regression && stored.conditions.min_level.is_none());

    app.api(&owner, Method::DELETE, &path, None).await.expect(204);
    error_detail(app.get_json(&owner, &path).await, 404);
    error_detail(app.get_json(&owner, &format!("{RULES}not-a-number/")).await, 404);
    assert_eq!(
        json_body(app.get_json(&owner, RULES).await, 200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn bad_rules_are_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let channel = builtin_channel(&app).await;
    let cases = [
        (
            json!({"name": "x", "channels": [channel]}),
            "a rule needs at least one trigger",
        ),
        (
            json!({"name": "x", "triggers": {"new_issue": true}}),
            "a rule needs at least one channel",
        ),
        (
            json!({"name": " ", "triggers": {"new_issue": true}, "channels": [channel]}),
            "a rule needs a name",
        ),
        (
            json!({"name": "x", "triggers": {"frequency": {"count": 0, "minutes": 5}}, "channels": [channel]}),
            "a threshold needs a count of at least 1",
        ),
        (
            json!({"name": "x", "triggers": {"new_issue": true}, "cooldown_minutes": -1, "channels": [channel]}),
            "the cooldown must be",
        ),
        (
            json!({"name": "x", "triggers": {"new_issue": true}, "conditions": {"min_level": "loud"}, "channels": [channel]}),
            "unknown level \"loud\"",
        ),
        (
            json!({"name": "x", "triggers": {"new_isue": true}, "channels": [channel]}),
            "unknown field `new_isue`",
        ),
    ];
    for (body, expected) in cases {
        let detail = error_detail(app.api(&owner, Method::POST, RULES, Some(body)).await, 400);
        assert!(detail.contains(expected), "{detail:?} should say {expected:?}");
    }
    // A channel of another organization is not one this rule can use.
    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let acme = organizations::find_organization(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    let foreign = alerts::list_channels(&app.db, acme.id).await.unwrap()[0].id;
    let body = json!({"name": "x", "triggers": {"new_issue": true}, "channels": [foreign]});
    let detail = error_detail(app.api(&owner, Method::POST, RULES, Some(body)).await, 400);
    assert!(detail.contains("channels of its project's organization"), "{detail}");
    assert_eq!(alerts::list_rules(&app.db, app.project_id).await.unwrap().len(), 1);
    app.stop().await;
}

async fn channels_round_trip_masked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let body = json!({"name": "Ops Slack", "kind": "slack", "settings": {"url": SLACK_URL}});
    let slack = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    no_secret_in(&slack);
    assert_eq!(slack["kind"], "slack");
    assert_eq!(slack["builtin"], false);
    assert_eq!(
        slack["settings"],
        json!({"url": "https://hooks.slack.com/••••••••Abcd"})
    );
    assert!(slack.get("secret").is_none());

    let body = json!({"name": "Ops mail", "kind": "email", "settings": {
        "smtp_host": "smtp.example.com", "smtp_port": 465, "tls": "tls", "username": "ops",
        "password": SMTP_PASSWORD, "to": ["a@example.com"]}});
    let email = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    no_secret_in(&email);
    assert_eq!(email["settings"]["password"], "••••••••");
    assert_eq!(email["settings"]["tls"], "tls");

    let listed = json_body(app.get_json(&owner, CHANNELS).await, 200);
    no_secret_in(&listed);
    assert_eq!(listed.as_array().unwrap().len(), 3, "the built-in channel and two more");
    assert_eq!(listed[0]["builtin"], true);

    // Sending back what GET showed (masked) keeps the stored secrets.
    let slack_path = format!("{CHANNELS}{}/", slack["id"]);
    let shown = json_body(app.get_json(&owner, &slack_path).await, 200);
    no_secret_in(&shown);
    let body = json!({"name": "Ops Slack 2", "settings": shown["settings"]});
    let renamed = json_body(app.api(&owner, Method::PUT, &slack_path, Some(body)).await, 200);
    no_secret_in(&renamed);
    assert_eq!(renamed["name"], "Ops Slack 2");
    let email_path = format!("{CHANNELS}{}/", email["id"]);
    let body = json!({"settings": {"smtp_host": "smtp2.example.com", "password": ""}});
    let moved = json_body(app.api(&owner, Method::PUT, &email_path, Some(body)).await, 200);
    no_secret_in(&moved);
    assert_eq!(moved["name"], "Ops mail", "the name stays when left out");
    let org = organizations::find_organization(&app.db, "default")
        .await
        .unwrap()
        .unwrap();
    let stored = alerts::list_channels(&app.db, org.id).await.unwrap();
    assert!(stored
        .iter()
        .any(|c| matches!(&c.config, ChannelConfig::Slack(h) if h.url == SLACK_URL)));
    assert!(stored.iter().any(|c| matches!(&c.config, ChannelConfig::Email(e)
        if e.password.as_deref() == Some(SMTP_PASSWORD) && e.smtp_host.as_deref() == Some("smtp2.example.com"))));

    app.api(&owner, Method::DELETE, &slack_path, None).await.expect(204);
    error_detail(app.get_json(&owner, &slack_path).await, 404);
    let builtin = format!("{CHANNELS}{}/", builtin_channel(&app).await);
    let detail = error_detail(app.api(&owner, Method::DELETE, &builtin, None).await, 409);
    assert!(
        detail.contains("built-in members channel cannot be deleted"),
        "{detail}"
    );
    app.stop().await;
}

async fn a_generated_webhook_secret_is_returned_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let body = json!({"name": "Receiver", "kind": "webhook", "settings": {"url": "https://example.com/hook"}});
    let created = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    let secret = created["secret"].as_str().expect("the generated secret").to_owned();
    assert_eq!(secret.len(), 48);
    assert_eq!(created["settings"]["secret"], format!("••••••••{}", &secret[44..]));
    let shown = json_body(
        app.get_json(&owner, &format!("{CHANNELS}{}/", created["id"])).await,
        200,
    );
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(&secret[..40]));
    let body = json!({"name": "Own secret", "kind": "webhook", "settings": {"url": "https://example.com/h2", "secret": "mine-and-long-enough"}});
    let own = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    assert!(own.get("secret").is_none(), "a secret the caller chose is not echoed");
    app.stop().await;
}

async fn bad_channels_are_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let cases = [
        (
            json!({"name": "x", "settings": {"url": SLACK_URL}}),
            "a channel needs a kind",
        ),
        (
            json!({"name": "x", "kind": "pager", "settings": {}}),
            "unknown channel kind \"pager\"",
        ),
        (
            json!({"name": "x", "kind": "slack", "settings": {}}),
            "invalid slack settings: missing field `url`",
        ),
        (
            json!({"name": "x", "kind": "teams", "settings": {"url": "javascript:alert(1)"}}),
            "absolute http:// or https:// URL",
        ),
        (
            json!({"name": "", "kind": "discord", "settings": {"url": SLACK_URL}}),
            "a channel needs a name",
        ),
        (
            json!({"name": "x", "kind": "email", "settings": {"to": ["nobody"]}}),
            "not an email address: nobody",
        ),
    ];
    for (body, expected) in cases {
        let detail = error_detail(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 400);
        assert!(detail.contains(expected), "{detail:?} should say {expected:?}");
    }
    assert_eq!(
        json_body(app.get_json(&owner, CHANNELS).await, 200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn other_organizations_objects_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let outsider = app.token("ops@acme.test", Some("acme"), Role::Owner, ALL_SCOPES).await;
    let rule = alerts::list_rules(&app.db, app.project_id).await.unwrap()[0].id;
    let channel = builtin_channel(&app).await;
    let acme_channel = format!("/api/0/organizations/acme/channels/{channel}/");
    for path in [
        RULES.to_owned(),
        format!("{RULES}{rule}/"),
        "/api/0/projects/default/default/deliveries/".to_owned(),
        CHANNELS.to_owned(),
        format!("{CHANNELS}{channel}/"),
        acme_channel.clone(),
    ] {
        error_detail(app.get_json(&outsider, &path).await, 404);
    }
    let attempts = [
        (Method::DELETE, format!("{RULES}{rule}/")),
        (Method::DELETE, acme_channel.clone()),
        (Method::POST, format!("{acme_channel}test/")),
    ];
    for (method, path) in attempts {
        error_detail(app.api(&outsider, method, &path, None).await, 404);
    }
    let body = json!({"name": "renamed"});
    error_detail(app.api(&outsider, Method::PUT, &acme_channel, Some(body)).await, 404);
    assert_eq!(
        json_body(app.get_json(&owner, RULES).await, 200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn changes_need_the_write_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reader = app
        .token("reader@example.com", None, Role::Owner, "org:read project:read")
        .await;
    let member: Token = app.token("dev@example.com", None, Role::Member, ALL_SCOPES).await;
    let channel = builtin_channel(&app).await;
    let rule = alerts::list_rules(&app.db, app.project_id).await.unwrap()[0].id;
    for token in [&reader, &member] {
        json_body(app.get_json(token, RULES).await, 200);
        json_body(app.get_json(token, CHANNELS).await, 200);
        let body = json!({"name": "x", "triggers": {"new_issue": true}, "channels": [channel]});
        let detail = error_detail(app.api(token, Method::POST, RULES, Some(body)).await, 403);
        assert!(detail.contains("project:write"), "{detail}");
        error_detail(
            app.api(
                token,
                Method::PUT,
                &format!("{RULES}{rule}/"),
                Some(json!({"enabled": false})),
            )
            .await,
            403,
        );
        let body = json!({"name": "x", "kind": "slack", "settings": {"url": SLACK_URL}});
        error_detail(app.api(token, Method::POST, CHANNELS, Some(body)).await, 403);
        error_detail(
            app.api(token, Method::POST, &format!("{CHANNELS}{channel}/test/"), None)
                .await,
            403,
        );
    }
    let no_read = app.token("events@example.com", None, Role::Owner, "event:read").await;
    error_detail(app.get_json(&no_read, CHANNELS).await, 403);
    error_detail(app.get_json(&no_read, RULES).await, 403);
    assert!(alerts::list_rules(&app.db, app.project_id).await.unwrap()[0].enabled);
    app.stop().await;
}

async fn deliveries_and_test_notifications_report_their_outcome(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.webhook_allow_private = true).await;
    let owner = app.owner_token().await;
    let deliveries = "/api/0/projects/default/default/deliveries/";
    assert_eq!(json_body(app.get_json(&owner, deliveries).await, 200), json!([]));
    let event = exception_event("KeyError", "cart", "shop.cart", "add", 7);
    assert_eq!(app.post_envelope(envelope(&new_event_id(), &event)).await.status(), 200);
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = json_body(app.get_json(&owner, deliveries).await, 200);
        if listed[0]["status"] == "skipped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["rule_name"], "New or regressed issue");
    assert_eq!(listed[0]["channel_name"], "Email to project members");
    // No SMTP server is configured: skipped with the reason, never tried (it used to fail).
    assert_eq!(listed[0]["status"], "skipped", "no SMTP server is configured");
    assert_eq!(listed[0]["attempts"], 0);
    assert!(listed[0]["last_error"].as_str().is_some_and(|e| !e.is_empty()));

    let receiver = Receiver::with_statuses(vec![410]).await;
    let body = json!({"name": "Gone", "kind": "discord", "settings": {"url": receiver.url("/api/webhooks/1/x")}});
    let channel = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    let tested = json_body(
        app.api(
            &owner,
            Method::POST,
            &format!("{CHANNELS}{}/test/", channel["id"]),
            None,
        )
        .await,
        200,
    );
    assert_eq!(tested["ok"], false, "{tested}");
    let error = tested["error"].as_str().expect("the reason");
    assert!(!error.is_empty() && !error.contains("/api/webhooks/1/x"), "{error}");
    app.stop().await;
}

on_both_databases!(
    rules_round_trip,
    bad_rules_are_refused_with_a_sentence,
    channels_round_trip_masked,
    a_generated_webhook_secret_is_returned_once,
    bad_channels_are_refused_with_a_sentence,
    other_organizations_objects_are_not_found,
    changes_need_the_write_scope,
    deliveries_and_test_notifications_report_their_outcome,
    a_test_notification_reaches_a_webhook_receiver,
);

async fn a_test_notification_reaches_a_webhook_receiver(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.webhook_allow_private = true).await;
    let owner = app.owner_token().await;
    let receiver = Receiver::start().await;
    let body = json!({"name": "Local", "kind": "webhook", "settings": {"url": receiver.url("/hook")}});
    let channel = json_body(app.api(&owner, Method::POST, CHANNELS, Some(body)).await, 201);
    let tested = json_body(
        app.api(
            &owner,
            Method::POST,
            &format!("{CHANNELS}{}/test/", channel["id"]),
            None,
        )
        .await,
        200,
    );
    assert_eq!(tested, json!({"ok": true}));
    let received = receiver.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["kind"], "test");
    app.stop().await;
}

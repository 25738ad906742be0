//! The generic webhook's URL is a secret like Slack's: masked on the channel pages (for members too), in the
//! API's answers, test notification results and the delivery log; an edit sending the mask back keeps the
//! stored URL. Both databases.

use crate::common;

use common::alerts::{alert_app, channel, default_organization, only_rule, send_error, wait_for_log};
use common::api::json_body;
use common::receiver::{Receiver, Reply};
use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::{Channel, ChannelConfig, SignedHookSettings};
use faultline::domain::alerts::Triggers;
use faultline::store::alerts;
use reqwest::Method;
use serde_json::json;

const PAGES: &str = "/organizations/default/settings/channels/";
const API: &str = "/api/0/organizations/default/channels/";
const TOKEN: &str = "T0K3N-SECRET-PATH";
const HOOK_URL: &str = "https://hooks.example.com/T0K3N-SECRET-PATH";
const MASKED: &str = "https://hooks.example.com/••••••••PATH";
const SECRET: &str = "signing-secret-Zq93Lw";

async fn stored_channel(app: &TestApp, id: faultline::domain::ChannelId) -> Channel {
    let org = default_organization(&app.db).await;
    alerts::get_channel(&app.db, org.id, id)
        .await
        .unwrap()
        .expect("channel stored")
}

fn stored_hook(channel: &Channel) -> &SignedHookSettings {
    match &channel.config {
        ChannelConfig::Webhook(hook) => hook,
        other => panic!("a webhook, not {other:?}"),
    }
}

/// The `value` of the edit form's URL field, as a browser would send it back.
fn url_field(body: &str) -> String {
    let marker = "id=\"hook-url\" name=\"url\"";
    let field = &body[body.find(marker).expect("a URL field")..];
    let value = &field[field.find("value=\"").expect("a value") + 7..];
    value[..value.find('"').unwrap()].to_owned()
}

async fn the_webhook_url_is_masked_on_the_pages_and_kept_on_save(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let fields = [
        ("kind", "webhook"),
        ("name", "Receiver"),
        ("url", HOOK_URL),
        ("secret", SECRET),
    ];
    admin
        .submit(&format!("{PAGES}new?kind=webhook"), &format!("{PAGES}new"), &fields)
        .await
        .expect(303);
    let id = alerts::list_channels(&app.db, default_organization(&app.db).await.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Receiver")
        .expect("created")
        .id;
    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    let edit = format!("{PAGES}{id}/");
    let pages = [
        admin.get(PAGES).await.expect(200),
        member.get(PAGES).await.expect(200),
        admin.get(&edit).await.expect(200),
    ];
    for page in &pages {
        assert!(!page.body.contains(TOKEN), "{}", page.body);
        assert!(page.body.contains(MASKED), "{}", page.body);
    }

    let shown = url_field(&pages[2].body);
    assert_eq!(shown, MASKED);
    let resaved = [
        ("kind", "webhook"),
        ("name", "Renamed"),
        ("url", &shown),
        ("secret", ""),
    ];
    admin.submit(&edit, &edit, &resaved).await.expect(303);
    let stored = stored_channel(&app, id).await;
    assert_eq!(stored.name, "Renamed");
    assert_eq!(stored_hook(&stored).url, HOOK_URL);
    assert_eq!(stored_hook(&stored).secret, SECRET);
    app.stop().await;
}

async fn the_webhook_url_is_masked_in_the_api_and_kept_on_put(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.owner_token().await;
    let body = json!({"name": "Receiver", "kind": "webhook", "settings": {"url": HOOK_URL, "secret": SECRET}});
    let created = json_body(app.api(&owner, Method::POST, API, Some(body)).await, 201);
    let path = format!("{API}{}/", created["id"]);
    let shown = json_body(app.get_json(&owner, &path).await, 200);
    let listed = json_body(app.get_json(&owner, API).await, 200);
    for answer in [&created, &shown, &listed] {
        assert!(!answer.to_string().contains(TOKEN), "{answer}");
    }
    assert_eq!(shown["settings"]["url"], MASKED);

    let body = json!({"name": "Renamed", "settings": shown["settings"]});
    let renamed = json_body(app.api(&owner, Method::PUT, &path, Some(body)).await, 200);
    assert!(!renamed.to_string().contains(TOKEN), "{renamed}");
    let stored = stored_channel(&app, faultline::domain::ChannelId(created["id"].as_i64().unwrap())).await;
    assert_eq!(stored_hook(&stored).url, HOOK_URL);
    assert_eq!(stored_hook(&stored).secret, SECRET);
    app.stop().await;
}

/// A receiver that refuses and echoes the URL it was called on, as some do in their error pages.
async fn no_failure_report_shows_the_webhook_url(backend: Backend) {
    let app = alert_app(backend, None, |_| {}).await;
    let echo = Reply::with_body(410, &format!("no hook at /{TOKEN}"));
    let receiver = Receiver::with_replies(vec![echo; 3]).await;
    let url = receiver.url(&format!("/{TOKEN}"));
    let config = ChannelConfig::Webhook(SignedHookSettings {
        url,
        secret: SECRET.into(),
    });
    let id = channel(&app.db, "Receiver", config).await;

    let admin = app.signed_in_admin("admin@example.com").await;
    let tested = admin.submit(PAGES, &format!("{PAGES}{id}/test"), &[]).await.expect(200);
    assert!(tested.body.contains("The test notification failed"), "{}", tested.body);
    assert!(!tested.body.contains(TOKEN), "{}", tested.body);
    let owner = app.owner_token().await;
    let tested = json_body(
        app.api(&owner, Method::POST, &format!("{API}{id}/test/"), None).await,
        200,
    );
    assert_eq!(tested["ok"], false);
    assert!(!tested.to_string().contains(TOKEN), "{tested}");

    let on_new_issue = Triggers {
        new_issue: true,
        ..Triggers::default()
    };
    only_rule(&app, on_new_issue, 0, vec![id]).await;
    send_error(&app, "KeyError").await;
    let log = wait_for_log(&app, 1, "failed").await;
    assert!(!format!("{log:?}").contains(TOKEN), "{log:?}");
    let page = admin
        .get("/organizations/default/projects/default/alerts/deliveries/")
        .await
        .expect(200);
    assert!(!page.body.contains(TOKEN), "{}", page.body);
    let answer = json_body(
        app.get_json(&owner, "/api/0/projects/default/default/deliveries/")
            .await,
        200,
    );
    assert!(!answer.to_string().contains(TOKEN), "{answer}");
    assert_eq!(receiver.requests().len(), 3, "the test twice, the rule once");
    app.stop().await;
}

on_both_databases!(
    the_webhook_url_is_masked_on_the_pages_and_kept_on_save,
    the_webhook_url_is_masked_in_the_api_and_kept_on_put,
    no_failure_report_shows_the_webhook_url,
);

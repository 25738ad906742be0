//! A server without SMTP settings (a fresh install): e-mail channels that name no SMTP host are shown as
//! not configured, on the channels page and in the API, and the default rule's e-mail delivery is recorded
//! as skipped, never tried, while the rule's other channels still deliver. A delivery made while SMTP was
//! configured, sent after it was removed, is skipped too. The binary says so once in its log, at start, not
//! per issue. Both databases.

use crate::common;
use faultline::domain::{ChannelId, OrganizationId, ProjectId};

use std::time::Duration;

use common::alerts::{alert_app, channel, send_error, PUBLIC_URL};
use common::api::json_body;
use common::binary::{start_binary, Server};
use common::receiver::Receiver;
use common::{close_store, open_store, Backend, TestApp, TestDatabase};
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::{ChannelConfig, EmailSettings, SignedHookSettings};
use faultline::domain::alerts::{QuietMemo, RuleSpec};
use faultline::notify::{Notifier, NotifySettings, EMAIL_NOT_CONFIGURED};
use faultline::store::alerts::{self, DeliveryRecord};
use faultline::store::{now_ms, projects, record_batch_alerting, Db};
use faultline::worker::notifier::work_once;
use faultline::worker::NotifierSettings;

const WAIT: Duration = Duration::from_secs(15);
const CHANNELS: &str = "/organizations/default/settings/channels/";
const DELIVERIES: &str = "/organizations/default/projects/default/alerts/deliveries/";
const PILL: &str = "<span class=\"status-pill delivery-skipped\">not configured</span>";

/// Adds a signed webhook to the project's default rule, beside the built-in members channel.
async fn webhook_on_default_rule(app: &TestApp, receiver: &Receiver) -> ChannelId {
    let hook = ChannelConfig::Webhook(SignedHookSettings {
        url: receiver.url("/hook"),
        secret: "secret".into(),
    });
    let hook = channel(&app.db, "Ops hook", hook).await;
    let rule = alerts::list_rules(&app.db, app.project_id).await.unwrap().remove(0);
    assert_eq!(rule.name, "New or regressed issue");
    let spec = RuleSpec {
        name: rule.name,
        enabled: rule.enabled,
        triggers: rule.triggers,
        conditions: rule.conditions,
        cooldown_minutes: rule.cooldown_minutes,
        channel_ids: [rule.channel_ids, vec![hook]].concat(),
    };
    alerts::update_rule(&app.db, app.project_id, rule.id, &spec)
        .await
        .unwrap()
        .expect("the default rule");
    hook
}

/// The log once the webhook's delivery is sent; the e-mail's must be final by then (skipped at dispatch).
async fn settled_log(app: &TestApp) -> Vec<DeliveryRecord> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let log = alerts::list_deliveries(&app.db, app.project_id, 10).await.unwrap();
        if log.len() == 2 && log.iter().any(|d| d.status == "sent") {
            return log;
        }
        assert!(std::time::Instant::now() < deadline, "delivery log stuck at {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn without_smtp_the_default_rule_skips_email_and_its_webhook_still_delivers(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |_| {}).await;
    app.user("dev@example.com", None, Role::Member).await;
    webhook_on_default_rule(&app, &receiver).await;
    send_error(&app, "KeyError").await;

    let hooks = receiver.wait_for(1, WAIT).await;
    assert_eq!(hooks[0].path, "/hook");
    let log = settled_log(&app).await;
    let email = log
        .iter()
        .find(|d| d.channel_name == "Email to project members")
        .unwrap();
    assert_eq!(email.status, "skipped", "{log:?}");
    assert_eq!(email.attempts, 0, "nothing was tried");
    assert_eq!(email.last_attempt_at, None);
    assert_eq!(email.last_error.as_deref(), Some(EMAIL_NOT_CONFIGURED));
    // A few more notifier rounds (50 ms each): the skipped delivery is never claimed, tried or retried.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = alerts::list_deliveries(&app.db, app.project_id, 10).await.unwrap();
    assert_eq!(later, log, "the log holds still");
    assert_eq!(receiver.requests().len(), 1, "the webhook got its message once");

    let admin = app.signed_in_admin("admin@example.com").await;
    let page = admin.get(DELIVERIES).await.expect(200);
    let rows = page.body.split("<tbody>").nth(1).expect("a table body");
    assert!(rows.contains("delivery-skipped\">skipped<"), "{rows}");
    assert!(rows.contains("FAULTLINE_SMTP_HOST is not set"), "{rows}");
    assert!(!rows.contains("delivery-failed"), "{rows}");
    app.stop().await;
}

async fn the_channels_page_and_the_api_say_which_email_channel_is_not_configured(backend: Backend) {
    let app = alert_app(backend, None, |_| {}).await;
    let own_server = ChannelConfig::Email(EmailSettings {
        smtp_host: Some("smtp.example.com".into()),
        to: vec!["ops@example.com".into()],
        ..EmailSettings::default()
    });
    let own = channel(&app.db, "Own SMTP", own_server).await;

    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = member.get(CHANNELS).await.expect(200);
    assert_eq!(
        page.body.matches(PILL).count(),
        1,
        "only the members channel: {}",
        page.body
    );
    let row = page
        .body
        .split("<tr>")
        .find(|row| row.contains("Email to project members"))
        .expect("the built-in channel's row");
    assert!(row.contains(PILL), "{row}");
    assert!(row.contains("FAULTLINE_SMTP_HOST is not set"), "{row}");
    assert!(row.contains("Set FAULTLINE_SMTP_HOST"), "{row}");

    let owner = app.owner_token().await;
    let path = "/api/0/organizations/default/channels/";
    let listed = json_body(app.get_json(&owner, path).await, 200);
    for channel in listed.as_array().expect("a list") {
        if channel["builtin"] == true {
            assert_eq!(channel["configured"], false, "{channel}");
            assert_eq!(channel["not_configured_reason"], EMAIL_NOT_CONFIGURED, "{channel}");
        } else {
            assert_eq!(channel["id"], own.get(), "{channel}");
            assert_eq!(channel["configured"], true, "{channel}");
            assert!(channel["not_configured_reason"].is_null(), "{channel}");
        }
    }
    app.stop().await;
}

async fn with_smtp_no_channel_is_marked_not_configured(backend: Backend) {
    let app = alert_app(backend, Some(2525), |_| {}).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let page = admin.get(CHANNELS).await.expect(200);
    assert!(page.body.contains("Email to project members"));
    assert!(!page.body.contains(PILL), "{}", page.body);
    app.stop().await;
}

/// A members e-mail made into a pending delivery (as by a server that had SMTP), then one notifier round of a
/// server without SMTP: the delivery ends skipped, with the claim's attempt taken back, not failed.
async fn a_pending_email_delivery_is_skipped_once_smtp_is_gone(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = shop_project(&db).await;
    let rules = alerts::load_rule_set(&db).await.unwrap();
    // Real time: the notifier round below claims what is due now.
    let event = common::stored_event(project_id, "a", now_ms() - 1000);
    record_batch_alerting(&db, &[event], &rules, &mut QuietMemo::default())
        .await
        .unwrap();
    alerts::dispatch_fires(&db, now_ms(), 0, &|_| None).await.unwrap();
    assert_eq!(
        alerts::list_deliveries(&db, project_id, 10).await.unwrap()[0].status,
        "pending"
    );

    let notifier = Notifier::new(NotifySettings {
        smtp: None,
        email_from: "Faultline <alerts@faultline.example.com>".into(),
        allow_private_targets: false,
    });
    let settings = NotifierSettings {
        poll: Duration::from_millis(50),
        max_attempts: 8,
        retry_base_ms: 200,
        digest_window_ms: 0,
        lease_ms: 120_000,
        public_url: PUBLIC_URL.parse().unwrap(),
    };
    work_once(&db, &notifier, &settings).await.unwrap();
    let log = alerts::list_deliveries(&db, project_id, 10).await.unwrap();
    assert_eq!((log[0].status.as_str(), log[0].attempts), ("skipped", 0), "{log:?}");
    assert_eq!(log[0].last_attempt_at, None);
    assert_eq!(log[0].last_error.as_deref(), Some(EMAIL_NOT_CONFIGURED));
    close_store(database, db).await;
}

async fn shop_project(db: &Db) -> (OrganizationId, ProjectId) {
    let (org, _) = projects::ensure_default_organization(db).await.unwrap();
    let key = common::new_event_id();
    let project = projects::create_project(db, org, "shop", "Shop", None, &key)
        .await
        .unwrap();
    (org, project.id)
}

/// The real binary, started without SMTP settings (`start_binary` leaves `FAULTLINE_SMTP_HOST` unset).
async fn start_without_smtp(database_url: &str) -> Server {
    let settings = [
        // One message per issue, so each new issue makes a skipped delivery of its own.
        ("FAULTLINE_ALERT_DIGEST_SECS", "0".to_owned()),
    ];
    start_binary(database_url, &settings).await
}

/// Kills the server and returns everything it logged.
fn stop(mut server: Server) -> String {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    server.log_text()
}

async fn wait_until<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + WAIT;
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "gave up waiting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The log says once, at start, that e-mail alerts are off; the new issues whose e-mails are then skipped
/// add no warning of their own.
async fn the_binary_says_once_that_email_alerts_are_off(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let server = start_without_smtp(&database.url).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    let project = projects::find_project_by_slug(&db, "default").await.unwrap().unwrap();
    let key = projects::list_keys(&db, project.id).await.unwrap().remove(0).public_key;
    let url = format!(
        "{}/api/{}/envelope/?sentry_key={key}&sentry_version=7",
        server.base, project.id
    );
    for error_type in ["KeyError", "ValueError", "TypeError"] {
        let event = common::exception_event(error_type, "it broke", "shop.cart", "add_item", 12);
        let body = common::envelope(&common::new_event_id(), &event);
        let sent = reqwest::Client::new().post(&url).body(body).send().await.unwrap();
        assert_eq!(sent.status(), 200);
    }
    wait_until(|| async {
        let log = alerts::list_deliveries(&db, project.id, 10).await.unwrap();
        log.len() == 3 && log.iter().all(|d| d.status == "skipped")
    })
    .await;
    let log = stop(server);
    let said = log
        .matches("e-mail alerts are off: FAULTLINE_SMTP_HOST is not set")
        .count();
    assert_eq!(said, 1, "{log}");
    assert!(!log.contains("alert delivery failed"), "{log}");
    db.close().await;
    database.drop_database().await;
}

on_both_databases!(
    the_binary_says_once_that_email_alerts_are_off,
    without_smtp_the_default_rule_skips_email_and_its_webhook_still_delivers,
    the_channels_page_and_the_api_say_which_email_channel_is_not_configured,
    with_smtp_no_channel_is_marked_not_configured,
    a_pending_email_delivery_is_skipped_once_smtp_is_gone,
);

//! Alerts end to end: events sent to the real server fire rules, the notifier delivers to a real SMTP
//! listener and a real HTTP receiver started by the test, and faults (a refusing SMTP server, a restart)
//! neither lose a message nor repeat one. Same bodies on SQLite and Postgres.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::alerts::{alert_app, channel, default_organization, only_rule, send_error, wait_for_log, PUBLIC_URL};
use common::receiver::Receiver;
use common::smtp::SmtpServer;
use common::Backend;
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::{ChannelConfig, HookSettings, SignedHookSettings};
use faultline::domain::alerts::{Threshold, Triggers};
use faultline::domain::lifecycle::StatusChange;
use faultline::store::issues;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(15);

fn on_new_issue() -> Triggers {
    Triggers {
        new_issue: true,
        ..Triggers::default()
    }
}

fn send_with_rust_sdk(dsn: String) {
    let options = sentry::apply_defaults(sentry::ClientOptions {
        dsn: dsn.parse().ok(),
        release: Some("checkout@2.0.0".into()),
        environment: Some("production".into()),
        ..Default::default()
    });
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(client.clone()),
        Arc::new(sentry::Scope::default()),
    ));
    sentry::Hub::run(hub, || {
        let error = "seven".parse::<u32>().unwrap_err();
        sentry::capture_error(&error);
    });
    assert!(client.flush(Some(WAIT)), "the SDK delivered its event");
}

async fn a_new_issue_from_the_rust_sdk_is_mailed_to_the_members_with_its_link(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = alert_app(backend, Some(smtp.port()), |_| {}).await;
    app.user("dev@example.com", None, Role::Member).await;
    let dsn = app.dsn();
    tokio::task::spawn_blocking(move || send_with_rust_sdk(dsn))
        .await
        .unwrap();

    let mail = smtp.wait_for_messages(1, WAIT).await.remove(0);
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let link = format!("{PUBLIC_URL}organizations/default/issues/{}/", issue.id);
    assert_eq!(mail.recipients, vec!["dev@example.com".to_owned()]);
    let parsed = mail.parsed();
    assert!(
        parsed.subject.starts_with("[default] New issue: ParseIntError"),
        "{}",
        parsed.subject
    );
    let text = parsed.text.expect("a text part");
    assert!(text.contains("ParseIntError") && text.contains(&link), "{text}");
    assert!(text.contains("production") && text.contains("checkout@2.0.0"), "{text}");
    let html = parsed.html.expect("an HTML part");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    let log = wait_for_log(&app, 1, "sent").await;
    assert_eq!(log[0].channel_name, "Email to project members");
    app.stop().await;
}

async fn a_refusing_smtp_server_gets_the_mail_once_it_accepts(backend: Backend) {
    let smtp = SmtpServer::start_refusing(2).await;
    let app = alert_app(backend, Some(smtp.port()), |_| {}).await;
    app.user("dev@example.com", None, Role::Member).await;
    send_error(&app, "ZeroDivisionError").await;

    smtp.wait_for_messages(1, WAIT).await;
    let log = wait_for_log(&app, 1, "sent").await;
    assert_eq!(log[0].attempts, 3, "two refusals, then the mail went through");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
    assert_eq!(smtp.sessions(), 3);
    app.stop().await;
}

async fn slack_discord_teams_and_webhook_each_get_their_own_shape(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |_| {}).await;
    let hook = |path: &str| HookSettings {
        url: receiver.url(path),
    };
    let secret = "a-shared-secret-for-signing";
    let ids = vec![
        channel(&app.db, "slack", ChannelConfig::Slack(hook("/slack/T1/B1/xyz"))).await,
        channel(&app.db, "discord", ChannelConfig::Discord(hook("/discord/1/abc"))).await,
        channel(&app.db, "teams", ChannelConfig::Teams(hook("/teams/workflow"))).await,
        channel(
            &app.db,
            "hook",
            ChannelConfig::Webhook(SignedHookSettings {
                url: receiver.url("/hook"),
                secret: secret.into(),
            }),
        )
        .await,
    ];
    only_rule(&app, on_new_issue(), 30, ids).await;
    send_error(&app, "KeyError").await;

    let requests = receiver.wait_for(4, WAIT).await;
    let at = |prefix: &str| requests.iter().find(|r| r.path.starts_with(prefix)).expect(prefix);
    let slack = at("/slack").json();
    let button_url = slack["blocks"].as_array().unwrap().iter().find_map(|b| {
        b["elements"]
            .as_array()
            .and_then(|e| e[0]["url"].as_str().map(str::to_owned))
    });
    assert!(button_url
        .unwrap()
        .starts_with(&format!("{PUBLIC_URL}organizations/default/issues/")));
    assert!(slack["text"].as_str().unwrap().contains("KeyError"), "{slack}");
    let discord = at("/discord").json();
    assert!(
        discord["embeds"][0]["title"].as_str().unwrap().contains("KeyError"),
        "{discord}"
    );
    assert_eq!(discord["allowed_mentions"]["parse"], serde_json::json!([]));
    let teams = at("/teams").json();
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");

    let webhook = at("/hook");
    let body = webhook.json();
    assert_eq!(
        (body["version"].as_str(), body["kind"].as_str()),
        (Some("1"), Some("alert"))
    );
    assert_eq!(body["issues"][0]["reason"], "new_issue");
    assert_eq!(body["issues"][0]["times_seen"], 1);
    assert_eq!(webhook.header("idempotency-key"), body["id"].as_str());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&webhook.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(webhook.header("x-faultline-signature"), Some(expected.as_str()));
    wait_for_log(&app, 4, "sent").await;
    app.stop().await;
}

async fn webhook_channel(app: &common::TestApp, receiver: &Receiver) -> faultline::domain::ChannelId {
    let config = ChannelConfig::Webhook(SignedHookSettings {
        url: receiver.url("/hook"),
        secret: "secret".into(),
    });
    channel(&app.db, "hook", config).await
}

async fn five_in_a_minute_fires_once_for_twenty_events(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |_| {}).await;
    let frequency = Triggers {
        frequency: Some(Threshold::new(5, 1).unwrap()),
        ..Triggers::default()
    };
    only_rule(&app, frequency, 30, vec![webhook_channel(&app, &receiver).await]).await;
    for _ in 0..20 {
        send_error(&app, "TimeoutError").await;
    }
    let requests = receiver.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.requests().len(), 1, "one message for twenty events");
    let body = requests[0].json();
    assert_eq!(body["issues"][0]["reason"], "frequency");
    let seen = body["issues"][0]["times_seen"].as_i64().unwrap();
    assert!((5..=20).contains(&seen), "the count at sending time, {seen}");
    app.stop().await;
}

async fn the_cooldown_holds_a_regression_back(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |_| {}).await;
    let triggers = Triggers {
        new_issue: true,
        regression: true,
        ..Triggers::default()
    };
    only_rule(&app, triggers, 30, vec![webhook_channel(&app, &receiver).await]).await;
    send_error(&app, "ValueError").await;
    receiver.wait_for(1, WAIT).await;
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    common::change_issue_status(&app.db, issue.id, &StatusChange::Resolve).await;
    send_error(&app, "ValueError").await;
    let regressed = issues::get_issue(&app.db, issue.id).await.unwrap().unwrap();
    assert_eq!(
        regressed.state.status,
        faultline::domain::lifecycle::IssueStatus::Unresolved,
        "regressed"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.requests().len(),
        1,
        "the regression came inside the 30-minute cooldown"
    );
    app.stop().await;
}

async fn many_new_issues_within_the_window_arrive_as_one_digest(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |config| config.alert_digest_secs = 2).await;
    only_rule(&app, on_new_issue(), 30, vec![webhook_channel(&app, &receiver).await]).await;
    let kinds = [
        "KeyError",
        "IndexError",
        "TypeError",
        "OSError",
        "NameError",
        "LookupError",
    ];
    for kind in kinds {
        send_error(&app, kind).await;
    }
    let deadline = std::time::Instant::now() + WAIT;
    let listed = loop {
        let listed: Vec<String> = receiver
            .requests()
            .iter()
            .flat_map(|r| r.json()["issues"].as_array().unwrap().clone())
            .map(|issue| issue["title"].as_str().unwrap().to_owned())
            .collect();
        if listed.len() >= kinds.len() || std::time::Instant::now() > deadline {
            break listed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(listed.len(), kinds.len(), "every issue is told once: {listed:?}");
    let messages = receiver.requests();
    assert!(messages.len() <= 2, "{} messages for six issues", messages.len());
    let digest = messages.iter().map(|r| r.json()).find(|body| body["kind"] == "digest");
    assert!(digest.expect("a digest")["issues"].as_array().unwrap().len() >= 2);
    app.stop().await;
}

async fn a_restart_loses_no_pending_delivery_and_repeats_no_sent_one(backend: Backend) {
    // The first delivery succeeds, the second gets a 500 and waits for its retry when the server stops.
    let receiver = Receiver::with_statuses(vec![200, 500]).await;
    let mut app = alert_app(backend, None, |config| config.notify_retry_base_ms = 1500).await;
    only_rule(&app, on_new_issue(), 30, vec![webhook_channel(&app, &receiver).await]).await;
    send_error(&app, "FirstError").await;
    receiver.wait_for(1, WAIT).await;
    send_error(&app, "SecondError").await;
    receiver.wait_for(2, WAIT).await;
    app.restart_with(|config| common::alerts::fast_alerts(config, None))
        .await;

    let requests = receiver.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let titles: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.json()["issues"][0]["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles[0].starts_with("FirstError") && titles[1..].iter().all(|t| t.starts_with("SecondError")));
    assert_eq!(
        requests[1].header("idempotency-key"),
        requests[2].header("idempotency-key")
    );
    let log = wait_for_log(&app, 2, "sent").await;
    assert_eq!(log.iter().map(|d| d.attempts).collect::<Vec<_>>(), vec![2, 1]);
    let org = default_organization(&app.db).await;
    assert_eq!(org.slug, "default");
    app.stop().await;
}

on_both_databases!(
    a_new_issue_from_the_rust_sdk_is_mailed_to_the_members_with_its_link,
    a_refusing_smtp_server_gets_the_mail_once_it_accepts,
    slack_discord_teams_and_webhook_each_get_their_own_shape,
    five_in_a_minute_fires_once_for_twenty_events,
    the_cooldown_holds_a_regression_back,
    many_new_issues_within_the_window_arrive_as_one_digest,
    a_restart_loses_no_pending_delivery_and_repeats_no_sent_one,
);

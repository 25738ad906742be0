//! The real binary as a user runs it: first start, request ids and clean logs, SIGKILL under load
//! losing no acknowledged event, and SIGTERM draining the queue. Both databases.

use crate::common;
use faultline::domain::ProjectId;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::binary::{free_port, start_binary, Server};
use common::{envelope, new_event_id, Backend, TestDatabase};
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::{ChannelConfig, HookSettings};
use faultline::domain::alerts::RuleSpec;
use faultline::store::{alerts, events, organizations, projects, Db};
use serde_json::json;

async fn start_server(database_url: &str) -> Server {
    let settings = [
        // Alerts go to ports where nothing listens, so delivery attempts fail and log their errors.
        ("FAULTLINE_SMTP_HOST", "127.0.0.1".to_owned()),
        ("FAULTLINE_SMTP_PORT", free_port().to_string()),
        ("FAULTLINE_SMTP_TLS", "none".to_owned()),
        ("FAULTLINE_SMTP_USERNAME", "mailer".to_owned()),
        ("FAULTLINE_SMTP_PASSWORD", SMTP_PASSWORD.to_owned()),
        ("FAULTLINE_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("FAULTLINE_NOTIFY_RETRY_BASE_MS", "100".to_owned()),
    ];
    start_binary(database_url, &settings).await
}

const SMTP_PASSWORD: &str = "smtp-password-secret";
const HOOK_TOKEN: &str = "hook-token-secret";

/// Makes the default rule also send to a webhook whose URL carries a token, and gives the built-in email
/// channel a recipient, so both kinds of delivery are attempted (and fail) when the next event arrives.
async fn alert_to_nowhere(db: &Db, project_id: ProjectId) {
    let org = organizations::find_organization(db, "default").await.unwrap().unwrap();
    faultline::core::accounts::create_user(
        &faultline::core::Core::offline(db.clone(), url::Url::parse("http://localhost/").unwrap()),
        faultline::core::accounts::NewUser {
            email: "dev@example.com",
            name: None,
            password: "a-long-password",
            admin: false,
            organization: None,
            role: Some(Role::Member),
        },
    )
    .await
    .unwrap();
    let hook = ChannelConfig::Slack(HookSettings {
        url: format!("http://127.0.0.1:{}/services/{HOOK_TOKEN}", free_port()),
    });
    let channel = alerts::create_channel(db, org.id, "nowhere", &hook).await.unwrap();
    let mut rule = alerts::list_rules(db, project_id).await.unwrap().remove(0);
    rule.channel_ids.push(channel.id);
    let spec = RuleSpec {
        name: rule.name,
        enabled: true,
        triggers: rule.triggers,
        conditions: rule.conditions,
        cooldown_minutes: rule.cooldown_minutes,
        channel_ids: rule.channel_ids,
    };
    alerts::update_rule(db, project_id, rule.id, &spec).await.unwrap();
}

async fn wait_for_failed_attempts(db: &Db, project_id: ProjectId) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = alerts::list_deliveries(db, project_id, 10).await.unwrap();
        if log.len() == 2 && log.iter().all(|d| d.attempts >= 2) {
            return;
        }
        assert!(Instant::now() < deadline, "deliveries not attempted: {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn default_key(db: &Db) -> (ProjectId, String) {
    let project = projects::find_project_by_slug(db, "default").await.unwrap().unwrap();
    let key = projects::list_keys(db, project.id).await.unwrap().remove(0);
    (project.id, key.public_key)
}

/// Posts events from `workers` tasks until `stop` is set; returns the acknowledged ids.
async fn load(base: String, project_id: ProjectId, key: String, stop: Arc<AtomicBool>, workers: usize) -> Vec<String> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (client, base, key, stop, acked) =
                (client.clone(), base.clone(), key.clone(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let id = new_event_id();
                    let body = envelope(&id, &json!({"message": format!("load from worker {w}")}));
                    let sent = client
                        .post(format!("{base}/api/{project_id}/envelope/"))
                        .header("x-sentry-auth", format!("Sentry sentry_version=7, sentry_key={key}"))
                        .body(body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push(id),
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let ids = acked.lock().unwrap().clone();
    ids
}

async fn first_start_prints_dsn_and_logs_carry_request_ids_but_no_secrets(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let mut server = start_server(&database.url).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    let (project_id, key) = default_key(&db).await;
    alert_to_nowhere(&db, project_id).await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/{project_id}/envelope/?sentry_key={key}&sentry_version=7",
            server.base
        ))
        .header("x-request-id", "req-test-4711")
        .header("cookie", "sessionid=cookie-secret-value")
        .header("authorization", "Bearer bearer-secret-value")
        .body(envelope(
            &new_event_id(),
            &json!({"message": "hi", "extra": {"password": "hunter2-secret"}}),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-test-4711");
    // A request that fails is logged with its request id (a routine success is logged at DEBUG only).
    let refused = reqwest::Client::new()
        .post(format!(
            "{}/api/{project_id}/envelope/?sentry_key={key}&sentry_version=7",
            server.base
        ))
        .header("x-request-id", "req-test-4712")
        .header("authorization", "Bearer bearer-secret-value")
        .body("not an envelope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let generated = reqwest::get(format!("{}/healthz", server.base)).await.unwrap();
    assert!(!generated.headers()["x-request-id"].is_empty());
    wait_for_failed_attempts(&db, project_id).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let log = std::fs::read_to_string(&server.log).unwrap();
    // Only FAULTLINE_BIND is set: the DSN names the port the server listens on.
    let dsn = server.dsn(&key, project_id);
    assert!(log.contains(&dsn), "DSN {dsn} printed on first start");
    assert!(
        log.contains("FAULTLINE_URL is not set"),
        "the start-up warning about links"
    );
    assert!(
        log.contains("alert delivery failed; will retry"),
        "delivery errors are logged"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("req-test-4711") && l.contains("finished processing request")),
        "a routine ingest success costs no INFO line"
    );
    let request_line = log
        .lines()
        .find(|l| l.contains("req-test-4712"))
        .expect("a log line with the request id");
    assert!(
        request_line.contains("/api/{project_id}/envelope/"),
        "route template logged: {request_line}"
    );
    for secret in [
        "cookie-secret-value",
        "bearer-secret-value",
        "hunter2-secret",
        "sentry_key=",
        SMTP_PASSWORD,
        HOOK_TOKEN,
    ] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
    // Every start prints the default project's DSN, not only the first.
    let mut again = start_server(&database.url).await;
    again.child.kill().unwrap();
    again.child.wait().unwrap();
    let log = std::fs::read_to_string(&again.log).unwrap();
    let dsn = again.dsn(&key, project_id);
    assert!(log.contains(&dsn), "DSN {dsn} printed on a later start: {log}");
    db.close().await;
    database.drop_database().await;
}

async fn sigkill_under_load_loses_no_acknowledged_event(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let mut server = start_server(&database.url).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    let (project_id, key) = default_key(&db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let loader = tokio::spawn(load(server.base.clone(), project_id, key, stop.clone(), 16));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().unwrap(); // SIGKILL: no chance to flush anything
    server.child.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let acked = loader.await.unwrap();
    assert!(
        acked.len() > 50,
        "the load produced acknowledged events ({})",
        acked.len()
    );
    let stored = events::stored_event_ids(&db, project_id, &acked).await.unwrap();
    println!("SIGKILL: {} acknowledged, {} of them stored", acked.len(), stored.len());
    assert_eq!(stored.len(), acked.len(), "every acknowledged event survives SIGKILL");
    // And the database opens again cleanly for a restarted server.
    let mut restarted = start_server(&database.url).await;
    restarted.child.kill().unwrap();
    restarted.child.wait().unwrap();
    db.close().await;
    database.drop_database().await;
}

async fn sigterm_drains_the_queue_and_exits_cleanly(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let mut server = start_server(&database.url).await;
    let db = Db::connect(&database.url, 2).await.unwrap();
    let (project_id, key) = default_key(&db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let loader = tokio::spawn(load(server.base.clone(), project_id, key, stop.clone(), 16));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let acked = loader.await.unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(!acked.is_empty());
    let stored = events::stored_event_ids(&db, project_id, &acked).await.unwrap();
    assert_eq!(stored.len(), acked.len());
    db.close().await;
    database.drop_database().await;
}

on_both_databases!(
    first_start_prints_dsn_and_logs_carry_request_ids_but_no_secrets,
    sigkill_under_load_loses_no_acknowledged_event,
    sigterm_drains_the_queue_and_exits_cleanly,
);

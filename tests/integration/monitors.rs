//! Cron monitors on both databases: check-ins create a monitor from their `monitor_config` and follow a run
//! from in_progress to ok; the clock marks missed check-ins and timed-out runs once, even when two ticks
//! race or run again; a failure opens an incident whose issue alerts (a webhook and PagerDuty) and a
//! recovery resolves it (PagerDuty resolve); the plain HTTP check-in URL; Sentry's monitor API; and bad
//! check-ins refused with a sentence and nothing stored.

use crate::common;

use std::time::Duration;

use common::alerts::{alert_app, channel, only_rule};
use common::api::Token;
use common::monitors::rewind;
use common::receiver::{Receiver, Reply};
use common::{envelope, exception_event, item_envelope, new_event_id, run_python_script, Backend, TestApp};
use faultline::core::monitors::run_clock_tick;
use faultline::core::{retention, Core};
use faultline::domain::alerts::channel::{ChannelConfig, PagerDutySettings, SignedHookSettings};
use faultline::domain::alerts::Triggers;
use faultline::domain::Timestamp;
use reqwest::Method;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);
const MINUTE: i64 = 60_000;

fn check_in(slug: &str, status: &str, id: &str, config: Option<Value>) -> Value {
    let mut value = json!({"check_in_id": id, "monitor_slug": slug, "status": status, "environment": "production"});
    if let Some(config) = config {
        value["monitor_config"] = config;
    }
    value
}

fn every_minute(max_runtime: i64) -> Value {
    json!({"schedule": {"type": "crontab", "value": "* * * * *"}, "checkin_margin": 1, "max_runtime": max_runtime,
           "timezone": "Europe/Vienna"})
}

async fn post_check_in(app: &TestApp, value: &Value) -> reqwest::Response {
    app.post_envelope(item_envelope("check_in", &new_event_id(), value))
        .await
}

async fn monitors(app: &TestApp, token: &Token) -> Vec<Value> {
    let listed = app
        .get_json(token, "/api/0/organizations/default/monitors/")
        .await
        .expect(200);
    listed.as_array().unwrap().clone()
}

async fn runs_of(app: &TestApp, token: &Token, slug: &str) -> Vec<Value> {
    let path = format!("/api/0/organizations/default/monitors/{slug}/checkins/");
    app.get_json(token, &path).await.expect(200).as_array().unwrap().clone()
}

fn statuses(runs: &[Value]) -> Vec<&str> {
    runs.iter().map(|r| r["status"].as_str().unwrap()).collect()
}

fn core_of(app: &TestApp) -> Core {
    Core::offline(app.db.clone(), url::Url::parse("http://localhost/").unwrap())
}

async fn a_run_is_followed_from_in_progress_to_ok(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let id = new_event_id();
    let started = post_check_in(
        &app,
        &check_in("Nightly Report", "in_progress", &id, Some(every_minute(30))),
    )
    .await;
    assert_eq!(started.status(), 200);
    let listed = monitors(&app, &token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["slug"], "nightly-report");
    assert_eq!(listed[0]["status"], "in_progress");
    assert_eq!(listed[0]["config"]["schedule"], "* * * * *");
    assert_eq!(listed[0]["config"]["timezone"], "Europe/Vienna");
    let mut done = check_in("nightly-report", "ok", &id, None);
    done["duration"] = json!(2.5);
    assert_eq!(post_check_in(&app, &done).await.status(), 200);
    // A re-sent close changes nothing.
    assert_eq!(post_check_in(&app, &done).await.status(), 200);
    let listed = monitors(&app, &token).await;
    assert_eq!(listed[0]["status"], "ok");
    let runs = runs_of(&app, &token, "nightly-report").await;
    assert_eq!(statuses(&runs), ["ok"], "one run, closed");
    assert_eq!(runs[0]["duration"], 2500);
    assert_eq!(runs[0]["environment"], "production");
    // Past the project's retention the runs go with the events; the monitor stays.
    let day = 86_400_000;
    let core = core_of(&app);
    retention::sweep(&core, 90, Timestamp::now().as_millis() + day)
        .await
        .unwrap();
    assert_eq!(runs_of(&app, &token, "nightly-report").await.len(), 1);
    retention::sweep(&core, 90, Timestamp::now().as_millis() + 91 * day)
        .await
        .unwrap();
    assert!(runs_of(&app, &token, "nightly-report").await.is_empty());
    assert_eq!(monitors(&app, &token).await.len(), 1);
    app.stop().await;
}

/// A webhook (new issues and regressions) and a PagerDuty channel on the project's only rule.
async fn alerting_to(app: &TestApp, hook: &Receiver, pager: &Receiver) {
    let webhook = ChannelConfig::Webhook(SignedHookSettings {
        url: hook.url("/hook"),
        secret: "secret".into(),
    });
    let pagerduty = ChannelConfig::PagerDuty(PagerDutySettings {
        routing_key: "R0ut1ngKeyOfTheCheckoutService42".into(),
        events_url: Some(pager.url("/v2/enqueue")),
    });
    let ids = vec![
        channel(&app.db, "hook", webhook).await,
        channel(&app.db, "pager", pagerduty).await,
    ];
    let triggers = Triggers {
        new_issue: true,
        regression: true,
        ..Triggers::default()
    };
    only_rule(app, triggers, 0, ids).await;
}

async fn the_clock_marks_each_miss_once_and_failures_page_until_recovery(backend: Backend) {
    let hook = Receiver::start().await;
    let pager = Receiver::with_replies(vec![Reply::with_body(202, r#"{"status":"success"}"#); 8]).await;
    let app = alert_app(backend, None, |_| {}).await;
    alerting_to(&app, &hook, &pager).await;
    let token = app.owner_token().await;
    // The monitor exists from its first run; then it goes quiet.
    let id = new_event_id();
    post_check_in(&app, &check_in("sync", "ok", &id, Some(every_minute(30)))).await;
    let book = core_of(&app).monitor_book();
    rewind(&app, "sync", 5).await;
    let now = Timestamp::now();
    // Two processes' ticks racing, then a third (a restart): every expected time is marked once.
    let (a, b) = tokio::join!(run_clock_tick(&book, now), run_clock_tick(&book, now));
    let again = run_clock_tick(&book, now).await.unwrap();
    let marked = a.unwrap().missed + b.unwrap().missed + again.missed;
    let missed = runs_of(&app, &token, "sync").await;
    let missed_count = statuses(&missed).iter().filter(|s| **s == "missed").count();
    assert!(
        (3..=5).contains(&missed_count),
        "the minutes between +1 and +4 were missed: {missed_count}"
    );
    assert_eq!(marked, missed_count, "each miss marked by exactly one tick");
    assert_eq!(again.missed, 0);
    let listed = monitors(&app, &token).await;
    assert_eq!(listed[0]["status"], "missed_checkin");
    let issue_id = listed[0]["issue"]["id"]
        .as_str()
        .expect("the failures have an issue")
        .to_owned();

    // The first miss opened the incident: a new issue, announced once on each channel.
    let hooks = hook.wait_for(1, WAIT).await;
    let text = String::from_utf8_lossy(&hooks[0].body);
    assert!(text.contains("sync missed a check-in"), "{text}");
    let pages = pager.wait_for(1, WAIT).await;
    assert_eq!(pages[0].json()["event_action"], "trigger");

    // A successful run recovers the monitor: its issue is resolved, and so is the page.
    assert_eq!(
        post_check_in(&app, &check_in("sync", "ok", &new_event_id(), None))
            .await
            .status(),
        200
    );
    let issue = app
        .get_json(&token, &format!("/api/0/issues/{issue_id}/"))
        .await
        .expect(200);
    assert_eq!(issue["status"], "resolved");
    let pages = pager.wait_for(2, WAIT).await;
    assert_eq!(pages[1].json()["event_action"], "resolve");
    assert_eq!(pages[1].json()["dedup_key"], pages[0].json()["dedup_key"]);

    // It fails again: the issue regresses and pages anew.
    let failed = post_check_in(&app, &check_in("sync", "error", &new_event_id(), None)).await;
    assert_eq!(failed.status(), 200);
    let issue = app
        .get_json(&token, &format!("/api/0/issues/{issue_id}/"))
        .await
        .expect(200);
    assert_eq!(issue["status"], "unresolved");
    assert_eq!(hook.wait_for(2, WAIT).await.len(), 2);
    assert_eq!(pager.wait_for(3, WAIT).await[2].json()["event_action"], "trigger");
    app.stop().await;
}

async fn a_run_past_its_longest_runtime_times_out_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let id = new_event_id();
    post_check_in(&app, &check_in("backup", "in_progress", &id, Some(every_minute(2)))).await;
    let book = core_of(&app).monitor_book();
    // Within the margin nothing is marked.
    let soon = run_clock_tick(&book, Timestamp::now()).await.unwrap();
    assert_eq!((soon.missed, soon.timed_out), (0, 0));
    rewind(&app, "backup", 3).await;
    let now = Timestamp::now();
    let (a, b) = tokio::join!(run_clock_tick(&book, now), run_clock_tick(&book, now));
    assert_eq!(
        a.unwrap().timed_out + b.unwrap().timed_out,
        1,
        "one timeout, whichever tick marked it"
    );
    // The job's own close comes too late: the run stays timed out.
    assert_eq!(
        post_check_in(&app, &check_in("backup", "ok", &id, None)).await.status(),
        200
    );
    let runs = runs_of(&app, &token, "backup").await;
    let timed_out: Vec<_> = runs
        .iter()
        .filter(|r| r["id"].as_str().unwrap().replace('-', "") == id)
        .collect();
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0]["status"], "timeout");
    assert!(timed_out[0]["duration"].as_i64().unwrap() >= 3 * MINUTE - 1000);
    app.stop().await;
}

async fn shell_crons_check_in_over_plain_http(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let base = format!("/api/{}/cron/db-dump/{}/", app.project_id, app.public_key);
    let config = json!({"monitor_config": {"schedule": {"type": "interval", "value": 1, "unit": "day"}}});
    let created = app
        .client
        .post(app.url(&format!("{base}?status=in_progress")))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let run_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let closed = app
        .client
        .get(app.url(&format!("{base}?status=ok&check_in_id={run_id}&duration=42")))
        .send()
        .await;
    assert_eq!(closed.unwrap().status(), 202);
    let dumps = runs_of(&app, &token, "db-dump").await;
    assert_eq!(statuses(&dumps), ["ok"]);
    assert_eq!(dumps[0]["duration"], 42_000);
    let listed = monitors(&app, &token).await;
    assert_eq!(listed[0]["config"]["schedule"], json!([1, "day"]));

    let no_status = app.client.get(app.url(&base)).send().await.unwrap();
    assert_eq!(no_status.status(), 400);
    assert!(no_status.text().await.unwrap().contains("status=ok"));
    let wrong_key = format!("/api/{}/cron/db-dump/{}/?status=ok", app.project_id, "0".repeat(32));
    let refused = app.client.get(app.url(&wrong_key)).send().await.unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(
        runs_of(&app, &token, "db-dump").await.len(),
        1,
        "nothing stored by the refused ones"
    );
    app.stop().await;
}

async fn monitors_are_managed_through_sentrys_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let body = json!({"project": "default", "name": "Weekly invoices", "type": "cron_job",
                      "config": {"schedule_type": "crontab", "schedule": "0 6 * * 1", "timezone": "America/New_York",
                                 "checkin_margin": 10, "max_runtime": 60, "failure_issue_threshold": 2}});
    let path = "/api/0/organizations/default/monitors/";
    let created = app
        .api(&token, Method::POST, path, Some(body.clone()))
        .await
        .expect(201);
    assert_eq!(created["slug"], "weekly-invoices");
    assert_eq!(created["status"], "active");
    assert_eq!(created["config"]["failure_issue_threshold"], 2);
    assert_eq!(
        app.api(&token, Method::POST, path, Some(body)).await.status.as_u16(),
        409
    );
    let one = format!("{path}weekly-invoices/");
    let change = json!({"name": "Invoices", "config": {"schedule": {"type": "interval", "value": 7, "unit": "day"}}});
    let changed = app.api(&token, Method::PUT, &one, Some(change)).await.expect(200);
    assert_eq!(changed["name"], "Invoices");
    assert_eq!(changed["config"]["schedule"], json!([7, "day"]));
    let bad = json!({"config": {"schedule": {"type": "crontab", "value": "* * * * * * *"}}});
    let refused = app.api(&token, Method::PUT, &one, Some(bad)).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(refused.body["detail"].as_str().unwrap().contains("five fields"));
    assert_eq!(app.get_json(&token, &one).await.expect(200)["name"], "Invoices");
    assert_eq!(app.api(&token, Method::DELETE, &one, None).await.status.as_u16(), 202);
    assert_eq!(app.get_json(&token, &one).await.status.as_u16(), 404);
    app.stop().await;
}

async fn bad_check_ins_are_refused_with_a_sentence_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let refusals = [
        (check_in("ghost", "ok", &new_event_id(), None), "no monitor `ghost`"),
        (
            check_in(
                "seven",
                "ok",
                &new_event_id(),
                Some(json!({"schedule": {"type": "crontab", "value": "* * * * * * *"}})),
            ),
            "five fields",
        ),
        (
            check_in(
                "mars",
                "ok",
                &new_event_id(),
                Some(json!({"schedule": "0 * * * *", "timezone": "Mars/Olympus"})),
            ),
            "Mars/Olympus",
        ),
        (
            json!({"monitor_slug": "x", "status": "missed"}),
            "in_progress, ok or error",
        ),
        (
            json!({"monitor_slug": "big", "status": "ok", "environment": "x".repeat(200 * 1024)}),
            "at most 100 KiB",
        ),
    ];
    for (value, sentence) in refusals {
        let response = post_check_in(&app, &value).await;
        assert_eq!(response.status(), 400, "{value}");
        let text = response.text().await.unwrap();
        assert!(text.contains(sentence), "{text}");
    }
    assert!(monitors(&app, &token).await.is_empty(), "nothing of them was stored");
    // Beside an event, the bad check-in is counted and the event is stored.
    let event_id = new_event_id();
    let mut body = envelope(&event_id, &exception_event("KeyError", "x", "app", "f", 1));
    body.extend_from_slice(b"{\"type\":\"check_in\"}\n");
    body.extend_from_slice(check_in("ghost", "ok", &new_event_id(), None).to_string().as_bytes());
    body.push(b'\n');
    assert_eq!(app.post_envelope(body).await.status(), 200);
    let events = app
        .get_json(&token, "/api/0/projects/default/default/events/")
        .await
        .expect(200);
    assert_eq!(events.as_array().unwrap().len(), 1);
    app.stop().await;
}

/// The official Python SDK's `@monitor` jobs: one succeeds, one raises; a third monitor, made through the API
/// as someone would in the UI, never reports and is marked missed.
async fn python_sdk_monitor_jobs_are_followed_and_the_silent_one_is_missed(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the cron end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    run_python_script(&python, "cron_jobs.py", &app.dsn()).await;

    let by_slug = |listed: &[Value], slug: &str| listed.iter().find(|m| m["slug"] == slug).cloned().unwrap();
    let listed = monitors(&app, &token).await;
    let nightly = by_slug(&listed, "nightly-report");
    assert_eq!(nightly["status"], "ok");
    assert_eq!(nightly["config"]["timezone"], "Europe/Vienna");
    assert_eq!(nightly["config"]["checkin_margin"], 5);
    let runs = runs_of(&app, &token, "nightly-report").await;
    assert_eq!(statuses(&runs), ["ok"], "in_progress, then closed as ok");
    assert!(
        runs[0]["duration"].as_i64().unwrap() >= 150,
        "the SDK's measured duration"
    );
    assert_eq!(runs[0]["environment"], "production");

    let sync = by_slug(&listed, "invoice-sync");
    assert_eq!(sync["status"], "error");
    assert_eq!(sync["config"]["schedule"], json!([10, "minute"]));
    let issue_id = sync["issue"]["id"].as_str().expect("the failure opened an issue");
    let issue = app
        .get_json(&token, &format!("/api/0/issues/{issue_id}/"))
        .await
        .expect(200);
    assert_eq!(issue["title"], "Cron failure: invoice-sync reported an error");

    let body = json!({"project": "default", "name": "Weekly cleanup",
                      "config": {"schedule": {"type": "interval", "value": 1, "unit": "week"}}});
    app.api(
        &token,
        Method::POST,
        "/api/0/organizations/default/monitors/",
        Some(body),
    )
    .await
    .expect(201);
    rewind(&app, "weekly-cleanup", 8 * 24 * 60).await;
    let marks = run_clock_tick(&core_of(&app).monitor_book(), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(marks.missed, 1, "only the silent monitor was due");
    let listed = monitors(&app, &token).await;
    assert_eq!(by_slug(&listed, "weekly-cleanup")["status"], "missed_checkin");
    assert_eq!(by_slug(&listed, "nightly-report")["status"], "ok");
    app.stop().await;
}

on_both_databases!(
    python_sdk_monitor_jobs_are_followed_and_the_silent_one_is_missed,
    a_run_is_followed_from_in_progress_to_ok,
    the_clock_marks_each_miss_once_and_failures_page_until_recovery,
    a_run_past_its_longest_runtime_times_out_once,
    shell_crons_check_in_over_plain_http,
    monitors_are_managed_through_sentrys_api,
    bad_check_ins_are_refused_with_a_sentence_and_nothing_is_stored,
);

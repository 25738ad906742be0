//! A project's daily quota and spike protection: events beyond them get 429 with `Retry-After` and a
//! project-scoped `X-Sentry-Rate-Limits` and are counted as rate limited; the quota is set through the API
//! and the Data page, bad values refused with a sentence. And every limit holds across two processes on one
//! database, with the next window admitting again. Both databases.

use crate::common;

use common::api::{error_detail, json_body};
use common::{close_store, envelope, new_event_id, open_store, Backend, TestApp};
use faultline::config::SpikeSetting;
use faultline::core::limits::{Limiter, ProjectLimited};
use faultline::domain::limits::KeyRateLimit;
use faultline::domain::outcomes::{Category, Outcome};
use faultline::domain::quotas::{DailyQuota, SpikeRule, DAY_MS};
use faultline::domain::ProjectId;
use faultline::store::outcomes::{add_outcomes, OutcomeKey};
use faultline::store::{now_ms, projects, Db};
use reqwest::Method;
use serde_json::json;

const PROJECT: &str = "/api/0/projects/default/default/";
const SETTINGS: &str = "/organizations/default/projects/default/settings/";

async fn send(app: &TestApp) -> reqwest::Response {
    app.post_envelope(envelope(&new_event_id(), &json!({"message": "hi"})))
        .await
}

async fn metrics(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    response.text().await.unwrap()
}

/// Waits out the last seconds of a minute, so a test's events fall in one minute's window.
async fn early_in_a_minute() {
    let second = (now_ms() / 1000) % 60;
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

async fn a_spent_daily_quota_gets_429_until_utc_midnight(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let body = json!({"options": {"faultline:daily-quota": 2, "faultline:retention-days": 30}});
    let changed = json_body(app.api(&token, Method::PUT, PROJECT, Some(body)).await, 200);
    assert_eq!(changed["options"]["faultline:daily-quota"], 2, "{changed}");
    let shown = json_body(app.get_json(&token, PROJECT).await, 200);
    assert_eq!(shown["options"]["faultline:daily-quota"], 2, "{shown}");
    assert_eq!(shown["options"]["faultline:retention-days"], 30, "{shown}");
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..3 {
        let response = send(&app).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            refused = Some(response);
        }
    }
    assert_eq!(statuses, vec![200, 200, 429]);
    let refused = refused.unwrap();
    let retry_after: i64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let to_midnight = (DAY_MS - now_ms().rem_euclid(DAY_MS)) / 1000;
    assert!((retry_after - to_midnight).abs() <= 5, "{retry_after} vs {to_midnight}");
    let limits = refused.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(
        limits.ends_with(":project:project_quota") && limits.contains("error"),
        "{limits}"
    );
    let text = metrics(&app).await;
    assert!(
        text.contains("faultline_events_rejected_total{reason=\"project_quota\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("faultline_outcomes_total{category=\"default\",outcome=\"rate_limited\"}")
            || text.contains("faultline_outcomes_total{category=\"error\",outcome=\"rate_limited\"} 1"),
        "{text}"
    );
    let cleared = json!({"options": {"faultline:daily-quota": null}});
    json_body(app.api(&token, Method::PUT, PROJECT, Some(cleared)).await, 200);
    assert_eq!(
        send(&app).await.status(),
        200,
        "a removed quota applies to the next event"
    );
    app.stop().await;
}

async fn bad_quotas_and_retentions_are_a_400_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for (options, words) in [
        (json!({"faultline:daily-quota": -1}), "from 1 to 1000000000, not -1"),
        (
            json!({"faultline:daily-quota": 1_000_000_000_000_i64}),
            "not 1000000000000",
        ),
        (json!({"faultline:daily-quota": "lots"}), "not \"lots\""),
        (
            json!({"faultline:retention-days": 0, "faultline:daily-quota": 5}),
            "retention must be from 1 to 3650",
        ),
        (
            json!({"faultline:retention-days": "a month"}),
            "must be a whole number of days",
        ),
    ] {
        let body = json!({"options": options});
        let detail = error_detail(app.api(&token, Method::PUT, PROJECT, Some(body)).await, 400);
        assert!(detail.contains(words), "{detail}");
    }
    let shown = json_body(app.get_json(&token, PROJECT).await, 200);
    assert_eq!(shown["options"]["faultline:daily-quota"], json!(null), "nothing stored");
    assert_eq!(
        shown["options"]["faultline:retention-days"],
        json!(null),
        "nothing stored"
    );
    let admin = app.signed_in_admin("admin@example.com").await;
    let data = format!("{SETTINGS}data");
    let page = admin
        .submit(SETTINGS, &data, &[("daily_quota", "lots")])
        .await
        .expect(400);
    assert!(
        page.body.contains("The daily quota must be a whole number"),
        "{}",
        page.body
    );
    let page = admin
        .submit(SETTINGS, &data, &[("daily_quota", "-1")])
        .await
        .expect(400);
    assert!(page.body.contains("not -1"), "{}", page.body);
    admin
        .submit(SETTINGS, &data, &[("daily_quota", "500"), ("retention_days", "")])
        .await
        .expect(303);
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(
        page.body
            .contains(r#"name="daily_quota" inputmode="numeric" value="500""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("The default key's rate limit: none"),
        "{}",
        page.body
    );
    let shown = json_body(app.get_json(&token, PROJECT).await, 200);
    assert_eq!(shown["options"]["faultline:daily-quota"], 500);
    app.stop().await;
}

async fn spike_protection_limits_a_project_far_above_its_usual_rate(backend: Backend) {
    let spike = SpikeRule {
        multiplier: 10,
        floor: 3,
    };
    let app = TestApp::spawn_with(backend, |config| config.spike_protection = SpikeSetting(Some(spike))).await;
    early_in_a_minute().await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        let response = send(&app).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            refused = Some(response);
        }
    }
    assert_eq!(
        statuses,
        vec![200, 200, 200, 429],
        "no history: the floor of 3 a minute"
    );
    let refused = refused.unwrap();
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let limits = refused.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(limits.ends_with(":project:spike_protection"), "{limits}");
    let text = metrics(&app).await;
    assert!(
        text.contains("faultline_events_rejected_total{reason=\"spike_protection\"} 1"),
        "{text}"
    );
    app.stop().await;
}

/// Another process's view: its own connections to the same database and its own counts.
async fn second_process(url: &str, spike: Option<SpikeRule>) -> (Db, Limiter) {
    let other = Db::connect(url, 4).await.unwrap();
    (other.clone(), Limiter::new(other, spike))
}

async fn limits_hold_across_two_processes_and_the_next_window_admits(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let project = ProjectId::from(1);
    let one = Limiter::new(db.clone(), None);
    let (other_db, two) = second_process(&database.url, None).await;
    let quota = Some(DailyQuota(5));
    let noon = (now_ms() / DAY_MS) * DAY_MS + DAY_MS / 2;
    for _ in 0..3 {
        one.take_project(project, quota, noon).unwrap();
    }
    one.sync(noon).await.unwrap();
    // A process learns a counter's shared total at its first sync after its first event there.
    two.take_project(project, quota, noon).unwrap();
    two.sync(noon).await.unwrap();
    two.take_project(project, quota, noon).unwrap();
    assert_eq!(
        two.take_project(project, quota, noon),
        Err(ProjectLimited::Quota {
            retry_after_secs: 43_200
        }),
        "3 taken by the other process, 2 here"
    );
    two.sync(noon).await.unwrap();
    one.sync(noon).await.unwrap();
    assert!(
        one.take_project(project, quota, noon + 1000).is_err(),
        "the first sees the second's"
    );
    assert!(
        one.take_project(project, quota, noon + DAY_MS).is_ok(),
        "the next UTC day admits"
    );
    let limit = KeyRateLimit::new(2, 60).unwrap();
    assert!(one.take_key(7, limit, noon).is_ok());
    one.sync(noon).await.unwrap();
    assert!(two.take_key(7, limit, noon).is_ok());
    two.sync(noon).await.unwrap();
    assert_eq!(two.take_key(7, limit, noon), Err(60), "the key's count is shared too");
    // Ended windows are deleted from the shared table.
    one.sync(noon + 2 * DAY_MS).await.unwrap();
    two.refresh(noon + 2 * DAY_MS).await.unwrap();
    two.sync(noon + 2 * DAY_MS).await.unwrap();
    let (three_db, three) = second_process(&database.url, None).await;
    three.sync(noon + DAY_MS).await.unwrap();
    assert!(
        three.take_project(project, Some(DailyQuota(1)), noon + DAY_MS).is_ok(),
        "the day's row is gone"
    );
    three_db.close().await;
    other_db.close().await;
    close_store(database, db).await;
}

async fn spike_protection_allows_k_times_the_usual_rate_across_processes(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    faultline::core::projects::ensure_default_project(&db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    let project = projects::find_project_by_slug(&db, "default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = now_ms();
    let hour = now - now.rem_euclid(3_600_000) - 3_600_000;
    // 1440 events over the last day: one a minute usually, so ten a minute with k = 10.
    let key = OutcomeKey {
        project_id: project,
        key_id: 0,
        category: Category::Error.as_str(),
        outcome: Outcome::Accepted.as_str(),
        reason: String::new(),
        hour,
    };
    add_outcomes(&db, &[(key, 1440)]).await.unwrap();
    let spike = Some(SpikeRule {
        multiplier: 10,
        floor: 2,
    });
    let one = Limiter::new(db.clone(), spike);
    let (other_db, two) = second_process(&database.url, spike).await;
    one.refresh(now).await.unwrap();
    two.refresh(now).await.unwrap();
    let minute = now - now.rem_euclid(60_000) + 1000;
    for _ in 0..6 {
        one.take_project(project, None, minute).unwrap();
    }
    one.sync(minute).await.unwrap();
    two.take_project(project, None, minute).unwrap();
    two.sync(minute).await.unwrap();
    for _ in 0..3 {
        two.take_project(project, None, minute).unwrap();
    }
    assert_eq!(
        two.take_project(project, None, minute),
        Err(ProjectLimited::Spike { retry_after_secs: 59 })
    );
    assert!(
        two.take_project(project, None, minute + 60_000).is_ok(),
        "the next minute admits"
    );
    other_db.close().await;
    close_store(database, db).await;
}

on_both_databases!(
    a_spent_daily_quota_gets_429_until_utc_midnight,
    bad_quotas_and_retentions_are_a_400_with_a_sentence,
    spike_protection_limits_a_project_far_above_its_usual_rate,
    limits_hold_across_two_processes_and_the_next_window_admits,
    spike_protection_allows_k_times_the_usual_rate_across_processes,
);

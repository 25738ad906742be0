//! Release health on both databases: `sessions` aggregates (as the Python SDK sends them for Django requests)
//! and `session` updates (as the browser SDK sends them) counted per release; Sentry's sessions query and the
//! release API's `healthData` answer from them; releases named by sessions exist; bad items are a 400 with a
//! sentence and nothing of their envelope is stored.

use crate::common;

use common::api::Token;
use common::{envelope, exception_event, item_envelope, new_event_id, Backend, TestApp};
use faultline::core::{retention, Core};
use faultline::domain::accounts::Role;
use faultline::domain::release_health::UserGrouping;
use faultline::store::now_ms;
use faultline::store::release_health::{self, HealthFilter};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A minute ago, as the SDKs write `started`.
fn a_minute_ago() -> String {
    let at = OffsetDateTime::from_unix_timestamp(now_ms() / 1000 - 60).unwrap();
    at.format(&Rfc3339).unwrap()
}

fn aggregates(release: &str, bucket: Value) -> Value {
    let mut bucket = bucket;
    bucket["started"] = json!(a_minute_ago());
    json!({"attrs": {"release": release, "environment": "production"}, "aggregates": [bucket]})
}

fn session(sid: &str, did: &str, init: bool, status: &str, errors: i64) -> Value {
    json!({"sid": sid, "did": did, "init": init, "started": a_minute_ago(), "timestamp": a_minute_ago(),
           "status": status, "errors": errors, "attrs": {"release": "shop@2.0", "environment": "production"}})
}

async fn post(app: &TestApp, item_type: &str, item: &Value) -> reqwest::Response {
    app.post_envelope(item_envelope(item_type, &new_event_id(), item)).await
}

async fn sessions_query(app: &TestApp, token: &Token, query: &str) -> Value {
    app.get_json(token, &format!("/api/0/organizations/default/sessions/?{query}"))
        .await
        .expect(200)
}

/// Each group's `by` value of `column` and its totals.
fn totals_by(answer: &Value, column: &str) -> Vec<(String, Value)> {
    let mut groups: Vec<(String, Value)> = answer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["by"][column].as_str().unwrap().to_owned(), g["totals"].clone()))
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

async fn sessions_are_counted_per_release_and_answered_in_sentrys_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let python = aggregates(
        "shop@1.0",
        json!({"did": "u1", "exited": 7, "errored": 2, "crashed": 1}),
    );
    let response = post(&app, "sessions", &python).await;
    assert_eq!(response.status(), 200);
    let limits = response
        .headers()
        .get("x-sentry-rate-limits")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        !limits.unwrap_or_default().contains("session"),
        "sessions are stored, not announced as dropped"
    );
    assert_eq!(
        post(&app, "sessions", &aggregates("shop@2.0", json!({"exited": 3})))
            .await
            .status(),
        200
    );
    // A browser session: started, then crashed (the update carries the whole state, counted once).
    for update in [
        session("s1", "u2", true, "ok", 0),
        session("s1", "u2", false, "crashed", 1),
    ] {
        assert_eq!(post(&app, "session", &update).await.status(), 200);
    }

    let fields = "field=sum(session)&field=crash_free_rate(session)&field=count_unique(user)\
                  &field=crash_free_rate(user)";
    let answer = sessions_query(
        &app,
        &token,
        &format!("{fields}&groupBy=release&statsPeriod=24h&interval=1h"),
    )
    .await;
    assert_eq!(answer["intervals"].as_array().unwrap().len(), 24, "{answer}");
    assert_eq!(answer["query"], "");
    let groups = totals_by(&answer, "release");
    assert_eq!(groups[0].0, "shop@1.0");
    assert_eq!(groups[0].1["sum(session)"], 10);
    assert_eq!(groups[0].1["crash_free_rate(session)"], 0.9);
    assert_eq!(groups[0].1["count_unique(user)"], 1);
    assert_eq!(groups[0].1["crash_free_rate(user)"], 0.0, "u1's bucket had a crash");
    assert_eq!(groups[1].0, "shop@2.0");
    assert_eq!(groups[1].1["sum(session)"], 4);
    assert_eq!(groups[1].1["crash_free_rate(session)"], 0.75);
    let series = &answer["groups"][0]["series"]["sum(session)"];
    assert_eq!(
        series.as_array().unwrap().iter().filter_map(Value::as_i64).sum::<i64>(),
        10,
        "{series}"
    );

    let by_status = sessions_query(&app, &token, "field=sum(session)&groupBy=session.status").await;
    let statuses: Vec<(String, i64)> = totals_by(&by_status, "session.status")
        .into_iter()
        .map(|(status, totals)| (status, totals["sum(session)"].as_i64().unwrap()))
        .collect();
    let expected = [("abnormal", 0), ("crashed", 2), ("errored", 2), ("healthy", 10)];
    assert_eq!(statuses, expected.map(|(s, n)| (s.to_owned(), n)).to_vec());
    let one = sessions_query(&app, &token, "field=sum(session)&query=release:shop@2.0").await;
    assert_eq!(one["groups"][0]["totals"]["sum(session)"], 4, "{one}");

    let refused = app
        .get_json(
            &token,
            "/api/0/organizations/default/sessions/?field=avg(session.duration)",
        )
        .await
        .expect(400);
    assert!(refused.to_string().contains("avg(session.duration)"), "{refused}");

    // Releases named by sessions exist, and carry their health with `health=1`.
    let releases = app
        .get_json(&token, "/api/0/organizations/default/releases/?health=1")
        .await
        .expect(200);
    let health = |version: &str| {
        let release = releases.as_array().unwrap().iter().find(|r| r["version"] == version);
        release.unwrap_or_else(|| panic!("{version} in {releases}"))["projects"][0]["healthData"].clone()
    };
    assert_eq!(health("shop@1.0")["crashFreeSessions"], 90.0);
    assert_eq!(health("shop@1.0")["totalSessions"], 10);
    assert_eq!(health("shop@2.0")["crashFreeUsers"], 0.0);
    assert_eq!(health("shop@2.0")["sessionsAdoption"], 100.0 * 4.0 / 14.0);
    assert_eq!(health("shop@2.0")["hasHealthData"], true);

    // The project's Releases page: newest first, each against the one before.
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = web
        .get("/organizations/default/projects/default/releases/")
        .await
        .expect(200)
        .body;
    let rows: Vec<String> = page
        .split("<tr><td class=\"release\">")
        .skip(1)
        .map(|r| format!(">{r}"))
        .collect();
    assert_eq!(rows.len(), 2, "{page}");
    for (row, expected) in rows.iter().zip([
        ["shop@2.0", "4", "75.0 %", "0.0 %", "28.6 %", "-15.0 pts vs shop@1.0"],
        ["shop@1.0", "10", "90.0 %", "0.0 %", "71.4 %", "first release"],
    ]) {
        for text in expected {
            assert!(row.contains(&format!(">{text}<")), "{text} in {row}");
        }
    }
    // An issue of release shop@1.0 shows that release's health.
    let mut event = exception_event("KeyError", "boom", "shop.views", "index", 7);
    event["release"] = json!("shop@1.0");
    assert_eq!(app.post_envelope(envelope(&new_event_id(), &event)).await.status(), 200);
    let issue = &faultline::store::issues::list_issues(&app.db, app.project_id)
        .await
        .unwrap()[0];
    let page = web
        .get(&format!("/organizations/default/issues/{}/", issue.id))
        .await
        .expect(200)
        .body;
    let expected = "Release shop@1.0, last 24 hours: 90.0 % crash-free sessions, 0.0 % crash-free users, 10 sessions";
    assert!(page.contains(expected), "{page}");
    app.stop().await;
}

async fn bad_sessions_are_refused_and_nothing_of_them_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let negative = aggregates("shop@1.0", json!({"exited": -3}));
    let response = post(&app, "sessions", &negative).await;
    assert_eq!(response.status(), 400);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("`exited` must be a whole number"));
    // One good item and one without a release: neither is counted.
    let good = serde_json::to_vec(&aggregates("shop@1.0", json!({"exited": 5}))).unwrap();
    let bad = serde_json::to_vec(&json!({"sid": "s", "started": a_minute_ago(), "attrs": {}})).unwrap();
    let mut body = b"{}\n".to_vec();
    for (ty, payload) in [("sessions", &good), ("session", &bad)] {
        body.extend(format!("{{\"type\":\"{ty}\",\"length\":{}}}\n", payload.len()).into_bytes());
        body.extend(payload);
        body.push(b'\n');
    }
    let response = app.post_envelope(body).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("attrs.release"));
    let answer = sessions_query(&app, &token, "field=sum(session)").await;
    assert_eq!(answer["groups"], json!([]), "nothing half-stored: {answer}");
    // Beside an error, a bad session does not cost the error.
    let event = exception_event("KeyError", "boom", "shop.views", "index", 7);
    let mut with_session = envelope(&new_event_id(), &event);
    let payload = serde_json::to_vec(&negative).unwrap();
    with_session.extend(format!("{{\"type\":\"sessions\",\"length\":{}}}\n", payload.len()).into_bytes());
    with_session.extend(payload);
    assert_eq!(app.post_envelope(with_session).await.status(), 200);
    let issues = faultline::store::issues::list_issues(&app.db, app.project_id)
        .await
        .unwrap();
    assert_eq!(issues.len(), 1);
    app.stop().await;
}

async fn sessions_expire_with_their_projects_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bucket = json!({"did": "u1", "exited": 3, "crashed": 1});
    assert_eq!(
        post(&app, "sessions", &aggregates("shop@1.0", bucket)).await.status(),
        200
    );
    let crash = session("s9", "u2", true, "crashed", 1);
    assert_eq!(post(&app, "session", &crash).await.status(), 200);
    let projects = [app.project_id];
    let everything = |since_ms| HealthFilter {
        projects: &projects,
        since_ms,
        until_ms: i64::MAX,
        environment: None,
        release: None,
    };
    let users = UserGrouping {
        by_release: false,
        by_environment: false,
        by_hour: false,
    };
    let hours = release_health::hours(&app.db, &everything(0)).await.unwrap();
    assert_eq!(hours.iter().map(|h| h.started).sum::<i64>(), 5);
    let core = Core::offline(app.db.clone(), url::Url::parse("http://localhost/").unwrap());
    let day = 86_400_000;
    // A day later nothing is due; past the 90 days' retention all of it is gone.
    retention::sweep(&core, 90, now_ms() + day).await.unwrap();
    assert_eq!(
        release_health::hours(&app.db, &everything(0)).await.unwrap().len(),
        2,
        "two releases, one hour"
    );
    retention::sweep(&core, 90, now_ms() + 91 * day).await.unwrap();
    assert!(release_health::hours(&app.db, &everything(0)).await.unwrap().is_empty());
    let left = release_health::users(&app.db, &everything(0), users).await.unwrap();
    assert_eq!(left[0].users, 0, "the users went with them");
    app.stop().await;
}

on_both_databases!(
    sessions_expire_with_their_projects_events,
    sessions_are_counted_per_release_and_answered_in_sentrys_shape,
    bad_sessions_are_refused_and_nothing_of_them_is_stored,
);

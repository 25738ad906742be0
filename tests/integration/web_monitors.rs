//! The cron monitor pages on both databases: the project's list shows each monitor (created by an SDK's
//! check-ins) with its health and one timeline block per run, oldest first; a monitor's page shows its
//! check-ins, the missed ones with their expected time, its incidents and its issue; monitors are created,
//! edited and deleted through the forms, a refused setting coming back as the core's sentence; names are
//! escaped; members may look but not change; other organizations get 404.

use crate::common;

use common::monitors::rewind;
use common::{item_envelope, new_event_id, Backend, TestApp};
use faultline::core::monitors::run_clock_tick;
use faultline::core::Core;
use faultline::domain::accounts::Role;
use faultline::domain::Timestamp;
use faultline::store::organizations;
use serde_json::{json, Value};

const LIST: &str = "/organizations/default/projects/default/monitors/";

async fn check_in(app: &TestApp, slug: &str, status: &str, id: &str, extra: Value) {
    let mut value = json!({"check_in_id": id, "monitor_slug": slug, "status": status, "environment": "production",
                           "monitor_config": {"schedule": {"type": "crontab", "value": "* * * * *"},
                                              "timezone": "Europe/Vienna", "max_runtime": 30}});
    if let (Some(value), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        value.extend(extra.clone());
    }
    let answer = app
        .post_envelope(item_envelope("check_in", &new_event_id(), &value))
        .await;
    assert_eq!(answer.status(), 200);
}

/// The `data-status` of each timeline block in the row of the monitor `slug`, left to right.
fn timeline(page: &str, slug: &str) -> Vec<String> {
    let start = page
        .find(&format!("data-slug=\"{slug}\""))
        .unwrap_or_else(|| panic!("a row for {slug} in {page}"));
    let row = &page[start..start + page[start..].find("</tr>").expect("row end")];
    row.split("<li class=\"run ")
        .skip(1)
        .map(|block| {
            let status = &block[block.find("data-status=\"").expect("a status") + 13..];
            status[..status.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn the_list_shows_each_monitor_with_a_block_per_run(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = new_event_id();
    check_in(&app, "nightly", "in_progress", &first, json!({})).await;
    check_in(&app, "nightly", "ok", &first, json!({"duration": 2.5})).await;
    check_in(&app, "nightly", "error", &new_event_id(), json!({})).await;
    check_in(&app, "nightly", "in_progress", &new_event_id(), json!({})).await;
    check_in(&app, "sync", "ok", &new_event_id(), json!({})).await;
    rewind(&app, "sync", 3).await;
    let core = Core::offline(app.db.clone(), url::Url::parse("http://localhost/").unwrap());
    run_clock_tick(&core.monitor_book(), Timestamp::now()).await.unwrap();

    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let projects = web.get("/organizations/default/").await.expect(200).body;
    assert!(
        projects.contains(&format!("href=\"{LIST}\"")),
        "linked from the project"
    );
    let page = web.get(LIST).await.expect(200).body;
    assert!(page.contains("href=\"/organizations/default/projects/default/monitors/nightly/\">nightly</a>"));
    assert_eq!(
        timeline(&page, "nightly"),
        ["ok", "error", "in progress"],
        "oldest left"
    );
    assert!(page.contains("class=\"run run-ok\" data-status=\"ok\" title=\"ok · "));
    assert!(page.contains(" · took 2.5 s\""), "the duration in the tooltip");
    assert!(page.contains("class=\"run run-error\" data-status=\"error\""));
    assert!(page.contains("class=\"run run-running\" data-status=\"in progress\""));
    let sync = timeline(&page, "sync");
    assert_eq!(sync.iter().filter(|s| *s == "ok").count(), 1, "{sync:?}");
    assert!(sync.iter().filter(|s| *s == "missed").count() >= 1, "{sync:?}");
    assert!(page.contains("class=\"run run-missed\" data-status=\"missed\""));
    assert!(
        page.contains("badge health health-running\">running"),
        "nightly is running"
    );
    assert!(page.contains("badge health health-missed\">missed"), "sync missed");
    assert!(page.contains("Europe/Vienna") && page.contains("<code>* * * * *</code>"));
    assert!(!page.contains("id=\"new-monitor\""), "members get no form");

    // The monitor's page: check-ins with the expected time of the missed ones, an incident, the issue.
    let sync = web.get(&format!("{LIST}sync/")).await.expect(200).body;
    let runs = &sync[sync.find("id=\"check-ins\"").expect("a check-in table")..];
    assert!(runs.contains("data-status=\"missed\""), "{runs}");
    assert!(
        runs.contains("<time datetime=\"") && runs.contains("UTC</time>"),
        "expected time shown"
    );
    assert!(
        sync.contains("id=\"incidents\"") && sync.contains("<td>missed</td>"),
        "{sync}"
    );
    assert!(sync.contains("id=\"monitor-issue\""), "linked to its issue");
    assert!(!sync.contains("id=\"edit-monitor\""), "members get no edit form");
    // A member may not change a monitor: the core says no.
    let denied = web
        .submit(&format!("{LIST}sync/"), &format!("{LIST}sync/delete"), &[])
        .await;
    assert_eq!(denied.status, 403);

    // Another organization sees nothing of it.
    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let outsider = app.signed_in("ops@acme.test", Some("acme"), Role::Owner).await;
    outsider.get(LIST).await.expect(404);
    outsider.get(&format!("{LIST}sync/")).await.expect(404);
    app.stop().await;
}

fn fields<'a>(name: &'a str, crontab: &'a str, timezone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("schedule_type", "crontab"),
        ("crontab", crontab),
        ("interval_value", "1"),
        ("interval_unit", "hour"),
        ("timezone", timezone),
        ("checkin_margin", "5"),
        ("max_runtime", "30"),
        ("failure_threshold", "1"),
        ("recovery_threshold", "1"),
    ]
}

async fn monitors_are_created_edited_and_deleted_through_the_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let web = app.signed_in("lead@example.com", None, Role::Admin).await;
    let empty = web.get(LIST).await.expect(200).body;
    assert!(empty.contains("id=\"monitors-empty\"") && empty.contains("monitor_config"));

    let refused = web
        .submit(LIST, LIST, &fields("Backup", "* * * * * * *", "UTC"))
        .await
        .expect(400);
    assert!(refused.body.contains("A crontab has five fields"), "{}", refused.body);
    assert!(
        refused.body.contains("value=\"Backup\""),
        "the form comes back as typed"
    );
    let refused = web
        .submit(LIST, LIST, &fields("Backup", "0 3 * * *", "Mars/Olympus"))
        .await
        .expect(400);
    assert!(refused.body.contains("is not a time zone"), "{}", refused.body);

    let name = "<script>alert(1)</script> backup";
    let mut create = fields(name, "0 3 * * *", "Europe/Vienna");
    create.push(("slug", "backup"));
    let created = web.submit(LIST, LIST, &create).await.expect(303);
    let path = format!("{LIST}backup/");
    assert_eq!(created.location(), Some(path.as_str()));
    let taken = web.submit(LIST, LIST, &create).await.expect(409);
    assert!(taken.body.contains("already exists"), "{}", taken.body);
    for page in [
        web.get(LIST).await.expect(200).body,
        web.get(&path).await.expect(200).body,
    ] {
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62; backup"),
            "{page}"
        );
        assert!(!page.contains("<script>alert(1)"), "escaped");
    }
    let page = web.get(&path).await.expect(200).body;
    assert!(page.contains("0 3 * * * (Europe/Vienna)") && page.contains("badge health health-waiting"));

    let mut edit = fields("Backup", "", "UTC");
    edit[1] = ("schedule_type", "interval");
    edit[3] = ("interval_value", "2");
    let saved = web.submit(&path, &path, &edit).await.expect(303);
    assert_eq!(saved.location(), Some(format!("{path}?notice=saved").as_str()));
    let page = web.get(&path).await.expect(200).body;
    assert!(page.contains("every 2 hours (UTC)"), "{page}");
    let list = web.get(LIST).await.expect(200).body;
    assert!(list.contains("<code>every 2 hours</code>"));
    edit[7] = ("max_runtime", "0");
    let refused = web.submit(&path, &path, &edit).await.expect(400);
    assert!(
        refused.body.contains("Max_runtime must be a whole number of minutes"),
        "{}",
        refused.body
    );

    let deleted = web.submit(&path, &format!("{path}delete"), &[]).await.expect(303);
    assert_eq!(deleted.location(), Some(format!("{LIST}?notice=deleted").as_str()));
    web.get(&path).await.expect(404);
    assert!(web.get(LIST).await.expect(200).body.contains("id=\"monitors-empty\""));
    app.stop().await;
}

on_both_databases!(
    the_list_shows_each_monitor_with_a_block_per_run,
    monitors_are_created_edited_and_deleted_through_the_forms,
);

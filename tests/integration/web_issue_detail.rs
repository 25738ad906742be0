//! The issue page: a real SDK event shown in full (exception chain, frames, context, vars, breadcrumbs,
//! request, user, contexts, tag facets, grouping), event navigation and raw JSON, every action, and
//! access checks. Both databases.

use crate::common;
use faultline::domain::ProjectId;

use common::web::WebClient;
use common::{corpus_envelopes, corpus_for, envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::domain::lifecycle::{IgnoreCondition, IssueStatus, Resolution};
use faultline::store::issues::{self, Issue};
use faultline::store::{now_ms, organizations, Db};
use serde_json::{json, Value};

/// Sends the first corpus envelope whose file name contains `name`; returns its event id.
async fn send_corpus(app: &TestApp, name: &str) -> String {
    let (_, bytes) = corpus_envelopes()
        .into_iter()
        .find(|(file, _)| file.contains(name))
        .expect("corpus file");
    let bytes = corpus_for(app, &bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let event: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(app.post_envelope(bytes).await.status(), 200);
    event["event_id"].as_str().unwrap().replace('-', "")
}

async fn send(app: &TestApp, event: &Value) -> String {
    let id = new_event_id();
    assert_eq!(app.post_envelope(envelope(&id, event)).await.status(), 200);
    id
}

async fn only_issue(db: &Db, project_id: ProjectId) -> Issue {
    let mut all = issues::list_issues(db, project_id).await.unwrap();
    assert_eq!(all.len(), 1, "one issue");
    all.remove(0)
}

/// Text as askama writes it into the page.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle:?} on the page"))
}

/// The href of the link with this `rel`, if the page has one.
fn rel_link(body: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\" href=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..start + body[start..].find('"')?].to_owned())
}

fn issue_url(issue: &Issue) -> String {
    format!("/organizations/default/issues/{}/", issue.id)
}

async fn the_page_shows_a_real_event_in_full(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    send_corpus(&app, "000_wsgi_zero_division").await;
    let issue = only_issue(&app.db, app.project_id).await;
    let page = browser.get(&issue_url(&issue)).await.expect(200);
    let body = &page.body;

    assert!(body.contains("<h1>ZeroDivisionError: division by zero</h1>"), "title");
    assert!(
        body.contains(&escaped(&issue.culprit)) && !issue.culprit.is_empty(),
        "culprit"
    );
    assert!(body.contains("DEFAULT-1"), "short id");
    assert!(body.contains("status-unresolved"), "status");
    // Frames newest first: the crashing function before its callers.
    let crash = position(body, "<span class=\"fn\">compute_average_price</span>");
    assert!(crash < position(body, "<span class=\"fn\">apply_discount</span>"));
    assert!(
        position(body, "<span class=\"fn\">apply_discount</span>")
            < position(body, "<span class=\"fn\">wsgi_app</span>")
    );
    assert!(body.contains(
        "<div class=\"line hl\"><span class=\"ln\">79</span><code>    return total / count  # ZeroDivisionError when the cart is empty</code></div>"
    ));
    assert!(
        body.contains("<dt>total</dt><dd>0</dd>") && body.contains("<dt>count</dt><dd>0</dd>"),
        "local variables"
    );
    assert!(body.contains("<details open>"), "in-app frames expanded");
    assert!(body.contains("<span class=\"tag unhandled\">unhandled</span>"));
    // Breadcrumbs, request, user, contexts.
    assert!(body.contains("<td>shop.orders</td>") && body.contains("<td>loading order 4711</td>"));
    assert!(
        body.contains("<th scope=\"row\">X-Request-Id</th><td>req-000100</td>"),
        "request headers"
    );
    assert!(body.contains("<span class=\"url\">http://shop.example.com/api/orders/4711/summary/</span>"));
    assert!(
        !body.contains("href=\"http://shop.example.com"),
        "the URL is text, not a link"
    );
    assert!(body.contains("<dt>email</dt><dd>user100@example.com</dd>"), "user");
    assert!(
        body.contains("<h4>runtime</h4>") && body.contains("CPython"),
        "contexts"
    );
    // Tag facets with percentages, linking to the filtered events where the events can be filtered.
    assert!(
        body.contains("<span>eu-west-1</span>\n          <span class=\"facet-pct\">100%</span>"),
        "{body}"
    );
    assert!(body.contains("<rect class=\"fill\" x=\"0\" y=\"0\" width=\"100\" height=\"6\">"));
    let level_link = format!(
        "href=\"/organizations/default/issues/{}/events/?tag=level%3Aerror\"",
        issue.id
    );
    assert!(body.contains(&level_link));
    // Why grouped here.
    assert!(!issue.grouping_components.is_empty());
    for component in &issue.grouping_components {
        assert!(
            body.contains(&format!("<li><code>{}</code></li>", escaped(component))),
            "{component}"
        );
    }
    assert!(body.contains("Grouping v1"));
    // Charts: this hour's bar on the day chart.
    assert!(body.contains("aria-label=\"Last 24 hours: 1 events\""));
    app.stop().await;
}

async fn chained_exceptions_mark_the_root_cause(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    send_corpus(&app, "003_chained_cause").await;
    let issue = only_issue(&app.db, app.project_id).await;
    let body = browser.get(&issue_url(&issue)).await.expect(200).body;
    let raised = position(&body, "<span class=\"exc-type\">KeyError</span>");
    let middle = position(&body, "<span class=\"exc-type\">UpstreamUnavailable</span>");
    let root = position(&body, "<span class=\"exc-type\">ConnectionRefusedError</span>");
    assert!(
        raised < middle && middle < root,
        "the raised exception first, the root cause last"
    );
    let badge = position(&body, "Root cause</span>");
    assert!(badge > middle && badge < root, "the badge marks ConnectionRefusedError");
    assert_eq!(body.matches("Root cause</span>").count(), 1);
    assert!(body.contains("<article class=\"exception root-cause\">"));
    app.stop().await;
}

async fn library_frames_wait_behind_the_toggle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    send(
        &app,
        &exception_event("ZeroDivisionError", "division by zero", "shop.cart", "total", 12),
    )
    .await;
    let issue = only_issue(&app.db, app.project_id).await;
    let body = browser.get(&issue_url(&issue)).await.expect(200).body;
    assert!(
        body.contains("<li class=\"frame library lib-frame\" hidden>"),
        "the django frame is hidden"
    );
    assert!(body.contains("<li class=\"frame in-app\">\n<details open>"));
    assert!(body.contains(
        "data-toggle=\"lib-frame\" aria-expanded=\"false\" data-labels=\"Show all frames|Show only in-app frames\""
    ));
    assert!(
        position(&body, "<span class=\"fn\">total</span>") < position(&body, "<span class=\"fn\">get_response</span>")
    );

    // A stack with no in-app frame shows every frame, and needs no toggle.
    let mut library_only = exception_event("OSError", "disk full", "shop.files", "save", 3);
    library_only["exception"]["values"][0]["stacktrace"]["frames"][1]["in_app"] = json!(false);
    send(&app, &library_only).await;
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let other = all.iter().find(|i| i.id != issue.id).unwrap();
    let body = browser.get(&issue_url(other)).await.expect(200).body;
    assert!(!body.contains("lib-frame"));
    assert!(!body.contains("data-toggle=\"lib-frame\""));
    app.stop().await;
}

async fn event_navigation_and_raw_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let now = now_ms() as f64 / 1000.0;
    let mut ids = Vec::new();
    for age in [300.0, 200.0, 100.0] {
        let mut event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
        event["timestamp"] = json!(now - age);
        ids.push(send(&app, &event).await);
    }
    let (oldest, middle, newest) = (&ids[0], &ids[1], &ids[2]);
    let issue = only_issue(&app.db, app.project_id).await;
    let base = format!("/organizations/default/issues/{}", issue.id);
    let event_url = |id: &str| format!("{base}/events/{id}/");

    let first = browser.get(&issue_url(&issue)).await.expect(200).body;
    assert!(
        first.contains(&format!("<span class=\"mono event-id\">{newest}</span>")),
        "the newest event by default"
    );
    assert_eq!(rel_link(&first, "first"), None);
    assert_eq!(rel_link(&first, "prev"), None);
    assert_eq!(rel_link(&first, "next"), Some(event_url(middle)));
    assert_eq!(rel_link(&first, "last"), Some(event_url(oldest)));

    let second = browser.get(&event_url(middle)).await.expect(200).body;
    assert!(second.contains(&format!("<span class=\"mono event-id\">{middle}</span>")));
    assert_eq!(rel_link(&second, "first"), Some(event_url(newest)));
    assert_eq!(rel_link(&second, "prev"), Some(event_url(newest)));
    assert_eq!(rel_link(&second, "next"), Some(event_url(oldest)));
    assert_eq!(rel_link(&second, "last"), Some(event_url(oldest)));

    let third = browser.get(&event_url(oldest)).await.expect(200).body;
    assert_eq!(rel_link(&third, "prev"), Some(event_url(middle)));
    assert_eq!(rel_link(&third, "next"), None);
    assert_eq!(rel_link(&third, "last"), None);
    assert!(third.contains(&format!("href=\"{base}/events/\">All events</a>")));

    let list = browser.get(&format!("{base}/events/")).await.expect(200).body;
    let rows: Vec<usize> = [newest, middle, oldest]
        .iter()
        .map(|id| position(&list, &event_url(id)))
        .collect();
    assert!(rows[0] < rows[1] && rows[1] < rows[2], "newest first");

    let raw = browser.get(&format!("{base}/events/{middle}/json")).await.expect(200);
    assert_eq!(raw.headers["content-type"], "application/json");
    assert!(raw.body.contains("\n  \"event_id\""), "pretty printed");
    let stored: Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(stored["event_id"], middle.as_str());
    app.stop().await;
}

async fn tag_facets_filter_the_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    for (environment, plan) in [
        ("production", "gold"),
        ("production", "free"),
        ("staging&<test>", "free"),
    ] {
        let mut event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
        event["environment"] = json!(environment);
        event["tags"] = json!({ "plan": plan });
        send(&app, &event).await;
    }
    let issue = only_issue(&app.db, app.project_id).await;
    let body = browser.get(&issue_url(&issue)).await.expect(200).body;
    let production = format!(
        "/organizations/default/issues/{}/events/?tag=environment%3Aproduction",
        issue.id
    );
    assert!(body.contains(&format!(
        "<a href=\"{production}\">production</a>\n          <span class=\"facet-pct\">67%</span>"
    )));
    let staging = format!(
        "/organizations/default/issues/{}/events/?tag=environment%3Astaging%26%3Ctest%3E",
        issue.id
    );
    assert!(body.contains(&format!(
        "<a href=\"{}\">staging&#38;&#60;test&#62;</a>",
        escaped(&staging)
    )));
    assert!(
        body.contains("<span>free</span>\n          <span class=\"facet-pct\">67%</span>"),
        "plain tags have no link"
    );
    assert!(body.contains("width=\"33\""));

    let filtered = browser.get(&production).await.expect(200).body;
    assert_eq!(filtered.matches("<td>production</td>").count(), 2);
    assert!(!filtered.contains("staging"));
    let filtered = browser.get(&staging).await.expect(200).body;
    assert_eq!(filtered.matches("<td>staging&#38;&#60;test&#62;</td>").count(), 1);
    assert_eq!(filtered.matches("<td>production</td>").count(), 0);
    let unsupported = format!("/organizations/default/issues/{}/events/?tag=plan%3Afree", issue.id);
    browser.get(&unsupported).await.expect(400);
    app.stop().await;
}

async fn post_action(browser: &WebClient, issue: &Issue, fields: &[(&str, &str)]) -> String {
    let page = issue_url(issue);
    let answer = browser
        .submit(&page, &format!("{page}action"), fields)
        .await
        .expect(303);
    answer.location().unwrap().to_owned()
}

async fn reload(db: &Db, issue: &Issue) -> Issue {
    issues::get_issue(db, issue.id)
        .await
        .unwrap()
        .expect("issue still there")
}

async fn every_action_changes_the_issue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    let mut event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
    event["release"] = json!("shop@1.2.0");
    send(&app, &event).await;
    let issue = only_issue(&app.db, app.project_id).await;
    let page = issue_url(&issue);

    assert_eq!(post_action(&member, &issue, &[("action", "resolve")]).await, page);
    assert_eq!(reload(&app.db, &issue).await.state.status, IssueStatus::Resolved);
    let body = member.get(&page).await.expect(200).body;
    assert!(body.contains("status-resolved") && body.contains("value=\"unresolve\">Reopen</button>"));

    post_action(&member, &issue, &[("action", "unresolve")]).await;
    assert_eq!(reload(&app.db, &issue).await.state.status, IssueStatus::Unresolved);
    assert!(!member.get(&page).await.expect(200).body.contains(">Reopen</button>"));

    post_action(&member, &issue, &[("action", "ignore_count"), ("count", "5")]).await;
    let state = reload(&app.db, &issue).await.state;
    assert_eq!(state.status, IssueStatus::Ignored);
    assert_eq!(
        state.ignore,
        Some(IgnoreCondition::UntilCount {
            times_seen_target: issue.times_seen + 5
        })
    );
    assert!(member.get(&page).await.expect(200).body.contains("until 5 more events"));

    let before = now_ms();
    post_action(&member, &issue, &[("action", "ignore_minutes"), ("minutes", "30")]).await;
    match reload(&app.db, &issue).await.state.ignore {
        Some(IgnoreCondition::UntilTime { until }) => {
            let until_ms = until.as_millis();
            assert!(until_ms >= before + 30 * 60_000 && until_ms <= now_ms() + 30 * 60_000)
        }
        other => panic!("ignored for 30 minutes, got {other:?}"),
    }

    post_action(&member, &issue, &[("action", "ignore_forever")]).await;
    assert_eq!(
        reload(&app.db, &issue).await.state.ignore,
        Some(IgnoreCondition::Forever)
    );

    post_action(&member, &issue, &[("action", "resolve_next_release")]).await;
    let state = reload(&app.db, &issue).await.state;
    assert_eq!(
        state.resolution,
        Some(Resolution::InNextRelease {
            latest_at_resolve: Some("shop@1.2.0".into())
        })
    );
    assert!(member
        .get(&page)
        .await
        .expect(200)
        .body
        .contains("in the next release after shop@1.2.0"));

    post_action(&member, &issue, &[("action", "resolve_current_release")]).await;
    let state = reload(&app.db, &issue).await.state;
    assert_eq!(state.resolution, Some(Resolution::InRelease("shop@1.2.0".into())));
    assert!(member
        .get(&page)
        .await
        .expect(200)
        .body
        .contains("in release shop@1.2.0"));

    let action = format!("{page}action");
    member
        .submit(&page, &action, &[("action", "ignore_count"), ("count", "zero")])
        .await
        .expect(400);
    member
        .submit(&page, &action, &[("action", "explode")])
        .await
        .expect(400);
    member.post_raw(&action, &[("action", "resolve")]).await.expect(403);

    // Deleting is for admins and owners.
    assert!(!member.get(&page).await.expect(200).body.contains("value=\"delete\""));
    member.submit(&page, &action, &[("action", "delete")]).await.expect(403);
    reload(&app.db, &issue).await;
    let admin = app.signed_in("lead@example.com", None, Role::Admin).await;
    assert!(admin.get(&page).await.expect(200).body.contains("data-confirm="));
    assert_eq!(
        post_action(&admin, &issue, &[("action", "delete")]).await,
        "/organizations/default/issues/"
    );
    assert!(issues::get_issue(&app.db, issue.id).await.unwrap().is_none());
    admin.get(&page).await.expect(404);
    app.stop().await;
}

async fn other_organizations_and_issues_are_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let member = app.signed_in("dev@example.com", None, Role::Member).await;
    let own_event = send(&app, &exception_event("KeyError", "'sku'", "shop.cart", "add", 10)).await;
    let other_event = send(&app, &exception_event("TypeError", "bad", "shop.pay", "charge", 20)).await;
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let own = all.iter().find(|i| i.title.starts_with("KeyError")).unwrap();

    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let dsn = app.create_project(Some("acme"), "web").await;
    let acme_event = new_event_id();
    let sent = app
        .client
        .post(dsn.envelope_url())
        .header(
            "x-sentry-auth",
            format!("Sentry sentry_version=7, sentry_key={}", dsn.public_key.as_str()),
        )
        .body(envelope(
            &acme_event,
            &exception_event("ValueError", "x", "acme.app", "run", 3),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let acme = organizations::find_organization(&app.db, "acme")
        .await
        .unwrap()
        .unwrap();
    let acme_project = faultline::store::projects::find_organization_project(&app.db, acme.id, "web")
        .await
        .unwrap()
        .unwrap();
    let theirs = only_issue(&app.db, acme_project.id).await;

    let own_base = format!("/organizations/default/issues/{}", own.id);
    member.get(&format!("{own_base}/events/{own_event}/")).await.expect(200);
    for path in [
        format!("/organizations/default/issues/{}/", theirs.id),
        format!("/organizations/acme/issues/{}/", theirs.id),
        format!("/organizations/default/issues/{}/events/", theirs.id),
        format!("/organizations/default/issues/{}/events/{acme_event}/json", theirs.id),
        format!("{own_base}/events/{other_event}/"),
        format!("{own_base}/events/{other_event}/json"),
        format!("{own_base}/events/{acme_event}/"),
        format!("{own_base}/events/{}/", "0".repeat(32)),
        "/organizations/default/issues/999999/".to_owned(),
    ] {
        member.get(&path).await.expect(404);
    }
    let acme_action = format!("/organizations/default/issues/{}/action", theirs.id);
    member
        .submit(&format!("{own_base}/"), &acme_action, &[("action", "resolve")])
        .await
        .expect(404);
    assert_eq!(reload(&app.db, &theirs).await.state.status, IssueStatus::Unresolved);
    app.stop().await;
}

async fn odd_payloads_still_render(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let odd = json!({
        "platform": "python", "message": {"formatted": 5},
        "exception": {"values": [{"type": 5, "value": {"a": 1}, "mechanism": "x", "stacktrace": {"frames": "none"}}]},
        "breadcrumbs": "nope", "request": {"headers": "x", "data": [1, 2], "url": 7}, "user": "bob",
        "contexts": {"os": "Linux", "runtime": 3}, "tags": [["a"]], "sdk": "raw", "extra": null
    });
    let id = send(&app, &odd).await;
    let issue = only_issue(&app.db, app.project_id).await;
    browser.get(&issue_url(&issue)).await.expect(200);

    // A stored payload of the wrong shape altogether (as an older version might have written it): the
    // typed event cannot be read from it, so the page shows the event's row without its payload.
    let weird = serde_json::to_vec(&json!({
        "exception": [{"type": ["x"], "stacktrace": {"frames": [7, {"lineno": "twelve", "pre_context": "one", "vars": [1]}]}}],
        "breadcrumbs": [null, {"timestamp": "yesterday", "data": "x"}], "request": {"query_string": {"q": [1]}},
        "user": {"id": {"nested": true}}, "contexts": {"device": [1, 2]}, "tags": {"k": null}, "threads": 1
    }))
    .unwrap();
    let compressed = zstd::encode_all(weird.as_slice(), 3).unwrap();
    replace_payload(&app.db, &id, compressed).await;
    let body = browser
        .get(&format!("/organizations/default/issues/{}/events/{id}/", issue.id))
        .await
        .expect(200)
        .body;
    assert!(body.contains(&format!("<span class=\"mono event-id\">{id}</span>")));
    assert!(!body.contains("yesterday") && !body.contains("<h3>Breadcrumbs</h3>"));
    // Not even JSON: the page still shows the issue.
    let garbage = zstd::encode_all(&b"not json"[..], 3).unwrap();
    replace_payload(&app.db, &id, garbage).await;
    browser.get(&issue_url(&issue)).await.expect(200);
    app.stop().await;
}

async fn replace_payload(db: &Db, event_id: &str, payload: Vec<u8>) {
    let sql = "UPDATE events SET payload = $1 WHERE event_id = $2";
    let updated = match db {
        Db::Sqlite(pool, _) => sqlx::query(sql)
            .bind(payload)
            .bind(event_id)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
        Db::Postgres(pool) => sqlx::query(sql)
            .bind(payload)
            .bind(event_id)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(updated, 1);
}

on_both_databases!(
    the_page_shows_a_real_event_in_full,
    chained_exceptions_mark_the_root_cause,
    library_frames_wait_behind_the_toggle,
    event_navigation_and_raw_json,
    tag_facets_filter_the_events,
    every_action_changes_the_issue,
    other_organizations_and_issues_are_not_found,
    odd_payloads_still_render,
);

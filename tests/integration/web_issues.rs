//! The projects overview and the issue list: status tabs, search, filters, sorting, pages, bulk actions,
//! and that nothing of another organization shows or changes. Both databases.

use crate::common;

use common::web::WebClient;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::domain::lifecycle::IssueStatus;
use faultline::store::{issues, organizations};
use serde_json::{json, Value};

async fn send(app: &TestApp, event: &Value) {
    let response = app.post_envelope(envelope(&new_event_id(), event)).await;
    assert_eq!(response.status(), 200);
}

fn error(ty: &str, function: &str, environment: &str, release: &str) -> Value {
    let mut event = exception_event(ty, "boom", "shop.cart", function, 10);
    event["environment"] = json!(environment);
    event["release"] = json!(release);
    event
}

async fn issue_id(app: &TestApp, title_start: &str) -> faultline::domain::IssueId {
    issues::list_issues(&app.db, app.project_id)
        .await
        .unwrap()
        .into_iter()
        .find(|issue| issue.title.starts_with(title_start))
        .unwrap_or_else(|| panic!("an issue titled {title_start}"))
        .id
}

async fn overview_counts_unresolved_issues_and_recent_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..3 {
        send(&app, &error("KeyError", "add", "production", "1.0")).await;
    }
    send(&app, &error("ValueError", "pay", "production", "1.0")).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = browser.get("/organizations/default/").await.expect(200);
    assert!(
        page.body.contains("<strong class=\"big\">2</strong> unresolved issues"),
        "{}",
        page.body
    );
    assert!(page.body.contains("4 events in 24 h"), "{}", page.body);
    assert!(page.body.contains("<svg class=\"spark\""));
    app.stop().await;
}

async fn tabs_search_and_filters_narrow_the_list(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    send(&app, &error("KeyError", "add", "production", "1.0")).await;
    send(&app, &error("ValueError", "pay", "staging", "2.0")).await;
    send(&app, &error("TypeError", "ship", "production", "2.0")).await;
    let resolved = issues::get_issue(&app.db, issue_id(&app, "TypeError").await)
        .await
        .unwrap()
        .unwrap();
    common::change_issue_status(
        &app.db,
        resolved.id,
        &faultline::domain::lifecycle::StatusChange::Resolve,
    )
    .await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let titles = |body: &str| -> Vec<String> {
        ["KeyError", "ValueError", "TypeError"]
            .into_iter()
            .filter(|title| body.contains(&format!(">{title}: boom</a>")))
            .map(str::to_owned)
            .collect()
    };
    let list = "/organizations/default/issues/";
    let unresolved = browser.get(list).await.expect(200);
    assert_eq!(titles(&unresolved.body), ["KeyError", "ValueError"]);
    let resolved_tab = browser.get(&format!("{list}?status=resolved")).await.expect(200);
    assert_eq!(titles(&resolved_tab.body), ["TypeError"]);
    let all = browser.get(&format!("{list}?status=all")).await.expect(200);
    assert_eq!(titles(&all.body).len(), 3);
    let searched = browser.get(&format!("{list}?query=ValueError")).await.expect(200);
    assert_eq!(titles(&searched.body), ["ValueError"]);
    let by_environment = browser.get(&format!("{list}?environment=staging")).await.expect(200);
    assert_eq!(titles(&by_environment.body), ["ValueError"]);
    let by_release = browser.get(&format!("{list}?status=all&release=2.0")).await.expect(200);
    assert_eq!(titles(&by_release.body), ["ValueError", "TypeError"]);
    let bad = browser.get(&format!("{list}?query=is%3A")).await.expect(200);
    assert!(
        bad.body.contains("role=\"alert\""),
        "a bad search is explained: {}",
        bad.body
    );
    app.stop().await;
}

async fn the_project_filter_takes_a_slug_or_an_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    send(&app, &error("KeyError", "add", "production", "1.0")).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let list = "/organizations/default/issues/";
    for project in ["default".to_owned(), app.project_id.to_string()] {
        let page = browser.get(&format!("{list}?project={project}")).await.expect(200);
        assert!(
            page.body.contains(">KeyError: boom</a>"),
            "?project={project}: {}",
            page.body
        );
    }
    browser.get(&format!("{list}?project=999999")).await.expect(404);
    browser.get(&format!("{list}?project=nope")).await.expect(404);
    app.stop().await;
}

async fn sorting_and_pages_walk_every_issue_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for n in 0..30 {
        let mut event = exception_event(&format!("Error{n:02}"), "boom", "shop.cart", &format!("f{n}"), 10);
        event["fingerprint"] = json!([format!("issue-{n}")]);
        for _ in 0..=(n % 3) {
            send(&app, &event).await;
        }
    }
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let mut seen = Vec::new();
    let mut path = "/organizations/default/issues/?sort=freq".to_owned();
    loop {
        let page = browser.get(&path).await.expect(200);
        seen.extend(page.body.matches("class=\"issue-title\"").map(|_| ()));
        match next_link(&page.body) {
            Some(next) => path = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 30, "25 on the first page, 5 on the second");
    let first = browser
        .get("/organizations/default/issues/?sort=freq")
        .await
        .expect(200);
    let first_title = first.body.find("class=\"issue-title\"").unwrap();
    let three_events = first.body[first_title..].find("<strong>3</strong>");
    assert!(three_events.is_some(), "the most frequent issues come first");
    app.stop().await;
}

fn next_link(body: &str) -> Option<String> {
    let end = body.find("rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + 6;
    let close = body[start..].find('"')? + start;
    Some(body[start..close].replace("&amp;", "&").replace("&#38;", "&"))
}

async fn bulk_resolve_moves_issues_out_of_the_unresolved_tab(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    send(&app, &error("KeyError", "add", "production", "1.0")).await;
    send(&app, &error("ValueError", "pay", "production", "1.0")).await;
    let key_error = issue_id(&app, "KeyError").await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let list = "/organizations/default/issues/";
    let done = browser
        .submit(
            list,
            "/organizations/default/issues/bulk",
            &[("id", &key_error.to_string()), ("action", "resolve"), ("back", list)],
        )
        .await
        .expect(303);
    assert_eq!(done.location(), Some(list));
    let unresolved = browser.get(list).await.expect(200);
    assert!(!unresolved.body.contains("KeyError: boom"));
    assert!(unresolved.body.contains("ValueError: boom"));
    let issue = issues::get_issue(&app.db, key_error).await.unwrap().unwrap();
    assert_eq!(issue.state.status, IssueStatus::Resolved);
    app.stop().await;
}

async fn another_organizations_issues_are_out_of_reach(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    send(&app, &error("KeyError", "add", "production", "1.0")).await;
    let victim = issue_id(&app, "KeyError").await;
    organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let outsider = app.signed_in("outsider@example.com", Some("acme"), Role::Owner).await;
    outsider.get("/organizations/default/").await.expect(404);
    outsider.get("/organizations/default/issues/").await.expect(404);
    let own = outsider.get("/organizations/acme/issues/?status=all").await.expect(200);
    assert!(!own.body.contains("KeyError"));
    outsider
        .submit(
            "/organizations/acme/issues/",
            "/organizations/default/issues/bulk",
            &[("id", &victim.to_string()), ("action", "resolve")],
        )
        .await
        .expect(404);
    outsider
        .submit(
            "/organizations/acme/issues/",
            "/organizations/acme/issues/bulk",
            &[("id", &victim.to_string()), ("action", "resolve")],
        )
        .await
        .expect(303);
    let issue = issues::get_issue(&app.db, victim).await.unwrap().unwrap();
    assert_eq!(
        issue.state.status,
        IssueStatus::Unresolved,
        "an id from another organization is ignored"
    );
    app.stop().await;
}

async fn event_data_in_the_list_is_inert_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let mut event = exception_event(
        payload,
        "javascript:alert(3)",
        "shop.<b>cart</b>",
        "<svg onload=alert(4)>",
        10,
    );
    event["level"] = json!("\"><script>alert(5)</script>");
    event["environment"] = json!("<i>env</i>");
    send(&app, &event).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = browser.get("/organizations/default/issues/").await.expect(200);
    let shown_as_text = [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
    ];
    assert!(
        shown_as_text.iter().any(|text| page.body.contains(text)),
        "{}",
        page.body
    );
    for raw in ["<script>alert", "<img src=x", "<svg onload", "<b>cart", "<i>env"] {
        assert!(!page.body.contains(raw), "{raw} came through unescaped");
    }
    assert!(
        !page.body.contains("href=\"javascript:"),
        "no event value becomes a link"
    );
    app.stop().await;
}

async fn pages_carry_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    for path in ["/login", "/organizations/default/", "/organizations/default/issues/"] {
        let page = WebClient::new(&app).get(path).await;
        let page = if path == "/login" {
            page
        } else {
            browser.get(path).await
        };
        let header = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert!(!page.body.contains("<script>"), "{path}: no inline script");
        assert!(!page.body.contains(" style=\""), "{path}: no inline style");
    }
    app.stop().await;
}

on_both_databases!(
    overview_counts_unresolved_issues_and_recent_events,
    tabs_search_and_filters_narrow_the_list,
    the_project_filter_takes_a_slug_or_an_id,
    sorting_and_pages_walk_every_issue_once,
    bulk_resolve_moves_issues_out_of_the_unresolved_tab,
    another_organizations_issues_are_out_of_reach,
    event_data_in_the_list_is_inert_text,
    pages_carry_security_headers,
);

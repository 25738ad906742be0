//! Event data is attacker-controlled: an event whose every field holds HTML and `javascript:` payloads is
//! shown as inert text on every page that shows it; nothing becomes markup, a link, a class or a style.
//! Both databases. (tests/browser_ui.rs loads the same kind of event in a real browser.)

use crate::common;

use common::hostile::hostile_event;
use common::{envelope, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::issues;

/// What must never appear in a page's HTML: any payload's markup, or a `javascript:` link.
fn assert_inert(path: &str, body: &str) {
    for raw in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "<iframe",
        "<a href=\"javascript:",
        "<a href=javascript",
    ] {
        assert!(!body.contains(raw), "{path}: {raw:?} reached the page unescaped");
    }
    for attribute in [
        "href=\"javascript:",
        "href='javascript:",
        "src=\"javascript:",
        "action=\"javascript:",
    ] {
        assert!(
            !body.contains(attribute),
            "{path}: an event value became a {attribute} link"
        );
    }
    assert!(!body.contains(" style=\""), "{path}: no inline style");
}

async fn hostile_events_are_inert_on_every_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event_id = new_event_id();
    let answer = app.post_envelope(envelope(&event_id, &hostile_event())).await;
    assert_eq!(answer.status(), 200);
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let issue_page = format!("/organizations/default/issues/{}/", issue.id);
    let pages = [
        "/organizations/default/".to_owned(),
        "/organizations/default/issues/".to_owned(),
        format!(
            "/organizations/default/issues/?query={}",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        ),
        issue_page.clone(),
        format!("{issue_page}events/"),
        format!("{issue_page}events/{event_id}/"),
        "/organizations/default/projects/default/settings/".to_owned(),
    ];
    for path in &pages {
        let page = browser.get(path).await.expect(200);
        assert_inert(path, &page.body);
    }
    let detail = browser.get(&issue_page).await.expect(200);
    let escaped = [
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ];
    assert!(
        escaped.iter().any(|text| detail.body.contains(text)),
        "the payloads show as text"
    );
    assert!(
        detail.body.contains("javascript:alert(7)"),
        "the request URL shows as text"
    );

    let raw = browser
        .get(&format!("{issue_page}events/{event_id}/json"))
        .await
        .expect(200);
    let content_type = raw.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    assert_eq!(raw.headers.get("x-content-type-options").unwrap(), "nosniff");
    app.stop().await;
}

on_both_databases!(hostile_events_are_inert_on_every_page);

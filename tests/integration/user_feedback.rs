//! User feedback on both databases: a legacy `user_report` item about an error and a `feedback` item (the JS
//! SDK's shape) are stored and listed by Sentry's user-feedback API, the issue page shows what was written
//! (escaped), the API's POST stores one, and feedback without comments is a 400 with a sentence.

use crate::common;

use common::{envelope, exception_event, item_envelope, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use serde_json::{json, Value};

const FEEDBACK: &str = "/api/0/projects/default/default/user-feedback/";

async fn feedback_is_stored_listed_and_shown_escaped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let event_id = new_event_id();
    let event = exception_event("ZeroDivisionError", "division by zero", "shop.views", "pay", 12);
    assert_eq!(app.post_envelope(envelope(&event_id, &event)).await.status(), 200);
    let report = json!({"event_id": event_id, "name": "Ann", "email": "ann@example.com",
                        "comments": "It broke when I paid <script>alert(1)</script>"});
    let response = app
        .post_envelope(item_envelope("user_report", &new_event_id(), &report))
        .await;
    assert_eq!(response.status(), 200);
    let limits = response
        .headers()
        .get("x-sentry-rate-limits")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        !limits.unwrap_or_default().contains("user_report"),
        "stored, not announced as dropped"
    );
    let modern = json!({"type": "feedback", "contexts": {"feedback": {"message": "The cart is empty",
                        "contact_email": "bo@example.com", "name": "Bo", "url": "https://shop.example/cart"}}});
    assert_eq!(
        app.post_envelope(item_envelope("feedback", &new_event_id(), &modern))
            .await
            .status(),
        200
    );

    let listed = app.get_json(&token, FEEDBACK).await.expect(200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["comments"], "The cart is empty", "newest first");
    assert_eq!(listed[0]["issue"], Value::Null, "about no event");
    assert_eq!(listed[1]["eventID"], event_id.as_str());
    assert_eq!(listed[1]["name"], "Ann");
    let issues = faultline::store::issues::list_issues(&app.db, app.project_id)
        .await
        .unwrap();
    assert_eq!(issues.len(), 1, "feedback makes no issue");
    assert_eq!(listed[1]["issue"]["id"], issues[0].id.to_string());

    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = web
        .get(&format!("/organizations/default/issues/{}/", issues[0].id))
        .await
        .expect(200)
        .body;
    let section = &page[page.find("id=\"user-feedback\"").expect("a feedback section")..];
    assert!(
        section.contains("It broke when I paid &#60;script&#62;alert(1)&#60;/script&#62;"),
        "{section}"
    );
    assert!(section.contains("Ann · ann@example.com"), "{section}");
    assert!(!page.contains("<script>alert(1)"), "escaped");
    // The project's feedback page lists both, the one about the error linked to its issue.
    let list = web
        .get("/organizations/default/projects/default/feedback/")
        .await
        .expect(200)
        .body;
    let list = &list[list.find("id=\"feedback-list\"").expect("the list")..];
    assert!(
        list.find("The cart is empty").unwrap() < list.find("It broke when I paid").unwrap(),
        "newest first"
    );
    assert!(
        list.contains(&format!("/organizations/default/issues/{}/", issues[0].id)),
        "{list}"
    );
    assert!(list.contains("on https://shop.example/cart"), "{list}");
    assert!(!list.contains("<script>alert(1)"), "escaped");
    app.stop().await;
}

async fn the_api_stores_feedback_and_refuses_it_without_comments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let body = json!({"event_id": new_event_id(), "name": "Cy", "email": "cy@example.com", "comments": "Slow page"});
    let stored = app
        .api(&token, reqwest::Method::POST, FEEDBACK, Some(body))
        .await
        .expect(200);
    assert_eq!(stored["comments"], "Slow page");
    let refused = app
        .api(
            &token,
            reqwest::Method::POST,
            FEEDBACK,
            Some(json!({"name": "Cy", "comments": " "})),
        )
        .await
        .expect(400);
    assert!(refused.to_string().contains("needs its comments"), "{refused}");
    let bad_item = item_envelope(
        "user_report",
        &new_event_id(),
        &json!({"event_id": "nope", "comments": "x"}),
    );
    let response = app.post_envelope(bad_item).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("is not a UUID"));
    assert_eq!(
        app.get_json(&token, FEEDBACK)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn the_report_dialog_is_served_for_a_known_dsn_and_stores_its_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let event_id = new_event_id();
    let dsn: String = url::form_urlencoded::byte_serialize(app.dsn().as_bytes()).collect();
    let dialog = format!("/api/embed/error-page/?dsn={dsn}&eventId={event_id}&name=%3C/script%3E%3Cscript%3Ealert(1)");
    let response = app.client.get(app.url(&dialog)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let script = response.text().await.unwrap();
    assert!(
        script.contains("\\u003c/script>\\u003cscript>alert(1)"),
        "the name stays inside its JSON string"
    );
    assert!(!script.contains("</script>"), "{script}");
    let form = [
        ("name", "Ann"),
        ("email", "ann@example.com"),
        ("comments", "Paying failed"),
    ];
    let posted = app.client.post(app.url(&dialog)).form(&form).send().await.unwrap();
    assert_eq!(posted.status(), 200);
    let listed = app.get_json(&token, FEEDBACK).await.expect(200);
    assert_eq!(listed[0]["eventID"], event_id.as_str());
    assert_eq!(listed[0]["comments"], "Paying failed");
    let no_event = app
        .client
        .get(app.url(&format!("/api/embed/error-page/?dsn={dsn}")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_event.status(), 400);
    let stranger = "http%3A%2F%2F0123456789abcdef0123456789abcdef%40127.0.0.1%2F1";
    let unknown = app
        .client
        .get(app.url(&format!("/api/embed/error-page/?dsn={stranger}&eventId={event_id}")))
        .send()
        .await
        .unwrap();
    assert!(unknown.status().is_client_error(), "{}", unknown.status());
    app.stop().await;
}

on_both_databases!(
    the_report_dialog_is_served_for_a_known_dsn_and_stores_its_form,
    feedback_is_stored_listed_and_shown_escaped,
    the_api_stores_feedback_and_refuses_it_without_comments,
);

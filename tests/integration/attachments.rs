//! Event attachments on both databases: an envelope's event and attachment are stored together, Sentry's API
//! lists the attachment and serves its exact bytes only as a download, the issue page lists it with a
//! download link that another organization's user cannot follow; a re-sent envelope stores it once; an
//! attachment over the limit refuses its envelope (413, nothing stored); past the project's quota the event
//! is stored, the attachment dropped, counted and announced; and attachments expire, are evicted and are
//! deleted with their event (the file gone from disk on SQLite). End to end: the real Python SDK's attachments.

use crate::common;

use common::api::{error_detail, Token};
use common::{
    close_store, exception_event, new_event_id, open_store, operator_core, run_python_script, stored_event, Backend,
    TestApp,
};
use faultline::domain::accounts::Role;
use faultline::domain::attachments::NewAttachment;
use faultline::store::{attachments, events, issues, now_ms, record_batch, Db};
use serde_json::{json, Value};
use sha1::Digest;

/// Bytes a browser would try to render or sniff, with a NUL and a CRLF.
const HOSTILE: &[u8] = b"<html><script>alert(1)</script>\r\n\x00\xff</html>";
const DAY_MS: i64 = 24 * 3_600_000;

/// An envelope with an error event and one attachment item per `(filename, content type, bytes)`.
fn event_with_attachments(event_id: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = common::envelope(event_id, &exception_event("KeyError", "sku", "shop.cart", "add", 10));
    for (name, content_type, bytes) in files {
        let header = json!({"type": "attachment", "length": bytes.len(), "filename": name,
                            "content_type": content_type, "attachment_type": "event.attachment"});
        body.extend(format!("{header}\n").into_bytes());
        body.extend_from_slice(bytes);
        body.push(b'\n');
    }
    body
}

fn list_path(event_id: &str) -> String {
    format!("/api/0/projects/default/default/events/{event_id}/attachments/")
}

/// A download through the API, read as raw bytes.
async fn download(app: &TestApp, token: &Token, event_id: &str, id: &str) -> reqwest::Response {
    let path = format!("{}{id}/?download=1", list_path(event_id));
    app.client
        .get(app.url(&path))
        .bearer_auth(&token.0)
        .send()
        .await
        .unwrap()
}

fn assert_download_only(headers: &reqwest::header::HeaderMap, name_start: &str) {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(
        header("content-type"),
        "application/octet-stream",
        "never the sent type"
    );
    assert!(
        header("content-disposition").starts_with(&format!("attachment; filename=\"{name_start}")),
        "{headers:?}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("content-security-policy"), "sandbox");
}

/// The files under a SQLite database's attachment folder (none on Postgres).
fn files_on_disk(db: &Db) -> Vec<std::path::PathBuf> {
    let Some(root) = db.sqlite_folder().map(|f| f.join("attachments")) else {
        return Vec::new();
    };
    let projects = std::fs::read_dir(root)
        .map(|d| d.flatten().collect())
        .unwrap_or_else(|_| Vec::new());
    projects
        .into_iter()
        .flat_map(|project| std::fs::read_dir(project.path()).unwrap().flatten().map(|f| f.path()))
        .collect()
}

async fn an_event_and_its_attachment_are_stored_listed_and_downloaded_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let event_id = new_event_id();
    let body = event_with_attachments(&event_id, &[("report <1>.html", "text/html", HOSTILE)]);
    let response = app.post_envelope(body.clone()).await;
    assert_eq!(response.status(), 200);
    let limits = response.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(
        !limits.contains("attachment"),
        "stored, not announced as dropped: {limits}"
    );
    assert_eq!(app.post_envelope(body).await.status(), 200, "a re-send");

    let listed = app.get_json(&token, &list_path(&event_id)).await.expect(200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "a re-sent attachment is stored once: {listed:?}");
    let one = &listed[0];
    assert_eq!(one["name"], "report <1>.html");
    assert_eq!(one["mimetype"], "text/html");
    assert_eq!(one["headers"]["Content-Type"], "text/html");
    assert_eq!(one["type"], "event.attachment");
    assert_eq!(one["size"], HOSTILE.len());
    assert_eq!(one["sha1"], hex::encode(sha1::Sha1::digest(HOSTILE)));
    assert!(one["dateCreated"].as_str().unwrap().ends_with('Z'));
    let id = one["id"].as_str().unwrap();
    let detail = app
        .get_json(&token, &format!("{}{id}/", list_path(&event_id)))
        .await
        .expect(200);
    assert_eq!(detail["name"], "report <1>.html", "without ?download, the metadata");

    let downloaded = download(&app, &token, &event_id, id).await;
    assert_eq!(downloaded.status(), 200);
    assert_download_only(downloaded.headers(), "report <1>.html");
    assert!(downloaded.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("UTF-8''report%20%3C1%3E.html"));
    assert_eq!(&downloaded.bytes().await.unwrap()[..], HOSTILE, "exact bytes");
    if matches!(app.db, Db::Sqlite(..)) {
        assert_eq!(files_on_disk(&app.db).len(), 1, "one file, the re-send's removed");
    }

    // The issue page lists it, escaped, with a download-only link.
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap()[0].id;
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = web
        .get(&format!("/organizations/default/issues/{issue}/"))
        .await
        .expect(200)
        .body;
    let section = &page[page.find("id=\"event-attachments\"").expect("an attachments section")..];
    assert!(section.contains("report &#60;1&#62;.html"), "{section}");
    assert!(section.contains("event.attachment · text/html"), "{section}");
    let link = format!("/organizations/default/issues/{issue}/events/{event_id}/attachments/{id}/");
    assert!(section.contains(&format!("href=\"{link}\" download")), "{section}");
    let file = web.get(&link).await;
    assert_eq!(file.status, 200);
    let headers: reqwest::header::HeaderMap = file.headers.clone();
    assert_download_only(&headers, "report <1>.html");

    // Another organization's people find nothing.
    faultline::store::organizations::create_organization(&app.db, "acme", "Acme")
        .await
        .unwrap();
    let stranger = app
        .token("ceo@acme.test", Some("acme"), Role::Owner, common::api::ALL_SCOPES)
        .await;
    assert_eq!(download(&app, &stranger, &event_id, id).await.status(), 404);
    assert_eq!(app.get_json(&stranger, &list_path(&event_id)).await.status, 404);
    let outsider = app.signed_in("dev@acme.test", Some("acme"), Role::Owner).await;
    assert_eq!(outsider.get(&link).await.status, 404);
    app.stop().await;
}

async fn oversize_attachments_are_refused_and_a_full_quota_drops_only_attachments(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.max_attachment_bytes = 1_000;
        config.max_body_bytes = 64 * 1024;
    })
    .await;
    let token = app.owner_token().await;
    // Over the attachment limit: the whole envelope is refused, its event too.
    let event_id = new_event_id();
    let big = vec![b'x'; 1_001];
    let refused = app
        .post_envelope(event_with_attachments(&event_id, &[("big.bin", "", &big)]))
        .await;
    assert_eq!(refused.status(), 413);
    let detail = refused.text().await.unwrap();
    assert!(detail.contains("an attachment exceeds 1000 bytes"), "{detail}");
    assert!(events::get_event(&app.db, app.project_id, &event_id)
        .await
        .unwrap()
        .is_none());
    // Over the body limit (a 200 MB attachment is refused the same way): 413 before anything is read.
    let huge = vec![b'x'; 100 * 1024];
    let refused = app
        .post_envelope(event_with_attachments(&event_id, &[("huge.bin", "", &huge)]))
        .await;
    assert_eq!(refused.status(), 413);
    assert!(events::get_event(&app.db, app.project_id, &event_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(attachments::totals(&app.db).await.unwrap(), (0, 0), "nothing stored");
    assert!(files_on_disk(&app.db).is_empty(), "no file left behind");

    // A quota of 30 bytes: the first 20 fit, the next 20 do not; their event is stored all the same.
    let project = "/api/0/projects/default/default/";
    let set = |bytes: Value| json!({"options": {"faultline:attachment-quota": bytes}});
    let bad = app
        .api(&token, reqwest::Method::PUT, project, Some(set(json!(-1))))
        .await;
    assert!(error_detail(bad, 400).contains("faultline:attachment-quota must be a whole number of bytes"));
    let ok = app
        .api(&token, reqwest::Method::PUT, project, Some(set(json!(30))))
        .await
        .expect(200);
    assert_eq!(ok["options"]["faultline:attachment-quota"], 30);
    let first = new_event_id();
    let response = app
        .post_envelope(event_with_attachments(&first, &[("a.txt", "text/plain", &[b'a'; 20])]))
        .await;
    assert_eq!(response.status(), 200);
    let second = new_event_id();
    let response = app
        .post_envelope(event_with_attachments(&second, &[("b.txt", "text/plain", &[b'b'; 20])]))
        .await;
    assert_eq!(response.status(), 200);
    let limits = response.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(limits.contains(", 60:attachment:project:attachment_quota"), "{limits}");
    assert!(
        events::get_event(&app.db, app.project_id, &second)
            .await
            .unwrap()
            .is_some(),
        "the event is kept"
    );
    assert_eq!(app_list(&app, &token, &first).await.len(), 1);
    assert_eq!(app_list(&app, &token, &second).await.len(), 0, "over the quota");
    let query = "field=sum(quantity)&groupBy=category&groupBy=outcome&statsPeriod=1d&interval=1h";
    let counted = |s: &Value| crate::outcomes::total(s, &[("category", "attachment"), ("outcome", "rate_limited")]);
    let stats = crate::outcomes::stats_until(&app, &token, query, |s| counted(s) == 20).await;
    assert_eq!(counted(&stats), 20, "bytes: {stats}");
    let accepted = crate::outcomes::total(&stats, &[("category", "attachment_item"), ("outcome", "accepted")]);
    assert_eq!(accepted, 1, "{stats}");
    app.stop().await;
}

async fn app_list(app: &TestApp, token: &Token, event_id: &str) -> Vec<Value> {
    let listed = app.get_json(token, &list_path(event_id)).await.expect(200);
    listed.as_array().unwrap().clone()
}

/// Stores an event at `at_ms` in `fingerprint`'s issue with one attachment; returns the event's id.
async fn event_with_file(db: &Db, project: faultline::domain::ProjectId, fingerprint: &str, at_ms: i64) -> String {
    let event = stored_event(project, fingerprint, at_ms);
    let event_id = event.event_id.clone();
    record_batch(db, &[event]).await.unwrap();
    let file = NewAttachment::read(Some("dump.bin"), None, Some("event.minidump"), vec![7u8; 5_000].into());
    let accepted = faultline::core::attachments::accept(db, project, &event_id, vec![file], 1 << 30)
        .await
        .unwrap();
    assert_eq!(accepted.stored, vec![5_000]);
    event_id
}

async fn attachments_go_with_their_events(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    faultline::core::projects::ensure_default_project(&db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    let project = faultline::store::projects::find_project_by_slug(&db, "default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = now_ms();
    let before = faultline::store::storage::space_used(&db).await.unwrap();
    let old = event_with_file(&db, project, "old", now - 100 * DAY_MS).await;
    let kept = event_with_file(&db, project, "kept", now - DAY_MS).await;
    let after = faultline::store::storage::space_used(&db).await.unwrap();
    assert!(
        after - before >= 10_000,
        "the budget counts attachment bytes: {before} → {after}"
    );
    let none = faultline::core::attachments::accept(
        &db,
        project,
        &new_event_id(),
        vec![NewAttachment::read(Some("x"), None, None, vec![1u8; 10].into())],
        1 << 30,
    )
    .await
    .unwrap();
    assert_eq!(none.no_event, vec![10], "no event, nothing stored");
    assert_eq!(attachments::totals(&db).await.unwrap(), (2, 10_000));
    let on_disk = |n: usize| {
        if matches!(db, Db::Sqlite(..)) {
            assert_eq!(files_on_disk(&db).len(), n);
        }
    };
    on_disk(2);

    // Expiry: the old event's attachment, row and file.
    faultline::core::retention::sweep(&core, 90, now).await.unwrap();
    assert!(attachments::for_event(&db, project, &old).await.unwrap().is_empty());
    assert_eq!(attachments::for_event(&db, project, &kept).await.unwrap().len(), 1);
    on_disk(1);

    // Eviction: an evicted event takes its attachment along.
    let stored = events::get_event(&db, project, &kept).await.unwrap().unwrap();
    let freed = faultline::store::eviction::delete_events(&db, &[(stored.id, stored.timestamp.as_millis())])
        .await
        .unwrap();
    assert!(freed.bytes >= 5_000, "the attachment's bytes count as freed: {freed:?}");
    assert_eq!(attachments::totals(&db).await.unwrap(), (0, 0));
    on_disk(0);

    // Deleting an issue deletes its events' attachments.
    let doomed = event_with_file(&db, project, "doomed", now - DAY_MS).await;
    on_disk(1);
    let issue = events::get_event(&db, project, &doomed)
        .await
        .unwrap()
        .unwrap()
        .issue_id;
    let owner = faultline::core::Access::operator(
        faultline::store::organizations::find_organization(&db, "default")
            .await
            .unwrap()
            .unwrap(),
    );
    faultline::core::issues::delete(&core, &owner, &[issue]).await.unwrap();
    assert_eq!(attachments::totals(&db).await.unwrap(), (0, 0));
    on_disk(0);
    close_store(database, db).await;
}

/// The official Python SDK sends an exception with an attachment given as bytes and one as a file path.
async fn the_python_sdk_sends_attachments_with_its_error(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the attachment end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let line = run_python_script(&python, "attachment.py", &app.dsn()).await;
    let event_id = line["event_id"].as_str().unwrap();
    let sent = hex::decode(line["bytes"].as_str().unwrap()).unwrap();
    assert!(events::get_event(&app.db, app.project_id, event_id)
        .await
        .unwrap()
        .is_some());
    let listed = app_list(&app, &token, event_id).await;
    let named = |name: &str| {
        listed
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {listed:?}"))
    };
    let report = named("report.bin");
    assert_eq!(report["size"], sent.len());
    let log = named("checkout.log");
    assert_eq!(log["mimetype"], "text/plain");
    let downloaded = download(&app, &token, event_id, report["id"].as_str().unwrap()).await;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        &downloaded.bytes().await.unwrap()[..],
        &sent[..],
        "the SDK's bytes, exactly"
    );
    let downloaded = download(&app, &token, event_id, log["id"].as_str().unwrap()).await;
    assert_eq!(downloaded.text().await.unwrap(), "step 1: cart\nstep 2: total\n");
    app.stop().await;
}

on_both_databases!(
    an_event_and_its_attachment_are_stored_listed_and_downloaded_only,
    oversize_attachments_are_refused_and_a_full_quota_drops_only_attachments,
    attachments_go_with_their_events,
    the_python_sdk_sends_attachments_with_its_error,
);

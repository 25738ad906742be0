//! Source-map uploads (issue 15): the real sentry-cli (2.58) injecting debug ids and uploading a bundle,
//! then a release's files by URL, each found again by `core::artifacts::find_source_map`; chunks and
//! bundles that break a rule refused with a sentence and nothing stored; native debug files refused;
//! bundles counted by the storage budget and expired by the retention sweep; chunks sent to the origin the
//! client called. Both databases. The sentry-cli half needs `FAULTLINE_SENTRY_CLI` (skipped without it, like
//! the other sentry-cli test).

use crate::common;

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Duration;

use common::api::{error_detail, Token};
use common::{gzip, operator_core, stored_event, Backend, TestApp};
use faultline::core::artifacts::{find_source_map, MapLookup};
use faultline::core::retention::sweep;
use faultline::domain::ProjectId;
use faultline::store::{artifacts, record_batch, Db};
use reqwest::Method;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sourcemaps");
const DAY_MS: i64 = 24 * 3_600_000;

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// A copy of the fixtures (app.min.js and its map) in a fresh folder.
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["app.min.js", "app.min.js.map"] {
        std::fs::copy(Path::new(FIXTURES).join(name), dir.path().join(name)).unwrap();
    }
    dir
}

async fn sentry_cli(binary: &str, app: &TestApp, token: &Token, home: &Path, args: &[&str]) -> String {
    let mut command = tokio::process::Command::new(binary);
    for inherited in [
        "SENTRY_DSN",
        "SENTRY_PROPERTIES",
        "SENTRY_LOG_LEVEL",
        "SENTRY_RELEASE",
        "HTTP_PROXY",
    ] {
        command.env_remove(inherited);
    }
    command
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("SENTRY_URL", format!("http://{}", app.addr))
        .env("SENTRY_AUTH_TOKEN", &token.0)
        .env("SENTRY_ORG", "default")
        .env("SENTRY_PROJECT", "default")
        .env("SENTRY_DISABLE_UPDATE_CHECK", "1")
        .env("SENTRY_LOAD_DOTENV", "0")
        .env("SENTRY_HTTP_MAX_RETRIES", "0")
        .env("SENTRY_NO_PROGRESS_BAR", "1")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("sentry-cli finished within a minute")
        .expect("sentry-cli starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "sentry-cli {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The debug id sentry-cli injected: the file's `//# debugId=` comment.
fn injected_debug_id(source: &str) -> String {
    let line = source
        .lines()
        .find(|l| l.starts_with("//# debugId="))
        .expect("a debugId comment");
    line["//# debugId=".len()..].trim().to_owned()
}

async fn sentry_cli_uploads_source_maps(backend: Backend) {
    let Ok(binary) = std::env::var("FAULTLINE_SENTRY_CLI") else {
        eprintln!("FAULTLINE_SENTRY_CLI is not set: the sentry-cli source-map test is skipped");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let home = tempfile::tempdir().unwrap();
    let dir = fixture_copy();
    let path = dir.path().to_str().unwrap();
    sentry_cli(&binary, &app, &token, home.path(), &["sourcemaps", "inject", path]).await;
    let debug_id = injected_debug_id(&std::fs::read_to_string(dir.path().join("app.min.js")).unwrap());
    let map = std::fs::read(dir.path().join("app.min.js.map")).unwrap();
    sentry_cli(&binary, &app, &token, home.path(), &["sourcemaps", "upload", path]).await;

    let found = find_source_map(&app.db, app.project_id, MapLookup::DebugId(&debug_id.to_uppercase()))
        .await
        .unwrap()
        .expect("the map is found by its debug id");
    assert_eq!(found.bytes, map, "the injected map, byte for byte");
    assert_eq!(found.key, sha1_hex(&map));
    let stored = artifacts::totals(&app.db).await.unwrap();
    assert_eq!(stored.0, 1, "one bundle");

    let again = sentry_cli(&binary, &app, &token, home.path(), &["sourcemaps", "upload", path]).await;
    assert!(again.contains("Nothing to upload"), "{again}");
    assert_eq!(
        artifacts::totals(&app.db).await.unwrap(),
        stored,
        "a re-upload stores nothing new"
    );

    // The legacy way: files of a release, named by URL, found by a frame's URL.
    let plain = fixture_copy();
    let plain_path = plain.path().to_str().unwrap();
    sentry_cli(&binary, &app, &token, home.path(), &["releases", "new", "shop@1.0.0"]).await;
    let args = [
        "sourcemaps",
        "upload",
        "--release",
        "shop@1.0.0",
        "--url-prefix",
        "~/static",
        plain_path,
    ];
    sentry_cli(&binary, &app, &token, home.path(), &args).await;
    let lookup = MapLookup::Url {
        release: "shop@1.0.0",
        dist: None,
        abs_path: "https://shop.example.com/static/app.min.js?v=7",
    };
    let found = find_source_map(&app.db, app.project_id, lookup)
        .await
        .unwrap()
        .expect("found by URL");
    // sentry-cli rewrites maps as it uploads them (compact JSON): the same mappings, other bytes.
    let mappings = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap()["mappings"].clone();
    let fixture_map = std::fs::read(Path::new(FIXTURES).join("app.min.js.map")).unwrap();
    assert_eq!(mappings(&found.bytes), mappings(&fixture_map));
    let other_release = MapLookup::Url {
        release: "shop@2.0.0",
        dist: None,
        abs_path: "https://shop.example.com/static/app.min.js",
    };
    assert_eq!(
        find_source_map(&app.db, app.project_id, other_release).await.unwrap(),
        None
    );
    app.stop().await;
}

/// A multipart form of `(field, file name, bytes)` parts: its content type and body.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "faultline-test-boundary";
    let mut body = Vec::new();
    for (field, file_name, bytes) in parts {
        write!(body, "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"").unwrap();
        if let Some(file_name) = file_name {
            write!(body, "; filename=\"{file_name}\"").unwrap();
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(
    app: &TestApp,
    token: &Token,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> common::api::ApiResponse {
    let (content_type, body) = multipart(parts);
    let response = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(&token.0)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    common::api::ApiResponse::read(response).await
}

/// Uploads `bundle` as one gzipped chunk and assembles it; returns the assemble answer.
async fn upload_bundle(app: &TestApp, token: &Token, bundle: &[u8], release: Option<&str>) -> Value {
    let checksum = sha1_hex(bundle);
    let chunk = gzip(bundle);
    let uploaded = post_form(
        app,
        token,
        "/api/0/organizations/default/chunk-upload/",
        &[("file_gzip", Some(&checksum), &chunk)],
    )
    .await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assemble(app, token, &checksum, release).await
}

async fn assemble(app: &TestApp, token: &Token, checksum: &str, release: Option<&str>) -> Value {
    let mut body = json!({"checksum": checksum, "chunks": [checksum], "projects": ["default"]});
    if let Some(release) = release {
        body["version"] = json!(release);
    }
    let path = "/api/0/organizations/default/artifactbundle/assemble/";
    app.api(token, Method::POST, path, Some(body)).await.expect(200)
}

/// A bundle zip of a manifest and `(zip path, url, type, bytes)` files.
fn bundle_zip(manifest: Option<&str>, files: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default();
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let entries: serde_json::Map<String, Value> = files
        .iter()
        .map(|(path, url, kind, _)| (path.to_string(), json!({"url": url, "type": kind, "headers": {}})))
        .collect();
    let manifest = manifest.map_or_else(|| json!({"files": entries}).to_string(), str::to_owned);
    writer.start_file("manifest.json", options).unwrap();
    writer.write_all(manifest.as_bytes()).unwrap();
    for (path, _, _, bytes) in files {
        writer.start_file(*path, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

async fn bad_uploads_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let options = app
        .get_json(&token, "/api/0/organizations/default/chunk-upload/")
        .await
        .expect(200);
    assert!(
        options["accept"]
            .as_array()
            .unwrap()
            .contains(&json!("artifact_bundles_v2")),
        "{options}"
    );

    let path = "/api/0/organizations/default/chunk-upload/";
    let misnamed = post_form(&app, &token, path, &[("file", Some(&"0".repeat(40)), b"chunk")]).await;
    assert!(error_detail(misnamed, 400).contains("has the SHA-1"));

    // A zip bomb: 64 MiB of zeros packed into some 64 KiB.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = bundle_zip(None, &[("files/a.map", "~/a.js.map", "source_map", &zeros)]);
    drop(zeros);
    let refused = upload_bundle(&app, &token, &bomb, None).await;
    assert_eq!(refused["state"], "error", "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("limit per file"),
        "{refused}"
    );
    let gone = assemble(&app, &token, &sha1_hex(&bomb), None).await;
    assert_eq!(
        gone["state"], "not_found",
        "the refused bundle's chunks are gone: {gone}"
    );

    let not_json = bundle_zip(Some("{not json"), &[]);
    let refused = upload_bundle(&app, &token, &not_json, None).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("manifest.json is not valid"),
        "{refused}"
    );
    assert_eq!(artifacts::totals(&app.db).await.unwrap(), (0, 0), "nothing was stored");

    let dsyms = post_form(
        &app,
        &token,
        "/api/0/projects/default/default/files/dsyms/",
        &[("file", Some("a.dSYM"), b"x")],
    )
    .await;
    assert!(error_detail(dsyms, 400).contains("native debug files are not supported"));

    legacy_release_files(&app, &token).await;
    app.stop().await;
}

/// Single release files (multipart), listed and found by URL; a second file of the same name conflicts.
async fn legacy_release_files(app: &TestApp, token: &Token) {
    let created = app
        .api(
            token,
            Method::POST,
            "/api/0/organizations/default/releases/",
            Some(json!({"version": "web@3", "projects": ["default"]})),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let minified = std::fs::read(Path::new(FIXTURES).join("app.min.js")).unwrap();
    let map = std::fs::read(Path::new(FIXTURES).join("app.min.js.map")).unwrap();
    let path = "/api/0/projects/default/default/releases/web@3/files/";
    let js = [
        ("file", Some("app.min.js"), &minified[..]),
        ("name", None, b"~/js/app.min.js"),
    ];
    assert_eq!(post_form(app, token, path, &js).await.status, 201);
    let map_form = [
        ("file", Some("app.min.js.map"), &map[..]),
        ("name", None, b"~/js/app.min.js.map"),
    ];
    assert_eq!(post_form(app, token, path, &map_form).await.status, 201);
    assert_eq!(
        post_form(app, token, path, &map_form).await.status,
        409,
        "the same name again conflicts"
    );
    let listed = app
        .get_json(token, "/api/0/organizations/default/releases/web@3/files/")
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // No header: the map is named by the file's trailing sourceMappingURL comment.
    let lookup = MapLookup::Url {
        release: "web@3",
        dist: None,
        abs_path: "https://cdn.example.com/js/app.min.js",
    };
    let found = find_source_map(&app.db, app.project_id, lookup).await.unwrap();
    assert_eq!(found.expect("found by URL").bytes, map);
}

fn incompressible(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

async fn stored_space(db: &Db) -> i64 {
    faultline::core::storage::stored(&operator_core(db)).await.unwrap()
}

/// A recent event of `release` in `project`, at `at_ms`, tagged with its release.
async fn event_of_release(db: &Db, project: ProjectId, release: &str, at_ms: i64) {
    let mut event = stored_event(project, "release-event", at_ms);
    event.release = Some(release.into());
    event.facets.push(("release".into(), release.into()));
    record_batch(db, &[event]).await.unwrap();
}

/// The chunk-upload URL is absolute (the `sentry` CLI of the bundler plugins uploads to nothing else), on the
/// origin the client called: the test's port, or the public URL, scheme and all, when called by its name.
async fn chunks_go_to_the_origin_the_client_called(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.public_url = "https://faultline.example.com/".parse().unwrap();
    })
    .await;
    let token = app.owner_token().await;
    let path = "/api/0/organizations/default/chunk-upload/";
    let options = app.get_json(&token, path).await.expect(200);
    assert_eq!(options["url"], format!("http://{}{path}", app.addr));
    for host in ["faultline.example.com", "Faultline.example.com:443"] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token.0)
            .header(reqwest::header::HOST, host)
            .send()
            .await
            .unwrap();
        let options = common::api::ApiResponse::read(response).await.expect(200);
        assert_eq!(options["url"], format!("https://faultline.example.com{path}"), "{host}");
    }
    app.stop().await;
}

async fn bundles_count_in_the_budget_and_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let before = stored_space(&app.db).await;
    let big = incompressible(2 * 1024 * 1024);
    let unreleased = bundle_zip(None, &[("files/big.map", "~/big.js.map", "source_map", &big)]);
    assert_eq!(upload_bundle(&app, &token, &unreleased, None).await["state"], "ok");
    let released = bundle_zip(None, &[("files/r.map", "~/r.js.map", "source_map", b"{}")]);
    assert_eq!(
        upload_bundle(&app, &token, &released, Some("shop@9")).await["state"],
        "ok"
    );
    let after = stored_space(&app.db).await;
    assert!(after - before >= 1024 * 1024, "the bundles count: {before} → {after}");

    let core = operator_core(&app.db);
    let now = faultline::store::now_ms();
    // 100 days on, the release still has an event 5 days old: its bundle stays, the other goes.
    event_of_release(&app.db, app.project_id, "shop@9", now + 95 * DAY_MS).await;
    let swept = sweep(&core, 90, now + 100 * DAY_MS).await.unwrap();
    assert_eq!(swept.bundles, 1, "{swept:?}");
    assert_eq!(artifacts::totals(&app.db).await.unwrap().0, 1);
    // Once the release's events are past retention too, so is its bundle.
    let swept = sweep(&core, 90, now + 200 * DAY_MS).await.unwrap();
    assert_eq!(swept.bundles, 1, "{swept:?}");
    assert_eq!(artifacts::totals(&app.db).await.unwrap(), (0, 0));
    app.stop().await;
}

/// A 200 MB source map (a real one for a large app compresses well, so its bundle passes the size of a
/// chunk): refused with a sentence by the legacy path and by the bundle assemble, and nothing is stored.
async fn a_map_of_200_mb_is_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let mut map = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":""#.to_vec();
    map.resize(200 * 1024 * 1024, b';');
    map.extend_from_slice(br#""}"#);

    let created = app
        .api(
            &token,
            Method::POST,
            "/api/0/organizations/default/releases/",
            Some(json!({"version": "web@200", "projects": ["default"]})),
        )
        .await;
    assert!(created.status.is_success(), "{}", created.body);
    let path = "/api/0/projects/default/default/releases/web@200/files/";
    let form = [("file", Some("big.js.map"), &map[..]), ("name", None, b"~/big.js.map")];
    let refused = post_form(&app, &token, path, &form).await;
    let detail = error_detail(refused, 413);
    assert!(detail.contains("too large"), "{detail}");

    let bundle = bundle_zip(None, &[("files/big.map", "~/big.js.map", "source_map", &map)]);
    drop(map);
    let assembled = upload_bundle(&app, &token, &bundle, None).await;
    assert_eq!(assembled["state"], "error", "{assembled}");
    let detail = assembled["detail"].as_str().unwrap();
    assert!(detail.contains("limit per file"), "{detail}");
    assert_eq!(artifacts::totals(&app.db).await.unwrap(), (0, 0), "nothing was stored");
    app.stop().await;
}

on_both_databases!(
    sentry_cli_uploads_source_maps,
    bad_uploads_are_refused,
    a_map_of_200_mb_is_refused_with_a_sentence,
    chunks_go_to_the_origin_the_client_called,
    bundles_count_in_the_budget_and_expire,
);

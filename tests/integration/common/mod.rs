//! Test harness: a fresh database per test (a SQLite file, and a Postgres database whenever
//! `DATABASE_URL` points at Postgres), the real app started on a free port, and a small client.
#![allow(dead_code)]

use faultline::domain::{IssueId, ProjectId};
use std::io::Write;
use std::net::SocketAddr;

use faultline::config::Config;
use faultline::store::{projects, Db};
use faultline::App;
use tokio::sync::oneshot;

pub mod alerts;
pub mod api;
pub mod binary;
pub mod browser;
pub mod hostile;
pub mod monitors;
pub mod proxy;
pub mod receiver;
pub mod smtp;
pub mod transactions;
pub mod web;

/// Generates `<name>::sqlite` and `<name>::postgres` tests running the same async body. Attributes written
/// before a name (e.g. `#[ignore = "why"]`) go on both tests.
#[macro_export]
macro_rules! on_both_databases {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn postgres() {
                match $crate::common::Backend::postgres() {
                    Some(backend) => super::$name(backend).await,
                    None => eprintln!("DATABASE_URL is not a Postgres URL: Postgres half skipped"),
                }
            }
        }
    )*};
}

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The server URL from `DATABASE_URL`; each test creates its own database there.
    Postgres(String),
}

impl Backend {
    pub fn postgres() -> Option<Backend> {
        let url = std::env::var("DATABASE_URL").ok()?;
        (url.starts_with("postgres:") || url.starts_with("postgresql:")).then_some(Backend::Postgres(url))
    }
}

/// A database that exists only for one test.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: &Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("data/faultline.db").display());
                TestDatabase {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres(server) => {
                let name = format!("faultline_test_{}", uuid::Uuid::new_v4().simple());
                admin_execute(server, &format!("CREATE DATABASE {name}")).await;
                let mut url = url::Url::parse(server).expect("DATABASE_URL is a URL");
                url.set_path(&name);
                TestDatabase {
                    url: url.to_string(),
                    _dir: None,
                    postgres: Some((server.clone(), name)),
                }
            }
        }
    }

    pub async fn drop_database(self) {
        if let Some((server, name)) = &self.postgres {
            admin_execute(server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

/// A fresh, migrated database for store-level tests.
pub async fn open_store(backend: &Backend) -> (TestDatabase, Db) {
    let database = TestDatabase::create(backend).await;
    let db = Db::connect(&database.url, 4).await.unwrap();
    db.migrate().await.unwrap();
    (database, db)
}

pub async fn close_store(database: TestDatabase, db: Db) {
    db.close().await;
    database.drop_database().await;
}

async fn admin_execute(server: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server).await.expect("connect to Postgres");
    sqlx::query(sql).execute(&mut conn).await.expect(sql);
    let _ = conn.close().await;
}

/// The real app on a free port, with a database of its own.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub project_id: ProjectId,
    pub public_key: String,
    pub client: reqwest::Client,
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let database = TestDatabase::create(&backend).await;
        let running = Running::start(&database.url, adjust).await;
        TestApp {
            addr: running.addr,
            db: running.db,
            project_id: running.project_id,
            public_key: running.public_key,
            client: reqwest::Client::new(),
            database: Some(database),
            shutdown: Some(running.shutdown),
            task: Some(running.task),
        }
    }

    /// Stops the server and starts a new one on the same database, as a process restart would.
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        self.shutdown_server().await;
        self.db.close().await;
        let url = &self.database.as_ref().expect("database kept").url;
        let running = Running::start(url, adjust).await;
        self.addr = running.addr;
        self.db = running.db;
        self.shutdown = Some(running.shutdown);
        self.task = Some(running.task);
    }

    /// The URL of the test's own database (a SQLite file or a Postgres database).
    pub fn database_url(&self) -> &str {
        &self.database.as_ref().expect("database kept").url
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn dsn(&self) -> String {
        format!("http://{}@{}/{}", self.public_key, self.addr, self.project_id)
    }

    pub fn auth_header(&self) -> String {
        format!(
            "Sentry sentry_version=7, sentry_key={}, sentry_client=test/1.0",
            self.public_key
        )
    }

    pub fn envelope_path(&self) -> String {
        format!("/api/{}/envelope/", self.project_id)
    }

    /// Posts an envelope with `X-Sentry-Auth`, like the Rust and Python SDKs.
    pub async fn post_envelope(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.try_post_envelope(body).await.expect("request sent")
    }

    /// [`Self::post_envelope`], with a connection the server closed mid-upload as an error.
    pub async fn try_post_envelope(&self, body: impl Into<reqwest::Body>) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url(&self.envelope_path()))
            .header("x-sentry-auth", self.auth_header())
            .body(body)
            .send()
            .await
    }

    /// Stops the server gracefully and removes its database.
    pub async fn stop(mut self) {
        self.shutdown_server().await;
        self.db.close().await;
        if let Some(database) = self.database.take() {
            database.drop_database().await;
        }
    }

    pub async fn shutdown_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran cleanly");
        }
    }
}

/// A server started on a database, before it is wrapped in a [`TestApp`].
struct Running {
    addr: SocketAddr,
    db: Db,
    project_id: ProjectId,
    public_key: String,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(database_url: &str, adjust: impl FnOnce(&mut Config)) -> Running {
        let mut config = Config::for_database(database_url);
        config.bind = "127.0.0.1:0".parse().unwrap();
        // Tests store events at fixed instants in the past; the retention tests set their own.
        config.retention_days = 3650;
        adjust(&mut config);
        let app = App::build(&config).await.expect("app builds");
        let addr = app.local_addr();
        let db = app.db().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        let project = projects::find_project_by_slug(&db, "default")
            .await
            .unwrap()
            .expect("default project");
        let key = projects::list_keys(&db, project.id).await.unwrap().remove(0);
        Running {
            addr,
            db,
            project_id: project.id,
            public_key: key.public_key,
            shutdown,
            task,
        }
    }
}

/// An event envelope: header with the event id, one event item with an explicit length.
pub fn envelope(event_id: &str, event: &serde_json::Value) -> Vec<u8> {
    item_envelope("event", event_id, event)
}

/// An envelope with the event id in its header and one item of `item_type` with an explicit length.
pub fn item_envelope(item_type: &str, event_id: &str, item: &serde_json::Value) -> Vec<u8> {
    let payload = serde_json::to_vec(item).unwrap();
    let mut body = format!("{{\"event_id\":\"{event_id}\"}}\n").into_bytes();
    body.extend(format!("{{\"type\":\"{item_type}\",\"length\":{}}}\n", payload.len()).into_bytes());
    body.extend(payload);
    body.push(b'\n');
    body
}

/// An event as ingest would hand it to the store: an error in `fingerprint`'s issue at `at_ms`.
pub fn stored_event(project_id: ProjectId, fingerprint: &str, at_ms: i64) -> faultline::store::NewEvent {
    faultline::store::NewEvent {
        project_id,
        event_id: new_event_id(),
        timestamp: faultline::domain::Timestamp::from_millis(at_ms),
        received: faultline::domain::Timestamp::from_millis(at_ms),
        level: "error".into(),
        platform: "python".into(),
        release: Some("shop@1.0.0".into()),
        environment: Some("production".into()),
        transaction: None,
        trace_id: None,
        user_key: Some("id:1".into()),
        title: format!("KeyError: {fingerprint}"),
        culprit: "shop.cart in add_item".into(),
        issue_type: "error".into(),
        metadata: "{}".into(),
        fingerprint: fingerprint.into(),
        grouping_version: "v1".into(),
        grouping_components: vec![format!("fingerprint: {fingerprint}")],
        is_unhandled: false,
        facets: vec![("level".into(), "error".into()), ("browser".into(), "Firefox".into())],
        payload: zstd::encode_all(&b"{\"event_id\":\"x\"}"[..], 3).unwrap(),
        occurrences: 1,
    }
}

pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A Python-style exception event raised in `function` of module `module`.
pub fn exception_event(ty: &str, value: &str, module: &str, function: &str, lineno: u64) -> serde_json::Value {
    serde_json::json!({
        "platform": "python",
        "level": "error",
        "exception": {"values": [{
            "type": ty,
            "value": value,
            "mechanism": {"type": "generic", "handled": false},
            "stacktrace": {"frames": [
                {"module": "django.core.handlers.base", "function": "get_response", "filename": "base.py",
                 "abs_path": "/venv/lib/python3.11/site-packages/django/core/handlers/base.py",
                 "lineno": 181, "context_line": "response = wrapped_callback(request)", "in_app": false},
                {"module": module, "function": function, "filename": format!("{module}.py"),
                 "lineno": lineno, "context_line": "    return total / count", "in_app": true}
            ]}
        }]}
    })
}

/// The corpus envelopes, sorted by file name.
pub fn corpus_envelopes() -> Vec<(String, Vec<u8>)> {
    faultline::corpus::python_envelopes()
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes.to_vec()))
        .collect()
}

/// Replaces the corpus public key and project id so the envelope authenticates against `app`.
pub fn corpus_for(app: &TestApp, envelope: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(envelope);
    text.replace("0123456789abcdef0123456789abcdef", &app.public_key)
        .into_bytes()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Holds the database's write lock from a connection of its own, so that the server's writer stalls.
pub enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    pub async fn take(database_url: &str) -> WriteLock {
        use sqlx::Connection;
        if database_url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(database_url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE").execute(&mut connection).await.unwrap();
            WriteLock::Sqlite(connection)
        } else {
            let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
            sqlx::query("LOCK TABLE events IN EXCLUSIVE MODE")
                .execute(&mut connection)
                .await
                .unwrap();
            WriteLock::Postgres(connection)
        }
    }

    pub async fn release(self) {
        match self {
            WriteLock::Sqlite(mut connection) => {
                sqlx::query("ROLLBACK").execute(&mut connection).await.unwrap();
            }
            WriteLock::Postgres(mut connection) => {
                sqlx::query("ROLLBACK").execute(&mut connection).await.unwrap();
            }
        }
    }
}

/// The use cases as the operator runs them (what `faultline …` commands do), for set-up steps.
pub fn operator_core(db: &Db) -> faultline::core::Core {
    faultline::core::Core::offline(db.clone(), "http://localhost/".parse().unwrap())
}

/// Changes an issue's status as an owner of the default organization would.
pub async fn change_issue_status(db: &Db, issue_id: IssueId, change: &faultline::domain::lifecycle::StatusChange) {
    let org = faultline::store::organizations::find_organization(db, "default")
        .await
        .unwrap()
        .expect("the default organization");
    let access = faultline::core::Access::operator(org);
    faultline::core::issues::change_status(&operator_core(db), &access, issue_id, change)
        .await
        .expect("status changed");
}

impl TestApp {
    /// Creates a project as `faultline project create` does (in `org`, or the default organization);
    /// its DSN points at this server.
    pub async fn create_project(&self, org: Option<&str>, slug: &str) -> faultline::domain::auth::Dsn {
        let core = faultline::core::Core::offline(self.db.clone(), url::Url::parse(&self.url("/")).unwrap());
        let slug = faultline::domain::project::ProjectSlug::parse(slug).unwrap();
        faultline::core::projects::create_as_operator(&core, org, &slug, None, None)
            .await
            .expect("project created")
    }
}

/// Runs `tests/e2e/django_app/<script> --dsn <dsn>` with the Python of `FAULTLINE_PYTHON`; its stdout as the
/// one JSON line it prints.
pub async fn run_python_script(python: &str, script: &str, dsn: &str) -> serde_json::Value {
    let path = format!("{}/tests/e2e/django_app/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(python)
        .args([path.as_str(), "--dsn", dsn])
        .output()
        .await
        .expect("python runs");
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{script} prints one JSON line"))
}

//! Three Faultline processes over one Postgres, as behind a load balancer (issue 16). They start together
//! on an empty database; one stream of events goes through all three, with duplicate event ids racing
//! between them; mid-stream a key is disabled through one process and a rule added through another, and
//! both hold in every process a second later (their caches live 30 s, so only the announcement can do it);
//! the counts come out exact, and each alert fires once. Postgres only: a SQLite file has one server.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::api::Token;
use common::binary::{start_binary, Server};
use common::receiver::Receiver;
use common::{envelope, new_event_id, Backend, TestDatabase};
use faultline::core::accounts::{create_user, NewUser};
use faultline::core::Core;
use faultline::domain::accounts::{ApiToken, Role, ScopeSet};
use faultline::domain::ProjectId;
use faultline::store::{accounts, projects, Db};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

/// Distinct messages, so distinct issues, per phase.
const ISSUES: usize = 8;
const PARTS: [&str; ISSUES] = [
    "cart", "checkout", "search", "login", "profile", "invoice", "upload", "export",
];
/// Events per phase; every fourth is also sent, at the same moment, through the next process.
const EVENTS: usize = 120;

struct Cluster {
    servers: Vec<Server>,
    db: Db,
    project_id: ProjectId,
    client: reqwest::Client,
    token: Token,
}

impl Cluster {
    /// Posts one event under `key` through server `at`; returns the status.
    async fn send(&self, at: usize, key: &str, event_id: &str, message: &str) -> u16 {
        let url = format!("{}/api/{}/envelope/", self.servers[at].base, self.project_id);
        let body = envelope(event_id, &json!({"message": message, "level": "error"}));
        let sent = self
            .client
            .post(url)
            .header("x-sentry-auth", format!("Sentry sentry_version=7, sentry_key={key}"))
            .body(body)
            .send()
            .await
            .expect("the server answers");
        sent.status().as_u16()
    }

    async fn api(&self, at: usize, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .client
            .request(method, format!("{}{path}", self.servers[at].base))
            .bearer_auth(&self.token.0)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// One phase: `EVENTS` events of `ISSUES` messages named `phase`, spread over the processes, every
    /// fourth sent twice at once (through two processes). Returns the distinct ids acknowledged.
    async fn stream(&self, key: &str, phase: &str) -> usize {
        let sends = (0..EVENTS).map(|i| async move {
            let id = new_event_id();
            // Words, not numbers: grouping folds numbers in messages together.
            let message = format!("{phase} failure in {}", PARTS[i % ISSUES]);
            let first = self.send(i % 3, key, &id, &message);
            if i % 4 == 0 {
                let (a, b) = tokio::join!(first, self.send((i + 1) % 3, key, &id, &message));
                (a, b)
            } else {
                (first.await, 200)
            }
        });
        let answers = join_all(sends).await;
        assert!(answers.iter().all(|&(a, b)| a == 200 && b == 200), "{answers:?}");
        EVENTS
    }
}

async fn owner_token(db: &Db) -> Token {
    let core = Core::offline(db.clone(), url::Url::parse("http://localhost/").unwrap());
    let user = NewUser {
        email: "owner@example.com",
        name: None,
        password: "correct horse",
        admin: false,
        organization: None,
        role: Some(Role::Owner),
    };
    let (user, _, _) = create_user(&core, user).await.expect("user created");
    let token = ApiToken::generate();
    let scopes = ScopeSet::parse(common::api::ALL_SCOPES).unwrap();
    accounts::create_token(db, user.id, &token.hash, &token.hint(), "test", &scopes)
        .await
        .unwrap();
    Token(token.plaintext)
}

async fn start_cluster(database: &TestDatabase) -> Cluster {
    let settings = [
        ("FAULTLINE_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("FAULTLINE_ALERT_DIGEST_SECS", "0".to_owned()),
        ("FAULTLINE_NOTIFY_POLL_MS", "100".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    // Started together on an empty database: migrations and the default project are made once.
    let servers = join_all((0..3).map(|_| start_binary(&database.url, &settings))).await;
    let db = Db::connect(&database.url, 4).await.unwrap();
    let project = projects::find_project_by_slug(&db, "default").await.unwrap().unwrap();
    let token = owner_token(&db).await;
    Cluster {
        servers,
        db,
        project_id: project.id,
        client: reqwest::Client::new(),
        token,
    }
}

/// Each alerted issue id, with how many times it was alerted, over the webhook requests to `path`.
fn alerted_issues(receiver: &Receiver, path: &str) -> HashMap<i64, usize> {
    let mut alerted = HashMap::new();
    for request in receiver.requests().iter().filter(|r| r.path == path) {
        for issue in request.json()["issues"].as_array().unwrap() {
            *alerted.entry(issue["id"].as_i64().unwrap()).or_default() += 1;
        }
    }
    alerted
}

async fn scalar(db: &Db, sql: &str, project_id: ProjectId) -> i64 {
    let Db::Postgres(pool) = db else {
        unreachable!("Postgres only")
    };
    sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_count_exactly_alert_once_and_hear_changes_within_a_second() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("DATABASE_URL is not a Postgres URL: the scale-out test is skipped");
        return;
    };
    let database = TestDatabase::create(&backend).await;
    let receiver = Receiver::start().await;
    let cluster = start_cluster(&database).await;
    let c = &cluster;
    let rules = "/api/0/projects/default/default/rules/";
    let channels = "/api/0/organizations/default/channels/";
    let keys = "/api/0/projects/default/default/keys/";

    // Every new issue goes to a webhook, whichever process stores its first event.
    let hook = json!({"name": "New", "kind": "webhook", "settings": {"url": receiver.url("/new")}});
    let channel = c.api(0, Method::POST, channels, hook).await;
    let rule = json!({"name": "New issue", "triggers": {"new_issue": true}, "channels": [channel["id"]]});
    c.api(1, Method::POST, rules, rule).await;
    let key = c.api(2, Method::POST, keys, json!({"name": "stream"})).await;
    let key = key["public"].as_str().unwrap().to_owned();
    let spare = c.api(0, Method::POST, keys, json!({"name": "spare"})).await;
    let spare = spare["public"].as_str().unwrap().to_owned();
    // Each process has read the keys and rules into its cache before the changes below.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for at in 0..3 {
        assert_eq!(c.send(at, &spare, &new_event_id(), "warm-up").await, 200);
    }

    let mut sent = 3 + c.stream(&key, "first").await;

    // Mid-stream: the spare key is disabled through process 0, and a second rule added through process 1.
    let spare_path = format!("{keys}{spare}/");
    c.api(0, Method::PUT, &spare_path, json!({"isActive": false})).await;
    let hook = json!({"name": "Late", "kind": "webhook", "settings": {"url": receiver.url("/late")}});
    let late_channel = c.api(1, Method::POST, channels, hook).await;
    let late_rule = json!({"name": "Late", "triggers": {"new_issue": true}, "channels": [late_channel["id"]]});
    c.api(1, Method::POST, rules, late_rule).await;
    // A second later every process refuses the key and fires the rule.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for at in 0..3 {
        let status = c.send(at, &spare, &new_event_id(), "after the change").await;
        assert!(
            matches!(status, 401 | 403),
            "process {at} still takes the disabled key: {status}"
        );
    }
    sent += c.stream(&key, "second").await;

    // Exact counts: every distinct id once, however many processes it raced through.
    let stored = "SELECT count(*) FROM events WHERE project_id = $1";
    assert_eq!(scalar(&c.db, stored, c.project_id).await, sent as i64);
    let seen = "SELECT CAST(sum(times_seen) AS BIGINT) FROM issues WHERE project_id = $1";
    assert_eq!(scalar(&c.db, seen, c.project_id).await, sent as i64);
    let total = "SELECT events FROM project_storage WHERE project_id = $1";
    assert_eq!(scalar(&c.db, total, c.project_id).await, sent as i64);
    let issues = "SELECT count(*) FROM issues WHERE project_id = $1";
    assert_eq!(scalar(&c.db, issues, c.project_id).await, (1 + 2 * ISSUES) as i64);

    // One alert per new issue, from whichever process made it; the late rule for the second phase's.
    let (all, wanted_late) = (1 + 2 * ISSUES, ISSUES);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while alerted_issues(&receiver, "/new").len() < all || alerted_issues(&receiver, "/late").len() < wanted_late {
        assert!(std::time::Instant::now() < deadline, "{:?}", receiver.requests().len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let alerted = alerted_issues(&receiver, "/new");
    assert_eq!(alerted.len(), all, "{alerted:?}");
    assert!(
        alerted.values().all(|&times| times == 1),
        "an alert sent twice: {alerted:?}"
    );
    let late = alerted_issues(&receiver, "/late");
    assert_eq!(
        late.len(),
        wanted_late,
        "the rule added mid-stream fired everywhere: {late:?}"
    );
    assert!(late.values().all(|&times| times == 1), "{late:?}");
    for mut server in cluster.servers {
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    }
}

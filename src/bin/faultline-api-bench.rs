//! API pagination benchmark: fills a project with a million events (directly through the store, skipped when
//! the database already holds them), starts Faultline in-process on that database, and times `/api/0/` pages
//! over HTTP: the first and the deepest pages of every issue sort, and pages of an issue's and the project's
//! events. Keyset pages should cost the same deep in the listing as at its start.
//! Example: `faultline-api-bench --database-url sqlite:///tmp/api-bench.db --events 1000000`

// A benchmark tool: its tasks live as long as its one run.
#![allow(clippy::disallowed_methods)]

use faultline::domain::{ProjectId, Timestamp};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use faultline::config::Config;
use faultline::domain::accounts::{ApiToken, Role, Scope};
use faultline::domain::event::Event;
use faultline::store::{accounts, events, issues, now_ms, projects, NewEvent};
use faultline::App;

#[derive(Parser, Debug)]
#[command(name = "faultline-api-bench")]
struct Args {
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:///tmp/faultline-api-bench.db")]
    database_url: String,
    /// Events in the default project (seeded once).
    #[arg(long, default_value_t = 1_000_000)]
    events: i64,
    /// Issues the events are spread over.
    #[arg(long, default_value_t = 2_000)]
    issues: i64,
    /// Pages walked per listing.
    #[arg(long, default_value_t = 20)]
    pages: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut config = Config::for_database(&args.database_url);
    config.bind = "127.0.0.1:0".parse()?;
    let app = App::build(&config).await?;
    let db = app.db().clone();
    let project = projects::find_project_by_slug(&db, "default")
        .await?
        .context("default project")?;
    seed(&db, project.id, &args).await?;
    let token = bench_token(&db).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let issue_count = issues::list_issues(&db, project.id).await?.len();
    let event_count = events::count_events(&db, project.id).await?;
    println!("{event_count} events in {issue_count} issues on {}", db.backend_name());
    for sort in ["date", "new", "freq", "user"] {
        let path = format!("/api/0/projects/default/default/issues/?query=&sort={sort}&limit=100");
        walk(
            &client,
            &base,
            &token,
            &path,
            args.pages,
            &format!("issues sort={sort}"),
        )
        .await?;
    }
    let biggest = issues::list_issues(&db, project.id)
        .await?
        .into_iter()
        .max_by_key(|i| i.times_seen);
    let biggest = biggest.context("an issue")?;
    let path = format!("/api/0/issues/{}/events/?limit=100", biggest.id);
    walk(
        &client,
        &base,
        &token,
        &path,
        args.pages,
        &format!("issue events ({} events)", biggest.times_seen),
    )
    .await?;
    let path = "/api/0/projects/default/default/events/?limit=100";
    walk(&client, &base, &token, path, args.pages, "project events").await?;
    // Jump half-way down both event lists with a cursor, as a client deep in its paging would be.
    let middle = format!("{}:{}:0", 1_700_000_000_000 + args.events / 2 * 1_000, i64::MAX);
    let path = format!("/api/0/issues/{}/events/?limit=100&cursor={middle}", biggest.id);
    walk(
        &client,
        &base,
        &token,
        &path,
        args.pages,
        "issue events, from the middle",
    )
    .await?;
    let path = format!("/api/0/projects/default/default/events/?limit=100&cursor={middle}");
    walk(
        &client,
        &base,
        &token,
        &path,
        args.pages,
        "project events, from the middle",
    )
    .await?;
    let path = "/api/0/projects/default/default/issues/?limit=100";
    walk(
        &client,
        &base,
        &token,
        path,
        args.pages,
        "issues, default query (is:unresolved)",
    )
    .await?;
    let path = "/api/0/projects/default/default/issues/?query=environment%3Aproduction%20failure&limit=100";
    walk(&client, &base, &token, path, args.pages, "issues, tag + text search").await?;
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Follows `rel="next"` for `pages` pages and prints the first, median and slowest page times.
async fn walk(client: &reqwest::Client, base: &str, token: &str, first: &str, pages: usize, label: &str) -> Result<()> {
    let mut times = Vec::new();
    let mut path = first.to_owned();
    for _ in 0..pages {
        let started = Instant::now();
        let response = client.get(format!("{base}{path}")).bearer_auth(token).send().await?;
        let link = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
        let body: serde_json::Value = serde_json::from_slice(&response.bytes().await?)?;
        let items = body.as_array().map_or(0, Vec::len);
        times.push(started.elapsed());
        let next = link
            .split(", <")
            .find(|e| e.contains("rel=\"next\"") && e.contains("results=\"true\""));
        let Some(cursor) = next
            .and_then(|e| e.split("cursor=\"").nth(1))
            .and_then(|c| c.split('"').next())
        else {
            break;
        };
        anyhow::ensure!(items > 0, "an empty page before the end");
        let start = first.split("&cursor=").next().unwrap_or(first);
        path = format!("{start}&cursor={cursor}");
    }
    let first_page = times[0];
    let last_page = *times.last().unwrap();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<40} pages {:>3}  first {:>7.1} ms  median {:>7.1} ms  deepest {:>7.1} ms  slowest {:>7.1} ms",
        times.len(),
        ms(first_page),
        ms(times[times.len() / 2]),
        ms(last_page),
        ms(*times.last().unwrap())
    );
    Ok(())
}

async fn bench_token(db: &faultline::store::Db) -> Result<String> {
    let email = format!("bench-{}@example.com", now_ms());
    let (user, _, _) = faultline::core::accounts::create_user(
        &faultline::core::Core::offline(db.clone(), url::Url::parse("http://localhost/").unwrap()),
        faultline::core::accounts::NewUser {
            email: &email,
            name: None,
            password: "benchmark-password",
            admin: false,
            organization: None,
            role: Some(Role::Owner),
        },
    )
    .await?;
    let token = ApiToken::generate();
    let scopes = Scope::ALL.into_iter().collect();
    accounts::create_token(db, user.id, &token.hash, &token.hint(), "bench", &scopes).await?;
    Ok(token.plaintext)
}

/// Adds events until the project holds `args.events`, in batches of 1000, spread round robin over the issues.
async fn seed(db: &faultline::store::Db, project_id: ProjectId, args: &Args) -> Result<()> {
    let have = events::count_events(db, project_id).await?;
    let issues = args.issues;
    faultline::seed::fill(db, have, args.events, 1000, move |i| synthetic(project_id, i, issues)).await?;
    Ok(())
}

fn synthetic(project_id: ProjectId, i: i64, issue_count: i64) -> NewEvent {
    // Half of all events go to one issue, so its event list is as long as a busy project's.
    let issue = if i % 2 == 0 { 0 } else { i % issue_count };
    let timestamp_ms = 1_700_000_000_000 + i * 1_000;
    let event = Event {
        event_id: format!("{:032x}", i + 1),
        timestamp: timestamp_ms as f64 / 1000.0,
        received: timestamp_ms as f64 / 1000.0,
        platform: "python".into(),
        ..Event::default()
    };
    let json = serde_json::to_vec(&event).expect("an event serializes");
    NewEvent {
        project_id,
        event_id: event.event_id.clone(),
        timestamp: Timestamp::from_millis(timestamp_ms),
        received: Timestamp::from_millis(timestamp_ms),
        level: "error".into(),
        platform: "python".into(),
        release: Some(format!("1.{}", i / 100_000)),
        environment: Some("production".into()),
        transaction: None,
        trace_id: None,
        user_key: Some(format!("id:{}", i % 5_000)),
        title: format!("BenchError{issue}: failure"),
        culprit: format!("app.module{issue} in handler"),
        issue_type: "error".into(),
        metadata: "{}".into(),
        fingerprint: format!("{issue:032x}"),
        grouping_version: "v1".into(),
        grouping_components: vec![format!("issue {issue}")],
        is_unhandled: false,
        facets: vec![
            ("level".into(), "error".into()),
            ("environment".into(), "production".into()),
        ],
        payload: zstd::encode_all(json.as_slice(), 3).expect("zstd"),
        occurrences: 1,
    }
}

//! Fills a project with many events for benchmarks: `faultline seed` (real SDK payloads from the corpus,
//! through ingest's normalization and grouping) and `faultline-api-bench` (synthetic events) both commit
//! through [`fill`], which stores batches with [`store::record_batch`] as the writer does.

use crate::domain::ProjectId;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::core::events::{parse_event_json, prepare_event, EventContext};
use crate::domain::envelope::parse_envelope;
use crate::domain::scrub::Scrubber;
use crate::store::{self, events, Db, NewEvent};

const DAY_MS: i64 = 86_400_000;
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];
const USERS: i64 = 5_000;
const RELEASES: i64 = 8;
const REGIONS: [&str; 4] = ["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"];

/// How many events and issues to make, and over what time.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub issues: i64,
    pub events: i64,
    /// The events are spread evenly over this many days up to `end_ms`.
    pub days: i64,
    pub end_ms: i64,
    pub batch: usize,
}

/// What a fill did.
#[derive(Debug, Clone)]
pub struct FillReport {
    pub added: i64,
    pub elapsed: Duration,
}

/// The event payloads of the real-SDK corpus, parsed once.
pub struct Corpus {
    templates: Vec<Value>,
}

impl Corpus {
    /// Reads every `*.envelope` in `dir` (sorted by name) and keeps their event items.
    pub fn load(dir: &Path) -> anyhow::Result<Corpus> {
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "envelope"))
            .collect();
        files.sort();
        let mut envelopes = Vec::new();
        for file in files {
            envelopes.push(Bytes::from(std::fs::read(&file)?));
        }
        Corpus::from_envelopes(envelopes).with_context(|| format!("no event envelopes in {}", dir.display()))
    }

    /// The Python SDK corpus compiled into the binary (`tests/corpus/python`).
    pub fn embedded() -> anyhow::Result<Corpus> {
        let envelopes = crate::corpus::python_envelopes()
            .into_iter()
            .map(|(_, body)| Bytes::from_static(body));
        Corpus::from_envelopes(envelopes)
    }

    fn from_envelopes(envelopes: impl IntoIterator<Item = Bytes>) -> anyhow::Result<Corpus> {
        let mut templates = Vec::new();
        for body in envelopes {
            let envelope = parse_envelope(body)?;
            for item in envelope.items.iter().filter(|item| item.ty == "event") {
                templates.push(parse_event_json(&item.payload)?.value);
            }
        }
        anyhow::ensure!(!templates.is_empty(), "the corpus holds no event envelopes");
        Ok(Corpus { templates })
    }
}

/// Adds events `have..target` made by `make(i)` in batches of `batch`, each batch committed by
/// `record_batch`. The next batch is prepared on a blocking thread while the current one commits.
pub async fn fill<F>(db: &Db, have: i64, target: i64, batch: usize, make: F) -> anyhow::Result<FillReport>
where
    F: Fn(i64) -> NewEvent + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let prepare = |from: i64| {
        let make = Arc::clone(&make);
        let to = (from + batch as i64).min(target);
        tokio::task::spawn_blocking(move || (from..to).map(|i| make(i)).collect::<Vec<_>>())
    };
    let mut n = have;
    let mut next = (n < target).then(|| prepare(n));
    let mut upkeep = Upkeep::new(have, batch);
    while let Some(pending) = next.take() {
        let events = pending.await?;
        n += events.len() as i64;
        next = (n < target).then(|| prepare(n));
        store::record_batch(db, &events).await?;
        upkeep.after_batch(db, n, target, started).await?;
    }
    db.refresh_statistics().await?;
    Ok(FillReport {
        added: n - have,
        elapsed: started.elapsed(),
    })
}

/// What a bulk load does between batches besides storing them.
struct Upkeep {
    next_refresh: i64,
    reported: i64,
    reclaimed: i64,
}

impl Upkeep {
    fn new(have: i64, batch: usize) -> Upkeep {
        Upkeep {
            next_refresh: have + 2 * batch as i64,
            reported: have / 50_000,
            reclaimed: have / 200_000,
        }
    }

    async fn after_batch(&mut self, db: &Db, n: i64, target: i64, started: Instant) -> anyhow::Result<()> {
        if n >= self.next_refresh {
            // As the server's writer does while tables grow. A new database has no statistics at all, and
            // Postgres then checks each batch's event ids by scanning the project's events: refresh early.
            self.next_refresh = if self.next_refresh < 50_000 {
                self.next_refresh * 2
            } else {
                self.next_refresh + 50_000
            };
            db.refresh_statistics().await?;
        }
        if n / 200_000 > self.reclaimed {
            self.reclaimed = n / 200_000;
            // Every batch rewrites issue and counter rows; with autovacuum off Postgres would keep them all.
            db.reclaim_space().await?;
        }
        if n / 50_000 > self.reported {
            self.reported = n / 50_000;
            eprintln!(
                "seeded {n} of {target} events ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }
}

/// Fills the project up to `plan.events` events in exactly `plan.issues` issues (continuing a partial seed).
pub async fn seed_project(
    db: &Db,
    project_id: ProjectId,
    corpus: Corpus,
    plan: &SeedPlan,
) -> anyhow::Result<FillReport> {
    anyhow::ensure!(
        plan.issues >= 1 && plan.events >= plan.issues,
        "need at least one event per issue"
    );
    let have = events::count_events(db, project_id).await?;
    // On Postgres the seeded days get their own partitions, as live traffic's days do.
    store::partitions::ensure(db, plan.end_ms - plan.days * DAY_MS, plan.end_ms).await?;
    let corpus = Arc::new(corpus);
    let scrubber = Arc::new(Scrubber::default());
    let plan_for_events = plan.clone();
    let make = move |i| corpus_event(&corpus, &scrubber, &plan_for_events, project_id, i);
    let report = fill(db, have, plan.events, plan.batch, make).await?;
    db.reclaim_space().await?;
    Ok(report)
}

/// Event `i` of the plan: a corpus payload made into issue `issue_of(i)` at its place in time.
fn corpus_event(corpus: &Corpus, scrubber: &Scrubber, plan: &SeedPlan, project_id: ProjectId, i: i64) -> NewEvent {
    let issue = issue_of(plan, i);
    let mix = splitmix(i as u64 ^ 0x5eed);
    let start_ms = plan.end_ms - plan.days * DAY_MS;
    let timestamp_ms = start_ms + (i as i128 * (plan.days * DAY_MS) as i128 / plan.events as i128) as i64;
    let mut raw = corpus.templates[issue as usize % corpus.templates.len()].clone();
    vary(&mut raw, issue, mix, i, plan, timestamp_ms);
    let received_at = timestamp_ms as f64 / 1000.0;
    let ctx = EventContext {
        project_id,
        received_at,
        client_ip: Some("203.0.113.7"),
        header_event_id: None,
        sent_at: Some(received_at),
        scrubber: Some(scrubber),
        filters: None,
    };
    prepare_event(raw.into(), &ctx).expect("a corpus event prepares")
}

/// Every `events / issues`-th event opens the next issue, so each issue exists and first appears spread over
/// the period; the rest follow a Zipf-like law (issue k about 1/(k+1) as frequent), as real projects do.
fn issue_of(plan: &SeedPlan, i: i64) -> i64 {
    let stride = plan.events / plan.issues;
    if i % stride == 0 && i / stride < plan.issues {
        return i / stride;
    }
    let u = (splitmix(i as u64) >> 11) as f64 / (1u64 << 53) as f64;
    ((plan.issues as f64).powf(u) as i64 - 1).clamp(0, plan.issues - 1)
}

/// Gives the payload its own id, time, issue (a fingerprint and title of its own), environment, release and
/// user.
fn vary(raw: &mut Value, issue: i64, mix: u64, i: i64, plan: &SeedPlan, timestamp_ms: i64) {
    let Some(event) = raw.as_object_mut() else { return };
    event.insert("event_id".into(), json!(format!("{:032x}", i + 1)));
    event.insert("timestamp".into(), json!(timestamp_ms as f64 / 1000.0));
    event.insert("fingerprint".into(), json!([format!("seed-issue-{issue}")]));
    // 60% production, 30% staging, 10% development.
    let environment = ENVIRONMENTS[[0, 0, 0, 0, 0, 0, 1, 1, 1, 2][(mix % 10) as usize]];
    event.insert("environment".into(), json!(environment));
    // Releases follow time: each is current for an eighth of the period, with some hosts a release behind.
    let release = (i * RELEASES / plan.events - (mix >> 8) as i64 % 2).max(0);
    event.insert("release".into(), json!(format!("shop@1.{release}.0")));
    let user = (mix >> 16) as i64 % USERS;
    event.insert(
        "user".into(),
        json!({"id": format!("user-{user}"), "email": format!("user{user}@example.com")}),
    );
    event.insert("server_name".into(), json!(format!("web-{}", (mix >> 24) % 6)));
    let tags = event.entry("tags").or_insert_with(|| json!({}));
    if let Some(tags) = tags.as_object_mut() {
        tags.insert("region".into(), json!(REGIONS[((mix >> 32) % 4) as usize]));
    }
    retitle(event, issue);
}

/// Puts the issue number into the exception value or message, so issues are told apart in the list.
fn retitle(event: &mut serde_json::Map<String, Value>, issue: i64) {
    let suffix = format!(" (#{issue})");
    let exception = event
        .get_mut("exception")
        .and_then(|e| e.get_mut("values"))
        .and_then(Value::as_array_mut)
        .and_then(|values| values.last_mut());
    if let Some(Value::String(value)) = exception.and_then(|e| e.get_mut("value")) {
        value.push_str(&suffix);
        return;
    }
    if let Some(Value::String(formatted)) = event.get_mut("logentry").and_then(|l| l.get_mut("formatted")) {
        formatted.push_str(&suffix);
    } else if let Some(Value::String(message)) = event.get_mut("message") {
        message.push_str(&suffix);
    }
}

/// A fixed mixing function, so a seed is the same on every run and machine.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

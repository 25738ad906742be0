//! Performance issues: each problem found in a transaction (`domain::performance::detectors`) made into an
//! event of its own issue, ready for the event writer, which groups, counts and alerts on it exactly as on
//! an error. Each problem of each transaction is one occurrence; how many occurrences are stored as events
//! is ingest's choice (`domain::performance::occurrences`), and the issue's count counts them all.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::event::{Event, Level, LogEntry};
use crate::domain::performance::detectors::{detect, problem_fingerprint, Problem, Thresholds};
use crate::domain::performance::evidence::problem_evidence;
use crate::domain::performance::{parse_trace_id, Transaction};
use crate::domain::tags::event_tags;
use crate::domain::{ProjectId, Timestamp};
use crate::store::NewEvent;

use super::events::{compress, PrepareError};

/// Stored beside the fingerprint, as error grouping's version is.
pub const PERFORMANCE_GROUPING_VERSION: &str = "performance-v1";
/// Longest culprit (the query as the issue list shows it), in characters, as error culprits.
const MAX_CULPRIT_CHARS: usize = 200;
/// A transaction that ended longer ago than this (or later than a minute from now) is dated when received,
/// as error events are (protocol §7.4).
const MAX_SECS_IN_PAST: f64 = 30.0 * 24.0 * 3600.0;
const MAX_SECS_IN_FUTURE: f64 = 60.0;

/// Where a transaction came from.
#[derive(Debug, Clone, Copy)]
pub struct TransactionOrigin<'a> {
    pub project_id: ProjectId,
    /// The transaction's event id, when it had one: the problem events' ids derive from it, so that a
    /// re-sent transaction is recognised as a duplicate rather than counted again.
    pub event_id: Option<&'a str>,
    /// The transaction's `platform` (`python`, …), when it named one.
    pub platform: Option<&'a str>,
    /// Unix seconds.
    pub received: f64,
}

/// A performance problem of a transaction, with the issue it belongs to.
#[derive(Debug, Clone)]
pub struct FoundProblem {
    /// The issue's fingerprint: project, type, transaction name and normalized query.
    pub fingerprint: String,
    problem: Problem,
}

/// The transaction's performance problems; none for a healthy transaction.
pub fn find_problems(
    origin: &TransactionOrigin,
    transaction: &Transaction,
    thresholds: &Thresholds,
) -> Vec<FoundProblem> {
    detect(transaction, thresholds)
        .into_iter()
        .map(|problem| FoundProblem {
            fingerprint: problem_fingerprint(origin.project_id, problem.kind, &transaction.name, &problem.query),
            problem,
        })
        .collect()
}

/// The events of the transaction's performance problems, one each, standing for one occurrence.
pub fn problem_events(
    origin: &TransactionOrigin,
    transaction: &Transaction,
    thresholds: &Thresholds,
) -> Result<Vec<NewEvent>, PrepareError> {
    find_problems(origin, transaction, thresholds)
        .iter()
        .map(|found| problem_event(origin, transaction, found))
        .collect()
}

/// The event of one problem (standing for one occurrence; a caller that folds others into it raises
/// `occurrences`).
pub fn problem_event(
    origin: &TransactionOrigin,
    transaction: &Transaction,
    found: &FoundProblem,
) -> Result<NewEvent, PrepareError> {
    let FoundProblem { fingerprint, problem } = found;
    let kind = problem.kind;
    let event = Event {
        event_id: event_id(origin.event_id, fingerprint),
        timestamp: plausible_time(transaction.end, origin.received),
        received: origin.received,
        platform: origin.platform.unwrap_or("other").to_owned(),
        level: Level::Info,
        transaction: Some(transaction.name.clone()),
        release: Some(transaction.release.clone()).filter(|r| !r.is_empty()),
        environment: Some(transaction.environment.clone()).filter(|e| !e.is_empty()),
        logentry: Some(LogEntry {
            formatted: Some(problem.query.clone()),
            ..LogEntry::default()
        }),
        contexts: trace_context(transaction),
        performance: Some(problem_evidence(transaction, problem)),
        ..Event::default()
    };
    let culprit: String = problem.query.chars().take(MAX_CULPRIT_CHARS).collect();
    Ok(NewEvent {
        project_id: origin.project_id,
        event_id: event.event_id.clone(),
        timestamp: Timestamp::from_seconds_f64(event.timestamp),
        received: Timestamp::from_seconds_f64(event.received),
        level: event.level.as_str().to_owned(),
        platform: event.platform.clone(),
        release: event.release.clone(),
        environment: event.environment.clone(),
        transaction: event.transaction.clone(),
        trace_id: parse_trace_id(&transaction.trace_id),
        user_key: None,
        title: kind.title().to_owned(),
        metadata: json!({"type": kind.title(), "value": culprit, "transaction": transaction.name}).to_string(),
        culprit,
        issue_type: kind.issue_type().to_owned(),
        fingerprint: fingerprint.clone(),
        grouping_version: PERFORMANCE_GROUPING_VERSION.to_owned(),
        grouping_components: vec![
            format!("type: {}", kind.issue_type()),
            format!("transaction: {}", transaction.name),
            format!("query: {}", problem.query),
        ],
        is_unhandled: false,
        facets: event_tags(&event),
        payload: compress(&event)?,
        occurrences: 1,
    })
}

/// 32 hex: derived from the transaction's id and the problem's issue, else fresh.
fn event_id(transaction_event_id: Option<&str>, fingerprint: &str) -> String {
    match transaction_event_id {
        Some(id) => {
            let digest = Sha256::new()
                .chain_update(id.as_bytes())
                .chain_update(b"/")
                .chain_update(fingerprint.as_bytes())
                .finalize();
            hex::encode(&digest[..16])
        }
        None => uuid::Uuid::new_v4().simple().to_string(),
    }
}

fn plausible_time(end: f64, received: f64) -> f64 {
    if end < received - MAX_SECS_IN_PAST || end > received + MAX_SECS_IN_FUTURE {
        received
    } else {
        end
    }
}

fn trace_context(transaction: &Transaction) -> Map<String, Value> {
    let mut contexts = Map::new();
    contexts.insert(
        "trace".to_owned(),
        json!({"type": "trace", "trace_id": transaction.trace_id, "span_id": transaction.span_id,
               "op": transaction.op, "status": transaction.status}),
    );
    contexts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::performance::Span;
    use crate::store::events::decode_payload;

    fn books(queries: usize) -> Transaction {
        let t = 1_700_000_000.0;
        let spans = (0..queries)
            .map(|i| Span {
                span_id: format!("q{i}"),
                parent_span_id: "root".into(),
                op: "db".into(),
                description: format!("SELECT COUNT(*) FROM review WHERE book_id = {i}"),
                start: t + i as f64 * 0.02,
                end: t + i as f64 * 0.02 + 0.02,
            })
            .collect();
        Transaction {
            name: "/books/".into(),
            op: "http.server".into(),
            status: "ok".into(),
            start: t,
            end: t + 0.5,
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "root".into(),
            environment: "production".into(),
            release: String::new(),
            spans,
            spans_dropped: 0,
            vitals: Vec::new(),
        }
    }

    fn origin(event_id: Option<&str>) -> TransactionOrigin<'_> {
        TransactionOrigin {
            project_id: ProjectId(3),
            event_id,
            platform: Some("python"),
            received: 1_700_000_001.0,
        }
    }

    #[test]
    fn an_n_plus_one_becomes_an_info_event_of_its_own_issue_type() {
        let id = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
        let events = problem_events(&origin(Some(id)), &books(10), &Thresholds::default()).unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            (event.title.as_str(), event.issue_type.as_str(), event.level.as_str()),
            ("N+1 Query", "performance_n_plus_one_db_queries", "info")
        );
        assert_eq!(event.culprit, "SELECT COUNT(*) FROM review WHERE book_id = %s");
        assert_eq!(
            (event.release.as_deref(), event.environment.as_deref()),
            (None, Some("production"))
        );
        assert!(event.facets.contains(&("transaction".into(), "/books/".into())));
        assert_eq!(event.event_id.len(), 32);
        let again = problem_events(&origin(Some(id)), &books(10), &Thresholds::default()).unwrap();
        assert_eq!(again[0].event_id, event.event_id, "a re-sent transaction: the same id");
        assert_eq!(again[0].fingerprint, event.fingerprint);
        let other = problem_events(&origin(None), &books(12), &Thresholds::default()).unwrap();
        assert_ne!(other[0].event_id, event.event_id);
        assert_eq!(
            other[0].fingerprint, event.fingerprint,
            "same endpoint and query: one issue"
        );
        let stored = decode_payload(&event.payload).unwrap();
        let evidence = stored.performance.expect("the evidence is stored");
        assert_eq!(
            (evidence.transaction.as_str(), evidence.offender_count),
            ("/books/", 10)
        );
        assert_eq!(stored.contexts["trace"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(stored.timestamp, 1_700_000_000.5, "when the transaction ended");
    }

    #[test]
    fn a_healthy_transaction_makes_no_event_and_old_ones_are_dated_on_arrival() {
        assert!(problem_events(&origin(None), &books(3), &Thresholds::default())
            .unwrap()
            .is_empty());
        let mut late = origin(None);
        late.received += 40.0 * 86_400.0;
        let events = problem_events(&late, &books(10), &Thresholds::default()).unwrap();
        assert_eq!(events[0].timestamp, Timestamp::from_seconds_f64(late.received));
    }
}

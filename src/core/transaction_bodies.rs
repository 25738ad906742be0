//! Transaction bodies: a transaction prepared on the ingest path (read, scrubbed, compressed, in the request
//! task) and, in the writer's transaction, the bodies kept by the sampling rules: every transaction of a
//! trace with an error already stored, the slowest few of each name and hour (the store holds the current
//! ones; a slower transaction replaces the fastest), and the uniform sample. An error that arrives after
//! its trace's transactions were passed over does not bring them back (README, "Transaction bodies").

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::domain::performance::sampling::{
    hour_of, plan_bodies, Candidate, StoredSlowest, DEFAULT_BODY_RETENTION_DAYS,
};
use crate::domain::performance::{parse_trace_id, KeepReasons, SamplingRules, Transaction};
use crate::domain::scrub::Scrubber;
use crate::domain::ProjectId;
use crate::store::transaction_bodies::{self, NewBody};
use crate::store::{StoreError, Tx};

use super::events::{compress_payload, PrepareError};

/// An error event counts for a transaction's trace when it happened within this long of the transaction
/// (bounding the look-up to a few days' partitions on Postgres).
const ERROR_WINDOW_MS: i64 = 3_600_000;

/// What the sampled body store keeps and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodySettings {
    pub sampling: SamplingRules,
    /// Days a kept body stays (at most its project's retention).
    pub retention_days: i64,
}

impl Default for BodySettings {
    fn default() -> BodySettings {
        BodySettings {
            sampling: SamplingRules::default(),
            retention_days: DEFAULT_BODY_RETENTION_DAYS,
        }
    }
}

/// A transaction on its way to the writer.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingTransaction {
    pub project_id: ProjectId,
    /// 32 lowercase hex: the envelope's, else the payload's, else a new one.
    pub event_id: String,
    /// 32 lowercase hex; empty when the transaction names no valid trace.
    pub trace_id: String,
    pub transaction: Transaction,
    /// The scrubbed transaction JSON; compressed and stored only if the body is kept (most are not, and
    /// compressing every one was the largest single cost of a transaction's ingest).
    pub json: Vec<u8>,
}

/// Prepares a read transaction's body (`event`, the JSON it was read from): scrubbed (unless `scrubber` is
/// `None`) here, in the request task; the writer compresses the few it keeps.
pub fn prepare_transaction(
    project_id: ProjectId,
    transaction: Transaction,
    mut event: Value,
    event_id: String,
    scrubber: Option<&Scrubber>,
) -> Result<IncomingTransaction, PrepareError> {
    if let Some(scrubber) = scrubber {
        scrubber.scrub_json(&mut event);
    }
    let json = serde_json::to_vec(&event).map_err(|e| PrepareError::Invalid(e.to_string()))?;
    Ok(IncomingTransaction {
        project_id,
        event_id,
        trace_id: parse_trace_id(&transaction.trace_id).unwrap_or_default(),
        transaction,
        json,
    })
}

/// Stores the bodies of a batch that the rules keep and lets go of stored ones no longer among the
/// slowest, inside the writer's transaction.
pub(crate) async fn keep_bodies(
    tx: &mut Tx,
    batch: &[IncomingTransaction],
    rules: &SamplingRules,
) -> Result<(), StoreError> {
    let candidates: Vec<Candidate> = batch.iter().map(candidate).collect();
    let mut stored = Vec::new();
    let mut error_traces = HashSet::new();
    for (project_id, members) in by_project(batch) {
        let slowest = if rules.slowest_per_hour > 0 {
            let mut keys: Vec<(&str, i64)> = members
                .iter()
                .map(|&i| (candidates[i].name, candidates[i].hour))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            transaction_bodies::slowest_of(tx, project_id, &keys).await?
        } else {
            Vec::new()
        };
        let traces = trace_ids(members.iter().map(|&i| candidates[i].trace_id), &slowest);
        if !traces.is_empty() {
            let window = error_window(batch, &members);
            error_traces.extend(transaction_bodies::traces_with_errors(tx, project_id, &traces, window).await?);
        }
        stored.extend(slowest);
    }
    let plan = plan_bodies(&candidates, &stored, &error_traces, rules);
    let compressed: Vec<(&IncomingTransaction, KeepReasons, Vec<u8>)> = batch
        .iter()
        .zip(&plan.new)
        .filter(|(_, reasons)| reasons.any())
        .map(|(incoming, &reasons)| Ok((incoming, reasons, compress_body(incoming)?)))
        .collect::<Result<_, StoreError>>()?;
    let kept: Vec<NewBody> = compressed
        .iter()
        .map(|(incoming, reasons, payload)| new_body(incoming, *reasons, payload))
        .collect();
    transaction_bodies::insert_bodies(tx, &kept).await?;
    transaction_bodies::demote(tx, &plan.displaced).await
}

/// The distinct trace ids of a project's transactions and of its stored slowest bodies (whose error may
/// have come since they were kept), as owned strings.
fn trace_ids<'a>(batch: impl Iterator<Item = &'a str>, slowest: &'a [StoredSlowest]) -> Vec<String> {
    let mut traces: Vec<String> = batch
        .chain(slowest.iter().map(|body| body.trace_id.as_str()))
        .filter(|trace| !trace.is_empty())
        .map(str::to_owned)
        .collect();
    traces.sort_unstable();
    traces.dedup();
    traces
}

fn candidate(incoming: &IncomingTransaction) -> Candidate<'_> {
    Candidate {
        project_id: incoming.project_id,
        name: &incoming.transaction.name,
        hour: hour_of(incoming.transaction.end),
        duration_ms: incoming.transaction.duration_ms(),
        trace_id: &incoming.trace_id,
        event_id: &incoming.event_id,
    }
}

/// The batch's indexes per project.
fn by_project(batch: &[IncomingTransaction]) -> BTreeMap<ProjectId, Vec<usize>> {
    let mut projects: BTreeMap<ProjectId, Vec<usize>> = BTreeMap::new();
    for (i, incoming) in batch.iter().enumerate() {
        projects.entry(incoming.project_id).or_default().push(i);
    }
    projects
}

/// From an hour before the earliest start to an hour after the latest end of the given transactions.
fn error_window(batch: &[IncomingTransaction], members: &[usize]) -> (i64, i64) {
    let starts = members.iter().map(|&i| (batch[i].transaction.start * 1000.0) as i64);
    let ends = members.iter().map(|&i| (batch[i].transaction.end * 1000.0) as i64);
    let from = starts.min().unwrap_or_default();
    let to = ends.max().unwrap_or_default();
    (from - ERROR_WINDOW_MS, to + ERROR_WINDOW_MS)
}

fn compress_body(incoming: &IncomingTransaction) -> Result<Vec<u8>, StoreError> {
    compress_payload(&incoming.json).map_err(|e| {
        StoreError::Corrupt(format!(
            "transaction {} could not be compressed: {e}",
            incoming.event_id
        ))
    })
}

fn new_body<'a>(incoming: &'a IncomingTransaction, reasons: KeepReasons, payload: &'a [u8]) -> NewBody<'a> {
    let transaction = &incoming.transaction;
    NewBody {
        project_id: incoming.project_id,
        event_id: &incoming.event_id,
        trace_id: &incoming.trace_id,
        name: &transaction.name,
        op: &transaction.op,
        status: &transaction.status,
        environment: &transaction.environment,
        release: &transaction.release,
        timestamp: (transaction.end * 1000.0) as i64,
        hour: hour_of(transaction.end),
        duration_ms: transaction.duration_ms(),
        reasons,
        payload,
    }
}

//! What a finished check-in does beyond its row, inside its transaction: the monitor's health moves on, a
//! failure that opens (or continues) an incident is stored as an event of the monitor's issue, through the
//! same group commit and alert rules as any error (new issue, regression, frequency; cooldowns included),
//! and a recovery closes the incident and resolves the issue, which queues its PagerDuty resolves.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::core::events::{parse_event_json, prepare_event, EventContext};
use crate::core::issues::change_in;
use crate::domain::alerts::{QuietMemo, RuleSet};
use crate::domain::lifecycle::StatusChange;
use crate::domain::monitors::{failure_message, issue_fingerprint, CheckInStatus, IncidentChange, MonitorConfig};
use crate::store::monitors::{self as store, Monitor, MonitorState};
use crate::store::{record_events_in, StoreError, Tx};

/// A finished run (or a mark) as the monitor's health reads it.
pub(super) struct Finished<'a> {
    pub status: CheckInStatus,
    pub check_in_id: &'a str,
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
    /// When it finished (or, for a missed check-in, when the mark was made).
    pub at: i64,
}

/// What the transaction queued: alert fires and incident resolves (the outbox worker is woken for them).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Queued {
    pub fires: usize,
    pub resolves: usize,
}

impl Queued {
    pub fn add(&mut self, other: Queued) {
        self.fires += other.fires;
        self.resolves += other.resolves;
    }

    pub fn any(self) -> bool {
        self.fires + self.resolves > 0
    }
}

/// Applies a finished run to the monitor (whose row the transaction holds) and writes its new health.
pub(super) async fn finish(
    tx: &mut Tx,
    rules: &RuleSet,
    monitor: &mut Monitor,
    config: &MonitorConfig,
    run: &Finished<'_>,
) -> Result<Queued, StoreError> {
    let (health, change) = monitor.health_state().after(run.status, config);
    let mut queued = Queued::default();
    match change {
        IncidentChange::Opened => {
            store::open_incident(tx, monitor.id, run.at, run.status.as_str()).await?;
            queued.fires = store_failure(tx, rules, monitor, config, run).await?;
        }
        IncidentChange::Failed => queued.fires = store_failure(tx, rules, monitor, config, run).await?,
        IncidentChange::Recovered => {
            store::resolve_incident(tx, monitor.id, run.at).await?;
            if let Some(issue_id) = monitor.issue_id {
                let resolved = change_in(tx, monitor.organization_id, issue_id, &StatusChange::Resolve).await?;
                queued.resolves = resolved.map_or(0, |(_, resolves)| resolves);
            }
        }
        IncidentChange::None => {}
    }
    let state = MonitorState {
        health_label: health_label(run.status),
        health,
        next_expected_at: monitor.next_expected_at,
        last_check_in_at: (run.status != CheckInStatus::Missed).then_some(run.at),
    };
    store::write_state(tx, monitor.id, &state).await?;
    monitor.failures_in_row = i64::from(health.failures_in_row);
    monitor.successes_in_row = i64::from(health.successes_in_row);
    monitor.incident_open = health.incident_open;
    monitor.health = state.health_label.to_owned();
    Ok(queued)
}

/// The monitor's health as lists show it (Sentry's environment statuses).
pub(super) fn health_label(status: CheckInStatus) -> &'static str {
    match status {
        CheckInStatus::InProgress => "in_progress",
        CheckInStatus::Ok => "ok",
        CheckInStatus::Error => "error",
        CheckInStatus::Missed => "missed_checkin",
        CheckInStatus::Timeout => "timeout",
    }
}

/// Stores the failure as an event of the monitor's issue; returns the alert fires it queued.
async fn store_failure(
    tx: &mut Tx,
    rules: &RuleSet,
    monitor: &mut Monitor,
    config: &MonitorConfig,
    run: &Finished<'_>,
) -> Result<usize, StoreError> {
    let event_id = failure_event_id(&monitor.guid, run.check_in_id, run.status);
    let payload = json!({
        "event_id": event_id,
        "timestamp": run.at as f64 / 1000.0,
        "level": "error",
        "platform": "other",
        "logger": "monitors",
        "message": failure_message(&monitor.name, run.status),
        "fingerprint": issue_fingerprint(&monitor.guid),
        "environment": run.environment,
        "release": run.release,
        "transaction": monitor.slug,
        "tags": {"monitor.slug": monitor.slug, "monitor.status": run.status.as_str()},
        "contexts": {"monitor": {
            "id": monitor.guid, "slug": monitor.slug, "name": monitor.name,
            "schedule": config.schedule.describe(), "timezone": config.timezone.name(),
            "check_in_id": run.check_in_id,
        }},
    });
    let context = EventContext {
        project_id: monitor.project_id,
        received_at: run.at as f64 / 1000.0,
        client_ip: None,
        header_event_id: None,
        sent_at: None,
        scrubber: None,
        filters: None,
    };
    let parsed = parse_event_json(payload.to_string().as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let event = prepare_event(parsed, &context).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    // No memo: the cooldown table is the authority, and monitor failures are rare.
    let (_, fired) = record_events_in(tx, std::slice::from_ref(&event), rules, &QuietMemo::default()).await?;
    store::set_issue(tx, monitor.id, monitor.project_id, &event_id).await?;
    Ok(fired.len())
}

/// The failure's event id, derived from the run, so that a failure recorded twice (a re-sent check-in) is
/// one event.
fn failure_event_id(guid: &str, check_in_id: &str, status: CheckInStatus) -> String {
    let digest = Sha256::digest(format!("{guid}/{check_in_id}/{}", status.as_str()));
    hex::encode(&digest[..16])
}

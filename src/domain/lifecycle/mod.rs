//! Issue lifecycle (§9.1, §9.2): status, substatus, resolutions and ignore conditions, and how a
//! newly ingested event changes them (regressions, ignore conditions that trip).

use crate::domain::Timestamp;

mod change;
mod releases;
mod state;

pub use change::{ChangeContext, IgnoreFor, StatusChange};
pub use releases::{compare_releases, KnownReleases, ReleaseOrder};
pub use state::{IgnoreCondition, IssueState, IssueStatus, Resolution, Substatus};

/// What the event being ingested knows about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncomingEvent<'a> {
    pub release: Option<&'a str>,
    /// When the event happened.
    pub timestamp: Timestamp,
    /// The issue's event count including this event.
    pub times_seen_after: i64,
}

/// What an ingested event did to its issue, so the caller can record activity and alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Unchanged,
    /// A resolved issue reopened.
    Regressed,
    /// An ignored issue's condition tripped and it is unresolved again.
    Unignored,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Unchanged => "unchanged",
            Transition::Regressed => "regressed",
            Transition::Unignored => "unignored",
        }
    }
}

/// Applies an ingested event to its issue's state (§9.2). Unresolved issues never change here:
/// `new` stays `new` and `regressed` stays `regressed` until someone acts on the issue.
pub fn apply_event(state: &mut IssueState, event: &IncomingEvent, releases: &dyn ReleaseOrder) -> Transition {
    match state.status {
        IssueStatus::Unresolved => Transition::Unchanged,
        IssueStatus::Resolved if regresses(state, event, releases) => {
            state.reopen(Substatus::Regressed);
            Transition::Regressed
        }
        IssueStatus::Ignored if ignore_has_ended(state.ignore.as_ref(), event) => {
            state.reopen(Substatus::Escalating);
            Transition::Unignored
        }
        IssueStatus::Resolved | IssueStatus::Ignored => Transition::Unchanged,
    }
}

fn regresses(state: &IssueState, event: &IncomingEvent, releases: &dyn ReleaseOrder) -> bool {
    match &state.resolution {
        // An event that happened before the user resolved was already known to them, even if it
        // arrives later (the getsentry/sentry#30371 race, §9.2).
        None | Some(Resolution::Plain) => !matches!(state.resolved_at, Some(at) if event.timestamp < at),
        // Events without a release count as older than any release (§9.2).
        Some(Resolution::InNextRelease { latest_at_resolve }) => match (event.release, latest_at_resolve) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(release), Some(latest)) => releases.cmp_releases(release, latest).is_gt(),
        },
        Some(Resolution::InRelease(fixed_in)) => event
            .release
            .is_some_and(|release| releases.cmp_releases(release, fixed_in).is_ge()),
    }
}

fn ignore_has_ended(condition: Option<&IgnoreCondition>, event: &IncomingEvent) -> bool {
    match condition {
        None | Some(IgnoreCondition::Forever) => false,
        Some(IgnoreCondition::UntilTime { until }) => event.timestamp >= *until,
        Some(IgnoreCondition::UntilCount { times_seen_target }) => event.times_seen_after >= *times_seen_target,
    }
}

#[cfg(test)]
mod tests;

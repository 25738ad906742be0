//! Status changes asked for through the API (§11.5), applied to an issue's state.

use super::{IssueState, Resolution};
use crate::domain::Timestamp;

/// One change of status, as `PUT …/issues/` bodies express it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    Resolve,
    /// Regresses only on events from a release newer than the latest one at the time of resolving.
    ResolveInNextRelease,
    /// Regresses only on events from this release or a newer one. `latest` names the latest release.
    ResolveInRelease(String),
    Unresolve,
    Ignore(IgnoreFor),
}

/// How long an ignore lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreFor {
    Forever,
    Minutes(i64),
    /// Until this many more events arrive.
    Count(i64),
    /// Until this instant.
    Until(Timestamp),
}

/// What applying a change needs to know about the issue and its project.
#[derive(Debug, Clone, Copy)]
pub struct ChangeContext<'a> {
    pub now: Timestamp,
    pub times_seen: i64,
    /// The project's most recent release, if any.
    pub latest_release: Option<&'a str>,
}

impl StatusChange {
    pub fn apply(&self, state: &mut IssueState, ctx: &ChangeContext) {
        match self {
            StatusChange::Resolve => state.resolve(Resolution::Plain, ctx.now),
            StatusChange::ResolveInNextRelease => {
                let latest_at_resolve = ctx.latest_release.map(str::to_owned);
                state.resolve(Resolution::InNextRelease { latest_at_resolve }, ctx.now);
            }
            StatusChange::ResolveInRelease(version) => {
                let version = match (version.as_str(), ctx.latest_release) {
                    ("latest", Some(latest)) => latest,
                    // Nothing released yet: any later event is news, as with a plain resolve.
                    ("latest", None) => return state.resolve(Resolution::Plain, ctx.now),
                    (named, _) => named,
                };
                state.resolve(Resolution::InRelease(version.to_owned()), ctx.now);
            }
            StatusChange::Unresolve => state.unresolve(),
            StatusChange::Ignore(IgnoreFor::Forever) => state.ignore(super::IgnoreCondition::Forever),
            StatusChange::Ignore(IgnoreFor::Minutes(minutes)) => state.ignore_for_minutes(ctx.now, *minutes),
            StatusChange::Ignore(IgnoreFor::Count(n)) => state.ignore_for_count(ctx.times_seen, *n),
            StatusChange::Ignore(IgnoreFor::Until(until)) => {
                state.ignore(super::IgnoreCondition::UntilTime { until: *until })
            }
        }
    }
}

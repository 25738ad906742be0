//! The stored state of an issue (§9.1) and the user actions that change it: resolve, ignore,
//! unresolve. Every enum round-trips through its database name with `as_str`/`parse`.

use crate::domain::Timestamp;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueStatus {
    Unresolved,
    Resolved,
    /// Shown as "archived" in Sentry's UI.
    Ignored,
}

impl IssueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Unresolved => "unresolved",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Ignored => "ignored",
        }
    }

    pub fn parse(name: &str) -> Option<IssueStatus> {
        [IssueStatus::Unresolved, IssueStatus::Resolved, IssueStatus::Ignored]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Substatus {
    New,
    Ongoing,
    Regressed,
    Escalating,
    ArchivedForever,
    ArchivedUntilConditionMet,
}

impl Substatus {
    pub const ALL: [Substatus; 6] = [
        Substatus::New,
        Substatus::Ongoing,
        Substatus::Regressed,
        Substatus::Escalating,
        Substatus::ArchivedForever,
        Substatus::ArchivedUntilConditionMet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Substatus::New => "new",
            Substatus::Ongoing => "ongoing",
            Substatus::Regressed => "regressed",
            Substatus::Escalating => "escalating",
            Substatus::ArchivedForever => "archived_forever",
            Substatus::ArchivedUntilConditionMet => "archived_until_condition_met",
        }
    }

    pub fn parse(name: &str) -> Option<Substatus> {
        Substatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// How an issue was resolved (§9.2); decides which later events count as a regression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// Any event after the resolution regresses.
    Plain,
    /// Fixed in whatever release comes after the latest one known when resolving.
    InNextRelease { latest_at_resolve: Option<String> },
    /// Fixed in this release: events from it or newer regress.
    InRelease(String),
}

impl Resolution {
    /// The kind, stored beside [`Resolution::release`].
    pub fn as_str(&self) -> &'static str {
        match self {
            Resolution::Plain => "plain",
            Resolution::InNextRelease { .. } => "next_release",
            Resolution::InRelease(_) => "in_release",
        }
    }

    pub fn release(&self) -> Option<&str> {
        match self {
            Resolution::Plain => None,
            Resolution::InNextRelease { latest_at_resolve } => latest_at_resolve.as_deref(),
            Resolution::InRelease(release) => Some(release),
        }
    }

    /// Rebuilds a resolution from its stored kind and release.
    pub fn parse(kind: &str, release: Option<&str>) -> Option<Resolution> {
        match (kind, release) {
            ("plain", _) => Some(Resolution::Plain),
            ("next_release", latest) => Some(Resolution::InNextRelease {
                latest_at_resolve: latest.map(str::to_string),
            }),
            ("in_release", Some(release)) => Some(Resolution::InRelease(release.to_string())),
            _ => None,
        }
    }
}

/// When an ignored issue comes back on its own (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreCondition {
    Forever,
    UntilTime {
        until: Timestamp,
    },
    /// Until the issue's event count reaches the target.
    UntilCount {
        times_seen_target: i64,
    },
}

impl IgnoreCondition {
    /// The kind, stored beside [`IgnoreCondition::threshold`].
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreCondition::Forever => "forever",
            IgnoreCondition::UntilTime { .. } => "until_time",
            IgnoreCondition::UntilCount { .. } => "until_count",
        }
    }

    /// The instant (as epoch ms) or event count at which the condition trips.
    pub fn threshold(self) -> Option<i64> {
        match self {
            IgnoreCondition::Forever => None,
            IgnoreCondition::UntilTime { until } => Some(until.as_millis()),
            IgnoreCondition::UntilCount { times_seen_target } => Some(times_seen_target),
        }
    }

    /// Rebuilds a condition from its stored kind and threshold.
    pub fn parse(kind: &str, threshold: Option<i64>) -> Option<IgnoreCondition> {
        match (kind, threshold) {
            ("forever", _) => Some(IgnoreCondition::Forever),
            ("until_time", Some(until_ms)) => Some(IgnoreCondition::UntilTime {
                until: Timestamp::from_millis(until_ms),
            }),
            ("until_count", Some(times_seen_target)) => Some(IgnoreCondition::UntilCount { times_seen_target }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueState {
    pub status: IssueStatus,
    /// Meaningful while unresolved or ignored; see [`IssueState::visible_substatus`].
    pub substatus: Substatus,
    /// Set only while resolved.
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<Timestamp>,
    /// Set only while ignored.
    pub ignore: Option<IgnoreCondition>,
}

impl IssueState {
    pub fn new_issue() -> Self {
        IssueState {
            status: IssueStatus::Unresolved,
            substatus: Substatus::New,
            resolution: None,
            resolved_at: None,
            ignore: None,
        }
    }

    /// Sentry reports no substatus for resolved issues (§9.1).
    pub fn visible_substatus(&self) -> Option<Substatus> {
        (self.status != IssueStatus::Resolved).then_some(self.substatus)
    }

    /// `now` is kept so events that happened before the resolution cannot regress it.
    pub fn resolve(&mut self, resolution: Resolution, now: Timestamp) {
        self.status = IssueStatus::Resolved;
        self.substatus = Substatus::Ongoing;
        self.resolution = Some(resolution);
        self.resolved_at = Some(now);
        self.ignore = None;
    }

    pub fn ignore(&mut self, condition: IgnoreCondition) {
        self.status = IssueStatus::Ignored;
        self.substatus = match condition {
            IgnoreCondition::Forever => Substatus::ArchivedForever,
            _ => Substatus::ArchivedUntilConditionMet,
        };
        self.resolution = None;
        self.resolved_at = None;
        self.ignore = Some(condition);
    }

    /// Ignore "until `n` more events": events 1..n-1 keep it ignored, the n-th brings it back
    /// (`n` below 1 counts as 1).
    pub fn ignore_for_count(&mut self, current_times_seen: i64, n: i64) {
        let times_seen_target = current_times_seen.saturating_add(n.max(1));
        self.ignore(IgnoreCondition::UntilCount { times_seen_target });
    }

    /// Ignore for `minutes` from `now` (the API's `ignoreDuration`).
    pub fn ignore_for_minutes(&mut self, now: Timestamp, minutes: i64) {
        let until = now.saturating_add_millis(minutes.saturating_mul(MINUTE_MS));
        self.ignore(IgnoreCondition::UntilTime { until });
    }

    /// A user reopening the issue by hand.
    pub fn unresolve(&mut self) {
        self.reopen(Substatus::Ongoing);
    }

    pub(super) fn reopen(&mut self, substatus: Substatus) {
        self.status = IssueStatus::Unresolved;
        self.substatus = substatus;
        self.resolution = None;
        self.resolved_at = None;
        self.ignore = None;
    }
}

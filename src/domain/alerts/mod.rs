//! Alert rules and their evaluation: which issues of a committed batch make which rule fire. Pure: the
//! writer hands in what the batch did and the window counts it read, and gets back the fires to record.

pub mod channel;
mod evaluate;
pub mod metric;
#[cfg(test)]
mod tests;

use crate::domain::{ChannelId, IssueId, ProjectId, RuleId, Timestamp};
use std::collections::HashMap;

use crate::domain::event::Level;

pub use evaluate::{evaluate, BatchIssue, Candidate, EventFacts, WindowCounts};

/// A count within a sliding window: "at least `count` in `minutes` minutes".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub count: i64,
    pub minutes: i64,
}

impl Threshold {
    pub const MAX_MINUTES: i64 = 24 * 60;

    pub fn new(count: i64, minutes: i64) -> Result<Threshold, RuleError> {
        if count < 1 || !(1..=Self::MAX_MINUTES).contains(&minutes) {
            return Err(RuleError::Threshold);
        }
        Ok(Threshold { count, minutes })
    }
}

/// What makes a rule fire; any one of them is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggers {
    pub new_issue: bool,
    pub regression: bool,
    /// The issue was seen at least N times in M minutes.
    pub frequency: Option<Threshold>,
    /// At least N distinct users met the issue in M minutes.
    pub users: Option<Threshold>,
}

/// Filters on the triggering event; all that are set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub min_level: Option<Level>,
    pub environment: Option<String>,
    pub tag: Option<(String, String)>,
}

/// Why a rule fired for an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FireReason {
    NewIssue,
    Regression,
    Frequency,
    Users,
}

impl FireReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FireReason::NewIssue => "new_issue",
            FireReason::Regression => "regression",
            FireReason::Frequency => "frequency",
            FireReason::Users => "users",
        }
    }

    pub fn parse(text: &str) -> Option<FireReason> {
        [Self::NewIssue, Self::Regression, Self::Frequency, Self::Users]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }

    /// How a message phrases it.
    pub fn describe(self) -> &'static str {
        match self {
            FireReason::NewIssue => "New issue",
            FireReason::Regression => "Regression",
            FireReason::Frequency => "Frequent issue",
            FireReason::Users => "Many users affected",
        }
    }
}

/// The cooldown when a rule names none.
pub const DEFAULT_COOLDOWN_MINUTES: i64 = 30;

/// A rule as evaluated and edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    pub id: RuleId,
    pub project_id: ProjectId,
    pub name: String,
    pub enabled: bool,
    pub triggers: Triggers,
    pub conditions: Conditions,
    pub cooldown_minutes: i64,
    pub channel_ids: Vec<ChannelId>,
}

/// What a user asks for when creating or editing a rule; checked by [`RuleSpec::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    pub enabled: bool,
    pub triggers: Triggers,
    pub conditions: Conditions,
    pub cooldown_minutes: i64,
    pub channel_ids: Vec<ChannelId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("a rule needs a name of 1–200 characters")]
    Name,
    #[error("a rule needs at least one trigger: new issue, regression, frequency or users")]
    NoTrigger,
    #[error("a threshold needs a count of at least 1 and a window of 1 to 1440 minutes")]
    Threshold,
    #[error("the cooldown must be 0 to 10080 minutes (a week)")]
    Cooldown,
    #[error("a rule needs at least one channel")]
    NoChannel,
    #[error("a tag condition needs both a key and a value")]
    Tag,
}

impl RuleSpec {
    /// The default rule of a new project: a new issue or a regression, mailed to the project's members.
    pub fn project_default(channel_id: ChannelId) -> RuleSpec {
        RuleSpec {
            name: "New or regressed issue".into(),
            enabled: true,
            triggers: Triggers {
                new_issue: true,
                regression: true,
                ..Triggers::default()
            },
            conditions: Conditions::default(),
            cooldown_minutes: DEFAULT_COOLDOWN_MINUTES,
            channel_ids: vec![channel_id],
        }
    }

    pub fn validate(mut self) -> Result<RuleSpec, RuleError> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            return Err(RuleError::Name);
        }
        let t = &self.triggers;
        if !t.new_issue && !t.regression && t.frequency.is_none() && t.users.is_none() {
            return Err(RuleError::NoTrigger);
        }
        for threshold in [t.frequency, t.users].into_iter().flatten() {
            Threshold::new(threshold.count, threshold.minutes)?;
        }
        if !(0..=7 * 24 * 60).contains(&self.cooldown_minutes) {
            return Err(RuleError::Cooldown);
        }
        self.channel_ids.sort_unstable();
        self.channel_ids.dedup();
        if self.channel_ids.is_empty() {
            return Err(RuleError::NoChannel);
        }
        let c = &mut self.conditions;
        c.environment = c
            .environment
            .take()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        if let Some((key, value)) = c.tag.take() {
            let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
            match (key.is_empty(), value.is_empty()) {
                (true, true) => {}
                (false, false) => c.tag = Some((key, value)),
                _ => return Err(RuleError::Tag),
            }
        }
        Ok(self)
    }
}

/// The enabled rules, by project, as the writer evaluates them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    by_project: HashMap<ProjectId, Vec<AlertRule>>,
}

impl RuleSet {
    pub fn new(rules: impl IntoIterator<Item = AlertRule>) -> RuleSet {
        let mut by_project: HashMap<ProjectId, Vec<AlertRule>> = HashMap::new();
        for rule in rules.into_iter().filter(|r| r.enabled && !r.channel_ids.is_empty()) {
            by_project.entry(rule.project_id).or_default().push(rule);
        }
        RuleSet { by_project }
    }

    pub fn is_empty(&self) -> bool {
        self.by_project.is_empty()
    }

    pub fn for_project(&self, project_id: ProjectId) -> &[AlertRule] {
        self.by_project.get(&project_id).map_or(&[], Vec::as_slice)
    }

    /// The distinct frequency windows (minutes) the rules of this project use.
    pub fn frequency_windows(&self, project_id: ProjectId) -> Vec<i64> {
        self.windows(project_id, |t| t.frequency)
    }

    /// The distinct user-count windows (minutes) the rules of this project use.
    pub fn user_windows(&self, project_id: ProjectId) -> Vec<i64> {
        self.windows(project_id, |t| t.users)
    }

    fn windows(&self, project_id: ProjectId, pick: impl Fn(&Triggers) -> Option<Threshold>) -> Vec<i64> {
        let mut minutes: Vec<i64> = self
            .for_project(project_id)
            .iter()
            .filter_map(|rule| pick(&rule.triggers).map(|t| t.minutes))
            .collect();
        minutes.sort_unstable();
        minutes.dedup();
        minutes
    }
}

/// What the writer remembers between batches: until when each rule stays quiet for an issue after it
/// fired here. It only saves database work; the cooldown table stays the authority (other processes fire
/// too), so an entry is only ever added for a fire this writer recorded itself.
#[derive(Debug, Default)]
pub struct QuietMemo {
    until: HashMap<(RuleId, IssueId), Timestamp>,
}

impl QuietMemo {
    /// Entries kept before expired ones are dropped.
    const PRUNE_AT: usize = 100_000;

    pub fn is_quiet(&self, rule_id: RuleId, issue_id: IssueId, now: Timestamp) -> bool {
        self.until.get(&(rule_id, issue_id)).is_some_and(|&until| until > now)
    }

    pub fn remember(&mut self, rule_id: RuleId, issue_id: IssueId, until: Timestamp, now: Timestamp) {
        if self.until.len() >= Self::PRUNE_AT {
            self.until.retain(|_, quiet_until| *quiet_until > now);
        }
        self.until.insert((rule_id, issue_id), until);
    }

    /// Forgets everything, e.g. when the rules changed (a cooldown may have been shortened).
    pub fn clear(&mut self) {
        self.until.clear();
    }
}

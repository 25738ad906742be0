//! The rule form: what it posts, how that becomes a [`RuleSpec`], and how a stored rule fills it in.
//! Numbers arrive as text so a half-filled form comes back with what was typed, plus the error.

use crate::domain::ChannelId;
use serde::Deserialize;

use crate::domain::alerts::{
    AlertRule, Conditions, RuleError, RuleSpec, Threshold, Triggers, DEFAULT_COOLDOWN_MINUTES,
};
use crate::domain::event::Level;

/// The minimum levels the form offers (empty: any).
pub const LEVELS: [&str; 6] = ["", "debug", "info", "warning", "error", "fatal"];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub new_issue: bool,
    #[serde(default)]
    pub regression: bool,
    #[serde(default)]
    pub frequency: bool,
    #[serde(default)]
    pub frequency_count: String,
    #[serde(default)]
    pub frequency_minutes: String,
    #[serde(default)]
    pub users: bool,
    #[serde(default)]
    pub users_count: String,
    #[serde(default)]
    pub users_minutes: String,
    #[serde(default)]
    pub min_level: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub tag_key: String,
    #[serde(default)]
    pub tag_value: String,
    #[serde(default)]
    pub cooldown_minutes: String,
    #[serde(default)]
    pub channel: Vec<ChannelId>,
    #[serde(default)]
    pub enabled: bool,
}

impl RuleForm {
    /// A new rule's form: new issues and regressions, the default cooldown, on.
    pub fn blank() -> RuleForm {
        RuleForm {
            new_issue: true,
            regression: true,
            frequency_count: "100".into(),
            frequency_minutes: "60".into(),
            users_count: "10".into(),
            users_minutes: "60".into(),
            cooldown_minutes: DEFAULT_COOLDOWN_MINUTES.to_string(),
            enabled: true,
            ..RuleForm::default()
        }
    }

    pub fn from_rule(rule: &AlertRule) -> RuleForm {
        let blank = RuleForm::blank();
        let (t, c) = (&rule.triggers, &rule.conditions);
        let count =
            |threshold: Option<Threshold>, default: &str| threshold.map_or(default.to_owned(), |t| t.count.to_string());
        let minutes = |threshold: Option<Threshold>| threshold.map_or("60".to_owned(), |t| t.minutes.to_string());
        RuleForm {
            name: rule.name.clone(),
            new_issue: t.new_issue,
            regression: t.regression,
            frequency: t.frequency.is_some(),
            frequency_count: count(t.frequency, &blank.frequency_count),
            frequency_minutes: minutes(t.frequency),
            users: t.users.is_some(),
            users_count: count(t.users, &blank.users_count),
            users_minutes: minutes(t.users),
            min_level: c.min_level.map_or("", Level::as_str).to_owned(),
            environment: c.environment.clone().unwrap_or_default(),
            tag_key: c.tag.as_ref().map(|(k, _)| k.clone()).unwrap_or_default(),
            tag_value: c.tag.as_ref().map(|(_, v)| v.clone()).unwrap_or_default(),
            cooldown_minutes: rule.cooldown_minutes.to_string(),
            channel: rule.channel_ids.clone(),
            enabled: rule.enabled,
        }
    }

    /// What the user asked for; [`RuleSpec::validate`] still checks the ranges.
    pub fn to_spec(&self) -> Result<RuleSpec, RuleError> {
        let threshold = |on: bool, count: &str, minutes: &str| -> Result<Option<Threshold>, RuleError> {
            if !on {
                return Ok(None);
            }
            let number = |text: &str| text.trim().parse::<i64>().map_err(|_| RuleError::Threshold);
            Ok(Some(Threshold {
                count: number(count)?,
                minutes: number(minutes)?,
            }))
        };
        let cooldown = match self.cooldown_minutes.trim() {
            "" => DEFAULT_COOLDOWN_MINUTES,
            text => text.parse().map_err(|_| RuleError::Cooldown)?,
        };
        Ok(RuleSpec {
            name: self.name.clone(),
            enabled: self.enabled,
            triggers: Triggers {
                new_issue: self.new_issue,
                regression: self.regression,
                frequency: threshold(self.frequency, &self.frequency_count, &self.frequency_minutes)?,
                users: threshold(self.users, &self.users_count, &self.users_minutes)?,
            },
            conditions: Conditions {
                // The select offers only known levels; anything else means "any".
                min_level: Level::parse(&self.min_level),
                environment: Some(self.environment.clone()),
                tag: Some((self.tag_key.clone(), self.tag_value.clone())),
            },
            cooldown_minutes: cooldown,
            channel_ids: self.channel.clone(),
        })
    }
}

/// "new issue, regression, seen 100 times in 60 min": a rule's triggers as the list shows them.
pub fn triggers_in_words(triggers: &Triggers) -> String {
    let mut words = Vec::new();
    if triggers.new_issue {
        words.push("new issue".to_owned());
    }
    if triggers.regression {
        words.push("regression".to_owned());
    }
    if let Some(t) = triggers.frequency {
        words.push(format!("seen at least {} times in {} min", t.count, t.minutes));
    }
    if let Some(t) = triggers.users {
        words.push(format!("at least {} users in {} min", t.count, t.minutes));
    }
    words.join(", ")
}

/// "level error or higher, environment production": the conditions, or "any event".
pub fn conditions_in_words(conditions: &Conditions) -> String {
    let mut words = Vec::new();
    if let Some(level) = conditions.min_level {
        words.push(format!("level {} or higher", level.as_str()));
    }
    if let Some(environment) = &conditions.environment {
        words.push(format!("environment {environment}"));
    }
    if let Some((key, value)) = &conditions.tag {
        words.push(format!("tag {key} = {value}"));
    }
    if words.is_empty() {
        return "any event".to_owned();
    }
    words.join(", ")
}

//! A project's alert rules and its delivery log (`/api/0/projects/{org}/{project}/rules/`, `…/deliveries/`).
//! Reads need `project:read`, changes `project:write`.
//!
//! POST takes the shape GET returns (without `id`); absent fields take the defaults of a new rule
//! (enabled, no triggers, no conditions, 30 minutes of cooldown, no channels), so a rule needs at least
//! `name`, `triggers` and `channels`. PUT changes only the top-level fields it names: a given `triggers` or
//! `conditions` object replaces that whole part (its absent fields mean off / not set).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::alerts::{delivery, rule as rule_json};
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::{alerts as rules, CoreError};
use crate::domain::accounts::Scope;
use crate::domain::alerts::{AlertRule, Conditions, RuleSpec, Threshold, Triggers, DEFAULT_COOLDOWN_MINUTES};
use crate::domain::event::Level;
use crate::domain::ChannelId;
use crate::store::alerts;

#[derive(Debug, Deserialize)]
pub struct RuleBody {
    name: Option<String>,
    enabled: Option<bool>,
    triggers: Option<TriggersBody>,
    conditions: Option<ConditionsBody>,
    cooldown_minutes: Option<i64>,
    channels: Option<Vec<ChannelId>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggersBody {
    #[serde(default)]
    new_issue: bool,
    #[serde(default)]
    regression: bool,
    #[serde(default)]
    frequency: Option<ThresholdBody>,
    #[serde(default)]
    users: Option<ThresholdBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdBody {
    count: i64,
    minutes: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionsBody {
    #[serde(default)]
    min_level: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    tag: Option<TagBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagBody {
    key: String,
    value: String,
}

impl RuleBody {
    /// The spec with the fields this body names replaced.
    fn applied_to(self, mut spec: RuleSpec) -> ApiResult<RuleSpec> {
        let threshold = |t: Option<ThresholdBody>| {
            t.map(|t| Threshold {
                count: t.count,
                minutes: t.minutes,
            })
        };
        if let Some(t) = self.triggers {
            spec.triggers = Triggers {
                new_issue: t.new_issue,
                regression: t.regression,
                frequency: threshold(t.frequency),
                users: threshold(t.users),
            };
        }
        if let Some(c) = self.conditions {
            let min_level = match c.min_level.as_deref() {
                None | Some("") => None,
                Some(name) => Some(Level::parse(name).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown level {name:?} (expected debug, info, warning, error or fatal)"
                    ))
                })?),
            };
            spec.conditions = Conditions {
                min_level,
                environment: c.environment,
                tag: c.tag.map(|tag| (tag.key, tag.value)),
            };
        }
        spec.name = self.name.unwrap_or(spec.name);
        spec.enabled = self.enabled.unwrap_or(spec.enabled);
        spec.cooldown_minutes = self.cooldown_minutes.unwrap_or(spec.cooldown_minutes);
        spec.channel_ids = self.channels.unwrap_or(spec.channel_ids);
        Ok(spec)
    }
}

fn new_rule_defaults() -> RuleSpec {
    RuleSpec {
        name: String::new(),
        enabled: true,
        triggers: Triggers::default(),
        conditions: Conditions::default(),
        cooldown_minutes: DEFAULT_COOLDOWN_MINUTES,
        channel_ids: Vec::new(),
    }
}

fn spec_of(rule: AlertRule) -> RuleSpec {
    RuleSpec {
        name: rule.name,
        enabled: rule.enabled,
        triggers: rule.triggers,
        conditions: rule.conditions,
        cooldown_minutes: rule.cooldown_minutes,
        channel_ids: rule.channel_ids,
    }
}

/// An id in the URL that is not a number names nothing.
pub fn parse_id<T: std::str::FromStr>(text: &str) -> ApiResult<T> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// Once the project (and rule) were found, "not found" from saving means a channel the organization lacks.
fn unknown_channel(error: CoreError) -> ApiError {
    match error {
        CoreError::NotFound => ApiError::bad_request("a rule can only send to channels of its project's organization"),
        other => other.into(),
    }
}

pub async fn list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let rules = alerts::list_rules(&state.db, project.id).await?;
    Ok(Json(rules.iter().map(rule_json).collect()))
}

pub async fn create(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    Body(body): Body<RuleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let spec = body.applied_to(new_rule_defaults())?;
    let rule = rules::create_rule(&state.core, &access, &project, spec)
        .await
        .map_err(unknown_channel)?;
    Ok((StatusCode::CREATED, Json(rule_json(&rule))))
}

pub async fn detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let rule = alerts::get_rule(&state.db, project.id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(rule_json(&rule)))
}

pub async fn update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, id)): Path<(String, String, String)>,
    Body(body): Body<RuleBody>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let id = parse_id(&id)?;
    let current = alerts::get_rule(&state.db, project.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let spec = body.applied_to(spec_of(current))?;
    let rule = rules::update_rule(&state.core, &access, &project, id, spec)
        .await
        .map_err(unknown_channel)?;
    Ok(Json(rule_json(&rule)))
}

pub async fn delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    rules::delete_rule(&state.core, &access, &project, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The newest deliveries first; `limit` (default 50, at most 100).
pub async fn deliveries(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let records = alerts::list_deliveries(&state.db, project.id, params.limit(50)?).await?;
    Ok(Json(records.iter().map(delivery).collect()))
}

//! Ten varied alert rules for the ingest benchmark (`faultline bench-rules`): every trigger kind, with and
//! without conditions, all sending to one webhook, so the benchmark measures what evaluation costs.

use crate::domain::alerts::channel::{ChannelConfig, SignedHookSettings};
use crate::domain::alerts::{Conditions, RuleSpec, Threshold, Triggers, DEFAULT_COOLDOWN_MINUTES};
use crate::domain::event::Level;
use crate::domain::{ChannelId, OrganizationId, ProjectId};
use crate::store::{alerts, Db, StoreError};

/// Replaces the project's rules with the first `count` of the benchmark set; 0 leaves it without rules.
pub async fn replace_with_bench_rules(
    db: &Db,
    organization_id: OrganizationId,
    project_id: ProjectId,
    count: usize,
    webhook_url: &str,
) -> Result<usize, StoreError> {
    for rule in alerts::list_rules(db, project_id).await? {
        alerts::delete_rule(db, project_id, rule.id).await?;
    }
    if count == 0 {
        return Ok(0);
    }
    let hook = ChannelConfig::Webhook(SignedHookSettings {
        url: webhook_url.to_owned(),
        secret: "faultline-bench".into(),
    });
    let channel = alerts::create_channel(db, organization_id, "bench sink", &hook).await?;
    let specs = bench_specs(channel.id);
    for spec in specs.iter().cycle().take(count) {
        alerts::create_rule(db, project_id, spec).await?;
    }
    Ok(count)
}

fn bench_specs(channel_id: ChannelId) -> Vec<RuleSpec> {
    let threshold = |count, minutes| Some(Threshold { count, minutes });
    let production = Some("production".to_owned());
    let rule = |name: &str, triggers: Triggers, conditions: Conditions| RuleSpec {
        name: name.into(),
        enabled: true,
        triggers,
        conditions,
        cooldown_minutes: DEFAULT_COOLDOWN_MINUTES,
        channel_ids: vec![channel_id],
    };
    let on = |new_issue, regression| Triggers {
        new_issue,
        regression,
        ..Triggers::default()
    };
    let frequency = |count, minutes| Triggers {
        frequency: threshold(count, minutes),
        ..Triggers::default()
    };
    let users = |count, minutes| Triggers {
        users: threshold(count, minutes),
        ..Triggers::default()
    };
    let none = Conditions::default;
    vec![
        rule("new issue", on(true, false), none()),
        rule("regression", on(false, true), none()),
        rule(
            "new or regressed error",
            on(true, true),
            Conditions {
                min_level: Some(Level::Error),
                ..none()
            },
        ),
        rule("100 in a minute", frequency(100, 1), none()),
        rule(
            "1000 in 5 minutes in production",
            frequency(1000, 5),
            Conditions {
                environment: production.clone(),
                ..none()
            },
        ),
        rule(
            "10 errors in a minute",
            frequency(10, 1),
            Conditions {
                tag: Some(("level".into(), "error".into())),
                ..none()
            },
        ),
        rule("5 users in 10 minutes", users(5, 10), none()),
        rule("50 users in an hour", users(50, 60), none()),
        rule(
            "new in production",
            on(true, false),
            Conditions {
                environment: production,
                ..none()
            },
        ),
        rule(
            "busy and spreading",
            Triggers {
                frequency: threshold(50, 1),
                users: threshold(3, 5),
                ..Triggers::default()
            },
            none(),
        ),
    ]
}

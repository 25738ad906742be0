//! The alert tables through the store: default rules, fires written in the batch transaction (cooldowns,
//! frequency windows), messages and digests, and the delivery lease. Same body on SQLite and Postgres.

use crate::common;
use faultline::domain::{ChannelId, OrganizationId, ProjectId};

use common::{close_store, open_store, Backend};
use faultline::domain::alerts::channel::{ChannelConfig, HookSettings};
use faultline::domain::alerts::{Conditions, QuietMemo, RuleSet, RuleSpec, Threshold, Triggers};
use faultline::store::alerts::{self, ClaimedDelivery};
use faultline::store::{projects, record_batch_alerting, Db, NewEvent};

const MINUTE: i64 = 60_000;
const T0: i64 = 1_800_000_000_000;

/// An error of issue `fingerprint`, received at `at_ms`, from user `user`.
fn event(project_id: ProjectId, fingerprint: &str, at_ms: i64, user: &str) -> NewEvent {
    NewEvent {
        user_key: Some(format!("id:{user}")),
        ..common::stored_event(project_id, fingerprint, at_ms)
    }
}

async fn project(db: &Db) -> (OrganizationId, ProjectId) {
    let (org, _) = projects::ensure_default_organization(db).await.unwrap();
    let key = common::new_event_id();
    let project = projects::create_project(db, org, "shop", "Shop", None, &key)
        .await
        .unwrap();
    (org, project.id)
}

async fn slack_channel(db: &Db, org: OrganizationId) -> ChannelId {
    let config = ChannelConfig::Slack(HookSettings {
        url: "https://hooks.slack.com/services/T/B/secret".into(),
    });
    alerts::create_channel(db, org, "ops", &config).await.unwrap().id
}

fn rule(name: &str, triggers: Triggers, channel: ChannelId) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        enabled: true,
        triggers,
        conditions: Conditions::default(),
        cooldown_minutes: 30,
        channel_ids: vec![channel],
    }
}

async fn fires_of(db: &Db, events: &[NewEvent]) -> usize {
    let rules = alerts::load_rule_set(db).await.unwrap();
    // A fresh memo each time: the cooldown table alone must hold the cooldowns.
    let mut memo = QuietMemo::default();
    record_batch_alerting(db, events, &rules, &mut memo)
        .await
        .unwrap()
        .fires
}

async fn a_new_project_mails_its_members_about_new_and_regressed_issues(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let rules = alerts::list_rules(&db, project_id).await.unwrap();
    assert_eq!(rules.len(), 1);
    let default = &rules[0];
    assert!(default.enabled && default.triggers.new_issue && default.triggers.regression);
    assert_eq!(default.cooldown_minutes, 30);
    let channels = alerts::list_channels(&db, org).await.unwrap();
    let builtin: Vec<_> = channels.iter().filter(|c| c.builtin).collect();
    assert_eq!(builtin.len(), 1, "one built-in channel per organization");
    assert_eq!(default.channel_ids, vec![builtin[0].id]);
    assert_eq!(builtin[0].config.kind(), "email");
    close_store(database, db).await;
}

async fn a_new_issue_fires_once_and_later_events_do_not_fire_again(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = project(&db).await;
    assert_eq!(
        fires_of(&db, &[event(project_id, "a", T0, "1"), event(project_id, "a", T0, "2")]).await,
        1
    );
    assert_eq!(fires_of(&db, &[event(project_id, "a", T0 + 1000, "3")]).await, 0);
    assert_eq!(fires_of(&db, &[event(project_id, "b", T0 + 2000, "3")]).await, 1);
    assert_eq!(alerts::dispatch_fires(&db, T0 + 3000, 0, &|_| None).await.unwrap(), 1);
    close_store(database, db).await;
}

async fn frequency_five_in_a_minute_fires_exactly_once_for_twenty_events(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let channel = slack_channel(&db, org).await;
    let frequency = Triggers {
        frequency: Some(Threshold::new(5, 1).unwrap()),
        ..Triggers::default()
    };
    alerts::create_rule(&db, project_id, &rule("busy", frequency, channel))
        .await
        .unwrap();
    let default = alerts::list_rules(&db, project_id).await.unwrap()[0].id;
    alerts::delete_rule(&db, project_id, default).await.unwrap();
    let mut fired = 0;
    for n in 0..20 {
        fired += fires_of(&db, &[event(project_id, "hot", T0 + n * 1000, "1")]).await;
    }
    assert_eq!(
        fired, 1,
        "five in a minute fires once; the cooldown holds the other fifteen"
    );
    close_store(database, db).await;
}

async fn frequency_counts_only_events_inside_the_window(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let channel = slack_channel(&db, org).await;
    let frequency = Triggers {
        frequency: Some(Threshold::new(3, 1).unwrap()),
        ..Triggers::default()
    };
    alerts::create_rule(&db, project_id, &rule("busy", frequency, channel))
        .await
        .unwrap();
    // Two events a few minutes apart each time: never three within one minute.
    let mut fired = 0;
    for n in 0..6 {
        fired += fires_of(&db, &[event(project_id, "slow", T0 + n * 3 * MINUTE, "1")]).await;
    }
    assert_eq!(fired, 1, "only the default rule's new-issue fire");
    close_store(database, db).await;
}

async fn distinct_users_in_a_window_fire_the_users_trigger(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let channel = slack_channel(&db, org).await;
    let users = Triggers {
        users: Some(Threshold::new(3, 10).unwrap()),
        ..Triggers::default()
    };
    alerts::create_rule(&db, project_id, &rule("many users", users, channel))
        .await
        .unwrap();
    let default = alerts::list_rules(&db, project_id).await.unwrap()[0].id;
    alerts::set_rule_enabled(&db, project_id, default, false).await.unwrap();
    let same_user: Vec<NewEvent> = (0..5).map(|n| event(project_id, "u", T0 + n, "same")).collect();
    assert_eq!(fires_of(&db, &same_user).await, 0, "one user five times is one user");
    assert_eq!(fires_of(&db, &[event(project_id, "u", T0 + 10, "b")]).await, 0);
    assert_eq!(fires_of(&db, &[event(project_id, "u", T0 + 20, "c")]).await, 1);
    close_store(database, db).await;
}

async fn the_cooldown_ends_and_the_rule_may_fire_again(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let channel = slack_channel(&db, org).await;
    let mut spec = rule(
        "busy",
        Triggers {
            frequency: Some(Threshold::new(2, 1).unwrap()),
            ..Triggers::default()
        },
        channel,
    );
    spec.cooldown_minutes = 5;
    alerts::create_rule(&db, project_id, &spec).await.unwrap();
    let burst = |at: i64| vec![event(project_id, "x", at, "1"), event(project_id, "x", at + 1, "1")];
    // The first burst also makes the issue new: the default rule fires too.
    assert_eq!(fires_of(&db, &burst(T0)).await, 2);
    assert_eq!(fires_of(&db, &burst(T0 + 2 * MINUTE)).await, 0, "inside the cooldown");
    assert_eq!(fires_of(&db, &burst(T0 + 6 * MINUTE)).await, 1, "after the cooldown");
    close_store(database, db).await;
}

async fn issues_firing_one_rule_within_the_window_form_one_digest(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, project_id) = project(&db).await;
    let channel = slack_channel(&db, org).await;
    let default = alerts::list_rules(&db, project_id).await.unwrap()[0].clone();
    let mut spec = rule("new", default.triggers.clone(), channel);
    spec.channel_ids = vec![channel];
    alerts::update_rule(&db, project_id, default.id, &spec).await.unwrap();
    let window = 60_000;
    fires_of(&db, &[event(project_id, "first", T0, "1")]).await;
    assert_eq!(
        alerts::dispatch_fires(&db, T0, window, &|_| None).await.unwrap(),
        1,
        "the first goes out at once"
    );
    for (n, name) in ["second", "third", "fourth"].iter().enumerate() {
        fires_of(&db, &[event(project_id, name, T0 + 1000 * (n as i64 + 1), "1")]).await;
    }
    assert_eq!(
        alerts::dispatch_fires(&db, T0 + 5000, window, &|_| None).await.unwrap(),
        0,
        "held for the digest"
    );
    assert_eq!(
        alerts::dispatch_fires(&db, T0 + window, window, &|_| None)
            .await
            .unwrap(),
        1
    );
    let claimed = alerts::claim_deliveries(&db, T0 + window, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "one delivery per message for the one channel");
    let digest = alerts::load_message(&db, claimed[1].message_id).await.unwrap().unwrap();
    let titles: Vec<&str> = digest.issues.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["KeyError: second", "KeyError: third", "KeyError: fourth"]);
    close_store(database, db).await;
}

async fn deliveries_are_leased_retried_and_never_resent_once_sent(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = project(&db).await;
    fires_of(&db, &[event(project_id, "a", T0, "1")]).await;
    fires_of(&db, &[event(project_id, "b", T0, "1")]).await;
    alerts::dispatch_fires(&db, T0, 0, &|_| None).await.unwrap();
    let lease = 60_000;
    let first: Vec<ClaimedDelivery> = alerts::claim_deliveries(&db, T0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1, "one message: both issues fired in the same instant");
    assert!(
        alerts::claim_deliveries(&db, T0 + 1, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // The sender died without a word: after the lease another notifier takes over, same key.
    let again = alerts::claim_deliveries(&db, T0 + lease, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].idempotency_key, first[0].idempotency_key);
    assert_eq!(again[0].attempts, 2);
    alerts::mark_retry(&db, again[0].id, T0 + lease + 5000, "connection refused")
        .await
        .unwrap();
    assert!(alerts::claim_deliveries(&db, T0 + lease + 4000, lease, 10)
        .await
        .unwrap()
        .is_empty());
    let third = alerts::claim_deliveries(&db, T0 + lease + 5000, lease, 10)
        .await
        .unwrap();
    alerts::mark_sent(&db, third[0].id, T0 + lease + 5001).await.unwrap();
    let far_later = T0 + 100 * lease;
    assert!(
        alerts::claim_deliveries(&db, far_later, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent stays sent"
    );
    let log = alerts::list_deliveries(&db, project_id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status.as_str(), log[0].attempts), ("sent", 3));
    assert_eq!(log[0].rule_name, "New or regressed issue");
    assert_eq!(log[0].issue_count, 2);
    close_store(database, db).await;
}

async fn a_failed_delivery_is_logged_with_its_error(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = project(&db).await;
    fires_of(&db, &[event(project_id, "a", T0, "1")]).await;
    alerts::dispatch_fires(&db, T0, 0, &|_| None).await.unwrap();
    let claimed = alerts::claim_deliveries(&db, T0, 1000, 10).await.unwrap();
    alerts::mark_failed(&db, claimed[0].id, "no SMTP server configured")
        .await
        .unwrap();
    assert!(alerts::claim_deliveries(&db, T0 + 10_000_000, 1000, 10)
        .await
        .unwrap()
        .is_empty());
    let log = alerts::list_deliveries(&db, project_id, 10).await.unwrap();
    assert_eq!(log[0].status, "failed");
    assert_eq!(log[0].last_error.as_deref(), Some("no SMTP server configured"));
    assert_eq!(log[0].channel_name, "Email to project members");
    close_store(database, db).await;
}

async fn rules_and_channels_stay_inside_their_organization(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = project(&db).await;
    let other = faultline::store::organizations::create_organization(&db, "other", "Other")
        .await
        .unwrap();
    let foreign = slack_channel(&db, other.id).await;
    let spec = rule(
        "x",
        Triggers {
            new_issue: true,
            ..Triggers::default()
        },
        foreign,
    );
    assert!(
        alerts::create_rule(&db, project_id, &spec).await.is_err(),
        "another organization's channel"
    );
    assert!(alerts::get_channel(&db, OrganizationId(other.id.get() + 1000), foreign)
        .await
        .unwrap()
        .is_none());
    let builtin = alerts::list_channels(&db, other.id).await.unwrap()[0].id;
    assert_eq!(
        alerts::delete_channel(&db, other.id, builtin).await.unwrap(),
        alerts::ChannelDeletion::Builtin
    );
    assert_eq!(
        alerts::delete_channel(&db, other.id, foreign).await.unwrap(),
        alerts::ChannelDeletion::Deleted
    );
    let empty = RuleSet::default();
    assert!(empty.is_empty());
    close_store(database, db).await;
}

async fn old_finished_deliveries_are_pruned_and_pending_ones_kept(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (_, project_id) = project(&db).await;
    fires_of(&db, &[event(project_id, "a", T0, "1")]).await;
    alerts::dispatch_fires(&db, T0, 0, &|_| None).await.unwrap();
    let sent = alerts::claim_deliveries(&db, T0, 1000, 10).await.unwrap();
    alerts::mark_sent(&db, sent[0].id, T0).await.unwrap();
    fires_of(&db, &[event(project_id, "b", T0 + 1, "1")]).await;
    alerts::dispatch_fires(&db, T0 + 1, 0, &|_| None).await.unwrap();
    let month = 30 * 24 * 60 * MINUTE;
    alerts::prune(&db, T0 + month / 2, month).await.unwrap();
    assert_eq!(
        alerts::list_deliveries(&db, project_id, 10).await.unwrap().len(),
        2,
        "young: both kept"
    );
    alerts::prune(&db, T0 + 2 * month, month).await.unwrap();
    let left = alerts::list_deliveries(&db, project_id, 10).await.unwrap();
    assert_eq!(left.len(), 1, "the sent one went, the pending one stays");
    assert_eq!(left[0].status, "pending");
    let claimed = alerts::claim_deliveries(&db, T0 + 2 * month, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "and can still be sent");
    close_store(database, db).await;
}

on_both_databases!(
    old_finished_deliveries_are_pruned_and_pending_ones_kept,
    a_new_project_mails_its_members_about_new_and_regressed_issues,
    a_new_issue_fires_once_and_later_events_do_not_fire_again,
    frequency_five_in_a_minute_fires_exactly_once_for_twenty_events,
    frequency_counts_only_events_inside_the_window,
    distinct_users_in_a_window_fire_the_users_trigger,
    the_cooldown_ends_and_the_rule_may_fire_again,
    issues_firing_one_rule_within_the_window_form_one_digest,
    deliveries_are_leased_retried_and_never_resent_once_sent,
    a_failed_delivery_is_logged_with_its_error,
    rules_and_channels_stay_inside_their_organization,
);

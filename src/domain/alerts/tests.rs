use super::channel::{
    ChannelConfig, ChannelError, EmailSettings, HookSettings, PagerDutySettings, SignedHookSettings,
    PAGERDUTY_EVENTS_URL,
};
use super::*;
use crate::domain::{ChannelId, IssueId, ProjectId, RuleId, Timestamp};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

fn rule(id: i64, triggers: Triggers, conditions: Conditions) -> AlertRule {
    AlertRule {
        id: RuleId(id),
        project_id: ProjectId(1),
        name: format!("rule {id}"),
        enabled: true,
        triggers,
        conditions,
        cooldown_minutes: 30,
        channel_ids: vec![ChannelId(1)],
    }
}

fn facts<'a>(level: Level, environment: Option<&'a str>, tags: &'a [(String, String)]) -> EventFacts<'a> {
    EventFacts {
        event_id: "e1",
        level,
        environment,
        release: Some("1.0"),
        tags,
        received: Timestamp::from_millis(1),
    }
}

fn issue(events: Vec<EventFacts<'_>>) -> BatchIssue<'_> {
    BatchIssue {
        issue_id: IssueId(7),
        project_id: ProjectId(1),
        is_new: true,
        regressed: false,
        muted: false,
        events,
    }
}

fn on_new() -> Triggers {
    Triggers {
        new_issue: true,
        ..Triggers::default()
    }
}

#[test]
fn a_new_issue_fires_a_new_issue_rule_with_its_event() {
    let rules = RuleSet::new([rule(1, on_new(), Conditions::default())]);
    let fired = evaluate(
        &rules,
        &[issue(vec![facts(Level::Error, Some("prod"), &[])])],
        &WindowCounts::default(),
    );
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].reason, FireReason::NewIssue);
    assert_eq!(fired[0].environment.as_deref(), Some("prod"));
}

#[test]
fn conditions_filter_on_level_environment_and_tag() {
    let tags = vec![("browser".to_owned(), "Firefox".to_owned())];
    let strict = Conditions {
        min_level: Some(Level::Error),
        environment: Some("prod".into()),
        tag: Some(("browser".into(), "Firefox".into())),
    };
    let rules = RuleSet::new([rule(1, on_new(), strict)]);
    let none = WindowCounts::default();
    let fires = |event| evaluate(&rules, &[issue(vec![event])], &none).len();
    assert_eq!(fires(facts(Level::Fatal, Some("prod"), &tags)), 1);
    assert_eq!(
        fires(facts(Level::Warning, Some("prod"), &tags)),
        0,
        "below the minimum level"
    );
    assert_eq!(
        fires(facts(Level::Error, Some("staging"), &tags)),
        0,
        "another environment"
    );
    assert_eq!(fires(facts(Level::Error, Some("prod"), &[])), 0, "tag missing");
}

#[test]
fn frequency_fires_only_once_the_window_count_reaches_the_threshold() {
    let triggers = Triggers {
        frequency: Some(Threshold::new(5, 1).unwrap()),
        ..Triggers::default()
    };
    let rules = RuleSet::new([rule(1, triggers, Conditions::default())]);
    let mut seen = issue(vec![facts(Level::Error, None, &[])]);
    seen.is_new = false;
    let mut counts = WindowCounts::default();
    counts.events.insert((IssueId(7), 1), 4);
    assert!(evaluate(&rules, std::slice::from_ref(&seen), &counts).is_empty());
    counts.events.insert((IssueId(7), 1), 5);
    let fired = evaluate(&rules, &[seen], &counts);
    assert_eq!(fired[0].reason, FireReason::Frequency);
}

#[test]
fn ignored_issues_and_disabled_rules_never_fire() {
    let mut disabled = rule(2, on_new(), Conditions::default());
    disabled.enabled = false;
    let rules = RuleSet::new([rule(1, on_new(), Conditions::default()), disabled]);
    let mut muted = issue(vec![facts(Level::Error, None, &[])]);
    muted.muted = true;
    assert!(evaluate(&rules, &[muted], &WindowCounts::default()).is_empty());
    let fired = evaluate(
        &rules,
        &[issue(vec![facts(Level::Error, None, &[])])],
        &WindowCounts::default(),
    );
    assert_eq!(fired.iter().map(|c| c.rule_id).collect::<Vec<_>>(), vec![RuleId(1)]);
}

#[test]
fn a_rule_needs_a_trigger_a_channel_and_sane_numbers() {
    let good = RuleSpec::project_default(ChannelId(3));
    assert!(good.clone().validate().is_ok());
    let mut no_trigger = good.clone();
    no_trigger.triggers = Triggers::default();
    assert_eq!(no_trigger.validate(), Err(RuleError::NoTrigger));
    let mut no_channel = good.clone();
    no_channel.channel_ids.clear();
    assert_eq!(no_channel.validate(), Err(RuleError::NoChannel));
    let mut zero = good.clone();
    zero.triggers.frequency = Some(Threshold { count: 0, minutes: 1 });
    assert_eq!(zero.validate(), Err(RuleError::Threshold));
    let mut half_tag = good;
    half_tag.conditions.tag = Some(("browser".into(), " ".into()));
    assert_eq!(half_tag.validate(), Err(RuleError::Tag));
}

#[test]
fn secrets_are_masked_and_kept_when_an_edit_sends_the_mask_back() {
    let slack = ChannelConfig::Slack(HookSettings {
        url: "https://hooks.slack.com/services/T000/B000/abcdefghijkl".into(),
    });
    let masked = slack.masked();
    let ChannelConfig::Slack(shown) = &masked else {
        unreachable!()
    };
    assert!(shown.url.starts_with("https://hooks.slack.com/"));
    assert!(!shown.url.contains("T000"), "{}", shown.url);
    assert!(shown.url.ends_with("ijkl"));
    assert_eq!(masked.clone().keeping_secrets_of(&slack), slack);
    assert!(!format!("{slack:?}").contains("abcdefgh"));

    let hook = ChannelConfig::Webhook(SignedHookSettings {
        url: "https://example.com/hook".into(),
        secret: "s3cr3t-s3cr3t-s3cr3t".into(),
    });
    assert!(!format!("{:?}", hook.masked()).contains("s3cr3t-s3cr3t"));
    assert_eq!(hook.masked().keeping_secrets_of(&hook), hook);

    let email = ChannelConfig::Email(EmailSettings {
        password: Some("hunter2".into()),
        ..EmailSettings::default()
    });
    let ChannelConfig::Email(shown) = email.masked() else {
        unreachable!()
    };
    assert_ne!(shown.password.as_deref(), Some("hunter2"));
    let edited = ChannelConfig::Email(EmailSettings::default()).keeping_secrets_of(&email);
    assert_eq!(edited, email, "an empty password field keeps the stored one");
}

#[test]
fn the_generic_webhook_url_is_masked_and_kept_like_the_others() {
    let hook = ChannelConfig::Webhook(SignedHookSettings {
        url: "https://hooks.example.com/T0K3N-SECRET-PATH?key=QUERY-SECRET".into(),
        secret: "s3cr3t-s3cr3t-s3cr3t".into(),
    });
    let masked = hook.masked();
    let ChannelConfig::Webhook(shown) = &masked else {
        unreachable!()
    };
    assert_eq!(shown.url, "https://hooks.example.com/••••••••CRET");
    let edited = ChannelConfig::Webhook(SignedHookSettings {
        url: shown.url.clone(),
        secret: String::new(),
    });
    assert_eq!(edited.keeping_secrets_of(&hook), hook);
}

#[test]
fn channel_settings_are_checked() {
    let bad_url = ChannelConfig::Discord(HookSettings {
        url: "ftp://x/y".into(),
    });
    assert!(bad_url.validate().is_err());
    let bad_to = ChannelConfig::Email(EmailSettings {
        to: vec!["ops at example.com".into()],
        ..EmailSettings::default()
    });
    assert!(bad_to.validate().is_err());
    let good_to = ChannelConfig::Email(EmailSettings {
        to: vec![" ops@example.com ".into(), "".into()],
        ..EmailSettings::default()
    });
    let ChannelConfig::Email(email) = good_to.validate().unwrap() else {
        unreachable!()
    };
    assert_eq!(email.to, vec!["ops@example.com".to_owned()]);
}

#[test]
fn a_pagerduty_routing_key_is_masked_redacted_and_kept_when_left_blank() {
    let key = "R0UT1NGK3Y0000000000000000000abcd";
    let pagerduty = ChannelConfig::PagerDuty(PagerDutySettings {
        routing_key: key.into(),
        events_url: None,
    });
    let ChannelConfig::PagerDuty(shown) = pagerduty.masked() else {
        unreachable!()
    };
    assert_eq!(shown.routing_key, "••••••••abcd");
    assert!(!format!("{pagerduty:?}").contains("R0UT1NG"), "{pagerduty:?}");
    for sent_back in ["", shown.routing_key.as_str()] {
        let edited = ChannelConfig::PagerDuty(PagerDutySettings {
            routing_key: sent_back.into(),
            events_url: None,
        });
        assert_eq!(edited.keeping_secrets_of(&pagerduty), pagerduty);
    }
    let json = serde_json::to_value(&pagerduty).unwrap();
    assert_eq!(json["kind"], "pagerduty");
}

#[test]
fn a_pagerduty_routing_key_has_32_letters_and_digits() {
    let with = |key: &str, url: Option<&str>| {
        ChannelConfig::PagerDuty(PagerDutySettings {
            routing_key: key.into(),
            events_url: url.map(str::to_owned),
        })
        .validate()
    };
    let key = "0123456789abcdef0123456789ABCDEF";
    assert!(with(&format!(" {key} "), None).is_ok());
    assert_eq!(with("short", None), Err(ChannelError::RoutingKey));
    assert_eq!(with(&format!("{}-", &key[..31]), None), Err(ChannelError::RoutingKey));
    assert_eq!(with(key, Some("not a url")), Err(ChannelError::Url));
    let ChannelConfig::PagerDuty(blank_url) = with(key, Some(" ")).unwrap() else {
        unreachable!()
    };
    assert_eq!(blank_url.events_url(), PAGERDUTY_EVENTS_URL);
}

#[test]
fn the_memo_knows_a_rule_is_quiet_only_until_its_cooldown_ends() {
    let mut memo = QuietMemo::default();
    assert!(!memo.is_quiet(RuleId(1), IssueId(7), at(100)));
    memo.remember(RuleId(1), IssueId(7), at(500), at(100));
    assert!(memo.is_quiet(RuleId(1), IssueId(7), at(499)));
    assert!(!memo.is_quiet(RuleId(1), IssueId(7), at(500)));
    assert!(!memo.is_quiet(RuleId(2), IssueId(7), at(200)), "per rule");
    memo.clear();
    assert!(!memo.is_quiet(RuleId(1), IssueId(7), at(200)));
}

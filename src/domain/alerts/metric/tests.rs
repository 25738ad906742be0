use super::*;
use crate::domain::performance::histogram::{bucket_of, Histogram};

const NOW: i64 = 1_714_566_896_000;
const MINUTE: i64 = 60_000;

fn rule(metric: Metric, threshold: f64, cooldown_minutes: i64) -> MetricRule {
    MetricRule {
        id: RuleId(1),
        project_id: ProjectId(1),
        name: "Slow checkout".into(),
        enabled: true,
        condition: MetricCondition {
            transaction: "/checkout/".into(),
            environment: None,
            metric,
            threshold,
            window_minutes: 10,
            min_count: 1,
        },
        cooldown_minutes,
        channel_ids: vec![ChannelId(1)],
        state: MetricState::default(),
    }
}

/// `fast` transactions of 20 ms and `slow` ones of 2 s, `failures` of them failed.
fn stats(fast: i64, slow: i64, failures: i64) -> WindowStats {
    WindowStats {
        count: fast + slow,
        failures,
        crashed: 0,
        histogram: Histogram::from_counts([(bucket_of(20.0), fast), (bucket_of(2000.0), slow)]),
    }
}

/// Evaluates and stores the next state, as the evaluator does.
fn step(rule: &mut MetricRule, stats: &WindowStats, now: i64) -> Option<Transition> {
    let evaluation = rule.evaluate(stats, now);
    rule.state = evaluation.next;
    evaluation.transition
}

#[test]
fn a_p95_above_the_threshold_fires_once_per_crossing() {
    let mut rule = rule(Metric::P95, 500.0, 0);
    assert_eq!(step(&mut rule, &stats(10, 0, 0), NOW), None, "fast: nothing");
    assert_eq!(step(&mut rule, &stats(10, 5, 0), NOW + MINUTE), Some(Transition::Fire));
    assert!(rule.state.firing);
    assert!(rule.state.last_value.unwrap() >= 2000.0);
    assert_eq!(rule.state.last_count, Some(15));
    assert_eq!(
        step(&mut rule, &stats(10, 9, 0), NOW + 2 * MINUTE),
        None,
        "still above: no second message"
    );
    assert_eq!(
        step(&mut rule, &stats(200, 5, 0), NOW + 3 * MINUTE),
        Some(Transition::Resolve)
    );
    assert!(!rule.state.firing);
    assert_eq!(
        step(&mut rule, &stats(200, 5, 0), NOW + 4 * MINUTE),
        None,
        "resolved once"
    );
    assert_eq!(
        step(&mut rule, &stats(10, 5, 0), NOW + 5 * MINUTE),
        Some(Transition::Fire),
        "a new crossing fires again"
    );
}

#[test]
fn equal_to_the_threshold_is_not_above_it() {
    let mut rule = rule(Metric::FailureRate, 50.0, 0);
    assert_eq!(step(&mut rule, &stats(4, 0, 2), NOW), None);
    assert_eq!(step(&mut rule, &stats(4, 0, 3), NOW), Some(Transition::Fire));
}

#[test]
fn the_failure_rate_is_a_percentage_of_the_window() {
    let rule = rule(Metric::FailureRate, 20.0, 0);
    let evaluation = rule.evaluate(&stats(3, 1, 1), NOW);
    assert_eq!(evaluation.value, Some(25.0));
    assert_eq!(evaluation.transition, Some(Transition::Fire));
}

#[test]
fn too_few_transactions_never_fire_and_resolve_a_firing_rule() {
    let mut rule = rule(Metric::FailureRate, 10.0, 0);
    rule.condition.min_count = 5;
    let evaluation = rule.evaluate(&stats(2, 0, 2), NOW);
    assert_eq!((evaluation.value, evaluation.transition), (None, None));
    assert_eq!(step(&mut rule, &stats(3, 2, 5), NOW), Some(Transition::Fire));
    assert_eq!(
        step(&mut rule, &stats(0, 0, 0), NOW + MINUTE),
        Some(Transition::Resolve),
        "no traffic left: nothing is above any more"
    );
}

#[test]
fn a_crossing_within_the_cooldown_waits_for_its_end() {
    let mut rule = rule(Metric::P95, 500.0, 30);
    assert_eq!(step(&mut rule, &stats(0, 5, 0), NOW), Some(Transition::Fire));
    assert_eq!(
        step(&mut rule, &stats(100, 0, 0), NOW + MINUTE),
        Some(Transition::Resolve)
    );
    assert_eq!(
        step(&mut rule, &stats(0, 5, 0), NOW + 2 * MINUTE),
        None,
        "fired two minutes ago: quiet"
    );
    assert!(!rule.state.firing, "the quiet crossing is not taken as announced");
    assert_eq!(
        step(&mut rule, &stats(0, 5, 0), NOW + 30 * MINUTE),
        Some(Transition::Fire),
        "still above when the cooldown ended"
    );
}

#[test]
fn the_window_is_the_current_minute_and_the_ones_before_it() {
    let now = 10 * MINUTE + 5_000;
    assert_eq!(window_start(now, 1), 10 * MINUTE);
    assert_eq!(window_start(now, 5), 6 * MINUTE);
    assert_eq!(window_start(now, 0), 10 * MINUTE, "never an empty window");
}

fn spec() -> MetricRuleSpec {
    let mut spec = MetricRuleSpec::blank();
    spec.name = "  Slow checkout ".into();
    spec.condition.transaction = " /checkout/ ".into();
    spec.condition.environment = Some("  ".into());
    spec.channel_ids = vec![ChannelId(2), ChannelId(2)];
    spec
}

#[test]
fn a_valid_spec_is_trimmed() {
    let spec = spec().validate().unwrap();
    assert_eq!(spec.name, "Slow checkout");
    assert_eq!(spec.condition.transaction, "/checkout/");
    assert_eq!(spec.condition.environment, None);
    assert_eq!(spec.channel_ids, vec![ChannelId(2)]);
}

#[test]
fn bad_specs_are_refused_with_their_reason() {
    let refused = |change: &dyn Fn(&mut MetricRuleSpec)| {
        let mut spec = spec();
        change(&mut spec);
        spec.validate().unwrap_err()
    };
    assert_eq!(refused(&|s| s.name = " ".into()), MetricRuleError::Name);
    assert_eq!(
        refused(&|s| s.condition.transaction = "".into()),
        MetricRuleError::Transaction
    );
    assert_eq!(
        refused(&|s| s.condition.transaction = "x".repeat(501)),
        MetricRuleError::Transaction
    );
    assert_eq!(
        refused(&|s| s.condition.threshold = 0.0),
        MetricRuleError::DurationThreshold
    );
    assert_eq!(
        refused(&|s| s.condition.threshold = f64::NAN),
        MetricRuleError::DurationThreshold
    );
    let rate = |threshold: f64| {
        move |s: &mut MetricRuleSpec| {
            s.condition.metric = Metric::FailureRate;
            s.condition.threshold = threshold;
        }
    };
    assert_eq!(refused(&rate(100.0)), MetricRuleError::RateThreshold);
    assert_eq!(refused(&rate(-1.0)), MetricRuleError::RateThreshold);
    let mut zero = spec();
    rate(0.0)(&mut zero);
    assert!(zero.validate().is_ok(), "above 0 %: any failure");
    assert_eq!(refused(&|s| s.condition.window_minutes = 0), MetricRuleError::Window);
    assert_eq!(refused(&|s| s.condition.window_minutes = 1441), MetricRuleError::Window);
    assert_eq!(refused(&|s| s.condition.min_count = 0), MetricRuleError::MinCount);
    assert_eq!(refused(&|s| s.cooldown_minutes = -1), MetricRuleError::Cooldown);
    assert_eq!(refused(&|s| s.channel_ids.clear()), MetricRuleError::NoChannel);
}

#[test]
fn values_read_with_their_unit() {
    assert_eq!(Metric::P95.format(1240.4), "1240 ms");
    assert_eq!(Metric::P95.format(22.39), "22.4 ms");
    assert_eq!(Metric::FailureRate.format(25.0), "25 %");
    assert_eq!(Metric::FailureRate.format(12.34), "12.3 %");
    assert_eq!(Metric::parse("failure_rate"), Some(Metric::FailureRate));
    assert_eq!(Metric::parse("p99"), None);
}

#[test]
fn a_condition_reads_as_a_sentence() {
    let mut condition = rule(Metric::P95, 800.0, 0).condition;
    assert_eq!(
        condition.describe(),
        "p95 duration of /checkout/ above 800 ms over 10 min"
    );
    condition.environment = Some("production".into());
    condition.min_count = 5;
    assert_eq!(
        condition.describe(),
        "p95 duration of /checkout/ above 800 ms over 10 min (environment production, at least 5 transactions)"
    );
}

#[test]
fn crash_free_sessions_fire_below_their_threshold() {
    let condition = MetricCondition {
        transaction: "shop@1.0".into(),
        environment: None,
        metric: Metric::CrashFreeSessions,
        threshold: 99.0,
        window_minutes: 60,
        min_count: 1,
    };
    let sessions = |count, crashed| WindowStats {
        count,
        crashed,
        ..WindowStats::default()
    };
    assert_eq!(measure(&condition, &sessions(200, 3)), Some(98.5));
    assert!(Metric::CrashFreeSessions.breached(98.5, 99.0));
    assert!(
        !Metric::CrashFreeSessions.breached(99.0, 99.0),
        "at the threshold is not below it"
    );
    assert_eq!(
        measure(&condition, &sessions(0, 0)),
        None,
        "no sessions: nothing to judge"
    );
    let mut spec = MetricRuleSpec::blank();
    spec.name = "crashes".into();
    spec.channel_ids = vec![crate::domain::ChannelId(1)];
    spec.condition = MetricCondition {
        threshold: 0.0,
        ..condition
    };
    assert_eq!(spec.validate(), Err(MetricRuleError::CrashFreeThreshold));
}

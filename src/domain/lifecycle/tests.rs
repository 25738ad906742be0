//! Lifecycle rules of §9.2 and protocol §12 vectors 23–24, one rule per test.

use super::*;

/// Epoch ms; `at` makes the instant.
const RESOLVED_AT: i64 = 1_000_000;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// Versions that are not semver, ordered by when they were first seen.
fn releases() -> KnownReleases {
    [
        ("1.0", 10),
        ("1.1", 20),
        ("1.9", 30),
        ("2.0", 40),
        ("2.1", 50),
        ("blue", 60),
        ("green", 70),
    ]
    .into_iter()
    .map(|(version, first_seen_ms)| (version, at(first_seen_ms)))
    .collect()
}

fn event(release: Option<&str>, timestamp_ms: i64) -> IncomingEvent<'_> {
    IncomingEvent {
        release,
        timestamp: at(timestamp_ms),
        times_seen_after: 1,
    }
}

fn resolved(resolution: Resolution) -> IssueState {
    let mut state = IssueState::new_issue();
    state.resolve(resolution, at(RESOLVED_AT));
    state
}

fn apply(state: &mut IssueState, incoming: IncomingEvent) -> Transition {
    apply_event(state, &incoming, &releases())
}

#[track_caller]
fn assert_regressed(state: &IssueState, transition: Transition) {
    assert_eq!(transition, Transition::Regressed);
    assert_eq!(state.status, IssueStatus::Unresolved);
    assert_eq!(state.substatus, Substatus::Regressed);
    assert_eq!((state.resolution.as_ref(), state.resolved_at), (None, None));
}

#[track_caller]
fn assert_still_resolved(state: &IssueState, transition: Transition) {
    assert_eq!(transition, Transition::Unchanged);
    assert_eq!(state.status, IssueStatus::Resolved);
}

#[test]
fn new_issues_are_unresolved_and_new() {
    let state = IssueState::new_issue();
    assert_eq!(
        (state.status, state.substatus),
        (IssueStatus::Unresolved, Substatus::New)
    );
}

#[test]
fn a_plain_resolve_regresses_on_the_next_event_once() {
    let mut state = resolved(Resolution::Plain);
    let transition = apply(&mut state, event(None, RESOLVED_AT + 1));
    assert_regressed(&state, transition);
    assert_eq!(apply(&mut state, event(None, RESOLVED_AT + 2)), Transition::Unchanged);
    assert_eq!(state.substatus, Substatus::Regressed);
}

#[test]
fn an_event_at_the_resolution_instant_regresses() {
    let mut state = resolved(Resolution::Plain);
    let transition = apply(&mut state, event(None, RESOLVED_AT));
    assert_regressed(&state, transition);
}

#[test]
fn events_older_than_a_plain_resolution_do_not_regress() {
    let mut state = resolved(Resolution::Plain);
    let transition = apply(&mut state, event(Some("2.0"), RESOLVED_AT - 1));
    assert_still_resolved(&state, transition);
}

#[test]
fn resolved_in_next_release_ignores_the_latest_release_and_older() {
    let mut state = resolved(Resolution::InNextRelease {
        latest_at_resolve: Some("1.0".into()),
    });
    for release in [Some("1.0"), None] {
        let transition = apply(&mut state, event(release, RESOLVED_AT + 5));
        assert_still_resolved(&state, transition);
    }
}

#[test]
fn resolved_in_next_release_regresses_on_a_newer_release() {
    let mut state = resolved(Resolution::InNextRelease {
        latest_at_resolve: Some("1.0".into()),
    });
    let transition = apply(&mut state, event(Some("1.1"), RESOLVED_AT + 5));
    assert_regressed(&state, transition);
}

#[test]
fn resolved_in_next_release_without_releases_regresses_on_any_release() {
    let mut state = resolved(Resolution::InNextRelease {
        latest_at_resolve: None,
    });
    let transition = apply(&mut state, event(None, RESOLVED_AT + 5));
    assert_still_resolved(&state, transition);
    let transition = apply(&mut state, event(Some("1.0"), RESOLVED_AT + 5));
    assert_regressed(&state, transition);
}

#[test]
fn resolved_in_release_ignores_older_and_release_less_events() {
    let mut state = resolved(Resolution::InRelease("2.0".into()));
    for release in [Some("1.9"), None] {
        let transition = apply(&mut state, event(release, RESOLVED_AT + 5));
        assert_still_resolved(&state, transition);
    }
}

#[test]
fn resolved_in_release_regresses_from_that_release_on() {
    for release in ["2.0", "2.1"] {
        let mut state = resolved(Resolution::InRelease("2.0".into()));
        let transition = apply(&mut state, event(Some(release), RESOLVED_AT + 5));
        assert_regressed(&state, transition);
    }
}

#[test]
fn non_semver_releases_regress_by_first_seen_order() {
    let mut state = resolved(Resolution::InRelease("green".into()));
    let transition = apply(&mut state, event(Some("blue"), RESOLVED_AT + 5));
    assert_still_resolved(&state, transition);
    let mut state = resolved(Resolution::InRelease("blue".into()));
    let transition = apply(&mut state, event(Some("green"), RESOLVED_AT + 5));
    assert_regressed(&state, transition);
}

#[test]
fn ignored_forever_stays_ignored() {
    let mut state = IssueState::new_issue();
    state.ignore(IgnoreCondition::Forever);
    assert_eq!(state.substatus, Substatus::ArchivedForever);
    let transition = apply(&mut state, event(Some("9.0"), i64::MAX));
    assert_eq!(
        (transition, state.status),
        (Transition::Unchanged, IssueStatus::Ignored)
    );
}

#[test]
fn ignoring_until_a_time_ends_at_that_time() {
    let mut state = IssueState::new_issue();
    state.ignore_for_minutes(at(RESOLVED_AT), 30);
    let until_ms = RESOLVED_AT + 30 * 60_000;
    assert_eq!(state.ignore, Some(IgnoreCondition::UntilTime { until: at(until_ms) }));
    assert_eq!(apply(&mut state, event(None, until_ms - 1)), Transition::Unchanged);
    assert_eq!(apply(&mut state, event(None, until_ms)), Transition::Unignored);
    assert_eq!(
        (state.status, state.substatus),
        (IssueStatus::Unresolved, Substatus::Escalating)
    );
    assert_eq!(state.ignore, None);
}

#[test]
fn ignoring_for_five_more_events_returns_on_the_fifth() {
    let mut state = IssueState::new_issue();
    let times_seen_when_ignored = 12;
    state.ignore_for_count(times_seen_when_ignored, 5);
    assert_eq!(state.substatus, Substatus::ArchivedUntilConditionMet);
    for more in 1..=4 {
        let incoming = IncomingEvent {
            times_seen_after: times_seen_when_ignored + more,
            ..event(None, RESOLVED_AT)
        };
        assert_eq!(apply(&mut state, incoming), Transition::Unchanged, "event {more}");
        assert_eq!(state.status, IssueStatus::Ignored);
    }
    let fifth = IncomingEvent {
        times_seen_after: times_seen_when_ignored + 5,
        ..event(None, RESOLVED_AT)
    };
    assert_eq!(apply(&mut state, fifth), Transition::Unignored);
    assert_eq!(
        (state.status, state.substatus),
        (IssueStatus::Unresolved, Substatus::Escalating)
    );
}

#[test]
fn unresolved_issues_keep_their_substatus() {
    for substatus in [Substatus::New, Substatus::Ongoing, Substatus::Regressed] {
        let mut state = IssueState {
            substatus,
            ..IssueState::new_issue()
        };
        assert_eq!(apply(&mut state, event(Some("2.0"), 1)), Transition::Unchanged);
        assert_eq!((state.status, state.substatus), (IssueStatus::Unresolved, substatus));
    }
}

#[test]
fn unresolving_by_hand_clears_resolution_and_ignore() {
    let mut state = resolved(Resolution::InRelease("2.0".into()));
    state.unresolve();
    assert_eq!(
        (state.status, state.substatus),
        (IssueStatus::Unresolved, Substatus::Ongoing)
    );
    assert_eq!((state.resolution, state.resolved_at, state.ignore), (None, None, None));
}

#[test]
fn resolving_clears_an_ignore_and_hides_the_substatus() {
    let mut state = IssueState::new_issue();
    state.ignore(IgnoreCondition::Forever);
    state.resolve(Resolution::Plain, at(RESOLVED_AT));
    assert_eq!(state.ignore, None);
    assert_eq!(state.visible_substatus(), None);
    assert_eq!(IssueState::new_issue().visible_substatus(), Some(Substatus::New));
}

#[test]
fn statuses_round_trip_through_their_stored_names() {
    for status in [IssueStatus::Unresolved, IssueStatus::Resolved, IssueStatus::Ignored] {
        assert_eq!(IssueStatus::parse(status.as_str()), Some(status));
    }
    for substatus in Substatus::ALL {
        assert_eq!(Substatus::parse(substatus.as_str()), Some(substatus));
    }
    assert_eq!(
        Substatus::parse("archived_until_condition_met"),
        Some(Substatus::ArchivedUntilConditionMet)
    );
    assert_eq!(IssueStatus::parse("archived"), None);
}

#[test]
fn resolutions_and_ignore_conditions_round_trip_with_their_data() {
    let resolutions = [
        Resolution::Plain,
        Resolution::InNextRelease {
            latest_at_resolve: None,
        },
        Resolution::InNextRelease {
            latest_at_resolve: Some("1.0".into()),
        },
        Resolution::InRelease("2.0".into()),
    ];
    for resolution in resolutions {
        assert_eq!(
            Resolution::parse(resolution.as_str(), resolution.release()),
            Some(resolution)
        );
    }
    let conditions = [
        IgnoreCondition::Forever,
        IgnoreCondition::UntilTime { until: at(5) },
        IgnoreCondition::UntilCount { times_seen_target: 7 },
    ];
    for condition in conditions {
        assert_eq!(
            IgnoreCondition::parse(condition.as_str(), condition.threshold()),
            Some(condition)
        );
    }
    assert_eq!(Resolution::parse("in_release", None), None);
    assert_eq!(IgnoreCondition::parse("until_count", None), None);
}

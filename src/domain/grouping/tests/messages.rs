//! §8.4 vectors about messages, stackless exceptions and custom fingerprints.

use super::*;

#[test]
fn durations_in_a_stackless_value_do_not_split() {
    let stackless = |value: &str| python_error("TimeoutError", value, vec![]);
    assert_same_group(&stackless("Request took 1500ms"), &stackless("Request took 2300ms"));
    assert_same_group(&stackless("Timeout after 30s"), &stackless("Timeout after 45s"));
}

#[test]
fn numbers_after_equals_in_a_stackless_value_do_not_split() {
    let stackless = |value: &str| python_error("ValueError", value, vec![]);
    assert_same_group(&stackless("id=5"), &stackless("id=6"));
}

#[test]
fn stackless_exceptions_of_different_types_split() {
    assert_different_groups(
        &python_error("ValueError", "bad input", vec![]),
        &python_error("TypeError", "bad input", vec![]),
    );
}

#[test]
fn message_templates_group_regardless_of_params() {
    assert_same_group(
        &message_event(Some("Sending %d requests"), Some("Sending 5 requests")),
        &message_event(Some("Sending %d requests"), Some("Sending 7 requests")),
    );
}

#[test]
fn formatted_only_messages_group_through_placeholders() {
    let formatted = |text: &str| message_event(None, Some(text));
    assert_same_group(&formatted("Sending 5 requests"), &formatted("Sending 7 requests"));
    assert_eq!(
        group(&formatted("Sending 5 requests")).components,
        vec!["message: Sending <int> requests"]
    );
}

#[test]
fn uuids_and_emails_in_messages_do_not_split_an_issue() {
    let formatted = |text: &str| message_event(None, Some(text));
    assert_same_group(
        &formatted("order 123e4567-e89b-12d3-a456-426614174000 failed for ann@example.com"),
        &formatted("order 9b2f1c3e-0000-4d2a-8e1f-0123456789ab failed for bob@example.org"),
    );
}

#[test]
fn numbers_glued_to_the_end_of_a_word_do_not_split_an_issue() {
    let formatted = |text: &str| message_event(None, Some(text));
    assert_same_group(
        &formatted("Disk usage above threshold on volume /data0"),
        &formatted("Disk usage above threshold on volume /data3"),
    );
    assert_eq!(
        group(&formatted("volume /data0 full")).components,
        vec!["message: volume /data<int> full"]
    );
}

#[test]
fn different_messages_split() {
    let formatted = |text: &str| message_event(None, Some(text));
    assert_different_groups(&formatted("disk full"), &formatted("disk missing"));
}

#[test]
fn default_plus_transaction_fingerprint_splits_by_transaction() {
    let routed = |transaction: &str| {
        let mut event = python_error("KeyError", "'id'", app_frames());
        event.fingerprint = vec!["{{ default }}".into(), "{{ transaction }}".into()];
        event.transaction = Some(transaction.to_string());
        event
    };
    assert_different_groups(&routed("/a"), &routed("/b"));
    assert_same_group(&routed("/a"), &routed("/a"));
}

#[test]
fn a_literal_fingerprint_merges_unrelated_exceptions() {
    let mut first = python_error("TimeoutError", "db", app_frames());
    let mut second = python_error("OperationalError", "pool", vec![frame("app.jobs", "sync", true)]);
    first.fingerprint = vec!["db-timeout".into()];
    second.fingerprint = vec!["db-timeout".into()];
    assert_same_group(&first, &second);
}

#[test]
fn fingerprint_entries_cannot_collide_by_concatenation() {
    let fingerprinted = |entries: [&str; 2]| Event {
        fingerprint: entries.iter().map(|e| e.to_string()).collect(),
        ..Event::default()
    };
    assert_different_groups(&fingerprinted(["a", "bc"]), &fingerprinted(["ab", "c"]));
}

#[test]
fn a_lone_default_fingerprint_keeps_the_default_group() {
    let plain = python_error("KeyError", "'id'", app_frames());
    let mut explicit = plain.clone();
    explicit.fingerprint = vec!["{{default}}".into()];
    assert_same_group(&plain, &explicit);
}

use super::*;

#[test]
fn items_count_in_sentrys_categories_and_client_reports_in_none() {
    assert_eq!(Category::of_item("event"), Some(Category::Error));
    assert_eq!(Category::of_item("sessions"), Some(Category::Session));
    assert_eq!(Category::of_item("check_in"), Some(Category::Monitor));
    assert_eq!(Category::of_item("replay_recording"), Some(Category::Replay));
    assert_eq!(Category::of_item("client_report"), None);
    assert_eq!(Category::of_item("frobnicate"), None);
    for category in Category::ALL {
        assert_eq!(Category::parse(category.as_str()), Some(category));
    }
}

#[test]
fn the_header_has_integer_seconds_and_semicolon_separated_categories() {
    let limits = [
        RateLimit {
            retry_after_secs: 60,
            categories: vec![Category::Transaction, Category::Session],
            scope: RateLimitScope::Organization,
            reason: reason::NOT_STORED,
        },
        RateLimit {
            retry_after_secs: 30,
            categories: vec![],
            scope: RateLimitScope::Key,
            reason: "key_quota",
        },
    ];
    assert_eq!(
        format_rate_limits(&limits),
        "60:transaction;session:organization:not_stored, 30::key:key_quota"
    );
}

#[test]
fn a_client_report_keeps_known_categories_with_bounded_reasons_and_quantities() {
    let report = br#"{"timestamp": 1700000000, "discarded_events": [
        {"reason": "sample_rate", "category": "transaction", "quantity": 12},
        {"reason": "<script>", "category": "error", "quantity": 99999999999},
        {"reason": "queue_overflow", "category": "hologram", "quantity": 3},
        {"reason": "before_send", "category": "error", "quantity": 0}
    ]}"#;
    let lines = parse_client_report(report).unwrap();
    assert_eq!(
        lines,
        vec![
            Discarded {
                reason: "sample_rate".into(),
                category: Category::Transaction,
                quantity: 12
            },
            Discarded {
                reason: "script".into(),
                category: Category::Error,
                quantity: 1_000_000
            },
        ]
    );
}

#[test]
fn an_unreadable_client_report_is_refused_with_a_sentence() {
    let error = parse_client_report(b"{not json").unwrap_err();
    assert!(
        error.to_string().starts_with("the client report is not JSON"),
        "{error}"
    );
    let negative = br#"{"discarded_events": [{"reason": "x", "category": "error", "quantity": -1}]}"#;
    assert!(parse_client_report(negative).is_err());
}

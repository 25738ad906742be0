use super::*;

fn terms(input: &str) -> Vec<Term> {
    match parse_search(input) {
        Ok(query) => query.terms,
        Err(error) => panic!("{input:?} should parse, got: {error}"),
    }
}

fn only_term(input: &str) -> Term {
    let mut parsed = terms(input);
    assert_eq!(parsed.len(), 1, "{input:?} should give one term, got {parsed:?}");
    parsed.remove(0)
}

fn error(input: &str) -> SearchError {
    match parse_search(input) {
        Ok(query) => panic!("{input:?} should be rejected, got {query:?}"),
        Err(error) => error,
    }
}

fn term(kind: TermKind) -> Term {
    Term { negated: false, kind }
}

fn negated(kind: TermKind) -> Term {
    Term { negated: true, kind }
}

fn text(value: &str) -> TermKind {
    TermKind::Text(value.to_string())
}

fn tag(key: &str, values: &[&str]) -> TermKind {
    TermKind::Tag {
        key: key.to_string(),
        values: values.iter().map(|value| value.to_string()).collect(),
    }
}

fn status(statuses: &[IssueStatus]) -> TermKind {
    TermKind::Status(statuses.to_vec())
}

#[test]
fn empty_or_blank_input_has_no_constraints() {
    assert_eq!(parse_search(""), Ok(SearchQuery::default()));
    assert_eq!(parse_search("  \t\n "), Ok(SearchQuery::default()));
}

#[test]
fn whitespace_separated_words_are_separate_free_text_terms() {
    assert_eq!(
        terms("  connection\trefused "),
        vec![term(text("connection")), term(text("refused"))]
    );
}

#[test]
fn quoted_free_text_is_one_term_with_its_spaces() {
    assert_eq!(only_term("\"connection refused\""), term(text("connection refused")));
}

#[test]
fn quoted_key_value_is_free_text_not_a_filter() {
    assert_eq!(only_term("\"level:error\""), term(text("level:error")));
}

#[test]
fn free_text_keeps_its_case_and_punctuation() {
    assert_eq!(only_term("KeyError('id')"), term(text("KeyError('id')")));
}

#[test]
fn url_is_free_text_not_a_filter_on_its_scheme() {
    assert_eq!(only_term("http://example.com/x"), term(text("http://example.com/x")));
    assert_eq!(
        only_term("https://example.com:8080/a?b=c"),
        term(text("https://example.com:8080/a?b=c"))
    );
}

#[test]
fn token_whose_key_is_empty_or_has_a_slash_is_free_text() {
    assert_eq!(only_term(":foo"), term(text(":foo")));
    assert_eq!(only_term("src/app.py:42"), term(text("src/app.py:42")));
    assert_eq!(only_term("käse:1"), term(text("käse:1")));
}

#[test]
fn lone_bang_is_searched_as_text() {
    assert_eq!(terms("wow !"), vec![term(text("wow")), term(text("!"))]);
}

#[test]
fn bang_before_a_word_negates_the_free_text() {
    assert_eq!(
        terms("timeout !retry"),
        vec![term(text("timeout")), negated(text("retry"))]
    );
}

#[test]
fn bang_before_quoted_text_negates_the_whole_phrase() {
    assert_eq!(only_term("!\"health check\""), negated(text("health check")));
}

#[test]
fn bang_before_the_key_negates_the_filter() {
    assert_eq!(only_term("!level:info"), negated(TermKind::Level(vec![Level::Info])));
    assert_eq!(only_term("!is:resolved"), negated(status(&[IssueStatus::Resolved])));
    assert_eq!(only_term("!environment:prod"), negated(tag("environment", &["prod"])));
}

#[test]
fn negated_list_excludes_every_listed_value() {
    assert_eq!(
        only_term("!environment:[prod, staging]"),
        negated(tag("environment", &["prod", "staging"]))
    );
}

#[test]
fn is_filter_selects_each_status() {
    assert_eq!(only_term("is:unresolved"), term(status(&[IssueStatus::Unresolved])));
    assert_eq!(only_term("is:resolved"), term(status(&[IssueStatus::Resolved])));
    assert_eq!(only_term("is:ignored"), term(status(&[IssueStatus::Ignored])));
}

#[test]
fn archived_and_muted_are_aliases_of_ignored() {
    assert_eq!(only_term("is:archived"), term(status(&[IssueStatus::Ignored])));
    assert_eq!(only_term("is:muted"), term(status(&[IssueStatus::Ignored])));
}

#[test]
fn status_names_are_case_insensitive() {
    assert_eq!(only_term("is:Resolved"), term(status(&[IssueStatus::Resolved])));
}

#[test]
fn is_list_matches_any_status_once_each() {
    assert_eq!(
        only_term("is:[resolved, archived, muted, ignored]"),
        term(status(&[IssueStatus::Resolved, IssueStatus::Ignored]))
    );
}

#[test]
fn is_unassigned_adds_no_constraint_because_every_issue_is_unassigned() {
    assert_eq!(terms("is:unassigned"), vec![]);
    assert_eq!(terms("is:unassigned crash"), vec![term(text("crash"))]);
    assert_eq!(terms("is:[resolved, unassigned]"), vec![]);
}

#[test]
fn is_assigned_matches_nothing() {
    assert_eq!(only_term("is:assigned"), term(TermKind::MatchNothing));
}

#[test]
fn negating_assignment_flips_everything_and_nothing() {
    assert_eq!(terms("!is:assigned"), vec![]);
    assert_eq!(only_term("!is:unassigned"), term(TermKind::MatchNothing));
}

#[test]
fn assigned_in_a_status_list_adds_nothing_to_the_statuses() {
    assert_eq!(
        only_term("is:[resolved, assigned]"),
        term(status(&[IssueStatus::Resolved]))
    );
}

#[test]
fn unknown_status_is_rejected_at_the_value() {
    assert_eq!(
        error("hello is:foo"),
        SearchError {
            position: 9,
            message: "unknown status \"foo\" (expected unresolved, resolved or ignored)".to_string()
        }
    );
}

#[test]
fn unknown_status_inside_a_list_points_at_that_item() {
    assert_eq!(error("is:[resolved, bogus]").position, 14);
}

#[test]
fn default_query_is_is_unresolved() {
    assert_eq!(
        SearchQuery::default_unresolved(),
        parse_search("is:unresolved").expect("parses")
    );
}

#[test]
fn level_filter_accepts_every_level_name() {
    let parsed = terms("level:debug level:info level:warning level:error level:fatal");
    let levels = [Level::Debug, Level::Info, Level::Warning, Level::Error, Level::Fatal];
    assert_eq!(parsed, levels.map(|level| term(TermKind::Level(vec![level]))).to_vec());
}

#[test]
fn level_names_are_case_insensitive() {
    assert_eq!(only_term("level:ERROR"), term(TermKind::Level(vec![Level::Error])));
}

#[test]
fn level_list_matches_any_level() {
    assert_eq!(
        only_term("level:[error,fatal]"),
        term(TermKind::Level(vec![Level::Error, Level::Fatal]))
    );
}

#[test]
fn invalid_level_is_rejected_at_the_value() {
    assert_eq!(
        error("level:critical"),
        SearchError {
            position: 6,
            message: "unknown level \"critical\" (expected debug, info, warning, error or fatal)".to_string()
        }
    );
    assert_eq!(error("level:[error, nope]").position, 14);
}

#[test]
fn other_keys_are_tag_filters_with_the_key_as_written() {
    assert_eq!(
        terms("release:1.2.0 environment:prod user.email:a@b.c Browser.Name:Firefox my-tag_2:x"),
        vec![
            term(tag("release", &["1.2.0"])),
            term(tag("environment", &["prod"])),
            term(tag("user.email", &["a@b.c"])),
            term(tag("Browser.Name", &["Firefox"])),
            term(tag("my-tag_2", &["x"])),
        ]
    );
}

#[test]
fn tag_value_may_contain_colons_and_a_url() {
    assert_eq!(
        only_term("url:http://example.com/x"),
        term(tag("url", &["http://example.com/x"]))
    );
    assert_eq!(only_term("server:db:5432"), term(tag("server", &["db:5432"])));
}

#[test]
fn quoted_value_keeps_its_spaces() {
    assert_eq!(
        only_term("release:\"my release 1\""),
        term(tag("release", &["my release 1"]))
    );
}

#[test]
fn tag_list_matches_any_value_and_allows_spaces_inside_brackets() {
    assert_eq!(
        only_term("environment:[prod, staging]"),
        term(tag("environment", &["prod", "staging"]))
    );
    assert_eq!(
        only_term("environment:[ prod ,staging ]"),
        term(tag("environment", &["prod", "staging"]))
    );
    assert_eq!(only_term("environment:[prod]"), term(tag("environment", &["prod"])));
}

#[test]
fn list_items_may_be_quoted() {
    assert_eq!(
        only_term("release:[\"my release 1\", 2.0, \"a,b]\"]"),
        term(tag("release", &["my release 1", "2.0", "a,b]"]))
    );
}

#[test]
fn backslash_escapes_quote_and_backslash_inside_quotes() {
    assert_eq!(
        only_term(r#"release:"a \"quoted\" word""#),
        term(tag("release", &["a \"quoted\" word"]))
    );
    assert_eq!(only_term(r#""back\\slash""#), term(text("back\\slash")));
}

#[test]
fn message_filters_search_the_text_as_sentry_does() {
    assert_eq!(
        only_term(r#"message:"connection refused""#),
        term(text("connection refused"))
    );
}

#[test]
fn other_backslashes_inside_quotes_are_kept_as_written() {
    assert_eq!(only_term(r#""C:\Users\me""#), term(text(r"C:\Users\me")));
}

#[test]
fn unquoted_text_keeps_backslashes_and_quotes_literally() {
    assert_eq!(only_term(r#"say"hi\"#), term(text(r#"say"hi\"#)));
}

#[test]
fn all_terms_are_kept_in_order() {
    assert_eq!(
        terms("is:unresolved level:error \"db down\" !release:1.2.0 timeout"),
        vec![
            term(status(&[IssueStatus::Unresolved])),
            term(TermKind::Level(vec![Level::Error])),
            term(text("db down")),
            negated(tag("release", &["1.2.0"])),
            term(text("timeout")),
        ]
    );
}

#[test]
fn unterminated_quote_is_reported_at_the_opening_quote() {
    assert_eq!(error("\"abc").position, 0);
    assert_eq!(error("release:\"abc").position, 8);
    assert_eq!(error("release:\"abc").message, "unterminated quote");
    // The backslash escapes the last quote, so nothing closes the string.
    assert_eq!(error(r#"crash "abc\""#).position, 6);
}

#[test]
fn empty_value_is_reported_where_the_value_should_be() {
    let missing = error("level:");
    assert_eq!(
        missing,
        SearchError {
            position: 6,
            message: "empty value for \"level\"".to_string()
        }
    );
    assert_eq!(error("!release: x").position, 9);
    assert_eq!(error("release:\"\"").position, 8);
}

#[test]
fn empty_quoted_free_text_is_rejected() {
    assert_eq!(error("a \"\"").position, 2);
}

#[test]
fn unterminated_list_is_reported_at_the_bracket() {
    let unterminated = error("environment:[prod, staging");
    assert_eq!(unterminated.position, 12);
    assert_eq!(unterminated.message, "unterminated list: missing \"]\"");
    assert_eq!(error("level:[").position, 6);
    assert_eq!(error("level:[error, ").position, 6);
}

#[test]
fn empty_item_in_a_list_is_reported_at_that_item() {
    assert_eq!(error("environment:[prod,,staging]").position, 18);
    assert_eq!(error("environment:[prod, ]").position, 19);
    assert_eq!(error("level:[]").position, 7);
    assert_eq!(error("level:[]").message, "empty value for \"level\"");
}

#[test]
fn list_items_must_be_separated_by_commas() {
    let missing_comma = error("level:[error warning]");
    assert_eq!(missing_comma.position, 13);
    assert_eq!(missing_comma.message, "expected \",\" or \"]\" in list, found \"w\"");
}

#[test]
fn text_glued_after_a_closing_quote_or_bracket_is_rejected() {
    assert_eq!(error("\"foo\"bar").position, 5);
    assert_eq!(error("level:[error]x").position, 13);
    assert_eq!(error("release:\"1\"x").message, "expected a space before \"x\"");
}

#[test]
fn error_positions_count_characters_not_bytes() {
    assert_eq!(error("café is:nope").position, 8);
    assert_eq!(error("\"日本語\" level:bad").position, 12);
    assert_eq!(error("über \"x").position, 5);
    assert_eq!(error("environment:[prod, ü, ]").position, 22);
}

#[test]
fn error_displays_message_and_position() {
    assert_eq!(
        error("hello is:foo").to_string(),
        "unknown status \"foo\" (expected unresolved, resolved or ignored) at position 9"
    );
}

#[test]
fn searches_longer_than_the_limit_are_refused_where_they_overflow() {
    let long = "a ".repeat(MAX_QUERY_CHARS);
    let error = parse_search(&long).unwrap_err();
    assert_eq!(error.position, MAX_QUERY_CHARS);
    assert!(parse_search(&"a ".repeat(MAX_QUERY_CHARS / 2)).is_ok());
}

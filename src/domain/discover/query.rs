//! The `query=` of a Discover request: the issue search syntax (`domain::search`: `key:value`,
//! `key:"quoted"`, `!key:value`, `key:[a, b]`, free text) read with Discover's keys. `event.type:` picks
//! errors or transactions; `*` in a value is a wildcard (`transaction:/api/*`). Any other key is refused by
//! name rather than silently matching nothing.

use crate::domain::search::{parse_search, SearchError, TermKind};

use super::field::Column;
use super::Kind;

/// A value to compare a column with: exactly, or with `*` standing for any run of characters (compared
/// without regard to case, as free text is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Wildcard(String),
}

impl Pattern {
    pub fn parse(text: &str) -> Pattern {
        if text.contains('*') {
            Pattern::Wildcard(text.to_owned())
        } else {
            Pattern::Exact(text.to_owned())
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == value,
            Pattern::Wildcard(pattern) => wildcard_match(&pattern.to_lowercase(), &value.to_lowercase()),
        }
    }
}

fn wildcard_match(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == value;
    }
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `column:value` (any of the values), or its negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub column: Column,
    pub negated: bool,
    pub values: Vec<Pattern>,
}

/// Free text: a case-insensitive part of an error's title or a transaction's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTerm {
    pub negated: bool,
    pub text: String,
}

/// Which event types a query lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypes {
    pub error: bool,
    /// Message events (no exception), which Sentry counts among the errors too.
    pub default: bool,
    pub transaction: bool,
}

const EVENT_TYPES: [&str; 3] = ["error", "default", "transaction"];

impl EventTypes {
    const ALL: EventTypes = EventTypes {
        error: true,
        default: true,
        transaction: true,
    };

    fn of(names: &[&str]) -> EventTypes {
        EventTypes {
            error: names.contains(&"error"),
            default: names.contains(&"default"),
            transaction: names.contains(&"transaction"),
        }
    }

    fn and(self, other: EventTypes, negated: bool) -> EventTypes {
        let keep = |mine: bool, theirs: bool| mine && (theirs != negated);
        EventTypes {
            error: keep(self.error, other.error),
            default: keep(self.default, other.default),
            transaction: keep(self.transaction, other.transaction),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    pub conditions: Vec<Condition>,
    pub text: Vec<TextTerm>,
    pub event_types: EventTypes,
    /// `is:assigned`: nothing is assigned in Faultline.
    pub matches_nothing: bool,
}

impl Default for EventQuery {
    fn default() -> EventQuery {
        EventQuery {
            conditions: Vec::new(),
            text: Vec::new(),
            event_types: EventTypes::ALL,
            matches_nothing: false,
        }
    }
}

/// Why a query cannot be run; the text is the 400's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Invalid search query: {0}")]
    Syntax(#[from] SearchError),
    #[error("{0}")]
    Unsupported(String),
}

/// The columns a condition may name, besides `event.type`.
const FILTERABLE: [Column; 9] = [
    Column::Id,
    Column::Title,
    Column::Issue,
    Column::Project,
    Column::Release,
    Column::Environment,
    Column::Transaction,
    Column::TransactionOp,
    Column::Platform,
];

pub fn parse_event_query(input: &str) -> Result<EventQuery, QueryError> {
    let mut query = EventQuery::default();
    for term in parse_search(input)?.terms {
        let negated = term.negated;
        match term.kind {
            TermKind::Text(text) => query.text.push(text_term(negated, text)?),
            TermKind::MatchNothing => query.matches_nothing = true,
            TermKind::Status(_) => {
                return Err(unsupported("is: filters issues, not events; use the Issues query type"));
            }
            TermKind::Level(levels) => query.conditions.push(Condition {
                column: Column::Level,
                negated,
                values: levels.iter().map(|l| Pattern::Exact(l.as_str().to_owned())).collect(),
            }),
            TermKind::Tag { key, values } if key == "event.type" => {
                let names = values
                    .iter()
                    .map(|v| EVENT_TYPES.into_iter().find(|t| *t == v.to_ascii_lowercase()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| unsupported("event.type is one of error, default, transaction"))?;
                query.event_types = query.event_types.and(EventTypes::of(&names), negated);
            }
            TermKind::Tag { key, values } => query.conditions.push(condition(&key, negated, &values)?),
        }
    }
    Ok(query)
}

fn condition(key: &str, negated: bool, values: &[String]) -> Result<Condition, QueryError> {
    let column = Column::parse(key)
        .filter(|c| FILTERABLE.contains(c))
        .ok_or_else(|| unsupported_key(key))?;
    let values: Vec<Pattern> = values.iter().map(|v| Pattern::parse(v)).collect();
    let exact_only = matches!(column, Column::Id | Column::Issue);
    if exact_only && values.iter().any(|v| matches!(v, Pattern::Wildcard(_))) {
        return Err(unsupported(&format!("{key}: takes exact values, without *")));
    }
    Ok(Condition {
        column,
        negated,
        values,
    })
}

/// Free text that is really a filter the search syntax does not read as one (`tags[browser]:x`,
/// `p95():>100`) is refused by its key rather than searched for.
fn text_term(negated: bool, text: String) -> Result<TextTerm, QueryError> {
    if let Some((key, _)) = text.split_once(':') {
        if !key.is_empty() && !key.contains(char::is_whitespace) && key.contains(['[', '(']) {
            return Err(unsupported_key(key));
        }
    }
    Ok(TextTerm { negated, text })
}

fn unsupported(why: &str) -> QueryError {
    QueryError::Unsupported(why.to_owned())
}

fn unsupported_key(key: &str) -> QueryError {
    let keys: Vec<&str> = FILTERABLE.iter().map(|c| c.name()).collect();
    QueryError::Unsupported(format!(
        "{key:?} is not a supported search key (supported: event.type, level, {}, and free text)",
        keys.join(", ")
    ))
}

impl EventQuery {
    /// Whether the event types asked for include rows of `kind`.
    pub fn includes(&self, kind: Kind) -> bool {
        match kind {
            Kind::Errors => self.event_types.error || self.event_types.default,
            Kind::Transactions => self.event_types.transaction,
        }
    }

    /// The first key rows of `kind` cannot be filtered on.
    pub fn blocker(&self, kind: Kind) -> Option<String> {
        self.conditions
            .iter()
            .find(|c| !c.column.answers(kind))
            .map(|c| c.column.name().to_owned())
    }

    /// The issue types an error must have, when the query keeps only one of `error` and `default`.
    pub fn error_types(&self) -> Option<Vec<String>> {
        let types = self.event_types;
        (types.error != types.default).then(|| vec![if types.error { "error" } else { "default" }.to_owned()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_picks_errors_or_transactions() {
        let errors = parse_event_query("event.type:error").unwrap();
        assert!(errors.includes(Kind::Errors) && !errors.includes(Kind::Transactions));
        assert_eq!(errors.error_types(), Some(vec!["error".to_owned()]));
        let transactions = parse_event_query("event.type:transaction").unwrap();
        assert!(!transactions.includes(Kind::Errors) && transactions.includes(Kind::Transactions));
        let not_transactions = parse_event_query("!event.type:transaction").unwrap();
        assert!(not_transactions.includes(Kind::Errors) && !not_transactions.includes(Kind::Transactions));
        assert_eq!(not_transactions.error_types(), None, "errors and message events");
        let both = parse_event_query("").unwrap();
        assert!(both.includes(Kind::Errors) && both.includes(Kind::Transactions));
        let none = parse_event_query("event.type:error event.type:transaction").unwrap();
        assert!(!none.includes(Kind::Errors) && !none.includes(Kind::Transactions));
        assert!(parse_event_query("event.type:csp").is_err());
    }

    #[test]
    fn conditions_keep_quotes_lists_negation_and_wildcards() {
        let query =
            parse_event_query(r#"transaction:/api/* !release:"shop 1.0" environment:[prod,staging] level:fatal"#)
                .unwrap();
        assert_eq!(
            query.conditions,
            vec![
                Condition {
                    column: Column::Transaction,
                    negated: false,
                    values: vec![Pattern::Wildcard("/api/*".into())]
                },
                Condition {
                    column: Column::Release,
                    negated: true,
                    values: vec![Pattern::Exact("shop 1.0".into())]
                },
                Condition {
                    column: Column::Environment,
                    negated: false,
                    values: vec![Pattern::Exact("prod".into()), Pattern::Exact("staging".into())]
                },
                Condition {
                    column: Column::Level,
                    negated: false,
                    values: vec![Pattern::Exact("fatal".into())]
                },
            ]
        );
        assert_eq!(query.blocker(Kind::Transactions).as_deref(), Some("level"));
        assert_eq!(query.blocker(Kind::Errors), None);
    }

    #[test]
    fn unsupported_keys_are_refused_by_name() {
        for (query, named) in [
            ("transaction.duration:>5000", "\"transaction.duration\""),
            ("tags[browser]:Chrome", "\"tags[browser]\""),
            ("p95():>1000", "\"p95()\""),
            ("has:user", "\"has\""),
            ("is:unresolved", "is:"),
            ("issue:WEB-*", "issue:"),
        ] {
            let error = parse_event_query(query).unwrap_err().to_string();
            assert!(error.contains(named), "{query}: {error}");
        }
        assert!(matches!(
            parse_event_query("release:\"open"),
            Err(QueryError::Syntax(_))
        ));
    }

    #[test]
    fn free_text_stays_text() {
        let query = parse_event_query("timeout !\"connection reset\"").unwrap();
        assert_eq!(
            query.text,
            vec![
                TextTerm {
                    negated: false,
                    text: "timeout".into()
                },
                TextTerm {
                    negated: true,
                    text: "connection reset".into()
                },
            ]
        );
    }

    #[test]
    fn wildcards_match_any_run_without_regard_to_case() {
        let pattern = Pattern::parse("/API/*/orders*");
        assert!(pattern.matches("/api/users/orders"));
        assert!(pattern.matches("/api/x/orders/42"));
        assert!(!pattern.matches("/web/x/orders"));
        assert!(Pattern::parse("*-web").matches("shop-web"));
        assert!(!Pattern::parse("a*a").matches("a"));
        assert!(Pattern::parse("*").matches(""));
        assert!(!Pattern::parse("Web").matches("web"), "exact values keep their case");
    }
}

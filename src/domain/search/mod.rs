//! Issue search (Sentry's search syntax, the subset Faultline supports): turns the `query` string
//! of the issues API and web UI into a typed [`SearchQuery`] once, which the store turns into SQL.
//!
//! Whitespace separates terms and every term must match (AND). A term is `key:value` (a filter)
//! or free text; `!` in front negates it; `key:[a, b]` matches any listed value (OR); values and
//! free text may be `"quoted"` with `\"` and `\\` escapes.

mod lexer;

use crate::domain::event::Level;
use crate::domain::lifecycle::IssueStatus;
use lexer::{Located, Token, TokenBody};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub kind: TermKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermKind {
    /// `is:…` — one or more statuses (OR).
    Status(Vec<IssueStatus>),
    /// `is:assigned` — matches no issue. Never negated: a negated one is dropped instead.
    MatchNothing,
    /// `level:…` (OR over values).
    Level(Vec<Level>),
    /// Any other `key:value`, matched against the issue's tag facets (release, environment and
    /// user.email included). The key is kept as written; values OR.
    Tag { key: String, values: Vec<String> },
    /// Free text: a case-insensitive substring of the title or culprit.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct SearchError {
    /// 0-based character (not byte) offset where the problem starts.
    pub position: usize,
    pub message: String,
}

impl SearchQuery {
    /// `is:unresolved`: what the issues API searches when no `query` is given.
    pub fn default_unresolved() -> SearchQuery {
        SearchQuery {
            terms: vec![Term {
                negated: false,
                kind: TermKind::Status(vec![IssueStatus::Unresolved]),
            }],
        }
    }
}

/// Parses a search string; an empty or blank one is a query without constraints.
/// The longest search accepted.
pub const MAX_QUERY_CHARS: usize = 500;

pub fn parse_search(input: &str) -> Result<SearchQuery, SearchError> {
    // Bounds the terms and values one query turns into SQL parameters and nested conditions.
    if input.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError {
            position: MAX_QUERY_CHARS,
            message: format!("the search is longer than {MAX_QUERY_CHARS} characters"),
        });
    }
    let mut terms = Vec::new();
    for token in lexer::tokenize(input)? {
        terms.extend(interpret(token)?);
    }
    Ok(SearchQuery { terms })
}

fn interpret(token: Token) -> Result<Option<Term>, SearchError> {
    let kind = match token.body {
        TokenBody::Text(text) => TermKind::Text(text),
        TokenBody::Filter { key, values } => match key.as_str() {
            "is" => return status_term(token.negated, &values),
            "level" => TermKind::Level(parse_levels(&values)?),
            // Sentry's `message:` searches the text, not a tag.
            "message" if values.len() == 1 => TermKind::Text(values.into_iter().map(|value| value.text).collect()),
            _ => TermKind::Tag {
                key,
                values: values.into_iter().map(|value| value.text).collect(),
            },
        },
    };
    Ok(Some(Term {
        negated: token.negated,
        kind,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IsValue {
    Status(IssueStatus),
    Assigned,
    Unassigned,
}

/// Faultline has no assignment yet, so every issue is unassigned: `is:unassigned` matches every
/// issue and `is:assigned` none. Terms that match everything are dropped rather than sent to the
/// store, and "matches nothing" is always expressed as an un-negated [`TermKind::MatchNothing`].
fn status_term(negated: bool, values: &[Located]) -> Result<Option<Term>, SearchError> {
    let parsed = values.iter().map(parse_is_value).collect::<Result<Vec<_>, _>>()?;
    let statuses = unique(parsed.iter().filter_map(|value| match value {
        IsValue::Status(status) => Some(*status),
        IsValue::Assigned | IsValue::Unassigned => None,
    }));
    let matches_everything = parsed.contains(&IsValue::Unassigned);
    let term = if matches_everything || statuses.is_empty() {
        let matches_nothing = matches_everything == negated;
        matches_nothing.then_some(Term {
            negated: false,
            kind: TermKind::MatchNothing,
        })
    } else {
        Some(Term {
            negated,
            kind: TermKind::Status(statuses),
        })
    };
    Ok(term)
}

fn parse_is_value(value: &Located) -> Result<IsValue, SearchError> {
    let name = value.text.to_ascii_lowercase();
    let parsed = match name.as_str() {
        // Sentry's UI calls ignored issues "archived"; older clients say "muted".
        "archived" | "muted" => Some(IsValue::Status(IssueStatus::Ignored)),
        "assigned" => Some(IsValue::Assigned),
        "unassigned" => Some(IsValue::Unassigned),
        _ => IssueStatus::parse(&name).map(IsValue::Status),
    };
    parsed.ok_or_else(|| SearchError {
        position: value.position,
        message: format!(
            "unknown status \"{}\" (expected unresolved, resolved or ignored)",
            value.text
        ),
    })
}

fn parse_levels(values: &[Located]) -> Result<Vec<Level>, SearchError> {
    let levels = values.iter().map(|value| {
        Level::parse(&value.text.to_ascii_lowercase()).ok_or_else(|| SearchError {
            position: value.position,
            message: format!(
                "unknown level \"{}\" (expected debug, info, warning, error or fatal)",
                value.text
            ),
        })
    });
    Ok(unique(levels.collect::<Result<Vec<_>, _>>()?))
}

fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut kept = Vec::new();
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

#[cfg(test)]
mod tests;

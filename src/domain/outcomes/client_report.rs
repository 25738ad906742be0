//! A `client_report` item (protocol §10.1): what the SDK itself dropped, by reason and category.
//! Every field is attacker-controlled: reasons are bounded, quantities capped, unknown categories kept
//! out of the counters.

use serde::Deserialize;

use super::Category;

/// The most one report line may add: an SDK flushes its report every few seconds.
const MAX_QUANTITY: u64 = 1_000_000;
const MAX_REASON_CHARS: usize = 64;
/// A report lists a handful of (reason, category) lines; more is not a report.
const MAX_LINES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discarded {
    pub reason: String,
    pub category: Category,
    pub quantity: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientReportError {
    #[error("the client report is not JSON with a discarded_events list: {0}")]
    Malformed(String),
    #[error("the client report has more than {MAX_LINES} lines")]
    TooManyLines,
}

#[derive(Deserialize)]
struct Report {
    #[serde(default)]
    discarded_events: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    reason: String,
    category: String,
    quantity: u64,
}

/// The report's lines in categories this server knows, with bounded reasons and quantities.
pub fn parse_client_report(payload: &[u8]) -> Result<Vec<Discarded>, ClientReportError> {
    let report: Report = serde_json::from_slice(payload).map_err(|e| ClientReportError::Malformed(e.to_string()))?;
    if report.discarded_events.len() > MAX_LINES {
        return Err(ClientReportError::TooManyLines);
    }
    Ok(report
        .discarded_events
        .into_iter()
        .filter_map(|line| {
            let category = Category::parse(&line.category)?;
            let reason: String = line
                .reason
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(MAX_REASON_CHARS)
                .collect();
            Some(Discarded {
                reason: if reason.is_empty() {
                    "unknown".to_owned()
                } else {
                    reason
                },
                category,
                quantity: line.quantity.min(MAX_QUANTITY),
            })
        })
        .filter(|line| line.quantity > 0)
        .collect())
}

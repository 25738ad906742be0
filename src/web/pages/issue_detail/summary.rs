//! The head of the issue page: status in words, counts, the event-frequency charts and tag facets.

use crate::domain::issue_category::IssueCategory;
use crate::domain::lifecycle::{IgnoreCondition, IssueStatus, Resolution};
use crate::domain::short_id::encode_short_id;
use crate::domain::IssueId;
use crate::store::events::EventFilter;
use crate::store::issues::{hourly_counts_since, top_tag_values, Issue};
use crate::store::projects::Project;
use crate::store::Db;
use crate::web::charts::{bar_chart, BarChart, DAY_MS, HOUR_MS};
use crate::web::format::{count, level_class, moment, Moment};
use crate::web::WebError;

/// Facet values shown per tag key.
const TOP_VALUES: usize = 5;

pub struct IssueSummary {
    pub short_id: String,
    /// "Error" or "Performance".
    pub category: &'static str,
    pub project: String,
    pub level_class: &'static str,
    pub status: &'static str,
    /// How it is resolved or ignored, or the substatus of an unresolved issue.
    pub status_detail: String,
    pub unresolved: bool,
    pub events: String,
    pub users: String,
    pub first_seen: Moment,
    pub last_seen: Moment,
}

impl IssueSummary {
    pub fn new(issue: &Issue, project: &Project, now: i64) -> IssueSummary {
        IssueSummary {
            short_id: encode_short_id(&project.slug, issue.short_id_number as u64),
            category: IssueCategory::of(&issue.issue_type).label(),
            project: project.name.clone(),
            level_class: level_class(&issue.level),
            status: issue.state.status.as_str(),
            status_detail: status_detail(issue, now),
            unresolved: issue.state.status == IssueStatus::Unresolved,
            events: count(issue.times_seen),
            users: count(issue.user_count),
            first_seen: moment(issue.first_seen.as_millis(), now),
            last_seen: moment(issue.last_seen.as_millis(), now),
        }
    }
}

fn status_detail(issue: &Issue, now: i64) -> String {
    let state = &issue.state;
    match state.status {
        IssueStatus::Unresolved => state.substatus.as_str().to_owned(),
        IssueStatus::Resolved => match &state.resolution {
            None | Some(Resolution::Plain) => "resolved".to_owned(),
            Some(Resolution::InNextRelease {
                latest_at_resolve: Some(latest),
            }) => {
                format!("in the next release after {latest}")
            }
            Some(Resolution::InNextRelease {
                latest_at_resolve: None,
            }) => "in the next release".to_owned(),
            Some(Resolution::InRelease(release)) => format!("in release {release}"),
        },
        IssueStatus::Ignored => match &state.ignore {
            None | Some(IgnoreCondition::Forever) => "forever".to_owned(),
            Some(IgnoreCondition::UntilTime { until }) => {
                format!("until {}", moment(until.as_millis(), now).exact)
            }
            Some(IgnoreCondition::UntilCount { times_seen_target }) => {
                let more = (times_seen_target - issue.times_seen).max(0);
                format!("until {more} more events (at {times_seen_target} in all)")
            }
        },
    }
}

/// Events per hour over the last day and per day over the last 30 days.
pub async fn charts(db: &Db, issue_id: IssueId, now: i64) -> Result<(BarChart, BarChart), WebError> {
    let hours: Vec<(i64, i64)> = hourly_counts_since(db, &[issue_id], now - 30 * DAY_MS)
        .await?
        .into_iter()
        .map(|(_, hour, count)| (hour, count))
        .collect();
    let day = bar_chart(&hours, now, HOUR_MS, 24, 300.0, 60.0);
    let days: Vec<(i64, i64)> = hours
        .iter()
        .map(|&(hour, count)| (hour - hour.rem_euclid(DAY_MS), count))
        .collect();
    let month = bar_chart(&days, now, DAY_MS, 30, 300.0, 60.0);
    Ok((day, month))
}

pub struct FacetView {
    pub key: String,
    pub values: Vec<FacetValue>,
}

pub struct FacetValue {
    pub value: String,
    pub count: String,
    /// Share of the issue's events, 0–100.
    pub percent: u32,
    /// The issue's events with this value, when the events can be filtered by this key.
    pub url: Option<String>,
}

pub async fn facets(db: &Db, issue: &Issue, base: &str) -> Result<Vec<FacetView>, WebError> {
    let mut facets: Vec<FacetView> = Vec::new();
    for tag in top_tag_values(db, issue.id, TOP_VALUES as i64).await? {
        if facets.last().map_or(true, |facet| facet.key != tag.key) {
            facets.push(FacetView {
                key: tag.key.clone(),
                values: Vec::new(),
            });
        }
        let Some(facet) = facets.last_mut() else { continue };
        if facet.values.len() >= TOP_VALUES {
            continue;
        }
        let url = EventFilter::for_facet(&tag.key, &tag.value).map(|_| events_url(base, &tag.key, &tag.value));
        facet.values.push(FacetValue {
            percent: percent(tag.times_seen, issue.times_seen),
            count: count(tag.times_seen),
            value: tag.value,
            url,
        });
    }
    Ok(facets)
}

fn percent(part: i64, whole: i64) -> u32 {
    if whole <= 0 {
        return 0;
    }
    ((part as f64 / whole as f64 * 100.0).round() as u32).min(100)
}

/// The issue's events filtered to one tag value (`?tag=key:value`, encoded).
pub fn events_url(base: &str, key: &str, value: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("tag", &format!("{key}:{value}"))
        .finish();
    format!("{base}/events/?{query}")
}

/// The health of the issue's latest release over the last day, as one sentence; none without sessions.
pub async fn release_health(db: &Db, issue: &Issue) -> Result<Option<String>, WebError> {
    let Some(release) = issue.last_release.as_deref() else {
        return Ok(None);
    };
    let mut health = crate::core::release_health::release_health(db, issue.project_id).await?;
    let Some(figures) = health.remove(release) else {
        return Ok(None);
    };
    let percent = |value: Option<f64>| value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} %"));
    Ok(Some(format!(
        "Release {release}, last 24 hours: {} crash-free sessions, {} crash-free users, {} sessions",
        percent(figures.crash_free_sessions),
        percent(figures.crash_free_users),
        count(figures.sessions)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_and_stay_within_bounds() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(5, 4), 100);
        assert_eq!(percent(1, 0), 0);
    }

    #[test]
    fn tag_links_are_encoded() {
        assert_eq!(
            events_url("/o/x/issues/1", "release", "a&b c"),
            "/o/x/issues/1/events/?tag=release%3Aa%26b+c"
        );
    }
}

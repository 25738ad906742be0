//! The benchmark seed (`faultline seed`) at a tiny size: corpus events through ingest's pipeline into exactly
//! the asked number of issues, spread over the period, and topping up instead of doubling. Both databases.

use crate::common;

use std::collections::HashSet;

use common::{Backend, TestApp};
use faultline::seed::{seed_project, Corpus, SeedPlan};
use faultline::store::{events, issues, now_ms, overview};

const DAY_MS: i64 = 86_400_000;

fn plan(end_ms: i64) -> SeedPlan {
    SeedPlan {
        issues: 20,
        events: 200,
        days: 30,
        end_ms,
        batch: 64,
    }
}

async fn seeds_exactly_the_asked_issues_and_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let end = now_ms();
    let corpus = Corpus::embedded().unwrap();
    let report = seed_project(&app.db, app.project_id, corpus, &plan(end)).await.unwrap();
    assert_eq!(report.added, 200);
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 200);
    let seeded = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(seeded.len(), 20);
    assert_eq!(seeded.iter().map(|i| i.times_seen).sum::<i64>(), 200);
    let titles: HashSet<&str> = seeded.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles.len(), 20, "every issue has a title of its own");
    assert!(seeded
        .iter()
        .all(|i| i.first_seen.as_millis() >= end - 30 * DAY_MS && i.last_seen.as_millis() <= end));
    let last_day = seeded
        .iter()
        .filter(|i| i.last_seen.as_millis() >= end - DAY_MS)
        .count();
    assert!(
        last_day > 0,
        "some issues were seen in the last day, so sparklines have bars"
    );
    let biggest = seeded.iter().max_by_key(|i| i.times_seen).unwrap();
    let tags = issues::tag_counts(&app.db, biggest.id).await.unwrap();
    let values = |key: &str| tags.iter().filter(|t| t.key == key).count();
    assert!(values("environment") >= 2, "facets have several environments: {tags:?}");
    assert!(values("release") >= 2 && values("user") >= 2);

    // The per-project rollups the UI reads agree with the per-issue counters.
    let environments = issues::environments(&app.db, app.project_id).await.unwrap();
    assert_eq!(environments, ["development", "production", "staging"]);
    let ids: Vec<_> = seeded.iter().map(|i| i.id).collect();
    let since = end - 31 * DAY_MS;
    let per_issue: i64 = issues::hourly_counts_since(&app.db, &ids, since)
        .await
        .unwrap()
        .iter()
        .map(|h| h.2)
        .sum();
    let per_project = overview::project_hourly_counts(&app.db, &[app.project_id], since)
        .await
        .unwrap();
    assert_eq!(per_issue, 200);
    assert_eq!(per_project.iter().map(|h| h.2).sum::<i64>(), 200);

    // Run again: the project already holds the events, so nothing is added.
    let corpus = Corpus::embedded().unwrap();
    let again = seed_project(&app.db, app.project_id, corpus, &plan(end)).await.unwrap();
    assert_eq!(again.added, 0);
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 200);
}

on_both_databases!(seeds_exactly_the_asked_issues_and_events);

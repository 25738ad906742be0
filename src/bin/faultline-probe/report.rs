//! How answers are tallied and how the closing table looks.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::monitor::HealthSummary;

/// One row of the closing table.
pub struct ScenarioReport {
    pub name: String,
    /// What the server did, compact: status counts, closures, open-socket counts.
    pub answers: String,
    pub peak_rss_kb: Option<u64>,
    pub rss_after_kb: Option<u64>,
    pub health: HealthSummary,
    pub elapsed: Duration,
}

/// How one request ended, as seen by the client.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ending {
    Status(u16),
    /// The server closed or reset the connection without an answer.
    Closed,
    /// No answer within the scenario's time limit.
    TimedOut,
    ConnectFailed,
}

/// `401×8 closed×2`, in a stable order.
pub fn tally(endings: impl IntoIterator<Item = Ending>) -> String {
    let mut counts: BTreeMap<Ending, usize> = BTreeMap::new();
    for ending in endings {
        *counts.entry(ending).or_default() += 1;
    }
    let label = |ending: &Ending| match ending {
        Ending::Status(status) => status.to_string(),
        Ending::Closed => "closed".to_owned(),
        Ending::TimedOut => "timeout".to_owned(),
        Ending::ConnectFailed => "no-connect".to_owned(),
    };
    let parts: Vec<String> = counts
        .iter()
        .map(|(ending, count)| format!("{}×{count}", label(ending)))
        .collect();
    parts.join(" ")
}

/// `min/median/max` of durations, in seconds.
pub fn spread(mut durations: Vec<Duration>) -> String {
    if durations.is_empty() {
        return "-".to_owned();
    }
    durations.sort_unstable();
    let secs = |duration: Duration| format!("{:.2}", duration.as_secs_f64());
    format!(
        "{}/{}/{} s",
        secs(durations[0]),
        secs(durations[durations.len() / 2]),
        secs(durations[durations.len() - 1])
    )
}

pub fn megabytes(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".to_owned(), |kb| format!("{:.0}", kb as f64 / 1024.0))
}

fn millis(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1000.0)
}

pub fn render_table(reports: &[ScenarioReport]) -> String {
    let answers_width = reports
        .iter()
        .map(|report| report.answers.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<15} {:>6} {:<answers_width$} {:>6} {:>7} {:>9} {:>9} {:>9} {:>6}",
        "scenario", "secs", "answers", "peakMB", "afterMB", "hz max ms", "hz p99 ms", "hz failed", "hz >1s"
    );
    for report in reports {
        let health = &report.health;
        let _ = writeln!(
            table,
            "{:<15} {:>6.1} {:<answers_width$} {:>6} {:>7} {:>9} {:>9} {:>9} {:>6}",
            report.name,
            report.elapsed.as_secs_f64(),
            report.answers,
            megabytes(report.peak_rss_kb),
            megabytes(report.rss_after_kb),
            millis(health.max),
            millis(health.p99),
            format!("{}/{}", health.failed, health.checks),
            health.slow,
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_each_ending_in_a_stable_order() {
        let endings = [
            Ending::Closed,
            Ending::Status(401),
            Ending::Status(401),
            Ending::Status(400),
        ];
        assert_eq!(tally(endings), "400×1 401×2 closed×1");
    }

    #[test]
    fn spread_is_min_median_max() {
        let durations = [3, 1, 2].map(Duration::from_secs).to_vec();
        assert_eq!(spread(durations), "1.00/2.00/3.00 s");
        assert_eq!(spread(Vec::new()), "-");
    }

    #[test]
    fn table_has_a_header_and_one_row_per_scenario() {
        let report = ScenarioReport {
            name: "bomb-noauth".to_owned(),
            answers: "401×8".to_owned(),
            peak_rss_kb: Some(20480),
            rss_after_kb: Some(10240),
            health: HealthSummary::default(),
            elapsed: Duration::from_secs(1),
        };
        let table = render_table(&[report]);
        assert_eq!(table.lines().count(), 2);
        assert!(table.lines().nth(1).is_some_and(|row| row.starts_with("bomb-noauth")));
        assert!(table.contains(" 20 ") && table.contains(" 10 "));
    }
}

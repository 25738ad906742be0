//! Outcome sums shaped as Sentry's `stats_v2` and the Stats page read them: a series per group over fixed
//! intervals, with totals. Pure: the store sums per bucket, this groups and fills the gaps with zeros.

use std::collections::BTreeMap;

/// A dimension to group by (`groupBy=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    Outcome,
    Category,
    Reason,
    Project,
}

impl GroupBy {
    pub fn parse(name: &str) -> Option<GroupBy> {
        Some(match name {
            "outcome" => GroupBy::Outcome,
            "category" => GroupBy::Category,
            "reason" => GroupBy::Reason,
            "project" => GroupBy::Project,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Outcome => "outcome",
            GroupBy::Category => "category",
            GroupBy::Reason => "reason",
            GroupBy::Project => "project",
        }
    }
}

/// One summed counter: its bucket start and dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumRow {
    pub bucket: i64,
    pub project_id: i64,
    pub category: String,
    pub outcome: String,
    pub reason: String,
    pub quantity: i64,
}

impl SumRow {
    fn value(&self, by: GroupBy) -> String {
        match by {
            GroupBy::Outcome => self.outcome.clone(),
            GroupBy::Category => self.category.clone(),
            GroupBy::Reason => self.reason.clone(),
            GroupBy::Project => self.project_id.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsGroup {
    /// The group's value per dimension, in the order asked.
    pub by: Vec<(GroupBy, String)>,
    pub total: i64,
    /// One sum per interval.
    pub series: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeStats {
    /// Each interval's start, epoch ms.
    pub intervals: Vec<i64>,
    pub groups: Vec<StatsGroup>,
}

/// Groups the rows by `group_by` over the intervals `[start, end)` of `interval_ms`.
pub fn group_sums(rows: &[SumRow], group_by: &[GroupBy], start: i64, end: i64, interval_ms: i64) -> OutcomeStats {
    let intervals: Vec<i64> = (0..)
        .map(|i| start + i * interval_ms)
        .take_while(|at| *at < end)
        .collect();
    let mut groups: BTreeMap<Vec<String>, Vec<i64>> = BTreeMap::new();
    for row in rows {
        let key: Vec<String> = group_by.iter().map(|by| row.value(*by)).collect();
        let series = groups.entry(key).or_insert_with(|| vec![0; intervals.len()]);
        let slot = (row.bucket - start).div_euclid(interval_ms);
        if let Some(sum) = usize::try_from(slot).ok().and_then(|slot| series.get_mut(slot)) {
            *sum += row.quantity;
        }
    }
    let groups = groups
        .into_iter()
        .map(|(values, series)| StatsGroup {
            by: group_by.iter().copied().zip(values).collect(),
            total: series.iter().sum(),
            series,
        })
        .collect();
    OutcomeStats { intervals, groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bucket: i64, category: &str, outcome: &str, quantity: i64) -> SumRow {
        SumRow {
            bucket,
            project_id: 7,
            category: category.into(),
            outcome: outcome.into(),
            reason: String::new(),
            quantity,
        }
    }

    #[test]
    fn groups_get_one_sum_per_interval_with_zeros_for_quiet_ones() {
        let rows = [
            row(0, "error", "accepted", 5),
            row(2000, "error", "accepted", 1),
            row(1000, "transaction", "filtered", 9),
            row(0, "error", "rate_limited", 2),
        ];
        let stats = group_sums(&rows, &[GroupBy::Outcome], 0, 3000, 1000);
        assert_eq!(stats.intervals, vec![0, 1000, 2000]);
        let by_outcome: Vec<(String, Vec<i64>, i64)> = stats
            .groups
            .iter()
            .map(|g| (g.by[0].1.clone(), g.series.clone(), g.total))
            .collect();
        assert_eq!(
            by_outcome,
            vec![
                ("accepted".into(), vec![5, 0, 1], 6),
                ("filtered".into(), vec![0, 9, 0], 9),
                ("rate_limited".into(), vec![2, 0, 0], 2),
            ]
        );
    }

    #[test]
    fn no_grouping_is_one_group_of_everything() {
        let rows = [row(0, "error", "accepted", 5), row(0, "transaction", "filtered", 9)];
        let stats = group_sums(&rows, &[], 0, 1000, 1000);
        assert_eq!(stats.groups.len(), 1);
        assert_eq!(stats.groups[0].total, 14);
        assert!(stats.groups[0].by.is_empty());
    }
}

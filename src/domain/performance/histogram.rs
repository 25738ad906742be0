//! Durations as a histogram with fixed log-scale buckets, so that rollups of any number of transactions
//! merge by adding counts and percentiles come from the merged counts. Bucket `i` holds durations up to
//! `10^(i / BUCKETS_PER_DECADE)` ms from the one before it: 20 per decade, each about 12 % wide, so a
//! percentile read from it is off by at most that much. Bucket 0 holds everything up to 1 ms, the last
//! everything from about 2.8 hours on.

/// Buckets per factor of ten.
const BUCKETS_PER_DECADE: f64 = 20.0;
/// Number of buckets: 1 ms to 10^7 ms (2.8 hours) in 20 steps per decade, plus the first.
pub const BUCKETS: usize = 141;

/// The bucket a duration in milliseconds falls in.
pub fn bucket_of(duration_ms: f64) -> usize {
    // NaN and anything up to 1 ms land in the first bucket.
    if duration_ms.is_nan() || duration_ms <= 1.0 {
        return 0;
    }
    let index = (duration_ms.log10() * BUCKETS_PER_DECADE).ceil();
    (index as usize).min(BUCKETS - 1)
}

/// The largest duration (ms) bucket `index` holds.
pub fn upper_bound_ms(index: usize) -> f64 {
    10f64.powf(index as f64 / BUCKETS_PER_DECADE)
}

/// Counts per bucket, merged from rollup rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<(usize, i64)>,
}

impl Histogram {
    /// From `(bucket, count)` pairs in any order, duplicates added.
    pub fn from_counts(pairs: impl IntoIterator<Item = (usize, i64)>) -> Histogram {
        let mut dense = vec![0i64; BUCKETS];
        for (bucket, count) in pairs {
            dense[bucket.min(BUCKETS - 1)] += count.max(0);
        }
        let counts = dense.into_iter().enumerate().filter(|&(_, c)| c > 0).collect();
        Histogram { counts }
    }

    pub fn total(&self) -> i64 {
        self.counts.iter().map(|&(_, c)| c).sum()
    }

    /// The duration (ms) below which `quantile` (0–1) of the durations fall: the upper bound of the bucket
    /// where that rank lands. `None` when empty.
    pub fn percentile(&self, quantile: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as i64).max(1);
        let mut seen = 0;
        for &(bucket, count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(upper_bound_ms(bucket));
            }
        }
        self.counts.last().map(|&(bucket, _)| upper_bound_ms(bucket))
    }

    /// Apdex against a threshold T: (satisfied + tolerated / 2) / all, where satisfied took at most T and
    /// tolerated at most 4T, read at bucket precision (a bucket counts as satisfied when all of it is).
    /// `None` when empty.
    pub fn apdex(&self, threshold_ms: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let (mut satisfied, mut tolerated) = (0, 0);
        for &(bucket, count) in &self.counts {
            let upper = upper_bound_ms(bucket);
            if upper <= threshold_ms * 1.000_001 {
                satisfied += count;
            } else if upper <= 4.0 * threshold_ms * 1.000_001 {
                tolerated += count;
            }
        }
        Some((satisfied as f64 + tolerated as f64 / 2.0) / total as f64)
    }

    /// `(bucket upper bound in ms, count)` for every non-empty bucket, shortest first.
    pub fn bars(&self) -> Vec<(f64, i64)> {
        self.counts.iter().map(|&(b, c)| (upper_bound_ms(b), c)).collect()
    }

    /// The histogram as a chart draws it: contiguous columns from the shortest to the longest non-empty
    /// bucket (the empty ones between them too, so the spread shows), neighbours merged so that there are
    /// at most `max_columns`; `(upper bound in ms, count)` each.
    pub fn columns(&self, max_columns: usize) -> Vec<(f64, i64)> {
        let (Some(&(first, _)), Some(&(last, _))) = (self.counts.first(), self.counts.last()) else {
            return Vec::new();
        };
        let per_column = (last - first + 1).div_ceil(max_columns.max(1));
        let mut columns: Vec<(f64, i64)> = (first..=last)
            .step_by(per_column)
            .map(|start| (upper_bound_ms((start + per_column - 1).min(BUCKETS - 1)), 0))
            .collect();
        for &(bucket, count) in &self.counts {
            columns[(bucket - first) / per_column].1 += count;
        }
        columns
    }
}

/// `quantile` of each slot's durations, from `(slot start, bucket, count)` rows in any order: `(slot
/// start, ms)` for every slot with a count, oldest first.
pub fn percentile_per_slot(rows: &[(i64, usize, i64)], quantile: f64) -> Vec<(i64, f64)> {
    let mut slots: std::collections::BTreeMap<i64, Vec<(usize, i64)>> = std::collections::BTreeMap::new();
    for &(slot, bucket, count) in rows {
        slots.entry(slot).or_default().push((bucket, count));
    }
    slots
        .into_iter()
        .filter_map(|(slot, counts)| Some((slot, Histogram::from_counts(counts).percentile(quantile)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_log_scale_and_bounded() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(-5.0), 0);
        assert_eq!(bucket_of(f64::NAN), 0);
        assert_eq!(bucket_of(1.0), 0);
        assert_eq!(bucket_of(10.0), 20);
        assert_eq!(bucket_of(100.0), 40);
        assert_eq!(bucket_of(101.0), 41);
        assert_eq!(bucket_of(1e12), BUCKETS - 1);
        for ms in [1.5, 7.0, 42.0, 250.0, 999.0, 12_345.0] {
            let bucket = bucket_of(ms);
            assert!(upper_bound_ms(bucket) >= ms && upper_bound_ms(bucket - 1) < ms, "{ms}");
            assert!(upper_bound_ms(bucket) / ms < 1.13, "{ms}: within one bucket's width");
        }
    }

    #[test]
    fn percentiles_come_from_merged_counts() {
        // 90 fast requests (about 20 ms) and 10 slow ones (about 800 ms), from two rollup rows.
        let fast = bucket_of(20.0);
        let slow = bucket_of(800.0);
        let histogram = Histogram::from_counts([(fast, 50), (slow, 10), (fast, 40)]);
        assert_eq!(histogram.total(), 100);
        let p50 = histogram.percentile(0.5).unwrap();
        assert!((20.0..23.0).contains(&p50), "{p50}");
        let p90 = histogram.percentile(0.9).unwrap();
        assert!((20.0..23.0).contains(&p90), "{p90}");
        let p95 = histogram.percentile(0.95).unwrap();
        assert!((800.0..900.0).contains(&p95), "{p95}");
        assert_eq!(histogram.bars().len(), 2);
        // 90 satisfied under 300 ms, 10 tolerated under 1.2 s.
        assert_eq!(histogram.apdex(300.0), Some(0.95));
        assert_eq!(histogram.apdex(5.0), Some(0.0), "everything above 4T is frustrated");
        assert_eq!(Histogram::default().apdex(300.0), None);
        assert_eq!(Histogram::default().percentile(0.5), None);
    }

    #[test]
    fn columns_run_from_the_shortest_to_the_longest_bucket_merged_to_fit() {
        let histogram = Histogram::from_counts([(bucket_of(10.0), 3), (bucket_of(100.0), 2)]);
        let columns = histogram.columns(100);
        assert_eq!(columns.len(), 21, "buckets 20 to 40, the empty ones between included");
        assert_eq!((columns[0].1, columns[20].1), (3, 2));
        assert!((columns[20].0 - 100.0).abs() < 1e-9);
        let merged = histogram.columns(5);
        assert_eq!(merged.len(), 5, "five buckets a column");
        assert_eq!(merged.iter().map(|c| c.1).sum::<i64>(), 5, "nothing lost");
        assert_eq!((merged[0].1, merged[4].1), (3, 2));
        assert!(Histogram::default().columns(10).is_empty());
        let one = Histogram::from_counts([(BUCKETS - 1, 1)]).columns(3);
        assert_eq!(one, vec![(upper_bound_ms(BUCKETS - 1), 1)]);
    }

    #[test]
    fn each_slot_has_its_own_percentile() {
        let rows = [
            (120_000, bucket_of(10.0), 9),
            (0, bucket_of(500.0), 1),
            (120_000, bucket_of(1_000.0), 1),
            (0, bucket_of(20.0), 1),
        ];
        let p95 = percentile_per_slot(&rows, 0.95);
        assert_eq!(p95.len(), 2);
        assert_eq!(p95[0].0, 0, "oldest first");
        assert!((p95[0].1 - upper_bound_ms(bucket_of(500.0))).abs() < 1e-9);
        assert!((p95[1].1 - upper_bound_ms(bucket_of(1_000.0))).abs() < 1e-9);
    }
}

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
}

//! When a Postgres index is worth rebuilding. A B-tree page that deletes or updates empty only in part is
//! reused only by keys that fall in its range. The storage budget thins every second event of a busy issue,
//! while new events' keys (time, id) arrive at the indexes' right edge; each counter update (a tag value's
//! times seen, which is indexed) adds an entry beside the old one. So under a steady load at the budget an
//! index keeps growing while its table's rows do not, outside what the budget can evict. Rebuilding such an
//! index (`REINDEX … CONCURRENTLY`, which does not block writers) gives the space back.
//!
//! An index's size per live row of its table is remembered from when it was first seen (or last rebuilt);
//! it is due for a rebuild once that has grown by [`REBUILD_GROWTH_PERCENT`].

use std::collections::HashMap;

/// Growth in bytes per row that makes an index due for a rebuild.
const REBUILD_GROWTH_PERCENT: f64 = 25.0;
/// Smaller indexes are left alone: rebuilding them gives back too little to matter.
const MIN_INDEX_BYTES: i64 = 1024 * 1024;
/// Tables with fewer rows are left alone: their bytes per row say little.
const MIN_ROWS: f64 = 1_000.0;

/// One index's size, with its table's live rows (as of the last `VACUUM` or `ANALYZE`).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSize {
    pub name: String,
    pub bytes: i64,
    pub rows: f64,
}

/// Each index's bytes per row when first seen or last rebuilt.
#[derive(Debug, Default)]
pub struct IndexBaselines {
    bytes_per_row: HashMap<String, f64>,
}

impl IndexBaselines {
    /// The index that has grown most beyond its baseline, if any is due for a rebuild. Indexes seen for
    /// the first time become baselines; indexes no longer listed (a dropped partition's) are forgotten.
    pub fn most_bloated(&mut self, sizes: &[IndexSize]) -> Option<String> {
        self.bytes_per_row
            .retain(|name, _| sizes.iter().any(|size| &size.name == name));
        let mut worst: Option<(f64, &str)> = None;
        for size in sizes {
            if size.bytes < MIN_INDEX_BYTES || size.rows < MIN_ROWS {
                continue;
            }
            let per_row = size.bytes as f64 / size.rows;
            let Some(&baseline) = self.bytes_per_row.get(&size.name) else {
                self.bytes_per_row.insert(size.name.clone(), per_row);
                continue;
            };
            let growth = per_row / baseline;
            if growth * 100.0 >= 100.0 + REBUILD_GROWTH_PERCENT && worst.map_or(true, |(most, _)| growth > most) {
                worst = Some((growth, &size.name));
            }
        }
        worst.map(|(_, name)| name.to_owned())
    }

    /// Forgets a rebuilt index's baseline: the next look takes its new size as the baseline.
    pub fn rebuilt(&mut self, name: &str) {
        self.bytes_per_row.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: i64 = 1024 * 1024;

    fn size(name: &str, bytes: i64, rows: f64) -> IndexSize {
        IndexSize {
            name: name.to_owned(),
            bytes,
            rows,
        }
    }

    #[test]
    fn an_index_grown_a_quarter_per_row_is_due() {
        let mut baselines = IndexBaselines::default();
        assert_eq!(
            baselines.most_bloated(&[size("tags", 10 * MB, 100_000.0)]),
            None,
            "first seen: a baseline"
        );
        assert_eq!(
            baselines.most_bloated(&[size("tags", 12 * MB, 100_000.0)]),
            None,
            "20 % is not yet"
        );
        assert_eq!(
            baselines.most_bloated(&[size("tags", 12 * MB, 50_000.0)]),
            Some("tags".into())
        );
    }

    #[test]
    fn an_index_growing_with_its_rows_is_not_bloated() {
        let mut baselines = IndexBaselines::default();
        baselines.most_bloated(&[size("events", 10 * MB, 100_000.0)]);
        assert_eq!(baselines.most_bloated(&[size("events", 40 * MB, 400_000.0)]), None);
    }

    #[test]
    fn the_most_grown_goes_first_and_a_rebuilt_one_starts_over() {
        let mut baselines = IndexBaselines::default();
        let before = [size("a", 2 * MB, 10_000.0), size("b", 2 * MB, 10_000.0)];
        baselines.most_bloated(&before);
        let after = [size("a", 3 * MB, 10_000.0), size("b", 4 * MB, 10_000.0)];
        assert_eq!(baselines.most_bloated(&after), Some("b".into()));
        baselines.rebuilt("b");
        let rebuilt = [size("a", 3 * MB, 10_000.0), size("b", 2 * MB, 10_000.0)];
        assert_eq!(
            baselines.most_bloated(&rebuilt),
            Some("a".into()),
            "b's new size is its baseline"
        );
        let b_grows = [size("a", 2 * MB, 10_000.0), size("b", 3 * MB, 10_000.0)];
        assert_eq!(baselines.most_bloated(&b_grows), Some("b".into()));
    }

    #[test]
    fn small_indexes_and_tables_are_left_alone() {
        let mut baselines = IndexBaselines::default();
        baselines.most_bloated(&[size("small", MB / 2, 10_000.0), size("few", 4 * MB, 500.0)]);
        let grown = [size("small", MB / 2, 1_000.0), size("few", 40 * MB, 500.0)];
        assert_eq!(baselines.most_bloated(&grown), None);
    }

    #[test]
    fn a_dropped_index_is_forgotten() {
        let mut baselines = IndexBaselines::default();
        baselines.most_bloated(&[size("events_p20261201_pkey", 2 * MB, 10_000.0)]);
        baselines.most_bloated(&[]);
        let again = [size("events_p20261201_pkey", 4 * MB, 10_000.0)];
        assert_eq!(baselines.most_bloated(&again), None, "seen anew: a baseline");
    }
}

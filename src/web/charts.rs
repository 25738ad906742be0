//! Server-rendered bar charts: counts per time bucket turned into SVG rectangles (numbers only, so the
//! template can draw them without any event data in the markup).

/// One bar, in a chart `width` × `height` units.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub count: i64,
    /// The bucket's start, epoch ms.
    pub start_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub total: i64,
    pub max: i64,
}

/// Buckets of `bucket_ms` ending with the one holding `now_ms`, `buckets` of them, filled from
/// `(bucket start ms, count)` pairs (pairs outside the window are ignored).
pub fn bar_chart(
    counts: &[(i64, i64)],
    now_ms: i64,
    bucket_ms: i64,
    buckets: usize,
    width: f64,
    height: f64,
) -> BarChart {
    let last_start = now_ms - now_ms.rem_euclid(bucket_ms);
    let first_start = last_start - bucket_ms * (buckets as i64 - 1);
    let mut values = vec![0i64; buckets];
    for &(start, count) in counts {
        if start < first_start || start > last_start {
            continue;
        }
        values[((start - first_start) / bucket_ms) as usize] += count;
    }
    let mut chart = column_chart(&values, width, height);
    for (index, bar) in chart.bars.iter_mut().enumerate() {
        bar.start_ms = first_start + bucket_ms * index as i64;
    }
    chart
}

/// One bar per value, left to right, scaled to the largest (bars' `start_ms` left at 0).
pub fn column_chart(values: &[i64], width: f64, height: f64) -> BarChart {
    let max = values.iter().copied().max().unwrap_or(0);
    let slot = width / values.len().max(1) as f64;
    let bars = values
        .iter()
        .enumerate()
        .map(|(index, &count)| {
            // Every non-zero bucket stays visible next to a much larger one.
            let bar_height = if count <= 0 || max <= 0 {
                0.0
            } else {
                (count as f64 / max as f64 * height).max(1.5)
            };
            Bar {
                x: round(index as f64 * slot + slot * 0.1),
                y: round(height - bar_height),
                width: round(slot * 0.8),
                height: round(bar_height),
                count,
                start_ms: 0,
            }
        })
        .collect();
    BarChart {
        width,
        height,
        bars,
        total: values.iter().sum(),
        max,
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_hour_and_the_tallest_fills_the_chart() {
        let now = 100 * HOUR_MS + 1_000;
        let chart = bar_chart(
            &[(99 * HOUR_MS, 4), (100 * HOUR_MS, 2), (10 * HOUR_MS, 50)],
            now,
            HOUR_MS,
            24,
            240.0,
            20.0,
        );
        assert_eq!(chart.bars.len(), 24);
        assert_eq!(chart.total, 6, "the count outside the window is left out");
        assert_eq!(chart.bars[22].count, 4);
        assert_eq!(chart.bars[22].height, 20.0);
        assert_eq!(chart.bars[23].height, 10.0);
        assert_eq!(chart.bars[0].height, 0.0);
    }
}

/// One coloured part of a stacked bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Which series it belongs to; the template turns it into a fixed class.
    pub series: usize,
    pub count: i64,
}

/// Stacked bars: one bar per bucket, one segment per series (in the series' order, bottom up), scaled to
/// the tallest bucket's sum.
pub fn stacked_chart(series: &[Vec<i64>], width: f64, height: f64) -> (Vec<Segment>, i64) {
    let buckets = series.iter().map(Vec::len).max().unwrap_or(0);
    let sums: Vec<i64> = (0..buckets)
        .map(|b| series.iter().map(|s| s.get(b).copied().unwrap_or(0)).sum())
        .collect();
    let max = sums.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return (Vec::new(), 0);
    }
    let slot = width / buckets as f64;
    let mut segments = Vec::new();
    for bucket in 0..buckets {
        let mut top = height;
        for (index, values) in series.iter().enumerate() {
            let count = values.get(bucket).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let part = (count as f64 / max as f64 * height).max(1.0);
            top -= part;
            segments.push(Segment {
                x: round(bucket as f64 * slot + slot * 0.1),
                y: round(top.max(0.0)),
                width: round(slot * 0.8),
                height: round(part),
                series: index,
                count,
            });
        }
    }
    (segments, max)
}

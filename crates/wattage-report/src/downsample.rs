//! Downsampling of long series for drawing: min/max per bucket, so that spikes survive.

/// Indices of the rows to draw so that at most `max_points` remain: the series is cut into
/// `max_points / 2` buckets of consecutive rows and each bucket keeps the rows where `key` is
/// smallest and largest, in their original order. The first and last rows are always kept.
/// Short series are returned whole.
///
/// ```
/// use wattage_report::downsample::minmax_indices;
/// let mut key = vec![1.0; 10_000];
/// key[4321] = 50.0; // a spike
/// let idx = minmax_indices(&key, 100);
/// assert!(idx.len() <= 100);
/// assert!(idx.contains(&4321));
/// ```
pub fn minmax_indices(key: &[f64], max_points: usize) -> Vec<usize> {
    let n = key.len();
    if n <= max_points.max(4) {
        return (0..n).collect();
    }
    let buckets = (max_points.max(4) - 2) / 2;
    let mut out = Vec::with_capacity(buckets * 2 + 2);
    out.push(0);
    // Rows 1..n-1 are split evenly; the first and last rows are pushed separately.
    let inner = n - 2;
    for b in 0..buckets {
        let start = 1 + b * inner / buckets;
        let end = 1 + (b + 1) * inner / buckets;
        if start >= end {
            continue;
        }
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if key[i] < key[lo] {
                lo = i;
            }
            if key[i] > key[hi] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(a);
        if b != a {
            out.push(b);
        }
    }
    out.push(n - 1);
    out
}

/// Bounds `[start, end)` of at most `buckets` buckets of consecutive rows covering `0..n`.
pub fn bucket_bounds(n: usize, buckets: usize) -> Vec<(usize, usize)> {
    let buckets = buckets.clamp(1, n.max(1));
    (0..buckets)
        .map(|b| (b * n / buckets, (b + 1) * n / buckets))
        .filter(|(a, b)| a < b)
        .collect()
}

/// The mean of `values` over each bucket. Means are linear, so stacked series stay consistent:
/// the mean of a sum is the sum of the means.
pub fn bucket_means(values: &[f64], bounds: &[(usize, usize)]) -> Vec<f64> {
    bounds
        .iter()
        .map(|&(a, b)| values[a..b].iter().sum::<f64>() / (b - a) as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ends_order_and_extremes() {
        let key: Vec<f64> = (0..100_000).map(|i| ((i as f64) * 0.01).sin()).collect();
        let idx = minmax_indices(&key, 2000);
        assert!(idx.len() <= 2000);
        assert_eq!(idx[0], 0);
        assert_eq!(*idx.last().unwrap_or(&0), 99_999);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        let max_all = key.iter().copied().fold(f64::MIN, f64::max);
        let max_kept = idx.iter().map(|&i| key[i]).fold(f64::MIN, f64::max);
        assert_eq!(max_all, max_kept);
    }

    #[test]
    fn means_per_bucket() {
        let v: Vec<f64> = (0..48).map(f64::from).collect();
        let b = bucket_bounds(48, 2);
        assert_eq!(b, vec![(0, 24), (24, 48)]);
        assert_eq!(bucket_means(&v, &b), vec![11.5, 35.5]);
    }

    #[test]
    fn short_series_untouched() {
        assert_eq!(minmax_indices(&[1.0, 2.0, 3.0], 100), vec![0, 1, 2]);
    }
}

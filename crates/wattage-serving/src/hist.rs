//! A fixed-size, log-bucketed histogram for streaming percentiles.
//!
//! Buckets split every power of two into 128 equal parts (the top 7 bits of the mantissa), so a
//! reported quantile is within 0.4% of a value actually recorded, whatever the number of
//! samples. Memory is fixed (about 72 KB), so a day of traffic costs no more than a minute.

/// Mantissa bits kept: 2^7 sub-buckets per octave.
const SUB_BITS: u32 = 7;
/// Smallest exponent tracked (2^-30 ~ 1e-9); smaller positive values land in the first bucket.
const MIN_EXP: i64 = -30;
/// Largest exponent tracked (2^40 ~ 1e12); larger values land in the last bucket.
const MAX_EXP: i64 = 40;
const BUCKETS: usize = ((MAX_EXP - MIN_EXP) as usize) << SUB_BITS;
const BASE_KEY: i64 = (1023 + MIN_EXP) << SUB_BITS;

/// Streaming histogram of non-negative values with bounded relative error.
#[derive(Debug, Clone)]
pub struct LogHistogram {
    counts: Vec<u64>,
    zeros: u64,
    total: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            zeros: 0,
            total: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: 0.0,
        }
    }

    #[inline]
    fn index(v: f64) -> usize {
        let key = (v.to_bits() >> (52 - SUB_BITS)) as i64;
        (key - BASE_KEY).clamp(0, BUCKETS as i64 - 1) as usize
    }

    fn bucket_mid(i: usize) -> f64 {
        let key = (i as i64 + BASE_KEY) as u64;
        let lo = f64::from_bits(key << (52 - SUB_BITS));
        let hi = f64::from_bits((key + 1) << (52 - SUB_BITS));
        0.5 * (lo + hi)
    }

    /// Records `n` samples of value `v`. Non-finite and negative values are ignored.
    #[inline]
    pub fn record_n(&mut self, v: f64, n: u64) {
        if n == 0 || !v.is_finite() || v < 0.0 {
            return;
        }
        if v == 0.0 {
            self.zeros += n;
        } else {
            self.counts[Self::index(v)] += n;
        }
        self.total += n;
        self.sum += v * n as f64;
        if v < self.min {
            self.min = v;
        }
        if v > self.max {
            self.max = v;
        }
    }

    /// Records one sample.
    #[inline]
    pub fn record(&mut self, v: f64) {
        self.record_n(v, 1);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Exact mean of the samples (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum / self.total as f64
        }
    }

    /// Exact largest sample (0 when empty).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The `q` quantile (0..=1), within 0.4% relative error, clamped to the exact min and
    /// max; 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let q = if q.is_finite() {
            q.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = self.zeros;
        if seen >= rank {
            return 0.0;
        }
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::bucket_mid(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Adds another histogram's samples to this one.
    pub fn merge(&mut self, other: &LogHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.zeros += other.zeros;
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_half_a_percent() {
        let mut h = LogHistogram::new();
        let mut v: Vec<f64> = (1..=10_000).map(|i| (i as f64) * 1.37e-3).collect();
        for x in &v {
            h.record(*x);
        }
        v.sort_by(f64::total_cmp);
        for q in [0.01, 0.5, 0.9, 0.99, 1.0] {
            let exact = v[((q * v.len() as f64).ceil() as usize).max(1) - 1];
            let got = h.quantile(q);
            assert!((got / exact - 1.0).abs() < 0.005, "q{q}: {got} vs {exact}");
        }
        assert!((h.mean() - v.iter().sum::<f64>() / v.len() as f64).abs() < 1e-12);
    }

    #[test]
    fn weights_and_zeros() {
        let mut h = LogHistogram::new();
        h.record_n(0.0, 10);
        h.record_n(2.0, 10);
        assert_eq!(h.quantile(0.5), 0.0);
        assert!((h.quantile(0.9) - 2.0).abs() < 0.01);
        h.record(f64::NAN);
        assert_eq!(h.count(), 20);
    }
}

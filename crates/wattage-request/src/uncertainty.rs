//! Uncertainty: any assumption may be a range or a distribution; a seeded Monte Carlo gives
//! p5, p50 and p95 of energy, emissions and water.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Triangular, Uniform};
use serde::Serialize;
use wattage_catalog::Precision;

use crate::EstimateError;
use crate::assumptions::{Assumptions, Method, Scope, Setter};
use crate::deploy::Deployment;
use crate::estimate::{Request, RooflinePlan, epoch, estimate};
use crate::roofline::Roofline;

/// A distribution of one assumption's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Dist {
    /// Always this value.
    Fixed {
        /// The value.
        value: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Triangular: low, most likely, high.
    Triangular {
        /// Lower bound.
        low: f64,
        /// Most likely value.
        mode: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal, truncated at zero and at [`NORMAL_SDS`] standard deviations from the mean
    /// (the extremes the Monte Carlo validates, so no sample leaves the checked range).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
}

/// A normal distribution is truncated at this many standard deviations from its mean (and at
/// zero). The 5th-95th percentiles lie within 1.65 of them, so the truncation changes no
/// reported quantile; it bounds the samples to the interval the Monte Carlo validates.
pub const NORMAL_SDS: f64 = 4.0;

impl Dist {
    /// The interval the samples lie in: the bounds of a uniform or triangular range, a
    /// normal's truncation points, or the fixed value.
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Dist::Fixed { value } => (value, value),
            Dist::Uniform { low, high } | Dist::Triangular { low, high, .. } => (low, high),
            Dist::Normal { mean, sd } => {
                let low = (mean - NORMAL_SDS * sd).max(0.0);
                (low, (mean + NORMAL_SDS * sd).max(low))
            }
        }
    }

    /// Parses `v` (fixed), `lo..hi` (uniform), `lo:mode:hi` (triangular) or `mean~sd`
    /// (normal).
    pub fn parse(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{t}` is not a finite number"))
        };
        let d = if let Some((a, b)) = s.split_once("..") {
            Dist::Uniform {
                low: num(a)?,
                high: num(b)?,
            }
        } else if let Some((a, b)) = s.split_once('~') {
            Dist::Normal {
                mean: num(a)?,
                sd: num(b)?,
            }
        } else if s.contains(':') {
            let p: Vec<&str> = s.split(':').collect();
            if p.len() != 3 {
                return Err(format!("`{s}`: a triangular range is low:mode:high"));
            }
            Dist::Triangular {
                low: num(p[0])?,
                mode: num(p[1])?,
                high: num(p[2])?,
            }
        } else {
            Dist::Fixed { value: num(s)? }
        };
        d.check().map(|()| d)
    }

    fn check(&self) -> Result<(), String> {
        match *self {
            Dist::Fixed { .. } => Ok(()),
            Dist::Uniform { low, high } if low <= high => Ok(()),
            Dist::Triangular { low, mode, high } if low <= mode && mode <= high => Ok(()),
            Dist::Normal { sd, .. } if sd >= 0.0 => Ok(()),
            _ => Err("bounds out of order (need low <= mode <= high, sd >= 0)".into()),
        }
    }

    /// The central value (used for the point estimate).
    pub fn central(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Triangular { mode, .. } => mode,
            Dist::Normal { mean, .. } => mean,
        }
    }
}

/// A sampler built once from a [`Dist`].
#[derive(Debug, Clone, Copy)]
enum Sampler {
    Fixed(f64),
    Uniform(Uniform<f64>),
    Triangular(Triangular<f64>),
    /// Truncated to `low..=high` ([`Dist::support`]).
    Normal(Normal<f64>, f64, f64),
}

impl Sampler {
    fn new(d: &Dist) -> Result<Self, String> {
        Ok(match *d {
            Dist::Fixed { value } => Sampler::Fixed(value),
            Dist::Uniform { low, high } if low == high => Sampler::Fixed(low),
            Dist::Uniform { low, high } => {
                Sampler::Uniform(Uniform::new_inclusive(low, high).map_err(|e| e.to_string())?)
            }
            Dist::Triangular { low, high, .. } if low == high => Sampler::Fixed(low),
            Dist::Triangular { low, mode, high } => {
                Sampler::Triangular(Triangular::new(low, high, mode).map_err(|e| e.to_string())?)
            }
            Dist::Normal { mean, sd } => {
                let (low, high) = d.support();
                Sampler::Normal(Normal::new(mean, sd).map_err(|e| e.to_string())?, low, high)
            }
        })
    }
    #[inline]
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Sampler::Fixed(v) => *v,
            Sampler::Uniform(u) => u.sample(rng),
            Sampler::Triangular(t) => t.sample(rng),
            Sampler::Normal(n, low, high) => n.sample(rng).max(*low).min(*high),
        }
    }
}

/// Distributions for named assumptions (see [`crate::assumptions::NAMES`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Uncertainty {
    /// `(assumption name, distribution)`; a later entry for the same name wins.
    pub params: Vec<(String, Dist)>,
}

impl Uncertainty {
    /// Default ranges around the central assumptions, for a method.
    ///
    /// Roofline: the fitted constants vary within the spread the calibration leaves (about
    /// +-10%), host load 40-80%, reserve 5-40%, PUE -5%/+10%, grid carbon +-20% (average vs
    /// marginal emissions). Epoch: utilization 5-20% and power fraction 50-90%, the range
    /// seed 003 itself discusses.
    pub fn defaults(a: &Assumptions, method: Method) -> Self {
        Self::build(a, method, None)
    }

    /// Default ranges for a deployment: as [`Self::defaults`], the accelerator's
    /// efficiencies varied by its catalog spread (wider for a prior borrowed from a sibling),
    /// and the kernel constants the deployment uses: MoE (+-15%), and the in-sample ones
    /// (FP8, 4-bit, state-space prefill: +-30%).
    pub fn for_deployment(a: &Assumptions, method: Method, d: &Deployment) -> Self {
        Self::build(a, method, Some(d))
    }

    fn build(a: &Assumptions, method: Method, d: Option<&Deployment>) -> Self {
        let tri = |c: f64, lo: f64, hi: f64| Dist::Triangular {
            low: c * lo,
            mode: c,
            high: c * hi,
        };
        // An efficiency's range stops at 1: no kernel beats the hardware's peak.
        let eff = |c: f64, lo: f64, hi: f64| Dist::Triangular {
            low: c * lo,
            mode: c,
            high: (c * hi).min(1.0).max(c),
        };
        let p = &a.roofline;
        let s = a.roofline_spread.clamp(0.0, 0.9);
        let mut v: Vec<(&str, Dist)> = match method {
            Method::Roofline => vec![
                (
                    "compute_efficiency",
                    eff(p.compute_efficiency, 1.0 - 1.5 * s, 1.0 + 0.6 * s),
                ),
                (
                    "memory_efficiency",
                    eff(p.memory_efficiency, 1.0 - s, 1.0 + s),
                ),
                ("per_seq_overhead_s", tri(p.per_seq_overhead_s, 0.7, 1.3)),
                ("power_active", tri(p.power_active, 0.9, 1.1)),
                (
                    "host_load",
                    Dist::Triangular {
                        low: 0.4,
                        mode: a.host_load,
                        high: 0.8,
                    },
                ),
                (
                    "reserve",
                    Dist::Triangular {
                        low: 0.05,
                        mode: a.reserve,
                        high: 0.4,
                    },
                ),
            ],
            Method::Epoch => vec![
                (
                    "utilization",
                    Dist::Triangular {
                        low: 0.05,
                        mode: a.epoch_utilization,
                        high: 0.2,
                    },
                ),
                (
                    "power_fraction",
                    Dist::Triangular {
                        low: 0.5,
                        mode: a.epoch_power_fraction,
                        high: 0.9,
                    },
                ),
            ],
        };
        if let (Method::Roofline, Some(d)) = (method, d) {
            if d.model.is_moe() {
                v.push(("moe_efficiency", tri(p.moe_efficiency, 0.85, 1.15)));
                v.push((
                    "routing_concentration",
                    tri(p.routing_concentration, 0.7, 1.3),
                ));
            }
            match d.weight_precision {
                Precision::Fp8 | Precision::Int8 => {
                    v.push(("fp8_efficiency", tri(p.fp8_efficiency, 0.7, 1.3)));
                }
                Precision::Fp4 | Precision::Int4 => {
                    v.push(("fp4_efficiency", tri(p.fp4_efficiency, 0.7, 1.3)));
                }
                _ => {}
            }
            if d.model.ssm_state_values_per_seq() > 0.0 {
                v.push((
                    "ssm_prefill_efficiency",
                    tri(p.ssm_prefill_efficiency, 0.7, 1.3),
                ));
            }
        }
        v.push((
            "pue",
            Dist::Triangular {
                low: (a.pue * 0.95).max(1.0),
                mode: a.pue,
                high: a.pue * 1.1,
            },
        ));
        v.push(("carbon", tri(a.carbon.g_per_kwh(), 0.8, 1.2)));
        Self {
            params: v.into_iter().map(|(n, d)| (n.to_string(), d)).collect(),
        }
    }

    /// Replaces or adds one distribution.
    pub fn set(&mut self, name: &str, d: Dist) {
        self.params.retain(|(n, _)| n != name);
        self.params.push((name.to_string(), d));
    }
}

/// 5th, 50th and 95th percentiles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Quantiles {
    /// Percentiles of a sample (nearest rank; reorders it).
    pub fn of(v: &mut [f64]) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        let rank = |p: f64| ((v.len() - 1) as f64 * p).round() as usize;
        let (k5, k50, k95) = (rank(0.05), rank(0.5), rank(0.95));
        // Select the median over the whole sample, then each tail percentile within the half
        // the median's partition leaves it in: two passes' work instead of three.
        let (low, p50, high) = v.select_nth_unstable_by(k50, f64::total_cmp);
        let p50 = *p50;
        let p5 = if k5 < k50 {
            *low.select_nth_unstable_by(k5, f64::total_cmp).1
        } else {
            p50
        };
        let p95 = if k95 > k50 {
            *high.select_nth_unstable_by(k95 - k50 - 1, f64::total_cmp).1
        } else {
            p50
        };
        Self { p5, p50, p95 }
    }
}

/// Monte Carlo percentiles of the request's energy (Wh), emissions (g) and water (mL).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct McResult {
    /// Samples drawn.
    pub samples: usize,
    /// Energy inside the scope, Wh.
    pub energy_wh: Quantiles,
    /// Emissions, g CO2e.
    pub co2e_g: Quantiles,
    /// Water, mL.
    pub water_ml: Quantiles,
}

/// Runs a seeded Monte Carlo over the assumptions' distributions.
#[allow(clippy::too_many_arguments)]
pub fn monte_carlo(
    d: &Deployment,
    req: &Request,
    a: &Assumptions,
    u: &Uncertainty,
    method: Method,
    scope: Scope,
    samples: usize,
    seed: u64,
) -> Result<McResult, EstimateError> {
    // Validate once at the central values, and every sampled extreme.
    estimate(d, req, a, method, scope)?;
    // Resolve each name to a setter once; a later entry for the same name wins.
    let mut names: Vec<&str> = Vec::new();
    let mut draws: Vec<(Setter, Sampler)> = Vec::new();
    for (n, dist) in &u.params {
        let set = Assumptions::setter(n).ok_or_else(|| {
            EstimateError::invalid("uncertainty", format!("unknown assumption `{n}`"))
        })?;
        let s = Sampler::new(dist)
            .map_err(|e| EstimateError::invalid("uncertainty", format!("`{n}`: {e}")))?;
        if let Some(i) = names.iter().position(|x| x == n) {
            draws[i] = (set, s);
        } else {
            names.push(n);
            draws.push((set, s));
        }
    }
    for (n, dist) in &u.params {
        let (lo, hi) = dist.support();
        for v in [lo, hi] {
            let mut t = *a;
            t.set(n, v)?;
            t.validate()
                .map_err(|e| EstimateError::invalid("uncertainty", format!("`{n}` = {v}: {e}")))?;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let samples = samples.max(1);
    let mut energy = Vec::with_capacity(samples);
    let mut co2 = Vec::with_capacity(samples);
    let mut water = Vec::with_capacity(samples);
    // The request's iteration shapes and their FLOPs and bytes do not change between samples
    // unless the prefill chunk is sampled; only timing, power and scope assumptions do.
    let mut r = Roofline::new(d, a.roofline);
    let chunk_varies = names.contains(&"max_batched_tokens");
    let plan = RooflinePlan::new(d, &r, req, a.max_batched_tokens);
    let mut t = *a;
    for _ in 0..samples {
        for (set, s) in &draws {
            set(&mut t, s.sample(&mut rng));
        }
        let i = match method {
            Method::Roofline => {
                r.set_params(t.roofline);
                let b = if chunk_varies {
                    RooflinePlan::new(d, &r, req, t.max_batched_tokens).breakdown(d, &r, &t)
                } else {
                    plan.breakdown(d, &r, &t)
                };
                b.impacts(scope, &t)
            }
            Method::Epoch => epoch(d, req, &t, scope).breakdown.impacts(scope, &t),
        };
        energy.push(i.energy.wh());
        co2.push(i.co2e.g());
        water.push(i.water().ml());
    }
    Ok(McResult {
        samples,
        energy_wh: Quantiles::of(&mut energy),
        co2e_g: Quantiles::of(&mut co2),
        water_ml: Quantiles::of(&mut water),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Nearest-rank percentiles by full sort: the definition `Quantiles::of` must match.
    fn by_sort(v: &[f64]) -> Quantiles {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
        Quantiles {
            p5: at(0.05),
            p50: at(0.5),
            p95: at(0.95),
        }
    }

    #[test]
    fn quantiles_match_a_full_sort_at_every_length() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in (1..=64).chain([99, 100, 101, 1000, 4097]) {
            for _ in 0..20 {
                // Few distinct values, so ties are common.
                let v: Vec<f64> = (0..n)
                    .map(|_| f64::from(rng.random_range(0..12u8)))
                    .collect();
                let mut w = v.clone();
                assert_eq!(Quantiles::of(&mut w), by_sort(&v), "n = {n}");
                let v: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
                let mut w = v.clone();
                assert_eq!(Quantiles::of(&mut w), by_sort(&v), "n = {n}");
            }
        }
        assert_eq!(Quantiles::of(&mut []), Quantiles::default());
    }
}

#[cfg(test)]
mod normal_truncation {
    use super::*;

    #[test]
    fn a_normal_is_truncated_to_its_validated_support() {
        let d = Dist::parse("0.6~0.05").expect("valid");
        assert_eq!(d.support(), (0.6 - 4.0 * 0.05, 0.6 + 4.0 * 0.05));
        let (low, high) = d.support();
        let s = Sampler::new(&d).expect("sampler");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for _ in 0..1_000_000 {
            let v = s.sample(&mut rng);
            (min, max) = (min.min(v), max.max(v));
        }
        // A million draws go past 4 sd (p = 6e-5 each) and are held at the bounds.
        assert_eq!((min, max), (low, high));
        // Truncated at zero, and a negative mean collapses to zero.
        assert_eq!(
            Dist::parse("0.1~0.05").expect("valid").support(),
            (0.0, 0.30000000000000004)
        );
        assert_eq!(Dist::parse("-1~0.1").expect("valid").support(), (0.0, 0.0));
    }
}

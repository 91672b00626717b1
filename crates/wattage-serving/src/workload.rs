//! Where requests come from: synthetic open-loop streams, closed-loop clients, or a replayed
//! trace.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal};
use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::trace::TraceRecord;

/// A distribution of token counts (prompt or output lengths). Samples are at least 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LengthDist {
    /// Always the same length.
    Fixed {
        /// Tokens.
        tokens: u32,
    },
    /// Lognormal with the given mean and coefficient of variation (standard deviation over
    /// mean); `cv = 0` is a fixed length.
    Lognormal {
        /// Mean tokens.
        mean: f64,
        /// Standard deviation over mean.
        cv: f64,
    },
    /// An empirical histogram: `tokens[i]` with relative weight `weights[i]`.
    Empirical {
        /// Lengths.
        tokens: Vec<u32>,
        /// Relative frequency of each length (need not sum to 1).
        weights: Vec<f64>,
    },
}

impl LengthDist {
    /// The distribution's mean.
    pub fn mean(&self) -> f64 {
        match self {
            LengthDist::Fixed { tokens } => f64::from(*tokens),
            LengthDist::Lognormal { mean, .. } => *mean,
            LengthDist::Empirical { tokens, weights } => {
                let w: f64 = weights.iter().sum();
                tokens
                    .iter()
                    .zip(weights)
                    .map(|(t, x)| f64::from(*t) * x)
                    .sum::<f64>()
                    / w
            }
        }
    }

    pub(crate) fn sampler(&self, field: &'static str) -> Result<LengthSampler, SimError> {
        match self {
            LengthDist::Fixed { tokens } => Ok(LengthSampler::Fixed((*tokens).max(1))),
            LengthDist::Lognormal { mean, cv } => {
                if !(mean.is_finite() && *mean >= 1.0) {
                    return Err(SimError::invalid(
                        field,
                        "lognormal `mean` must be at least 1",
                    ));
                }
                if !(cv.is_finite() && *cv >= 0.0 && *cv <= 20.0) {
                    return Err(SimError::invalid(field, "lognormal `cv` must be in 0..=20"));
                }
                if *cv == 0.0 {
                    return Ok(LengthSampler::Fixed(mean.round() as u32));
                }
                let s2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - s2 / 2.0;
                LogNormal::new(mu, s2.sqrt())
                    .map(LengthSampler::Lognormal)
                    .map_err(|e| SimError::invalid(field, e.to_string()))
            }
            LengthDist::Empirical { tokens, weights } => {
                if tokens.is_empty() || tokens.len() != weights.len() {
                    return Err(SimError::invalid(
                        field,
                        "empirical `tokens` and `weights` must be non-empty and of equal length",
                    ));
                }
                if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
                    return Err(SimError::invalid(field, "empirical `weights` must be >= 0"));
                }
                let total: f64 = weights.iter().sum();
                if total <= 0.0 {
                    return Err(SimError::invalid(field, "empirical `weights` sum to zero"));
                }
                let mut acc = 0.0;
                let cdf = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                Ok(LengthSampler::Empirical {
                    tokens: tokens.iter().map(|t| (*t).max(1)).collect(),
                    cdf,
                })
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum LengthSampler {
    Fixed(u32),
    Lognormal(LogNormal<f64>),
    Empirical { tokens: Vec<u32>, cdf: Vec<f64> },
}

impl LengthSampler {
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng) -> u32 {
        match self {
            LengthSampler::Fixed(t) => *t,
            LengthSampler::Lognormal(d) => d.sample(rng).round().clamp(1.0, 4.0e9) as u32,
            LengthSampler::Empirical { tokens, cdf } => {
                let u: f64 = rng.random();
                let i = cdf.partition_point(|c| *c < u).min(tokens.len() - 1);
                tokens[i]
            }
        }
    }
}

/// How inter-arrival gaps are distributed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalProcess {
    /// Exponential gaps (a Poisson process).
    #[default]
    Poisson,
    /// Gamma gaps with the given coefficient of variation (> 1: burstier than Poisson).
    Gamma {
        /// Standard deviation over mean of the gaps.
        cv: f64,
    },
}

/// How the arrival rate varies over time; the configured rate is the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateProfile {
    /// A constant rate.
    #[default]
    Constant,
    /// A sinusoidal daily cycle: rate(t) = mean x (1 + a cos(2 pi (t - peak_at_s) / period_s)),
    /// with a chosen so that peak / trough = `peak_to_trough`.
    Diurnal {
        /// Ratio of the highest to the lowest rate (>= 1).
        peak_to_trough: f64,
        /// Length of a cycle in seconds (86,400 for a day).
        #[serde(default = "day_s")]
        period_s: f64,
        /// Time of the peak within the cycle, seconds from the start.
        #[serde(default)]
        peak_at_s: f64,
    },
}

fn day_s() -> f64 {
    86_400.0
}

impl RateProfile {
    /// Rate multiplier at time `t` (mean 1 over a cycle).
    pub fn factor(&self, t: f64) -> f64 {
        match *self {
            RateProfile::Constant => 1.0,
            RateProfile::Diurnal {
                peak_to_trough,
                period_s,
                peak_at_s,
            } => {
                let a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
                1.0 + a * (std::f64::consts::TAU * (t - peak_at_s) / period_s).cos()
            }
        }
    }
}

/// An open-loop synthetic stream: requests arrive whatever the server does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Synthetic {
    /// Mean arrival rate, requests per second (over the whole fleet).
    pub rate_per_s: f64,
    /// Gap distribution.
    #[serde(default)]
    pub arrivals: ArrivalProcess,
    /// Rate over time.
    #[serde(default)]
    pub profile: RateProfile,
    /// Prompt lengths.
    pub input: LengthDist,
    /// Output lengths.
    pub output: LengthDist,
    /// Stop sending after this many seconds.
    pub duration_s: Option<f64>,
    /// Stop sending after this many requests.
    pub requests: Option<u64>,
}

/// A closed loop: `clients` users each send a request, wait for its answer (and think), and
/// send the next. Holds the batch at about `clients` sequences, as benchmarks do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedLoop {
    /// Concurrent clients.
    pub clients: u32,
    /// Prompt lengths.
    pub input: LengthDist,
    /// Output lengths.
    pub output: LengthDist,
    /// Seconds each client waits between an answer and its next request.
    #[serde(default)]
    pub think_time_s: f64,
    /// Total requests to send.
    pub requests: Option<u64>,
    /// Stop sending after this many seconds.
    pub duration_s: Option<f64>,
}

/// How a trace is stretched and repeated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TraceOptions {
    /// Multiply every gap by this factor (2 = half the rate). Exclusive with
    /// `target_rate_per_s`.
    pub time_scale: Option<f64>,
    /// Scale time so the mean rate is this, requests per second.
    pub target_rate_per_s: Option<f64>,
    /// Repeat the trace back to back until this many seconds have been sent (then stop).
    pub duration_s: Option<f64>,
    /// Play the trace this many times (default 1, or as many as `duration_s` needs).
    pub repeat: Option<u32>,
}

/// A replayed trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceReplay {
    /// The requests, times relative to the first, sorted.
    pub records: Vec<TraceRecord>,
    /// Scaling and repetition.
    pub options: TraceOptions,
}

impl TraceReplay {
    /// Mean rate of the unscaled trace, requests per second.
    pub fn natural_rate_per_s(&self) -> f64 {
        let n = self.records.len() as f64;
        let span = self.records.last().map_or(0.0, |r| r.time_s);
        if span > 0.0 {
            (n - 1.0).max(1.0) / span
        } else {
            n
        }
    }
}

/// Where requests come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    /// Open-loop synthetic stream.
    Synthetic(Synthetic),
    /// Closed-loop clients.
    ClosedLoop(ClosedLoop),
    /// A replayed trace.
    Trace(TraceReplay),
}

/// One arriving request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Arrival {
    pub time: f64,
    pub input: u32,
    pub output: u32,
    pub client: u32,
}

/// Draws arrivals lazily, so memory does not grow with the length of the run.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Open {
        rate: f64,
        gap: GapSampler,
        profile: RateProfile,
        input: LengthSampler,
        output: LengthSampler,
        end_s: f64,
        left: u64,
        t: f64,
    },
    Closed {
        clients: u32,
        input: LengthSampler,
        output: LengthSampler,
        think_s: f64,
        end_s: f64,
        left: u64,
    },
    Trace {
        records: Vec<TraceRecord>,
        scale: f64,
        period: f64,
        end_s: f64,
        reps_left: u32,
        idx: usize,
        offset: f64,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum GapSampler {
    Exp,
    Gamma(Gamma<f64>),
}

fn positive(field: &'static str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(SimError::invalid(
            field,
            format!("must be a positive number, got {v}"),
        ))
    }
}

impl Source {
    pub(crate) fn new(w: &Workload) -> Result<Self, SimError> {
        match w {
            Workload::Synthetic(s) => {
                let rate = positive("rate_per_s", s.rate_per_s)?;
                if s.duration_s.is_none() && s.requests.is_none() {
                    return Err(SimError::invalid(
                        "duration_s",
                        "give a duration or a number of requests",
                    ));
                }
                let end_s = match s.duration_s {
                    Some(d) => positive("duration_s", d)?,
                    None => f64::INFINITY,
                };
                let gap = match s.arrivals {
                    ArrivalProcess::Poisson => GapSampler::Exp,
                    ArrivalProcess::Gamma { cv } => {
                        let cv = positive("arrivals.cv", cv)?;
                        let shape = 1.0 / (cv * cv);
                        GapSampler::Gamma(
                            Gamma::new(shape, 1.0 / shape)
                                .map_err(|e| SimError::invalid("arrivals.cv", e.to_string()))?,
                        )
                    }
                };
                if let RateProfile::Diurnal {
                    peak_to_trough,
                    period_s,
                    peak_at_s,
                } = s.profile
                {
                    if !(peak_to_trough.is_finite() && peak_to_trough >= 1.0) {
                        return Err(SimError::invalid(
                            "profile.peak_to_trough",
                            "must be at least 1",
                        ));
                    }
                    positive("profile.period_s", period_s)?;
                    if !peak_at_s.is_finite() {
                        return Err(SimError::invalid("profile.peak_at_s", "must be finite"));
                    }
                }
                Ok(Source::Open {
                    rate,
                    gap,
                    profile: s.profile,
                    input: s.input.sampler("input")?,
                    output: s.output.sampler("output")?,
                    end_s,
                    left: s.requests.unwrap_or(u64::MAX),
                    t: 0.0,
                })
            }
            Workload::ClosedLoop(c) => {
                if c.clients == 0 {
                    return Err(SimError::invalid("clients", "must be at least 1"));
                }
                if !(c.think_time_s.is_finite() && c.think_time_s >= 0.0) {
                    return Err(SimError::invalid("think_time_s", "must be >= 0"));
                }
                if c.duration_s.is_none() && c.requests.is_none() {
                    return Err(SimError::invalid(
                        "requests",
                        "give a number of requests or a duration",
                    ));
                }
                let end_s = match c.duration_s {
                    Some(d) => positive("duration_s", d)?,
                    None => f64::INFINITY,
                };
                Ok(Source::Closed {
                    clients: c.clients,
                    input: c.input.sampler("input")?,
                    output: c.output.sampler("output")?,
                    think_s: c.think_time_s,
                    end_s,
                    left: c.requests.unwrap_or(u64::MAX),
                })
            }
            Workload::Trace(t) => {
                if t.records.is_empty() {
                    return Err(SimError::invalid("trace", "has no requests"));
                }
                let o = t.options;
                let scale = match (o.time_scale, o.target_rate_per_s) {
                    (Some(_), Some(_)) => {
                        return Err(SimError::invalid(
                            "time_scale",
                            "give either a time scale or a target rate, not both",
                        ));
                    }
                    (Some(s), None) => positive("time_scale", s)?,
                    (None, Some(r)) => t.natural_rate_per_s() / positive("target_rate_per_s", r)?,
                    (None, None) => 1.0,
                };
                let span = t.records.last().map_or(0.0, |r| r.time_s);
                let n = t.records.len() as f64;
                let mean_gap = if n > 1.0 { span / (n - 1.0) } else { 1.0 };
                let period = (span + mean_gap) * scale;
                let end_s = match o.duration_s {
                    Some(d) => positive("duration_s", d)?,
                    None => f64::INFINITY,
                };
                let reps = match (o.repeat, o.duration_s) {
                    (Some(0), _) => return Err(SimError::invalid("repeat", "must be at least 1")),
                    (Some(r), _) => r,
                    (None, Some(_)) => u32::MAX,
                    (None, None) => 1,
                };
                Ok(Source::Trace {
                    records: t.records.clone(),
                    scale,
                    period,
                    end_s,
                    reps_left: reps,
                    idx: 0,
                    offset: 0.0,
                })
            }
        }
    }

    /// Clients of a closed loop (0 for open workloads).
    pub(crate) fn clients(&self) -> u32 {
        match self {
            Source::Closed { clients, .. } => *clients,
            _ => 0,
        }
    }

    /// Think time of a closed loop.
    pub(crate) fn think_s(&self) -> f64 {
        match self {
            Source::Closed { think_s, .. } => *think_s,
            _ => 0.0,
        }
    }

    /// Next open-loop arrival (or trace record), or `None` when the stream is over.
    pub(crate) fn next_open(&mut self, rng: &mut ChaCha8Rng) -> Option<Arrival> {
        match self {
            Source::Open {
                rate,
                gap,
                profile,
                input,
                output,
                end_s,
                left,
                t,
            } => {
                if *left == 0 {
                    return None;
                }
                let unit: f64 = match gap {
                    GapSampler::Exp => Exp1.sample(rng),
                    GapSampler::Gamma(g) => g.sample(rng),
                };
                // Gaps are scaled by the rate where they start: exact for a constant rate, a
                // fine approximation when the rate changes slowly compared with the gaps.
                let r = (*rate * profile.factor(*t)).max(*rate * 1e-6);
                *t += unit / r;
                if *t > *end_s {
                    *left = 0;
                    return None;
                }
                *left -= 1;
                Some(Arrival {
                    time: *t,
                    input: input.sample(rng),
                    output: output.sample(rng),
                    client: u32::MAX,
                })
            }
            Source::Trace {
                records,
                scale,
                period,
                end_s,
                reps_left,
                idx,
                offset,
            } => {
                if *reps_left == 0 {
                    return None;
                }
                let r = records[*idx];
                let time = *offset + r.time_s * *scale;
                if time > *end_s {
                    *reps_left = 0;
                    return None;
                }
                *idx += 1;
                if *idx == records.len() {
                    *idx = 0;
                    *offset += *period;
                    *reps_left -= 1;
                }
                Some(Arrival {
                    time,
                    input: r.input_tokens.max(1),
                    output: r.output_tokens.max(1),
                    client: u32::MAX,
                })
            }
            Source::Closed { .. } => None,
        }
    }

    /// The next request of closed-loop client `client` at time `t`, if any are left.
    pub(crate) fn next_closed(
        &mut self,
        client: u32,
        t: f64,
        rng: &mut ChaCha8Rng,
    ) -> Option<Arrival> {
        match self {
            Source::Closed {
                input,
                output,
                end_s,
                left,
                ..
            } => {
                if *left == 0 || t > *end_s {
                    return None;
                }
                *left -= 1;
                Some(Arrival {
                    time: t,
                    input: input.sample(rng),
                    output: output.sample(rng),
                    client,
                })
            }
            _ => None,
        }
    }

    /// When arrivals stop (infinite when bounded by a count).
    pub(crate) fn end_s(&self) -> f64 {
        match self {
            Source::Open { end_s, .. }
            | Source::Closed { end_s, .. }
            | Source::Trace { end_s, .. } => *end_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn lognormal_has_the_asked_mean() {
        let s = LengthDist::Lognormal {
            mean: 300.0,
            cv: 0.8,
        }
        .sampler("input")
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 200_000;
        let m: f64 = (0..n).map(|_| f64::from(s.sample(&mut rng))).sum::<f64>() / n as f64;
        assert!((m / 300.0 - 1.0).abs() < 0.02, "{m}");
    }

    #[test]
    fn poisson_rate_and_diurnal_mean() {
        for profile in [
            RateProfile::Constant,
            RateProfile::Diurnal {
                peak_to_trough: 3.0,
                period_s: 100.0,
                peak_at_s: 0.0,
            },
        ] {
            let w = Workload::Synthetic(Synthetic {
                rate_per_s: 50.0,
                arrivals: ArrivalProcess::Gamma { cv: 2.0 },
                profile,
                input: LengthDist::Fixed { tokens: 10 },
                output: LengthDist::Fixed { tokens: 10 },
                duration_s: Some(2000.0),
                requests: None,
            });
            let mut s = Source::new(&w).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let mut n = 0;
            while s.next_open(&mut rng).is_some() {
                n += 1;
            }
            assert!((f64::from(n) / 100_000.0 - 1.0).abs() < 0.05, "{n}");
        }
    }

    #[test]
    fn trace_scaling_and_repetition() {
        let records: Vec<TraceRecord> = (0..10)
            .map(|i| TraceRecord {
                time_s: f64::from(i),
                input_tokens: 5,
                output_tokens: 3,
            })
            .collect();
        let w = Workload::Trace(TraceReplay {
            records,
            options: TraceOptions {
                target_rate_per_s: Some(2.0),
                duration_s: Some(20.0),
                ..TraceOptions::default()
            },
        });
        let mut s = Source::new(&w).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut v = vec![];
        while let Some(a) = s.next_open(&mut rng) {
            v.push(a.time);
        }
        assert_eq!(v.len(), 41);
        assert!((v[10] - 5.0).abs() < 1e-9, "{v:?}");
    }
}

//! From one service's traffic to its fleet: replicas, latency, power over the day.
//!
//! Simulating every one of thousands of replicas for a day is wasteful: replicas behind a
//! load balancer see statistically identical traffic. So the fleet is derived from one
//! replica, simulated by the serving simulator:
//! 1. the largest per-replica rate that meets the latency objectives (bisection, each trial a
//!    few minutes of simulated traffic);
//! 2. replicas = peak fleet rate / that rate, rounded up;
//! 3. one replica simulated at `LEVELS` load levels from the quietest to the busiest hour,
//!    giving its power and energy per request at each;
//! 4. the fleet's power over the day = replicas x the replica's power at that hour's load,
//!    interpolated between levels. With `autoscale`, only `ceil(rate / capacity)` replicas run
//!    in each interval (at least one), each at `rate / running`; the levels then span the
//!    per-replica rates that occur.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wattage_request::{Deployment, RooflineParams};
use wattage_serving::{
    LengthDist, RateProfile, SchedulerConfig, SimConfig, SimOutput, Simulator, Slo, Summary,
    Synthetic, Workload,
};

use super::scenario::{FleetMethod, Service};
use crate::error::{Error, Result};

/// Simulated seconds per trial.
const TRIAL_S: f64 = 240.0;
/// Load levels simulated between trough and peak.
const LEVELS: usize = 7;
/// Resolution of the fleet's daily power profile, seconds.
pub const PROFILE_STEP_S: f64 = 300.0;

/// One load level of a replica.
#[derive(Debug, Clone)]
pub struct Level {
    /// Requests per second on the replica.
    pub rate_per_s: f64,
    /// Mean server power (accelerators plus host), W.
    pub server_w: f64,
    /// Mean accelerator power, W.
    pub gpu_w: f64,
    /// What the simulator reported.
    pub summary: Summary,
}

/// A service's fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Replicas.
    pub replicas: u32,
    /// Accelerators per replica.
    pub gpus_per_replica: u32,
    /// Largest per-replica rate meeting the objectives, requests/s.
    pub capacity_per_replica: f64,
    /// Mean fleet rate, requests/s.
    pub mean_rate: f64,
    /// Peak fleet rate, requests/s.
    pub peak_rate: f64,
    /// Replica at each load level, quietest first.
    pub levels: Vec<Level>,
    /// Fleet server power over one day at `PROFILE_STEP_S`, W.
    pub day_server_w: Vec<f64>,
    /// Replicas running in each interval of the day (all of them without autoscaling).
    pub day_replicas: Vec<u32>,
    /// Fleet requests per `PROFILE_STEP_S` bin over the day.
    pub day_requests: Vec<f64>,
    /// The busiest level's simulation, with per-request records.
    pub peak: SimOutput,
    /// How it was derived.
    pub method: FleetMethod,
}

impl Fleet {
    /// Server energy per request over the day, Wh.
    pub fn server_wh_per_request(&self) -> f64 {
        let e: f64 = self.day_server_w.iter().sum::<f64>() * PROFILE_STEP_S / 3600.0;
        e / self.day_requests.iter().sum::<f64>()
    }
    /// Mean fleet server power, W.
    pub fn mean_server_w(&self) -> f64 {
        self.day_server_w.iter().sum::<f64>() / self.day_server_w.len() as f64
    }
    /// Peak fleet server power (5-minute mean), W.
    pub fn peak_server_w(&self) -> f64 {
        self.day_server_w.iter().copied().fold(0.0, f64::max)
    }
    /// Accelerators in the fleet.
    pub fn gpus(&self) -> u64 {
        u64::from(self.replicas) * u64::from(self.gpus_per_replica)
    }
}

fn workload(sv: &Service, rate: f64) -> Workload {
    Workload::Synthetic(Synthetic {
        rate_per_s: rate,
        arrivals: Default::default(),
        profile: RateProfile::Constant,
        input: LengthDist::Lognormal {
            mean: sv.input_tokens,
            cv: sv.input_cv,
        },
        output: LengthDist::Lognormal {
            mean: sv.output_tokens,
            cv: sv.output_cv,
        },
        duration_s: Some(TRIAL_S),
        requests: None,
    })
}

fn config(sv: &Service, record: bool) -> SimConfig {
    let mut c = SimConfig {
        record_requests: record,
        ..SimConfig::default()
    };
    if let SchedulerConfig::Continuous {
        ref mut max_num_seqs,
        ..
    } = c.scheduler
    {
        *max_num_seqs = sv.max_num_seqs();
    }
    c
}

fn simulate(d: &Deployment, sv: &Service, rate: f64, seed: u64, record: bool) -> Result<SimOutput> {
    let sim = Simulator::new(
        d,
        RooflineParams::for_hardware(&d.hardware),
        &config(sv, record),
        &workload(sv, rate),
        ChaCha8Rng::seed_from_u64(seed),
    )
    .map_err(|e| Error::input(format!("serving simulation of `{}`: {e}", sv.name)))?;
    Ok(sim.run())
}

fn level(out: SimOutput, rate: f64) -> Level {
    let dur = out.power.duration_s.max(1e-9);
    let gpu_j: f64 = out.power.energy(wattage_serving::Scope::Gpu).j();
    let server_j: f64 = out.power.energy(wattage_serving::Scope::Server).j();
    Level {
        rate_per_s: rate,
        server_w: server_j / dur,
        gpu_w: gpu_j / dur,
        summary: out.summary,
    }
}

/// Derives a service's fleet. `progress` is told each simulation as it ends.
pub fn derive(
    d: &Deployment,
    sv: &Service,
    seed: u64,
    flat_wh_per_request_server: f64,
    progress: &mut dyn FnMut(&str),
) -> Result<Fleet> {
    let mean_rate = sv.requests_per_day / 86_400.0;
    let profile = RateProfile::Diurnal {
        peak_to_trough: sv.peak_to_trough,
        period_s: 86_400.0,
        peak_at_s: sv.peak_hour * 3600.0,
    };
    let peak_rate = mean_rate * profile.factor(sv.peak_hour * 3600.0);
    let trough_rate = mean_rate * profile.factor(sv.peak_hour * 3600.0 + 43_200.0);
    let slo = Slo {
        ttft_ms_p99: sv.ttft_p99_ms,
        itl_ms_p99: sv.itl_p99_ms,
    };
    let ok = |s: &Summary| slo.met_by(s) && s.rejected == 0 && s.requests > 0;

    // 1. Capacity of one replica: grow until the objectives fail, then bisect.
    let mut lo = 0.0;
    let mut hi = 0.05;
    let mut trials = 0;
    loop {
        let out = simulate(d, sv, hi, seed, false)?;
        trials += 1;
        progress(&format!("{}: capacity trial {trials}", sv.name));
        if !ok(&out.summary) {
            break;
        }
        lo = hi;
        hi *= 2.0;
        if hi > 1e5 {
            break;
        }
    }
    if lo == 0.0 {
        // Even a trickle misses the objectives: one request alone is too slow.
        let out = simulate(d, sv, 0.01, seed, false)?;
        return Err(Error::input(format!(
            "service `{}`: one replica cannot meet the objectives even when idle (p99 time to first token {:.0} ms, inter-token {:.1} ms); relax `ttft_p99_ms`/`itl_p99_ms` or use more GPUs per replica",
            sv.name, out.summary.ttft_ms_p99, out.summary.itl_ms_p99
        )));
    }
    for _ in 0..7 {
        let mid = (lo + hi) / 2.0;
        let out = simulate(d, sv, mid, seed, false)?;
        trials += 1;
        progress(&format!("{}: capacity trial {trials}", sv.name));
        if ok(&out.summary) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let capacity = lo;
    let replicas_f = (peak_rate / capacity).ceil();
    if replicas_f > 5e7 {
        return Err(Error::input(format!(
            "service `{}` needs {replicas_f:.0} replicas; check `requests_per_day`",
            sv.name
        )));
    }
    let replicas = replicas_f.max(1.0) as u32;

    // Replicas running and the rate each sees in each interval of the day.
    let bins = (86_400.0 / PROFILE_STEP_S) as usize;
    let plan: Vec<(f64, u32, f64)> = (0..bins)
        .map(|i| {
            let t = (i as f64 + 0.5) * PROFILE_STEP_S;
            let fleet_rate = mean_rate * profile.factor(t);
            let on = if sv.autoscale {
                ((fleet_rate / capacity).ceil().max(1.0) as u32).min(replicas)
            } else {
                replicas
            };
            (fleet_rate, on, fleet_rate / f64::from(on))
        })
        .collect();
    let (lo_rate, hi_rate) = if sv.autoscale {
        plan.iter().fold((f64::INFINITY, 0.0_f64), |(a, b), p| {
            (a.min(p.2), b.max(p.2))
        })
    } else {
        (
            trough_rate / f64::from(replicas),
            peak_rate / f64::from(replicas),
        )
    };

    // 3. The replica at each load level.
    let mut levels = Vec::with_capacity(LEVELS);
    let mut peak = None;
    for k in 0..LEVELS {
        let f = k as f64 / (LEVELS - 1) as f64;
        let rate = lo_rate + f * (hi_rate - lo_rate);
        let last = k + 1 == LEVELS;
        // The same seed as the capacity trials (common random numbers): a level at or below
        // the capacity then sees the same arrivals, only sparser.
        let out = simulate(d, sv, rate, seed, last)?;
        progress(&format!("{}: load level {}/{LEVELS}", sv.name, k + 1));
        if last {
            peak = Some(out.clone());
        }
        levels.push(level(out, rate));
    }
    let peak = peak.ok_or_else(|| Error::internal("no peak simulation"))?;

    // 4. The fleet over the day.
    let mut day_server_w = Vec::with_capacity(bins);
    let mut day_requests = Vec::with_capacity(bins);
    for &(fleet_rate, on, per) in &plan {
        let w = match sv.fleet {
            FleetMethod::Simulate => f64::from(on) * interpolate(&levels, per),
            FleetMethod::Flat => fleet_rate * flat_wh_per_request_server * 3600.0,
        };
        day_server_w.push(w);
        day_requests.push(fleet_rate * PROFILE_STEP_S);
    }
    let day_replicas = plan.iter().map(|p| p.1).collect();
    Ok(Fleet {
        replicas,
        gpus_per_replica: d.gpus,
        capacity_per_replica: capacity,
        mean_rate,
        peak_rate,
        levels,
        day_server_w,
        day_replicas,
        day_requests,
        peak,
        method: sv.fleet,
    })
}

/// Server power of one replica at `rate`, linear between simulated levels.
fn interpolate(levels: &[Level], rate: f64) -> f64 {
    let first = &levels[0];
    let last = &levels[levels.len() - 1];
    if rate <= first.rate_per_s {
        return first.server_w;
    }
    if rate >= last.rate_per_s {
        return last.server_w;
    }
    for w in levels.windows(2) {
        if rate <= w[1].rate_per_s {
            let span = w[1].rate_per_s - w[0].rate_per_s;
            let f = if span > 0.0 {
                (rate - w[0].rate_per_s) / span
            } else {
                0.0
            };
            return w[0].server_w + f * (w[1].server_w - w[0].server_w);
        }
    }
    last.server_w
}

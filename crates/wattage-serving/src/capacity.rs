//! Capacity planning: the fewest replicas that meet latency objectives at a request rate,
//! with the flat-utilization estimate beside it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use wattage_request::{Deployment, RooflineParams};
use wattage_units::Energy;

use crate::scope::Scope;
use crate::sim::{SimConfig, Simulator};
use crate::workload::Workload;
use crate::{SimError, Summary};

/// Latency objectives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Highest acceptable 99th-percentile time to first token, ms.
    pub ttft_ms_p99: f64,
    /// Highest acceptable 99th-percentile inter-token latency, ms.
    pub itl_ms_p99: f64,
}

impl Slo {
    /// True when a run meets both objectives (and rejected no request).
    pub fn met_by(&self, s: &Summary) -> bool {
        s.ttft_ms_p99 <= self.ttft_ms_p99 && s.itl_ms_p99 <= self.itl_ms_p99 && s.rejected == 0
    }
}

/// The seed's flat-utilization estimate (Epoch AI 2025): FLOP = 2 x active parameters x
/// output tokens; GPU time = FLOP / (peak x utilization); energy = GPU time x (TDP + host
/// share) x 0.7. Server scope (multiply by PUE for facility).
pub fn flat_estimate(d: &Deployment, output_tokens: f64, utilization: f64) -> Energy {
    let flop = 2.0 * d.model.active_params() * output_tokens;
    let peak = d.peak_per_gpu().flops();
    let gpu_s = flop / (peak * utilization);
    Energy::from_j(gpu_s * (d.hardware.tdp_w + d.hardware.host_w_per_accel) * 0.7)
}

/// One configuration tried by the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Replicas.
    pub replicas: u32,
    /// p99 time to first token, ms.
    pub ttft_ms_p99: f64,
    /// p99 inter-token latency, ms.
    pub itl_ms_p99: f64,
    /// Both objectives met.
    pub meets_slo: bool,
}

/// The answer of [`plan_capacity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPlan {
    /// Fewest replicas that meet the objectives (the largest tried when none did).
    pub replicas: u32,
    /// Whether that many meet them.
    pub meets_slo: bool,
    /// Accelerators in the fleet.
    pub gpus: u32,
    /// Mean facility power, MW.
    pub avg_mw: f64,
    /// Peak facility power (one power-series bin), MW.
    pub peak_mw: f64,
    /// Facility energy per request, idle spread in, Wh.
    pub wh_per_request: f64,
    /// Server energy per request, idle spread in, Wh.
    pub server_wh_per_request: f64,
    /// The flat 10% estimate per request, server scope, Wh.
    pub flat_10pct_server_wh_per_request: f64,
    /// The flat 10% estimate per request, facility scope, Wh.
    pub flat_10pct_facility_wh_per_request: f64,
    /// Mean facility power the flat 10% estimate implies at the same rate, MW.
    pub flat_10pct_avg_mw: f64,
    /// The chosen run's summary.
    pub summary: Summary,
    /// Every configuration tried.
    pub trials: Vec<Trial>,
}

/// Finds the fewest replicas (up to `max_replicas`) meeting `slo` on `workload`, by doubling
/// then bisection. Each trial is a full simulation with the same seed.
pub fn plan_capacity(
    d: &Deployment,
    params: RooflineParams,
    base: &SimConfig,
    workload: &Workload,
    slo: &Slo,
    seed: u64,
    max_replicas: u32,
) -> Result<CapacityPlan, SimError> {
    if !(slo.ttft_ms_p99 > 0.0 && slo.itl_ms_p99 > 0.0) {
        return Err(SimError::invalid("slo", "objectives must be positive"));
    }
    let max_replicas = max_replicas.max(1);
    let mut trials = Vec::new();
    let run = |n: u32, trials: &mut Vec<Trial>| -> Result<crate::SimOutput, SimError> {
        let mut cfg = base.clone();
        cfg.replicas = n;
        cfg.record_requests = false;
        let out = Simulator::new(d, params, &cfg, workload, ChaCha8Rng::seed_from_u64(seed))?.run();
        trials.push(Trial {
            replicas: n,
            ttft_ms_p99: out.summary.ttft_ms_p99,
            itl_ms_p99: out.summary.itl_ms_p99,
            meets_slo: slo.met_by(&out.summary),
        });
        Ok(out)
    };
    let mut lo = 0u32; // largest known to fail
    let mut hi = 1u32;
    let mut best = run(hi, &mut trials)?;
    while !slo.met_by(&best.summary) && hi < max_replicas {
        lo = hi;
        hi = (hi * 2).min(max_replicas);
        best = run(hi, &mut trials)?;
    }
    let meets = slo.met_by(&best.summary);
    if meets {
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let out = run(mid, &mut trials)?;
            if slo.met_by(&out.summary) {
                hi = mid;
                best = out;
            } else {
                lo = mid;
            }
        }
    }
    let s = best.summary;
    let fac = s.at(Scope::Facility).cloned();
    let srv = s.at(Scope::Server).cloned();
    let pue = base.scope_params.pue;
    let flat = flat_estimate(d, s.mean_output_tokens, 0.10).wh();
    Ok(CapacityPlan {
        replicas: hi,
        meets_slo: meets,
        gpus: s.gpus,
        avg_mw: fac.as_ref().map_or(0.0, |f| f.avg_power_w) / 1e6,
        peak_mw: fac.as_ref().map_or(0.0, |f| f.peak_power_w) / 1e6,
        wh_per_request: fac.as_ref().map_or(0.0, |f| f.energy_wh_per_request),
        server_wh_per_request: srv.as_ref().map_or(0.0, |f| f.energy_wh_per_request),
        flat_10pct_server_wh_per_request: flat,
        flat_10pct_facility_wh_per_request: flat * pue,
        // Wh/request x 3600 J/Wh x requests/s = W.
        flat_10pct_avg_mw: flat * pue * 3600.0 * s.throughput_requests_per_s / 1e6,
        summary: s,
        trials,
    })
}

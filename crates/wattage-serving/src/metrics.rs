//! What a simulation reports: a summary, the power time series and optional per-request
//! records. Raw numbers carry their unit in their name.

use serde::{Deserialize, Serialize};
use wattage_units::{Energy, Power, Time};

use crate::scope::Scope;

/// Energy and power at one scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeEnergy {
    /// The scope.
    pub scope: Scope,
    /// Energy of the whole fleet over the run, Wh.
    pub total_energy_wh: f64,
    /// Of which while replicas were idle, Wh.
    pub idle_energy_wh: f64,
    /// Energy attributed to requests by their share of the iterations they were in,
    /// divided by requests (idle excluded), Wh.
    pub energy_wh_per_request_busy: f64,
    /// Headline energy per request (idle spread over requests when the config says so), Wh.
    pub energy_wh_per_request: f64,
    /// Headline energy per output token, J.
    pub energy_j_per_output_token: f64,
    /// Mean power of the fleet, W.
    pub avg_power_w: f64,
    /// Highest power of the fleet in one bin of the power series, W.
    pub peak_power_w: f64,
}

/// The results of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Requests completed.
    pub requests: u64,
    /// Requests rejected because prompt plus output exceed a replica's KV cache.
    pub rejected: u64,
    /// Replicas.
    pub replicas: u32,
    /// Accelerators per replica.
    pub gpus_per_replica: u32,
    /// Accelerators in the fleet.
    pub gpus: u32,
    /// Model id.
    pub model: String,
    /// Hardware id.
    pub hardware: String,
    /// Simulated time, s.
    pub duration_s: f64,
    /// Completed requests per second.
    pub throughput_requests_per_s: f64,
    /// Output tokens per second.
    pub throughput_tokens_per_s: f64,
    /// Prompt tokens per second.
    pub input_tokens_per_s: f64,
    /// Mean prompt tokens per completed request.
    pub mean_input_tokens: f64,
    /// Mean output tokens per completed request.
    pub mean_output_tokens: f64,
    /// Time to first token, median, ms.
    pub ttft_ms_p50: f64,
    /// Time to first token, 90th percentile, ms.
    pub ttft_ms_p90: f64,
    /// Time to first token, 99th percentile, ms.
    pub ttft_ms_p99: f64,
    /// Time to first token, mean, ms.
    pub ttft_ms_mean: f64,
    /// Inter-token latency (over all output tokens after the first), median, ms.
    pub itl_ms_p50: f64,
    /// Inter-token latency, 90th percentile, ms.
    pub itl_ms_p90: f64,
    /// Inter-token latency, 99th percentile, ms.
    pub itl_ms_p99: f64,
    /// Inter-token latency, mean, ms.
    pub itl_ms_mean: f64,
    /// End-to-end latency, median, ms.
    pub e2e_ms_p50: f64,
    /// End-to-end latency, 90th percentile, ms.
    pub e2e_ms_p90: f64,
    /// End-to-end latency, 99th percentile, ms.
    pub e2e_ms_p99: f64,
    /// End-to-end latency, mean, ms.
    pub e2e_ms_mean: f64,
    /// Queueing delay (arrival to first scheduled), median, ms.
    pub queue_ms_p50: f64,
    /// Queueing delay, 99th percentile, ms.
    pub queue_ms_p99: f64,
    /// Queueing delay, mean, ms.
    pub queue_ms_mean: f64,
    /// Time-averaged requests in the system (waiting or running).
    pub mean_in_system: f64,
    /// Iterations run, all replicas.
    pub iterations: u64,
    /// Sequences per iteration, mean over iterations.
    pub mean_batch_size: f64,
    /// Sequences per iteration, median.
    pub batch_size_p50: u32,
    /// Sequences per iteration, 99th percentile.
    pub batch_size_p99: u32,
    /// Iterations by batch size (index = sequences in the iteration).
    pub batch_size_histogram: Vec<u64>,
    /// Preemptions (recompute), all replicas.
    pub preemptions: u64,
    /// KV-cache capacity of one replica, tokens.
    pub kv_capacity_tokens: u64,
    /// KV-cache blocks in use over capacity, time average.
    pub kv_occupancy_mean: f64,
    /// KV-cache blocks in use over capacity, highest.
    pub kv_occupancy_peak: f64,
    /// Share of replica time running iterations.
    pub busy_fraction: f64,
    /// Share of replica time idle.
    pub idle_fraction: f64,
    /// Achieved FLOP over dense peak FLOP for the whole run (model FLOP utilization; the
    /// number the flat method guesses at 10%).
    pub compute_utilization: f64,
    /// Achieved HBM traffic over peak bandwidth for the whole run.
    pub memory_utilization: f64,
    /// Compute utilization while busy.
    pub compute_utilization_busy: f64,
    /// Memory-bandwidth utilization while busy.
    pub memory_utilization_busy: f64,
    /// Mean accelerator power of the fleet, W.
    pub gpu_avg_power_w: f64,
    /// Mean accelerator power over the accelerators' TDP, %.
    pub gpu_power_pct_of_tdp: f64,
    /// Accelerator energy while running iterations, Wh.
    pub gpu_busy_energy_wh: f64,
    /// Accelerator energy while idle, Wh.
    pub gpu_idle_energy_wh: f64,
    /// Accelerator energy attributed to prefill work, Wh.
    pub gpu_prefill_energy_wh: f64,
    /// Scope of the headline figures below.
    pub scope: Scope,
    /// Mean fleet power at `scope`, W.
    pub avg_power_w: f64,
    /// Peak fleet power at `scope` (one power-series bin), W.
    pub peak_power_w: f64,
    /// Energy per request at `scope`, Wh.
    pub energy_wh_per_request: f64,
    /// Energy per request at `scope` excluding idle, Wh.
    pub energy_wh_per_request_busy: f64,
    /// Energy per output token at `scope`, J.
    pub energy_j_per_output_token: f64,
    /// Idle energy at `scope`, Wh.
    pub idle_energy_wh: f64,
    /// Total energy at `scope`, Wh.
    pub total_energy_wh: f64,
    /// The energy figures at every scope.
    pub by_scope: Vec<ScopeEnergy>,
}

fn fin(x: &mut f64) {
    if !x.is_finite() {
        *x = 0.0;
    }
}

impl Summary {
    /// Replaces any non-finite number (from an empty run) by 0, so outputs never hold NaN.
    pub(crate) fn sanitized(mut self) -> Self {
        for x in [
            &mut self.duration_s,
            &mut self.throughput_requests_per_s,
            &mut self.throughput_tokens_per_s,
            &mut self.input_tokens_per_s,
            &mut self.mean_input_tokens,
            &mut self.mean_output_tokens,
            &mut self.ttft_ms_p50,
            &mut self.ttft_ms_p90,
            &mut self.ttft_ms_p99,
            &mut self.ttft_ms_mean,
            &mut self.itl_ms_p50,
            &mut self.itl_ms_p90,
            &mut self.itl_ms_p99,
            &mut self.itl_ms_mean,
            &mut self.e2e_ms_p50,
            &mut self.e2e_ms_p90,
            &mut self.e2e_ms_p99,
            &mut self.e2e_ms_mean,
            &mut self.queue_ms_p50,
            &mut self.queue_ms_p99,
            &mut self.queue_ms_mean,
            &mut self.mean_in_system,
            &mut self.mean_batch_size,
            &mut self.kv_occupancy_mean,
            &mut self.kv_occupancy_peak,
            &mut self.busy_fraction,
            &mut self.idle_fraction,
            &mut self.compute_utilization,
            &mut self.memory_utilization,
            &mut self.compute_utilization_busy,
            &mut self.memory_utilization_busy,
            &mut self.gpu_avg_power_w,
            &mut self.gpu_power_pct_of_tdp,
            &mut self.gpu_busy_energy_wh,
            &mut self.gpu_idle_energy_wh,
            &mut self.gpu_prefill_energy_wh,
            &mut self.avg_power_w,
            &mut self.peak_power_w,
            &mut self.energy_wh_per_request,
            &mut self.energy_wh_per_request_busy,
            &mut self.energy_j_per_output_token,
            &mut self.idle_energy_wh,
            &mut self.total_energy_wh,
        ] {
            fin(x);
        }
        for s in &mut self.by_scope {
            for x in [
                &mut s.total_energy_wh,
                &mut s.idle_energy_wh,
                &mut s.energy_wh_per_request_busy,
                &mut s.energy_wh_per_request,
                &mut s.energy_j_per_output_token,
                &mut s.avg_power_w,
                &mut s.peak_power_w,
            ] {
                fin(x);
            }
        }
        self
    }

    /// The energy figures at one scope.
    pub fn at(&self, scope: Scope) -> Option<&ScopeEnergy> {
        self.by_scope.iter().find(|s| s.scope == scope)
    }
}

/// One completed request (kept only when asked for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Request id, in arrival order.
    pub id: u64,
    /// Replica that served it.
    pub replica: u32,
    /// Arrival time, s.
    pub arrival_s: f64,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Arrival to first scheduled, ms.
    pub queue_ms: f64,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Mean gap between its output tokens, ms.
    pub itl_ms_mean: f64,
    /// Arrival to last token, ms.
    pub e2e_ms: f64,
    /// Times it was preempted and recomputed.
    pub preemptions: u32,
    /// Replica wall time attributed to it (iteration time x its token share), s.
    pub busy_share_s: f64,
    /// Accelerator energy attributed to it (idle excluded), J.
    pub energy_gpu_j: f64,
    /// Of which during prefill, J.
    pub prefill_energy_gpu_j: f64,
    /// Server-scope energy attributed to it (idle excluded), J.
    pub energy_server_j: f64,
    /// Facility-scope energy attributed to it (idle excluded), J.
    pub energy_facility_j: f64,
    /// Its equal share of the fleet's idle accelerator energy, J (0 unless idle is spread).
    pub idle_share_gpu_j: f64,
}

/// Fleet power over time: the IT load the site layer consumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerSeries {
    /// Bin width, s (the last bin may be shorter: it ends at `duration_s`).
    pub resolution_s: f64,
    /// Simulated time, s.
    pub duration_s: f64,
    /// Mean accelerator power of the fleet in each bin, W.
    pub gpu_w: Vec<f64>,
    /// Host power of the fleet, drawn all the time, W.
    pub host_w: f64,
    /// Facility PUE.
    pub pue: f64,
}

impl PowerSeries {
    /// Width of bin `i`.
    pub fn bin_width(&self, i: usize) -> Time {
        let start = i as f64 * self.resolution_s;
        Time::from_s(self.resolution_s.min(self.duration_s - start).max(0.0))
    }

    /// Mean power at `scope` in each bin.
    pub fn watts(&self, scope: Scope) -> impl Iterator<Item = Power> + '_ {
        self.gpu_w.iter().map(move |&g| {
            Power::from_w(match scope {
                Scope::Gpu => g,
                Scope::Server => g + self.host_w,
                Scope::Facility => (g + self.host_w) * self.pue,
            })
        })
    }

    /// Energy at `scope` over the series (power integrated over time).
    pub fn energy(&self, scope: Scope) -> Energy {
        self.watts(scope)
            .enumerate()
            .map(|(i, p)| p * self.bin_width(i))
            .sum()
    }
}

/// Everything a run produces.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOutput {
    /// Aggregate metrics.
    pub summary: Summary,
    /// Power over time.
    pub power: PowerSeries,
    /// One record per completed request, when `record_requests` was set.
    pub records: Option<Vec<RequestRecord>>,
}

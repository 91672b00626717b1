//! The roofline model of one engine iteration (a forward pass over a batch).
//!
//! An iteration processes some prompt tokens (prefill, possibly a chunk of a prompt) and one new
//! token for each decoding sequence. Its time is the larger of the compute time and the memory
//! time on each accelerator, plus tensor-parallel communication and a software overhead; its
//! power lies between idle and TDP according to how busy the compute units and the memory are.
//! This is the one source of truth for timing and power: `wattage estimate` and the serving
//! simulator both call [`Roofline::step`].

use serde::{Deserialize, Serialize};
use wattage_units::{Bytes, Energy, Flop, Power, Time};

use crate::deploy::Deployment;

/// The model's few constants. Defaults are fitted to the ML.ENERGY v3 measurements of Llama 3.1
/// 8B and 70B on H100s (see `calibration.rs` and the README); each has a physical meaning and
/// a plausible range, so the model stays sane on other hardware.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RooflineParams {
    /// Fraction of dense peak FLOP/s large matrix multiplications reach (0.5-0.8 in practice).
    pub compute_efficiency: f64,
    /// Fraction of HBM bandwidth weight and KV reads reach (0.7-0.9 in practice).
    pub memory_efficiency: f64,
    /// Fixed software overhead per iteration: scheduling, kernel launches, sampling, in
    /// seconds.
    pub step_overhead_s: f64,
    /// Software overhead per sequence in the batch per iteration (CPU-side bookkeeping,
    /// sampling, detokenization), in seconds.
    pub per_seq_overhead_s: f64,
    /// Latency of one tensor-parallel all-reduce, in seconds (NCCL over NVLink: 5-20 µs).
    pub collective_latency_s: f64,
    /// Share of the idle-to-TDP span drawn whenever an iteration runs (clocks up, static
    /// power of active units).
    pub power_active: f64,
    /// Extra share of the span drawn when the compute units are busy all the time.
    pub power_compute: f64,
    /// Extra share of the span drawn when memory is busy all the time.
    pub power_memory: f64,
}

impl Default for RooflineParams {
    /// Fitted by `examples/calibrate.rs` (coordinate search within each constant's physical
    /// range) on the 23 ML.ENERGY v3 steady states; values rounded.
    fn default() -> Self {
        Self {
            compute_efficiency: 0.80,
            memory_efficiency: 0.66,
            step_overhead_s: 0.0,
            per_seq_overhead_s: 50e-6,
            collective_latency_s: 3e-6,
            power_active: 0.62,
            power_compute: 1.0,
            power_memory: 0.0,
        }
    }
}

/// The work of one iteration over a replica's batch. Counts are `f64` so mean-field (average)
/// batches can be costed as well as whole ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Step {
    /// Prompt tokens processed (prefill, or a chunk of it).
    pub prefill_tokens: f64,
    /// Sum over those prompt tokens of the context each attends to (causal: a prompt of `n`
    /// tokens processed at once attends to `n(n+1)/2`).
    pub prefill_attention: f64,
    /// Sequences decoding one token each.
    pub decode_seqs: f64,
    /// Sum of the context lengths (tokens in the KV cache) of the decoding sequences.
    pub decode_context: f64,
    /// Sequences in the batch (decoding plus prefilling), for the per-sequence overhead.
    pub seqs: f64,
}

impl Step {
    /// A whole prompt of `n` tokens processed in one iteration, alone.
    pub fn prefill(n: f64) -> Self {
        Self {
            prefill_tokens: n,
            prefill_attention: n * (n + 1.0) / 2.0,
            seqs: 1.0,
            ..Self::default()
        }
    }

    /// `b` sequences decoding with a mean context of `context` tokens.
    pub fn decode(b: f64, context: f64) -> Self {
        Self {
            decode_seqs: b,
            decode_context: b * context,
            seqs: b,
            ..Self::default()
        }
    }

    /// Tokens processed.
    pub fn tokens(&self) -> f64 {
        self.prefill_tokens + self.decode_seqs
    }
}

/// Time, power and work of one iteration of the whole replica.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepCost {
    /// Wall time of the iteration.
    pub time: Time,
    /// Mean power of the replica's accelerators during it.
    pub power: Power,
    /// Floating-point operations, whole replica.
    pub flop: Flop,
    /// Bytes moved to and from HBM, whole replica.
    pub bytes: Bytes,
    /// Time the compute units would need at their achieved efficiency.
    pub compute_time: Time,
    /// Time the memory would need at its achieved efficiency.
    pub memory_time: Time,
    /// Tensor-parallel communication time.
    pub comm_time: Time,
    /// Software overhead time.
    pub overhead_time: Time,
}

impl StepCost {
    /// Energy of the iteration (accelerators only).
    pub fn energy(&self) -> Energy {
        self.power * self.time
    }
    /// Achieved FLOP/s over dense peak: model FLOP utilization during the iteration.
    pub fn compute_utilization(&self, d: &Deployment) -> f64 {
        let peak = d.peak_per_gpu() * f64::from(d.gpus);
        ratio(self.flop.count(), peak.flops() * self.time.s())
    }
    /// Achieved bandwidth over peak bandwidth during the iteration.
    pub fn memory_utilization(&self, d: &Deployment) -> f64 {
        let bw = d.bandwidth_per_gpu() * f64::from(d.gpus);
        ratio(self.bytes.count(), bw.bytes_per_s() * self.time.s())
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Per-deployment constants precomputed once, so [`Roofline::step`] costs a few dozen
/// floating-point operations.
#[derive(Debug, Clone)]
pub struct Roofline {
    /// The constants.
    pub params: RooflineParams,
    gpus: f64,
    active_params: f64,
    shared_weight_bytes: f64,
    expert_weight_bytes: f64,
    experts: f64,
    expert_pick: f64,
    attn_flop_per_pair: f64,
    kv_bytes_per_token_gpu: f64,
    /// Sliding-window attention: the window (tokens) and the share of layers using it.
    window: f64,
    window_share: f64,
    act_bytes_per_token: f64,
    collectives: f64,
    peak_flops: f64,
    peak_bw: f64,
    compute_rate: f64,
    memory_rate: f64,
    link_rate: f64,
    idle_w: f64,
    span_w: f64,
}

/// Query-block size of flash attention: during prefill the KV cache is re-read once per
/// block of this many prompt tokens.
const FLASH_BLOCK: f64 = 128.0;

impl Roofline {
    /// Precomputes the model for a deployment.
    pub fn new(d: &Deployment, params: RooflineParams) -> Self {
        let m = &d.model;
        let kv = d.kv_footprint();
        let wb = d.weight_precision.bytes();
        let gpus = f64::from(d.gpus);
        let per_expert = m.params_per_expert();
        let experts = if m.is_moe() {
            f64::from(m.experts)
        } else {
            0.0
        };
        Self {
            params,
            gpus,
            active_params: m.active_params(),
            shared_weight_bytes: m.shared_params() * wb,
            expert_weight_bytes: per_expert * wb,
            experts,
            expert_pick: if m.is_moe() {
                f64::from(m.experts_active) / f64::from(m.experts)
            } else {
                0.0
            },
            attn_flop_per_pair: 4.0 * f64::from(m.layers) * m.attention_dim(),
            kv_bytes_per_token_gpu: d.kv_bytes_per_token_per_gpu().count(),
            window: kv.window,
            window_share: kv.share,
            act_bytes_per_token: f64::from(m.hidden) * 2.0,
            collectives: if d.gpus > 1 {
                2.0 * f64::from(m.layers)
            } else {
                0.0
            },
            peak_flops: d.peak_per_gpu().flops(),
            peak_bw: d.bandwidth_per_gpu().bytes_per_s(),
            compute_rate: d.peak_per_gpu().flops() * params.compute_efficiency,
            memory_rate: d.bandwidth_per_gpu().bytes_per_s() * params.memory_efficiency,
            link_rate: d.hardware.interconnect().bytes_per_s(),
            idle_w: d.hardware.idle_w,
            span_w: d.hardware.tdp_w - d.hardware.idle_w,
        }
    }

    /// Power of the replica's accelerators when no iteration runs.
    pub fn idle_power(&self) -> Power {
        Power::from_w(self.idle_w * self.gpus)
    }

    /// Board power limit of the replica's accelerators.
    pub fn tdp(&self) -> Power {
        Power::from_w((self.idle_w + self.span_w) * self.gpus)
    }

    /// Dense peak FLOP/s of the whole replica.
    pub fn replica_peak_flops(&self) -> f64 {
        self.peak_flops * self.gpus
    }

    /// HBM bandwidth of the whole replica, bytes/s.
    pub fn replica_bandwidth(&self) -> f64 {
        self.peak_bw * self.gpus
    }

    /// The same deployment with other constants (cheap: no catalog lookups).
    pub fn with_params(&self, params: RooflineParams) -> Self {
        let mut r = self.clone();
        r.set_params(params);
        r
    }

    /// Replaces the constants in place (what a Monte Carlo does per sample).
    #[inline]
    pub fn set_params(&mut self, params: RooflineParams) {
        self.params = params;
        self.compute_rate = self.peak_flops * params.compute_efficiency;
        self.memory_rate = self.peak_bw * params.memory_efficiency;
    }

    /// Cost of one iteration. An empty step costs nothing.
    #[inline]
    pub fn step(&self, s: &Step) -> StepCost {
        self.cost(&self.work(s))
    }

    /// The work of an iteration: FLOPs and bytes, which do not depend on the constants.
    #[inline]
    pub fn work(&self, s: &Step) -> StepWork {
        let tokens = s.prefill_tokens + s.decode_seqs;
        if tokens <= 0.0 {
            return StepWork::default();
        }
        // Attention: (query, key) pairs and KV-cache tokens read. Layers with a sliding window
        // see at most `window` tokens per query. From the batch's sums alone the windowed
        // sums are bounded as `min(pairs, queries x window)`: exact when every context is
        // beyond the window or within it, and over by at most window^2/2 pairs per prompt
        // that crosses it (under window/(2 x prompt) of its pairs).
        let full_pairs = s.prefill_attention + s.decode_context;
        let full_kv = s.decode_context + s.prefill_attention / FLASH_BLOCK;
        let (attn_pairs, kv_context) = if self.window_share > 0.0 {
            let pre = s.prefill_attention.min(s.prefill_tokens * self.window);
            let dec = s.decode_context.min(s.decode_seqs * self.window);
            let f = self.window_share;
            (
                (1.0 - f) * full_pairs + f * (pre + dec),
                (1.0 - f) * full_kv + f * (dec + pre / FLASH_BLOCK),
            )
        } else {
            (full_pairs, full_kv)
        };
        // FLOPs: 2 per active parameter per token, plus attention score and value products.
        let flop = 2.0 * self.active_params * tokens + self.attn_flop_per_pair * attn_pairs;
        // Bytes: shared weights once, the experts the batch's tokens touch (expected distinct
        // experts out of E when each token picks k), KV reads and writes.
        let touched = if self.experts > 0.0 {
            self.experts * (1.0 - (1.0 - self.expert_pick).powf(tokens))
        } else {
            0.0
        };
        let weight_bytes = self.shared_weight_bytes + touched * self.expert_weight_bytes;
        let kv_tokens_moved = kv_context + s.prefill_tokens;
        StepWork {
            tokens,
            flop,
            bytes_per_gpu: weight_bytes / self.gpus + kv_tokens_moved * self.kv_bytes_per_token_gpu,
            seqs: s.seqs.max(1.0),
        }
    }

    /// Time and power of an iteration's work under this model's constants.
    #[inline]
    pub fn cost(&self, w: &StepWork) -> StepCost {
        if w.tokens <= 0.0 {
            return StepCost::default();
        }
        let p = &self.params;
        let compute_t = w.flop / self.gpus / self.compute_rate;
        let memory_t = w.bytes_per_gpu / self.memory_rate;
        // Ring all-reduce of the activations, twice per layer.
        let comm_t = if self.collectives > 0.0 {
            let msg = w.tokens * self.act_bytes_per_token;
            self.collectives
                * (p.collective_latency_s
                    + 2.0 * (self.gpus - 1.0) / self.gpus * msg / self.link_rate)
        } else {
            0.0
        };
        let overhead_t = p.step_overhead_s + p.per_seq_overhead_s * w.seqs;
        let busy_t = compute_t.max(memory_t);
        let time = busy_t + comm_t + overhead_t;
        let load = (p.power_active
            + p.power_compute * compute_t / time
            + p.power_memory * memory_t / time)
            .clamp(0.0, 1.0);
        let power_w = (self.idle_w + self.span_w * load) * self.gpus;
        StepCost {
            time: Time::from_s(time),
            power: Power::from_w(power_w),
            flop: Flop::new(w.flop),
            bytes: Bytes::new(w.bytes_per_gpu * self.gpus),
            compute_time: Time::from_s(compute_t),
            memory_time: Time::from_s(memory_t),
            comm_time: Time::from_s(comm_t),
            overhead_time: Time::from_s(overhead_t),
        }
    }
}

/// The constant-independent work of one iteration (see [`Roofline::work`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepWork {
    /// Tokens processed.
    pub tokens: f64,
    /// Floating-point operations, whole replica.
    pub flop: f64,
    /// Bytes moved per accelerator.
    pub bytes_per_gpu: f64,
    /// Sequences in the batch (at least 1).
    pub seqs: f64,
}

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

use wattage_catalog::Precision;

use crate::deploy::Deployment;

/// The model's few constants, each with a physical meaning and a plausible range, fitted to
/// the ML.ENERGY v3 measurements (see `calibration.rs` and docs/calibration.md). The
/// efficiencies, power curve and overheads are per accelerator (catalog `roofline` tables,
/// read by [`RooflineParams::for_hardware`]); the kernel constants are shared.
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
    /// Efficiency of the routed experts' grouped GEMMs (fused MoE kernels) relative to dense
    /// layers: applied to the compute and memory rates of expert work (1 = as dense).
    #[serde(default = "one")]
    pub moe_efficiency: f64,
    /// Efficiency of 8-bit weight kernels of MoE models (block-scaled FP8 GEMMs with
    /// dequantization) relative to 16-bit ones, on the compute and memory rates of weight
    /// work. Dense models' 8-bit kernels run at the dense rate (no measurement informs them).
    #[serde(default = "one")]
    pub fp8_efficiency: f64,
    /// Efficiency of 4-bit weight kernels of MoE models (MXFP4/NVFP4, int4) relative to
    /// 16-bit ones; dense models' run at the dense rate.
    #[serde(default = "one")]
    pub fp4_efficiency: f64,
    /// How evenly a MoE router spreads tokens over experts: the concentration `a` of the
    /// experts' popularity (a Gamma(a) spread, coefficient of variation `1/sqrt(a)`). A batch
    /// of `T` tokens picking `k` of `E` experts touches `E (1 - (1 + T k / (a E))^-a)`
    /// distinct experts: fewer than uniform routing (`a` large) when popular experts take
    /// more of the tokens.
    #[serde(default = "uniform_routing")]
    pub routing_concentration: f64,
    /// Efficiency of the state-space (Mamba-2) layers' prefill relative to the compute
    /// rate, on their nominal work of 4 FLOPs per state value per prompt token: the chunked
    /// scan kernels run far below the tensor cores' rate.
    #[serde(default = "one")]
    pub ssm_prefill_efficiency: f64,
}

fn uniform_routing() -> f64 {
    1e3
}

fn one() -> f64 {
    1.0
}

/// The constants each accelerator carries in its catalog `roofline` table (the rest are
/// shared by all).
pub const HARDWARE_CONSTANTS: [&str; 7] = [
    "compute_efficiency",
    "memory_efficiency",
    "power_active",
    "power_compute",
    "power_memory",
    "step_overhead_s",
    "per_seq_overhead_s",
];

impl RooflineParams {
    /// The defaults with an accelerator's own constants from the catalog (fitted to
    /// measurements, or a prior from a measured sibling), when it has them.
    pub fn for_hardware(hw: &wattage_catalog::Hardware) -> Self {
        let mut p = Self::default();
        if let Some(r) = &hw.roofline {
            for (name, v) in HARDWARE_CONSTANTS.into_iter().zip(r.constants()) {
                p.set(name, v);
            }
        }
        p
    }

    /// A constant by name (the `--set` names); `None` for another name.
    pub fn slot(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "compute_efficiency" => &mut self.compute_efficiency,
            "memory_efficiency" => &mut self.memory_efficiency,
            "step_overhead_s" => &mut self.step_overhead_s,
            "per_seq_overhead_s" => &mut self.per_seq_overhead_s,
            "collective_latency_s" => &mut self.collective_latency_s,
            "power_active" => &mut self.power_active,
            "power_compute" => &mut self.power_compute,
            "power_memory" => &mut self.power_memory,
            "moe_efficiency" => &mut self.moe_efficiency,
            "routing_concentration" => &mut self.routing_concentration,
            "fp8_efficiency" => &mut self.fp8_efficiency,
            "fp4_efficiency" => &mut self.fp4_efficiency,
            "ssm_prefill_efficiency" => &mut self.ssm_prefill_efficiency,
            _ => return None,
        })
    }

    /// Reads a constant by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        let mut p = *self;
        p.slot(name).map(|v| *v)
    }

    /// Writes a constant by name; an unknown name changes nothing.
    pub fn set(&mut self, name: &str, value: f64) {
        if let Some(s) = self.slot(name) {
            *s = value;
        }
    }
}

impl Default for RooflineParams {
    /// The shared constants fitted by `examples/calibrate.rs` to the 267 ML.ENERGY v3
    /// steady states (docs/calibration.md), rounded. The per-accelerator ones
    /// (efficiencies, power curve, overheads) live in the hardware catalog; these defaults
    /// of them are the H100's, for hardware without catalog values.
    fn default() -> Self {
        Self {
            compute_efficiency: 0.85,
            memory_efficiency: 0.653,
            step_overhead_s: 0.0,
            per_seq_overhead_s: 54.3e-6,
            collective_latency_s: 3e-6,
            power_active: 0.642,
            power_compute: 1.0,
            power_memory: 0.0,
            moe_efficiency: 0.667,
            fp8_efficiency: 0.549,
            fp4_efficiency: 0.570,
            routing_concentration: 0.338,
            ssm_prefill_efficiency: 8.81e-4,
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
    tensor: f64,
    data: f64,
    /// FLOPs per token of the shared (every-token) weights.
    shared_flop_per_token: f64,
    /// FLOPs per token of the routed experts.
    expert_flop_per_token: f64,
    /// Shared weight bytes each GPU reads per iteration.
    shared_weight_bytes_gpu: f64,
    /// Bytes of one routed expert (all layers) each GPU holds.
    expert_weight_bytes_gpu: f64,
    experts: f64,
    expert_pick: f64,
    /// Expert parallelism: GPUs the experts are spread over as whole experts (1 when the
    /// experts are sharded by tensor parallelism instead). The busiest GPU sets the pace.
    expert_groups: f64,
    attn_flop_per_pair: f64,
    /// KV bytes per token of context each GPU moves, the replica's tokens spread over the
    /// data-parallel ranks.
    kv_bytes_per_token_gpu: f64,
    /// Recurrent state bytes per sequence each GPU reads and writes per iteration.
    ssm_bytes_per_seq_gpu: f64,
    /// FLOPs per token of the state-space recurrences.
    ssm_flop_per_token: f64,
    /// Sliding-window attention: the window (tokens) and the share of layers using it.
    window: f64,
    window_share: f64,
    act_bytes_per_token: f64,
    /// Tensor-parallel all-reduces per iteration.
    collectives: f64,
    /// Expert-parallel all-to-all exchanges per iteration (dispatch and combine per MoE
    /// layer), with data parallelism.
    all_to_alls: f64,
    /// Activation bytes one token sends per all-to-all: `k` copies of its hidden state.
    a2a_bytes_per_token: f64,
    peak_flops: f64,
    peak_bw: f64,
    /// The weights' kernel class, for the precision's efficiency.
    quant: Quant,
    /// Rate multiplier of weight work for the weights' precision.
    quant_efficiency: f64,
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
        let tensor = f64::from(d.parallelism.tensor);
        let data = f64::from(d.parallelism.data);
        let per_expert = m.params_per_expert();
        let experts = if m.is_moe() {
            f64::from(m.experts)
        } else {
            0.0
        };
        let expert_active = per_expert * f64::from(m.experts_active.min(m.experts));
        let expert_active = if m.is_moe() { expert_active } else { 0.0 };
        let collectives = if d.parallelism.tensor > 1 {
            2.0 * f64::from(m.layers)
        } else {
            0.0
        };
        let all_to_alls = if d.parallelism.expert && d.parallelism.data > 1 && m.is_moe() {
            2.0 * m.moe_layer_count()
        } else {
            0.0
        };
        let mut r = Self {
            params,
            gpus,
            tensor,
            data,
            shared_flop_per_token: 2.0 * (m.active_params() - expert_active),
            expert_flop_per_token: 2.0 * expert_active,
            shared_weight_bytes_gpu: m.shared_params() * wb / tensor,
            expert_weight_bytes_gpu: per_expert * wb / gpus,
            experts,
            expert_pick: if m.is_moe() {
                f64::from(m.experts_active) / f64::from(m.experts)
            } else {
                0.0
            },
            expert_groups: if d.parallelism.expert && m.is_moe() {
                gpus.min(experts).max(1.0)
            } else {
                1.0
            },
            attn_flop_per_pair: m.attention_layer_count() * m.attention_flop_per_pair_layer(),
            kv_bytes_per_token_gpu: d.kv_bytes_per_token_per_gpu().count() / data,
            ssm_bytes_per_seq_gpu: 2.0 * d.ssm_state_bytes_per_seq().count() / gpus,
            ssm_flop_per_token: 4.0 * m.ssm_state_values_per_seq(),
            window: kv.window,
            window_share: kv.share,
            act_bytes_per_token: f64::from(m.hidden) * 2.0,
            collectives,
            all_to_alls,
            a2a_bytes_per_token: f64::from(m.hidden) * 2.0 * f64::from(m.experts_active),
            peak_flops: d.peak_per_gpu().flops(),
            peak_bw: d.bandwidth_per_gpu().bytes_per_s(),
            quant: Quant::Wide,
            quant_efficiency: 1.0,
            compute_rate: 0.0,
            memory_rate: 0.0,
            link_rate: d.hardware.interconnect().bytes_per_s(),
            idle_w: d.hardware.idle_w,
            span_w: d.hardware.tdp_w - d.hardware.idle_w,
        };
        r.quant = Quant::of(d.weight_precision);
        r.set_params(params);
        r
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
        self.quant_efficiency = match self.quant {
            _ if self.experts == 0.0 => 1.0,
            Quant::Wide => 1.0,
            Quant::Eight => params.fp8_efficiency,
            Quant::Four => params.fp4_efficiency,
        };
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
        // FLOPs: 2 per active parameter per token (shared and routed experts apart), attention
        // score and value products, state-space recurrences.
        let dense_flop = self.shared_flop_per_token * tokens;
        let expert_flop = self.expert_flop_per_token * tokens;
        let other_flop =
            self.attn_flop_per_pair * attn_pairs + self.ssm_flop_per_token * s.decode_seqs;
        let ssm_prefill_flop = self.ssm_flop_per_token * s.prefill_tokens;
        // Bytes: shared weights once, the experts the batch's tokens touch (expected distinct
        // experts out of E when each token picks k), KV reads and writes, recurrent states.
        let (touched, expert_flop) = if self.experts > 0.0 {
            // Share of experts the batch touches, with the router's popularity spread.
            let a = self.params.routing_concentration;
            let p = 1.0 - (1.0 + tokens * self.expert_pick / a).powf(-a);
            let g = self.expert_groups;
            if g > 1.0 {
                // Whole experts on each GPU: the GPU with the most touched experts and the
                // most routed tokens sets the pace. Expected maximum of `g` near-binomial
                // counts: mean + sd x sqrt(2 ln g), at most everything the GPU holds.
                let z = (2.0 * g.ln()).sqrt();
                let n = self.experts / g;
                let busiest = (n * p + (n * p * (1.0 - p)).sqrt() * z).min(n);
                let picks = tokens * self.expert_pick * self.experts / g;
                let busiest_picks = picks + picks.sqrt() * z;
                (
                    busiest * g,
                    expert_flop * busiest_picks / picks.max(f64::MIN_POSITIVE),
                )
            } else {
                (self.experts * p, expert_flop)
            }
        } else {
            (0.0, expert_flop)
        };
        let kv_tokens_moved = kv_context + s.prefill_tokens;
        StepWork {
            tokens,
            flop: dense_flop + expert_flop + other_flop + ssm_prefill_flop,
            ssm_prefill_flop_gpu: ssm_prefill_flop / self.gpus,
            dense_flop_gpu: dense_flop / self.gpus,
            expert_flop_gpu: expert_flop / self.gpus,
            other_flop_gpu: other_flop / self.gpus,
            dense_bytes_gpu: self.shared_weight_bytes_gpu,
            expert_bytes_gpu: touched * self.expert_weight_bytes_gpu,
            other_bytes_gpu: kv_tokens_moved * self.kv_bytes_per_token_gpu
                + s.seqs * self.ssm_bytes_per_seq_gpu,
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
        // Quantized weights run at their kernels' efficiency and routed-expert work also at
        // the fused-MoE (grouped GEMM) efficiency. The measurements inform quantized kernels
        // only in MoE models (Qwen3-235B FP8, gpt-oss MXFP4), so a dense model's 8- and 4-bit
        // GEMMs run at the dense rate on their smaller bytes (`quant_efficiency` is 1 there).
        let q = self.quant_efficiency;
        let qe = q * p.moe_efficiency;
        let compute_t = (w.dense_flop_gpu / q
            + w.expert_flop_gpu / qe
            + w.other_flop_gpu
            + w.ssm_prefill_flop_gpu / p.ssm_prefill_efficiency)
            / self.compute_rate;
        let memory_t = (w.dense_bytes_gpu / q + w.expert_bytes_gpu / qe + w.other_bytes_gpu)
            / self.memory_rate;
        // Ring all-reduce of the activations, twice per layer, in each tensor-parallel group
        // (each holds a data-parallel rank's share of the tokens).
        let mut comm_t = 0.0;
        if self.collectives > 0.0 {
            let msg = w.tokens / self.data * self.act_bytes_per_token;
            comm_t += self.collectives
                * (p.collective_latency_s
                    + 2.0 * (self.tensor - 1.0) / self.tensor * msg / self.link_rate);
        }
        // Expert-parallel all-to-all: each GPU sends its tokens' hidden states to the GPUs of
        // their experts and receives them back.
        if self.all_to_alls > 0.0 {
            let sent =
                w.tokens / self.gpus * self.a2a_bytes_per_token * (self.gpus - 1.0) / self.gpus;
            comm_t += self.all_to_alls * (p.collective_latency_s + sent / self.link_rate);
        }
        let overhead_t = p.step_overhead_s + p.per_seq_overhead_s * w.seqs / self.data;
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
            bytes: Bytes::new(w.bytes_per_gpu() * self.gpus),
            compute_time: Time::from_s(compute_t),
            memory_time: Time::from_s(memory_t),
            comm_time: Time::from_s(comm_t),
            overhead_time: Time::from_s(overhead_t),
        }
    }
}

/// Which weight kernels a precision runs: 16/32-bit, 8-bit, or 4-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quant {
    Wide,
    Eight,
    Four,
}

impl Quant {
    fn of(p: Precision) -> Self {
        match p {
            Precision::Fp8 | Precision::Int8 => Quant::Eight,
            Precision::Fp4 | Precision::Int4 => Quant::Four,
            _ => Quant::Wide,
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
    /// FLOPs per GPU on the shared (every-token) weights.
    pub dense_flop_gpu: f64,
    /// FLOPs per GPU in the routed experts.
    pub expert_flop_gpu: f64,
    /// FLOPs per GPU of attention and state-space recurrences of decoding sequences.
    pub other_flop_gpu: f64,
    /// FLOPs per GPU of the state-space layers' prefill (chunked scan) of prompt tokens.
    pub ssm_prefill_flop_gpu: f64,
    /// Shared weight bytes read per GPU.
    pub dense_bytes_gpu: f64,
    /// Routed-expert weight bytes read per GPU.
    pub expert_bytes_gpu: f64,
    /// KV-cache and recurrent-state bytes moved per GPU.
    pub other_bytes_gpu: f64,
    /// Sequences in the batch (at least 1).
    pub seqs: f64,
}

impl StepWork {
    /// Bytes moved per accelerator.
    pub fn bytes_per_gpu(&self) -> f64 {
        self.dense_bytes_gpu + self.expert_bytes_gpu + self.other_bytes_gpu
    }
}

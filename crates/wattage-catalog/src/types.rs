//! The schema of catalog entries. Raw numbers carry their unit in the field name; typed
//! accessors return `wattage_units` quantities.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use wattage_units::{
    ByteRate, Bytes, CarbonIntensity, EnergyPrice, FlopRate, Power, WaterIntensity,
};

/// Numeric precision of weights, activations or the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit float.
    Fp32,
    /// 16-bit brain float.
    Bf16,
    /// 16-bit IEEE float.
    Fp16,
    /// 8-bit float (E4M3/E5M2).
    Fp8,
    /// 8-bit integer.
    Int8,
    /// 4-bit float (NVFP4, MXFP4).
    Fp4,
    /// 4-bit integer.
    Int4,
}

impl Precision {
    /// Every precision, for listings and property tests.
    pub const ALL: [Precision; 7] = [
        Precision::Fp32,
        Precision::Bf16,
        Precision::Fp16,
        Precision::Fp8,
        Precision::Int8,
        Precision::Fp4,
        Precision::Int4,
    ];

    /// Bytes per stored value.
    pub fn bytes(self) -> f64 {
        match self {
            Precision::Fp32 => 4.0,
            Precision::Bf16 | Precision::Fp16 => 2.0,
            Precision::Fp8 | Precision::Int8 => 1.0,
            Precision::Fp4 | Precision::Int4 => 0.5,
        }
    }

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
            Precision::Fp4 => "fp4",
            Precision::Int4 => "int4",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.trim().to_ascii_lowercase();
        let p = match l.as_str() {
            "fp32" | "float32" => Precision::Fp32,
            "bf16" | "bfloat16" => Precision::Bf16,
            "fp16" | "float16" | "half" => Precision::Fp16,
            "fp8" | "float8" | "e4m3" => Precision::Fp8,
            "int8" => Precision::Int8,
            "fp4" | "nvfp4" | "mxfp4" => Precision::Fp4,
            "int4" => Precision::Int4,
            _ => {
                return Err(format!(
                    "unknown precision `{s}`; expected one of fp32, bf16, fp16, fp8, int8, fp4, int4"
                ));
            }
        };
        Ok(p)
    }
}

/// An accelerator (GPU or TPU) and the server share that comes with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Catalog id, such as `h100-sxm`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names it answers to.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Maker.
    pub vendor: String,
    /// Dense peak throughput in TFLOP/s by precision (no sparsity). Integer formats are in
    /// TOPS.
    pub peak_tflops: BTreeMap<Precision, f64>,
    /// High-bandwidth memory per accelerator, GB (1e9 bytes).
    pub hbm_gb: f64,
    /// HBM bandwidth per accelerator, TB/s.
    pub hbm_tb_s: f64,
    /// Thermal design power (board power limit) per accelerator, W.
    pub tdp_w: f64,
    /// Power drawn when powered on and idle, W.
    pub idle_w: f64,
    /// Host power (CPUs, DRAM, NICs, fans, storage) per accelerator at full load, W.
    pub host_w_per_accel: f64,
    /// Scale-up interconnect bandwidth per accelerator, one direction, GB/s.
    pub interconnect_gb_s: f64,
    /// Rental price per accelerator-hour, USD (optional): price-implied utilization, and the
    /// hardware cost under the `rent` cost basis.
    #[serde(default)]
    pub rent_usd_per_hour: Option<f64>,
    /// Purchase price of one accelerator, USD (optional; the `capex` cost basis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd: Option<f64>,
    /// The rest of the server (CPUs, memory, NICs, chassis) and the cluster network per
    /// accelerator, USD (optional; the `capex` cost basis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_usd_per_accel: Option<f64>,
    /// Service life over which the accelerator and its server are amortized, years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_years: Option<f64>,
    /// Manufacturing (embodied) emissions of one accelerator board, kg CO2e: central value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embodied_kgco2e: Option<f64>,
    /// Low end of the accelerator's embodied emissions, kg CO2e.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embodied_kgco2e_low: Option<f64>,
    /// High end of the accelerator's embodied emissions, kg CO2e.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embodied_kgco2e_high: Option<f64>,
    /// Embodied emissions of the server share per accelerator (CPUs, memory, storage,
    /// chassis, NICs), kg CO2e: central value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_embodied_kgco2e: Option<f64>,
    /// Low end of the server share's embodied emissions, kg CO2e.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_embodied_kgco2e_low: Option<f64>,
    /// High end of the server share's embodied emissions, kg CO2e.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_embodied_kgco2e_high: Option<f64>,
    /// The request model's per-accelerator constants: fitted to measurements, or a prior
    /// taken from a measured sibling (`prior_from`). Absent: the model's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roofline: Option<HardwareRoofline>,
    /// A source for every numeric field, by field name.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

/// An accelerator's constants in the roofline request model (see `wattage_request::
/// RooflineParams` for what each means).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareRoofline {
    /// Achieved share of dense peak FLOP/s in large matrix multiplications.
    pub compute_efficiency: f64,
    /// Achieved share of HBM bandwidth in weight and KV reads.
    pub memory_efficiency: f64,
    /// Share of the idle-to-TDP span drawn whenever an iteration runs.
    pub power_active: f64,
    /// Extra share of the span when the compute units are busy all the time.
    pub power_compute: f64,
    /// Extra share of the span when memory is busy all the time.
    pub power_memory: f64,
    /// Fixed software overhead per iteration on this accelerator's servers, s.
    pub step_overhead_s: f64,
    /// Software overhead per running sequence per iteration on these servers, s.
    pub per_seq_overhead_s: f64,
    /// Relative uncertainty of the efficiencies (one-sided, as a fraction): the fit's
    /// cross-validated error for measured accelerators, wider for priors.
    pub uncertainty: f64,
    /// The measured accelerator these values are borrowed from, when this one has no
    /// measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_from: Option<String>,
}

impl HardwareRoofline {
    /// The constants in the request model's order: compute and memory efficiency, power
    /// active, compute and memory shares, step and per-sequence overheads.
    pub fn constants(&self) -> [f64; 7] {
        [
            self.compute_efficiency,
            self.memory_efficiency,
            self.power_active,
            self.power_compute,
            self.power_memory,
            self.step_overhead_s,
            self.per_seq_overhead_s,
        ]
    }

    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        for (f, v, lo, hi) in [
            (
                "roofline.compute_efficiency",
                self.compute_efficiency,
                0.01,
                1.0,
            ),
            (
                "roofline.memory_efficiency",
                self.memory_efficiency,
                0.01,
                1.0,
            ),
            ("roofline.power_active", self.power_active, 0.0, 1.0),
            ("roofline.power_compute", self.power_compute, 0.0, 1.0),
            ("roofline.power_memory", self.power_memory, 0.0, 1.0),
            ("roofline.uncertainty", self.uncertainty, 0.0, 1.0),
            ("roofline.step_overhead_s", self.step_overhead_s, 0.0, 1.0),
            (
                "roofline.per_seq_overhead_s",
                self.per_seq_overhead_s,
                0.0,
                1.0,
            ),
        ] {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return Err((f.into(), format!("must be between {lo} and {hi}, got {v}")));
            }
        }
        Ok(())
    }
}

impl Hardware {
    /// Dense peak throughput at a precision; `None` when the hardware has no such unit.
    pub fn peak(&self, p: Precision) -> Option<FlopRate> {
        self.peak_tflops.get(&p).map(|t| FlopRate::from_tflops(*t))
    }
    /// Memory capacity.
    pub fn hbm(&self) -> Bytes {
        Bytes::from_gb(self.hbm_gb)
    }
    /// Memory bandwidth.
    pub fn hbm_bandwidth(&self) -> ByteRate {
        ByteRate::from_tb_s(self.hbm_tb_s)
    }
    /// Board power limit.
    pub fn tdp(&self) -> Power {
        Power::from_w(self.tdp_w)
    }
    /// Idle power.
    pub fn idle(&self) -> Power {
        Power::from_w(self.idle_w)
    }
    /// Host power per accelerator at full load.
    pub fn host_power(&self) -> Power {
        Power::from_w(self.host_w_per_accel)
    }
    /// Scale-up link bandwidth, one direction.
    pub fn interconnect(&self) -> ByteRate {
        ByteRate::from_gb_s(self.interconnect_gb_s)
    }
    /// The source recorded for a field, or `unsourced`.
    pub fn source(&self, field: &str) -> &str {
        source_of(&self.sources, field)
    }
    /// Names of the numeric fields that must carry a source.
    pub fn numeric_fields(&self) -> Vec<&'static str> {
        let mut v = vec![
            "peak_tflops",
            "hbm_gb",
            "hbm_tb_s",
            "tdp_w",
            "idle_w",
            "host_w_per_accel",
            "interconnect_gb_s",
        ];
        for (f, x) in self.cost_fields() {
            if x.is_some() {
                v.push(f);
            }
        }
        if self.roofline.is_some() {
            v.push("roofline");
        }
        v
    }

    /// The optional cost and embodied-emission fields with their values.
    fn cost_fields(&self) -> [(&'static str, Option<f64>); 10] {
        [
            ("rent_usd_per_hour", self.rent_usd_per_hour),
            ("price_usd", self.price_usd),
            ("server_usd_per_accel", self.server_usd_per_accel),
            ("life_years", self.life_years),
            ("embodied_kgco2e", self.embodied_kgco2e),
            ("embodied_kgco2e_low", self.embodied_kgco2e_low),
            ("embodied_kgco2e_high", self.embodied_kgco2e_high),
            ("server_embodied_kgco2e", self.server_embodied_kgco2e),
            (
                "server_embodied_kgco2e_low",
                self.server_embodied_kgco2e_low,
            ),
            (
                "server_embodied_kgco2e_high",
                self.server_embodied_kgco2e_high,
            ),
        ]
    }

    /// Embodied emissions of the accelerator board as (low, central, high), kg CO2e; the
    /// range collapses to the central value when no bounds are given.
    pub fn embodied_range(&self) -> Option<[f64; 3]> {
        range3(
            self.embodied_kgco2e,
            self.embodied_kgco2e_low,
            self.embodied_kgco2e_high,
        )
    }

    /// Embodied emissions of the server share per accelerator as (low, central, high), kg
    /// CO2e.
    pub fn server_embodied_range(&self) -> Option<[f64; 3]> {
        range3(
            self.server_embodied_kgco2e,
            self.server_embodied_kgco2e_low,
            self.server_embodied_kgco2e_high,
        )
    }

    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        positive("hbm_gb", self.hbm_gb)?;
        positive("hbm_tb_s", self.hbm_tb_s)?;
        positive("tdp_w", self.tdp_w)?;
        non_negative("idle_w", self.idle_w)?;
        non_negative("host_w_per_accel", self.host_w_per_accel)?;
        positive("interconnect_gb_s", self.interconnect_gb_s)?;
        for (f, v) in [
            ("hbm_gb", self.hbm_gb),
            ("hbm_tb_s", self.hbm_tb_s),
            ("tdp_w", self.tdp_w),
            ("host_w_per_accel", self.host_w_per_accel),
            ("interconnect_gb_s", self.interconnect_gb_s),
        ] {
            at_most(f, v)?;
        }
        if self.idle_w >= self.tdp_w {
            return Err(("idle_w".into(), "must be below tdp_w".into()));
        }
        if self.peak_tflops.is_empty() {
            return Err(("peak_tflops".into(), "needs at least one precision".into()));
        }
        if let Some(r) = &self.roofline {
            r.validate()?;
        }
        for (p, v) in &self.peak_tflops {
            positive(&format!("peak_tflops.{p}"), *v)?;
            at_most(&format!("peak_tflops.{p}"), *v)?;
        }
        for (f, x) in self.cost_fields() {
            if let Some(x) = x {
                if f.starts_with("rent") || f == "life_years" {
                    positive(f, x)?;
                } else {
                    non_negative(f, x)?;
                }
                at_most(f, x)?;
            }
        }
        for (f, mid, lo, hi) in [
            (
                "embodied_kgco2e",
                self.embodied_kgco2e,
                self.embodied_kgco2e_low,
                self.embodied_kgco2e_high,
            ),
            (
                "server_embodied_kgco2e",
                self.server_embodied_kgco2e,
                self.server_embodied_kgco2e_low,
                self.server_embodied_kgco2e_high,
            ),
        ] {
            match mid {
                None if lo.is_some() || hi.is_some() => {
                    return Err((
                        f.into(),
                        format!("is required with `{f}_low` and `{f}_high`"),
                    ));
                }
                Some(m) if lo.is_some_and(|l| l > m) || hi.is_some_and(|h| h < m) => {
                    return Err((
                        f.into(),
                        format!("must lie between `{f}_low` and `{f}_high`"),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// (low, central, high) from a central value and optional bounds.
fn range3(mid: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> Option<[f64; 3]> {
    mid.map(|m| [lo.unwrap_or(m), m, hi.unwrap_or(m)])
}

/// A transformer language model: its architecture, as far as energy is concerned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Catalog id, such as `llama-3.1-70b`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names it answers to.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Hugging Face repositories holding its weights.
    #[serde(default)]
    pub hf_repos: Vec<String>,
    /// True for closed models whose architecture is an estimate, not published.
    #[serde(default)]
    pub estimate: bool,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden (model) dimension.
    pub hidden: u32,
    /// Attention (query) heads.
    pub heads: u32,
    /// Key/value heads (grouped-query attention); equal to `heads` for multi-head attention.
    pub kv_heads: u32,
    /// Dimension of each head.
    pub head_dim: u32,
    /// Feed-forward inner dimension (per expert for mixture-of-experts models).
    pub ffn: u32,
    /// Values stored in the KV cache per token per layer, when it is not
    /// `2 x kv_heads x head_dim` (for example multi-head latent attention).
    #[serde(default)]
    pub kv_values_per_token_layer: Option<u32>,
    /// Routed experts per MoE layer (1 for a dense model).
    #[serde(default = "one")]
    pub experts: u32,
    /// Routed experts each token uses (1 for a dense model).
    #[serde(default = "one")]
    pub experts_active: u32,
    /// All parameters, billions.
    pub params_total_b: f64,
    /// Parameters used per token, billions.
    pub params_active_b: f64,
    /// Precision it is usually served in.
    pub precision: Precision,
    /// Maximum context length, tokens.
    pub context: u32,
    /// Sliding-window attention: the window (tokens) that `sliding_layers` of the layers
    /// attend to; the other layers attend to the whole context.
    #[serde(default)]
    pub sliding_window: Option<u32>,
    /// How many layers use the sliding window (with `sliding_window`).
    #[serde(default)]
    pub sliding_layers: Option<u32>,
    /// Hidden reasoning tokens generated per visible output token (1 when none).
    #[serde(default = "one_f")]
    pub reasoning_multiplier: f64,
    /// Layers with routed experts, when not every layer has them: DeepSeek V3's first three
    /// layers are dense, Llama 4 Maverick alternates dense and MoE layers. Counts the
    /// expert-parallel all-to-all exchanges per iteration. Default: every layer (MoE models).
    #[serde(default)]
    pub moe_layers: Option<u32>,
    /// Shared experts every token passes through besides its routed ones (DeepSeek V3: 1,
    /// Llama 4: 1). Their parameters are part of the shared parameters.
    #[serde(default)]
    pub shared_experts: Option<u32>,
    /// Multi-head latent attention (DeepSeek V2/V3): rank of the compressed KV latent. With
    /// `qk_rope_head_dim`, the cache holds `kv_lora_rank + qk_rope_head_dim` values per token
    /// per layer and decode attention runs in the latent space (absorbed projections).
    #[serde(default)]
    pub kv_lora_rank: Option<u32>,
    /// Multi-head latent attention: the decoupled rotary key dimension per head.
    #[serde(default)]
    pub qk_rope_head_dim: Option<u32>,
    /// Hybrid models (Nemotron-H): layers with attention and a KV cache. The others are
    /// state-space (Mamba-2) or MLP layers. Default: every layer.
    #[serde(default)]
    pub attention_layers: Option<u32>,
    /// Hybrid models: state-space (Mamba-2) layers, each holding a fixed recurrent state per
    /// sequence instead of a KV cache.
    #[serde(default)]
    pub ssm_layers: Option<u32>,
    /// Values of the recurrent state one sequence holds in one state-space layer (Mamba-2:
    /// heads x head_dim x state_size for the SSM state, plus the convolution window).
    #[serde(default)]
    pub ssm_state_values: Option<u32>,
    /// A source for every numeric field, by field name.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}

impl Model {
    /// Parameters used per token.
    pub fn active_params(&self) -> f64 {
        self.params_active_b * 1e9
    }
    /// All parameters.
    pub fn total_params(&self) -> f64 {
        self.params_total_b * 1e9
    }
    /// True for a mixture-of-experts model.
    pub fn is_moe(&self) -> bool {
        self.experts > 1
    }
    /// Parameters of one routed expert, summed over layers; zero for a dense model.
    ///
    /// Solved from `total = shared + E x per_expert` and `active = shared + k x per_expert`, so
    /// it needs no more architecture than the catalog holds.
    pub fn params_per_expert(&self) -> f64 {
        if !self.is_moe() || self.experts <= self.experts_active {
            return 0.0;
        }
        (self.total_params() - self.active_params()) / f64::from(self.experts - self.experts_active)
    }
    /// Parameters every token uses (attention, embeddings, dense and shared-expert layers).
    pub fn shared_params(&self) -> f64 {
        self.total_params() - f64::from(self.experts) * self.params_per_expert()
    }
    /// KV-cache values per token per attention layer.
    pub fn kv_values_per_token_layer(&self) -> f64 {
        // In f64: `2 x kv_heads x head_dim` in u32 wraps (65536 x 65536 is 0).
        if let Some(v) = self.kv_values_per_token_layer {
            return f64::from(v);
        }
        if let (Some(r), Some(rope)) = (self.kv_lora_rank, self.qk_rope_head_dim) {
            return f64::from(r) + f64::from(rope);
        }
        2.0 * f64::from(self.kv_heads) * f64::from(self.head_dim)
    }
    /// True when the KV cache holds one latent vector per token shared by every head
    /// (multi-head latent attention), so it cannot be split by heads across GPUs.
    pub fn is_latent_attention(&self) -> bool {
        self.kv_lora_rank.is_some() || self.kv_values_per_token_layer.is_some()
    }
    /// Width of the attention (query heads x head dimension).
    pub fn attention_dim(&self) -> f64 {
        f64::from(self.heads) * f64::from(self.head_dim)
    }
    /// Layers with attention and a KV cache.
    pub fn attention_layer_count(&self) -> f64 {
        f64::from(
            self.attention_layers
                .unwrap_or(self.layers)
                .min(self.layers),
        )
    }
    /// Layers with routed experts (0 for a dense model).
    pub fn moe_layer_count(&self) -> f64 {
        if self.is_moe() {
            f64::from(self.moe_layers.unwrap_or(self.layers).min(self.layers))
        } else {
            0.0
        }
    }
    /// FLOPs of attention per (query, key) pair per attention layer: scores and the weighted
    /// sum of values, 2 FLOPs per multiply-add. Multi-head latent attention with absorbed
    /// projections works in the latent space: scores over `kv_lora_rank + qk_rope_head_dim`
    /// and values over `kv_lora_rank` per head.
    pub fn attention_flop_per_pair_layer(&self) -> f64 {
        match (self.kv_lora_rank, self.qk_rope_head_dim) {
            (Some(r), Some(rope)) => {
                2.0 * f64::from(self.heads) * (2.0 * f64::from(r) + f64::from(rope))
            }
            _ => 4.0 * self.attention_dim(),
        }
    }
    /// Recurrent state of one sequence over all state-space layers, in values (0 when none).
    pub fn ssm_state_values_per_seq(&self) -> f64 {
        match (self.ssm_layers, self.ssm_state_values) {
            (Some(l), Some(v)) => f64::from(l) * f64::from(v),
            _ => 0.0,
        }
    }
    /// Sliding-window attention as (window in tokens, share of layers using it), if any.
    pub fn sliding(&self) -> Option<(f64, f64)> {
        match (self.sliding_window, self.sliding_layers) {
            (Some(w), Some(n)) if n > 0 => {
                Some((f64::from(w), f64::from(n) / f64::from(self.layers)))
            }
            _ => None,
        }
    }
    /// The source recorded for a field, or `unsourced`.
    pub fn source(&self, field: &str) -> &str {
        source_of(&self.sources, field)
    }
    /// Names of the numeric fields that must carry a source.
    pub fn numeric_fields(&self) -> Vec<&'static str> {
        let mut v = vec![
            "layers",
            "hidden",
            "heads",
            "kv_heads",
            "head_dim",
            "ffn",
            "params_total_b",
            "params_active_b",
            "context",
        ];
        if self.is_moe() {
            v.extend(["experts", "experts_active"]);
        }
        if self.kv_values_per_token_layer.is_some() {
            v.push("kv_values_per_token_layer");
        }
        if self.reasoning_multiplier != 1.0 {
            v.push("reasoning_multiplier");
        }
        if self.sliding_window.is_some() {
            v.extend(["sliding_window", "sliding_layers"]);
        }
        for (f, x) in self.architecture_fields() {
            if x.is_some() {
                v.push(f);
            }
        }
        v
    }

    /// The optional architecture fields with their values.
    fn architecture_fields(&self) -> [(&'static str, Option<u32>); 7] {
        [
            ("moe_layers", self.moe_layers),
            ("shared_experts", self.shared_experts),
            ("kv_lora_rank", self.kv_lora_rank),
            ("qk_rope_head_dim", self.qk_rope_head_dim),
            ("attention_layers", self.attention_layers),
            ("ssm_layers", self.ssm_layers),
            ("ssm_state_values", self.ssm_state_values),
        ]
    }

    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        for (f, v) in [
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("ffn", self.ffn),
            ("experts", self.experts),
            ("experts_active", self.experts_active),
            ("context", self.context),
        ] {
            if v == 0 {
                return Err((f.into(), "must be at least 1".into()));
            }
            at_most(f, f64::from(v))?;
        }
        for (f, v) in [
            ("kv_values_per_token_layer", self.kv_values_per_token_layer),
            ("sliding_window", self.sliding_window),
            ("sliding_layers", self.sliding_layers),
        ] {
            if let Some(v) = v {
                at_most(f, f64::from(v))?;
            }
        }
        for (f, x) in self.architecture_fields() {
            if let Some(x) = x {
                at_most(f, f64::from(x))?;
                if x > self.layers && f.ends_with("layers") {
                    return Err((f.into(), format!("cannot exceed layers ({})", self.layers)));
                }
            }
        }
        if self.kv_lora_rank.is_some() != self.qk_rope_head_dim.is_some() {
            return Err((
                "kv_lora_rank".into(),
                "latent attention needs both kv_lora_rank and qk_rope_head_dim".into(),
            ));
        }
        if self.ssm_layers.is_some() != self.ssm_state_values.is_some() {
            return Err((
                "ssm_layers".into(),
                "state-space layers need both ssm_layers and ssm_state_values".into(),
            ));
        }
        if self.attention_layers == Some(0) {
            return Err(("attention_layers".into(), "must be at least 1".into()));
        }
        positive("params_total_b", self.params_total_b)?;
        positive("params_active_b", self.params_active_b)?;
        at_most("params_total_b", self.params_total_b)?;
        at_most("reasoning_multiplier", self.reasoning_multiplier)?;
        if self.params_active_b > self.params_total_b * (1.0 + 1e-9) {
            return Err((
                "params_active_b".into(),
                "cannot exceed params_total_b".into(),
            ));
        }
        if self.kv_heads > self.heads {
            return Err(("kv_heads".into(), "cannot exceed heads".into()));
        }
        if self.experts_active > self.experts {
            return Err(("experts_active".into(), "cannot exceed experts".into()));
        }
        if self.is_moe() && self.params_active_b >= self.params_total_b {
            return Err((
                "params_active_b".into(),
                "a mixture-of-experts model must use fewer parameters per token than it has".into(),
            ));
        }
        if !(self.reasoning_multiplier.is_finite() && self.reasoning_multiplier >= 1.0) {
            return Err(("reasoning_multiplier".into(), "must be 1 or more".into()));
        }
        match (self.sliding_window, self.sliding_layers) {
            (None, None) => {}
            (Some(w), Some(n)) => {
                if w == 0 {
                    return Err(("sliding_window".into(), "must be at least 1 token".into()));
                }
                if n > self.layers {
                    return Err((
                        "sliding_layers".into(),
                        format!("cannot exceed layers ({})", self.layers),
                    ));
                }
            }
            (Some(_), None) => {
                return Err((
                    "sliding_layers".into(),
                    "is required with sliding_window (how many layers use it)".into(),
                ));
            }
            (None, Some(_)) => {
                return Err((
                    "sliding_window".into(),
                    "is required with sliding_layers (the window in tokens)".into(),
                ));
            }
        }
        Ok(())
    }
}

/// A grid region: the carbon and water intensity of its electricity, and how data centres in
/// it are usually run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Catalog id, such as `us-average`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Other names it answers to.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Grid carbon intensity, gCO2e per kWh consumed.
    pub carbon_g_per_kwh: f64,
    /// Typical power usage effectiveness of data centres there.
    pub pue: f64,
    /// On-site water usage effectiveness (cooling), litres per kWh of IT energy.
    pub wue_onsite_l_per_kwh: f64,
    /// Off-site water (at the power plants), litres per kWh consumed.
    pub wue_offsite_l_per_kwh: f64,
    /// Typical industrial electricity price, USD per MWh.
    pub electricity_usd_per_mwh: f64,
    /// Residual-mix carbon intensity, gCO2e per kWh: the region's generation after the
    /// attributes sold as certificates (RECs, guarantees of origin) are taken out. Market-based
    /// carbon charges consumption not covered by contracts at this intensity (GHG Protocol
    /// Scope 2 Guidance); without it, at the location-based average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residual_mix_g_per_kwh: Option<f64>,
    /// A source for every numeric field, by field name.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

impl Region {
    /// Grid carbon intensity.
    pub fn carbon(&self) -> CarbonIntensity {
        CarbonIntensity::from_g_per_kwh(self.carbon_g_per_kwh)
    }
    /// On-site water intensity per kWh of IT energy.
    pub fn wue_onsite(&self) -> WaterIntensity {
        WaterIntensity::from_l_per_kwh(self.wue_onsite_l_per_kwh)
    }
    /// Off-site water intensity per kWh consumed.
    pub fn wue_offsite(&self) -> WaterIntensity {
        WaterIntensity::from_l_per_kwh(self.wue_offsite_l_per_kwh)
    }
    /// Electricity price.
    pub fn price(&self) -> EnergyPrice {
        EnergyPrice::from_usd_per_mwh(self.electricity_usd_per_mwh)
    }
    /// The source recorded for a field, or `unsourced`.
    pub fn source(&self, field: &str) -> &str {
        source_of(&self.sources, field)
    }
    /// Names of the numeric fields that must carry a source.
    pub fn numeric_fields(&self) -> Vec<&'static str> {
        let mut v = vec![
            "carbon_g_per_kwh",
            "pue",
            "wue_onsite_l_per_kwh",
            "wue_offsite_l_per_kwh",
            "electricity_usd_per_mwh",
        ];
        if self.residual_mix_g_per_kwh.is_some() {
            v.push("residual_mix_g_per_kwh");
        }
        v
    }

    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        non_negative("carbon_g_per_kwh", self.carbon_g_per_kwh)?;
        if !(self.pue.is_finite() && self.pue >= 1.0 && self.pue <= 5.0) {
            return Err(("pue".into(), "must be between 1 and 5".into()));
        }
        non_negative("wue_onsite_l_per_kwh", self.wue_onsite_l_per_kwh)?;
        non_negative("wue_offsite_l_per_kwh", self.wue_offsite_l_per_kwh)?;
        non_negative("electricity_usd_per_mwh", self.electricity_usd_per_mwh)?;
        if let Some(r) = self.residual_mix_g_per_kwh {
            non_negative("residual_mix_g_per_kwh", r)?;
            at_most("residual_mix_g_per_kwh", r)?;
        }
        for (f, v) in [
            ("carbon_g_per_kwh", self.carbon_g_per_kwh),
            ("wue_onsite_l_per_kwh", self.wue_onsite_l_per_kwh),
            ("wue_offsite_l_per_kwh", self.wue_offsite_l_per_kwh),
            ("electricity_usd_per_mwh", self.electricity_usd_per_mwh),
        ] {
            at_most(f, v)?;
        }
        Ok(())
    }
}

/// The largest plausible value of each numeric catalog field, and why: checked when a
/// catalog file is read, so an absurd number (a head dimension of 65,536, a power of 1e308 W)
/// is an error naming the file, entry and field instead of an overflow or a wrong result
/// later. Generous: every shipped entry sits far inside.
#[rustfmt::skip]
pub const MAX_VALUES: &[(&str, f64, &str)] = &[
    // Hardware.
    ("hbm_gb", 1e5, "GB; a wafer-scale system holds well under 100 TB"),
    ("hbm_tb_s", 1e5, "TB/s; on-wafer SRAM reaches about 2e4 TB/s"),
    ("tdp_w", 1e5, "W; a wafer-scale system draws about 2e4 W"),
    ("host_w_per_accel", 1e5, "W per accelerator"),
    ("interconnect_gb_s", 1e6, "GB/s per accelerator"),
    ("peak_tflops", 1e7, "TFLOP/s; a wafer-scale system reaches about 1e5"),
    ("rent_usd_per_hour", 1e5, "USD per accelerator-hour"),
    ("price_usd", 1e8, "USD per accelerator; a wafer-scale system sells for a few million"),
    ("server_usd_per_accel", 1e8, "USD per accelerator"),
    ("life_years", 50.0, "years; servers are depreciated over 3-7"),
    ("embodied_kgco2e", 1e6, "kg CO2e per accelerator; boards are hundreds"),
    ("server_embodied_kgco2e", 1e6, "kg CO2e per accelerator; servers are a few tonnes"),
    // Models.
    ("layers", 1e4, "layers; the deepest models have a few hundred"),
    ("hidden", 1e6, "the widest models have a hidden dimension of about 3e4"),
    ("heads", 1e5, "attention heads; models have at most a few hundred"),
    ("kv_heads", 1e5, "KV heads; at most the attention heads"),
    ("head_dim", 4096.0, "head dimensions are 64 to 256 in every published model"),
    ("ffn", 1e7, "the feed-forward dimension is at most about 1e5"),
    ("experts", 1e6, "routed experts per layer; the largest models have a few hundred"),
    ("experts_active", 1e6, "experts per token; at most the experts"),
    ("context", 1e9, "tokens; the longest contexts are about 1e7"),
    ("kv_values_per_token_layer", 1e7, "KV values per token per layer"),
    ("sliding_window", 1e9, "tokens; at most a context"),
    ("sliding_layers", 1e4, "layers; at most the layers"),
    ("params_total_b", 1e5, "billion parameters (1e14); the largest models have about 2e3"),
    ("reasoning_multiplier", 1e3, "hidden tokens per visible output token"),
    ("moe_layers", 1e4, "layers; at most the layers"),
    ("shared_experts", 1e3, "shared experts per layer; published models have 1 or 2"),
    ("kv_lora_rank", 1e5, "latent rank; DeepSeek V3 uses 512"),
    ("qk_rope_head_dim", 4096.0, "rotary dimensions per head; DeepSeek V3 uses 64"),
    ("attention_layers", 1e4, "layers; at most the layers"),
    ("ssm_layers", 1e4, "layers; at most the layers"),
    ("ssm_state_values", 1e9, "values per sequence per layer; Mamba-2 layers hold about 1e6"),
    // Regions.
    ("carbon_g_per_kwh", 2000.0, "g/kWh; the most carbon-intensive grids (coal) emit about 1100"),
    ("wue_onsite_l_per_kwh", 100.0, "L/kWh; evaporative cooling uses at most a few"),
    ("wue_offsite_l_per_kwh", 100.0, "L/kWh; thermal generation uses at most tens"),
    ("electricity_usd_per_mwh", 1e5, "USD/MWh; price caps of wholesale markets are about 1e4"),
    ("residual_mix_g_per_kwh", 2000.0, "g/kWh; the most carbon-intensive grids (coal) emit about 1100"),
];

/// `v` against the field's largest plausible value in [`MAX_VALUES`] (`peak_tflops.bf16`
/// reads the `peak_tflops` row).
fn at_most(field: &str, v: f64) -> Result<(), (String, String)> {
    let key = field.split('.').next().unwrap_or(field);
    let key = key
        .strip_suffix("_low")
        .or_else(|| key.strip_suffix("_high"))
        .unwrap_or(key);
    match MAX_VALUES.iter().find(|(f, _, _)| *f == key) {
        Some((_, max, why)) if v.is_nan() || v > *max => Err((
            field.into(),
            format!("must be at most {max} ({why}), got {v}"),
        )),
        _ => Ok(()),
    }
}

/// The source of `field` in a `sources` table: its own entry, else `all`, else `unsourced`.
fn source_of<'a>(sources: &'a BTreeMap<String, String>, field: &str) -> &'a str {
    sources
        .get(field)
        .or_else(|| sources.get("all"))
        .map_or("unsourced", String::as_str)
}

fn positive(field: &str, v: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err((field.into(), format!("must be a positive number, got {v}")))
    }
}

fn non_negative(field: &str, v: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err((field.into(), format!("must be zero or more, got {v}")))
    }
}

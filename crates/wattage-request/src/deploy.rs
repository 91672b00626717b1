//! A deployment: one model on N accelerators, laid out as vLLM does (tensor, data and
//! expert parallelism), in a precision.

use serde::{Deserialize, Serialize};
use wattage_catalog::{Hardware, Model, Precision};
use wattage_units::{ByteRate, Bytes, FlopRate, Power};

use crate::EstimateError;

/// How a replica's accelerators share the model, in vLLM's terms.
///
/// - `tensor` (`--tensor-parallel-size`): GPUs each attention and dense layer is sharded over.
/// - `data` (`--data-parallel-size`): attention replicas inside the replica, each with its own
///   KV cache and share of the batch. Dense layers are replicated per rank; a MoE model's
///   experts are sharded over all `tensor x data` GPUs.
/// - `expert` (`--enable-expert-parallel`): each GPU holds whole experts (a share `1 / (tensor x
///   data)` of them) instead of a slice of every expert; with `data > 1` tokens travel to their
///   experts and back by all-to-all exchanges over the interconnect.
///
/// GPUs per replica = `tensor x data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parallelism {
    /// Tensor-parallel degree.
    pub tensor: u32,
    /// Data-parallel (attention) degree.
    pub data: u32,
    /// Expert parallelism on or off.
    pub expert: bool,
}

impl Default for Parallelism {
    fn default() -> Self {
        Self::tensor(1)
    }
}

impl Parallelism {
    /// Plain tensor parallelism over `n` GPUs.
    pub const fn tensor(n: u32) -> Self {
        Self {
            tensor: n,
            data: 1,
            expert: false,
        }
    }

    /// GPUs per replica.
    pub fn gpus(&self) -> u32 {
        self.tensor.saturating_mul(self.data)
    }

    /// Checks the degrees, naming the flag at fault.
    pub fn validate(&self) -> Result<(), EstimateError> {
        for (field, v) in [
            ("tensor_parallel_size", self.tensor),
            ("data_parallel_size", self.data),
        ] {
            if v == 0 {
                return Err(EstimateError::invalid(field, "must be at least 1"));
            }
        }
        if u64::from(self.tensor) * u64::from(self.data) > 4096 {
            return Err(EstimateError::invalid(
                "tensor_parallel_size",
                format!(
                    "a replica of {} x {} = {} accelerators is more than the 4096 supported",
                    self.tensor,
                    self.data,
                    u64::from(self.tensor) * u64::from(self.data)
                ),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Parallelism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TP{}", self.tensor)?;
        if self.data > 1 {
            write!(f, " x DP{}", self.data)?;
        }
        if self.expert {
            f.write_str(" + EP")?;
        }
        Ok(())
    }
}

/// One replica: a model served on `gpus` accelerators.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The model.
    pub model: Model,
    /// The accelerator.
    pub hardware: Hardware,
    /// Accelerators in the replica (`tensor x data`).
    pub gpus: u32,
    /// How the accelerators share the model.
    pub parallelism: Parallelism,
    /// Precision of the stored weights.
    pub weight_precision: Precision,
    /// Precision of the KV cache.
    pub kv_precision: Precision,
    /// Precision the matrix multiplications run in (the weight precision when the hardware
    /// has units for it, otherwise bf16: weight-only quantization).
    pub compute_precision: Precision,
    /// Fraction of HBM the serving engine may use (vLLM's `gpu_memory_utilization`).
    pub memory_utilization: f64,
}

impl Deployment {
    /// Builds a deployment and checks that the weights fit with room for a KV cache.
    ///
    /// `precision` defaults to the model's serving precision; the KV cache is kept in bf16
    /// unless the weights are 8-bit or narrower, in which case it is fp8.
    pub fn new(
        model: &Model,
        hardware: &Hardware,
        gpus: u32,
        precision: Option<Precision>,
    ) -> Result<Self, EstimateError> {
        Self::with_parallelism(model, hardware, Parallelism::tensor(gpus), precision)
    }

    /// Builds a deployment with a vLLM layout (see [`Parallelism`]) and checks that the
    /// weights fit with room for a KV cache.
    pub fn with_parallelism(
        model: &Model,
        hardware: &Hardware,
        parallelism: Parallelism,
        precision: Option<Precision>,
    ) -> Result<Self, EstimateError> {
        parallelism.validate()?;
        let gpus = parallelism.gpus();
        let weight_precision = precision.unwrap_or(model.precision);
        let compute_precision = if weight_precision == Precision::Int4
            || weight_precision == Precision::Int8
        {
            // Weight-only integer quantization: activations and matmuls stay in 16 bit
            // unless the hardware has int8 units (counted as 8-bit compute).
            if weight_precision == Precision::Int8 && hardware.peak(Precision::Int8).is_some() {
                Precision::Int8
            } else {
                Precision::Bf16
            }
        } else if hardware.peak(weight_precision).is_some() {
            weight_precision
        } else if weight_precision == Precision::Fp4 && hardware.peak(Precision::Fp8).is_some() {
            Precision::Fp8
        } else {
            Precision::Bf16
        };
        if hardware.peak(compute_precision).is_none() {
            return Err(EstimateError::invalid(
                "precision",
                format!(
                    "`{}` has no dense {} throughput in the catalog",
                    hardware.id, compute_precision
                ),
            ));
        }
        let kv_precision = if weight_precision.bytes() <= 1.0 {
            Precision::Fp8
        } else {
            Precision::Bf16
        };
        let d = Self {
            model: model.clone(),
            hardware: hardware.clone(),
            gpus,
            parallelism,
            weight_precision,
            kv_precision,
            compute_precision,
            memory_utilization: 0.9,
        };
        let free = d.kv_capacity_bytes_per_gpu();
        if free.count() <= 0.0 {
            return Err(EstimateError::DoesNotFit {
                model: model.id.clone(),
                hardware: hardware.id.clone(),
                gpus,
                need_gb: d.weight_bytes_per_gpu().gb(),
                have_gb: hardware.hbm().gb() * d.memory_utilization,
                min_gpus: d.min_gpus(),
            });
        }
        Ok(d)
    }

    /// Overrides the KV-cache precision.
    pub fn with_kv_precision(mut self, p: Precision) -> Self {
        self.kv_precision = p;
        self
    }

    /// Bytes of all weights.
    pub fn weight_bytes(&self) -> Bytes {
        Bytes::new(self.model.total_params() * self.weight_precision.bytes())
    }

    /// Bytes of the weights every token uses (attention, embeddings, dense and shared-expert
    /// layers).
    pub fn shared_weight_bytes(&self) -> Bytes {
        Bytes::new(self.model.shared_params() * self.weight_precision.bytes())
    }

    /// Bytes of the routed experts (zero for a dense model).
    pub fn expert_weight_bytes(&self) -> Bytes {
        self.weight_bytes() - self.shared_weight_bytes()
    }

    /// Weight bytes each GPU holds: the shared weights sharded over the tensor-parallel group
    /// (each data-parallel rank keeps a copy), the routed experts over every GPU.
    pub fn weight_bytes_per_gpu(&self) -> Bytes {
        self.shared_weight_bytes() / f64::from(self.parallelism.tensor)
            + self.expert_weight_bytes() / f64::from(self.gpus)
    }

    /// KV-cache bytes per token of context, over all attention layers (one copy).
    pub fn kv_bytes_per_token(&self) -> Bytes {
        Bytes::new(
            self.model.attention_layer_count()
                * self.model.kv_values_per_token_layer()
                * self.kv_precision.bytes(),
        )
    }

    /// Recurrent state of one sequence in the state-space layers of a hybrid model, bytes
    /// (kept in 16 bit, as vLLM's Mamba kernels do).
    pub fn ssm_state_bytes_per_seq(&self) -> Bytes {
        Bytes::new(self.model.ssm_state_values_per_seq() * 2.0)
    }

    /// How many ways the KV cache is split inside one data-parallel rank: heads shard across
    /// the tensor-parallel GPUs, but when there are fewer KV heads than GPUs each KV head is
    /// replicated.
    pub fn kv_shards(&self) -> f64 {
        let heads = if self.model.is_latent_attention() {
            1 // latent attention caches one shared vector per token
        } else {
            self.model.kv_heads
        };
        f64::from(self.parallelism.tensor.min(heads.max(1)))
    }

    /// KV-cache bytes per token held on each GPU of the token's data-parallel rank.
    pub fn kv_bytes_per_token_per_gpu(&self) -> Bytes {
        self.kv_bytes_per_token() / self.kv_shards()
    }

    /// HBM left for the KV cache on each GPU after weights and the activation reserve, as
    /// vLLM's memory profiler leaves it: `gpu_memory_utilization x HBM - weights - activation
    /// peak - CUDA graphs`.
    pub fn kv_capacity_bytes_per_gpu(&self) -> Bytes {
        let usable = self.hardware.hbm() * self.memory_utilization;
        usable - self.weight_bytes_per_gpu() - self.activation_reserve()
    }

    /// Activation peak, CUDA graphs and allocator fragmentation per GPU: about 4% of HBM in
    /// vLLM's profiles of 80-192 GB accelerators, at least 1 GB.
    pub fn activation_reserve(&self) -> Bytes {
        let hbm = self.hardware.hbm();
        if hbm.gb() * 0.04 < 1.0 {
            Bytes::from_gb(1.0_f64.min(hbm.gb() * 0.1))
        } else {
            hbm * 0.04
        }
    }

    /// Tokens of context the replica's KV cache can hold (tokens cached in every attention
    /// layer), over all data-parallel ranks.
    pub fn kv_capacity_tokens(&self) -> f64 {
        let per_token = self.kv_bytes_per_token_per_gpu().count();
        if per_token <= 0.0 {
            return f64::INFINITY;
        }
        (self.kv_capacity_bytes_per_gpu().count() / per_token).max(0.0)
            * f64::from(self.parallelism.data)
    }

    /// The most sequences of `context` tokens the replica can hold at once: KV cache and, for
    /// hybrid models, the recurrent state of the state-space layers, which vLLM reserves per
    /// sequence in the same memory pool.
    pub fn max_sequences(&self, context: f64) -> f64 {
        let free = self.kv_capacity_bytes_per_gpu().count().max(0.0);
        let kv = self.kv_footprint_tokens(context) * self.kv_bytes_per_token_per_gpu().count();
        let state = self.ssm_state_bytes_per_seq().count() / f64::from(self.parallelism.tensor);
        let per_seq = kv + state;
        if per_seq <= 0.0 {
            return f64::INFINITY;
        }
        free / per_seq * f64::from(self.parallelism.data)
    }

    /// KV cache one sequence of `context` tokens occupies, in tokens cached in every layer:
    /// layers with a sliding window keep only the last `window` tokens.
    pub fn kv_footprint_tokens(&self, context: f64) -> f64 {
        self.kv_footprint().tokens(context)
    }

    /// The model's sliding-window rule (see [`KvFootprint`]): what its KV cache keeps, and
    /// what the roofline's windowed layers attend to.
    pub fn kv_footprint(&self) -> KvFootprint {
        match self.model.sliding() {
            Some((window, share)) => KvFootprint { window, share },
            None => KvFootprint::FULL,
        }
    }

    /// Fewest accelerators of this kind on which the weights fit (a power of two when
    /// possible, as tensor parallelism needs).
    pub fn min_gpus(&self) -> u32 {
        let per = (self.hardware.hbm() * self.memory_utilization - self.activation_reserve())
            .count()
            .max(1.0);
        let need = (self.weight_bytes().count() / per).ceil().max(1.0);
        let mut n = 1u32;
        while f64::from(n) < need * 1.05 && n < 4096 {
            n *= 2;
        }
        n
    }

    /// Dense peak of one accelerator at the compute precision.
    pub fn peak_per_gpu(&self) -> FlopRate {
        self.hardware
            .peak(self.compute_precision)
            .unwrap_or(FlopRate::ZERO)
    }

    /// HBM bandwidth of one accelerator.
    pub fn bandwidth_per_gpu(&self) -> ByteRate {
        self.hardware.hbm_bandwidth()
    }

    /// Idle power of the whole replica's accelerators.
    pub fn idle_power(&self) -> Power {
        self.hardware.idle() * f64::from(self.gpus)
    }

    /// Board power limit of the whole replica's accelerators.
    pub fn tdp(&self) -> Power {
        self.hardware.tdp() * f64::from(self.gpus)
    }
}

/// How much KV cache a sequence occupies as its context grows, in tokens cached in every
/// layer: a share of the layers attends within a sliding window and keeps only its last
/// `window` tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvFootprint {
    /// Window of the windowed layers, tokens (infinite when none).
    pub window: f64,
    /// Share of layers with a window (0 when none).
    pub share: f64,
}

impl KvFootprint {
    /// Every layer keeps every token.
    pub const FULL: Self = Self {
        window: f64::INFINITY,
        share: 0.0,
    };

    /// Footprint of a sequence of `context` tokens.
    #[inline]
    pub fn tokens(&self, context: f64) -> f64 {
        (1.0 - self.share) * context + self.share * context.min(self.window)
    }

    /// Whether every layer keeps every token.
    pub fn is_full(&self) -> bool {
        self.share == 0.0
    }
}

impl Default for KvFootprint {
    fn default() -> Self {
        Self::FULL
    }
}

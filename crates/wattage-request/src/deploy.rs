//! A deployment: one model on N accelerators (tensor parallel), in a precision.

use wattage_catalog::{Hardware, Model, Precision};
use wattage_units::{ByteRate, Bytes, FlopRate, Power};

use crate::EstimateError;

/// One replica: a model served on `gpus` accelerators with tensor parallelism.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The model.
    pub model: Model,
    /// The accelerator.
    pub hardware: Hardware,
    /// Accelerators in the replica (tensor-parallel degree).
    pub gpus: u32,
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
        if gpus == 0 {
            return Err(EstimateError::invalid("gpus", "must be at least 1"));
        }
        if gpus > 4096 {
            return Err(EstimateError::invalid(
                "gpus",
                "a tensor-parallel replica of more than 4096 accelerators is not supported",
            ));
        }
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
                need_gb: d.weight_bytes().gb() / f64::from(gpus),
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

    /// KV-cache bytes per token of context, over the whole replica.
    pub fn kv_bytes_per_token(&self) -> Bytes {
        Bytes::new(
            f64::from(self.model.layers)
                * self.model.kv_values_per_token_layer()
                * self.kv_precision.bytes(),
        )
    }

    /// How many ways the KV cache is split: heads shard across GPUs, but when there are fewer
    /// KV heads than GPUs each KV head is replicated.
    pub fn kv_shards(&self) -> f64 {
        let heads = if self.model.is_latent_attention() {
            1 // latent attention caches one shared vector per token
        } else {
            self.model.kv_heads
        };
        f64::from(self.gpus.min(heads.max(1)))
    }

    /// KV-cache bytes per token held on each GPU.
    pub fn kv_bytes_per_token_per_gpu(&self) -> Bytes {
        self.kv_bytes_per_token() / self.kv_shards()
    }

    /// HBM left for the KV cache on each GPU after weights and a fixed activation reserve.
    pub fn kv_capacity_bytes_per_gpu(&self) -> Bytes {
        let usable = self.hardware.hbm() * self.memory_utilization;
        // Activations, CUDA graphs and fragmentation: about 4% of HBM in vLLM profiles.
        let reserve = self.hardware.hbm() * 0.04;
        usable - self.weight_bytes() / f64::from(self.gpus) - reserve
    }

    /// Tokens of context the replica's KV cache can hold (tokens cached in every layer).
    pub fn kv_capacity_tokens(&self) -> f64 {
        (self.kv_capacity_bytes_per_gpu() / self.kv_bytes_per_token_per_gpu()).max(0.0)
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
        let per = self.hardware.hbm().count() * (self.memory_utilization - 0.04);
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

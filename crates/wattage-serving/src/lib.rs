//! Discrete-event simulation of LLM serving: a request stream batched on GPU replicas ->
//! utilization, latency, watts and energy per request.
//!
//! # What it models
//! - A fleet of identical **replicas**, each a [`Deployment`] (one model tensor-parallel on N
//!   accelerators). The duration and power of every engine iteration come from
//!   [`Roofline::step`], the same model `wattage estimate` uses.
//! - A **scheduler** per replica ([`SchedulerConfig`]): vLLM-style continuous batching (max
//!   sequences, max batched tokens, a paged KV cache of 16-token blocks sized by
//!   [`Deployment::kv_capacity_tokens`], preemption by recompute when it is full, chunked
//!   prefill on by default), or static batching.
//! - A **router** ([`Router`]): round-robin, least outstanding requests, join-shortest-queue.
//! - A **workload** ([`Workload`]): Poisson or gamma arrivals with an optional diurnal rate,
//!   lengths from a lognormal (mean and spread) or an empirical histogram; closed-loop clients;
//!   or a replayed trace in the Azure LLM inference format ([`trace`]), scaled and repeated.
//!
//! # Energy accounting
//! Each iteration's accelerator energy (power x duration) is split over the sequences in it
//! by their share of the tokens processed (a prefill chunk counts its tokens, a decoding
//! sequence one). Energy while a replica is idle is kept apart and, when
//! [`SimConfig::spread_idle`] is set, spread evenly over requests in the headline figures.
//! Sums are exact: per-request energies plus idle energy equal the integrated power series.
//! Scopes (gpu, server, facility) follow the small conversion in [`scope`].
//!
//! # Assumptions
//! - The first output token comes out of the iteration that finishes the prompt; each later
//!   one takes one decode iteration. A sequence decoding at context `c` attends to `c + 1`
//!   tokens; a prefill chunk of `k` tokens after `a` computed ones attends to
//!   `k a + k (k + 1) / 2`.
//! - Blocks count tokens cached in every layer. A model whose layers partly attend within a
//!   sliding window ([`wattage_request::KvFootprint`]) needs, for a context of `c` tokens,
//!   `(1 - share) c + share min(c, window)` of them, as vLLM's hybrid allocator frees a
//!   windowed layer's blocks once they fall out of the window.
//! - Preemption frees all of a sequence's blocks; it later prefills prompt plus generated
//!   tokens again (vLLM's recompute mode).
//! - A request whose prompt plus output exceed a replica's KV cache is rejected and counted.
//! - Host power is drawn all the time; network time between client and server is ignored.
//!
//! # Purity and determinism
//! No file IO, terminal or clock: traces arrive as text, randomness comes from the
//! [`ChaCha8Rng`](rand_chacha::ChaCha8Rng) passed in, and events at equal times run in the
//! order they were scheduled. The same inputs and seed give bit-identical output. Memory
//! grows with the requests in flight, not with the length of the run (latency percentiles
//! come from fixed-size log histograms with under 0.4% relative error), unless per-request
//! records are asked for.
//!
//! # Example
//! ```
//! use rand::SeedableRng;
//! use rand_chacha::ChaCha8Rng;
//! use wattage_catalog::Catalog;
//! use wattage_request::{Deployment, RooflineParams};
//! use wattage_serving::{LengthDist, SimConfig, Simulator, Synthetic, Workload};
//!
//! let cat = Catalog::builtin();
//! let d = Deployment::new(cat.model("llama-3.1-8b").unwrap(), cat.hardware("h100").unwrap(), 1, None).unwrap();
//! let w = Workload::Synthetic(Synthetic {
//!     rate_per_s: 5.0,
//!     arrivals: Default::default(),
//!     profile: Default::default(),
//!     input: LengthDist::Lognormal { mean: 500.0, cv: 1.0 },
//!     output: LengthDist::Lognormal { mean: 300.0, cv: 0.8 },
//!     duration_s: Some(60.0),
//!     requests: None,
//! });
//! let sim = Simulator::new(&d, RooflineParams::default(), &SimConfig::default(), &w, ChaCha8Rng::seed_from_u64(7)).unwrap();
//! let out = sim.run();
//! assert!(out.summary.requests > 200);
//! assert!(out.summary.compute_utilization < 0.5);
//! ```

pub mod capacity;
pub mod hist;
pub mod metrics;
pub mod policy;
pub mod router;
pub mod scope;
pub mod sim;
pub mod trace;
pub mod workload;

pub use capacity::{CapacityPlan, Slo, flat_estimate, plan_capacity};
pub use hist::LogHistogram;
pub use metrics::{PowerSeries, RequestRecord, ScopeEnergy, SimOutput, Summary};
pub use policy::{Policy, SchedulerConfig};
pub use router::Router;
pub use scope::{Scope, ScopeModel, ScopeParams};
pub use sim::{SimConfig, Simulator};
pub use trace::{TraceRecord, parse_azure, parse_azure_str};
pub use workload::{
    ArrivalProcess, ClosedLoop, LengthDist, RateProfile, Synthetic, TraceOptions, TraceReplay,
    Workload,
};

#[doc(no_inline)]
pub use wattage_request::{Deployment, Roofline, RooflineParams};

/// What can go wrong setting up a simulation. Every variant names the input at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// A setting is impossible.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The setting at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A trace line is malformed.
    #[error("trace line {line}: field `{field}`: {reason}")]
    Trace {
        /// 1-based line number.
        line: usize,
        /// The column at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl SimError {
    /// An invalid-setting error.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
    /// A trace error.
    pub fn trace(line: usize, field: &'static str, reason: impl Into<String>) -> Self {
        Self::Trace {
            line,
            field,
            reason: reason.into(),
        }
    }
}

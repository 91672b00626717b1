//! The per-request energy model: from the FLOPs and bytes of an LLM request (or a training run)
//! to time, energy, carbon, water and cost.
//!
//! Two methods:
//! - [`epoch`]: the flat-utilization method of Epoch AI's 2025 estimate (seed 003): FLOP =
//!   2 x active parameters x tokens, GPU time = FLOP / (peak x utilization), energy = GPU time x
//!   all-in power x power fraction; long prompts add a prefill term with its own utilization
//!   and a quadratic attention term.
//! - [`roofline`] (the default): each engine iteration is timed from its FLOPs and bytes
//!   against the accelerator's compute and memory ceilings, with tensor-parallel communication
//!   and software overhead; power follows from how busy compute and memory are.
//!
//! This crate is pure: no IO, no terminal, no clocks; randomness is seeded by the caller.
//!
//! ```
//! use wattage_catalog::Catalog;
//! use wattage_request::{Deployment, Roofline, RooflineParams, Step};
//! let cat = Catalog::builtin();
//! let d = Deployment::new(cat.model("llama-3.1-8b").unwrap(), cat.hardware("h100").unwrap(), 1, None).unwrap();
//! let r = Roofline::new(&d, RooflineParams::default());
//! let c = r.step(&Step::decode(8.0, 600.0));
//! assert!(c.time.ms() > 5.0 && c.time.ms() < 10.0);
//! ```

pub mod assumptions;
pub mod calibration;
pub mod deploy;
pub mod estimate;
pub mod fleet;
pub mod presets;
pub mod roofline;
pub mod tco;
pub mod training;
pub mod uncertainty;

pub use assumptions::{AssumptionRow, Assumptions, Method, Scope};
pub use deploy::{Deployment, KvFootprint};
pub use estimate::{Breakdown, Estimate, Request, estimate};
pub use roofline::{Roofline, RooflineParams, Step, StepCost};

/// What can go wrong building an estimate. Every variant names the input at fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EstimateError {
    /// An input value is impossible.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The input (flag or field) at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The weights do not fit in the replica's memory.
    #[error(
        "`{model}` does not fit on {gpus} x `{hardware}`: weights need {need_gb:.1} GB per GPU, {have_gb:.1} GB usable; it needs at least {min_gpus} GPUs"
    )]
    DoesNotFit {
        /// Model id.
        model: String,
        /// Hardware id.
        hardware: String,
        /// Accelerators asked for.
        gpus: u32,
        /// Weight bytes per accelerator, GB.
        need_gb: f64,
        /// Usable bytes per accelerator, GB.
        have_gb: f64,
        /// Fewest accelerators on which it fits.
        min_gpus: u32,
    },
}

impl EstimateError {
    /// An invalid-input error.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

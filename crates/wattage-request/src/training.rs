//! Energy, power and emissions of a training run.

use serde::Serialize;
use wattage_units::{CarbonIntensity, Co2e, Energy, Flop, FlopRate, Power, Time};

use crate::EstimateError;

/// How the run's accelerator time is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Compute {
    /// From first principles: `6 x active parameters x tokens` FLOP at a model FLOP utilization.
    Tokens {
        /// Parameters used per token.
        active_params: f64,
        /// Training tokens.
        tokens: f64,
        /// Dense peak of one accelerator at the training precision.
        peak: FlopRate,
        /// Model FLOP utilization (0-1).
        mfu: f64,
    },
    /// From reported accelerator-hours.
    GpuHours(f64),
    /// From a wall-clock duration on all accelerators.
    Duration(Time),
}

/// A training run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Training {
    /// What the accelerators computed.
    pub compute: Compute,
    /// Accelerators in the run.
    pub gpus: f64,
    /// Mean power per accelerator as measured or rated (board power).
    pub power_per_gpu: Power,
    /// Multiplier from board power to server-and-network power (1 when `power_per_gpu` is
    /// already all-in; Epoch AI's rule uses 1.82 on TDP).
    pub server_factor: f64,
    /// Power usage effectiveness of the facility.
    pub pue: f64,
    /// Grid carbon intensity.
    pub carbon: CarbonIntensity,
}

/// The result of a training estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainingEstimate {
    /// Floating-point operations (only when computed from tokens).
    pub flop: Option<Flop>,
    /// Accelerator-hours.
    pub gpu_hours: f64,
    /// Wall-clock duration.
    pub duration: Time,
    /// Facility power while training.
    pub power: Power,
    /// Facility energy.
    pub energy: Energy,
    /// Emissions.
    pub co2e: Co2e,
}

/// Estimates a training run.
pub fn estimate(t: &Training) -> Result<TrainingEstimate, EstimateError> {
    let pos = |f: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(EstimateError::invalid(
                f,
                format!("must be positive, got {v}"),
            ))
        }
    };
    pos("gpus", t.gpus)?;
    pos("power_w", t.power_per_gpu.w())?;
    pos("server_factor", t.server_factor)?;
    if !(t.pue.is_finite() && (1.0..=5.0).contains(&t.pue)) {
        return Err(EstimateError::invalid("pue", "must be between 1 and 5"));
    }
    let (flop, gpu_seconds) = match t.compute {
        Compute::Tokens {
            active_params,
            tokens,
            peak,
            mfu,
        } => {
            pos("active_params", active_params)?;
            pos("tokens", tokens)?;
            pos("peak", peak.flops())?;
            if !((1e-3..=1.0).contains(&mfu)) {
                return Err(EstimateError::invalid("mfu", "must be in [0.001, 1]"));
            }
            let flop = Flop::new(6.0 * active_params * tokens);
            (Some(flop), (flop / (peak * mfu)).s())
        }
        Compute::GpuHours(h) => {
            pos("gpu_hours", h)?;
            (None, h * 3600.0)
        }
        Compute::Duration(d) => {
            pos("days", d.s())?;
            (None, d.s() * t.gpus)
        }
    };
    let duration = Time::from_s(gpu_seconds / t.gpus);
    let power = t.power_per_gpu * (t.gpus * t.server_factor * t.pue);
    let energy = power * duration;
    Ok(TrainingEstimate {
        flop,
        gpu_hours: gpu_seconds / 3600.0,
        duration,
        power,
        energy,
        co2e: energy * t.carbon,
    })
}

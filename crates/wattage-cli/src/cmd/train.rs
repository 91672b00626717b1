//! `wattage train`: energy, power and emissions of a training run.

use serde_json::json;
use wattage_catalog::Precision;
use wattage_request::training::{self, Compute, Training};
use wattage_units::{CarbonIntensity, Power, Time};

use crate::cmd::estimate::{lookup, request_error};
use crate::common::{Global, out, out_json, user};

/// Arguments of `wattage train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model (catalog id, alias or Hugging Face repository); with --tokens
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// Training tokens; with --model
    #[arg(long)]
    pub tokens: Option<f64>,
    /// Model FLOP utilization, 0-1
    #[arg(long, default_value_t = 0.4)]
    pub mfu: f64,
    /// Training precision for the peak throughput
    #[arg(long, default_value = "bf16")]
    pub precision: String,
    /// Reported accelerator-hours (instead of --model/--tokens)
    #[arg(long = "gpu-hours")]
    pub gpu_hours: Option<f64>,
    /// Wall-clock days on all accelerators (instead of --model/--tokens)
    #[arg(long)]
    pub days: Option<f64>,
    /// Accelerator
    #[arg(long = "hardware", visible_alias = "hw", default_value = "h100-sxm")]
    pub hardware: String,
    /// Accelerators in the run
    #[arg(long, default_value_t = 16_384.0)]
    pub gpus: f64,
    /// Mean power per accelerator, W [default: the accelerator's TDP]
    #[arg(long = "power-w")]
    pub power_w: Option<f64>,
    /// Server-and-network multiplier on accelerator power (Epoch AI's rule: 1.82 on TDP)
    #[arg(long = "server-factor", default_value_t = 1.82)]
    pub server_factor: f64,
    /// Grid region for carbon intensity and PUE
    #[arg(long, default_value = "us-average")]
    pub region: String,
    /// Power usage effectiveness [default: the region's]
    #[arg(long)]
    pub pue: Option<f64>,
    /// Carbon intensity, gCO2e/kWh [default: the region's]
    #[arg(long = "carbon-g-per-kwh")]
    pub carbon: Option<f64>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let hw = lookup(cat.hardware(&a.hardware), "hardware")?;
    let region = lookup(cat.region(&a.region), "regions")?;
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: String| user(format!("invalid `--precision`: {e}")))?;
    let given = [a.tokens.is_some(), a.gpu_hours.is_some(), a.days.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        return Err(user(
            "give exactly one of `--model M --tokens N`, `--gpu-hours H` or `--days D`",
        ));
    }
    let compute = if let Some(tokens) = a.tokens {
        let name = a
            .model
            .as_deref()
            .ok_or_else(|| user("`--tokens` needs `--model`"))?;
        let m = lookup(cat.model(name), "models")?;
        let peak = hw.peak(precision).ok_or_else(|| {
            user(format!(
                "invalid `--precision`: `{}` has no dense {precision} throughput",
                hw.id
            ))
        })?;
        Compute::Tokens {
            active_params: m.active_params(),
            tokens,
            peak,
            mfu: a.mfu,
        }
    } else if let Some(h) = a.gpu_hours {
        Compute::GpuHours(h)
    } else {
        Compute::Duration(Time::from_days(a.days.unwrap_or(0.0)))
    };
    let t = Training {
        compute,
        gpus: a.gpus,
        power_per_gpu: Power::from_w(a.power_w.unwrap_or(hw.tdp_w)),
        server_factor: a.server_factor,
        pue: a.pue.unwrap_or(region.pue),
        carbon: a
            .carbon
            .map_or(region.carbon(), CarbonIntensity::from_g_per_kwh),
    };
    let r = training::estimate(&t).map_err(request_error)?;
    if a.json {
        return out_json(&json!({
            "flop": r.flop.map(|f| f.count()),
            "gpu_hours": r.gpu_hours,
            "duration_days": r.duration.days(),
            "power_mw": r.power.mw(),
            "energy_mwh": r.energy.mwh(),
            "co2e_t": r.co2e.t(),
            "gpus": t.gpus,
            "power_per_gpu_w": t.power_per_gpu.w(),
            "server_factor": t.server_factor,
            "pue": t.pue,
            "carbon_g_per_kwh": t.carbon.g_per_kwh(),
        }));
    }
    if let Some(f) = r.flop {
        out(format!(
            "  compute     {:.3e} FLOP (6 x active parameters x tokens)",
            f.count()
        ));
    }
    out(format!(
        "  duration    {:.1} days on {:.0} x {} ({:.3e} GPU-hours)",
        r.duration.days(),
        t.gpus,
        hw.id,
        r.gpu_hours
    ));
    out(format!(
        "  power       {:.2} MW ({:.0} W x {} server factor x PUE {})",
        r.power.mw(),
        t.power_per_gpu.w(),
        t.server_factor,
        t.pue
    ));
    out(format!("  energy      {:.1} MWh", r.energy.mwh()));
    out(format!(
        "  emissions   {:.1} t CO2e at {:.0} gCO2e/kWh",
        r.co2e.t(),
        t.carbon.g_per_kwh()
    ));
    Ok(())
}

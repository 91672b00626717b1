//! `wattage train`: energy, power and emissions of a training run.

use wattage_engine::TrainSpec;

use crate::common::{AccountingArgs, Global, out, out_json};

/// Arguments of `wattage train`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
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
    /// Wall-clock time on all accelerators, e.g. `30d`, `2160h` (instead of
    /// --model/--tokens; a bare number is days, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// Deprecated: wall-clock days (use --duration, e.g. `--duration 30d`)
    #[arg(long, hide = true)]
    pub days: Option<f64>,
    /// Accelerator
    #[arg(long = "hardware", visible_alias = "hw", default_value = "h100-sxm")]
    pub hardware: String,
    /// Accelerators in the whole training job (a serving replica's are `--gpus` in
    /// `estimate` and `simulate serving`) [default: 16384]
    #[arg(long = "cluster-gpus", value_name = "N")]
    pub cluster_gpus: Option<f64>,
    /// Deprecated spelling of --cluster-gpus
    #[arg(long, hide = true)]
    pub gpus: Option<f64>,
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
    #[command(flatten)]
    pub accounting: AccountingArgs,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The engine's spec of these flags.
    pub fn spec(&self) -> TrainSpec {
        TrainSpec {
            model: self.model.clone(),
            tokens: self.tokens,
            mfu: self.mfu,
            precision: self.precision.clone(),
            gpu_hours: self.gpu_hours,
            duration: self.duration.clone().map(Into::into),
            days: self.days,
            hardware: self.hardware.clone(),
            cluster_gpus: self.cluster_gpus,
            gpus: self.gpus,
            power_w: self.power_w,
            server_factor: self.server_factor,
            region: self.region.clone(),
            pue: self.pue,
            carbon_g_per_kwh: self.carbon,
            cost_basis: self.accounting.cost_basis.clone(),
            clean_share: self.accounting.clean_share,
            residual_carbon_g_per_kwh: self.accounting.residual_carbon_g_per_kwh,
        }
    }
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let spec = a.spec();
    g.warn(&spec.deprecations());
    let r = wattage_engine::train::run(&cat, &spec)?;
    if a.json {
        return out_json(&r);
    }
    if let Some(f) = r.flop {
        out(format!(
            "  compute     {f:.3e} FLOP (6 x active parameters x tokens)"
        ));
    }
    out(format!(
        "  duration    {:.1} days on {:.0} x {} ({:.3e} GPU-hours)",
        r.duration_days, r.cluster_gpus, r.hardware, r.gpu_hours
    ));
    out(format!(
        "  power       {:.2} MW ({:.0} W x {} server factor x PUE {})",
        r.power_mw, r.power_per_gpu_w, r.server_factor, r.pue
    ));
    out(format!("  energy      {:.1} MWh", r.energy_mwh));
    out(format!(
        "  emissions   {:.1} t CO2e at {:.0} gCO2e/kWh",
        r.co2e_t, r.carbon_g_per_kwh
    ));
    let c = &r.carbon;
    if c.clean_share > 0.0 || c.market_based_g != c.location_based_g {
        out(format!(
            "  market-based {:.1} t CO2e ({:.0}% contracted clean energy, the rest at {:.0} gCO2e/kWh)",
            c.market_based_g / 1e6,
            100.0 * c.clean_share,
            c.residual_g_per_kwh
        ));
    }
    if let Some(m) = &r.embodied {
        out(format!(
            "  embodied    {:.1} t CO2e ({:.1} .. {:.1}), manufacturing of the hardware over {} years; not in emissions",
            m.co2e_t, m.co2e_t_low, m.co2e_t_high, m.rate.life_years
        ));
    }
    match &r.cost {
        Some(k) => out(format!(
            "  cost        electricity ${:.2}M + hardware ({}, ${:.3} per GPU-hour) ${:.2}M = ${:.2}M; electricity {:.1}% of the total",
            k.energy_usd / 1e6,
            k.basis.as_str(),
            k.hardware_rate.usd_per_gpu_hour,
            k.hardware_usd / 1e6,
            k.total_usd / 1e6,
            100.0 * k.energy_share
        )),
        None => out(format!(
            "  cost        electricity ${:.2}M (no hardware price in the catalog)",
            r.energy_cost_usd / 1e6
        )),
    }
    Ok(())
}

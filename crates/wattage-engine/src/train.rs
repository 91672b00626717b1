//! The training job: energy, power and emissions of a training run, from tokens (6 x active
//! parameters x tokens at a model FLOP utilization), reported accelerator-hours, or days.

use serde::{Deserialize, Serialize};
use wattage_catalog::{Catalog, Precision};
use wattage_request::training::{self, Compute, Training};
use wattage_units::{CarbonIntensity, Power, Time};

use crate::error::{Error, Result, request_error};
use crate::estimate::CarbonMethods;
use crate::spec::{BareUnit, DurationArg};
use wattage_request::tco::{self, CostBasis, EmbodiedRate, HourlyCapital, MarketBased};

/// A training run. Exactly one of `tokens` (with `model`), `gpu_hours` or `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSpec {
    /// Model (with `tokens`).
    pub model: Option<String>,
    /// Training tokens (with `model`).
    pub tokens: Option<f64>,
    /// Model FLOP utilization, 0-1.
    pub mfu: f64,
    /// Training precision for the peak throughput.
    pub precision: String,
    /// Reported accelerator-hours.
    pub gpu_hours: Option<f64>,
    /// Wall-clock time on all accelerators (`30d`, `2160h`; a bare number is days,
    /// deprecated).
    pub duration: Option<DurationArg>,
    /// Deprecated: wall-clock days (use `duration`).
    pub days: Option<f64>,
    /// Accelerator.
    pub hardware: String,
    /// Accelerators in the whole training job (a serving replica's are `gpus`)
    /// [default: 16,384].
    pub cluster_gpus: Option<f64>,
    /// Deprecated spelling of `cluster_gpus`.
    pub gpus: Option<f64>,
    /// Mean power per accelerator, W [default: its TDP].
    pub power_w: Option<f64>,
    /// Server-and-network multiplier on accelerator power.
    pub server_factor: f64,
    /// Grid region for carbon intensity and PUE.
    pub region: String,
    /// Power usage effectiveness [default: the region's].
    pub pue: Option<f64>,
    /// Carbon intensity, gCO2e/kWh [default: the region's].
    pub carbon_g_per_kwh: Option<f64>,
    /// How the hardware is paid for: `capex` or `rent` [default: capex when the catalog has
    /// the prices, else rent].
    pub cost_basis: Option<String>,
    /// Share of consumption covered by contracted clean energy, 0-1, for market-based carbon.
    pub clean_share: f64,
    /// Carbon intensity of uncovered consumption for market-based carbon, gCO2e/kWh
    /// [default: the region's residual mix, else its location-based average].
    pub residual_carbon_g_per_kwh: Option<f64>,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            model: None,
            tokens: None,
            mfu: 0.4,
            precision: "bf16".into(),
            gpu_hours: None,
            duration: None,
            days: None,
            hardware: "h100-sxm".into(),
            cluster_gpus: None,
            gpus: None,
            power_w: None,
            server_factor: 1.82,
            region: "us-average".into(),
            pue: None,
            carbon_g_per_kwh: None,
            cost_basis: None,
            clean_share: 0.0,
            residual_carbon_g_per_kwh: None,
        }
    }
}

/// A training run's estimate: what `wattage train --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainResult {
    /// Training compute, FLOP (from tokens only).
    pub flop: Option<f64>,
    /// Accelerator-hours.
    pub gpu_hours: f64,
    /// Wall-clock days.
    pub duration_days: f64,
    /// Facility power, MW.
    pub power_mw: f64,
    /// Energy, MWh.
    pub energy_mwh: f64,
    /// Emissions, t CO2e.
    pub co2e_t: f64,
    /// Accelerators in the training job.
    pub cluster_gpus: f64,
    /// Mean power per accelerator, W.
    pub power_per_gpu_w: f64,
    /// Server-and-network multiplier.
    pub server_factor: f64,
    /// Power usage effectiveness.
    pub pue: f64,
    /// Carbon intensity, gCO2e/kWh.
    pub carbon_g_per_kwh: f64,
    /// Catalog hardware id.
    pub hardware: String,
    /// Electricity cost at the region's price, USD.
    pub energy_cost_usd: f64,
    /// Electricity and hardware cost of the run (`None` when the catalog has no price or
    /// rent for the hardware).
    pub cost: Option<TrainCost>,
    /// Embodied emissions of the hardware for the run's accelerator-hours, a separate scope
    /// line (not in `co2e_t`; `None` when the catalog has no embodied figure).
    pub embodied: Option<TrainEmbodied>,
    /// Location-based and market-based carbon, t CO2e in `location_based_g` and
    /// `market_based_g` as grams.
    pub carbon: CarbonMethods,
}

/// A training run's cost split into electricity and hardware.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainCost {
    /// How the hardware is paid for.
    pub basis: CostBasis,
    /// Electricity, USD.
    pub energy_usd: f64,
    /// Hardware for the run's accelerator-hours, USD.
    pub hardware_usd: f64,
    /// Sum, USD.
    pub total_usd: f64,
    /// Electricity's share of the total.
    pub energy_share: f64,
    /// The hardware's cost per accelerator-hour with every input's source.
    pub hardware_rate: HourlyCapital,
}

/// A training run's embodied emissions, amortized over the hardware's service life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainEmbodied {
    /// Central value, t CO2e.
    pub co2e_t: f64,
    /// Low end, t CO2e.
    pub co2e_t_low: f64,
    /// High end, t CO2e.
    pub co2e_t_high: f64,
    /// The rate per accelerator-hour with every input's source.
    pub rate: EmbodiedRate,
}

/// Default accelerators of a training job.
pub const DEFAULT_CLUSTER_GPUS: f64 = 16_384.0;

impl TrainSpec {
    /// Deprecation warnings of this spec (old names, a bare number for the duration), for
    /// the front-end to show; parameters are written `` `{name}` ``.
    pub fn deprecations(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(m) = self
            .duration
            .as_ref()
            .and_then(|d| d.deprecation("duration", BareUnit::Days))
        {
            w.push(m);
        }
        if self.days.is_some() {
            w.push(crate::spec::renamed("days", "duration"));
        }
        if self.gpus.is_some() {
            w.push(crate::spec::renamed("gpus", "cluster_gpus"));
        }
        w
    }
}

/// Estimates a training run.
pub fn run(cat: &Catalog, a: &TrainSpec) -> Result<TrainResult> {
    if a.days.is_some() && a.duration.is_some() {
        return Err(Error::input(
            "`{days}` is the old name of `{duration}`: give only `{duration}`",
        ));
    }
    if a.gpus.is_some() && a.cluster_gpus.is_some() {
        return Err(Error::input(
            "`{gpus}` is the old name of `{cluster_gpus}`: give only `{cluster_gpus}`",
        ));
    }
    let days = match &a.duration {
        Some(d) => Some(d.parse("duration", BareUnit::Days)?.days()),
        None => a.days,
    };
    let days_param = if a.days.is_some() { "days" } else { "duration" };
    let gpus_param = if a.gpus.is_some() {
        "gpus"
    } else {
        "cluster_gpus"
    };
    let cluster_gpus = a.cluster_gpus.or(a.gpus).unwrap_or(DEFAULT_CLUSTER_GPUS);
    crate::limits::check_all(
        "train",
        &[
            ("tokens", a.tokens),
            ("mfu", Some(a.mfu)),
            ("gpu_hours", a.gpu_hours),
        ],
    )?;
    if let Some(d) = days {
        crate::limits::check("train", "duration", d).map_err(|e| e.at_param(days_param))?;
    }
    crate::limits::check("train", "cluster_gpus", cluster_gpus)
        .map_err(|e| e.at_param(gpus_param))?;
    crate::limits::check_all(
        "train",
        &[
            ("power_w", a.power_w),
            ("server_factor", Some(a.server_factor)),
            ("pue", a.pue),
            ("carbon_g_per_kwh", a.carbon_g_per_kwh),
        ],
    )?;
    let hw = cat
        .hardware(&a.hardware)
        .map_err(|e| Error::from(e).at_param("hardware"))?;
    let region = cat
        .region(&a.region)
        .map_err(|e| Error::from(e).at_param("region"))?;
    let precision: Precision = a
        .precision
        .parse()
        .map_err(|e: String| Error::param("precision", e))?;
    let given = [a.tokens.is_some(), a.gpu_hours.is_some(), days.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        return Err(Error::input(
            "give exactly one of `{model}` with `{tokens}`, `{gpu_hours}` or `{duration}`",
        ));
    }
    let compute = if let Some(tokens) = a.tokens {
        let name = a
            .model
            .as_deref()
            .ok_or_else(|| Error::param("tokens", "needs `{model}`"))?;
        let m = cat
            .model(name)
            .map_err(|e| Error::from(e).at_param("model"))?;
        let peak = hw.peak(precision).ok_or_else(|| {
            Error::param(
                "precision",
                format!("`{}` has no dense {precision} throughput", hw.id),
            )
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
        Compute::Duration(Time::from_days(days.unwrap_or(0.0)))
    };
    let t = Training {
        compute,
        gpus: cluster_gpus,
        power_per_gpu: Power::from_w(a.power_w.unwrap_or(hw.tdp_w)),
        server_factor: a.server_factor,
        pue: a.pue.unwrap_or(region.pue),
        carbon: a
            .carbon_g_per_kwh
            .map_or(region.carbon(), CarbonIntensity::from_g_per_kwh),
    };
    let r = training::estimate(&t).map_err(request_error)?;
    let basis = match &a.cost_basis {
        Some(b) => Some(
            b.parse::<CostBasis>()
                .map_err(|e| Error::param("cost_basis", e))?,
        ),
        None => tco::default_basis(hw),
    };
    let energy_cost = r.energy * region.price();
    let cost = match basis {
        Some(basis) => {
            let rate = tco::hourly_capital(hw, basis).map_err(request_error)?;
            let s = tco::split(energy_cost, r.gpu_hours, &rate);
            Some(TrainCost {
                basis,
                energy_usd: s.energy_usd,
                hardware_usd: s.hardware_usd,
                total_usd: s.total_usd,
                energy_share: s.energy_share,
                hardware_rate: rate,
            })
        }
        None => None,
    };
    let embodied = tco::embodied_rate(hw).map(|rate| {
        let [lo, mid, hi] = rate.over(r.gpu_hours);
        TrainEmbodied {
            co2e_t: mid.t(),
            co2e_t_low: lo.t(),
            co2e_t_high: hi.t(),
            rate,
        }
    });
    let market = MarketBased::new(region, t.carbon, a.clean_share, a.residual_carbon_g_per_kwh)
        .map_err(request_error)?;
    let carbon = CarbonMethods {
        location_based_g: r.co2e.g(),
        market_based_g: market.co2e(r.energy).g(),
        clean_share: market.clean_share,
        residual_g_per_kwh: market.residual_g_per_kwh,
        residual_source: market.residual_source,
    };
    if ![
        r.gpu_hours,
        r.duration.s(),
        r.power.w(),
        r.energy.j(),
        r.co2e.g(),
    ]
    .iter()
    .all(|x| x.is_finite())
    {
        return Err(Error::input(
            "the run is too large to compute (its energy overflows); check `{tokens}`, `{gpu_hours}`, `{duration}` and `{cluster_gpus}`",
        ));
    }
    Ok(TrainResult {
        flop: r.flop.map(|f| f.count()),
        gpu_hours: r.gpu_hours,
        duration_days: r.duration.days(),
        power_mw: r.power.mw(),
        energy_mwh: r.energy.mwh(),
        co2e_t: r.co2e.t(),
        cluster_gpus: t.gpus,
        power_per_gpu_w: t.power_per_gpu.w(),
        server_factor: t.server_factor,
        pue: t.pue,
        carbon_g_per_kwh: t.carbon.g_per_kwh(),
        hardware: hw.id.clone(),
        energy_cost_usd: energy_cost.usd(),
        cost,
        embodied,
        carbon,
    })
}

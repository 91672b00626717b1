//! `summary.json` of a run as typed structs: what `wattage run --json` prints and what
//! Python's `wattage.run(...)` returns. Numbers are rounded to 6 significant digits so that
//! summaries are stable across platforms' last bits.

use serde::Serialize;

use super::RunResult;
use super::headline::Headline;
use super::scenario::FleetMethod;
use super::uncertainty::{Band, FactorSummary, RunUncertainty, Totals};
use crate::optimize::OptimizeSummary;

/// Rounds to 6 significant digits (0 for zero and non-finite values).
pub fn r6(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let mag = v.abs().log10().floor() as i32;
    let k = 10f64.powi(5 - mag);
    (v * k).round() / k
}

/// The seeds a run used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seeds {
    /// Serving simulations and the per-request Monte Carlo.
    pub serving: u64,
    /// The site simulation.
    pub site: u64,
}

/// One request at the fleet's mean batch (facility scope).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    /// Mean batch of the fleet's load levels.
    pub batch: f64,
    /// Energy, Wh.
    pub energy_wh: f64,
    /// Monte Carlo 5th percentile, Wh.
    pub low_wh: f64,
    /// Monte Carlo 95th percentile, Wh.
    pub high_wh: f64,
    /// Accelerators, Wh.
    pub gpu_wh: f64,
    /// Host, Wh.
    pub host_wh: f64,
    /// Idle reserve, Wh.
    pub reserve_wh: f64,
    /// Cooling and power delivery, Wh.
    pub facility_overhead_wh: f64,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// One decode iteration, ms.
    pub decode_step_ms: f64,
    /// Emissions at the region's intensity, g CO2e.
    pub co2e_g: f64,
    /// Emissions of the same energy at the site's supply mix (interval by interval, weighted
    /// by the fleets' power), g CO2e.
    pub co2e_g_site_mix: f64,
    /// That supply mix's intensity, g/kWh.
    pub site_mix_g_per_kwh: f64,
    /// Water, mL.
    pub water_ml: f64,
    /// Seed 003's flat 10% method, Wh.
    pub flat_10pct_wh: f64,
}

/// The busiest hour's simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakHour {
    /// Median time to first token, ms.
    pub ttft_ms_p50: f64,
    /// 99th percentile time to first token, ms.
    pub ttft_ms_p99: f64,
    /// Median inter-token latency, ms.
    pub itl_ms_p50: f64,
    /// 99th percentile inter-token latency, ms.
    pub itl_ms_p99: f64,
    /// Mean running sequences.
    pub mean_batch_size: f64,
    /// Share of peak compute.
    pub compute_utilization: f64,
}

/// A service's fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSummary {
    /// `simulate` or `flat`.
    pub method: &'static str,
    /// Replicas.
    pub replicas: u32,
    /// Replicas scale with traffic.
    pub autoscale: bool,
    /// Fewest replicas running in any interval.
    pub replicas_running_min: u32,
    /// Accelerators.
    pub gpus: u64,
    /// Largest per-replica rate meeting the objectives.
    pub capacity_requests_per_s_per_replica: f64,
    /// Mean fleet rate.
    pub mean_requests_per_s: f64,
    /// Peak fleet rate.
    pub peak_requests_per_s: f64,
    /// Mean fleet server power, MW.
    pub mean_server_mw: f64,
    /// Peak fleet server power (5-minute mean), MW.
    pub peak_server_mw: f64,
    /// Server energy per request over the day, Wh.
    pub server_wh_per_request: f64,
    /// Facility energy per request over the day (site PUE), Wh.
    pub facility_wh_per_request: f64,
    /// Facility energy of a year of this fleet, GWh.
    pub annual_facility_gwh: f64,
    /// The busiest hour.
    pub peak_hour: PeakHour,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceSummary {
    /// Name.
    pub name: String,
    /// Catalog model id.
    pub model: String,
    /// True when the architecture is estimated.
    pub model_is_estimate: bool,
    /// Catalog hardware id.
    pub hardware: String,
    /// Accelerators per replica.
    pub gpus_per_replica: u32,
    /// Weight precision.
    pub precision: String,
    /// Requests per day.
    pub requests_per_day: f64,
    /// One request.
    pub request: RequestSummary,
    /// The fleet.
    pub fleet: FleetSummary,
}

/// Site energy by source, MWh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BySource {
    /// Grid import.
    pub grid: f64,
    /// Gas turbines.
    pub turbines: f64,
    /// Solar.
    pub solar: f64,
    /// Battery discharge.
    pub battery_discharge: f64,
    /// Unserved.
    pub unserved: f64,
}

/// Site energy by use, MWh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByUse {
    /// Inference IT.
    pub inference_it: f64,
    /// Training IT.
    pub training_it: f64,
    /// Training's dummy work (power smoothing).
    pub training_dummy_work: f64,
    /// Cooling and power overhead.
    pub facility_overhead: f64,
    /// Bitcoin miners.
    pub miners: f64,
    /// Battery charge.
    pub battery_charge: f64,
    /// Battery losses.
    pub battery_losses: f64,
}

/// Emissions by source, t CO2e.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Co2BySource {
    /// Grid.
    pub grid: f64,
    /// Gas turbines.
    pub turbines: f64,
}

/// The site over the whole horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSummary {
    /// Horizon, h.
    pub hours: f64,
    /// Dispatch step, s.
    pub step_s: f64,
    /// Energy by source.
    pub energy_mwh_by_source: BySource,
    /// Energy by use.
    pub energy_mwh_by_use: ByUse,
    /// Facility-to-IT energy ratio.
    pub effective_pue: f64,
    /// Peak facility load, MW.
    pub peak_facility_mw: f64,
    /// Peak grid import, MW.
    pub peak_grid_import_mw: f64,
    /// Mean over peak facility load.
    pub load_factor: f64,
    /// Unserved energy, MWh.
    pub unserved_mwh: f64,
    /// Total cost (energy, lost work, miners), USD.
    pub cost_usd: f64,
    /// Energy cost per MWh served, USD.
    pub cost_usd_per_mwh: f64,
    /// Energy cost per GPU-hour, USD.
    pub cost_usd_per_gpu_hour: f64,
    /// Emissions, t CO2e.
    pub co2e_t: f64,
    /// Emissions by source.
    pub co2e_t_by_source: Co2BySource,
    /// Water, m³.
    pub water_m3: f64,
    /// Fresh water, m³.
    pub water_fresh_m3: f64,
    /// Battery equivalent full cycles.
    pub battery_equivalent_cycles: f64,
    /// Steps that broke a ramp limit.
    pub ramp_violations: u64,
    /// AI interruptions.
    pub interruptions: u64,
    /// GPU-hours of work lost.
    pub gpu_hours_lost: f64,
    /// Miners' revenue, USD.
    pub miner_revenue_usd: f64,
    /// Energy cost (grid energy, demand charges, fuel, turbine O&M and starts, less exports),
    /// USD: `cost_usd` without lost work and miners.
    pub energy_cost_usd: f64,
    /// Value of training work lost to interruptions and the jobs' failures, USD.
    pub lost_work_usd: f64,
    /// Energy-weighted carbon intensity of what supplied the site, g/kWh.
    pub supply_g_per_kwh: f64,
    /// Largest power-balance error, MW.
    pub max_balance_error_mw: f64,
}

/// `summary.json` of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Scenario name.
    pub scenario: String,
    /// The site file.
    pub site_file: String,
    /// Seeds used.
    pub seed: Seeds,
    /// Services.
    pub services: Vec<ServiceSummary>,
    /// The site.
    pub site: SiteSummary,
    /// The optimizer's result, when asked for.
    pub optimized: Option<OptimizeSummary>,
    /// The hardware's capital cost beside the electricity, and its embodied emissions
    /// (a separate scope line, not in `site.co2e_t`), per service fleet and training job.
    pub capital: super::capital::CapitalSummary,
    /// The headline table: each figure with its unit, horizon, scope and range.
    pub headlines: Vec<Headline>,
    /// Ranges of the site's totals and the factors that move them (`null` with
    /// `uncertainty.samples = 0`).
    pub uncertainty: Option<UncertaintySummary>,
}

/// The run's uncertainty as `summary.json` holds it (rounded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintySummary {
    /// Monte Carlo samples.
    pub samples: u32,
    /// Seed of the draws.
    pub seed: u64,
    /// Step of the Monte Carlo's site runs, s.
    pub step_s: f64,
    /// Energy supplied to the site, MWh: 5th, 50th and 95th percentiles.
    pub energy_mwh: Band,
    /// Energy cost, USD.
    pub energy_cost_usd: Band,
    /// Emissions, t CO2e.
    pub co2e_t: Band,
    /// Every factor, largest swing first.
    pub factors: Vec<FactorSummary>,
}

fn band(b: &Band) -> Band {
    Band {
        p5: r6(b.p5),
        p50: r6(b.p50),
        p95: r6(b.p95),
    }
}

fn totals(t: &Totals) -> Totals {
    Totals {
        energy_mwh: r6(t.energy_mwh),
        energy_cost_usd: r6(t.energy_cost_usd),
        co2e_t: r6(t.co2e_t),
    }
}

fn uncertainty(u: &RunUncertainty) -> UncertaintySummary {
    UncertaintySummary {
        samples: u.samples,
        seed: u.seed,
        step_s: u.step_s,
        energy_mwh: band(&u.energy_mwh),
        energy_cost_usd: band(&u.energy_cost_usd),
        co2e_t: band(&u.co2e_t),
        factors: u
            .factors
            .iter()
            .map(|f| FactorSummary {
                low: r6(f.low),
                high: r6(f.high),
                at_low: totals(&f.at_low),
                at_high: totals(&f.at_high),
                swing: r6(f.swing),
                ..f.clone()
            })
            .collect(),
    }
}

/// Builds the summary of a run.
pub fn build(r: &RunResult) -> RunSummary {
    let k = &r.year.kpis;
    let pue = r.site_pue();
    let mix = super::headline::supply_mix(r);
    let services = r
        .services
        .iter()
        .map(|s| {
            let f = &s.fleet;
            let e = &s.estimate;
            let server_wh = f.server_wh_per_request();
            ServiceSummary {
                name: s.service.name.clone(),
                model: s.deployment.model.id.clone(),
                model_is_estimate: s.deployment.model.estimate,
                hardware: s.deployment.hardware.id.clone(),
                gpus_per_replica: s.deployment.gpus,
                precision: s.deployment.weight_precision.as_str().to_string(),
                requests_per_day: s.service.requests_per_day,
                request: RequestSummary {
                    batch: r6(super::mean_batch(&s.fleet)),
                    energy_wh: r6(e.energy.wh()),
                    low_wh: r6(s.mc.energy_wh.p5),
                    high_wh: r6(s.mc.energy_wh.p95),
                    gpu_wh: r6(e.breakdown.gpu.wh()),
                    host_wh: r6(e.breakdown.host.wh()),
                    reserve_wh: r6(e.breakdown.reserve.wh()),
                    facility_overhead_wh: r6(e.breakdown.facility_overhead.wh()),
                    ttft_ms: r6(e.ttft.ms()),
                    decode_step_ms: r6(e.decode_step.ms()),
                    co2e_g: r6(e.co2e.g()),
                    co2e_g_site_mix: r6(e.energy.wh() / 1e3 * mix.inference_g_per_kwh),
                    site_mix_g_per_kwh: r6(mix.inference_g_per_kwh),
                    water_ml: r6(e.water().ml()),
                    flat_10pct_wh: r6(s.flat.energy.wh()),
                },
                fleet: FleetSummary {
                    method: match f.method {
                        FleetMethod::Simulate => "simulate",
                        FleetMethod::Flat => "flat",
                    },
                    replicas: f.replicas,
                    autoscale: s.service.autoscale,
                    replicas_running_min: f
                        .day_replicas
                        .iter()
                        .copied()
                        .min()
                        .unwrap_or(f.replicas),
                    gpus: f.gpus(),
                    capacity_requests_per_s_per_replica: r6(f.capacity_per_replica),
                    mean_requests_per_s: r6(f.mean_rate),
                    peak_requests_per_s: r6(f.peak_rate),
                    mean_server_mw: r6(f.mean_server_w() / 1e6),
                    peak_server_mw: r6(f.peak_server_w() / 1e6),
                    server_wh_per_request: r6(server_wh),
                    facility_wh_per_request: r6(server_wh * pue),
                    annual_facility_gwh: r6(f.mean_server_w() * pue * 8760.0 / 1e9),
                    peak_hour: PeakHour {
                        ttft_ms_p50: r6(f.peak.summary.ttft_ms_p50),
                        ttft_ms_p99: r6(f.peak.summary.ttft_ms_p99),
                        itl_ms_p50: r6(f.peak.summary.itl_ms_p50),
                        itl_ms_p99: r6(f.peak.summary.itl_ms_p99),
                        mean_batch_size: r6(f.peak.summary.mean_batch_size),
                        compute_utilization: r6(f.peak.summary.compute_utilization),
                    },
                },
            }
        })
        .collect();
    let s = &k.energy_mwh_by_source;
    let u = &k.energy_mwh_by_use;
    RunSummary {
        scenario: r.loaded.scenario.name.clone(),
        site_file: r.loaded.site_origin.clone(),
        seed: Seeds {
            serving: r.loaded.scenario.serving_seed(),
            site: r.site.simulation.seed,
        },
        services,
        site: SiteSummary {
            hours: r6(k.hours),
            step_s: k.step_s,
            energy_mwh_by_source: BySource {
                grid: r6(s.grid),
                turbines: r6(s.turbines),
                solar: r6(s.solar),
                battery_discharge: r6(s.battery_discharge),
                unserved: r6(s.unserved),
            },
            energy_mwh_by_use: ByUse {
                inference_it: r6(u.inference_it),
                training_it: r6(u.training_it),
                training_dummy_work: r6(u.training_dummy_work),
                facility_overhead: r6(u.facility_overhead),
                miners: r6(u.miners),
                battery_charge: r6(u.battery_charge),
                battery_losses: r6(u.battery_losses),
            },
            effective_pue: r6(pue),
            peak_facility_mw: r6(k.peak_facility_mw),
            peak_grid_import_mw: r6(k.peak_grid_import_mw),
            load_factor: r6(k.load_factor),
            unserved_mwh: r6(k.unserved_mwh),
            cost_usd: r6(k.cost_usd),
            cost_usd_per_mwh: r6(k.cost_usd_per_mwh),
            cost_usd_per_gpu_hour: r6(k.cost_usd_per_gpu_hour),
            co2e_t: r6(k.co2e_t),
            co2e_t_by_source: Co2BySource {
                grid: r6(k.co2e_t_by_source.grid),
                turbines: r6(k.co2e_t_by_source.turbines),
            },
            water_m3: r6(k.water_m3),
            water_fresh_m3: r6(k.water_fresh_m3),
            battery_equivalent_cycles: r6(k.battery_equivalent_cycles),
            ramp_violations: k.ramp_violations,
            interruptions: k.interruptions,
            gpu_hours_lost: r6(k.gpu_hours_lost),
            miner_revenue_usd: r6(k.miner_revenue_usd),
            energy_cost_usd: r6(k.cost_usd_by_component.energy_total()),
            lost_work_usd: r6(
                k.cost_usd_by_component.interruptions + k.cost_usd_by_component.job_failures
            ),
            supply_g_per_kwh: r6(mix.site_g_per_kwh),
            max_balance_error_mw: k.max_balance_error_mw,
        },
        optimized: r.optimized.clone(),
        capital: super::capital::build(r),
        headlines: r
            .headlines()
            .0
            .into_iter()
            .map(|h| Headline {
                value: r6(h.value),
                low: h.low.map(r6),
                high: h.high.map(r6),
                ..h
            })
            .collect(),
        uncertainty: r.uncertainty.as_ref().map(uncertainty),
    }
}

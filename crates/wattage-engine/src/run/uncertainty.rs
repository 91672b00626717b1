//! Uncertainty of a run's totals: the request model's ranges carried through the fleet and the
//! site to the site's energy, energy cost and emissions.
//!
//! **Factors.** Each is a multiplier on a central input, triangular from `low` through 1 to
//! `high` (the inference factor excepted, see [`Factor::InferenceEnergy`]):
//! - the fleets' server power, by the request model's own Monte Carlo at server scope;
//! - the training jobs' GPU power, the facility's PUE (both change the load: the site is run
//!   again);
//! - grid carbon intensity, grid energy price, gas price and turbine heat rate (applied to the
//!   site's own cost and emission terms with dispatch held fixed: first order, as the
//!   rule-based dispatch serves the same load whatever these are, except that miners and
//!   batteries with price thresholds would shift a little).
//!
//! **Sensitivity pass.** Each factor is set to its low and then its high end, the others
//! central; its swing is the largest change of any total over the central run. Factors that
//! move no total by [`SWING_THRESHOLD`] or more are held central in the Monte Carlo (they are
//! still listed, with their swing). The swings are the tornado chart.
//!
//! **Monte Carlo.** `samples` draws of every retained factor, each a site run at
//! [`MC_STEP_S`] (or the site's step if longer), in parallel (rayon); sample `i` seeds its own
//! generator from the run's seed and `i`, so the ranges do not depend on the threads. Every
//! run uses the site's own seed (common random numbers: outages and trips are the same in
//! every sample, so the spread is the assumptions', not luck's). Each total's 5th and 95th
//! percentiles are taken as ratios to a central run at the same step and applied to the
//! headline run's value, so the coarser step's own bias cancels.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use wattage_request::uncertainty::{Quantiles, Uncertainty, monte_carlo};
use wattage_request::{Method, Request, Scope, estimate};
use wattage_site::{Kpis, RunOptions, Scenario};
use wattage_units::Time;

use super::{PROFILE_STEP_S, ServiceResult};
use crate::error::{Error, Result, request_error};

/// Step of the Monte Carlo's site runs, s (the site's own step when longer).
pub const MC_STEP_S: f64 = 60.0;
/// Samples when the scenario does not say.
pub const DEFAULT_SAMPLES: u32 = 64;
/// A factor that moves no total by this share or more is held central in the Monte Carlo.
pub const SWING_THRESHOLD: f64 = 0.01;
/// Samples of the request model's Monte Carlo that give the inference factor's range.
const REQUEST_SAMPLES: usize = 20_000;

/// An uncertain input of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// The fleets' server power: one draw of the request model's Monte Carlo at server scope
    /// (fitted roofline constants, host load) per sample, as a ratio to its central estimate,
    /// scaling each fleet's power. Its low/high are that Monte Carlo's 5th/95th percentiles.
    InferenceEnergy,
    /// The training jobs' GPU power in every phase (compute, communication, paused).
    TrainingPower,
    /// The facility's PUE.
    Pue,
    /// Grid carbon intensity.
    GridCarbon,
    /// Grid energy price (and export price).
    GridPrice,
    /// Gas price.
    FuelPrice,
    /// Turbine heat rate (fuel and emissions per MWh).
    HeatRate,
}

impl Factor {
    /// Every factor, in the order the generator draws them.
    pub const ALL: [Factor; 7] = [
        Factor::InferenceEnergy,
        Factor::TrainingPower,
        Factor::Pue,
        Factor::GridCarbon,
        Factor::GridPrice,
        Factor::FuelPrice,
        Factor::HeatRate,
    ];

    /// Its name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Factor::InferenceEnergy => "Inference server energy (request model)",
            Factor::TrainingPower => "Training GPU power",
            Factor::Pue => "Facility PUE",
            Factor::GridCarbon => "Grid carbon intensity",
            Factor::GridPrice => "Grid energy price",
            Factor::FuelPrice => "Gas price",
            Factor::HeatRate => "Turbine heat rate",
        }
    }

    /// Multipliers `(low, high)` of a triangular distribution with mode 1, and why.
    fn range(self) -> ((f64, f64), &'static str) {
        match self {
            Factor::InferenceEnergy => (
                (1.0, 1.0),
                "the request model's Monte Carlo at server scope (fitted roofline constants, host load 40-80%), 5th-95th percentile",
            ),
            Factor::TrainingPower => (
                (0.9, 1.1),
                "+-10%: the spread the request model's calibration leaves on active power (its `power_active` range)",
            ),
            Factor::Pue => (
                (0.95, 1.1),
                "-5%/+10%: the request model's default PUE range",
            ),
            Factor::GridCarbon => (
                (0.8, 1.2),
                "+-20%: the request model's default (average against marginal emissions)",
            ),
            Factor::GridPrice => (
                (0.85, 1.15),
                "assumption: +-15% on an industrial energy rate over a year",
            ),
            Factor::FuelPrice => (
                (0.7, 1.3),
                "assumption: +-30%; Henry Hub moved by more than this within 2024-25",
            ),
            Factor::HeatRate => (
                (0.95, 1.1),
                "assumption: -5%/+10%; part load and hot weather raise a simple-cycle turbine's heat rate more often than anything lowers it",
            ),
        }
    }

    /// True when the factor changes the load, so the site must be run again.
    fn reruns(self) -> bool {
        matches!(
            self,
            Factor::InferenceEnergy | Factor::TrainingPower | Factor::Pue
        )
    }
}

/// The three totals the Monte Carlo follows, over the site's horizon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Energy supplied to the site (grid, turbines, solar, battery discharge, unserved), MWh.
    pub energy_mwh: f64,
    /// Energy cost (grid energy, demand charges, fuel, turbine O&M and starts, less exports),
    /// USD; lost work and miners' revenue are not in it.
    pub energy_cost_usd: f64,
    /// Emissions of grid import and turbines, t CO2e.
    pub co2e_t: f64,
}

impl Totals {
    /// The totals of a site run (all multipliers central).
    pub fn of(k: &Kpis) -> Self {
        totals(k, &Mult::central(0))
    }

    fn get(&self, i: usize) -> f64 {
        [self.energy_mwh, self.energy_cost_usd, self.co2e_t][i]
    }

    /// `self` as a ratio to `base`, applied to `central` (a zero base keeps the central value).
    fn rescale(&self, base: &Totals, central: &Totals) -> Totals {
        let r = |i: usize| {
            let b = base.get(i);
            if b.abs() > 0.0 {
                central.get(i) * self.get(i) / b
            } else {
                central.get(i)
            }
        };
        Totals {
            energy_mwh: r(0),
            energy_cost_usd: r(1),
            co2e_t: r(2),
        }
    }
}

/// One factor: its range, whether the Monte Carlo draws it, and its swing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorSummary {
    /// The factor.
    pub factor: Factor,
    /// Its name.
    pub label: &'static str,
    /// Low end, as a multiplier on the central value.
    pub low: f64,
    /// High end, as a multiplier on the central value.
    pub high: f64,
    /// Why this range.
    pub source: &'static str,
    /// Drawn by the Monte Carlo (its swing reached [`SWING_THRESHOLD`]).
    pub sampled: bool,
    /// Totals with this factor at its low end, the others central.
    pub at_low: Totals,
    /// Totals with this factor at its high end, the others central.
    pub at_high: Totals,
    /// Largest relative change of any total between the two ends.
    pub swing: f64,
}

/// 5th, 50th and 95th percentiles of one total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Band {
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// The run's uncertainty (`summary.json`'s `uncertainty`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunUncertainty {
    /// Monte Carlo samples.
    pub samples: u32,
    /// Seed of the draws.
    pub seed: u64,
    /// Step of the Monte Carlo's site runs, s.
    pub step_s: f64,
    /// The headline run's totals.
    pub central: Totals,
    /// Energy supplied, MWh.
    pub energy_mwh: Band,
    /// Energy cost, USD.
    pub energy_cost_usd: Band,
    /// Emissions, t CO2e.
    pub co2e_t: Band,
    /// Every factor that applies to this site, largest swing first.
    pub factors: Vec<FactorSummary>,
}

/// Multipliers of one site run.
#[derive(Debug, Clone, PartialEq)]
struct Mult {
    inference: Vec<f64>,
    training: f64,
    pue: f64,
    carbon: f64,
    grid_price: f64,
    fuel_price: f64,
    heat_rate: f64,
}

impl Mult {
    fn central(services: usize) -> Self {
        Self {
            inference: vec![1.0; services],
            training: 1.0,
            pue: 1.0,
            carbon: 1.0,
            grid_price: 1.0,
            fuel_price: 1.0,
            heat_rate: 1.0,
        }
    }

    fn set(&mut self, f: Factor, v: f64) {
        match f {
            Factor::InferenceEnergy => self.inference.iter_mut().for_each(|x| *x = v),
            Factor::TrainingPower => self.training = v,
            Factor::Pue => self.pue = v,
            Factor::GridCarbon => self.carbon = v,
            Factor::GridPrice => self.grid_price = v,
            Factor::FuelPrice => self.fuel_price = v,
            Factor::HeatRate => self.heat_rate = v,
        }
    }

    fn needs_run(&self) -> bool {
        self.training != 1.0 || self.pue != 1.0 || self.inference.iter().any(|x| *x != 1.0)
    }
}

/// Totals of a run with the post-hoc multipliers (carbon, prices, heat rate) applied to its
/// cost and emission terms.
fn totals(k: &Kpis, m: &Mult) -> Totals {
    let s = &k.energy_mwh_by_source;
    let c = &k.cost_usd_by_component;
    Totals {
        energy_mwh: s.grid + s.turbines + s.solar + s.battery_discharge + s.unserved,
        energy_cost_usd: (c.grid_energy + c.export_revenue) * m.grid_price
            + c.demand_charge
            + c.fuel * m.fuel_price * m.heat_rate
            + c.turbine_om
            + c.starts,
        co2e_t: k.co2e_t_by_source.grid * m.carbon + k.co2e_t_by_source.turbines * m.heat_rate,
    }
}

/// A triangular draw with mode 1 from a uniform `u` (inverse CDF).
fn triangular(u: f64, low: f64, high: f64) -> f64 {
    let (a, b, c) = (low, high, 1.0);
    if b <= a {
        return 1.0;
    }
    let fc = (c - a) / (b - a);
    if u < fc {
        a + (u * (b - a) * (c - a)).sqrt()
    } else {
        b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
    }
}

/// The inputs the uncertainty pass needs from a run.
pub struct Inputs<'a> {
    /// The site with the fleets' load in place.
    pub site: &'a Scenario,
    /// Index of the site's inference load the fleets replace.
    pub load_index: usize,
    /// The services.
    pub services: &'a [ServiceResult],
    /// The headline run's KPIs.
    pub central: &'a Kpis,
    /// Samples.
    pub samples: u32,
    /// Seed.
    pub seed: u64,
}

/// The uncertainty model's reading of the request Monte Carlo for one service: its
/// deployment, request, assumptions (PUE, carbon and reserve left to the site) and central
/// server-scope energy.
struct RequestModel<'a> {
    s: &'a ServiceResult,
    req: Request,
    u: Uncertainty,
    central_wh: f64,
}

impl<'a> RequestModel<'a> {
    fn new(s: &'a ServiceResult) -> Result<Self> {
        let req = Request {
            input_tokens: s.service.input_tokens,
            output_tokens: s.service.output_tokens,
            batch: super::mean_batch(&s.fleet),
        };
        let mut u = Uncertainty::defaults(&s.assumptions, Method::Roofline);
        u.params
            .retain(|(n, _)| !matches!(n.as_str(), "pue" | "carbon" | "reserve"));
        let central_wh = estimate(
            &s.deployment,
            &req,
            &s.assumptions,
            Method::Roofline,
            Scope::Server,
        )
        .map_err(request_error)?
        .energy
        .wh();
        Ok(Self {
            s,
            req,
            u,
            central_wh,
        })
    }

    fn mc(&self, samples: usize, seed: u64) -> Result<Quantiles> {
        let r = monte_carlo(
            &self.s.deployment,
            &self.req,
            &self.s.assumptions,
            &self.u,
            Method::Roofline,
            Scope::Server,
            samples,
            seed,
        )
        .map_err(request_error)?;
        Ok(r.energy_wh)
    }

    /// 5th and 95th percentile ratios to the central estimate.
    fn range(&self, seed: u64) -> Result<(f64, f64)> {
        let q = self.mc(REQUEST_SAMPLES, seed)?;
        Ok(self.ratio(q.p5, q.p95))
    }

    /// One draw, as a ratio to the central estimate.
    fn draw(&self, seed: u64) -> Result<f64> {
        let q = self.mc(1, seed)?;
        Ok(self.ratio(q.p50, q.p50).0)
    }

    fn ratio(&self, a: f64, b: f64) -> (f64, f64) {
        if self.central_wh > 0.0 {
            (a / self.central_wh, b / self.central_wh)
        } else {
            (1.0, 1.0)
        }
    }
}

/// The step of the Monte Carlo's site runs.
pub fn step_of(site: &Scenario) -> Time {
    site.simulation.step.max(Time::from_s(MC_STEP_S))
}

/// Site runs the pass makes: the central run, two per load-changing factor, the samples.
pub fn runs(samples: u32) -> u64 {
    let ends = Factor::ALL.iter().filter(|f| f.reruns()).count() as u64 * 2;
    1 + ends + u64::from(samples)
}

/// The factors that apply to a site (a site without training, grid or turbines has nothing
/// for theirs to move).
fn applicable(site: &Scenario) -> Vec<Factor> {
    Factor::ALL
        .into_iter()
        .filter(|f| match f {
            Factor::InferenceEnergy | Factor::Pue => true,
            Factor::TrainingPower => !site.training.is_empty(),
            Factor::GridCarbon | Factor::GridPrice => site.grid.is_some(),
            Factor::FuelPrice | Factor::HeatRate => !site.turbines.is_empty(),
        })
        .collect()
}

/// Runs the sensitivity pass and the Monte Carlo.
pub fn analyse(inp: &Inputs) -> Result<RunUncertainty> {
    let models = inp
        .services
        .iter()
        .map(RequestModel::new)
        .collect::<Result<Vec<_>>>()?;
    let n_sv = models.len();
    // Per-service ranges of the inference factor, and their power-weighted mean for display.
    let inf_ranges = models
        .iter()
        .map(|m| m.range(inp.seed))
        .collect::<Result<Vec<_>>>()?;
    let weights: Vec<f64> = inp
        .services
        .iter()
        .map(|s| s.fleet.mean_server_w())
        .collect();
    let wsum: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let wmean = |f: fn(&(f64, f64)) -> f64| {
        inf_ranges
            .iter()
            .zip(&weights)
            .map(|(r, w)| f(r) * w)
            .sum::<f64>()
            / wsum
    };
    let inf_display = (wmean(|r| r.0), wmean(|r| r.1));

    let step = step_of(inp.site);
    let site_run = |m: &Mult| -> Result<Kpis> { run_site(inp, m, step) };
    let base_k = site_run(&Mult::central(n_sv))?;
    let base = totals(&base_k, &Mult::central(n_sv));
    let central = Totals::of(inp.central);
    // The totals under a set of multipliers: a site run when they change the site's
    // dispatch, the central run's KPIs otherwise; scaled onto the central run's figures.
    let evaluate = |m: &Mult| -> Result<Totals> {
        let k = if m.needs_run() {
            site_run(m)?
        } else {
            base_k.clone()
        };
        Ok(totals(&k, m).rescale(&base, &central))
    };

    // Sensitivity pass: each factor at each end, the others central.
    let factors = applicable(inp.site);
    let ends: Vec<(Factor, bool)> = factors
        .iter()
        .flat_map(|f| [(*f, false), (*f, true)])
        .collect();
    let end_totals: Vec<Totals> = ends
        .par_iter()
        .map(|(f, high)| {
            let mut m = Mult::central(n_sv);
            if *f == Factor::InferenceEnergy {
                m.inference = inf_ranges
                    .iter()
                    .map(|r| if *high { r.1 } else { r.0 })
                    .collect();
            } else {
                let (lo, hi) = f.range().0;
                m.set(*f, if *high { hi } else { lo });
            }
            evaluate(&m)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut summaries: Vec<FactorSummary> = factors
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (at_low, at_high) = (end_totals[2 * i], end_totals[2 * i + 1]);
            let swing = (0..3)
                .map(|j| {
                    let c = central.get(j);
                    if c.abs() > 0.0 {
                        (at_high.get(j) - at_low.get(j)).abs() / c.abs()
                    } else {
                        0.0
                    }
                })
                .fold(0.0, f64::max);
            let ((low, high), source) = if *f == Factor::InferenceEnergy {
                (inf_display, f.range().1)
            } else {
                f.range()
            };
            FactorSummary {
                factor: *f,
                label: f.label(),
                low,
                high,
                source,
                sampled: swing >= SWING_THRESHOLD,
                at_low,
                at_high,
                swing,
            }
        })
        .collect();

    // Monte Carlo over the retained factors.
    let sampled: Vec<Factor> = summaries
        .iter()
        .filter(|f| f.sampled)
        .map(|f| f.factor)
        .collect();
    let draws: Vec<Totals> = (0..inp.samples)
        .into_par_iter()
        .map(|i| {
            let s = sample_seed(inp.seed, i);
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let mut m = Mult::central(n_sv);
            // Every factor draws its uniform, used or not, so a factor's draw does not
            // depend on which others the sensitivity pass kept.
            for f in Factor::ALL {
                let u: f64 = rng.random();
                if !sampled.contains(&f) {
                    continue;
                }
                if f == Factor::InferenceEnergy {
                    let seed = rng.random::<u64>();
                    m.inference = models
                        .iter()
                        .map(|md| md.draw(seed))
                        .collect::<Result<Vec<_>>>()?;
                } else {
                    let (lo, hi) = f.range().0;
                    m.set(f, triangular(u, lo, hi));
                }
            }
            evaluate(&m)
        })
        .collect::<Result<Vec<_>>>()?;
    let band = |i: usize| {
        let mut v: Vec<f64> = draws.iter().map(|t| t.get(i)).collect();
        let q = Quantiles::of(&mut v);
        if draws.is_empty() {
            let c = central.get(i);
            Band {
                p5: c,
                p50: c,
                p95: c,
            }
        } else {
            Band {
                p5: q.p5,
                p50: q.p50,
                p95: q.p95,
            }
        }
    };
    summaries.sort_by(|a, b| b.swing.total_cmp(&a.swing));
    Ok(RunUncertainty {
        samples: inp.samples,
        seed: inp.seed,
        step_s: step.s(),
        central,
        energy_mwh: band(0),
        energy_cost_usd: band(1),
        co2e_t: band(2),
        factors: summaries,
    })
}

/// Sample `i`'s seed: the run's seed and `i` mixed (SplitMix64's finalizer), so neighbouring
/// samples' generators do not start from neighbouring seeds.
fn sample_seed(seed: u64, i: u32) -> u64 {
    let mut z = seed ^ (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The site with the load-changing multipliers applied, run at `step` without series.
fn run_site(inp: &Inputs, m: &Mult, step: Time) -> Result<Kpis> {
    let mut site = inp.site.clone();
    if m.inference.iter().any(|x| *x != 1.0) {
        let bins = inp.services[0].fleet.day_server_w.len();
        let day_mw: Vec<f64> = (0..bins)
            .map(|i| {
                inp.services
                    .iter()
                    .zip(&m.inference)
                    .map(|(s, x)| s.fleet.day_server_w[i] * x)
                    .sum::<f64>()
                    / 1e6
            })
            .collect();
        let days = (site.simulation.duration.s() / 86_400.0).ceil().max(1.0) as usize;
        let series: Vec<f64> = (0..days).flat_map(|_| day_mw.iter().copied()).collect();
        site.set_inference_series(inp.load_index, Time::from_s(PROFILE_STEP_S), series)
            .map_err(|e| Error::internal(format!("uncertainty: {e}")))?;
    }
    for t in &mut site.training {
        for f in [
            &mut t.compute_power_fraction,
            &mut t.comm_power_fraction,
            &mut t.idle_power_fraction,
        ] {
            *f = (*f * m.training).min(1.0);
        }
    }
    site.facility.pue = (site.facility.pue * m.pue).max(1.0);
    let opts = RunOptions {
        step,
        resolution: site.simulation.output_resolution.max(step),
        keep_series: false,
        ..RunOptions::from_scenario(&site)
    };
    wattage_site::simulate(&site, &opts)
        .map(|r| r.kpis)
        .map_err(|e| Error::internal(format!("uncertainty: the site run failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangular_inverse_cdf_spans_its_range() {
        assert_eq!(triangular(0.0, 0.8, 1.2), 0.8);
        assert!((triangular(1.0, 0.8, 1.2) - 1.2).abs() < 1e-12);
        assert!((triangular(0.5, 0.8, 1.2) - 1.0).abs() < 1e-12);
        // Mean of a triangular (low + mode + high) / 3.
        let n = 100_000;
        let mean = (0..n)
            .map(|i| triangular((f64::from(i) + 0.5) / f64::from(n), 0.7, 1.3))
            .sum::<f64>()
            / f64::from(n);
        assert!((mean - 1.0).abs() < 1e-4, "{mean}");
    }

    #[test]
    fn sample_seeds_differ() {
        let s: std::collections::BTreeSet<u64> = (0..1000).map(|i| sample_seed(7, i)).collect();
        assert_eq!(s.len(), 1000);
    }
}

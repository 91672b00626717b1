//! From a site scenario (`wattage_site::Scenario`) to a [`SiteProblem`], and back from an
//! optimum to a `wattage_site::Design` that the rule-based simulator can run.
//!
//! The scenario says what exists; an [`Expansion`] (its own small TOML file) says which ratings
//! the optimizer may grow and what they cost per year. The demand, price and solar series are
//! not recomputed here: the site simulator itself produces them in *probe* runs (the scenario's
//! loads on an unlimited, outage-free grid; each solar plant at 1 MW against an unlimited load),
//! averaged over each optimization step. So the LP sees exactly the demand the simulator
//! would serve, including training swings, checkpoint pauses and job failures of the seed.
//! The demand probe runs at the scenario's step, or at the LP's when that gives the same
//! series: constant loads and a price that changes only on LP step boundaries
//! (`coarse_demand_probe`).

use serde::Deserialize;
use wattage_site::Scenario;
use wattage_site::eval::Design;
use wattage_site::scenario::{
    Carbon, DemandCharge, Grid, InferenceLoad, InferenceShape, Profile, Series, SolarSource,
    Tariff, TurbineCommitment,
};
use wattage_site::sim::{Kpis, RunOptions, Simulator};
use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time, Usd};

use crate::problem::{
    BatterySpec, Commitment, EnergyCapacity, GridSpec, MinerSpec, PowerCapacity, SiteProblem,
    SocEnd, SolarSpec, TurbineSpec,
};
use crate::{OptimizeError, Solution};

/// What the optimizer may build, and at what annualized cost. Every list entry names an
/// asset of the scenario; assets not listed keep their rating.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expansion {
    /// Cost of each MWh of firm demand not served, USD/MWh (default 10,000).
    pub value_of_lost_load_usd_per_mwh: Option<f64>,
    /// Carbon price, USD per tonne CO2e (default 0).
    pub carbon_price_usd_per_t: Option<f64>,
    /// Cap on the horizon's emissions, tonnes CO2e.
    pub carbon_cap_t: Option<f64>,
    /// Battery end state: `"free"` (start at the scenario's initial state, end anywhere above
    /// the floor, as the simulator does; the default), `"initial"` (end at least at the initial
    /// state) or `"cyclic"` (end where the run started, which the optimizer chooses).
    pub battery_end: Option<String>,
    /// Grid connection upgrade.
    pub grid: Option<ExtendPower>,
    /// Turbine groups by name.
    #[serde(default)]
    pub turbines: Vec<ExtendNamed>,
    /// Batteries by name.
    #[serde(default)]
    pub batteries: Vec<ExtendBattery>,
    /// Solar plants by name.
    #[serde(default)]
    pub solar: Vec<ExtendNamed>,
}

/// A power rating that may grow.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendPower {
    /// Largest total rating, MW.
    pub max_mw: f64,
    /// Annualized cost of each MW added, USD per MW-year.
    pub annual_cost_usd_per_mw: f64,
}

/// A named asset's power rating that may grow.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendNamed {
    /// Name of the asset in the scenario.
    pub name: String,
    /// Largest total rating, MW.
    pub max_mw: f64,
    /// Annualized cost of each MW added, USD per MW-year.
    pub annual_cost_usd_per_mw: f64,
}

/// A battery whose power and energy may grow.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBattery {
    /// Name of the battery in the scenario.
    pub name: String,
    /// Largest power rating, MW.
    pub max_mw: Option<f64>,
    /// Annualized cost of each MW added, USD per MW-year.
    pub annual_cost_usd_per_mw: Option<f64>,
    /// Largest energy rating, MWh.
    pub max_mwh: Option<f64>,
    /// Annualized cost of each MWh added, USD per MWh-year.
    pub annual_cost_usd_per_mwh: Option<f64>,
    /// Wear cost per MWh discharged, USD/MWh.
    pub wear_cost_usd_per_mwh: Option<f64>,
}

/// Annualized costs used by [`Expansion::typical`]: overnight cost times a capital recovery
/// factor of about 0.1 per year (8%, 20 to 25 years) plus fixed O&M. Assumptions of the right
/// order for US projects in 2024-25 (NREL Annual Technology Baseline magnitudes), not quotes.
pub mod typical {
    /// Simple-cycle gas turbine, about $1,100/kW overnight plus $20/kW-yr fixed O&M.
    pub const TURBINE_USD_PER_MW_YEAR: f64 = 130_000.0;
    /// Battery power (inverters, grid connection), about $300/kW.
    pub const BATTERY_USD_PER_MW_YEAR: f64 = 35_000.0;
    /// Battery energy (cells, racks), about $300/kWh.
    pub const BATTERY_USD_PER_MWH_YEAR: f64 = 35_000.0;
    /// Utility-scale solar, about $1,100/kW plus $20/kW-yr fixed O&M.
    pub const SOLAR_USD_PER_MW_YEAR: f64 = 120_000.0;
    /// Grid connection upgrade (substation, lines), about $300/kW.
    pub const GRID_USD_PER_MW_YEAR: f64 = 30_000.0;
    /// Battery wear per MWh discharged.
    pub const BATTERY_WEAR_USD_PER_MWH: f64 = 5.0;
    /// Each existing rating may grow to this multiple.
    pub const MAX_MULTIPLE: f64 = 4.0;
}

impl Expansion {
    /// Parses an expansion file; errors name the line and field.
    pub fn parse(text: &str) -> Result<Self, OptimizeError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
                .unwrap_or(0);
            OptimizeError::invalid(
                format!("expansion file line {line}"),
                e.message().trim().to_string(),
            )
        })
    }

    /// Checks the expansion against the scenario it extends, before any work: every asset
    /// it names exists, `battery_end` is known, and every number is finite and not negative.
    /// The error's `field` is a path in the expansion file (`turbines[1].name`).
    pub fn check(&self, sc: &Scenario) -> Result<(), OptimizeError> {
        check_names(sc, self)?;
        if let Some(b) = self.battery_end.as_deref()
            && !matches!(b, "free" | "initial" | "cyclic")
        {
            return Err(OptimizeError::invalid(
                "battery_end",
                format!("is `{b}`; expected `free`, `initial` or `cyclic`"),
            ));
        }
        let mut numbers: Vec<(String, Option<f64>)> = vec![
            (
                "value_of_lost_load_usd_per_mwh".into(),
                self.value_of_lost_load_usd_per_mwh,
            ),
            ("carbon_price_usd_per_t".into(), self.carbon_price_usd_per_t),
            ("carbon_cap_t".into(), self.carbon_cap_t),
        ];
        if let Some(g) = &self.grid {
            numbers.push(("grid.max_mw".into(), Some(g.max_mw)));
            numbers.push((
                "grid.annual_cost_usd_per_mw".into(),
                Some(g.annual_cost_usd_per_mw),
            ));
        }
        for (kind, list) in [("turbines", &self.turbines), ("solar", &self.solar)] {
            for (i, e) in list.iter().enumerate() {
                numbers.push((format!("{kind}[{i}].max_mw"), Some(e.max_mw)));
                numbers.push((
                    format!("{kind}[{i}].annual_cost_usd_per_mw"),
                    Some(e.annual_cost_usd_per_mw),
                ));
            }
        }
        for (i, b) in self.batteries.iter().enumerate() {
            for (k, v) in [
                ("max_mw", b.max_mw),
                ("annual_cost_usd_per_mw", b.annual_cost_usd_per_mw),
                ("max_mwh", b.max_mwh),
                ("annual_cost_usd_per_mwh", b.annual_cost_usd_per_mwh),
                ("wear_cost_usd_per_mwh", b.wear_cost_usd_per_mwh),
            ] {
                numbers.push((format!("batteries[{i}].{k}"), v));
            }
        }
        for (field, v) in numbers {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(OptimizeError::invalid(
                    field,
                    format!("must be a finite number, 0 or more, got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// Every existing asset may grow to [`typical::MAX_MULTIPLE`] times its rating at the
    /// [`typical`] costs (solar only where the scenario has a plant, whose profile it uses).
    pub fn typical(sc: &Scenario) -> Self {
        use typical::*;
        let m = MAX_MULTIPLE;
        Self {
            grid: sc.grid.as_ref().map(|g| ExtendPower {
                max_mw: g.import_cap.mw() * m,
                annual_cost_usd_per_mw: GRID_USD_PER_MW_YEAR,
            }),
            turbines: sc
                .turbines
                .iter()
                .map(|t| ExtendNamed {
                    name: t.name.clone(),
                    max_mw: t.unit.mw() * t.count as f64 * m,
                    annual_cost_usd_per_mw: TURBINE_USD_PER_MW_YEAR,
                })
                .collect(),
            batteries: sc
                .batteries
                .iter()
                .map(|b| ExtendBattery {
                    name: b.name.clone(),
                    max_mw: Some(b.power.mw() * m),
                    annual_cost_usd_per_mw: Some(BATTERY_USD_PER_MW_YEAR),
                    max_mwh: Some(b.energy.mwh() * m),
                    annual_cost_usd_per_mwh: Some(BATTERY_USD_PER_MWH_YEAR),
                    wear_cost_usd_per_mwh: Some(BATTERY_WEAR_USD_PER_MWH),
                })
                .collect(),
            solar: sc
                .solar
                .iter()
                .map(|s| ExtendNamed {
                    name: s.name.clone(),
                    max_mw: s.nameplate.mw().max(1.0) * m,
                    annual_cost_usd_per_mw: SOLAR_USD_PER_MW_YEAR,
                })
                .collect(),
            ..Self::default()
        }
    }
}

/// How to turn a scenario into an LP.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvertOptions {
    /// LP step (default one hour).
    pub step: Time,
    /// Horizon (default: the scenario's).
    pub duration: Option<Time>,
    /// Step of the probe runs that produce the demand series (default: the scenario's step,
    /// so that training swings average exactly as the simulator sees them).
    pub probe_step: Option<Time>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            step: Time::from_h(1.0),
            duration: None,
            probe_step: None,
        }
    }
}

fn site_err(e: wattage_site::ScenarioError) -> OptimizeError {
    OptimizeError::invalid(e.field.clone(), e.message.clone())
}

/// A grid that never limits: the probe runs measure demand, not supply.
fn unlimited_grid(tariff: Tariff) -> Grid {
    Grid {
        import_cap: Power::from_gw(1000.0),
        export_cap: Power::ZERO,
        export_price_fraction: 0.0,
        tariff,
        demand_charge: DemandCharge::from_usd_per_kw_month(0.0),
        carbon: Carbon::Flat(CarbonIntensity::ZERO),
        ramp_limit: None,
        peak_shave: None,
        outages_per_year: 0.0,
        mean_outage: Time::from_h(1.0),
        outages: Vec::new(),
        demand_response: Vec::new(),
    }
}

/// The step of the demand probe when it may be the LP's own without changing its series: the
/// scenario's demand is constant and its price changes only on the LP's step boundaries.
///
/// The probe averages the facility load and the price over each LP step. When every load is a
/// constant inference load (no training, no diurnal shape or profile), the PUE does not follow
/// the temperature, and the tariff is flat, or time-of-use with its peak starting and ending
/// on whole LP steps of a day, both are constant within each LP step, and one probe step per
/// LP step gives the same averages as the scenario's (e.g. 60 s) steps. The PyPSA comparison
/// site: one year probed in 8,760 steps instead of 525,600 (about 0.016 s saved).
fn coarse_demand_probe(sc: &Scenario, lp_step: Time) -> Option<Time> {
    let step_h = lp_step.h();
    let on_steps = |hour: f64| {
        let k = hour / step_h;
        (k - k.round()).abs() < 1e-9
    };
    let steps_per_day = 24.0 / step_h;
    let constant_load = sc.training.is_empty()
        && sc
            .inference
            .iter()
            .all(|l| matches!(l.shape, InferenceShape::Constant(_)))
        && sc.facility.pue_per_degc == 0.0;
    let price_on_steps = match sc.grid.as_ref().map(|g| &g.tariff) {
        None | Some(Tariff::Flat(_)) => true,
        Some(Tariff::TimeOfUse {
            start_hour,
            end_hour,
            ..
        }) => {
            (steps_per_day - steps_per_day.round()).abs() < 1e-9
                && on_steps(*start_hour)
                && on_steps(*end_hour)
        }
        Some(Tariff::Profile(_)) => false,
    };
    (constant_load && price_on_steps).then_some(lp_step)
}

fn probe(
    sc: &Scenario,
    o: &ConvertOptions,
    n: usize,
) -> Result<Vec<(f64, f64, f64)>, OptimizeError> {
    let dur = o.duration.unwrap_or(sc.simulation.duration);
    let probe_step = o.probe_step.unwrap_or(sc.simulation.step).min(o.step);
    let ro = RunOptions {
        seed: sc.simulation.seed,
        step: probe_step,
        duration: dur,
        resolution: o.step,
        keep_series: true,
    };
    let res = Simulator::new(sc, &ro).map_err(site_err)?.finish();
    if res.series.len() < n {
        return Err(OptimizeError::invalid(
            "duration",
            format!(
                "the probe run gave {} steps, expected {n}",
                res.series.len()
            ),
        ));
    }
    Ok(res
        .series
        .iter()
        .take(n)
        .map(|r| (r.facility_mw, r.price_usd_per_mwh, r.solar_mw))
        .collect())
}

/// Every asset an expansion names must exist in the scenario: a misspelt name would
/// otherwise leave the asset fixed without a word.
fn check_names(sc: &Scenario, ex: &Expansion) -> Result<(), OptimizeError> {
    let lists: [(&str, Vec<&str>, Vec<&str>); 3] = [
        (
            "turbines",
            ex.turbines.iter().map(|e| e.name.as_str()).collect(),
            sc.turbines.iter().map(|t| t.name.as_str()).collect(),
        ),
        (
            "batteries",
            ex.batteries.iter().map(|e| e.name.as_str()).collect(),
            sc.batteries.iter().map(|b| b.name.as_str()).collect(),
        ),
        (
            "solar",
            ex.solar.iter().map(|e| e.name.as_str()).collect(),
            sc.solar.iter().map(|s| s.name.as_str()).collect(),
        ),
    ];
    for (kind, named, have) in lists {
        for (i, n) in named.iter().enumerate() {
            if !have.contains(n) {
                let known = if have.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("its names: {}", have.join(", "))
                };
                return Err(OptimizeError::invalid(
                    format!("{kind}[{i}].name"),
                    format!("the scenario has no {kind} entry named `{n}` ({known})"),
                ));
            }
        }
    }
    Ok(())
}

/// The value of a step-held series at `t` seconds (repeating past its end).
fn series_at(s: &Series, t: f64) -> f64 {
    let p = s.period_s();
    let tm = if t < p { t } else { t % p };
    let i = s.times_s.partition_point(|&x| x <= tm).max(1) - 1;
    s.values.get(i).copied().unwrap_or(0.0)
}

impl SiteProblem {
    /// Builds the LP's problem from a scenario (CSV profiles already resolved) and an
    /// expansion. Runs the site simulator's probes (see the module docs).
    pub fn from_scenario(
        sc: &Scenario,
        ex: &Expansion,
        o: &ConvertOptions,
    ) -> Result<Self, OptimizeError> {
        let dur = o.duration.unwrap_or(sc.simulation.duration);
        if !(o.step.s().is_finite() && o.step.s() > 0.0 && o.step.s() <= 3600.0) {
            return Err(OptimizeError::invalid("step_s", "must be in (0, 3600]"));
        }
        if !(dur.s().is_finite() && dur.s() >= o.step.s()) {
            return Err(OptimizeError::invalid(
                "duration_h",
                "must be at least one step",
            ));
        }
        let n = (dur.s() / o.step.s()).round().max(1.0) as usize;

        // Demand and price: the scenario's loads on an unlimited, outage-free grid.
        let mut demand = sc.clone();
        let tariff = sc
            .grid
            .as_ref()
            .map(|g| g.tariff.clone())
            .unwrap_or(Tariff::Flat(EnergyPrice::ZERO));
        demand.grid = Some(unlimited_grid(tariff));
        demand.turbines.clear();
        demand.batteries.clear();
        demand.solar.clear();
        demand.miners.clear();
        let demand_opts = match o.probe_step {
            None => ConvertOptions {
                probe_step: coarse_demand_probe(&demand, o.step),
                ..*o
            },
            Some(_) => *o,
        };
        let rows = probe(&demand, &demand_opts, n)?;
        let mut p = SiteProblem::new(
            o.step,
            rows.iter().map(|r| Power::from_mw(r.0.max(0.0))).collect(),
        );

        check_names(sc, ex)?;
        let vol = ex.value_of_lost_load_usd_per_mwh.unwrap_or(10_000.0);
        p.value_of_lost_load = EnergyPrice::from_usd_per_mwh(vol);
        p.carbon_price_usd_per_t = ex.carbon_price_usd_per_t.unwrap_or(0.0);
        p.carbon_cap_t = ex.carbon_cap_t;
        p.reserve = sc.dispatch.reserve;
        // None: cyclic; Some(true): end >= initial; Some(false): end >= floor.
        let soc_end_initial = match ex.battery_end.as_deref() {
            None | Some("free") => Some(false),
            Some("initial") => Some(true),
            Some("cyclic") => None,
            Some(other) => {
                return Err(OptimizeError::invalid(
                    "battery_end",
                    format!("is `{other}`; expected `free`, `initial` or `cyclic`"),
                ));
            }
        };

        if let Some(g) = &sc.grid {
            let connection = match &ex.grid {
                Some(e) => PowerCapacity::extendable(
                    g.import_cap,
                    Power::from_mw(e.max_mw.max(g.import_cap.mw())),
                    e.annual_cost_usd_per_mw,
                ),
                None => PowerCapacity::fixed(g.import_cap),
            };
            let carbon = match &g.carbon {
                Carbon::Flat(c) => vec![*c],
                Carbon::Profile(Profile::Series(s)) => (0..n)
                    .map(|t| CarbonIntensity::from_g_per_kwh(series_at(s, t as f64 * o.step.s())))
                    .collect(),
                Carbon::Profile(Profile::Csv { path }) => {
                    return Err(OptimizeError::invalid(
                        "grid.carbon_csv",
                        format!("`{path}` was not read; resolve the scenario's files first"),
                    ));
                }
            };
            p.grid = Some(GridSpec {
                connection,
                export_cap: g.export_cap,
                export_price_fraction: g.export_price_fraction,
                price: rows
                    .iter()
                    .map(|r| EnergyPrice::from_usd_per_mwh(r.1))
                    .collect(),
                demand_charge_usd_per_kw_month: g.demand_charge.usd_per_kw_month(),
                carbon_intensity: carbon,
            });
        }

        for tg in &sc.turbines {
            let unit = tg.unit.mw();
            let total = Power::from_mw(unit * tg.count as f64);
            let capacity = match ex.turbines.iter().find(|e| e.name == tg.name) {
                Some(e) => PowerCapacity::extendable(
                    total,
                    Power::from_mw(e.max_mw.max(total.mw())),
                    e.annual_cost_usd_per_mw,
                ),
                None => PowerCapacity::fixed(total),
            };
            let per_unit = |v: f64| if unit > 0.0 { v / unit } else { 0.0 };
            p.turbines.push(TurbineSpec {
                name: tg.name.clone(),
                capacity,
                min_stable_fraction: tg.min_stable_fraction,
                ramp_fraction_per_min: Some(per_unit(tg.ramp.mw_per_s() * 60.0)),
                heat_rate_mmbtu_per_mwh: tg.heat_rate.mmbtu_per_mwh(),
                fuel_price_usd_per_mmbtu: tg.fuel_price.usd_per_mmbtu(),
                vom_usd_per_mwh: tg.variable_om.usd_per_mwh(),
                startup_cost_usd_per_mw: per_unit(tg.start_cost.usd()),
                carbon_intensity: tg.co2_per_mwh,
                commitment: match tg.commitment {
                    TurbineCommitment::Linear => Commitment::Linear,
                    TurbineCommitment::Integer => Commitment::Integer {
                        unit: tg.unit,
                        min_up: tg.min_up,
                        min_down: tg.min_down,
                        shutdown_cost_usd_per_mw: per_unit(tg.shutdown_cost.usd()),
                    },
                },
            });
        }

        for b in &sc.batteries {
            let e = ex.batteries.iter().find(|e| e.name == b.name);
            let power = match e.and_then(|e| e.max_mw.zip(e.annual_cost_usd_per_mw)) {
                Some((max, cost)) => {
                    PowerCapacity::extendable(b.power, Power::from_mw(max.max(b.power.mw())), cost)
                }
                None => PowerCapacity::fixed(b.power),
            };
            let energy = match e.and_then(|e| e.max_mwh.zip(e.annual_cost_usd_per_mwh)) {
                Some((max, cost)) => EnergyCapacity::extendable(
                    b.energy,
                    Energy::from_mwh(max.max(b.energy.mwh())),
                    cost,
                ),
                None => EnergyCapacity::fixed(b.energy),
            };
            let init = b.soc_initial.clamp(b.soc_min, b.soc_max);
            p.batteries.push(BatterySpec {
                name: b.name.clone(),
                power,
                energy,
                charge_efficiency: b.charge_efficiency,
                discharge_efficiency: b.discharge_efficiency,
                soc_min_fraction: b.soc_min,
                soc_max_fraction: b.soc_max,
                soc_end: match soc_end_initial {
                    Some(to_initial) => SocEnd::Fixed {
                        initial_fraction: init,
                        final_fraction: if to_initial { init } else { b.soc_min },
                    },
                    None => SocEnd::Cyclic,
                },
                wear_cost_usd_per_mwh: e.and_then(|e| e.wear_cost_usd_per_mwh).unwrap_or(0.0),
            });
        }

        // Solar: each plant at 1 MW against an unlimited load gives its capacity factor.
        for (i, s) in sc.solar.iter().enumerate() {
            let mut probe_sc = sc.clone();
            probe_sc.inference = vec![InferenceLoad {
                name: "probe".into(),
                shape: InferenceShape::Constant(Power::from_gw(1000.0)),
            }];
            probe_sc.training.clear();
            probe_sc.turbines.clear();
            probe_sc.batteries.clear();
            probe_sc.miners.clear();
            probe_sc.grid = Some(unlimited_grid(Tariff::Flat(EnergyPrice::ZERO)));
            // Keep the plant's index so that its weather draws match the full run.
            probe_sc.solar = sc
                .solar
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    let mut x = x.clone();
                    x.nameplate = if j == i {
                        Power::from_mw(1.0)
                    } else {
                        Power::ZERO
                    };
                    x
                })
                .collect();
            if let SolarSource::Profile(Profile::Csv { path }) = &s.source {
                return Err(OptimizeError::invalid(
                    format!("solar[{i}].profile_csv"),
                    format!("`{path}` was not read; resolve the scenario's files first"),
                ));
            }
            let cf = probe(&probe_sc, o, n)?
                .iter()
                .map(|r| r.2.clamp(0.0, 1.0))
                .collect();
            let capacity = match ex.solar.iter().find(|e| e.name == s.name) {
                Some(e) => PowerCapacity::extendable(
                    s.nameplate,
                    Power::from_mw(e.max_mw.max(s.nameplate.mw())),
                    e.annual_cost_usd_per_mw,
                ),
                None => PowerCapacity::fixed(s.nameplate),
            };
            p.solar.push(SolarSpec {
                name: s.name.clone(),
                capacity,
                capacity_factor: cf,
            });
        }

        for m in &sc.miners {
            p.miners.push(MinerSpec {
                name: m.name.clone(),
                capacity: m.power,
                revenue: m.break_even(),
            });
        }
        p.validate()?;
        Ok(p)
    }
}

/// The optimal ratings as a design the site simulator can run. Turbine capacity is rounded up
/// to whole units.
pub fn design_of(sc: &Scenario, s: &Solution) -> Design {
    let c = &s.capacities;
    Design {
        grid_import_cap: c.grid,
        turbine_counts: Some(
            sc.turbines
                .iter()
                .zip(&c.turbines)
                .map(|(tg, (_, k))| {
                    if tg.unit.mw() > 0.0 {
                        (k.mw() / tg.unit.mw() - 1e-6).ceil().max(0.0) as u32
                    } else {
                        tg.count
                    }
                })
                .collect(),
        ),
        battery_power: Some(c.batteries.iter().map(|b| b.1).collect()),
        battery_energy: Some(c.batteries.iter().map(|b| b.2).collect()),
        solar_nameplate: Some(c.solar.iter().map(|s| s.1).collect()),
        miner_power: None,
    }
}

/// The rule-based run's cost in the LP's terms: energy cost (grid, demand charges, export,
/// fuel, O&M, starts) minus miners' revenue net of their other costs, plus unserved energy at
/// the value of lost load. Lost GPU work of the jobs' own failures is the same in both and left
/// out; capital is not included (add the LP's `costs.capital` for the same design).
pub fn rule_based_cost(k: &Kpis, value_of_lost_load: EnergyPrice) -> Usd {
    let c = &k.cost_usd_by_component;
    Usd::new(
        c.energy_total()
            + c.miner_revenue
            + c.miner_other_costs
            + value_of_lost_load.usd_per_mwh() * k.unserved_mwh,
    )
}

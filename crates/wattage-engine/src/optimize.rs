//! The optimize job: the cheapest design and dispatch of a site as a linear program, then the
//! rule-based simulator on that design at the scenario's own step, to show what the hourly
//! plan cannot see (ramps, swings, outages).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wattage_optimize::{
    ConvertOptions, Expansion, Method, OptimizeOptions, SiteProblem, Solution, Solver, design_of,
    optimize_with, rule_based_cost,
};
use wattage_site::Scenario;
use wattage_site::eval::{Design, evaluate_design};
use wattage_units::Time;

use crate::calendar::Start;
use crate::error::{Error, Result};
use crate::io::{Sources, read};
use crate::spec::{BareUnit, DurationArg};
use crate::table::{Artifact, csv_to_parquet};

/// An optimization of a site scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizeSpec {
    /// Which ratings may grow and at what annualized cost (a TOML file); without it (and
    /// without `extend`) the design is fixed and only the dispatch is optimized.
    pub expansion: Option<PathBuf>,
    /// Let every existing asset grow to 4x at typical annualized costs.
    pub extend: bool,
    /// LP step, e.g. `1h`, `15m`, `300s` (a bare number is seconds, deprecated).
    pub step: DurationArg,
    /// Horizon, e.g. `7d`, `8760h`, `1y` [default: the scenario's] (a bare number is seconds,
    /// deprecated).
    pub duration: Option<DurationArg>,
    /// Step of the rule-based check run [default: the scenario's step] (a bare number is
    /// seconds, deprecated).
    pub check_step: Option<DurationArg>,
    /// Seed of the scenario's random draws (outages, failures, weather) [default: the
    /// scenario's].
    pub seed: Option<u64>,
    /// Calendar time of the run's start, ISO 8601 with a zone [default:
    /// [`crate::calendar::DEFAULT_START`] on the scenario's `start_day_of_year`].
    pub start: Option<String>,
    /// Skip the rule-based check run.
    pub no_check: bool,
    /// Raise the work limits (LP columns, check-run steps) to this size.
    pub max_work: Option<u64>,
    /// HiGHS's algorithm: `simplex` or `ipm`.
    pub method: String,
    /// LP solver: `clarabel` or `highs` [default: HiGHS when this build has it, else
    /// Clarabel].
    pub solver: Option<String>,
    /// Relative gap at which HiGHS stops a mixed-integer program (turbines with
    /// `commitment = "integer"`) [default: 1e-4].
    pub mip_gap: Option<f64>,
    /// Solve over this many typical days standing for the horizon (k-medoids of the days'
    /// load, price and solar profiles, each weighted by the days it stands for) instead of the
    /// whole horizon: faster, approximate [default: the whole horizon].
    pub typical_days: Option<u32>,
}

impl Default for OptimizeSpec {
    fn default() -> Self {
        Self {
            expansion: None,
            extend: false,
            max_work: None,
            step: "1h".into(),
            duration: None,
            check_step: None,
            seed: None,
            start: None,
            no_check: false,
            method: "simplex".into(),
            solver: None,
            mip_gap: None,
            typical_days: None,
        }
    }
}

/// A duration parameter (`90s`, `15m`, `1h`, `7d`, `1y`; a bare number is seconds,
/// deprecated).
pub fn duration_param(name: &str, d: &DurationArg) -> Result<Time> {
    d.parse(name, BareUnit::Seconds)
}

impl OptimizeSpec {
    /// Deprecation warnings of this spec (bare numbers for durations), for the front-end to
    /// show; parameters are written `` `{name}` ``.
    pub fn deprecations(&self) -> Vec<String> {
        [
            self.step.deprecation("step", BareUnit::Seconds),
            self.duration
                .as_ref()
                .and_then(|d| d.deprecation("duration", BareUnit::Seconds)),
            self.check_step
                .as_ref()
                .and_then(|d| d.deprecation("check_step", BareUnit::Seconds)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A rating of a named asset, MW.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedMw {
    /// Asset name.
    pub name: String,
    /// Rating, MW.
    pub mw: f64,
}

/// A turbine fleet's optimal rating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurbineOut {
    /// Fleet name.
    pub name: String,
    /// Rating, MW.
    pub mw: f64,
    /// Units of the fleet's unit size.
    pub units: u32,
}

/// A battery's optimal ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatteryOut {
    /// Battery name.
    pub name: String,
    /// Power, MW.
    pub mw: f64,
    /// Energy, MWh.
    pub mwh: f64,
}

/// The optimal design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacitiesOut {
    /// Grid import connection, MW.
    pub grid_import_mw: Option<f64>,
    /// Turbine fleets.
    pub turbines: Vec<TurbineOut>,
    /// Batteries.
    pub batteries: Vec<BatteryOut>,
    /// Solar plants.
    pub solar: Vec<NamedMw>,
}

/// The optimum's cost by component, USD over the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostsOut {
    /// Fuel.
    pub fuel_usd: f64,
    /// Turbine variable O&M.
    pub turbine_vom_usd: f64,
    /// Start-ups.
    pub startup_usd: f64,
    /// Grid energy.
    pub grid_energy_usd: f64,
    /// Demand charges.
    pub demand_charge_usd: f64,
    /// Annualized capital of new capacity, for the horizon's share of a year.
    pub capital_usd: f64,
    /// Battery wear.
    pub battery_wear_usd: f64,
    /// Value of lost load.
    pub lost_load_usd: f64,
    /// Carbon price.
    pub carbon_usd: f64,
    /// Export revenue (subtracted).
    pub export_revenue_usd: f64,
    /// Miners' revenue (subtracted).
    pub miner_revenue_usd: f64,
}

/// The rule-based simulator on the optimal design.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOut {
    /// Step of the check, s.
    pub step_s: f64,
    /// Rule-based cost in the LP's terms, capital of the design included.
    pub cost_usd: f64,
    /// The LP's cost for comparison, capital included.
    pub lp_cost_usd: f64,
    /// Unserved energy, MWh.
    pub unserved_mwh: f64,
    /// AI interruptions.
    pub interruptions: u64,
    /// Steps that broke a ramp limit.
    pub ramp_violations: u64,
    /// Steps with a turbine below its minimum stable load.
    pub min_stable_violations: u64,
    /// Time short of the reserve, s.
    pub reserve_shortfall_s: f64,
    /// Turbine starts.
    pub turbine_starts: u64,
    /// Peak grid import, MW.
    pub peak_grid_import_mw: f64,
    /// Emissions, t CO2e.
    pub co2e_t: f64,
}

/// The optimum: what `wattage optimize --json` prints and `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptimizeSummary {
    /// Scenario name.
    pub scenario: String,
    /// LP steps.
    pub steps: usize,
    /// LP step, s.
    pub step_s: f64,
    /// LP horizon, h.
    pub duration_h: f64,
    /// Optimal total cost, USD.
    pub objective_usd: f64,
    /// Optimal design.
    pub capacities: CapacitiesOut,
    /// Cost by component.
    pub costs: CostsOut,
    /// Emissions, t CO2e.
    pub emissions_t: f64,
    /// Unserved energy, MWh.
    pub unserved_mwh: f64,
    /// Mean marginal price of power, $/MWh.
    pub mean_marginal_price_usd_per_mwh: f64,
    /// Highest marginal price of power, $/MWh.
    pub max_marginal_price_usd_per_mwh: f64,
    /// Time to build the LP, s.
    pub build_s: f64,
    /// Time to solve it, s.
    pub solve_s: f64,
    /// LP columns.
    pub lp_cols: usize,
    /// LP rows.
    pub lp_rows: usize,
    /// LP non-zeros.
    pub lp_nnz: usize,
    /// Solver iterations.
    pub solver_iterations: i64,
    /// Relative gap reached by a mixed-integer program (integer unit commitment); absent for
    /// a linear program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mip_gap: Option<f64>,
    /// The rule-based check of the design.
    pub rule_based: Option<CheckOut>,
    /// The LP solver that found the optimum (not in `summary.json`, whose keys predate it).
    #[serde(skip)]
    pub solver: &'static str,
}

/// The LP solver a spec names (`None`: HiGHS when this build has it, else Clarabel); one the
/// build lacks is an error naming the parameter and how to get it.
pub fn solver_param(name: Option<&str>) -> Result<Solver> {
    let s = match name {
        Some(n) => n
            .parse::<Solver>()
            .map_err(|e| Error::param("solver", e.to_string()))?,
        None => Solver::DEFAULT,
    };
    if !s.is_available() {
        return Err(Error::param(
            "solver",
            format!(
                "this build has no {}; rebuild with `--features wattage-optimize/highs` (needs cmake and libclang-dev)",
                s.name()
            ),
        ));
    }
    Ok(s)
}

/// An optimization's results.
#[derive(Debug, Clone)]
pub struct OptimizeResult {
    /// The summary.
    pub summary: OptimizeSummary,
    /// The LP.
    pub problem: SiteProblem,
    /// The LP's solution.
    pub solution: Solution,
    /// The optimal design as the site simulator takes it.
    pub design: Design,
    /// The calendar start of the run (the `time` column).
    pub start: Start,
}

/// The summary of an LP solved by `solver`, with the rule-based check when it ran.
pub fn summarize(
    sc: &Scenario,
    p: &SiteProblem,
    s: &Solution,
    design: &Design,
    check: Option<CheckOut>,
    solver: Solver,
) -> OptimizeSummary {
    let c = &s.costs;
    let prices: Vec<f64> = s.marginal_price.iter().map(|x| x.usd_per_mwh()).collect();
    let mean = prices.iter().sum::<f64>() / prices.len().max(1) as f64;
    let max = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let units = design.turbine_counts.clone().unwrap_or_default();
    OptimizeSummary {
        scenario: sc.name.clone(),
        steps: p.steps(),
        step_s: p.step.s(),
        duration_h: p.horizon().h(),
        objective_usd: s.objective.usd(),
        capacities: CapacitiesOut {
            grid_import_mw: s.capacities.grid.map(|g| g.mw()),
            turbines: s
                .capacities
                .turbines
                .iter()
                .enumerate()
                .map(|(i, (name, k))| TurbineOut {
                    name: name.clone(),
                    mw: k.mw(),
                    units: units.get(i).copied().unwrap_or(0),
                })
                .collect(),
            batteries: s
                .capacities
                .batteries
                .iter()
                .map(|(name, pw, e)| BatteryOut {
                    name: name.clone(),
                    mw: pw.mw(),
                    mwh: e.mwh(),
                })
                .collect(),
            solar: s
                .capacities
                .solar
                .iter()
                .map(|(name, k)| NamedMw {
                    name: name.clone(),
                    mw: k.mw(),
                })
                .collect(),
        },
        costs: CostsOut {
            fuel_usd: c.fuel.usd(),
            turbine_vom_usd: c.turbine_vom.usd(),
            startup_usd: c.startup.usd(),
            grid_energy_usd: c.grid_energy.usd(),
            demand_charge_usd: c.demand_charge.usd(),
            capital_usd: c.capital.usd(),
            battery_wear_usd: c.battery_wear.usd(),
            lost_load_usd: c.lost_load.usd(),
            carbon_usd: c.carbon.usd(),
            export_revenue_usd: c.export_revenue.usd(),
            miner_revenue_usd: c.miner_revenue.usd(),
        },
        emissions_t: s.emissions.t(),
        unserved_mwh: s.unserved.mwh(),
        mean_marginal_price_usd_per_mwh: mean,
        max_marginal_price_usd_per_mwh: if max.is_finite() { max } else { 0.0 },
        build_s: s.stats.build.s(),
        solve_s: s.stats.solve.s(),
        lp_cols: s.stats.cols,
        lp_rows: s.stats.rows,
        lp_nnz: s.stats.nnz,
        solver_iterations: s.stats.iterations,
        mip_gap: s.stats.mip_gap,
        rule_based: check,
        solver: solver.name(),
    }
}

/// Runs the rule-based simulator on `design` over the LP's horizon at `step`, and puts its
/// cost in the LP's terms.
pub fn check_run(
    sc: &Scenario,
    p: &SiteProblem,
    s: &Solution,
    design: &Design,
    step: Time,
) -> Result<CheckOut> {
    let mut sc = sc.clone();
    sc.simulation.duration = p.horizon();
    let k = evaluate_design(&sc, design, step)
        .map_err(|e| Error::input(format!("rule-based check: {e}")))?;
    let rb = rule_based_cost(&k, p.value_of_lost_load).usd() + s.costs.capital.usd();
    Ok(CheckOut {
        step_s: step.s(),
        cost_usd: rb,
        lp_cost_usd: s.objective.usd(),
        unserved_mwh: k.unserved_mwh,
        interruptions: k.interruptions,
        ramp_violations: k.ramp_violations,
        min_stable_violations: k.min_stable_violations,
        reserve_shortfall_s: k.reserve_shortfall_s,
        turbine_starts: k.turbine_starts,
        peak_grid_import_mw: k.peak_grid_import_mw,
        co2e_t: k.co2e_t,
    })
}

/// The expansion a spec asks for: its file, typical costs, or nothing.
pub fn expansion(src: &dyn Sources, sc: &Scenario, a: &OptimizeSpec) -> Result<Expansion> {
    match (&a.expansion, a.extend) {
        (Some(_), true) => Err(Error::input(
            "`{expansion}` and `{extend}` cannot be combined",
        )),
        (Some(path), false) => {
            // Errors name the expansion file, with line, column and field, never the site's.
            let text = read(src, path)?;
            let origin = path.display().to_string();
            let doc = crate::locate::TomlDoc::parse(&origin, &text)?;
            let ex: Expansion = doc.deserialize()?;
            ex.check(sc).map_err(|e| match e {
                wattage_optimize::OptimizeError::Invalid { field, message } => {
                    doc.error(&field, &message)
                }
                other => Error::input(format!("`{origin}`: {other}")),
            })?;
            Ok(ex)
        }
        (None, true) => Ok(Expansion::typical(sc)),
        (None, false) => Ok(Expansion::default()),
    }
}

/// Checks an optimization's parameters against their ranges and its size against the work
/// limits, before anything is built: the LP's columns (steps x columns per step) and the
/// rule-based check's steps.
fn admit(
    sc: &Scenario,
    co: &ConvertOptions,
    check_step: Option<Time>,
    a: &OptimizeSpec,
) -> Result<()> {
    use crate::limits::{Work, check, count};
    check("optimize", "step", co.step.s())?;
    if let Some(d) = co.duration {
        check("optimize", "duration", d.h())?;
    }
    if let Some(s) = check_step {
        check("optimize", "check_step", s.s())?;
    }
    if let Some(g) = a.mip_gap {
        check("optimize", "mip_gap", g)?;
    }
    let horizon = co.duration.unwrap_or(sc.simulation.duration);
    let steps = count(horizon.s() / co.step.s());
    // Per step: grid import and export and unserved energy; output and commitment of each
    // turbine fleet; charge, discharge and state of charge of each battery; each solar
    // plant and miner fleet.
    let per_step =
        3 + 2 * sc.turbines.len() + 3 * sc.batteries.len() + sc.solar.len() + sc.miners.len();
    crate::limits::admit(
        Work::LpColumns,
        steps.saturating_mul(per_step as u64),
        &format!("about {per_step} per step, x the horizon (`{{duration}}`) / `{{step}}`"),
        a.max_work,
        &crate::io::Silent,
    )?;
    if !a.no_check {
        let step = check_step.unwrap_or(sc.simulation.step);
        crate::limits::admit(
            Work::SiteSteps,
            count(horizon.s() / step.s()),
            "the rule-based check: the horizon (`{duration}`) / `{check_step}`; `{no_check}` skips it",
            a.max_work,
            &crate::io::Silent,
        )?;
    }
    Ok(())
}

/// Optimizes a scenario (`name` names it in errors), then checks the design second by
/// second unless asked not to.
pub fn run(
    src: &dyn Sources,
    sc: &Scenario,
    name: &str,
    a: &OptimizeSpec,
) -> Result<OptimizeResult> {
    let reseeded;
    let sc = match a.seed {
        Some(seed) => {
            let mut c = sc.clone();
            c.simulation.seed = seed;
            reseeded = c;
            &reseeded
        }
        None => sc,
    };
    let start = Start::or_default(a.start.as_deref(), sc.simulation.start_day_of_year)?;
    let ex = expansion(src, sc, a)?;
    let method = match a.method.trim().to_ascii_lowercase().as_str() {
        "simplex" => Method::Simplex,
        "ipm" => Method::Ipm,
        m => {
            return Err(Error::param(
                "method",
                format!("`{m}`: expected simplex or ipm"),
            ));
        }
    };
    let co = ConvertOptions {
        step: duration_param("step", &a.step)?,
        duration: a
            .duration
            .as_ref()
            .map(|d| duration_param("duration", d))
            .transpose()?,
        probe_step: None,
    };
    let check_step = a
        .check_step
        .as_ref()
        .map(|d| duration_param("check_step", d))
        .transpose()?;
    admit(sc, &co, check_step, a)?;
    let p = SiteProblem::from_scenario(sc, &ex, &co).map_err(|e| match &e {
        wattage_optimize::OptimizeError::Invalid { field, message } if field == "step_s" => {
            Error::param("step", format!("{message} seconds (at most 1h)"))
        }
        wattage_optimize::OptimizeError::Invalid { field, message } if field == "duration_h" => {
            Error::param("duration", message.clone())
        }
        _ => Error::input(format!("`{name}`: {e}"))
            .hint("steps are at most 1h; durations look like 7d or 8760h"),
    })?;
    let mip_gap = match a.mip_gap {
        None => wattage_optimize::DEFAULT_MIP_GAP,
        Some(g) if g.is_finite() && (0.0..1.0).contains(&g) => g,
        Some(g) => {
            return Err(Error::param(
                "mip_gap",
                format!("{g}: expected a relative gap in [0, 1)"),
            ));
        }
    };
    let opts = OptimizeOptions {
        method,
        time_limit: None,
        mip_gap,
        typical_days: a.typical_days,
    };
    let solver = solver_param(a.solver.as_deref())?;
    let s = optimize_with(&p, &opts, solver).map_err(|e| Error::input(format!("`{name}`: {e}")))?;
    let design = design_of(sc, &s);
    let check = if a.no_check {
        None
    } else {
        let step = check_step.unwrap_or(sc.simulation.step);
        Some(check_run(sc, &p, &s, &design, step)?)
    };
    let summary = summarize(sc, &p, &s, &design, check, solver);
    Ok(OptimizeResult {
        summary,
        problem: p,
        solution: s,
        design,
        start,
    })
}

impl OptimizeResult {
    /// The plan as named columns after `time` and `elapsed_s`: load, grid, each asset
    /// (batteries' state of charge in MWh and %), unserved, price.
    pub fn dispatch_columns(&self) -> Vec<(String, Vec<f64>)> {
        let (p, s) = (&self.problem, &self.solution);
        let d = &s.dispatch;
        let n = p.steps();
        let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
        let mw = |v: &[wattage_units::Power]| v.iter().map(|x| x.mw()).collect::<Vec<f64>>();
        cols.push((
            "elapsed_s".into(),
            (0..n).map(|t| t as f64 * p.step.s()).collect(),
        ));
        cols.push(("load_mw".into(), mw(&p.load)));
        cols.push(("grid_import_mw".into(), mw(&d.grid_import)));
        cols.push(("grid_export_mw".into(), mw(&d.grid_export)));
        for ((name, _), tb) in s.capacities.turbines.iter().zip(&d.turbines) {
            cols.push((format!("{name}_output_mw"), mw(&tb.output)));
            cols.push((format!("{name}_committed_mw"), mw(&tb.committed)));
        }
        for ((name, _, e), b) in s.capacities.batteries.iter().zip(&d.batteries) {
            cols.push((format!("{name}_charge_mw"), mw(&b.charge)));
            cols.push((format!("{name}_discharge_mw"), mw(&b.discharge)));
            cols.push((
                format!("{name}_soc_mwh"),
                b.soc.iter().map(|x| x.mwh()).collect(),
            ));
            let cap = e.mwh();
            cols.push((
                format!("{name}_soc_pct"),
                b.soc
                    .iter()
                    .map(|x| {
                        if cap > 0.0 {
                            100.0 * x.mwh() / cap
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            ));
        }
        for ((name, _), sol) in s.capacities.solar.iter().zip(&d.solar) {
            cols.push((format!("{name}_solar_mw"), mw(sol)));
        }
        for (m, series) in p.miners.iter().zip(&d.miners) {
            cols.push((format!("{}_miners_mw", m.name), mw(series)));
        }
        cols.push(("unserved_mw".into(), mw(&d.unserved)));
        cols.push((
            "marginal_price_usd_per_mwh".into(),
            s.marginal_price.iter().map(|x| x.usd_per_mwh()).collect(),
        ));
        for c in &mut cols {
            c.0 = c.0.replace(' ', "_");
        }
        cols
    }

    /// The plan as a table (`timeseries.csv`, `docs/outputs.md`): a header and text cells,
    /// `time` (ISO 8601, UTC) first, `elapsed_s`, then the values to six decimals.
    pub fn timeseries_records(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let cols = self.dispatch_columns();
        let mut buf = String::new();
        let rows = (0..self.problem.steps())
            .map(|t| {
                let mut row = Vec::with_capacity(cols.len() + 1);
                self.row_cells(&cols, t, &mut buf, |c| row.push(c.to_string()));
                row
            })
            .collect();
        (Self::header(&cols), rows)
    }

    fn header(cols: &[(String, Vec<f64>)]) -> Vec<String> {
        let mut header = vec!["time".to_string()];
        header.extend(cols.iter().map(|c| c.0.clone()));
        header
    }

    /// Step `t`'s cells of [`Self::timeseries_records`], each formatted in turn into `buf`
    /// and handed to `cell`.
    fn row_cells(
        &self,
        cols: &[(String, Vec<f64>)],
        t: usize,
        buf: &mut String,
        mut cell: impl FnMut(&str),
    ) {
        use std::fmt::Write as _;
        cell(&self.start.stamp(cols[0].1[t]));
        for (i, (_, v)) in cols.iter().enumerate() {
            buf.clear();
            // Writing into a String cannot fail.
            let _ = if i == 0 {
                write!(buf, "{}", v[t])
            } else {
                write!(buf, "{:.6}", v[t])
            };
            cell(buf);
        }
    }

    /// [`Self::timeseries_records`] as CSV bytes, without a `String` per cell.
    fn timeseries_csv(&self) -> Result<Vec<u8>> {
        let csv_error = |e: csv::Error| Error::internal(format!("cannot encode CSV: {e}"));
        let cols = self.dispatch_columns();
        let n = self.problem.steps();
        let mut w = csv::Writer::from_writer(Vec::with_capacity(n * 16 * (cols.len() + 1)));
        w.write_record(Self::header(&cols)).map_err(csv_error)?;
        let mut buf = String::new();
        let mut failed = None;
        for t in 0..n {
            self.row_cells(&cols, t, &mut buf, |c| {
                if let Err(e) = w.write_field(c) {
                    failed.get_or_insert(e);
                }
            });
            if let Some(e) = failed.take() {
                return Err(csv_error(e));
            }
            w.write_record(None::<&[u8]>).map_err(csv_error)?;
        }
        w.into_inner()
            .map_err(|e| Error::internal(format!("cannot encode CSV: {e}")))
    }

    /// The files of an optimization (`--out`): `timeseries.csv`/`.parquet` (the plan step by
    /// step) and `summary.json` (as `--json` prints it).
    pub fn artifacts(&self) -> Result<Vec<Artifact>> {
        let csv = self.timeseries_csv()?;
        let pq = csv_to_parquet(&csv)?;
        let json = serde_json::to_string_pretty(&self.summary)
            .map_err(|e| Error::internal(format!("cannot serialise the summary: {e}")))?;
        Ok(vec![
            Artifact::new("timeseries.csv", csv),
            Artifact::new("timeseries.parquet", pq),
            Artifact::new("summary.json", json),
        ])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::io::FileSystem;
    use crate::table::encode_records;

    /// The CSV `artifacts` streams is byte for byte the table of `timeseries_records`, and its
    /// Parquet the same file.
    #[test]
    fn streamed_timeseries_equal_the_records() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/peak-shaving.toml");
        let sc = crate::site::load(&FileSystem, &path.as_path().into()).unwrap();
        let spec = OptimizeSpec {
            duration: Some("2d".into()),
            step: "15m".into(),
            no_check: true,
            ..OptimizeSpec::default()
        };
        let r = run(&FileSystem, &sc, "peak-shaving.toml", &spec).unwrap();
        let (header, rows) = r.timeseries_records();
        assert_eq!(rows.len(), 192);
        let (csv, pq) = encode_records(&header, &rows).unwrap();
        let files = r.artifacts().unwrap();
        assert_eq!(files[0].path, "timeseries.csv");
        assert_eq!(files[0].bytes, csv);
        assert_eq!(files[1].path, "timeseries.parquet");
        assert_eq!(files[1].bytes, pq);
    }
}

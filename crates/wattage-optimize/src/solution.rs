//! What an optimization returns, read back from the solver's column values and row duals.

use wattage_units::{Co2e, Energy, EnergyPrice, Power, Time, Usd};

use crate::formulate::{Layout, month_of};
use crate::periods::TypicalDays;
use crate::problem::{Commitment, HOURS_PER_MONTH, HOURS_PER_YEAR, SiteProblem, at};

/// Optimal ratings of every asset (fixed ones are reported as given).
#[derive(Clone, Debug, PartialEq)]
pub struct Capacities {
    /// Grid connection rating.
    pub grid: Option<Power>,
    /// Turbine fleets: name and rating.
    pub turbines: Vec<(String, Power)>,
    /// Batteries: name, power rating, energy rating.
    pub batteries: Vec<(String, Power, Energy)>,
    /// Solar plants: name and nameplate rating.
    pub solar: Vec<(String, Power)>,
}

/// One turbine fleet's schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct TurbineDispatch {
    /// Output in each step.
    pub output: Vec<Power>,
    /// Committed (running) capacity in each step.
    pub committed: Vec<Power>,
    /// Capacity started at the beginning of each step.
    pub started: Vec<Power>,
}

/// One battery's schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct BatteryDispatch {
    /// Charging power drawn in each step.
    pub charge: Vec<Power>,
    /// Discharging power delivered in each step.
    pub discharge: Vec<Power>,
    /// Stored energy at the end of each step.
    pub soc: Vec<Energy>,
}

/// The optimal schedule, step by step.
#[derive(Clone, Debug, PartialEq)]
pub struct Dispatch {
    /// Grid import.
    pub grid_import: Vec<Power>,
    /// Grid export.
    pub grid_export: Vec<Power>,
    /// Turbine fleets, in problem order.
    pub turbines: Vec<TurbineDispatch>,
    /// Batteries, in problem order.
    pub batteries: Vec<BatteryDispatch>,
    /// Solar output used, per plant.
    pub solar: Vec<Vec<Power>>,
    /// Miner consumption, per fleet.
    pub miners: Vec<Vec<Power>>,
    /// Firm demand not served.
    pub unserved: Vec<Power>,
}

/// Total cost split by component. Revenues are positive numbers subtracted in `total`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostBreakdown {
    /// Turbine fuel.
    pub fuel: Usd,
    /// Turbine variable operation and maintenance.
    pub turbine_vom: Usd,
    /// Turbine start-ups, and shut-downs of fleets committed in whole units.
    pub startup: Usd,
    /// Grid energy bought.
    pub grid_energy: Usd,
    /// Grid demand charges.
    pub demand_charge: Usd,
    /// Annualized capital of capacity built beyond what exists, for the horizon's share of a
    /// year.
    pub capital: Usd,
    /// Battery wear.
    pub battery_wear: Usd,
    /// Value of lost load.
    pub lost_load: Usd,
    /// Carbon price times emissions.
    pub carbon: Usd,
    /// Revenue of grid export (subtracted).
    pub export_revenue: Usd,
    /// Revenue of the miners (subtracted).
    pub miner_revenue: Usd,
}

impl CostBreakdown {
    /// Costs minus revenues.
    pub fn total(&self) -> Usd {
        self.fuel
            + self.turbine_vom
            + self.startup
            + self.grid_energy
            + self.demand_charge
            + self.capital
            + self.battery_wear
            + self.lost_load
            + self.carbon
            - self.export_revenue
            - self.miner_revenue
    }
}

/// How the solve went: sizes and the two timings, measured separately.
#[derive(Clone, Debug, PartialEq)]
pub struct SolveStats {
    /// Columns of the LP.
    pub cols: usize,
    /// Rows of the LP.
    pub rows: usize,
    /// Non-zeros of the constraint matrix.
    pub nnz: usize,
    /// Time to build the sparse matrix (formulation, and handing it to the solver).
    pub build: Time,
    /// Time the solver took.
    pub solve: Time,
    /// Simplex plus interior-point iterations (for a mixed-integer program, HiGHS's simplex
    /// iterations over the whole branch and bound).
    pub iterations: i64,
    /// A mixed-integer program (integer unit commitment): the relative gap between the
    /// solution and the best bound when HiGHS stopped (at most the gap asked for, unless the
    /// time limit came first); `None` for a linear program.
    pub mip_gap: Option<f64>,
    /// Whether HiGHS started from the previous optimum of a [`crate::Sweep`].
    pub warm_start: bool,
}

/// The optimum.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Optimal objective: total cost minus revenues over the horizon.
    pub objective: Usd,
    /// The objective by component (computed from the schedule).
    pub costs: CostBreakdown,
    /// Optimal ratings.
    pub capacities: Capacities,
    /// Optimal schedule.
    pub dispatch: Dispatch,
    /// Marginal price of power in each step: the dual of the power balance, per MWh.
    pub marginal_price: Vec<EnergyPrice>,
    /// Emissions over the horizon.
    pub emissions: Co2e,
    /// Firm energy not served over the horizon.
    pub unserved: Energy,
    /// Sizes and timings.
    pub stats: SolveStats,
}

/// Finite or zero: solver noise never reaches outputs as NaN or inf.
fn clean(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Reads the schedule, ratings, prices and costs from column values `x` and balance duals.
///
/// With `typical`, `lay` is the LP over `typical`'s days and `p` the whole horizon: each day
/// of the horizon takes its typical day's schedule and prices (the duals divided by the days
/// the typical day stands for), and the costs are those of that schedule over the horizon.
pub(crate) fn extract(
    p: &SiteProblem,
    lay: &Layout,
    x: &[f64],
    row_dual: &[f64],
    objective: f64,
    stats: SolveStats,
    typical: Option<&TypicalDays>,
) -> Solution {
    let n = typical.map_or(lay.n, |td| td.assignment.len() * td.steps_per_day);
    let dt = lay.dt_h;
    let year_frac = n as f64 * dt / HOURS_PER_YEAR;
    // The LP's step that stands for step `t`, and the days it stands for.
    let idx = |t: usize| typical.map_or(t, |td| td.reduced_step(t));
    let weight =
        |t: usize| typical.map_or(1.0, |td| td.weight[td.assignment[t / td.steps_per_day]]);
    // Tiny negative values from solver tolerances are clamped to zero.
    let v = |c: usize| clean(x[c]).max(0.0);
    let series = |first: usize| -> Vec<f64> { (0..n).map(|t| v(first + idx(t))).collect() };
    let mw = |s: Vec<f64>| -> Vec<Power> { s.into_iter().map(Power::from_mw).collect() };
    let mut costs = CostBreakdown::default();
    let mut emissions_g = 0.0;

    let mut grid_cap = None;
    let mut grid_import = vec![0.0; n];
    let mut grid_export = vec![0.0; n];
    if let (Some(g), Some(gc)) = (&p.grid, &lay.grid) {
        let cap = clean(gc.cap.value(x)).max(0.0);
        grid_cap = Some(Power::from_mw(cap));
        costs.capital += Usd::from_base(
            g.connection.annual_cost_usd_per_mw * (cap - g.connection.existing.mw()) * year_frac,
        );
        grid_import = series(gc.import);
        if let Some(e) = gc.export {
            grid_export = series(e);
        }
        for t in 0..n {
            let price = at(&g.price, t).base();
            costs.grid_energy += Usd::from_base(price * grid_import[t] * dt);
            costs.export_revenue +=
                Usd::from_base(price * g.export_price_fraction * grid_export[t] * dt);
            emissions_g += at(&g.carbon_intensity, t).base() * 1000.0 * grid_import[t] * dt;
        }
        if g.demand_charge_usd_per_kw_month > 0.0 {
            let months = month_of(n - 1, dt) + 1;
            let mut peak = vec![0.0f64; months];
            for (t, imp) in grid_import.iter().enumerate() {
                let m = month_of(t, dt);
                peak[m] = peak[m].max(*imp);
            }
            for (m, pk) in peak.iter().enumerate() {
                let hours = (n as f64 * dt - m as f64 * HOURS_PER_MONTH).min(HOURS_PER_MONTH);
                costs.demand_charge += Usd::from_base(
                    g.demand_charge_usd_per_kw_month * 1000.0 * pk * hours / HOURS_PER_MONTH,
                );
            }
        }
    }

    let mut turbines = Vec::new();
    let mut turbine_caps = Vec::new();
    for (tb, tc) in p.turbines.iter().zip(&lay.turbines) {
        let cap = clean(tc.cap.value(x)).max(0.0);
        turbine_caps.push((tb.name.clone(), Power::from_mw(cap)));
        costs.capital += Usd::from_base(
            tb.capacity.annual_cost_usd_per_mw * (cap - tb.capacity.existing.mw()) * year_frac,
        );
        let output = series(tc.output);
        // Without a commitment column nothing depends on it: the fleet commits what it runs,
        // or, when a reserve is held, its whole rating (all of it counts as reserve).
        let committed = match (&tc.units, tc.committed) {
            (Some(u), _) => series(u.online).iter().map(|k| k * u.unit_mw).collect(),
            (None, Some(u)) => series(u),
            (None, None) if p.reserve.mw() > 0.0 => vec![cap; n],
            (None, None) => output.clone(),
        };
        // Whole units: starts and stops counted in units, reported in MW of unit rating.
        let unit_mw = tc.units.as_ref().map_or(1.0, |u| u.unit_mw);
        let started: Vec<f64> = match tc.startup {
            Some(s) => series(s).iter().map(|k| k * unit_mw).collect(),
            None => vec![0.0; n],
        };
        if let (
            Some(u),
            Commitment::Integer {
                shutdown_cost_usd_per_mw,
                ..
            },
        ) = (&tc.units, tb.commitment)
            && let Some(d) = u.shutdown
        {
            let stopped_mw: f64 = series(d).iter().sum::<f64>() * unit_mw;
            costs.startup += Usd::from_base(stopped_mw * shutdown_cost_usd_per_mw);
        }
        let energy: f64 = output.iter().sum::<f64>() * dt;
        costs.fuel +=
            Usd::from_base(energy * tb.heat_rate_mmbtu_per_mwh * tb.fuel_price_usd_per_mmbtu);
        costs.turbine_vom += Usd::from_base(energy * tb.vom_usd_per_mwh);
        costs.startup += Usd::from_base(started.iter().sum::<f64>() * tb.startup_cost_usd_per_mw);
        emissions_g += tb.carbon_intensity.base() * 1000.0 * energy;
        turbines.push(TurbineDispatch {
            output: mw(output),
            committed: mw(committed),
            started: mw(started),
        });
    }

    let mut batteries = Vec::new();
    let mut battery_caps = Vec::new();
    for (bat, bc) in p.batteries.iter().zip(&lay.batteries) {
        let (pw, en) = (
            clean(bc.power.value(x)).max(0.0),
            clean(bc.energy.value(x)).max(0.0),
        );
        battery_caps.push((bat.name.clone(), Power::from_mw(pw), Energy::from_mwh(en)));
        costs.capital += Usd::from_base(
            (bat.power.annual_cost_usd_per_mw * (pw - bat.power.existing.mw())
                + bat.energy.annual_cost_usd_per_mwh * (en - bat.energy.existing.mwh()))
                * year_frac,
        );
        let charge = series(bc.charge);
        let discharge = series(bc.discharge);
        costs.battery_wear +=
            Usd::from_base(discharge.iter().sum::<f64>() * dt * bat.wear_cost_usd_per_mwh);
        batteries.push(BatteryDispatch {
            charge: mw(charge),
            discharge: mw(discharge),
            soc: series(bc.soc).into_iter().map(Energy::from_mwh).collect(),
        });
    }

    let mut solar = Vec::new();
    let mut solar_caps = Vec::new();
    for (s, &(cap_col, out)) in p.solar.iter().zip(&lay.solar) {
        let cap = clean(cap_col.value(x)).max(0.0);
        solar_caps.push((s.name.clone(), Power::from_mw(cap)));
        costs.capital += Usd::from_base(
            s.capacity.annual_cost_usd_per_mw * (cap - s.capacity.existing.mw()) * year_frac,
        );
        solar.push(mw(series(out)));
    }

    let mut miners = Vec::new();
    for (m, &first) in p.miners.iter().zip(&lay.miners) {
        let run = series(first);
        costs.miner_revenue += Usd::from_base(run.iter().sum::<f64>() * dt * m.revenue.base());
        miners.push(mw(run));
    }

    let unserved = lay.unserved.map_or_else(|| vec![0.0; n], series);
    let unserved_mwh = unserved.iter().sum::<f64>() * dt;
    costs.lost_load = Usd::from_base(unserved_mwh * p.value_of_lost_load.base());
    costs.carbon = Usd::from_base(emissions_g / 1e6 * p.carbon_price_usd_per_t);

    let marginal_price = (0..n)
        .map(|t| EnergyPrice::from_base(clean(row_dual[lay.balance + idx(t)] / (dt * weight(t)))))
        .collect();

    Solution {
        objective: Usd::from_base(clean(objective)),
        costs,
        capacities: Capacities {
            grid: grid_cap,
            turbines: turbine_caps,
            batteries: battery_caps,
            solar: solar_caps,
        },
        dispatch: Dispatch {
            grid_import: mw(grid_import),
            grid_export: mw(grid_export),
            turbines,
            batteries,
            solar,
            miners,
            unserved: mw(unserved),
        },
        marginal_price,
        emissions: Co2e::from_base(emissions_g),
        unserved: Energy::from_mwh(unserved_mwh),
        stats,
    }
}

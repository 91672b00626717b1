//! From a [`SiteProblem`] to a [`LinearProgram`]: columns laid out series by series (each
//! component's per-step variables are one contiguous block), rows appended as triplets.
//!
//! Only what the problem needs is formulated: a fixed rating is a number, not a column (a
//! constraint between one variable and a fixed rating is that variable's bound, and a fixed
//! rating in a longer row moves to its right-hand side); a fleet has committed-capacity columns
//! only when something depends on the commitment (a minimum stable load or a start-up cost).

use crate::lp::{Col, LinearProgram, LpBuilder, Row};
use crate::problem::{
    Commitment, HOURS_PER_MONTH, HOURS_PER_YEAR, SiteProblem, SocEnd, TurbineSpec, at,
};

const INF: f64 = f64::INFINITY;

/// Where each variable and the balance rows of a formulated problem live.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Number of steps.
    pub n: usize,
    /// Step length in hours.
    pub dt_h: f64,
    /// First row of the per-step power balance.
    pub balance: Row,
    /// Grid columns.
    pub grid: Option<GridCols>,
    /// Turbine columns, one entry per fleet.
    pub turbines: Vec<TurbineCols>,
    /// Battery columns, one entry per battery.
    pub batteries: Vec<BatteryCols>,
    /// Solar: (rating, first output column).
    pub solar: Vec<(Rating, Col)>,
    /// First column of each miner fleet's consumption.
    pub miners: Vec<Col>,
    /// First unserved-load column; `None` when no optimum serves less than the load
    /// ([`unserved_is_never_optimal`]).
    pub unserved: Option<Col>,
}

/// A rating: a column when the optimizer chooses it, a number when it is fixed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rating {
    /// Chosen by the optimizer: this column.
    Col(Col),
    /// Fixed at this value (MW or MWh).
    Fixed(f64),
}

impl Rating {
    /// Its value in the solution `x`.
    pub fn value(self, x: &[f64]) -> f64 {
        match self {
            Rating::Col(c) => x[c],
            Rating::Fixed(v) => v,
        }
    }
}

/// Columns of the grid connection.
#[derive(Clone, Debug)]
pub struct GridCols {
    /// Connection rating (MW).
    pub cap: Rating,
    /// First import column.
    pub import: Col,
    /// First export column, when export is allowed.
    pub export: Option<Col>,
    /// First monthly peak column and the number of months, when there is a demand charge.
    pub peaks: Option<(Col, usize)>,
}

/// Columns of one turbine fleet.
#[derive(Clone, Debug)]
pub struct TurbineCols {
    /// Rating (MW).
    pub cap: Rating,
    /// First output column.
    pub output: Col,
    /// First committed-capacity column, when something depends on the commitment (a minimum
    /// stable load or a start-up cost); otherwise any capacity may run at no cost.
    pub committed: Option<Col>,
    /// First start-up column, when start-ups cost something (MW started; units started for
    /// integer commitment).
    pub startup: Option<Col>,
    /// Integer commitment: the units-online columns and their shut-downs.
    pub units: Option<UnitCols>,
}

/// Columns of a fleet committed in whole units.
#[derive(Clone, Debug)]
pub struct UnitCols {
    /// First column of the number of units online (integer).
    pub online: Col,
    /// Rating of one unit (MW).
    pub unit_mw: f64,
    /// First shut-down column (units shut down at the start of each step), when shut-downs
    /// cost something or a minimum down time applies.
    pub shutdown: Option<Col>,
}

/// Columns of one battery.
#[derive(Clone, Debug)]
pub struct BatteryCols {
    /// Power rating (MW).
    pub power: Rating,
    /// Energy rating (MWh).
    pub energy: Rating,
    /// First charge column.
    pub charge: Col,
    /// First discharge column.
    pub discharge: Col,
    /// First state-of-charge column (MWh at the end of each step).
    pub soc: Col,
}

/// How a problem over representative periods (typical days) stands for a longer horizon: the
/// problem's steps are `weight.len()` periods of `len` steps, one after the other, and period
/// `i` stands for `weight[i]` periods of the horizon ([`crate::periods::TypicalDays`]).
///
/// Operating costs and emissions of a step count `weight` times; every inter-temporal
/// constraint (battery state of charge, turbine commitment and start-ups, minimum up and down
/// times, ramps) wraps around within each period, which is cyclic; capital is charged for the
/// whole horizon; and a billing month's peak import is at least the import of every step that
/// stands for one of its steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Periods {
    /// Steps in one period.
    pub len: usize,
    /// Periods of the horizon each one stands for.
    pub weight: Vec<f64>,
    /// For each step of the problem, the billing months (of the horizon) of the steps it
    /// stands for.
    pub months: Vec<Vec<usize>>,
    /// Steps of the horizon.
    pub full_steps: usize,
}

/// The steps of a problem: a weight for each and how they wrap around (the whole horizon, or
/// each representative period, is cyclic).
struct Steps<'a> {
    /// Number of steps.
    n: usize,
    /// Length of a cyclic block: the horizon or one period.
    len: usize,
    periods: Option<&'a Periods>,
}

impl Steps<'_> {
    /// How many steps of the horizon step `t` stands for.
    fn w(&self, t: usize) -> f64 {
        self.periods.map_or(1.0, |q| q.weight[t / q.len])
    }
    /// The step `k` (at most `len`) before `t`, wrapping around within `t`'s block.
    fn back(&self, t: usize, k: usize) -> usize {
        let s = t - t % self.len;
        s + (t - s + self.len - k % self.len) % self.len
    }
}

/// `n` columns, one per step, costing `cost` times the step's weight.
fn step_cols(b: &mut LpBuilder, st: &Steps, n: usize, cost: f64, lo: f64, hi: f64) -> Col {
    let c = b.cols(n, cost, lo, hi);
    if st.periods.is_some() && cost != 0.0 {
        for t in 0..n {
            b.set_cost(c + t, cost * st.w(t));
        }
    }
    c
}

/// Month index of step `t` and the number of (possibly partial) billing months.
pub(crate) fn month_of(t: usize, dt_h: f64) -> usize {
    ((t as f64 * dt_h) / HOURS_PER_MONTH + 1e-9).floor() as usize
}

/// A [`LpBuilder`] that knows fixed ratings: terms on a [`Rating::Fixed`] move to the row's
/// bounds, and a row bounding one column by a fixed rating becomes the column's bound.
struct Builder {
    b: LpBuilder,
    /// Objective constant: the capital of existing capacity, `-annual * existing * f`.
    offset: f64,
}

impl Builder {
    /// A rating between `existing` and `max` at `annual` per unit-year over `year_frac` of a
    /// year: a column when it can change, its value otherwise.
    fn rating(&mut self, existing: f64, max: f64, annual: f64, year_frac: f64) -> Rating {
        if max > existing {
            let c = self.b.col(annual * year_frac, existing, max);
            self.offset -= annual * year_frac * existing;
            Rating::Col(c)
        } else {
            Rating::Fixed(existing)
        }
    }

    /// `lower <= sum(terms) + sum(k R) <= upper`; fixed ratings shift the bounds.
    fn row(&mut self, lower: f64, upper: f64, terms: &[(Col, f64)], ratings: &[(Rating, f64)]) {
        let (mut lo, mut up) = (lower, upper);
        let mut cols = terms.to_vec();
        for &(rt, k) in ratings {
            match rt {
                Rating::Col(c) => cols.push((c, k)),
                Rating::Fixed(v) => {
                    lo -= k * v;
                    up -= k * v;
                }
            }
        }
        self.b.row(lo, up, &cols);
    }

    /// `x <= k R`: a bound when `R` is fixed, a row otherwise.
    fn at_most(&mut self, x: Col, k: f64, r: Rating) {
        match r {
            Rating::Fixed(v) => self.b.tighten_upper(x, k * v),
            Rating::Col(c) => {
                self.b.row(-INF, 0.0, &[(x, 1.0), (c, -k)]);
            }
        }
    }

    /// `x >= k R`: a bound when `R` is fixed, a row otherwise.
    fn at_least(&mut self, x: Col, k: f64, r: Rating) {
        match r {
            Rating::Fixed(v) => self.b.tighten_lower(x, k * v),
            Rating::Col(c) => {
                self.b.row(0.0, INF, &[(x, 1.0), (c, -k)]);
            }
        }
    }

    /// Adds `k R` to row `row` (a fixed rating moves to its bounds).
    fn rating_entry(&mut self, row: Row, r: Rating, k: f64) {
        match r {
            Rating::Col(c) => self.b.entry(row, c, k),
            Rating::Fixed(v) => self.b.shift_row(row, -k * v),
        }
    }
}

/// The columns and rows of a fleet committed in whole units (`None` for a linear fleet):
///
/// ```text
/// n_t integer, U n_t <= K,  min U n_t <= p_t <= U n_t,        units online, output
/// s_t - d_t = n_t - n_t-1  (cyclic),                           start-ups, shut-downs
/// sum_{k < UT} s_t-k <= n_t,  sum_{k < DT} d_t-k <= K / U - n_t  minimum up and down times
/// reserve: U n_t - p_t
/// ```
///
/// with start-ups and shut-downs costing their price per MW times `U` per unit. `s` exists
/// only when start-ups cost something or a minimum up time spans two steps or more, `d` the
/// same for shut-downs; with only one of them the transition row is an inequality. Returns the
/// unit columns and the start-up columns.
fn integer_units(
    bd: &mut Builder,
    tb: &TurbineSpec,
    cap: Rating,
    output: Col,
    dt: f64,
    st: &Steps,
    reserve_rows: Option<Row>,
) -> Option<(UnitCols, Option<Col>)> {
    let Commitment::Integer {
        unit,
        min_up,
        min_down,
        shutdown_cost_usd_per_mw,
    } = tb.commitment
    else {
        return None;
    };
    let u = unit.mw();
    let n = st.n;
    // Steps a unit must stay on (off) after a start (shut-down); 1 is no constraint.
    let steps = |h: f64| ((h / dt - 1e-9).ceil().max(1.0) as usize).min(st.len);
    let (up, down) = (steps(min_up.h()), steps(min_down.h()));
    let online = bd.b.cols(n, 0.0, 0.0, INF);
    bd.b.integer(online, n);
    let start_cost = tb.startup_cost_usd_per_mw * u;
    let stop_cost = shutdown_cost_usd_per_mw * u;
    let startup =
        (start_cost > 0.0 || up > 1).then(|| step_cols(&mut bd.b, st, n, start_cost, 0.0, INF));
    let shutdown =
        (stop_cost > 0.0 || down > 1).then(|| step_cols(&mut bd.b, st, n, stop_cost, 0.0, INF));
    for t in 0..n {
        let (pt, nt) = (output + t, online + t);
        // U n_t <= K: a whole number of units when the rating is fixed.
        match cap {
            Rating::Fixed(k) => bd.b.tighten_upper(nt, (k / u + 1e-9).floor()),
            Rating::Col(c) => {
                bd.b.row(-INF, 0.0, &[(nt, u), (c, -1.0)]);
            }
        }
        bd.b.row(-INF, 0.0, &[(pt, 1.0), (nt, -u)]);
        if tb.min_stable_fraction > 0.0 {
            bd.b.row(-INF, 0.0, &[(nt, tb.min_stable_fraction * u), (pt, -1.0)]);
        }
        if let Some(r0) = reserve_rows {
            bd.b.entry(r0 + t, nt, u);
            bd.b.entry(r0 + t, pt, -1.0);
        }
        let prev = online + st.back(t, 1);
        let mut terms: Vec<(Col, f64)> = Vec::with_capacity(4);
        if prev != nt {
            terms.extend([(nt, -1.0), (prev, 1.0)]);
        }
        match (startup, shutdown) {
            (Some(s), Some(d)) => {
                terms.extend([(s + t, 1.0), (d + t, -1.0)]);
                bd.b.row(0.0, 0.0, &terms);
            }
            (Some(s), None) => {
                terms.push((s + t, 1.0));
                bd.b.row(0.0, INF, &terms);
            }
            (None, Some(d)) => {
                terms.push((d + t, -1.0));
                bd.b.row(-INF, 0.0, &terms);
            }
            (None, None) => {}
        }
        if let (Some(s), true) = (startup, up > 1) {
            let mut terms: Vec<(Col, f64)> = (0..up).map(|k| (s + st.back(t, k), 1.0)).collect();
            terms.push((nt, -1.0));
            bd.b.row(-INF, 0.0, &terms);
        }
        if let (Some(d), true) = (shutdown, down > 1) {
            // Units not online: a whole number of them when the rating is fixed.
            let cap = match cap {
                Rating::Fixed(k) => Rating::Fixed((k / u + 1e-9).floor() * u),
                c => c,
            };
            let mut terms: Vec<(Col, f64)> = (0..down).map(|k| (d + st.back(t, k), 1.0)).collect();
            terms.push((nt, 1.0));
            bd.row(-INF, 0.0, &terms, &[(cap, -1.0 / u)]);
        }
    }
    Some((
        UnitCols {
            online,
            unit_mw: u,
            shutdown,
        },
        startup,
    ))
}

/// Whether the unserved load needs its cap `l_t <= load_t`, or no optimum can reach it (then
/// it is left out: two fewer rows per step for an interior-point solver).
///
/// Beyond the load, unserved energy would have to go into a sink, and when the only sinks are
/// batteries it never pays: if `l_t > load_t` somewhere, some battery charges at `t`; charge
/// `delta` less there, with `delta` less unserved, and discharge `eta_c eta_d delta` less at
/// its next discharge (if any) with that much more unserved there. The state of charge is
/// lower by `eta_c delta dt` only between the two steps, where it was rising from at least the
/// floor plus that, and unchanged elsewhere, so the schedule stays feasible and costs
/// `(1 - eta_c eta_d) x value of lost load x delta dt` less: an optimum never has
/// `l_t > load_t` when every battery loses energy on a round trip (`eta_c eta_d < 1`) and the
/// value of lost load is positive. The argument needs that nothing else takes energy from the
/// balance (no export, no miners), that no end state forces a charge (cyclic, or a fixed end
/// no higher than the floor) and that a charge buys nothing else (no reserve, whose battery
/// headroom grows with the charge); otherwise the cap stays.
pub fn unserved_needs_cap(p: &SiteProblem) -> bool {
    let sinks = p.grid.as_ref().is_some_and(|g| g.export_cap.mw() > 0.0) || !p.miners.is_empty();
    let batteries_lossy = p.batteries.iter().all(|b| {
        b.charge_efficiency * b.discharge_efficiency < 1.0
            && match b.soc_end {
                SocEnd::Cyclic => true,
                SocEnd::Fixed { final_fraction, .. } => final_fraction <= b.soc_min_fraction,
            }
    });
    sinks || p.reserve.mw() > 0.0 || p.value_of_lost_load.base() <= 0.0 || !batteries_lossy
}

/// Whether no optimum serves less than the load, so that the unserved-load columns can be left
/// out (three fewer columns and rows per step for an interior-point solver).
///
/// When the cap `l_t <= load_t` is not needed ([`unserved_needs_cap`]) and the grid's rating
/// is at least the load in every step: if an optimum had `l_t > 0`, either the import is below
/// the rating, and importing `delta` more for `delta` less unserved is cheaper when every
/// step's import costs less than the value of lost load, or it is at the rating, at least the
/// load, and then a battery charges at `t`, which the argument of [`unserved_needs_cap`] makes
/// cheaper to charge less. The import must be in no other row (no demand charge, no carbon
/// cap; no reserve is part of the first condition).
pub fn unserved_is_never_optimal(p: &SiteProblem) -> bool {
    let Some(g) = &p.grid else { return false };
    let voll = p.value_of_lost_load.base();
    let carbon_usd_per_mwh =
        |t: usize| p.carbon_price_usd_per_t / 1e6 * at(&g.carbon_intensity, t).base() * 1000.0;
    let n = p.steps();
    !unserved_needs_cap(p)
        && p.carbon_cap_t.is_none()
        && g.demand_charge_usd_per_kw_month <= 0.0
        && p.load.iter().all(|l| l.mw() <= g.connection.existing.mw())
        && (0..n).all(|t| at(&g.price, t).base() + carbon_usd_per_mwh(t) < voll)
}

/// Formulates the problem. Variables are in MW (power), MWh (energy) and US dollars
/// (objective); the problem must have been validated.
pub fn formulate(p: &SiteProblem) -> (LinearProgram, Layout) {
    formulate_periods(p, None)
}

/// [`formulate`], or with `periods`, the problem's steps as representative periods standing
/// for a longer horizon ([`Periods`]; its lengths must match the problem's steps).
pub fn formulate_periods(p: &SiteProblem, periods: Option<&Periods>) -> (LinearProgram, Layout) {
    let n = p.steps();
    let dt = p.step.h();
    let st = Steps {
        n,
        len: periods.map_or(n, |q| q.len),
        periods,
    };
    let full_steps = periods.map_or(n, |q| q.full_steps);
    let year_frac = full_steps as f64 * dt / HOURS_PER_YEAR;
    let per_step_cols =
        3 + 3 * p.turbines.len() + 4 * p.batteries.len() + p.solar.len() + p.miners.len();
    let mut bd = Builder {
        b: LpBuilder::with_capacity(
            n * per_step_cols + 16,
            n * (2 * per_step_cols + 4),
            n * per_step_cols * 5,
        ),
        offset: 0.0,
    };
    let mut lay = Layout {
        n,
        dt_h: dt,
        ..Layout::default()
    };

    // Balance rows first, so that their indices are 0..n.
    lay.balance = bd.b.lp_rows();
    for t in 0..n {
        let l = p.load[t].mw();
        bd.b.empty_row(l, l);
    }
    let carbon_usd_per_g = p.carbon_price_usd_per_t / 1e6;
    let carbon_row: Option<Row> = p.carbon_cap_t.map(|cap| bd.b.empty_row(-INF, cap * 1e6));
    // Grams of CO2e per MW over one step: g/kWh x 1000 kWh/MWh x dt.
    let g_per_mw_step = |ci_g_per_kwh: f64| ci_g_per_kwh * 1000.0 * dt;

    // Reserve rows (filled by the grid, turbines, batteries and miners).
    let reserve_mw = p.reserve.mw();
    let reserve_rows = if reserve_mw > 0.0 {
        let r0 = bd.b.lp_rows();
        for _ in 0..n {
            bd.b.empty_row(reserve_mw, INF);
        }
        Some(r0)
    } else {
        None
    };

    if let Some(g) = &p.grid {
        let c = &g.connection;
        let cap = bd.rating(
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
            year_frac,
        );
        let import = bd.b.cols(n, 0.0, 0.0, INF);
        for t in 0..n {
            let ci = g_per_mw_step(at(&g.carbon_intensity, t).base());
            bd.b.set_cost(
                import + t,
                (at(&g.price, t).base() * dt + carbon_usd_per_g * ci) * st.w(t),
            );
            bd.b.entry(lay.balance + t, import + t, 1.0);
            bd.at_most(import + t, 1.0, cap);
            // Unused import capacity is reserve too: the connection can pick up a loss.
            if let Some(r0) = reserve_rows {
                bd.rating_entry(r0 + t, cap, 1.0);
                bd.b.entry(r0 + t, import + t, -1.0);
            }
            if let Some(r) = carbon_row {
                bd.b.entry(r, import + t, ci * st.w(t));
            }
        }
        let export = if g.export_cap.mw() > 0.0 {
            let export = bd.b.cols(n, 0.0, 0.0, g.export_cap.mw());
            for t in 0..n {
                bd.b.set_cost(
                    export + t,
                    -at(&g.price, t).base() * g.export_price_fraction * dt * st.w(t),
                );
                bd.b.entry(lay.balance + t, export + t, -1.0);
            }
            Some(export)
        } else {
            None
        };
        let peaks = if g.demand_charge_usd_per_kw_month > 0.0 {
            let months = month_of(full_steps - 1, dt) + 1;
            let first = bd.b.cols(months, 0.0, 0.0, INF);
            for m in 0..months {
                let start_h = m as f64 * HOURS_PER_MONTH;
                let hours = (full_steps as f64 * dt - start_h).min(HOURS_PER_MONTH);
                let usd_per_mw =
                    g.demand_charge_usd_per_kw_month * 1000.0 * hours / HOURS_PER_MONTH;
                bd.b.set_cost(first + m, usd_per_mw);
            }
            for t in 0..n {
                let own = [month_of(t, dt)];
                let months = periods.map_or(&own[..], |q| &q.months[t][..]);
                for &m in months {
                    bd.b.row(-INF, 0.0, &[(import + t, 1.0), (first + m, -1.0)]);
                }
            }
            Some((first, months))
        } else {
            None
        };
        lay.grid = Some(GridCols {
            cap,
            import,
            export,
            peaks,
        });
    }

    for tb in &p.turbines {
        let c = &tb.capacity;
        let cap = bd.rating(
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
            year_frac,
        );
        let ci = g_per_mw_step(tb.carbon_intensity.base());
        let energy_cost =
            (tb.heat_rate_mmbtu_per_mwh * tb.fuel_price_usd_per_mmbtu + tb.vom_usd_per_mwh) * dt
                + carbon_usd_per_g * ci;
        let output = step_cols(&mut bd.b, &st, n, energy_cost, 0.0, INF);
        // Without a minimum stable load or a start-up cost, committing capacity costs nothing
        // and constrains nothing: every step may commit the whole rating, so the output is
        // bounded by the rating and the reserve counts the rating less the output.
        let needs_commitment = tb.min_stable_fraction > 0.0 || tb.startup_cost_usd_per_mw > 0.0;
        let units = integer_units(&mut bd, tb, cap, output, dt, &st, reserve_rows);
        let committed = (units.is_none() && needs_commitment).then(|| bd.b.cols(n, 0.0, 0.0, INF));
        let startup = match (&units, committed) {
            (Some((_, s)), _) => *s,
            (None, Some(_)) if tb.startup_cost_usd_per_mw > 0.0 => Some(step_cols(
                &mut bd.b,
                &st,
                n,
                tb.startup_cost_usd_per_mw,
                0.0,
                INF,
            )),
            _ => None,
        };
        let units = units.map(|(u, _)| u);
        // A ramp limit that allows the full range within one step never binds.
        let ramp = tb
            .ramp_fraction_per_min
            .map(|r| r * 60.0 * dt)
            .filter(|&r| r < 1.0);
        for t in 0..n {
            let pt = output + t;
            bd.b.entry(lay.balance + t, pt, 1.0);
            match committed {
                Some(u) => {
                    let ut = u + t;
                    bd.b.row(-INF, 0.0, &[(pt, 1.0), (ut, -1.0)]);
                    if tb.min_stable_fraction > 0.0 {
                        bd.b.row(-INF, 0.0, &[(ut, tb.min_stable_fraction), (pt, -1.0)]);
                    }
                    bd.at_most(ut, 1.0, cap);
                    if let Some(s) = startup {
                        // Cyclic: the commitment before the first step is the one after the
                        // last.
                        let prev = u + st.back(t, 1);
                        if prev != ut {
                            bd.b.row(0.0, INF, &[(s + t, 1.0), (ut, -1.0), (prev, 1.0)]);
                        }
                    }
                    if let Some(r0) = reserve_rows {
                        bd.b.entry(r0 + t, ut, 1.0);
                        bd.b.entry(r0 + t, pt, -1.0);
                    }
                }
                // Whole units: the rows are `integer_units`'.
                None if units.is_some() => {}
                None => {
                    bd.at_most(pt, 1.0, cap);
                    if let Some(r0) = reserve_rows {
                        bd.rating_entry(r0 + t, cap, 1.0);
                        bd.b.entry(r0 + t, pt, -1.0);
                    }
                }
            }
            // Within a representative period the ramp wraps around too (the period is
            // cyclic); over the whole horizon it does not.
            let ramped = if periods.is_some() { st.len > 1 } else { t > 0 };
            if let (Some(r), true) = (ramp, ramped) {
                let prev = output + st.back(t, 1);
                bd.row(-INF, 0.0, &[(pt, 1.0), (prev, -1.0)], &[(cap, -r)]);
                bd.row(-INF, 0.0, &[(prev, 1.0), (pt, -1.0)], &[(cap, -r)]);
            }
            if let Some(r) = carbon_row {
                bd.b.entry(r, pt, ci * st.w(t));
            }
        }
        lay.turbines.push(TurbineCols {
            cap,
            output,
            committed,
            startup,
            units,
        });
    }

    for bat in &p.batteries {
        let pw = &bat.power;
        let en = &bat.energy;
        let power = bd.rating(
            pw.existing.mw(),
            pw.max.mw(),
            pw.annual_cost_usd_per_mw,
            year_frac,
        );
        let energy = bd.rating(
            en.existing.mwh(),
            en.max.mwh(),
            en.annual_cost_usd_per_mwh,
            year_frac,
        );
        let charge = bd.b.cols(n, 0.0, 0.0, INF);
        let discharge = step_cols(&mut bd.b, &st, n, bat.wear_cost_usd_per_mwh * dt, 0.0, INF);
        let soc = bd.b.cols(n, 0.0, 0.0, INF);
        let held = reserve_rows.map(|_| bd.b.cols(n, 0.0, 0.0, INF));
        let (eta_c, eta_d) = (bat.charge_efficiency, bat.discharge_efficiency);
        for t in 0..n {
            let (ct, dt_col, et) = (charge + t, discharge + t, soc + t);
            bd.b.entry(lay.balance + t, dt_col, 1.0);
            bd.b.entry(lay.balance + t, ct, -1.0);
            bd.at_most(ct, 1.0, power);
            bd.at_most(dt_col, 1.0, power);
            // e_t = e_{t-1} + eta_c c_t dt - d_t dt / eta_d
            let flow = [(et, 1.0), (ct, -eta_c * dt), (dt_col, dt / eta_d)];
            // Representative periods are each cyclic, whatever the horizon's end condition.
            let soc_end = if periods.is_some() {
                SocEnd::Cyclic
            } else {
                bat.soc_end
            };
            match (t, soc_end) {
                (
                    0,
                    SocEnd::Fixed {
                        initial_fraction, ..
                    },
                ) => bd.row(0.0, 0.0, &flow, &[(energy, -initial_fraction)]),
                (_, SocEnd::Cyclic) if st.len == 1 => {
                    bd.b.row(0.0, 0.0, &flow[1..]);
                }
                _ => {
                    let prev = soc + st.back(t, 1);
                    bd.b.row(0.0, 0.0, &[flow[0], flow[1], flow[2], (prev, -1.0)]);
                }
            }
            bd.at_most(et, bat.soc_max_fraction, energy);
            if bat.soc_min_fraction > 0.0 {
                bd.at_least(et, bat.soc_min_fraction, energy);
            }
            if let (Some(h), Some(r0)) = (held, reserve_rows) {
                // Headroom: stop charging and discharge up to the rating, for one step, from
                // the energy above the floor.
                bd.row(
                    -INF,
                    0.0,
                    &[(h + t, 1.0), (dt_col, 1.0), (ct, -1.0)],
                    &[(power, -1.0)],
                );
                bd.row(
                    -INF,
                    0.0,
                    &[(h + t, dt / eta_d), (et, -1.0)],
                    &[(energy, bat.soc_min_fraction)],
                );
                bd.b.entry(r0 + t, h + t, 1.0);
            }
        }
        if let (SocEnd::Fixed { final_fraction, .. }, None) = (bat.soc_end, periods) {
            bd.at_least(soc + n - 1, final_fraction, energy);
        }
        lay.batteries.push(BatteryCols {
            power,
            energy,
            charge,
            discharge,
            soc,
        });
    }

    for s in &p.solar {
        let c = &s.capacity;
        let cap = bd.rating(
            c.existing.mw(),
            c.max.mw(),
            c.annual_cost_usd_per_mw,
            year_frac,
        );
        let out = bd.b.cols(n, 0.0, 0.0, INF);
        for t in 0..n {
            bd.b.entry(lay.balance + t, out + t, 1.0);
            bd.at_most(out + t, at(&s.capacity_factor, t), cap);
        }
        lay.solar.push((cap, out));
    }

    for m in &p.miners {
        let first = step_cols(
            &mut bd.b,
            &st,
            n,
            -m.revenue.base() * dt,
            0.0,
            m.capacity.mw(),
        );
        for t in 0..n {
            bd.b.entry(lay.balance + t, first + t, -1.0);
            if let Some(r0) = reserve_rows {
                bd.b.entry(r0 + t, first + t, 1.0);
            }
        }
        lay.miners.push(first);
    }

    if !unserved_is_never_optimal(p) {
        let first = step_cols(
            &mut bd.b,
            &st,
            n,
            p.value_of_lost_load.base() * dt,
            0.0,
            0.0,
        );
        let capped = unserved_needs_cap(p);
        for t in 0..n {
            bd.b.set_upper(first + t, if capped { p.load[t].mw() } else { INF });
            bd.b.entry(lay.balance + t, first + t, 1.0);
        }
        lay.unserved = Some(first);
    }

    let mut lp = bd.b.finish();
    lp.offset = bd.offset;
    (lp, lay)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{BatterySpec, EnergyCapacity, GridSpec, PowerCapacity, TurbineSpec};
    use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time};

    fn site(extendable: bool, min_stable: f64) -> SiteProblem {
        let mut p = SiteProblem::new(Time::from_h(1.0), vec![Power::from_mw(100.0); 24]);
        let cap = |mw: f64| {
            if extendable {
                PowerCapacity::extendable(Power::from_mw(mw), Power::from_mw(2.0 * mw), 1.0)
            } else {
                PowerCapacity::fixed(Power::from_mw(mw))
            }
        };
        p.grid = Some(GridSpec {
            connection: cap(80.0),
            price: vec![EnergyPrice::from_usd_per_mwh(50.0)],
            export_cap: Power::ZERO,
            export_price_fraction: 1.0,
            demand_charge_usd_per_kw_month: 0.0,
            carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(0.0)],
        });
        p.turbines.push(TurbineSpec {
            name: "gt".into(),
            capacity: cap(50.0),
            min_stable_fraction: min_stable,
            ramp_fraction_per_min: None,
            heat_rate_mmbtu_per_mwh: 10.0,
            fuel_price_usd_per_mmbtu: 4.0,
            vom_usd_per_mwh: 0.0,
            startup_cost_usd_per_mw: 0.0,
            carbon_intensity: CarbonIntensity::from_g_per_kwh(400.0),
            commitment: Commitment::Linear,
        });
        p.batteries.push(BatterySpec {
            name: "bess".into(),
            power: cap(10.0),
            energy: EnergyCapacity::fixed(Energy::from_mwh(40.0)),
            charge_efficiency: 0.95,
            discharge_efficiency: 0.95,
            soc_min_fraction: 0.1,
            soc_max_fraction: 0.9,
            soc_end: SocEnd::Cyclic,
            wear_cost_usd_per_mwh: 0.0,
        });
        p
    }

    /// Fixed ratings and a fleet without minimum load: per step, import, output, charge,
    /// discharge, state of charge and unserved load; the balance and the state-of-charge step
    /// are the only rows, every rating a bound.
    #[test]
    fn fixed_ratings_are_bounds_and_no_commitment_without_a_minimum_load() {
        let p = site(false, 0.0);
        let (lp, lay) = formulate(&p);
        assert_eq!((lp.cols(), lp.rows()), (6 * 24, 2 * 24));
        assert!(lay.turbines[0].committed.is_none());
        assert_eq!(lay.turbines[0].cap, Rating::Fixed(50.0));
        let g = lay.grid.as_ref().map(|g| g.import).unwrap_or_default();
        assert_eq!(lp.col_upper[g], 80.0);
        let b = &lay.batteries[0];
        assert_eq!((lp.col_lower[b.soc], lp.col_upper[b.soc]), (4.0, 36.0));
        assert_eq!(lp.col_upper[b.charge], 10.0);
    }

    /// A grid that covers the load at a price below the value of lost load, with a lossy
    /// battery as the only sink: no unserved columns. A demand charge, a reserve or a grid
    /// below the load brings them back, capped at the load only when a sink could take more.
    #[test]
    fn unserved_columns_only_where_an_optimum_could_use_them() {
        let mut p = site(false, 0.0);
        if let Some(g) = &mut p.grid {
            g.connection = PowerCapacity::fixed(Power::from_mw(100.0));
        }
        let (lp, lay) = formulate(&p);
        assert_eq!((lp.cols(), lay.unserved), (5 * 24, None));
        let mut charged = p.clone();
        if let Some(g) = &mut charged.grid {
            g.demand_charge_usd_per_kw_month = 5.0;
        }
        let (lp, lay) = formulate(&charged);
        let u = lay.unserved.expect("unserved columns");
        assert_eq!(
            lp.col_upper[u],
            f64::INFINITY,
            "no sink but the battery: no cap"
        );
        let mut reserved = p.clone();
        reserved.reserve = Power::from_mw(5.0);
        let (lp, lay) = formulate(&reserved);
        let u = lay.unserved.expect("unserved columns");
        assert_eq!(lp.col_upper[u], 100.0, "a charge adds reserve: capped");
        let (lp, lay) = formulate(&site(false, 0.0));
        let u = lay.unserved.expect("the grid is below the load");
        assert_eq!(lp.col_upper[u], f64::INFINITY);
        for (a, b) in [(p, 0.0), (reserved, 0.0)] {
            let s = crate::optimize_with(
                &a,
                &crate::OptimizeOptions::default(),
                crate::Solver::Clarabel,
            )
            .expect("optimum");
            assert!(s.dispatch.unserved.iter().all(|l| l.mw() <= b + 1e-6));
        }
    }

    /// Extendable ratings are columns with their rows; a minimum load brings the commitment.
    #[test]
    fn extendable_ratings_and_minimum_load_keep_their_columns() {
        let (lp, lay) = formulate(&site(true, 0.3));
        // Three rating columns; per step the six series above plus the commitment.
        assert_eq!(lp.cols(), 3 + 7 * 24);
        // Per step: balance, state of charge, import <= G, p <= u, min load, u <= K,
        // charge <= P, discharge <= P.
        assert_eq!(lp.rows(), 8 * 24);
        assert!(lay.turbines[0].committed.is_some());
        assert!(matches!(
            lay.grid.as_ref().map(|g| g.cap),
            Some(Rating::Col(_))
        ));
    }
}

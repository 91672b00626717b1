//! Cheapest design and dispatch of a site energy system as a linear program.
//!
//! Given a site's firm demand and its assets (grid connection, gas-turbine fleets, batteries,
//! solar, Bitcoin miners), some of whose ratings may be chosen, [`optimize`] finds the ratings
//! and the step-by-step schedule that minimize total cost over the horizon, with the open-source
//! solver HiGHS (the solver behind PyPSA and REopt). The core is pure: no IO, no clock other
//! than the two timings reported in [`SolveStats`].
//!
//! # Formulation
//!
//! Steps `t = 0..T` of `dt` hours; all power variables in MW, energy in MWh, money in USD.
//! `f = T dt / 8760` is the horizon's share of a year.
//!
//! Minimize
//!
//! ```text
//!   sum_t dt [ price_t imp_t - x price_t exp_t                          grid energy
//!            + sum_g (hr_g fuel_g + vom_g) p_gt                         fuel, O&M
//!            + cprice (ci_t imp_t + co2_g p_gt)                         carbon price
//!            + wear_b d_bt + voll l_t - rev_m m_mt ]                    wear, lost load, miners
//! + sum_g sum_t start_g s_gt                                            start-ups
//! + sum_month dc * 1000 * (hours_month / 730) peak_month                demand charges
//! + f * sum_x annual_x (X - X_existing)                                 capital of new build
//! ```
//!
//! subject to, in every step `t`,
//!
//! ```text
//! balance   imp - exp + sum p_g + sum (d_b - c_b) + sum pv_s + l - sum m = load_t   (dual: price)
//! grid      imp <= G, exp <= export_cap, imp <= peak_month(t); export earns x price
//! turbines  p_gt <= u_gt <= K_g, p_gt >= min_g u_gt,                 committed capacity u
//!           s_gt >= u_gt - u_g,t-1  (cyclic),                        linearized start-ups
//!           |p_gt - p_g,t-1| <= ramp_g * 60 dt * K_g                  ramp limit (fraction/min)
//! battery   c, d <= P_b,  e_t = e_t-1 + eta_c c dt - d dt / eta_d,
//!           soc_min E_b <= e_t <= soc_max E_b,  e_-1 = e_T-1 (cyclic) or e_-1 = s0 E_b,
//!           e_T-1 >= s1 E_b (fixed end)
//! solar     pv_st <= cf_st S_s
//! miners    0 <= m_mt <= M_m
//! unserved  0 <= l_t <= load_t
//! reserve   sum_g (u_gt - p_gt) + (G - imp_t) + sum_b h_bt + sum_m m_mt >= R,  h_bt <= P_b - d_bt + c_bt,
//!           h_bt dt / eta_d <= e_bt - soc_min E_b
//! carbon    sum_t dt (ci_t imp_t + sum_g co2_g p_gt) <= cap            (optional)
//! ```
//!
//! and `X_existing <= X <= X_max` for every rating (`G`, `K_g`, `P_b`, `E_b`, `S_s`). The
//! matrix is built as triplets and sorted into compressed columns in one pass
//! ([`lp::LpBuilder`]); a year of hourly steps of a campus is about 10^5 columns and 1.5 x 10^5
//! rows.
//!
//! Assumptions: a fleet of turbines is one continuous committed capacity (no integer units);
//! billing months are twelfths of a year; the reserve is held for one step; running miners
//! count as reserve because they curtail within seconds.
//!
//! # Example
//!
//! ```
//! use wattage_optimize::{optimize, OptimizeOptions, SiteProblem, GridSpec, PowerCapacity};
//! use wattage_units::{Power, Time, EnergyPrice, CarbonIntensity};
//!
//! let mut p = SiteProblem::new(Time::from_h(1.0), vec![Power::from_mw(100.0); 24]);
//! p.grid = Some(GridSpec {
//!     connection: PowerCapacity::fixed(Power::from_mw(150.0)),
//!     price: vec![EnergyPrice::from_usd_per_mwh(50.0)],
//!     export_cap: Power::ZERO,
//!     export_price_fraction: 1.0,
//!     demand_charge_usd_per_kw_month: 0.0,
//!     carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(400.0)],
//! });
//! let s = optimize(&p, &OptimizeOptions::default()).unwrap();
//! assert!((s.objective.usd() - 100.0 * 24.0 * 50.0).abs() < 1e-3);
//! assert!((s.marginal_price[0].usd_per_mwh() - 50.0).abs() < 1e-6);
//! ```

pub mod formulate;
pub mod lp;
mod problem;
pub mod scenario;
mod solution;

use std::time::Instant;

use wattage_units::Time;

pub use problem::{
    BatterySpec, EnergyCapacity, GridSpec, HOURS_PER_MONTH, HOURS_PER_YEAR, MinerSpec,
    PowerCapacity, SiteProblem, SocEnd, SolarSpec, TurbineSpec,
};
pub use scenario::{ConvertOptions, Expansion, design_of, rule_based_cost};
pub use solution::{
    BatteryDispatch, Capacities, CostBreakdown, Dispatch, Solution, SolveStats, TurbineDispatch,
};

/// Why an optimization failed.
#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    /// A field of the problem is out of range; `field` names it.
    #[error("`{field}` {message}")]
    Invalid {
        /// The field, e.g. `batteries[0].charge_efficiency`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No schedule meets every constraint (a carbon cap or a fixed end state too tight).
    #[error("the problem is infeasible: {hint}")]
    Infeasible {
        /// Which constraints are likely to blame.
        hint: String,
    },
    /// The cost can decrease without limit (an asset that earns money with no bound).
    #[error("the problem is unbounded: {hint}")]
    Unbounded {
        /// Which parameters are likely to blame.
        hint: String,
    },
    /// The solver stopped without an optimum (time limit, numerical trouble).
    #[error("the solver stopped without an optimum: {status}")]
    Solver {
        /// The solver's status.
        status: String,
    },
}

impl OptimizeError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Which HiGHS algorithm solves the LP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Method {
    /// Dual simplex (HiGHS's own choice for LPs); the faster of the two on the site LPs
    /// measured (a year hourly: 179 s against 269 s for interior point, on a loaded machine).
    #[default]
    Simplex,
    /// Interior point with crossover to a vertex.
    Ipm,
}

/// Solver settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizeOptions {
    /// Algorithm.
    pub method: Method,
    /// Stop after this long (then [`OptimizeError::Solver`]).
    pub time_limit: Option<Time>,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        Self {
            method: Method::Simplex,
            time_limit: None,
        }
    }
}

/// Finds the cheapest ratings and schedule. Deterministic: the same problem gives the same
/// answer (HiGHS runs single-threaded with a fixed seed); only the timings vary.
pub fn optimize(p: &SiteProblem, o: &OptimizeOptions) -> Result<Solution, OptimizeError> {
    p.validate()?;
    let t0 = Instant::now();
    let (lp, layout) = formulate::formulate(p);
    let model = highs_model(&lp, o)?;
    let build = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let solved = model.try_solve().map_err(|e| OptimizeError::Solver {
        status: format!("{e:?}"),
    })?;
    let solve = t1.elapsed().as_secs_f64();
    use highs::HighsModelStatus as S;
    match solved.status() {
        S::Optimal => {}
        S::Infeasible => {
            return Err(OptimizeError::Infeasible {
                hint: "check `carbon_cap_t` and fixed battery end states".into(),
            });
        }
        S::Unbounded | S::UnboundedOrInfeasible => {
            return Err(OptimizeError::Unbounded {
                hint: "an asset earns more than it costs with no rating cap; check export and miner revenue".into(),
            });
        }
        s => {
            return Err(OptimizeError::Solver {
                status: format!("{s:?}"),
            });
        }
    }
    let sol = solved.get_solution();
    let iterations = solved.simplex_iteration_count() + solved.ipm_iteration_count();
    let objective = lp.offset + solved.objective_value();
    let stats = SolveStats {
        cols: lp.cols(),
        rows: lp.rows(),
        nnz: lp.nnz(),
        build: Time::from_s(build),
        solve: Time::from_s(solve),
        iterations,
    };
    Ok(solution::extract(
        p,
        &layout,
        sol.columns(),
        sol.dual_rows(),
        objective,
        stats,
    ))
}

/// Hands a [`lp::LinearProgram`] to HiGHS.
fn highs_model(lp: &lp::LinearProgram, o: &OptimizeOptions) -> Result<highs::Model, OptimizeError> {
    let mut pb = highs::ColProblem::new();
    let rows: Vec<highs::Row> = (0..lp.rows())
        .map(|r| pb.add_row(lp.row_lower[r]..=lp.row_upper[r]))
        .collect();
    for j in 0..lp.cols() {
        let (a, b) = (lp.col_start[j], lp.col_start[j + 1]);
        pb.add_column(
            lp.col_cost[j],
            lp.col_lower[j]..=lp.col_upper[j],
            lp.index[a..b]
                .iter()
                .zip(&lp.value[a..b])
                .map(|(&r, &v)| (rows[r], v)),
        );
    }
    let mut m = pb
        .try_optimise(highs::Sense::Minimise)
        .map_err(|e| OptimizeError::Solver {
            status: format!("HiGHS rejected the model: {e:?}"),
        })?;
    m.make_quiet();
    let _ = m.try_set_option("random_seed", 0);
    match o.method {
        Method::Simplex => {
            let _ = m.try_set_option("solver", "simplex");
        }
        Method::Ipm => {
            let _ = m.try_set_option("solver", "ipm");
            let _ = m.try_set_option("run_crossover", "on");
        }
    }
    if let Some(t) = o.time_limit {
        let _ = m.try_set_option("time_limit", t.s());
    }
    Ok(m)
}

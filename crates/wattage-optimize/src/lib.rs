//! Cheapest design and dispatch of a site energy system as a linear program.
//!
//! Given a site's firm demand and its assets (grid connection, gas-turbine fleets, batteries,
//! solar, Bitcoin miners), some of whose ratings may be chosen, [`optimize`] finds the ratings
//! and the step-by-step schedule that minimize total cost over the horizon. The core is pure: no
//! IO, no clock other than the two timings reported in [`SolveStats`].
//!
//! # Solvers
//!
//! The LP ([`lp::LinearProgram`], solver-agnostic) goes to one of two backends ([`Solver`]):
//!
//! - **Clarabel** (pure Rust, interior point), always compiled in: a build needs nothing but
//!   Rust. Stopped at a duality gap and residuals of [`CLARABEL_TOLERANCE`] (1e-10, relative).
//! - **HiGHS** (dual simplex, or interior point with crossover; the solver behind PyPSA and
//!   REopt) with the cargo feature `highs`, which builds it from source and needs `cmake` and
//!   `libclang-dev`.
//!
//! A [`Sweep`] solves similar problems one after another, each HiGHS solve of an LP of the same
//! shape starting from the previous optimum (far fewer simplex iterations, the same optima).
//! Clarabel, an interior-point method, has no warm start.
//!
//! [`optimize`] uses [`Solver::DEFAULT`]: HiGHS when the build has it, Clarabel otherwise;
//! [`optimize_with`] picks one, and [`available_solvers`] lists what this build has. Both reach
//! the same optimal cost (measured to 5e-10 relative on the reference sites) and, where they are
//! unique, the same marginal prices. Where the LP has several optimal schedules or several
//! optimal prices (a battery indifferent to when it shifts energy; a step where all load goes
//! unserved, priced at anything from the value of lost load up), HiGHS returns a vertex and
//! Clarabel a point inside the optimal set, so the two may differ there, and Clarabel leaves
//! quantities of the order of its tolerance where HiGHS has exact zeros.
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
//! unserved  0 <= l_t <= load_t   (the cap left out where no optimum can reach it)
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
//! Only what the problem needs is formulated, so that the solver's presolve has nothing to
//! remove ([`formulate::Rating`]):
//!
//! - A fixed rating (`X_existing == X_max`) is a number, not a column: a row between one
//!   variable and the rating (`imp <= G`, `c, d <= P`, `soc_min E <= e <= soc_max E`,
//!   `e_T-1 >= s1 E`, `pv <= cf S`, `u <= K`) is that variable's bound, and in a longer row
//!   (ramp, reserve, battery headroom, the first state-of-charge step) the rating moves to the
//!   right-hand side. A year of peak-shaving with its design fixed went from 70,081 rows to
//!   26,280, Colossus from 131,401 to 78,840.
//! - The committed capacity `u` (and the start-ups `s`) exist only for a fleet with a minimum
//!   stable load or a start-up cost. Without them committing costs nothing and constrains
//!   nothing, so `u = K` is optimal: the output is bounded by `p <= K` directly and the reserve
//!   counts `K - p`. Such a fleet reports its output as committed, or its rating when a reserve
//!   is held.
//! - The unserved load's cap `l_t <= load_t` is left out when no optimum can reach it: with
//!   batteries that lose energy on a round trip as the only sinks (no export, miners or
//!   reserve, no end state that forces a charge) and a positive value of lost load, serving
//!   less than nothing only feeds a charge that is cheaper not to make (the argument is at
//!   `formulate::unserved_needs_cap`). When, moreover, the grid's rating covers the load in
//!   every step at a price below the value of lost load and the import is in no other row (no
//!   demand charge, no carbon cap), no optimum leaves load unserved
//!   ([`formulate::unserved_is_never_optimal`]) and the unserved columns are not created
//!   (the solution reports zeros). For Clarabel that is three fewer columns and rows per
//!   step: the year of the PyPSA comparison site solves in 10 iterations instead of 11.
//!
//! The optimum is the same LP's (a bound and a one-variable row are the same constraint); the
//! balance rows, whose duals are the prices, are untouched.
//!
//! **Integer unit commitment.** A fleet with [`Commitment::Integer`] replaces `u` by `U n_t`
//! with `n_t` the (integer) number of units of rating `U` online, `n_t <= K / U`:
//!
//! ```text
//! min_g U n_t <= p_t <= U n_t,   s_t - d_t = n_t - n_t-1 (cyclic),     s, d >= 0
//! sum_{k < UT} s_t-k <= n_t,     sum_{k < DT} d_t-k <= K / U - n_t      minimum up / down
//! cost  + start_g U s_t + stop_g U d_t;   reserve  U n_t - p_t
//! ```
//!
//! (`UT`, `DT`: the minimum up and down times in whole steps; `s`, `d` exist only when
//! something depends on them). It is a mixed-integer program: HiGHS's branch and cut stops at
//! [`OptimizeOptions::mip_gap`] (or its time limit, keeping the best solution), and
//! [`SolveStats::mip_gap`] reports the gap reached. A MIP has no duals, so the prices are those
//! of the committed dispatch: the LP with every `n_t` fixed at its optimum, solved again.
//! Without HiGHS, or with Clarabel asked for, it is [`OptimizeError::NeedsMip`].
//!
//! **Representative periods.** With [`OptimizeOptions::typical_days`] `= Some(k)` the LP runs
//! over `k` typical days instead of the whole horizon ([`periods::TypicalDays`]): each day is
//! the vector of its steps' load, grid price, grid carbon intensity and solar capacity
//! factors, each quantity divided by its range over the horizon; k-medoids (PAM's greedy BUILD,
//! then alternating assignment and medoid update; ties to the earlier day, so deterministic)
//! picks `k` real days, and each stands for `w_i` days, its cluster (`sum_i w_i` = the days of
//! the horizon). If no medoid reaches the horizon's highest load, that load's day becomes a
//! typical day of its own (`w = 1`) and the others are clustered into `k - 1`. The LP over the
//! typical days one after the other ([`formulate::formulate_periods`]):
//!
//! - every per-step cost and revenue, and each step's emissions in the carbon cap, count `w_i`
//!   times; capital is charged for the whole horizon;
//! - each typical day is cyclic: battery state of charge, turbine commitment and start-ups,
//!   minimum up and down times and ramps wrap around from its last step to its first. Energy
//!   is not carried from one day to the next, and a battery's fixed start and end states
//!   (`SocEnd::Fixed`) are not imposed (approximation);
//! - a billing month's peak import is at least the import of every typical-day step that stands
//!   for one of the month's steps, so the demand charge is that of the horizon's schedule made
//!   of the typical days (approximation: a typical day's peak stands for its days' own peaks).
//!
//! The [`Solution`] is over the whole horizon: each day takes its typical day's schedule and
//! prices (the balance dual divided by `w_i dt`), and the costs are that schedule's (equal to
//! the LP's objective). The horizon must be whole days of whole steps, `1 <= k <= days`.
//! With `k` = the days of the horizon the LP is the horizon's, except that each day is cyclic
//! (`tests/typical_days.rs`: exact without storage or commitment; and with them on identical
//! days for any `k`). Measured on a year of every reference scenario with `--extend`
//! (`examples/typical_days`), 12 typical days give the year's design to solver precision and
//! the year's objective to +0.02 to +0.6% (the design re-evaluated over the year reaches the
//! year's optimum to 2e-10), in 0.4% to 5% of the year's time. Those optima build nothing new;
//! on a site that must build gas and a battery (`tests/typical_days.rs`), 12 typical days size
//! them within 1.2% of a year's optimum (objective +0.024%, the design run over the year
//! +0.0002%), and within 15% over 120 days (objective +0.7%, the design +0.005%; the CI test).
//!
//! Assumptions: a linear fleet of turbines is one continuous committed capacity;
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

mod clarabel_model;
pub mod formulate;
#[cfg(feature = "highs")]
mod highs_model;
pub mod lp;
pub mod periods;
mod problem;
pub mod scenario;
mod solution;

use std::time::Instant;

use wattage_units::Time;

pub use clarabel_model::CLARABEL_TOLERANCE;
pub use problem::{
    BatterySpec, Commitment, EnergyCapacity, GridSpec, HOURS_PER_MONTH, HOURS_PER_YEAR, MinerSpec,
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
    /// A fleet committed in whole units makes a mixed-integer program, which only HiGHS
    /// solves; `field` names the fleet's commitment.
    #[error("`{field}` is `integer`: integer unit commitment needs HiGHS's MIP solver, {reason}")]
    NeedsMip {
        /// The fleet's commitment, e.g. `turbines[0].commitment`.
        field: String,
        /// Why it cannot run: no HiGHS in the build, or another solver asked for.
        reason: String,
    },
    /// The solver asked for is not compiled into this build.
    #[error(
        "this build has no HiGHS; rebuild with `--features highs` (needs cmake and libclang-dev)"
    )]
    SolverUnavailable {
        /// The solver asked for.
        solver: Solver,
    },
}

impl OptimizeError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub(crate) fn infeasible() -> Self {
        Self::Infeasible {
            hint: "check `carbon_cap_t` and fixed battery end states".into(),
        }
    }

    pub(crate) fn unbounded() -> Self {
        Self::Unbounded {
            hint: "an asset earns more than it costs with no rating cap; check export and miner revenue".into(),
        }
    }
}

/// Which HiGHS algorithm solves the LP (ignored by [`Solver::Clarabel`]).
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
    /// HiGHS's algorithm (only [`Solver::Highs`] reads it).
    pub method: Method,
    /// Stop after this long: a linear program then fails ([`OptimizeError::Solver`]); a
    /// mixed-integer program returns the best solution found, if any, with the gap reached
    /// ([`SolveStats::mip_gap`]).
    pub time_limit: Option<Time>,
    /// Relative gap at which HiGHS stops a mixed-integer program (integer unit commitment):
    /// `(cost - bound) / cost`. Linear programs ignore it.
    pub mip_gap: f64,
    /// Solve over this many typical days standing for the horizon instead of the whole
    /// horizon ([`periods::TypicalDays`]; see the crate docs, *Representative periods*):
    /// faster, approximate. `None` (the default) solves the whole horizon.
    pub typical_days: Option<u32>,
}

/// [`OptimizeOptions::mip_gap`] by default: 1e-4, HiGHS's own default.
pub const DEFAULT_MIP_GAP: f64 = 1e-4;

impl Default for OptimizeOptions {
    fn default() -> Self {
        Self {
            method: Method::Simplex,
            time_limit: None,
            mip_gap: DEFAULT_MIP_GAP,
            typical_days: None,
        }
    }
}

/// The LP solver behind [`optimize_with`].
///
/// [`Solver::Clarabel`] (pure Rust, interior point) is always compiled in. [`Solver::Highs`]
/// (HiGHS, dual simplex or interior point with crossover, built from source with cmake and
/// libclang) only with the cargo feature `highs`; see [`available_solvers`]. Both reach the
/// same optimal cost (to 5e-10 relative on the reference sites); where the LP has several
/// optimal schedules or several dual solutions they may return different ones (HiGHS a vertex,
/// Clarabel a point inside the optimal face).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Solver {
    /// Clarabel, an interior-point conic solver written in Rust (needs no system package).
    Clarabel,
    /// HiGHS through the `highs` crate (cargo feature `highs`).
    Highs,
}

impl Solver {
    /// The solver [`optimize`] uses: HiGHS when this build has it (its vertex solutions keep
    /// results identical to builds before Clarabel, and it solves the reference LPs fastest),
    /// Clarabel otherwise.
    pub const DEFAULT: Solver = if cfg!(feature = "highs") {
        Solver::Highs
    } else {
        Solver::Clarabel
    };

    /// Its name as [`FromStr`](std::str::FromStr) reads it: `clarabel` or `highs`.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Clarabel => "clarabel",
            Solver::Highs => "highs",
        }
    }

    /// Whether this build can run it.
    pub fn is_available(self) -> bool {
        available_solvers().contains(&self)
    }
}

impl Default for Solver {
    /// [`Solver::DEFAULT`].
    fn default() -> Self {
        Solver::DEFAULT
    }
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A solver name that is neither `clarabel` nor `highs`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown solver `{0}`; expected `clarabel` or `highs`")]
pub struct UnknownSolver(pub String);

impl std::str::FromStr for Solver {
    type Err = UnknownSolver;
    /// `clarabel` or `highs`, in any case. A name is accepted whether or not this build has
    /// the solver; [`optimize_with`] says so when it has not.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clarabel" => Ok(Solver::Clarabel),
            "highs" => Ok(Solver::Highs),
            _ => Err(UnknownSolver(s.to_string())),
        }
    }
}

/// The solvers compiled into this build, the default first.
pub fn available_solvers() -> &'static [Solver] {
    if cfg!(feature = "highs") {
        &[Solver::Highs, Solver::Clarabel]
    } else {
        &[Solver::Clarabel]
    }
}

/// The optimum of a bare [`lp::LinearProgram`], as [`solve_lp`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct LpSolution {
    /// Value of each column.
    pub x: Vec<f64>,
    /// Dual of each row: the change of the optimal cost per unit increase of the row's
    /// bounds (`d cost / d rhs`; for a power-balance row in MW over a step, the marginal price
    /// times the step length).
    pub row_dual: Vec<f64>,
    /// The objective at `x`, offset included.
    pub objective: f64,
    /// Simplex plus interior-point iterations.
    pub iterations: i64,
    /// A mixed-integer program: the relative gap reached.
    pub mip_gap: Option<f64>,
    /// Time to hand the LP to the solver (translation and model set-up).
    pub handover: Time,
    /// Time the solver took.
    pub solve: Time,
}

/// Solves a bare [`lp::LinearProgram`] with `solver`. [`optimize_with`] is this on the
/// formulated site problem; it is public so that the two backends can be compared on the same
/// LP, column by column and row by row.
pub fn solve_lp(
    lp: &lp::LinearProgram,
    o: &OptimizeOptions,
    solver: Solver,
) -> Result<LpSolution, OptimizeError> {
    solve_lp_from(lp, o, solver, None)
}

/// [`solve_lp`], HiGHS starting from `start` (column values of an LP of the same shape).
fn solve_lp_from(
    lp: &lp::LinearProgram,
    o: &OptimizeOptions,
    solver: Solver,
    #[cfg_attr(not(feature = "highs"), allow(unused_variables))] start: Option<&[f64]>,
) -> Result<LpSolution, OptimizeError> {
    if lp.is_mip() && solver != Solver::Highs {
        return Err(OptimizeError::NeedsMip {
            field: "the program".into(),
            reason: format!("and {solver} solves only linear programs"),
        });
    }
    match solver {
        Solver::Clarabel => clarabel_model::solve(lp, o),
        #[cfg(feature = "highs")]
        Solver::Highs => highs_model::solve(lp, o, start),
        #[cfg(not(feature = "highs"))]
        Solver::Highs => Err(OptimizeError::SolverUnavailable { solver }),
    }
}

/// Finds the cheapest ratings and schedule with the default solver ([`Solver::DEFAULT`]).
/// Deterministic: the same problem gives the same answer (both solvers run single-threaded,
/// HiGHS with a fixed seed); only the timings vary.
pub fn optimize(p: &SiteProblem, o: &OptimizeOptions) -> Result<Solution, OptimizeError> {
    optimize_with(p, o, Solver::DEFAULT)
}

/// [`optimize`] with a chosen solver. [`Solver::Highs`] in a build without the feature `highs`
/// is [`OptimizeError::SolverUnavailable`].
pub fn optimize_with(
    p: &SiteProblem,
    o: &OptimizeOptions,
    solver: Solver,
) -> Result<Solution, OptimizeError> {
    optimize_from(p, o, solver, None).map(|(s, _)| s)
}

/// Solves similar problems one after another (a sweep over prices, costs or ratings), each
/// HiGHS solve starting from the previous optimum.
///
/// With [`Solver::Highs`], a linear program whose LP has the same shape as the previous one's
/// (the same columns, rows and non-zeros: the same assets, horizon and step, and the same
/// ratings fixed or extendable; prices, costs, loads and rating values may differ) starts from
/// the previous optimal schedule: HiGHS builds a basis from it and runs the dual simplex from
/// there, without presolve. The optimum is the same as a cold solve's (the LP is the same;
/// `tests/warm_start.rs` checks it) and the iterations are usually far fewer
/// ([`SolveStats::warm_start`] says whether a solve was started warm). A problem of another
/// shape, a mixed-integer program (integer unit commitment) or a failed solve starts cold.
///
/// Clarabel, an interior-point method, has no warm start: each of its solves starts from
/// scratch whatever came before, and a sweep with it is a loop of [`optimize_with`].
#[derive(Clone, Debug)]
pub struct Sweep {
    solver: Solver,
    options: OptimizeOptions,
    last: Option<WarmStart>,
}

/// The previous solve of a [`Sweep`]: its LP's shape and optimal column values.
#[derive(Clone, Debug)]
struct WarmStart {
    shape: (usize, usize, usize),
    x: Vec<f64>,
}

impl Sweep {
    /// A sweep solved with `solver` and `options`.
    pub fn new(solver: Solver, options: OptimizeOptions) -> Self {
        Self {
            solver,
            options,
            last: None,
        }
    }

    /// The optimum of `p`, starting from the previous problem's when the solver and the LP's
    /// shape allow it.
    pub fn optimize(&mut self, p: &SiteProblem) -> Result<Solution, OptimizeError> {
        let start = match self.solver {
            Solver::Highs => self.last.take(),
            Solver::Clarabel => None,
        };
        let (s, x) = optimize_from(p, &self.options, self.solver, start.as_ref())?;
        self.last = Some(x);
        Ok(s)
    }
}

/// [`optimize_with`], starting from `start` when its shape is the LP's (HiGHS, linear programs
/// only); also returns this solve's LP shape and column values.
fn optimize_from(
    p: &SiteProblem,
    o: &OptimizeOptions,
    solver: Solver,
    start: Option<&WarmStart>,
) -> Result<(Solution, WarmStart), OptimizeError> {
    p.validate()?;
    if let Some(i) = p.turbines.iter().position(|t| t.commitment.is_integer()) {
        let reason = if !Solver::Highs.is_available() {
            "and this build has no HiGHS; rebuild with `--features highs` (needs cmake and \
             libclang-dev), or set the fleet's commitment to `linear`"
                .to_string()
        } else if solver != Solver::Highs {
            format!("and {solver} solves only linear programs; use the solver `highs`")
        } else {
            String::new()
        };
        if !reason.is_empty() {
            return Err(OptimizeError::NeedsMip {
                field: format!("turbines[{i}].commitment"),
                reason,
            });
        }
    }
    let t0 = Instant::now();
    let typical = o
        .typical_days
        .map(|k| periods::TypicalDays::choose(p, k as usize))
        .transpose()?;
    let (lp, layout) = match &typical {
        None => formulate::formulate(p),
        Some(td) => {
            let reduced = td.reduce(p);
            let q = td.periods(p.steps(), p.step.h());
            formulate::formulate_periods(&reduced, Some(&q))
        }
    };
    let formulate = t0.elapsed().as_secs_f64();
    let shape = (lp.cols(), lp.rows(), lp.nnz());
    let start = start
        .filter(|w| w.shape == shape && solver == Solver::Highs && !lp.is_mip())
        .map(|w| w.x.as_slice());
    let solved = solve_lp_from(&lp, o, solver, start)?;
    let stats = SolveStats {
        cols: lp.cols(),
        rows: lp.rows(),
        nnz: lp.nnz(),
        build: Time::from_s(formulate) + solved.handover,
        solve: solved.solve,
        iterations: solved.iterations,
        mip_gap: solved.mip_gap,
        warm_start: start.is_some(),
    };
    let solution = solution::extract(
        p,
        &layout,
        &solved.x,
        &solved.row_dual,
        solved.objective,
        stats,
        typical.as_ref(),
    );
    Ok((solution, WarmStart { shape, x: solved.x }))
}

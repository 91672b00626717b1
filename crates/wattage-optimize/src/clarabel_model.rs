//! The Clarabel backend: a [`LinearProgram`] in Clarabel's conic form, solved, and read back.
//!
//! Clarabel solves `min q'x` subject to `A x + s = b`, `s` in a product of cones. Each row
//! `lower <= a'x <= upper` of the LP becomes one equality row (`ZeroCone`) when
//! `lower == upper`, otherwise a row `a'x + s = upper` for a finite upper bound and a row
//! `-a'x + s = -lower` for a finite lower bound (`NonnegativeCone`). Column bounds become rows
//! the same way (a fixed column is an equality row); infinite bounds add nothing. Equality rows
//! come first, so the cones are one `ZeroCone` block followed by one `NonnegativeCone` block.
//!
//! Duals: at the optimum `q + A'z = 0` and the optimal cost is `-b'z`, so a row's sensitivity
//! `d cost / d rhs` (the sign HiGHS reports, and the marginal price of a balance row) is `-z` of
//! its equality or upper row and `+z` of its lower row.
//!
//! Before that, each equality row's slack column (a column whose only non-zero is in that
//! row, e.g. the grid import in a step's power balance when nothing else limits it) is
//! substituted out ([`LinearProgram::without_slacks`]): the balance becomes a range whose two
//! sides are the import's bounds, and the import's cost moves to the other columns of the
//! row. It is the same LP with the same barrier, so Clarabel converges to the same point; the
//! KKT system loses a column, an equality row and two bound rows per substitution. The year
//! of the PyPSA comparison site: the same 10 iterations and objective, 0.12 s instead of
//! 0.13-0.14 s (`examples/pypsa_site`). Values and duals are restored to the LP's own.

use std::time::Instant;

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettings, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT,
    ZeroConeT,
};

use wattage_units::Time;

use crate::lp::LinearProgram;
use crate::{LpSolution, OptimizeError, OptimizeOptions};

/// Duality gap (relative, and absolute in dollars) and relative primal and dual residuals
/// asked of Clarabel (its own defaults are 1e-8). Measured on the reference LPs (the three
/// reference sites over a week, a month and a year, and the hand-worked cases): it converges at
/// this tolerance in at most one more iteration than at 1e-9, and the objectives then agree with
/// HiGHS's to 5e-10 relative or better (most to 1e-10).
pub const CLARABEL_TOLERANCE: f64 = 1e-10;

/// Clarabel's stopping rules.
///
/// Besides [`CLARABEL_TOLERANCE`], infeasibility certificates are held to a stricter standard
/// than Clarabel's defaults (which are `tol_ktratio` 1e-6, `tol_infeas_*` 1e-8): on the site
/// LPs the homogeneous embedding's `kappa / tau` shoots past 1e9 in the first two or three
/// iterations (a month or a year of Colossus), and with the default rules Clarabel then
/// reported a feasible, bounded LP as infeasible or unbounded. A real certificate keeps
/// improving as the iterations go on, so it still passes the stricter test a few iterations
/// later.
///
/// Iterative refinement of each KKT solve is off: on these LPs it cost a residual product and
/// a second triangular solve per solve, about a third of Clarabel's time, and bought nothing.
/// Without it every reference site (`examples/lp_sizes`, a year, fixed and extended) takes the
/// same iterations to the same objective (to the cent) in 25-40% less time, the year of the
/// PyPSA comparison site 13 iterations in 0.21 s instead of 0.32-0.35 s; the solver tests,
/// which hold Clarabel's objectives and prices to HiGHS's, pass unchanged.
///
/// Each step goes 0.999 of the way to the boundary of the cone (Clarabel's default is 0.99),
/// and the Ruiz equilibration of the data is skipped (no scaling iterations; the site LPs are
/// in MW, MWh and dollars, all within a few orders of magnitude of each other). Measured on
/// every reference site (`examples/lp_sizes`, a week and a year, fixed and extended): the same
/// objectives to the cent, the years in 0-2 fewer iterations and 10-30% less time (a week
/// may take one or two more iterations); the year of the PyPSA comparison site 11 iterations
/// in 0.16 s instead of 13 in 0.19-0.22 s (`examples/pypsa_site`). Other settings measured
/// there and left at Clarabel's defaults, as they changed nothing beyond the noise: static and
/// dynamic regularization, tolerances of 1e-8 and 1e-9 (one iteration fewer, the objective a
/// cent off PyPSA's).
fn settings(o: &OptimizeOptions) -> DefaultSettings<f64> {
    let mut s = DefaultSettings::<f64>::default();
    s.verbose = false;
    s.tol_gap_abs = CLARABEL_TOLERANCE;
    s.tol_gap_rel = CLARABEL_TOLERANCE;
    s.tol_feas = CLARABEL_TOLERANCE;
    s.tol_ktratio = 1e-9;
    s.tol_infeas_abs = 1e-12;
    s.tol_infeas_rel = 1e-12;
    s.iterative_refinement_enable = false;
    s.max_step_fraction = 0.999;
    s.equilibrate_max_iter = 0;
    s.time_limit = o.time_limit.map_or(f64::INFINITY, |t| t.s().max(0.0));
    s
}

/// Where a row of the LP went in Clarabel's constraint matrix.
#[derive(Clone, Copy, Debug, Default)]
struct RowMap {
    /// The equality row, when `lower == upper`.
    eq: Option<usize>,
    /// The `a'x <= upper` row.
    upper: Option<usize>,
    /// The `-a'x <= -lower` row.
    lower: Option<usize>,
}

/// A [`LinearProgram`] in Clarabel's form: `min q'x` s.t. `A x + s = b`, `s` in `cones`.
pub(crate) struct ClarabelModel {
    a: CscMatrix<f64>,
    b: Vec<f64>,
    q: Vec<f64>,
    cones: Vec<SupportedConeT<f64>>,
    rows: Vec<RowMap>,
}

/// Translates `lp` into Clarabel's form.
pub(crate) fn clarabel_model(lp: &LinearProgram) -> ClarabelModel {
    let fixed = |lo: f64, up: f64| lo == up && lo.is_finite();
    // Equality rows first: the LP's, then the fixed columns'.
    let lp_eq = (0..lp.rows())
        .filter(|&r| fixed(lp.row_lower[r], lp.row_upper[r]))
        .count();
    let col_eq = (0..lp.cols())
        .filter(|&j| fixed(lp.col_lower[j], lp.col_upper[j]))
        .count();
    let n_eq = lp_eq + col_eq;

    let mut b_eq = Vec::with_capacity(n_eq);
    let mut b_ineq = Vec::with_capacity(lp.rows() + lp.cols());
    let mut rows = vec![RowMap::default(); lp.rows()];
    for (r, map) in rows.iter_mut().enumerate() {
        let (lo, up) = (lp.row_lower[r], lp.row_upper[r]);
        if fixed(lo, up) {
            map.eq = Some(b_eq.len());
            b_eq.push(up);
            continue;
        }
        if up.is_finite() {
            map.upper = Some(n_eq + b_ineq.len());
            b_ineq.push(up);
        }
        if lo.is_finite() {
            map.lower = Some(n_eq + b_ineq.len());
            b_ineq.push(-lo);
        }
    }

    let mut colptr = Vec::with_capacity(lp.cols() + 1);
    let mut rowval = Vec::with_capacity(2 * lp.nnz() + 2 * lp.cols());
    let mut nzval = Vec::with_capacity(2 * lp.nnz() + 2 * lp.cols());
    let mut entries: Vec<(usize, f64)> = Vec::new();
    colptr.push(0);
    for j in 0..lp.cols() {
        entries.clear();
        for k in lp.col_start[j]..lp.col_start[j + 1] {
            let (map, v) = (rows[lp.index[k]], lp.value[k]);
            if let Some(i) = map.eq {
                entries.push((i, v));
            }
            if let Some(i) = map.upper {
                entries.push((i, v));
            }
            if let Some(i) = map.lower {
                entries.push((i, -v));
            }
        }
        let (lo, up) = (lp.col_lower[j], lp.col_upper[j]);
        if fixed(lo, up) {
            entries.push((b_eq.len(), 1.0));
            b_eq.push(up);
        } else {
            if up.is_finite() {
                entries.push((n_eq + b_ineq.len(), 1.0));
                b_ineq.push(up);
            }
            if lo.is_finite() {
                entries.push((n_eq + b_ineq.len(), -1.0));
                b_ineq.push(-lo);
            }
        }
        // Clarabel wants each column's rows in increasing order.
        entries.sort_unstable_by_key(|&(i, _)| i);
        for &(i, v) in &entries {
            rowval.push(i);
            nzval.push(v);
        }
        colptr.push(rowval.len());
    }

    let n_ineq = b_ineq.len();
    let mut b = b_eq;
    b.extend(b_ineq);
    let mut cones = Vec::with_capacity(2);
    if n_eq > 0 {
        cones.push(ZeroConeT(n_eq));
    }
    if n_ineq > 0 {
        cones.push(NonnegativeConeT(n_ineq));
    }
    ClarabelModel {
        a: CscMatrix::new(b.len(), lp.cols(), colptr, rowval, nzval),
        b,
        q: lp.col_cost.clone(),
        cones,
        rows,
    }
}

/// Solves `lp` with Clarabel.
pub(crate) fn solve(lp: &LinearProgram, o: &OptimizeOptions) -> Result<LpSolution, OptimizeError> {
    let t0 = Instant::now();
    // Each equality row's slack column substituted out: the same LP, smaller for the KKT
    // system (see `LinearProgram::without_slacks`).
    let (reduced, slacks) = lp.without_slacks();
    let m = clarabel_model(&reduced);
    let p = CscMatrix::<f64>::zeros((reduced.cols(), reduced.cols()));
    let handover = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut solver =
        DefaultSolver::new(&p, &m.q, &m.a, &m.b, &m.cones, settings(o)).map_err(|e| {
            OptimizeError::Solver {
                status: format!("Clarabel rejected the model: {e}"),
            }
        })?;
    solver.solve();
    let solve = t1.elapsed().as_secs_f64();
    let sol = &solver.solution;
    match sol.status {
        SolverStatus::Solved => {}
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            return Err(OptimizeError::infeasible());
        }
        SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => {
            return Err(OptimizeError::unbounded());
        }
        SolverStatus::MaxTime => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "Clarabel reached the time limit of {:.1} s after {} iterations",
                    o.time_limit.map_or(f64::INFINITY, |t| t.s()),
                    sol.iterations
                ),
            });
        }
        SolverStatus::MaxIterations => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "Clarabel reached its limit of {} iterations without an optimum",
                    sol.iterations
                ),
            });
        }
        SolverStatus::AlmostSolved => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "numerical problems: Clarabel found a solution only to reduced accuracy \
                     (primal residual {:.1e}, dual residual {:.1e}, asked {CLARABEL_TOLERANCE:e}); \
                     try HiGHS (`Solver::Highs`, in a build with `--features highs`)",
                    sol.r_prim, sol.r_dual
                ),
            });
        }
        s @ (SolverStatus::NumericalError
        | SolverStatus::InsufficientProgress
        | SolverStatus::Unsolved
        | SolverStatus::CallbackTerminated) => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "numerical problems: Clarabel stopped with status {s:?} after {} iterations",
                    sol.iterations
                ),
            });
        }
    }
    let row_dual: Vec<f64> = m
        .rows
        .iter()
        .map(|map| {
            let z = |i: Option<usize>| i.and_then(|i| sol.z.get(i)).copied().unwrap_or(0.0);
            z(map.lower) - z(map.upper) - z(map.eq)
        })
        .collect();
    let (x, row_dual) = if slacks.is_empty() {
        (sol.x.clone(), row_dual)
    } else {
        slacks.restore(&reduced, &sol.x, &row_dual)
    };
    Ok(LpSolution {
        objective: lp.objective(&x),
        x,
        row_dual,
        iterations: i64::from(sol.iterations),
        mip_gap: None,
        handover: Time::from_s(handover),
        solve: Time::from_s(solve),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lp::LpBuilder;

    /// min x + 2y s.t. x + y = 3 (row 0), x <= 1 (row 1, ranged 0..1), y in [0, 5]:
    /// x = 1, y = 2, cost 5; the equality's dual is 2 (y is marginal), row 1's is 1 - 2 = -1.
    #[test]
    fn duals_are_cost_sensitivities() {
        let mut b = LpBuilder::default();
        let x = b.col(1.0, f64::NEG_INFINITY, f64::INFINITY);
        let y = b.col(2.0, 0.0, 5.0);
        b.row(3.0, 3.0, &[(x, 1.0), (y, 1.0)]);
        b.row(0.0, 1.0, &[(x, 1.0)]);
        let lp = b.finish();
        let m = clarabel_model(&lp);
        // One equality, the ranged row twice, y's two bounds; x is free.
        assert_eq!(m.b.len(), 5);
        let s = solve(&lp, &OptimizeOptions::default()).expect("optimal");
        assert!((s.objective - 5.0).abs() < 1e-7, "{}", s.objective);
        assert!((s.x[0] - 1.0).abs() < 1e-7 && (s.x[1] - 2.0).abs() < 1e-7);
        assert!((s.row_dual[0] - 2.0).abs() < 1e-7, "{:?}", s.row_dual);
        assert!((s.row_dual[1] + 1.0).abs() < 1e-7, "{:?}", s.row_dual);
    }

    #[test]
    fn infeasible_and_unbounded_are_told_apart() {
        let mut b = LpBuilder::default();
        let x = b.col(1.0, 0.0, 1.0);
        b.row(2.0, 2.0, &[(x, 1.0)]);
        let e = solve(&b.finish(), &OptimizeOptions::default()).expect_err("infeasible");
        assert!(matches!(e, OptimizeError::Infeasible { .. }), "{e}");

        let mut b = LpBuilder::default();
        let x = b.col(-1.0, 0.0, f64::INFINITY);
        b.row(0.0, f64::INFINITY, &[(x, 1.0)]);
        let e = solve(&b.finish(), &OptimizeOptions::default()).expect_err("unbounded");
        assert!(matches!(e, OptimizeError::Unbounded { .. }), "{e}");
    }
}

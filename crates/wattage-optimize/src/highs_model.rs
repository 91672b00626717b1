//! The HiGHS backend (cargo feature `highs`): a [`LinearProgram`] handed to HiGHS as it is
//! (HiGHS takes ranged rows and bounded columns natively), solved, and read back.
//!
//! A mixed-integer program (integer unit commitment) is solved by HiGHS's branch and cut to
//! [`OptimizeOptions::mip_gap`]. A MIP has no duals, so the prices are those of the committed
//! dispatch: the integer columns are fixed at their optimal values and the remaining LP is
//! solved again (the usual way market operators price a unit commitment).

use std::time::Instant;

use wattage_units::Time;

use crate::lp::LinearProgram;
use crate::{LpSolution, Method, OptimizeError, OptimizeOptions};

/// Hands a [`LinearProgram`] to HiGHS; `fixed` gives the values of its integer columns, which
/// are then fixed and continuous (the pricing LP of a MIP).
fn highs_model(
    lp: &LinearProgram,
    o: &OptimizeOptions,
    fixed: Option<&[f64]>,
) -> Result<highs::Model, OptimizeError> {
    let mut pb = highs::ColProblem::new();
    let rows: Vec<highs::Row> = (0..lp.rows())
        .map(|r| pb.add_row(lp.row_lower[r]..=lp.row_upper[r]))
        .collect();
    let mut integer = lp.integer.iter().peekable();
    for j in 0..lp.cols() {
        let (a, b) = (lp.col_start[j], lp.col_start[j + 1]);
        let is_int = integer.next_if(|&&c| c == j).is_some();
        let (lo, up) = match (is_int, fixed) {
            (true, Some(x)) => (x[j].round(), x[j].round()),
            _ => (lp.col_lower[j], lp.col_upper[j]),
        };
        pb.add_column_with_integrality(
            lp.col_cost[j],
            lo..=up,
            lp.index[a..b]
                .iter()
                .zip(&lp.value[a..b])
                .map(|(&r, &v)| (rows[r], v)),
            is_int && fixed.is_none(),
        );
    }
    let mut m = pb
        .try_optimise(highs::Sense::Minimise)
        .map_err(|e| OptimizeError::Solver {
            status: format!("HiGHS rejected the model: {e:?}"),
        })?;
    m.make_quiet();
    let _ = m.try_set_option("random_seed", 0);
    if lp.is_mip() && fixed.is_none() {
        let _ = m.try_set_option("mip_rel_gap", o.mip_gap);
    } else {
        match o.method {
            Method::Simplex => {
                let _ = m.try_set_option("solver", "simplex");
            }
            Method::Ipm => {
                let _ = m.try_set_option("solver", "ipm");
                let _ = m.try_set_option("run_crossover", "on");
            }
        }
    }
    if let Some(t) = o.time_limit {
        let _ = m.try_set_option("time_limit", t.s());
    }
    Ok(m)
}

/// Solves `lp` with HiGHS (fixed seed). A linear program with `start` (a solution of an LP of
/// the same shape: its column values) starts from it: HiGHS builds a basis from it
/// (`Highs::setSolution`, then `basisForSolution`) and runs the simplex from there, without
/// presolve. A mixed-integer program ignores `start`.
pub(crate) fn solve(
    lp: &LinearProgram,
    o: &OptimizeOptions,
    start: Option<&[f64]>,
) -> Result<LpSolution, OptimizeError> {
    let t0 = Instant::now();
    let mut model = highs_model(lp, o, None)?;
    if let Some(x) = start.filter(|x| x.len() == lp.cols() && !lp.is_mip()) {
        // A mismatch in size is the only error; a start HiGHS cannot use is a cold start.
        let _ = model.try_set_solution(Some(x), None, None, None);
    }
    let handover = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let solved = model.try_solve().map_err(|e| OptimizeError::Solver {
        status: format!("HiGHS failed: {e:?}"),
    })?;
    use highs::HighsModelStatus as S;
    let time_limit = || o.time_limit.map_or(f64::INFINITY, |t| t.s());
    let mip = lp.is_mip();
    match solved.status() {
        S::Optimal => {}
        S::Infeasible => return Err(OptimizeError::infeasible()),
        S::Unbounded | S::UnboundedOrInfeasible => return Err(OptimizeError::unbounded()),
        // A MIP stopped by the clock keeps its best solution, with the gap it reached.
        S::ReachedTimeLimit
            if mip
                && matches!(
                    solved.primal_solution_status(),
                    highs::HighsSolutionStatus::Feasible
                ) => {}
        S::ReachedTimeLimit => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "HiGHS reached the time limit of {:.1} s{}",
                    time_limit(),
                    if mip {
                        " without an integer solution"
                    } else {
                        ""
                    }
                ),
            });
        }
        s => {
            return Err(OptimizeError::Solver {
                status: format!("HiGHS stopped with status {s:?}"),
            });
        }
    }
    let sol = solved.get_solution();
    let x = sol.columns().to_vec();
    let iterations = solved.simplex_iteration_count().max(0) + solved.ipm_iteration_count().max(0);
    if !mip {
        let solve = t1.elapsed().as_secs_f64();
        return Ok(LpSolution {
            objective: lp.offset + solved.objective_value(),
            x,
            row_dual: sol.dual_rows().to_vec(),
            iterations,
            mip_gap: None,
            handover: Time::from_s(handover),
            solve: Time::from_s(solve),
        });
    }
    let objective = lp.offset + solved.objective_value();
    let gap = solved.mip_gap();
    // Prices of the committed dispatch: the LP with the integer columns fixed.
    let priced = highs_model(lp, o, Some(&x))?
        .try_solve()
        .map_err(|e| OptimizeError::Solver {
            status: format!("HiGHS failed on the pricing LP: {e:?}"),
        })?;
    let (x, row_dual) = if priced.status() == S::Optimal {
        let p = priced.get_solution();
        (p.columns().to_vec(), p.dual_rows().to_vec())
    } else {
        // The MIP's own solution is feasible for this LP; only a time limit stops it here.
        return Err(OptimizeError::Solver {
            status: format!(
                "HiGHS stopped the pricing LP of the committed dispatch with status {:?}",
                priced.status()
            ),
        });
    };
    let solve = t1.elapsed().as_secs_f64();
    Ok(LpSolution {
        objective,
        x,
        row_dual,
        iterations: iterations + priced.simplex_iteration_count().max(0),
        mip_gap: Some(if gap.is_finite() { gap.max(0.0) } else { 0.0 }),
        handover: Time::from_s(handover),
        solve: Time::from_s(solve),
    })
}

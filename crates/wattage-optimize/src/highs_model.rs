//! The HiGHS backend (cargo feature `highs`): a [`LinearProgram`] handed to HiGHS as it is
//! (HiGHS takes ranged rows and bounded columns natively), solved, and read back.

use std::time::Instant;

use wattage_units::Time;

use crate::lp::LinearProgram;
use crate::{LpSolution, Method, OptimizeError, OptimizeOptions};

/// Hands a [`LinearProgram`] to HiGHS.
fn highs_model(lp: &LinearProgram, o: &OptimizeOptions) -> Result<highs::Model, OptimizeError> {
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

/// Solves `lp` with HiGHS (single-threaded, fixed seed).
pub(crate) fn solve(lp: &LinearProgram, o: &OptimizeOptions) -> Result<LpSolution, OptimizeError> {
    let t0 = Instant::now();
    let model = highs_model(lp, o)?;
    let handover = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let solved = model.try_solve().map_err(|e| OptimizeError::Solver {
        status: format!("HiGHS failed: {e:?}"),
    })?;
    let solve = t1.elapsed().as_secs_f64();
    use highs::HighsModelStatus as S;
    match solved.status() {
        S::Optimal => {}
        S::Infeasible => return Err(OptimizeError::infeasible()),
        S::Unbounded | S::UnboundedOrInfeasible => return Err(OptimizeError::unbounded()),
        S::ReachedTimeLimit => {
            return Err(OptimizeError::Solver {
                status: format!(
                    "HiGHS reached the time limit of {:.1} s",
                    o.time_limit.map_or(f64::INFINITY, |t| t.s())
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
    Ok(LpSolution {
        objective: lp.offset + solved.objective_value(),
        x: sol.columns().to_vec(),
        row_dual: sol.dual_rows().to_vec(),
        iterations: solved.simplex_iteration_count() + solved.ipm_iteration_count(),
        handover: Time::from_s(handover),
        solve: Time::from_s(solve),
    })
}

//! Build and solve of a week and a year of hourly steps of the Colossus-like site
//! (`scenarios/colossus.toml`) with every asset extendable at typical costs, with every solver
//! this build has: Clarabel always, HiGHS (dual simplex) with `--features highs`, side by side
//! in one run. The probe runs that produce the demand series happen once, outside the timings.
//! Few samples: one solve of the year takes seconds.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use wattage_optimize::{
    ConvertOptions, Expansion, OptimizeOptions, SiteProblem, Solver, available_solvers,
    formulate::formulate, optimize_with,
};
use wattage_units::Time;

fn main() {
    divan::main();
}

fn colossus(hours: f64) -> SiteProblem {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/colossus.toml");
    let text = std::fs::read_to_string(&path).expect("scenarios/colossus.toml");
    let sc = wattage_site::parse_scenario(&text).expect("valid scenario");
    let co = ConvertOptions {
        step: Time::from_h(1.0),
        duration: Some(Time::from_h(hours)),
        // Demand averaged from 10-s probe steps keeps the setup short; the LP is the same size.
        probe_step: Some(Time::from_s(10.0)),
    };
    SiteProblem::from_scenario(&sc, &Expansion::typical(&sc), &co).expect("problem")
}

/// Build and solve with `solver`, printing once what the timings alone do not say.
fn solve(b: divan::Bencher, p: &SiteProblem, label: &str, solver: Solver) {
    let printed = AtomicBool::new(false);
    b.bench(|| {
        let s = optimize_with(divan::black_box(p), &OptimizeOptions::default(), solver)
            .expect("optimum");
        if printed.swap(true, Ordering::Relaxed) {
            return s;
        }
        eprintln!(
            "colossus {label} hourly, {solver}: {} cols x {} rows, build {:.3} s, solve {:.3} s, \
             {} iterations, objective {:.2} USD",
            s.stats.cols,
            s.stats.rows,
            s.stats.build.s(),
            s.stats.solve.s(),
            s.stats.iterations,
            s.objective.usd()
        );
        s
    });
}

/// Formulation alone: the sparse matrix of a year of hourly steps.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn build_year_hourly(b: divan::Bencher) {
    let p = colossus(8760.0);
    b.bench(|| formulate(divan::black_box(&p)));
}

/// Build and solve of a week of hourly steps.
#[divan::bench(args = available_solvers(), sample_count = 10, sample_size = 1)]
fn solve_week_hourly(b: divan::Bencher, solver: Solver) {
    solve(b, &colossus(168.0), "week", solver);
}

/// Build and solve of a year of hourly steps.
#[divan::bench(args = available_solvers(), sample_count = 3, sample_size = 1)]
fn solve_year_hourly(b: divan::Bencher, solver: Solver) {
    solve(b, &colossus(8760.0), "year", solver);
}

//! Build and solve of a year of hourly steps of the Colossus-like site (`scenarios/colossus.toml`)
//! with every asset extendable at typical costs. The probe runs that produce the demand series
//! happen once, outside the timings. Few samples: one solve takes seconds.

use std::path::Path;

use wattage_optimize::{
    ConvertOptions, Expansion, OptimizeOptions, SiteProblem, formulate::formulate, optimize,
};
use wattage_units::Time;

fn main() {
    divan::main();
}

fn colossus_year() -> SiteProblem {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/colossus.toml");
    let text = std::fs::read_to_string(&path).expect("scenarios/colossus.toml");
    let sc = wattage_site::parse_scenario(&text).expect("valid scenario");
    let co = ConvertOptions {
        step: Time::from_h(1.0),
        duration: Some(Time::from_h(8760.0)),
        // Demand averaged from 10-s probe steps keeps the setup short; the LP is the same size.
        probe_step: Some(Time::from_s(10.0)),
    };
    SiteProblem::from_scenario(&sc, &Expansion::typical(&sc), &co).expect("problem")
}

/// Formulation alone: the sparse matrix of a year of hourly steps.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn build_year_hourly(b: divan::Bencher) {
    let p = colossus_year();
    b.bench(|| formulate(divan::black_box(&p)));
}

/// Build and solve (HiGHS dual simplex) of a year of hourly steps.
#[divan::bench(sample_count = 2, sample_size = 1)]
fn solve_year_hourly(b: divan::Bencher) {
    let p = colossus_year();
    b.bench(|| {
        let s = optimize(divan::black_box(&p), &OptimizeOptions::default()).expect("optimum");
        eprintln!(
            "colossus year hourly: {} cols x {} rows, build {:.3} s, solve {:.3} s, objective {:.0} USD",
            s.stats.cols,
            s.stats.rows,
            s.stats.build.s(),
            s.stats.solve.s(),
            s.objective.usd()
        );
        s
    });
}

//! The LP of the PyPSA comparison site (`benches/python/pypsa_site.toml`, a year of hourly
//! steps): the probe runs, the formulation and Clarabel's solve timed apart, `RUNS` times
//! (default 5). By hand:
//!
//! ```text
//! cargo run --release -p wattage-optimize --example pypsa_site [RUNS]
//! ```

use std::path::Path;
use std::time::Instant;

use wattage_optimize::{
    ConvertOptions, Expansion, OptimizeOptions, SiteProblem, Solver, optimize_with,
};
use wattage_units::Time;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(5), |a| a.parse())?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/python/pypsa_site.toml");
    let sc = wattage_site::parse_scenario(&std::fs::read_to_string(&path)?)?;
    let co = ConvertOptions {
        step: Time::from_h(1.0),
        duration: Some(Time::from_h(8760.0)),
        probe_step: None,
    };
    for _ in 0..runs {
        let t0 = Instant::now();
        let p = SiteProblem::from_scenario(&sc, &Expansion::default(), &co)?;
        let probe = t0.elapsed().as_secs_f64();
        let s = optimize_with(&p, &OptimizeOptions::default(), Solver::Clarabel)?;
        println!(
            "probe {probe:.4} s, build {:.4} s, solve {:.4} s, {} iterations, {} x {}, objective {:.4} USD",
            s.stats.build.s(),
            s.stats.solve.s(),
            s.stats.iterations,
            s.stats.cols,
            s.stats.rows,
            s.objective.usd()
        );
    }
    Ok(())
}

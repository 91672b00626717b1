//! Sizes, iterations, times and objectives of the LP of every reference site scenario, a week
//! and a year of hourly steps, fixed design and typical expansion, with every solver this build
//! has, side by side in one run. By hand:
//!
//! ```text
//! cargo run --release -p wattage-optimize --features highs --example lp_sizes [HOURS...]
//! ```

use std::path::Path;

use wattage_optimize::{
    ConvertOptions, Expansion, OptimizeOptions, SiteProblem, available_solvers, optimize_with,
};
use wattage_units::Time;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hours: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let hours = if hours.is_empty() {
        vec![168.0, 8760.0]
    } else {
        hours
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    println!(
        "| scenario | design | hours | solver | cols | rows | nnz | iterations | build s | solve s | objective USD |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for name in ["colossus.toml", "colossus-miners.toml", "peak-shaving.toml"] {
        let path = dir.join(name);
        let mut sc = wattage_site::parse_scenario(&std::fs::read_to_string(&path)?)?;
        sc.resolve_files(|p| std::fs::read_to_string(dir.join(p)).map_err(|e| e.to_string()))?;
        for (label, ex) in [
            ("fixed", Expansion::default()),
            ("typical", Expansion::typical(&sc)),
        ] {
            for &h in &hours {
                let co = ConvertOptions {
                    step: Time::from_h(1.0),
                    duration: Some(Time::from_h(h)),
                    probe_step: Some(Time::from_s(10.0)),
                };
                let p = SiteProblem::from_scenario(&sc, &ex, &co)?;
                for &solver in available_solvers() {
                    let s = optimize_with(&p, &OptimizeOptions::default(), solver)?;
                    println!(
                        "| {name} | {label} | {h} | {solver} | {} | {} | {} | {} | {:.3} | {:.3} | {:.2} |",
                        s.stats.cols,
                        s.stats.rows,
                        s.stats.nnz,
                        s.stats.iterations,
                        s.stats.build.s(),
                        s.stats.solve.s(),
                        s.objective.usd()
                    );
                }
            }
        }
    }
    Ok(())
}

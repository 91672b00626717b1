//! A year of every reference site scenario, every asset extendable at typical costs, solved
//! over the whole year and over typical days, with every solver this build has: the ratings
//! and objective from the typical days against the year's, the typical days' design
//! re-evaluated over the whole year (its ratings fixed, the year's dispatch optimized, its
//! capital added), and the times. By hand:
//!
//! ```text
//! cargo run --release -p wattage-optimize [--features highs] --example typical_days [K...]
//! ```

use std::path::Path;
use std::time::Instant;

use wattage_optimize::{
    ConvertOptions, EnergyCapacity, Expansion, OptimizeOptions, PowerCapacity, SiteProblem,
    Solution, available_solvers, optimize_with,
};
use wattage_units::Time;

/// `p` with every rating fixed at `s`'s.
fn fixed_design(p: &SiteProblem, s: &Solution) -> SiteProblem {
    let mut q = p.clone();
    let c = &s.capacities;
    if let (Some(g), Some(r)) = (&mut q.grid, c.grid) {
        g.connection = PowerCapacity::fixed(r);
    }
    for (t, (_, r)) in q.turbines.iter_mut().zip(&c.turbines) {
        t.capacity = PowerCapacity::fixed(*r);
    }
    for (b, (_, pw, en)) in q.batteries.iter_mut().zip(&c.batteries) {
        b.power = PowerCapacity::fixed(*pw);
        b.energy = EnergyCapacity::fixed(*en);
    }
    for (pv, (_, r)) in q.solar.iter_mut().zip(&c.solar) {
        pv.capacity = PowerCapacity::fixed(*r);
    }
    q
}

fn ratings(s: &Solution) -> Vec<(String, f64)> {
    let c = &s.capacities;
    let mut v: Vec<(String, f64)> = c.grid.iter().map(|g| ("grid MW".into(), g.mw())).collect();
    v.extend(c.turbines.iter().map(|(n, r)| (format!("{n} MW"), r.mw())));
    for (n, pw, en) in &c.batteries {
        v.push((format!("{n} MW"), pw.mw()));
        v.push((format!("{n} MWh"), en.mwh()));
    }
    v.extend(c.solar.iter().map(|(n, r)| (format!("{n} MW"), r.mw())));
    v
}

fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        if a == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (a - b) / b.abs()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ks: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let ks = if ks.is_empty() { vec![12] } else { ks };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    println!(
        "| scenario | solver | k | ratings: typical days / year (rel. error) | objective typical days | year | rel. | typical design over the year | rel. | time typical s | year s | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for name in ["colossus.toml", "colossus-miners.toml", "peak-shaving.toml"] {
        let path = dir.join(name);
        let mut sc = wattage_site::parse_scenario(&std::fs::read_to_string(&path)?)?;
        sc.resolve_files(|p| std::fs::read_to_string(dir.join(p)).map_err(|e| e.to_string()))?;
        let co = ConvertOptions {
            step: Time::from_h(1.0),
            duration: Some(Time::from_h(8760.0)),
            probe_step: Some(Time::from_s(10.0)),
        };
        let p = SiteProblem::from_scenario(&sc, &Expansion::typical(&sc), &co)?;
        for &solver in available_solvers() {
            let t0 = Instant::now();
            let full = optimize_with(&p, &OptimizeOptions::default(), solver)?;
            let t_full = t0.elapsed().as_secs_f64();
            for &k in &ks {
                let o = OptimizeOptions {
                    typical_days: Some(k),
                    ..OptimizeOptions::default()
                };
                let t0 = Instant::now();
                let typ = optimize_with(&p, &o, solver)?;
                let t_typ = t0.elapsed().as_secs_f64();
                let again =
                    optimize_with(&fixed_design(&p, &typ), &OptimizeOptions::default(), solver)?;
                let over_year = again.objective.usd() + typ.costs.capital.usd();
                let caps: Vec<String> = ratings(&typ)
                    .iter()
                    .zip(ratings(&full))
                    .map(|((n, a), (_, b))| format!("{n} {a:.1} / {b:.1} ({:+.2e})", rel(*a, b)))
                    .collect();
                println!(
                    "| {name} | {solver} | {k} | {} | {:.0} | {:.0} | {:+.2e} | {:.0} | {:+.2e} | {:.3} | {:.3} | {:.3} |",
                    caps.join("; "),
                    typ.objective.usd(),
                    full.objective.usd(),
                    rel(typ.objective.usd(), full.objective.usd()),
                    over_year,
                    rel(over_year, full.objective.usd()),
                    t_typ,
                    t_full,
                    t_typ / t_full
                );
            }
        }
    }
    Ok(())
}

//! `wattage sweep SPEC.toml`: a base scenario under a grid or list of overrides, in parallel
//! on every core, one row of KPIs per variant (CSV, Parquet) and a page of charts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use wattage_engine::sweep::{self as job, SweepSpec};
use wattage_engine::{FileSystem, Input};

use crate::common::{Global, out, out_json, user, write_folder};

/// Arguments of `wattage sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sweep file (TOML): a base scenario, a `[grid]` and/or `[[variant]]` overrides, seeds
    pub spec: PathBuf,
    /// Output folder [default: wattage-out/sweep-<name>]
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Threads [default: every core]
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run only variants START..END (0-based, END excluded), e.g. to share a sweep out
    #[arg(long, value_name = "START..END")]
    pub variants: Option<String>,
    /// List the variants and exit without running them
    #[arg(long)]
    pub list: bool,
    /// Print the rows as JSON
    #[arg(long)]
    pub json: bool,
}

fn range(s: &str) -> anyhow::Result<std::ops::Range<usize>> {
    let bad = || {
        user(format!(
            "invalid `--variants` `{s}`: expected START..END, e.g. 0..100"
        ))
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let a: usize = a.trim().parse().map_err(|_| bad())?;
    let b: usize = b.trim().parse().map_err(|_| bad())?;
    Ok(a..b)
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let spec = SweepSpec::load_with(&FileSystem, &Input::from(a.spec.as_path()), g.max_work)?;
    if a.list {
        if a.json {
            return out_json(&spec.variants);
        }
        for v in &spec.variants {
            let ov: Vec<String> = v
                .overrides
                .iter()
                .map(|(k, x)| format!("{k} = {x}"))
                .collect();
            out(format!(
                "{:>6}  {}{}{}",
                v.index,
                if v.name.is_empty() { "" } else { &v.name },
                if v.name.is_empty() { "" } else { ": " },
                ov.join(", ")
            ) + &v.seed.map_or(String::new(), |s| format!("  seed {s}")));
        }
        return Ok(());
    }
    let r = a.variants.as_deref().map(range).transpose()?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join(format!("sweep-{}", spec.name)));
    let bars = g.bars();
    let t0 = Instant::now();
    let res = job::run(&cat, &FileSystem, &spec, r, a.threads, &bars)?;
    let secs = t0.elapsed().as_secs_f64();
    write_folder(&dir, &res.artifacts()?)?;
    if a.json {
        return out_json(&res);
    }
    let threads = a.threads.unwrap_or_else(rayon_threads);
    out(format!(
        "sweep `{}`: {} variants in {secs:.1} s on {threads} threads",
        res.name,
        res.rows.len()
    ));
    let cols = res.columns();
    let show: Vec<usize> = (0..cols.len())
        .filter(|&i| {
            i < 3 + res.params.len()
                || ["cost_usd", "co2e_t", "unserved_mwh", "ramp_violations"]
                    .contains(&cols[i].as_str())
        })
        .filter(|&i| cols[i] != "name" || res.rows.iter().any(|r| !r.name.is_empty()))
        .collect();
    out(show
        .iter()
        .map(|&i| format!("{:>14}", cols[i]))
        .collect::<Vec<_>>()
        .join(" "));
    for rec in res.records().iter().take(20) {
        out(show
            .iter()
            .map(|&i| {
                let c = &rec[i];
                let c = c
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.fract() != 0.0)
                    .map_or(c.clone(), |x| wattage_report::format::significant(x, 4));
                format!("{c:>14}")
            })
            .collect::<Vec<_>>()
            .join(" "));
    }
    if res.rows.len() > 20 {
        out(format!("  ... {} more rows", res.rows.len() - 20));
    }
    out(format!(
        "  table: {}, page: {}",
        dir.join("sweep.csv").display(),
        dir.join("sweep.html").display()
    ));
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

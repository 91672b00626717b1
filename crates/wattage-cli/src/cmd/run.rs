//! `wattage run` and `wattage compare`: one scenario from token to grid, and several side by
//! side. The engine computes everything; this module reads flags, prints and writes.

use std::path::{Path, PathBuf};

use wattage_engine::run::{self as job, RunResult, scenario};
use wattage_engine::{FileSystem, Input};
use wattage_report::NamedFigures;

use crate::common::{Global, out, out_json, write_files, write_folder};

/// Arguments of `wattage run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario file (TOML); without it, the built-in default scenario
    pub scenario: Option<PathBuf>,
    /// Output folder [default: wattage-out/<scenario name>]
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print summary.json to stdout instead of the text summary
    #[arg(long)]
    pub json: bool,
    /// Print the built-in default scenario and exit
    #[arg(long = "print-default")]
    pub print_default: bool,
    /// Seed of every random draw (serving arrivals, site outages, failures, weather)
    /// [default: the scenario's `seed`]
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Arguments of `wattage compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Two or more scenario files
    #[arg(required = true, num_args = 2..)]
    pub scenarios: Vec<PathBuf>,
    /// Output folder [default: wattage-out/compare]
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print the comparison as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    if a.print_default {
        out(scenario::DEFAULT.trim_end());
        return Ok(());
    }
    let cat = g.catalog()?;
    let input = a.scenario.as_deref().map(Input::from);
    let mut loaded = job::load(&FileSystem, input.as_ref())?;
    loaded.max_work = g.max_work;
    if let Some(seed) = a.seed {
        loaded.reseed(seed);
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join(&loaded.scenario.name));
    crate::common::check_out_folder(&dir)?;
    let bars = g.bars();
    let r = job::execute(&cat, loaded, &bars)?;
    let summary = r.summary();
    wattage_engine::Progress::stage(&bars, "writing the report");
    let files = job::artifacts(&r, &summary)?;
    write_folder(&dir, &files)?;
    wattage_engine::Progress::end_stage(&bars);
    if a.json {
        return out_json(&summary);
    }
    print_summary(&r, &dir);
    Ok(())
}

fn print_summary(r: &RunResult, dir: &Path) {
    for line in job::headline::summary_text(r, &r.headlines()) {
        out(line);
    }
    let total: f64 = r.timings.iter().map(|(_, t)| t).sum();
    out(format!(
        "  report: {} ({:.1} s)",
        dir.join("report.html").display(),
        total
    ));
}

/// Prints a comparison table to the terminal.
fn print_comparison(runs: &[NamedFigures]) {
    let mut header = format!("{:<48}", "");
    for r in runs {
        header.push_str(&format!(" {:>16}", r.name));
    }
    out(header);
    if let Some(first) = runs.first() {
        for (i, fig) in first.figures.iter().enumerate() {
            let mut line = format!("{:<48}", format!("{} ({})", fig.label, fig.unit));
            for r in runs {
                let cell = r
                    .figures
                    .get(i)
                    .map(|f| f.value)
                    .filter(|v| v.is_finite())
                    .map_or("-".into(), |v| wattage_report::format::significant(v, 3));
                line.push_str(&format!(" {cell:>16}"));
            }
            out(line);
        }
    }
}

/// Compares scenarios.
pub fn compare(g: &Global, a: CompareArgs) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let inputs: Vec<Input> = a
        .scenarios
        .iter()
        .map(|p| Input::from(p.as_path()))
        .collect();
    let bars = g.bars();
    let c = wattage_engine::compare::run(&cat, &FileSystem, &inputs, &bars)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join("compare"));
    write_files(&dir, &c.artifacts()?)?;
    if a.json {
        return out_json(&c.summaries());
    }
    print_comparison(&c.figures);
    out(format!("  report: {}", dir.join("compare.html").display()));
    Ok(())
}

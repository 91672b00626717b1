//! `wattage run` and `wattage compare`: one scenario from token to grid, and several side by
//! side. The engine computes everything; this module reads flags, prints and writes.

use std::path::{Path, PathBuf};

use wattage_engine::run::{self as job, RunResult, scenario};
use wattage_engine::{FileSystem, Input};

use crate::common::{Global, out, out_json, write_folder};

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
    /// Output folder, replaced whole: compare.html, compare.json, compare.csv and each run's
    /// folder [default: wattage-out/compare]
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Print compare.json to stdout instead of the text tables
    #[arg(long)]
    pub json: bool,
    /// A figure differs when its spread exceeds this fraction of its largest value
    /// [default: 0.01]
    #[arg(
        long = "rel-tol",
        value_name = "FRACTION",
        allow_negative_numbers = true
    )]
    pub rel_tol: Option<f64>,
    /// ... and exceeds this, in the figure's own unit [default: 0.001]
    #[arg(long = "abs-tol", value_name = "VALUE", allow_negative_numbers = true)]
    pub abs_tol: Option<f64>,
    /// Seed of every random draw of every run, replacing each scenario's `seed`
    /// [default: each scenario's]
    #[arg(long)]
    pub seed: Option<u64>,
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

/// Prints rows as a table: the first column left-aligned, the others right-aligned, each as
/// wide as its widest cell.
fn print_table(rows: &[Vec<String>]) {
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len)).map(width).collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = " ".repeat(widths[c].saturating_sub(cell.chars().count()));
            if c == 0 {
                line.push_str(&format!("  {cell}{pad}"));
            } else {
                line.push_str(&format!("  {pad}{cell}"));
            }
        }
        out(line.trim_end());
    }
}

/// Prints what separates the runs: the inputs that differ, then the figures that differ.
fn print_comparison(c: &wattage_engine::Comparison) {
    let s = &c.summary;
    let mut header = vec![String::new()];
    header.extend(s.scenarios.iter().map(|r| r.name.clone()));
    if s.identical_inputs {
        out("inputs: identical (the scenarios differ only in name, title and description)");
    } else {
        out(format!("inputs that differ ({}):", s.inputs.len()));
        let mut rows = vec![header.clone()];
        for d in &s.inputs {
            let mut row = vec![format!("{} file: {}", d.file, d.field)];
            row.extend(d.values.iter().map(wattage_engine::compare::value_text));
            rows.push(row);
        }
        print_table(&rows);
    }
    let differing: Vec<_> = s
        .kpis
        .iter()
        .filter(|k| k.differs && k.same_as.is_none())
        .collect();
    let rule = s.thresholds.describe();
    if differing.is_empty() {
        out(format!("results: no figure differs ({rule})"));
        return;
    }
    out(format!(
        "results that differ ({} of {} figures; {rule}):",
        differing.len(),
        s.kpis.len()
    ));
    let mut rows = vec![header];
    for k in differing {
        let mut row = vec![if k.unit.is_empty() {
            k.label.clone()
        } else {
            format!("{} ({})", k.label, k.unit)
        }];
        row.extend(
            k.values
                .iter()
                .enumerate()
                .map(|(i, v)| wattage_report::compare::cell(k.values[0], *v, i == 0)),
        );
        rows.push(row);
    }
    print_table(&rows);
}

/// Compares scenarios.
pub fn compare(g: &Global, a: CompareArgs) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let inputs: Vec<Input> = a
        .scenarios
        .iter()
        .map(|p| Input::from(p.as_path()))
        .collect();
    let mut options = wattage_engine::compare::CompareOptions::new(a.rel_tol, a.abs_tol)?;
    options.max_work = g.max_work;
    options.seed = a.seed;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join("compare"));
    crate::common::check_out_folder(&dir)?;
    let bars = g.bars();
    let c = wattage_engine::compare::run(&cat, &FileSystem, &inputs, &options, &bars)?;
    wattage_engine::Progress::stage(&bars, "writing the reports");
    write_folder(&dir, &c.artifacts()?)?;
    wattage_engine::Progress::end_stage(&bars);
    if a.json {
        return out_json(&c.summary);
    }
    print_comparison(&c);
    out(format!("report: {}", dir.join("compare.html").display()));
    Ok(())
}

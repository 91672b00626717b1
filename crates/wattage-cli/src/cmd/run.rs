//! `wattage run` and `wattage compare`: one scenario from token to grid, and several side by
//! side. The engine computes everything; this module reads flags, prints and writes.

use std::path::{Path, PathBuf};

use wattage_engine::run::{self as job, RunResult, RunSummary, scenario};
use wattage_engine::{FileSystem, Input};
use wattage_report::NamedFigures;
use wattage_units::{Energy, Usd};

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
    print_summary(&r, &summary, &dir);
    Ok(())
}

fn print_summary(r: &RunResult, sm: &RunSummary, dir: &Path) {
    let sc = &r.loaded.scenario;
    out(sc.title.clone().unwrap_or_else(|| sc.name.clone()));
    for s in &sm.services {
        let (q, f) = (&s.request, &s.fleet);
        out(format!(
            "  {} ({} on {} x {}): {:.3} Wh per request at the facility (steady-state estimate {:.3} Wh, p5-p95 {:.3}-{:.3}; flat 10% method {:.3} Wh)",
            s.name,
            s.model,
            s.gpus_per_replica,
            s.hardware,
            f.facility_wh_per_request,
            q.energy_wh,
            q.low_wh,
            q.high_wh,
            q.flat_10pct_wh
        ));
        out(format!(
            "    fleet: {} replicas ({} GPUs), {:.1} MW mean / {:.1} MW peak server power; peak hour p99 TTFT {:.0} ms, p99 ITL {:.1} ms, compute utilization {:.1}%",
            f.replicas,
            f.gpus,
            f.mean_server_mw,
            f.peak_server_mw,
            f.peak_hour.ttft_ms_p99,
            f.peak_hour.itl_ms_p99,
            100.0 * f.peak_hour.compute_utilization
        ));
    }
    let k = &sm.site;
    let s = &k.energy_mwh_by_source;
    let gwh = |v: f64| Energy::from_mwh(v).gwh();
    out(format!(
        "  site over {:.0} h: {:.0} GWh (grid {:.0}, turbines {:.0}, solar {:.0}, battery {:.0}, unserved {:.2}); peak {:.0} MW",
        k.hours,
        gwh(s.grid + s.turbines + s.solar + s.battery_discharge + s.unserved),
        gwh(s.grid),
        gwh(s.turbines),
        gwh(s.solar),
        gwh(s.battery_discharge),
        s.unserved,
        k.peak_facility_mw
    ));
    out(format!(
        "    cost {:.1}, {:.0} t CO2e, {:.0} m³ water ({:.0} m³ fresh), {} interruptions, {} ramp violations",
        Usd::new(k.cost_usd),
        k.co2e_t,
        k.water_m3,
        k.water_fresh_m3,
        k.interruptions,
        k.ramp_violations
    ));
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

//! `wattage simulate site`: a site's energy system, second by second, from a scenario file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use wattage_site::{
    RunOptions, Scenario, ScenarioError, SimResult, monte_carlo, simulate_with_progress,
};
use wattage_units::Time;

use crate::common::{Global, UserError, out, out_json, read_text, write_atomic};

/// Arguments of `wattage simulate site`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario file (TOML); see `scenarios/` for examples
    pub scenario: PathBuf,
    /// Print key figures as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Override the horizon, in hours
    #[arg(long, value_name = "HOURS")]
    pub duration: Option<f64>,
    /// Override the dispatch step, in seconds
    #[arg(long, value_name = "SECONDS")]
    pub step: Option<f64>,
    /// Seed (overrides the scenario's)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Monte Carlo over N seeds (outage and failure draws); reports reliability. Without N:
    /// the scenario's `[reliability] seeds`
    #[arg(long, value_name = "N", num_args = 0..=1)]
    pub seeds: Option<Option<u32>>,
    /// Write `timeseries.csv`, `timeseries.parquet` and `kpis.json` into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Resolution of the time series written with `--out`, in seconds
    #[arg(long, value_name = "SECONDS")]
    pub resolution: Option<f64>,
}

/// A scenario error as the user sees it: `FILE:LINE:COLUMN`, where FILE is the CSV file the
/// error is in (resolved like the scenario resolves it) or else the scenario file.
pub fn scenario_error(path: &Path, e: &ScenarioError) -> anyhow::Error {
    let file = match &e.file {
        Some(f) => path.parent().unwrap_or(Path::new("")).join(f),
        None => path.to_path_buf(),
    };
    let loc = if e.line > 0 {
        format!("{}:{}:{}", file.display(), e.line, e.column)
    } else {
        file.display().to_string()
    };
    let field = if e.field.is_empty() {
        String::new()
    } else {
        format!(" `{}`", e.field)
    };
    let mut msg = format!("invalid scenario `{loc}`:{field}: {}", e.message);
    if let Some(s) = &e.snippet {
        msg.push('\n');
        msg.push_str(s);
    }
    UserError::new(msg).into()
}

/// Reads, parses and resolves the CSV profiles of a scenario file.
pub fn load(path: &Path) -> anyhow::Result<Scenario> {
    let text = read_text(path)?;
    let mut sc = wattage_site::parse_scenario(&text).map_err(|e| scenario_error(path, &e))?;
    resolve_csv(&mut sc, path)?;
    Ok(sc)
}

/// Reads a parsed scenario's CSV profiles, relative to the directory of the scenario file at
/// `path`.
pub fn resolve_csv(sc: &mut Scenario, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    sc.resolve_files(|p| {
        let full = dir.join(p);
        std::fs::read_to_string(&full).map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    })
    .map_err(|e| scenario_error(path, &e))
}

fn positive(name: &str, v: f64) -> anyhow::Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(UserError::new(format!("`--{name}` must be a positive number, found {v}")).into())
    }
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let sc = load(&a.scenario)?;
    let mut o = RunOptions::from_scenario(&sc);
    if let Some(h) = a.duration {
        o.duration = Time::from_h(positive("duration", h)?);
    }
    if let Some(s) = a.step {
        o.step = Time::from_s(positive("step", s)?);
        o.resolution = o.resolution.max(o.step);
    }
    if let Some(r) = a.resolution {
        o.resolution = Time::from_s(positive("resolution", r)?);
    }
    if let Some(s) = a.seed {
        o.seed = s;
    }
    o.keep_series = a.out.is_some();

    let bar = g.progress().then(|| {
        let b = indicatif::ProgressBar::new(1);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} simulating [{bar:40}] {percent}% {msg} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let user_err = |e: ScenarioError| -> anyhow::Error {
        UserError::new(format!(
            "cannot simulate `{}`: `{}` {}",
            a.scenario.display(),
            e.field,
            e.message
        ))
        .into()
    };

    if let Some(n) = a.seeds.map(|n| n.unwrap_or(sc.reliability.seeds)) {
        if n == 0 {
            return Err(UserError::new("`--seeds` must be positive").into());
        }
        let rel = monte_carlo(&sc, &o, n, &mut progress).map_err(user_err)?;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        if let Some(dir) = &a.out {
            let json = serde_json::to_vec_pretty(&rel).context("cannot serialise")?;
            write_atomic(&dir.join("reliability.json"), &json)?;
        }
        if a.json {
            return out_json(&rel);
        }
        out(format!(
            "{} over {} seeds ({:.0} h each)",
            sc.name,
            rel.seeds,
            o.duration.h()
        ));
        out(format!(
            "  expected unserved energy   {:>12.3} MWh",
            rel.expected_unserved_mwh
        ));
        out(format!(
            "  expected interruptions     {:>12.2}",
            rel.expected_interruptions
        ));
        if sc.reliability.interruption_min.s() > 0.0 {
            out(format!(
                "    of which momentary       {:>12.2} (under {:.0} s)",
                rel.expected_momentary_interruptions,
                sc.reliability.interruption_min.s()
            ));
        }
        out(format!(
            "  P(at least one)            {:>12.2}",
            rel.probability_of_interruption
        ));
        out(format!(
            "  mean interruption          {:>12.0} s",
            rel.mean_interruption_s
        ));
        out(format!(
            "  longest interruption       {:>12.0} s",
            rel.longest_interruption_s
        ));
        out(format!(
            "  GPU-hours lost             {:>12.0}",
            rel.expected_gpu_hours_lost
        ));
        out(format!(
            "  interruption cost          {:>12.0} $",
            rel.expected_interruption_cost_usd
        ));
        out(format!(
            "  expected total cost        {:>12.0} $",
            rel.expected_cost_usd
        ));
        return Ok(());
    }

    let r = simulate_with_progress(&sc, &o, &mut progress).map_err(user_err)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(dir) = &a.out {
        write_outputs(dir, &r)?;
    }
    if a.json {
        let mut k = r.kpis.clone();
        k.interruption_list.truncate(100);
        return out_json(&k);
    }
    summary(&sc, &r);
    if let Some(dir) = &a.out {
        eprintln!(
            "wrote timeseries.csv, timeseries.parquet and kpis.json to `{}`",
            dir.display()
        );
    }
    Ok(())
}

fn write_outputs(dir: &Path, r: &SimResult) -> anyhow::Result<()> {
    crate::columnar::write_table(dir, "timeseries", &r.series)?;
    let json = serde_json::to_vec_pretty(&r.kpis).context("cannot serialise")?;
    write_atomic(&dir.join("kpis.json"), &json)?;
    Ok(())
}

fn summary(sc: &Scenario, r: &SimResult) {
    let k = &r.kpis;
    let s = &k.energy_mwh_by_source;
    let u = &k.energy_mwh_by_use;
    let c = &k.cost_usd_by_component;
    out(format!(
        "{}: {:.0} h at {} s steps ({} steps)",
        sc.name, k.hours, k.step_s, k.steps
    ));
    out("energy by source (MWh)");
    for (n, v) in [
        ("grid", s.grid),
        ("turbines", s.turbines),
        ("solar", s.solar),
        ("battery", s.battery_discharge),
        ("unserved", s.unserved),
    ] {
        out(format!("  {n:<26}{v:>14.1}"));
    }
    out("energy by use (MWh)");
    for (n, v) in [
        ("inference IT", u.inference_it),
        ("training IT", u.training_it),
        ("  of which dummy work", u.training_dummy_work),
        ("cooling and power overhead", u.facility_overhead),
        ("miners", u.miners),
        ("battery losses", u.battery_losses),
        ("export", u.export),
    ] {
        out(format!("  {n:<26}{v:>14.1}"));
    }
    out(format!(
        "peak grid import            {:>14.1} MW",
        k.peak_grid_import_mw
    ));
    out(format!(
        "peak facility load          {:>14.1} MW (load factor {:.2})",
        k.peak_facility_mw, k.load_factor
    ));
    out("cost ($)");
    for (n, v) in [
        ("grid energy", c.grid_energy),
        ("demand charge", c.demand_charge),
        ("fuel", c.fuel),
        ("turbine O&M", c.turbine_om),
        ("turbine starts", c.starts),
        ("export revenue", c.export_revenue),
        ("lost work, interruptions", c.interruptions),
        ("lost work, job failures", c.job_failures),
        ("miners' revenue", c.miner_revenue),
        ("miners' other costs", c.miner_other_costs),
    ] {
        out(format!("  {n:<26}{v:>14.0}"));
    }
    out(format!("  {:<26}{:>14.0}", "total", k.cost_usd));
    out(format!(
        "energy cost                 {:>14.2} $/MWh, {:.3} $/GPU-h",
        k.cost_usd_per_mwh, k.cost_usd_per_gpu_hour
    ));
    out(format!(
        "emissions                   {:>14.0} t CO2e ({:.0} grid, {:.0} turbines)",
        k.co2e_t, k.co2e_t_by_source.grid, k.co2e_t_by_source.turbines
    ));
    out(format!(
        "water                       {:>14.0} m3 ({:.0} fresh, {:.0} recycled)",
        k.water_m3, k.water_fresh_m3, k.water_recycled_m3
    ));
    out(format!(
        "battery                     {:>14.0} MWh out, {:.1} equivalent cycles, SoC {:.2}-{:.2}",
        k.battery_throughput_mwh, k.battery_equivalent_cycles, k.soc_range[0], k.soc_range[1]
    ));
    out(format!(
        "ramp-limit violations       {:>14} steps ({} on the grid)",
        k.ramp_violations, k.grid_ramp_violations
    ));
    out(format!(
        "turbines                    {:>14} starts, {} trips",
        k.turbine_starts, k.turbine_trips
    ));
    out(format!(
        "AI interruptions            {:>14} ({:.0} s total, longest {:.0} s, {:.0} GPU-h lost)",
        k.interruptions, k.interruption_s, k.longest_interruption_s, k.gpu_hours_lost
    ));
    if sc.reliability.interruption_min.s() > 0.0 {
        out(format!(
            "  of which momentary        {:>14} (under {:.0} s)",
            k.momentary_interruptions,
            sc.reliability.interruption_min.s()
        ));
    }
    out(format!(
        "training job failures       {:>14}",
        k.job_failures
    ));
    if k.miner_energy_mwh > 0.0 || !sc.miners.is_empty() {
        out(format!(
            "miners                      {:>14.0} $ revenue, {:.0} MWh, uptime {:.3}, capacity factor {:.3}",
            k.miner_revenue_usd, k.miner_energy_mwh, k.miner_uptime, k.miner_capacity_factor
        ));
    }
    out(format!(
        "solar curtailed             {:>14.1} MWh",
        k.solar_curtailed_mwh
    ));
    out(format!(
        "max balance error           {:>14.2e} MW",
        k.max_balance_error_mw
    ));
}

//! `wattage simulate site`: a site's energy system, second by second, from a scenario file.

use std::path::{Path, PathBuf};

use wattage_engine::{FileSystem, SiteOutcome, SiteSpec};
use wattage_site::{Scenario, SimResult};

use crate::common::{Global, out, out_json, ranged, write_files};

/// Arguments of `wattage simulate site`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Scenario file (TOML); see `scenarios/` for examples
    pub scenario: PathBuf,
    /// Print key figures as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Override the horizon, e.g. `48h`, `7d`, `1y` (a bare number is hours, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// Override the dispatch step, e.g. `1s`, `1m` (a bare number is seconds, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub step: Option<String>,
    /// Seed (overrides the scenario's)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Monte Carlo over N seeds (outage and failure draws); reports reliability. Without N:
    /// the scenario's `[reliability] seeds`
    #[arg(long, value_name = "N", num_args = 0..=1, value_parser = ranged!(u32, "site", "seeds"))]
    pub seeds: Option<Option<u32>>,
    /// Write `timeseries.csv`, `timeseries.parquet` and `summary.json` (with --seeds:
    /// `reliability.json`) into this directory (see docs/outputs.md)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Resolution of the time series written with `--out`, e.g. `15m`, `1h` (a bare number
    /// is seconds, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub resolution: Option<String>,
    /// Calendar time of the start, ISO 8601 with a zone (the `time` column) [default:
    /// 2025-01-01T00:00:00Z, moved to the scenario's `start_day_of_year`]
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
}

impl Args {
    /// The engine's spec of these flags.
    pub fn spec(&self) -> SiteSpec {
        SiteSpec {
            duration: self.duration.clone().map(Into::into),
            step: self.step.clone().map(Into::into),
            seed: self.seed,
            seeds: self.seeds,
            resolution: self.resolution.clone().map(Into::into),
            start: self.start.clone(),
            keep_series: self.out.is_some(),
            max_work: None,
        }
    }
}

/// Reads a site scenario file and its CSV profiles.
pub fn load(path: &Path) -> anyhow::Result<Scenario> {
    Ok(wattage_engine::site::load(&FileSystem, &path.into())?)
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let sc = load(&a.scenario)?;
    let name = a.scenario.display().to_string();
    let bars = g.bars();
    let spec = SiteSpec {
        max_work: g.max_work,
        ..a.spec()
    };
    g.warn(&spec.deprecations());
    match wattage_engine::site::run(&sc, &name, &spec, &bars)? {
        SiteOutcome::Reliability(rel) => {
            if let Some(dir) = &a.out {
                write_files(dir, &wattage_engine::site::reliability_artifacts(&rel)?)?;
            }
            if a.json {
                return out_json(&rel);
            }
            let hours = wattage_engine::site::options(&sc, &a.spec())?.duration.h();
            out(format!(
                "{} over {} seeds ({:.0} h each)",
                sc.name, rel.seeds, hours
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
            Ok(())
        }
        SiteOutcome::Simulated(r) => {
            if let Some(dir) = &a.out {
                write_files(dir, &wattage_engine::site::artifacts(&sc, &spec, &r)?)?;
            }
            if a.json {
                let mut k = r.kpis.clone();
                k.interruption_list.truncate(100);
                return out_json(&k);
            }
            summary(&sc, &r);
            if let Some(dir) = &a.out {
                g.note(format!(
                    "wrote timeseries.csv, timeseries.parquet and summary.json to `{}`",
                    dir.display()
                ));
            }
            Ok(())
        }
    }
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
        "battery                     {:>14.0} MWh out, {:.1} equivalent cycles, state of charge {:.0}-{:.0}%",
        k.battery_throughput_mwh,
        k.battery_equivalent_cycles,
        100.0 * k.soc_range[0],
        100.0 * k.soc_range[1]
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

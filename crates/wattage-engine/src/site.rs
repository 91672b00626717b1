//! The site job: a campus's energy system simulated step by step from a scenario file, or a
//! reliability Monte Carlo over seeds.

use std::path::Path;

use serde::{Deserialize, Serialize};
use wattage_site::{Reliability, RunOptions, Scenario, SimResult, monte_carlo};
use wattage_units::Time;

use crate::error::{Error, Result, site_error};
use crate::io::{Input, Progress, Sources};

/// Parses a site scenario and reads its CSV profiles, relative to the scenario's folder.
pub fn load(src: &dyn Sources, input: &Input) -> Result<Scenario> {
    let (text, _, path) = input.load(src)?;
    let mut sc = wattage_site::parse_scenario(&text).map_err(|e| site_error(&path, &e))?;
    resolve_csv(src, &mut sc, &path)?;
    Ok(sc)
}

/// Reads a parsed scenario's CSV profiles, relative to the folder of the scenario file at
/// `path`.
pub fn resolve_csv(src: &dyn Sources, sc: &mut Scenario, path: &Path) -> Result<()> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    sc.resolve_files(|p| {
        let full = dir.join(p);
        src.read(&full)
            .map_err(|e| format!("cannot read `{}`: {e}", full.display()))
    })
    .map_err(|e| site_error(path, &e))
}

/// A site simulation. `None` keeps the scenario's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteSpec {
    /// Horizon, hours.
    pub duration: Option<f64>,
    /// Dispatch step, seconds.
    pub step: Option<f64>,
    /// Seed.
    pub seed: Option<u64>,
    /// Reliability Monte Carlo over this many seeds (`Some(None)`: the scenario's
    /// `[reliability] seeds`).
    pub seeds: Option<Option<u32>>,
    /// Resolution of the stored series, seconds.
    pub resolution: Option<f64>,
    /// Keep the time series.
    pub keep_series: bool,
    /// Raise the work limit (site simulation steps) to this size.
    pub max_work: Option<u64>,
}

/// What a site job produced.
#[derive(Debug, Clone)]
pub enum SiteOutcome {
    /// One simulation.
    Simulated(Box<SimResult>),
    /// A reliability Monte Carlo.
    Reliability(Box<Reliability>),
}

fn positive(name: &str, v: f64) -> Result<f64> {
    crate::limits::check("site", name, v)
}

/// Steps of `runs` simulations of `o` (saturating), for the work limit.
pub fn steps(o: &RunOptions, runs: u64) -> u64 {
    crate::limits::count(o.duration.s() / o.step.s()).saturating_mul(runs)
}

/// The run options of a spec on a scenario.
pub fn options(sc: &Scenario, a: &SiteSpec) -> Result<RunOptions> {
    let mut o = RunOptions::from_scenario(sc);
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
    o.keep_series = a.keep_series;
    Ok(o)
}

/// Simulates a scenario (`name` names it in errors), or runs its reliability Monte Carlo.
pub fn run(
    sc: &Scenario,
    name: &str,
    a: &SiteSpec,
    progress: &dyn Progress,
) -> Result<SiteOutcome> {
    let o = options(sc, a)?;
    let runs = a.seeds.map(|n| n.unwrap_or(sc.reliability.seeds));
    if let Some(n) = runs {
        if n == 0 {
            return Err(Error::param("seeds", "must be positive"));
        }
        crate::limits::check("site", "seeds", f64::from(n))?;
    }
    crate::limits::admit(
        crate::limits::Work::SiteSteps,
        steps(&o, u64::from(runs.unwrap_or(1))),
        "the horizon (`{duration}`, `simulation.duration_h`) / the step (`{step}`, `simulation.step_s`), x `{seeds}`",
        a.max_work,
        progress,
    )?;
    let sim_err = |e: wattage_site::ScenarioError| {
        Error::input(format!(
            "cannot simulate `{name}`: `{}` {}",
            e.field, e.message
        ))
    };
    progress.stage("simulating");
    let mut tick = |done: u64, total: u64| progress.advance(done, total);
    let out = if let Some(n) = a.seeds.map(|n| n.unwrap_or(sc.reliability.seeds)) {
        if n == 0 {
            return Err(Error::param("seeds", "must be positive"));
        }
        SiteOutcome::Reliability(Box::new(
            monte_carlo(sc, &o, n, &mut tick).map_err(sim_err)?,
        ))
    } else {
        SiteOutcome::Simulated(Box::new(
            wattage_site::simulate_with_progress(sc, &o, &mut tick).map_err(sim_err)?,
        ))
    };
    progress.end_stage();
    Ok(out)
}

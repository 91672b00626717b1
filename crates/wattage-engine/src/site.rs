//! The site job: a campus's energy system simulated step by step from a scenario file, or a
//! reliability Monte Carlo over seeds.

use std::path::Path;

use serde::{Deserialize, Serialize};
use wattage_site::{Reliability, RunOptions, Scenario, SimResult, monte_carlo};
use wattage_units::Time;

use crate::calendar::Start;
use crate::error::{Error, Result, site_error};
use crate::io::{Input, Progress, Sources};
use crate::spec::{BareUnit, DurationArg};
use crate::table::{Artifact, site_rows, table};

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
    /// Horizon (`48h`, `7d`, `1y`; a bare number is hours, deprecated).
    pub duration: Option<DurationArg>,
    /// Dispatch step (`1s`, `1m`; a bare number is seconds, deprecated).
    pub step: Option<DurationArg>,
    /// Seed.
    pub seed: Option<u64>,
    /// Reliability Monte Carlo over this many seeds (`Some(None)`: the scenario's
    /// `[reliability] seeds`).
    pub seeds: Option<Option<u32>>,
    /// Resolution of the stored series (`15m`, `1h`; a bare number is seconds, deprecated).
    pub resolution: Option<DurationArg>,
    /// Calendar time of the run's start, ISO 8601 with a zone (`2025-01-01T00:00:00Z`) [default:
    /// [`crate::calendar::DEFAULT_START`]]: the `time` column of the series.
    pub start: Option<String>,
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

impl SiteSpec {
    /// Deprecation warnings of this spec (bare numbers for durations), for the front-end to
    /// show; parameters are written `` `{name}` ``.
    pub fn deprecations(&self) -> Vec<String> {
        [
            self.duration
                .as_ref()
                .and_then(|d| d.deprecation("duration", BareUnit::Hours)),
            self.step
                .as_ref()
                .and_then(|d| d.deprecation("step", BareUnit::Seconds)),
            self.resolution
                .as_ref()
                .and_then(|d| d.deprecation("resolution", BareUnit::Seconds)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The run options of a spec on a scenario.
pub fn options(sc: &Scenario, a: &SiteSpec) -> Result<RunOptions> {
    let mut o = RunOptions::from_scenario(sc);
    if let Some(d) = &a.duration {
        let h = d.parse("duration", BareUnit::Hours)?.h();
        o.duration = Time::from_h(positive("duration", h)?);
    }
    if let Some(d) = &a.step {
        let s = d.parse("step", BareUnit::Seconds)?.s();
        o.step = Time::from_s(positive("step", s)?);
        o.resolution = o.resolution.max(o.step);
    }
    if let Some(d) = &a.resolution {
        let r = d.parse("resolution", BareUnit::Seconds)?.s();
        o.resolution = Time::from_s(positive("resolution", r)?);
    }
    if let Some(s) = a.seed {
        o.seed = s;
    }
    o.keep_series = a.keep_series;
    start(sc, a)?;
    Ok(o)
}

/// The calendar start of a spec's run on a scenario: its `start`, or the default start on
/// the scenario's `start_day_of_year`.
pub fn start(sc: &Scenario, a: &SiteSpec) -> Result<Start> {
    Start::or_default(a.start.as_deref(), sc.simulation.start_day_of_year)
}

/// The files of a simulation (`--out`): `timeseries.csv` and `timeseries.parquet` (one
/// [`crate::table::SiteRow`] per output interval, timed from the spec's start) and
/// `summary.json` (the KPIs, as `--json` prints them).
pub fn artifacts(sc: &Scenario, a: &SiteSpec, r: &SimResult) -> Result<Vec<Artifact>> {
    let start = start(sc, a)?;
    let mut out: Vec<Artifact> = table("timeseries", site_rows(&r.series, &start))?.into();
    let json = serde_json::to_vec_pretty(&r.kpis)
        .map_err(|e| Error::internal(format!("cannot serialise: {e}")))?;
    out.push(Artifact::new("summary.json", json));
    Ok(out)
}

/// The file of a reliability Monte Carlo (`--out`): `reliability.json`.
pub fn reliability_artifacts(rel: &Reliability) -> Result<Vec<Artifact>> {
    let json = serde_json::to_vec_pretty(rel)
        .map_err(|e| Error::internal(format!("cannot serialise: {e}")))?;
    Ok(vec![Artifact::new("reliability.json", json)])
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

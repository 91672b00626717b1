//! The run job: one scenario from token to grid.
//!
//! Stages, each feeding the next: request estimate (per service) -> serving fleet (simulated
//! replicas, scaled) -> the site, whose inference load becomes the fleets' power -> optional
//! LP optimization of the site -> report model and files ([`artifacts`]).

pub mod capital;
pub mod fleet;
pub mod headline;
pub mod report;
pub mod scenario;
pub mod summary;
pub mod uncertainty;

use std::time::Instant;

use wattage_catalog::Catalog;
use wattage_request::uncertainty::{McResult, Uncertainty, monte_carlo};
use wattage_request::{Assumptions, Deployment, Estimate, Method, Request, Scope, estimate};
use wattage_site::{RunOptions, Scenario, SimResult};
use wattage_units::Time;

use crate::calendar::Start;
use crate::error::{Error, Location, Result, request_error};
use crate::io::Progress;
use crate::locate::TomlDoc;
use crate::optimize::OptimizeSummary;
use crate::spec::ReplicaSpec;
use crate::table::{Artifact, SiteRow, site_rows, table};
pub use fleet::{Fleet, PROFILE_STEP_S};
pub use scenario::{Loaded, RunScenario, Service, load};
pub use summary::RunSummary;
pub use uncertainty::RunUncertainty;

/// One service's results.
#[derive(Debug, Clone)]
pub struct ServiceResult {
    /// As configured.
    pub service: Service,
    /// The replica.
    pub deployment: Deployment,
    /// Assumptions of the estimate.
    pub assumptions: Assumptions,
    /// Region used for the estimate.
    pub region: wattage_catalog::Region,
    /// Steady-state estimate at the fleet's mean batch (facility scope).
    pub estimate: Estimate,
    /// Its Monte Carlo range.
    pub mc: McResult,
    /// Seed 003's flat 10% method on the same model and hardware (facility scope).
    pub flat: Estimate,
    /// The fleet.
    pub fleet: Fleet,
}

/// Everything a run computed.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The scenario.
    pub loaded: Loaded,
    /// The site scenario with the fleets' load in place.
    pub site: Scenario,
    /// Services.
    pub services: Vec<ServiceResult>,
    /// The site over the whole horizon.
    pub year: SimResult,
    /// One day second by second.
    pub day: SimResult,
    /// The optimizer's result, if asked for.
    pub optimized: Option<OptimizeSummary>,
    /// Ranges of the totals and the sensitivity of each factor (`None` with 0 samples).
    pub uncertainty: Option<RunUncertainty>,
    /// Wall time of each stage, s (reporting only).
    pub timings: Vec<(&'static str, f64)>,
}

impl RunResult {
    /// Facility-to-IT energy ratio the site simulation found (its effective PUE).
    pub fn site_pue(&self) -> f64 {
        let u = &self.year.kpis.energy_mwh_by_use;
        let it = u.inference_it + u.training_it;
        if it > 0.0 {
            (it + u.facility_overhead) / it
        } else {
            1.0
        }
    }

    /// The headline table (report, text summary, `summary.json`).
    pub fn headlines(&self) -> headline::Headlines {
        headline::build(self)
    }

    /// The run's numbers, as `summary.json`.
    pub fn summary(&self) -> RunSummary {
        summary::build(self)
    }
}

/// A service's field for a replica parameter, as the service writes it.
fn service_field<'a>(sv: &Service, param: &'a str) -> &'a str {
    match param {
        "tensor_parallel_size" | "gpus" if sv.gpus_per_replica.is_some() => "gpus_per_replica",
        "gpus" => "tensor_parallel_size",
        p => p,
    }
}

/// Every service's deployment, resolved before any simulation: a typo in the last service
/// should not wait for the others' fleets. Errors point at the service's field in the file.
pub fn deployments(cat: &Catalog, loaded: &Loaded) -> Result<Vec<Deployment>> {
    let cat = loaded.catalog(cat);
    loaded
        .scenario
        .service
        .iter()
        .enumerate()
        .map(|(i, sv)| {
            ReplicaSpec {
                model: sv.model.clone(),
                hardware: sv.hardware.clone(),
                tensor_parallel_size: sv.tensor_parallel_size(),
                data_parallel_size: sv.data_parallel_size,
                enable_expert_parallel: sv.enable_expert_parallel,
                precision: sv.precision.clone(),
                kv_cache_dtype: sv.kv_cache_dtype.clone(),
            }
            .resolve(&cat)
            .map_err(|e| {
                let field = match &e.location {
                    Location::Param { name } => service_field(sv, name).to_string(),
                    _ => "model".to_string(),
                };
                let hints = e.hints.clone();
                let mut err = match TomlDoc::parse(&loaded.origin, &loaded.text) {
                    Ok(doc) => doc.error(
                        &format!("service[{i}].{field}"),
                        &format!("service `{}`: {}", sv.name, e.message),
                    ),
                    Err(_) => Error::input(format!(
                        "`{}`: service `{}`: {}",
                        loaded.origin, sv.name, e.message
                    )),
                };
                let key = service_field(sv, "tensor_parallel_size");
                err.hints = hints
                    .into_iter()
                    .map(|h| h.replace("`{tensor_parallel_size}`", &format!("`{key}`")))
                    .collect();
                err
            })
        })
        .collect()
}

/// Runs every stage of a loaded scenario.
pub fn execute(cat: &Catalog, loaded: Loaded, progress: &dyn Progress) -> Result<RunResult> {
    admit(&loaded, progress)?;
    for w in loaded.deprecations() {
        progress.warn(&w);
    }
    let sc = &loaded.scenario;
    let seed = sc.serving_seed();
    let region = cat.region(&sc.region).map_err(Error::from)?.clone();
    let mut timings = Vec::new();
    let deployments = deployments(cat, &loaded)?;

    // Request and fleet, per service.
    let t0 = Instant::now();
    let mut services = Vec::new();
    for (sv, d) in sc.service.iter().zip(deployments) {
        let a = Assumptions::for_region(&region).for_hardware(&d.hardware);
        let flat = estimate(
            &d,
            &Request {
                input_tokens: sv.input_tokens,
                output_tokens: sv.output_tokens,
                batch: 1.0,
            },
            &a,
            Method::Epoch,
            Scope::Facility,
        )
        .map_err(request_error)?;
        let flat_server = flat.breakdown.at(Scope::Server).wh();
        progress.stage(&format!("serving fleet `{}`", sv.name));
        let fl = fleet::derive(&d, sv, seed, flat_server, &mut |m| progress.message(m))?;
        progress.end_stage();
        let batch = mean_batch(&fl);
        let req = Request {
            input_tokens: sv.input_tokens,
            output_tokens: sv.output_tokens,
            batch,
        };
        let est =
            estimate(&d, &req, &a, Method::Roofline, Scope::Facility).map_err(request_error)?;
        let mc = monte_carlo(
            &d,
            &req.fit_batch(&d),
            &a,
            &Uncertainty::for_deployment(&a, Method::Roofline, &d),
            Method::Roofline,
            Scope::Facility,
            20_000,
            seed,
        )
        .map_err(request_error)?;
        services.push(ServiceResult {
            service: sv.clone(),
            deployment: d,
            assumptions: a,
            region: region.clone(),
            estimate: est,
            mc,
            flat,
            fleet: fl,
        });
    }
    timings.push(("request and fleet", t0.elapsed().as_secs_f64()));

    // The site (the run's overrides and seed already applied, see `scenario::load`), with
    // the fleets' server power as its inference load.
    let mut site = loaded.site.clone();
    let bins_per_day = services[0].fleet.day_server_w.len();
    let day_mw: Vec<f64> = (0..bins_per_day)
        .map(|i| {
            services
                .iter()
                .map(|s| s.fleet.day_server_w[i])
                .sum::<f64>()
                / 1e6
        })
        .collect();
    let days = (site.simulation.duration.s() / 86_400.0).ceil().max(1.0) as usize;
    let series: Vec<f64> = (0..days).flat_map(|_| day_mw.iter().copied()).collect();
    site.set_inference_series(loaded.load_index, Time::from_s(PROFILE_STEP_S), series)
        .map_err(|e| loaded.site_error(&e))?;

    let t1 = Instant::now();
    progress.stage("site, whole horizon");
    let opts = RunOptions::from_scenario(&site);
    let year = wattage_site::simulate_with_progress(&site, &opts, &mut |done, total| {
        progress.advance(done, total)
    })
    .map_err(|e| loaded.site_error(&e))?;
    progress.end_stage();
    timings.push(("site, whole horizon", t1.elapsed().as_secs_f64()));

    let uncertainty = if sc.uncertainty.samples > 0 {
        let t = Instant::now();
        progress.stage("uncertainty: sensitivity and Monte Carlo");
        let u = uncertainty::analyse(&uncertainty::Inputs {
            site: &site,
            load_index: loaded.load_index,
            services: &services,
            central: &year.kpis,
            samples: sc.uncertainty.samples,
            seed,
        })?;
        progress.end_stage();
        timings.push(("uncertainty", t.elapsed().as_secs_f64()));
        Some(u)
    } else {
        None
    };

    let t2 = Instant::now();
    // The zoomed day: a one-day run starting on day `zoom_day` of the year, which sets the
    // season of the solar and temperature models (both count 1 as 1 January).
    let mut day_site = site.clone();
    day_site.simulation.start_day_of_year = sc.site.zoom_day;
    let day_opts = RunOptions {
        duration: Time::from_days(1.0),
        step: site.simulation.step.min(Time::from_s(1.0)),
        resolution: Time::from_s(10.0).max(site.simulation.step),
        ..RunOptions::from_scenario(&day_site)
    };
    let day = wattage_site::simulate(&day_site, &day_opts).map_err(|e| loaded.site_error(&e))?;
    timings.push(("site, one day", t2.elapsed().as_secs_f64()));

    let optimized = if sc.optimize.enabled {
        let t3 = Instant::now();
        progress.stage("optimizing the site design (LP)");
        let v = optimize_site(&site, sc)?;
        progress.end_stage();
        timings.push(("optimization", t3.elapsed().as_secs_f64()));
        Some(v)
    } else {
        None
    };

    Ok(RunResult {
        loaded,
        site,
        services,
        year,
        day,
        optimized,
        uncertainty,
        timings,
    })
}

/// Checks the run's size against the work limits before anything runs: the site's steps
/// over the whole horizon and, with `[optimize]`, the LP's columns and its check's steps.
pub fn admit(loaded: &Loaded, progress: &dyn Progress) -> Result<()> {
    use crate::limits::{Work, admit, count};
    let site = &loaded.site;
    let o = RunOptions::from_scenario(site);
    admit(
        Work::SiteSteps,
        crate::site::steps(&o, 1),
        "`site.duration_h` / `site.step_s`",
        loaded.max_work,
        progress,
    )?;
    let samples = loaded.scenario.uncertainty.samples;
    if samples > 0 {
        admit(
            Work::SiteSteps,
            uncertainty::runs(samples)
                .saturating_mul(count(o.duration.s() / uncertainty::step_of(site).s())),
            &format!(
                "(`uncertainty.samples` + 7 runs of the sensitivity pass) x `site.duration_h` / {} s",
                uncertainty::step_of(site).s()
            ),
            loaded.max_work,
            progress,
        )?;
    }
    let opt = &loaded.scenario.optimize;
    if opt.enabled {
        let horizon_s = opt.duration_h.map_or(o.duration.s(), |h| h * 3600.0);
        let steps = count(horizon_s / (opt.step_h * 3600.0));
        let per_step = 3
            + 2 * site.turbines.len()
            + 3 * site.batteries.len()
            + site.solar.len()
            + site.miners.len();
        admit(
            Work::LpColumns,
            steps.saturating_mul(per_step as u64),
            "`optimize.duration_h` / `optimize.step_h`",
            loaded.max_work,
            progress,
        )?;
        admit(
            Work::SiteSteps,
            count(horizon_s / o.step.s()),
            "the optimizer's check: `optimize.duration_h` / `site.step_s`",
            loaded.max_work,
            progress,
        )?;
    }
    Ok(())
}

/// The LP over the site (the design as it stands, extended where typical), with the
/// rule-based dispatch's cost on the optimal design beside it.
fn optimize_site(site: &Scenario, sc: &RunScenario) -> Result<OptimizeSummary> {
    use wattage_optimize::{
        ConvertOptions, Expansion, OptimizeOptions, SiteProblem, design_of, optimize_with,
    };
    let ex = Expansion::typical(site);
    let co = ConvertOptions {
        step: Time::from_h(sc.optimize.step_h),
        duration: sc.optimize.duration_h.map(Time::from_h),
        probe_step: None,
    };
    let p = SiteProblem::from_scenario(site, &ex, &co)
        .map_err(|e| Error::input(format!("optimizing the site: {e}")))?;
    let solver = crate::optimize::solver_param(sc.optimize.solver.as_deref())?;
    let s = optimize_with(&p, &OptimizeOptions::default(), solver)
        .map_err(|e| Error::input(format!("optimizing the site: {e}")))?;
    let design = design_of(site, &s);
    // The rule-based check at the site's own step over the LP's horizon.
    let check = crate::optimize::check_run(site, &p, &s, &design, site.simulation.step)?;
    Ok(crate::optimize::summarize(
        site,
        &p,
        &s,
        &design,
        Some(check),
        solver,
    ))
}

/// Mean batch over the simulated load levels (the batch of the steady-state estimate).
pub fn mean_batch(f: &Fleet) -> f64 {
    (f.levels
        .iter()
        .map(|l| l.summary.mean_batch_size)
        .sum::<f64>()
        / f.levels.len().max(1) as f64)
        .max(1.0)
}

/// One interval of a fleet's day, per service (`fleet_day.csv`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetRow {
    /// Service name.
    pub service: String,
    /// Start of the interval, seconds after midnight.
    pub time_of_day_s: f64,
    /// Fleet arrival rate.
    pub requests_per_s: f64,
    /// Replicas running.
    pub replicas_running: u32,
    /// Fleet server power, MW.
    pub server_power_mw: f64,
}

impl RunResult {
    /// The fleets over the day, one row per interval and service.
    pub fn fleet_day(&self) -> Vec<FleetRow> {
        let mut rows = Vec::new();
        for (i, _) in self.services[0].fleet.day_server_w.iter().enumerate() {
            for s in &self.services {
                rows.push(FleetRow {
                    service: s.service.name.clone(),
                    time_of_day_s: i as f64 * PROFILE_STEP_S,
                    requests_per_s: s.fleet.day_requests[i] / PROFILE_STEP_S,
                    replicas_running: s.fleet.day_replicas[i],
                    server_power_mw: s.fleet.day_server_w[i] / 1e6,
                });
            }
        }
        rows
    }
}

/// The site's series as `simulate site` writes them (`timeseries`, `timeseries_day`;
/// docs/outputs.md): the horizon from the default start on the site's first day, the zoomed
/// day from the same year's `zoom_day`.
pub fn timeseries(r: &RunResult) -> Result<(Vec<SiteRow>, Vec<SiteRow>)> {
    let year_start = Start::or_default(None, r.site.simulation.start_day_of_year)?;
    let day_start = Start::or_default(None, r.loaded.scenario.site.zoom_day)?;
    Ok((
        site_rows(&r.year.series, &year_start),
        site_rows(&r.day.series, &day_start),
    ))
}

/// Every file of a run's output folder: the report and its charts (SVG and PNG),
/// `summary.json`, and the site's, the fleets' and the requests' tables (CSV and Parquet).
pub fn artifacts(r: &RunResult, summary: &RunSummary) -> Result<Vec<Artifact>> {
    let render = |what: &str, e: wattage_report::ReportError| {
        Error::internal(format!("rendering {what}: {e}"))
    };
    let mut out = Vec::new();
    let rep = report::build(r)?;
    let html = wattage_report::render_html(&rep).map_err(|e| render("the report", e))?;
    out.push(Artifact::new("report.html", html));
    for c in rep.charts() {
        let svg = wattage_report::render_svg(c).map_err(|e| render("a chart", e))?;
        let png = wattage_report::svg_to_png(&svg, &wattage_report::Fonts::system(), 1.5)
            .map_err(|e| render("a PNG chart", e))?;
        out.push(Artifact::new(format!("charts/{}.svg", c.id), svg));
        out.push(Artifact::new(format!("charts/{}.png", c.id), png));
    }
    let json = serde_json::to_string_pretty(summary)
        .map_err(|e| Error::internal(format!("cannot serialise the summary: {e}")))?;
    out.push(Artifact::new("summary.json", json + "\n"));
    let (year, day) = timeseries(r)?;
    out.extend(table("timeseries", year)?);
    out.extend(table("timeseries_day", day)?);
    out.extend(table("fleet_day", r.fleet_day())?);
    for s in &r.services {
        if let Some(recs) = &s.fleet.peak.records {
            out.extend(table(&format!("requests_{}", s.service.name), recs)?);
        }
    }
    Ok(out)
}

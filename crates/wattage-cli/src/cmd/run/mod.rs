//! `wattage run` and `wattage compare`: one scenario from token to grid.
//!
//! Stages, each feeding the next: request estimate (per service) -> serving fleet (simulated
//! replicas, scaled) -> the site, whose inference load becomes the fleets' power -> optional
//! LP optimization of the site -> report and files.

mod fleet;
mod report;
pub mod scenario;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use wattage_catalog::{Catalog, Precision};
use wattage_request::uncertainty::{McResult, Uncertainty, monte_carlo};
use wattage_request::{Assumptions, Deployment, Estimate, Method, Request, Scope, estimate};
use wattage_site::{RunOptions, Scenario, SimResult};
use wattage_units::Time;

use crate::cmd::estimate::{lookup, request_error};
use crate::columnar::write_table;
use crate::common::{Global, out, out_json, user};
use fleet::{Fleet, PROFILE_STEP_S};
use scenario::{Loaded, Service};

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

/// One service's results.
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
    pub optimized: Option<Value>,
    /// Wall time of each stage, s.
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
}

fn spinner(g: &Global, msg: &str) -> ProgressBar {
    if !g.progress() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

fn bar(g: &Global, msg: &str) -> ProgressBar {
    if !g.progress() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(1);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg.to_string());
    pb
}

/// A service's deployment: its model on its hardware, on the GPUs it asks for or the fewest
/// that hold the weights.
fn deployment(cat: &Catalog, sv: &Service, origin: &str) -> anyhow::Result<Deployment> {
    let model = lookup(cat.model(&sv.model), "models")?;
    let hw = lookup(cat.hardware(&sv.hardware), "hardware")?;
    let precision: Option<Precision> = match &sv.precision {
        Some(p) => Some(
            p.parse()
                .map_err(|e: String| user(format!("`{origin}`: service `{}`: {e}", sv.name)))?,
        ),
        None => None,
    };
    let gpus = match sv.gpus_per_replica {
        Some(n) => n,
        None => match Deployment::new(model, hw, 1, precision) {
            Ok(_) => 1,
            Err(wattage_request::EstimateError::DoesNotFit { min_gpus, .. }) => min_gpus,
            Err(e) => return Err(request_error(e)),
        },
    };
    Deployment::new(model, hw, gpus, precision)
        .map_err(|e| user(format!("`{origin}`: service `{}`: {e}", sv.name)))
}

/// Runs every stage of a loaded scenario.
pub fn execute(g: &Global, loaded: Loaded) -> anyhow::Result<RunResult> {
    let cat = g.catalog()?;
    let sc = &loaded.scenario;
    let seed = sc.serving_seed();
    let region = lookup(cat.region(&sc.region), "regions")?.clone();
    let mut timings = Vec::new();

    // Every service's model, hardware and fit first: a typo in the last service should not
    // wait for the others' fleet simulations.
    let deployments = sc
        .service
        .iter()
        .map(|sv| deployment(&cat, sv, &loaded.origin))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Request and fleet, per service.
    let t0 = Instant::now();
    let mut services = Vec::new();
    for (sv, d) in sc.service.iter().zip(deployments) {
        let a = Assumptions::for_region(&region);
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
        let pb = spinner(g, &format!("serving fleet `{}`", sv.name));
        let fl = fleet::derive(&d, sv, seed, flat_server, &mut |m| {
            pb.set_message(m.to_string())
        })?;
        pb.finish_and_clear();
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
            &req,
            &a,
            &Uncertainty::defaults(&a, Method::Roofline),
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
    let pb = bar(g, "site, whole horizon");
    let opts = RunOptions::from_scenario(&site);
    let year = wattage_site::simulate_with_progress(&site, &opts, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(|e| loaded.site_error(&e))?;
    pb.finish_and_clear();
    timings.push(("site, whole horizon", t1.elapsed().as_secs_f64()));

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
        let pb = spinner(g, "optimizing the site design (LP)");
        let v = optimize_site(&site, sc)?;
        pb.finish_and_clear();
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
        timings,
    })
}

/// The LP over the site (the design as it stands, extended where typical), with the
/// rule-based dispatch's cost on the optimal design beside it.
fn optimize_site(site: &Scenario, sc: &scenario::RunScenario) -> anyhow::Result<Value> {
    use wattage_optimize::{
        ConvertOptions, Expansion, OptimizeOptions, SiteProblem, design_of, optimize,
    };
    let ex = Expansion::typical(site);
    let co = ConvertOptions {
        step: Time::from_h(sc.optimize.step_h),
        duration: sc.optimize.duration_h.map(Time::from_h),
        probe_step: None,
    };
    let p = SiteProblem::from_scenario(site, &ex, &co)
        .map_err(|e| user(format!("optimizing the site: {e}")))?;
    let s = optimize(&p, &OptimizeOptions::default())
        .map_err(|e| user(format!("optimizing the site: {e}")))?;
    let design = design_of(site, &s);
    // The rule-based check at the site's own step over the LP's horizon.
    let check = crate::cmd::optimize::check_run(site, &p, &s, &design, site.simulation.step)?;
    let sm = crate::cmd::optimize::summarize(site, &p, &s, &design, Some(check));
    Ok(serde_json::to_value(sm)?)
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    if a.print_default {
        out(scenario::DEFAULT.trim_end());
        return Ok(());
    }
    let loaded = scenario::load(a.scenario.as_deref())?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join(&loaded.scenario.name));
    let r = execute(g, loaded)?;
    let summary = summary_json(&r);
    let pb = spinner(g, "writing the report");
    write_outputs(&dir, &r, &summary)?;
    pb.finish_and_clear();
    if a.json {
        return out_json(&summary);
    }
    print_summary(&r, &dir);
    Ok(())
}

/// Writes the output folder: into a temporary folder beside it, renamed at the end, so a
/// failure leaves no partial folder and an old folder is replaced whole.
fn write_outputs(dir: &Path, r: &RunResult, summary: &Value) -> anyhow::Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir_all(tmp.join("charts"))?;
        let rep = report::build(r, summary)?;
        let html = wattage_report::render_html(&rep).context("rendering the report")?;
        std::fs::write(tmp.join("report.html"), html)?;
        for c in rep.charts() {
            let svg = wattage_report::render_svg(c).context("rendering a chart")?;
            std::fs::write(tmp.join("charts").join(format!("{}.svg", c.id)), &svg)?;
            let png = wattage_report::svg_to_png(&svg, &wattage_report::Fonts::system(), 1.5)
                .context("rendering a PNG chart")?;
            std::fs::write(tmp.join("charts").join(format!("{}.png", c.id)), png)?;
        }
        std::fs::write(
            tmp.join("summary.json"),
            serde_json::to_string_pretty(summary)? + "\n",
        )?;
        write_table(&tmp, "site_series", &r.year.series)?;
        write_table(&tmp, "site_day_series", &r.day.series)?;
        let mut fleet_rows = Vec::new();
        for (i, _) in r.services[0].fleet.day_server_w.iter().enumerate() {
            for s in &r.services {
                fleet_rows.push(FleetRow {
                    service: s.service.name.clone(),
                    time_of_day_s: i as f64 * PROFILE_STEP_S,
                    requests_per_s: s.fleet.day_requests[i] / PROFILE_STEP_S,
                    replicas_running: s.fleet.day_replicas[i],
                    server_power_mw: s.fleet.day_server_w[i] / 1e6,
                });
            }
        }
        write_table(&tmp, "fleet_day", &fleet_rows)?;
        for s in &r.services {
            if let Some(recs) = &s.fleet.peak.records {
                write_table(&tmp, &format!("requests_{}", s.service.name), recs)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e.context(format!(
            "cannot write the output folder `{}`",
            dir.display()
        )));
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace `{}`", dir.display()))?;
    }
    std::fs::rename(&tmp, dir).with_context(|| format!("cannot write `{}`", dir.display()))?;
    Ok(())
}

#[derive(serde::Serialize)]
struct FleetRow {
    service: String,
    time_of_day_s: f64,
    requests_per_s: f64,
    replicas_running: u32,
    server_power_mw: f64,
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

/// Rounds to 6 significant digits so summaries are stable across platforms' last bits.
fn r6(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let mag = v.abs().log10().floor() as i32;
    let k = 10f64.powi(5 - mag);
    (v * k).round() / k
}

/// The run's numbers, as `summary.json`.
pub fn summary_json(r: &RunResult) -> Value {
    let k = &r.year.kpis;
    let pue = r.site_pue();
    let services: Vec<Value> = r
        .services
        .iter()
        .map(|s| {
            let f = &s.fleet;
            let e = &s.estimate;
            let server_wh = f.server_wh_per_request();
            json!({
                "name": s.service.name,
                "model": s.deployment.model.id,
                "model_is_estimate": s.deployment.model.estimate,
                "hardware": s.deployment.hardware.id,
                "gpus_per_replica": s.deployment.gpus,
                "precision": s.deployment.weight_precision.as_str(),
                "requests_per_day": s.service.requests_per_day,
                "request": {
                    "batch": r6(mean_batch(&s.fleet)),
                    "energy_wh": r6(e.energy.wh()),
                    "low_wh": r6(s.mc.energy_wh.p5),
                    "high_wh": r6(s.mc.energy_wh.p95),
                    "gpu_wh": r6(e.breakdown.gpu.wh()),
                    "host_wh": r6(e.breakdown.host.wh()),
                    "reserve_wh": r6(e.breakdown.reserve.wh()),
                    "facility_overhead_wh": r6(e.breakdown.facility_overhead.wh()),
                    "ttft_ms": r6(e.ttft.ms()),
                    "decode_step_ms": r6(e.decode_step.ms()),
                    "co2e_g": r6(e.co2e.g()),
                    "water_ml": r6(e.water().ml()),
                    "flat_10pct_wh": r6(s.flat.energy.wh()),
                },
                "fleet": {
                    "method": match f.method { scenario::FleetMethod::Simulate => "simulate", scenario::FleetMethod::Flat => "flat" },
                    "replicas": f.replicas,
                    "autoscale": s.service.autoscale,
                    "replicas_running_min": f.day_replicas.iter().copied().min().unwrap_or(f.replicas),
                    "gpus": f.gpus(),
                    "capacity_requests_per_s_per_replica": r6(f.capacity_per_replica),
                    "mean_requests_per_s": r6(f.mean_rate),
                    "peak_requests_per_s": r6(f.peak_rate),
                    "mean_server_mw": r6(f.mean_server_w() / 1e6),
                    "peak_server_mw": r6(f.peak_server_w() / 1e6),
                    "server_wh_per_request": r6(server_wh),
                    "facility_wh_per_request": r6(server_wh * pue),
                    "annual_facility_gwh": r6(f.mean_server_w() * pue * 8760.0 / 1e9),
                    "peak_hour": {
                        "ttft_ms_p50": r6(f.peak.summary.ttft_ms_p50),
                        "ttft_ms_p99": r6(f.peak.summary.ttft_ms_p99),
                        "itl_ms_p50": r6(f.peak.summary.itl_ms_p50),
                        "itl_ms_p99": r6(f.peak.summary.itl_ms_p99),
                        "mean_batch_size": r6(f.peak.summary.mean_batch_size),
                        "compute_utilization": r6(f.peak.summary.compute_utilization),
                    },
                },
            })
        })
        .collect();
    let by_source = &k.energy_mwh_by_source;
    let by_use = &k.energy_mwh_by_use;
    json!({
        "scenario": r.loaded.scenario.name,
        "site_file": r.loaded.site_origin,
        "seed": {
            "serving": r.loaded.scenario.serving_seed(),
            "site": r.site.simulation.seed,
        },
        "services": services,
        "site": {
            "hours": r6(k.hours),
            "step_s": k.step_s,
            "energy_mwh_by_source": {
                "grid": r6(by_source.grid),
                "turbines": r6(by_source.turbines),
                "solar": r6(by_source.solar),
                "battery_discharge": r6(by_source.battery_discharge),
                "unserved": r6(by_source.unserved),
            },
            "energy_mwh_by_use": {
                "inference_it": r6(by_use.inference_it),
                "training_it": r6(by_use.training_it),
                "training_dummy_work": r6(by_use.training_dummy_work),
                "facility_overhead": r6(by_use.facility_overhead),
                "miners": r6(by_use.miners),
                "battery_charge": r6(by_use.battery_charge),
                "battery_losses": r6(by_use.battery_losses),
            },
            "effective_pue": r6(pue),
            "peak_facility_mw": r6(k.peak_facility_mw),
            "peak_grid_import_mw": r6(k.peak_grid_import_mw),
            "load_factor": r6(k.load_factor),
            "unserved_mwh": r6(k.unserved_mwh),
            "cost_usd": r6(k.cost_usd),
            "cost_usd_per_mwh": r6(k.cost_usd_per_mwh),
            "cost_usd_per_gpu_hour": r6(k.cost_usd_per_gpu_hour),
            "co2e_t": r6(k.co2e_t),
            "co2e_t_by_source": {
                "grid": r6(k.co2e_t_by_source.grid),
                "turbines": r6(k.co2e_t_by_source.turbines),
            },
            "water_m3": r6(k.water_m3),
            "water_fresh_m3": r6(k.water_fresh_m3),
            "battery_equivalent_cycles": r6(k.battery_equivalent_cycles),
            "ramp_violations": k.ramp_violations,
            "interruptions": k.interruptions,
            "gpu_hours_lost": r6(k.gpu_hours_lost),
            "miner_revenue_usd": r6(k.miner_revenue_usd),
            "max_balance_error_mw": k.max_balance_error_mw,
        },
        "optimized": r.optimized,
    })
}

fn print_summary(r: &RunResult, dir: &Path) {
    let k = &r.year.kpis;
    let title = r
        .loaded
        .scenario
        .title
        .clone()
        .unwrap_or_else(|| r.loaded.scenario.name.clone());
    out(title);
    for s in &r.services {
        let f = &s.fleet;
        out(format!(
            "  {} ({} on {} x {}): {:.3} Wh per request at the facility (steady-state estimate {:.3} Wh, p5-p95 {:.3}-{:.3}; flat 10% method {:.3} Wh)",
            s.service.name,
            s.deployment.model.id,
            s.deployment.gpus,
            s.deployment.hardware.id,
            f.server_wh_per_request() * r.site_pue(),
            s.estimate.energy.wh(),
            s.mc.energy_wh.p5,
            s.mc.energy_wh.p95,
            s.flat.energy.wh()
        ));
        out(format!(
            "    fleet: {} replicas ({} GPUs), {:.1} MW mean / {:.1} MW peak server power; peak hour p99 TTFT {:.0} ms, p99 ITL {:.1} ms, compute utilization {:.1}%",
            f.replicas,
            f.gpus(),
            f.mean_server_w() / 1e6,
            f.peak_server_w() / 1e6,
            f.peak.summary.ttft_ms_p99,
            f.peak.summary.itl_ms_p99,
            100.0 * f.peak.summary.compute_utilization
        ));
    }
    let s = &k.energy_mwh_by_source;
    out(format!(
        "  site over {:.0} h: {:.0} GWh (grid {:.0}, turbines {:.0}, solar {:.0}, battery {:.0}, unserved {:.2}); peak {:.0} MW",
        k.hours,
        (s.grid + s.turbines + s.solar + s.battery_discharge + s.unserved) / 1e3,
        s.grid / 1e3,
        s.turbines / 1e3,
        s.solar / 1e3,
        s.battery_discharge / 1e3,
        s.unserved,
        k.peak_facility_mw
    ));
    out(format!(
        "    cost ${:.1}M, {:.0} t CO2e, {:.0} m³ water ({:.0} m³ fresh), {} interruptions, {} ramp violations",
        k.cost_usd / 1e6,
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

/// Compares scenarios.
pub fn compare(g: &Global, a: CompareArgs) -> anyhow::Result<()> {
    // Every file is checked before the first run starts.
    let loaded = a
        .scenarios
        .iter()
        .map(|p| scenario::load(Some(p)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut runs = Vec::new();
    for l in loaded {
        let r = execute(g, l)?;
        let s = summary_json(&r);
        runs.push((r, s));
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("wattage-out").join("compare"));
    let named: Vec<wattage_report::NamedFigures> =
        runs.iter().map(|(r, _)| report::figures(r)).collect();
    let rep = wattage_report::comparison_report("wattage compare", &named)
        .context("building the comparison")?;
    let html = wattage_report::render_html(&rep).context("rendering the comparison")?;
    let summaries: Vec<&Value> = runs.iter().map(|(_, s)| s).collect();
    let json_text = serde_json::to_string_pretty(&summaries)? + "\n";
    crate::common::write_atomic(&dir.join("compare.html"), html.as_bytes())?;
    crate::common::write_atomic(&dir.join("compare.json"), json_text.as_bytes())?;
    if a.json {
        return out_json(&summaries);
    }
    report::print_comparison(&named);
    out(format!("  report: {}", dir.join("compare.html").display()));
    Ok(())
}

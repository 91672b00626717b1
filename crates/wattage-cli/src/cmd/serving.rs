//! `wattage simulate serving`: discrete-event simulation of a serving fleet, from flags or a
//! TOML file (`--config`); flags override the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;
use wattage_catalog::{Catalog, Precision};
use wattage_request::{Deployment, EstimateError, RooflineParams};
use wattage_serving::{
    ArrivalProcess, ClosedLoop, LengthDist, RateProfile, Router, SchedulerConfig, Scope,
    ScopeParams, SimConfig, SimOutput, Simulator, Slo, Summary, Synthetic, TraceOptions,
    TraceReplay, Workload, flat_estimate, parse_azure_str, plan_capacity,
};

use crate::columnar::write_table;
use crate::common::{Global, ReplicaArgs, UserError, out, out_json, read_text, user, write_atomic};

/// Arguments of `wattage simulate serving`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub replica: ReplicaArgs,
    /// A TOML file with any of the settings below (snake_case names); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Replicas in the fleet [default: 1]
    #[arg(long)]
    pub replicas: Option<u32>,
    /// Mean arrival rate, requests/s (with --trace: rescale the trace to this rate) [default: 2]
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of arrivals (with --trace: repeat the trace to fill them) [default: 600]
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many requests
    #[arg(long)]
    pub requests: Option<u64>,
    /// Closed loop: this many clients, each sending its next request when the last finishes
    #[arg(long)]
    pub clients: Option<u32>,
    /// Mean prompt tokens (lognormal) [default: 1000]
    #[arg(long = "input-tokens", visible_alias = "input")]
    pub input_tokens: Option<f64>,
    /// Mean output tokens (lognormal) [default: 300]
    #[arg(long = "output-tokens", visible_alias = "output")]
    pub output_tokens: Option<f64>,
    /// Coefficient of variation of prompt lengths [default: 1.0]
    #[arg(long = "input-cv")]
    pub input_cv: Option<f64>,
    /// Coefficient of variation of output lengths [default: 0.8]
    #[arg(long = "output-cv")]
    pub output_cv: Option<f64>,
    /// Burstiness: gamma inter-arrival gaps with this coefficient of variation (1 = Poisson)
    #[arg(long = "arrival-cv")]
    pub arrival_cv: Option<f64>,
    /// Daily cycle: ratio of peak to trough rate
    #[arg(long)]
    pub diurnal: Option<f64>,
    /// Replay a trace in the Azure LLM inference format (TIMESTAMP,ContextTokens,GeneratedTokens)
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Multiply the trace's gaps by this factor
    #[arg(long = "trace-scale")]
    pub trace_scale: Option<f64>,
    /// Scheduler: continuous or static [default: continuous]
    #[arg(long)]
    pub scheduler: Option<String>,
    /// Most concurrent sequences per replica (vLLM max_num_seqs) [default: 256]
    #[arg(long = "max-num-seqs", visible_alias = "batch")]
    pub max_num_seqs: Option<u32>,
    /// Most tokens per iteration (vLLM max_num_batched_tokens) [default: 8192]
    #[arg(long = "max-batched-tokens")]
    pub max_batched_tokens: Option<u32>,
    /// Turn chunked prefill off
    #[arg(long = "no-chunked-prefill")]
    pub no_chunked_prefill: bool,
    /// Router: round-robin, least-outstanding or join-shortest-queue [default: least-outstanding]
    #[arg(long)]
    pub router: Option<String>,
    /// Energy boundary of the headline figures: gpu, server or facility [default: facility]
    #[arg(long)]
    pub scope: Option<String>,
    /// Power usage effectiveness for the facility scope [default: 1.2]
    #[arg(long)]
    pub pue: Option<f64>,
    /// Power series resolution, s [default: 1]
    #[arg(long = "power-resolution")]
    pub power_resolution: Option<f64>,
    /// Capacity planning: p99 time-to-first-token objective, ms (with --slo-itl-ms)
    #[arg(long = "slo-ttft-ms")]
    pub slo_ttft_ms: Option<f64>,
    /// Capacity planning: p99 inter-token latency objective, ms (with --slo-ttft-ms)
    #[arg(long = "slo-itl-ms")]
    pub slo_itl_ms: Option<f64>,
    /// Capacity planning: largest fleet to try [default: 4096]
    #[arg(long = "max-replicas")]
    pub max_replicas: Option<u32>,
    /// Seed of the random stream [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write requests and power as CSV and Parquet, and summary.json, into this directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

/// The `--config` file: the flags' settings, plus the library's own tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    model: Option<String>,
    hardware: Option<String>,
    gpus: Option<u32>,
    precision: Option<String>,
    replicas: Option<u32>,
    seed: Option<u64>,
    rate_per_s: Option<f64>,
    duration_s: Option<f64>,
    requests: Option<u64>,
    clients: Option<u32>,
    think_time_s: Option<f64>,
    input: Option<LengthDist>,
    output: Option<LengthDist>,
    arrivals: Option<ArrivalProcess>,
    profile: Option<RateProfile>,
    trace: Option<PathBuf>,
    trace_options: Option<TraceOptions>,
    scheduler: Option<SchedulerConfig>,
    router: Option<Router>,
    block_size: Option<u32>,
    scope: Option<Scope>,
    scope_params: Option<ScopeParams>,
    power_resolution_s: Option<f64>,
    roofline: Option<RooflineParams>,
    slo: Option<Slo>,
    max_replicas: Option<u32>,
}

fn load_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = read_text(path)?;
    toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| wattage_catalog::line_col(&text, s.start))
            .unwrap_or((1, 1));
        let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        user(format!(
            "`{}`:{line}:{col}: {}\n  {src}\n  {}^",
            path.display(),
            e.message(),
            " ".repeat(col.saturating_sub(1))
        ))
    })
}

fn parse_router(s: &str) -> anyhow::Result<Router> {
    match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "round-robin" | "rr" => Ok(Router::RoundRobin),
        "least-outstanding" | "lor" => Ok(Router::LeastOutstanding),
        "join-shortest-queue" | "jsq" => Ok(Router::JoinShortestQueue),
        _ => Err(user(format!(
            "invalid `--router` `{s}`: expected round-robin, least-outstanding or join-shortest-queue"
        ))),
    }
}

fn parse_scope(s: &str) -> anyhow::Result<Scope> {
    match s.trim().to_ascii_lowercase().as_str() {
        "gpu" => Ok(Scope::Gpu),
        "server" => Ok(Scope::Server),
        "facility" => Ok(Scope::Facility),
        _ => Err(user(format!(
            "invalid `--scope` `{s}`: expected gpu, server or facility"
        ))),
    }
}

fn deployment(
    cat: &Catalog,
    model: &str,
    hw: &str,
    gpus: Option<u32>,
    precision: Option<&str>,
) -> anyhow::Result<Deployment> {
    let m = cat.model(model).map_err(|e| user(e.to_string()))?;
    let h = cat.hardware(hw).map_err(|e| user(e.to_string()))?;
    let p = precision
        .map(|s| {
            s.parse::<Precision>()
                .map_err(|e| user(format!("invalid `--precision`: {e}")))
        })
        .transpose()?;
    match Deployment::new(m, h, gpus.unwrap_or(1), p) {
        Ok(d) => Ok(d),
        Err(EstimateError::DoesNotFit { min_gpus, .. }) if gpus.is_none() => {
            Deployment::new(m, h, min_gpus, p).map_err(|e| user(e.to_string()))
        }
        Err(e) => Err(UserError::new(e.to_string())
            .hint("`wattage catalog hardware` lists accelerators and their memory")
            .into()),
    }
}

/// Everything resolved from the flags and the file.
struct Plan {
    deployment: Deployment,
    params: RooflineParams,
    cfg: SimConfig,
    workload: Workload,
    seed: u64,
    slo: Option<Slo>,
    max_replicas: u32,
    expected_end_s: Option<f64>,
    expected_requests: Option<u64>,
}

fn resolve(g: &Global, a: &Args) -> anyhow::Result<Plan> {
    let f = match &a.config {
        Some(p) => load_config(p)?,
        None => ConfigFile::default(),
    };
    let cat = g.catalog()?;
    let model = a
        .replica
        .model
        .clone()
        .or(f.model.clone())
        .unwrap_or_else(|| "llama-3.1-70b".into());
    let hw = a
        .replica
        .hardware
        .clone()
        .or(f.hardware.clone())
        .unwrap_or_else(|| "h100".into());
    let d = deployment(
        &cat,
        &model,
        &hw,
        a.replica.gpus.or(f.gpus),
        a.replica.precision.as_deref().or(f.precision.as_deref()),
    )?;
    let mut scheduler = f.scheduler.unwrap_or_default();
    if let Some(s) = &a.scheduler {
        scheduler = match s.trim().to_ascii_lowercase().as_str() {
            "continuous" => SchedulerConfig::default(),
            "static" => SchedulerConfig::Static { batch_size: 256 },
            _ => {
                return Err(user(format!(
                    "invalid `--scheduler` `{s}`: expected continuous or static"
                )));
            }
        };
    }
    match &mut scheduler {
        SchedulerConfig::Continuous {
            max_num_seqs,
            max_batched_tokens,
            chunked_prefill,
        } => {
            if let Some(v) = a.max_num_seqs {
                *max_num_seqs = v;
            }
            if let Some(v) = a.max_batched_tokens {
                *max_batched_tokens = v;
            }
            if a.no_chunked_prefill {
                *chunked_prefill = false;
            }
        }
        SchedulerConfig::Static { batch_size } => {
            if let Some(v) = a.max_num_seqs {
                *batch_size = v;
            }
        }
    }
    let mut scope_params = f.scope_params.unwrap_or_default();
    if let Some(p) = a.pue {
        scope_params.pue = p;
    }
    let scope = match &a.scope {
        Some(s) => parse_scope(s)?,
        None => f.scope.unwrap_or(Scope::Facility),
    };
    let router = match &a.router {
        Some(s) => parse_router(s)?,
        None => f.router.unwrap_or_default(),
    };
    let cfg = SimConfig {
        replicas: a.replicas.or(f.replicas).unwrap_or(1),
        scheduler,
        router,
        block_size: f.block_size.unwrap_or(16),
        power_resolution_s: a.power_resolution.or(f.power_resolution_s).unwrap_or(1.0),
        record_requests: a.out.is_some(),
        spread_idle: true,
        scope,
        scope_params,
    };
    let lognormal =
        |mean: Option<f64>, cv: Option<f64>, dflt: f64, dcv: f64| LengthDist::Lognormal {
            mean: mean.unwrap_or(dflt),
            cv: cv.unwrap_or(dcv),
        };
    let input = match (a.input_tokens, a.input_cv, &f.input) {
        (None, None, Some(d)) => d.clone(),
        (m, cv, _) => lognormal(m, cv, 1000.0, 1.0),
    };
    let output = match (a.output_tokens, a.output_cv, &f.output) {
        (None, None, Some(d)) => d.clone(),
        (m, cv, _) => lognormal(m, cv, 300.0, 0.8),
    };
    let rate = a.rate.or(f.rate_per_s);
    let duration = a.duration.or(f.duration_s);
    let requests = a.requests.or(f.requests);
    let trace_path = a.trace.clone().or(f.trace.clone());
    let clients = a.clients.or(f.clients);
    let expected_end_s;
    let mut expected_requests = requests;
    let workload = if let Some(path) = trace_path {
        if clients.is_some() {
            return Err(user("`--trace` and `--clients` cannot be combined"));
        }
        let text = read_text(&path)?;
        let records =
            parse_azure_str(&text).map_err(|e| user(format!("`{}`: {e}", path.display())))?;
        let mut o = f.trace_options.unwrap_or_default();
        if let Some(s) = a.trace_scale {
            o.time_scale = Some(s);
        }
        if let Some(r) = rate {
            o.target_rate_per_s = Some(r);
            o.time_scale = None;
        }
        if let Some(d) = duration {
            o.duration_s = Some(d);
        }
        expected_end_s = o.duration_s;
        let t = TraceReplay {
            records,
            options: o,
        };
        if expected_requests.is_none() && o.duration_s.is_none() {
            expected_requests = Some(t.records.len() as u64 * u64::from(o.repeat.unwrap_or(1)));
        }
        Workload::Trace(t)
    } else if let Some(c) = clients {
        let requests = requests.or(if duration.is_none() {
            Some(u64::from(c) * 20)
        } else {
            None
        });
        expected_requests = requests;
        expected_end_s = duration;
        Workload::ClosedLoop(ClosedLoop {
            clients: c,
            input,
            output,
            think_time_s: f.think_time_s.unwrap_or(0.0),
            requests,
            duration_s: duration,
        })
    } else {
        let duration = duration.or(if requests.is_none() {
            Some(600.0)
        } else {
            None
        });
        expected_end_s = duration;
        let arrivals = match a.arrival_cv {
            Some(cv) if (cv - 1.0).abs() > 1e-12 => ArrivalProcess::Gamma { cv },
            Some(_) => ArrivalProcess::Poisson,
            None => f.arrivals.unwrap_or_default(),
        };
        let profile = match a.diurnal {
            Some(k) => RateProfile::Diurnal {
                peak_to_trough: k,
                period_s: 86_400.0,
                peak_at_s: 0.0,
            },
            None => f.profile.unwrap_or_default(),
        };
        Workload::Synthetic(Synthetic {
            rate_per_s: rate.unwrap_or(2.0),
            arrivals,
            profile,
            input,
            output,
            duration_s: duration,
            requests,
        })
    };
    let slo = match (a.slo_ttft_ms, a.slo_itl_ms, f.slo) {
        (Some(t), Some(i), _) => Some(Slo {
            ttft_ms_p99: t,
            itl_ms_p99: i,
        }),
        (None, None, s) => s,
        _ => {
            return Err(user(
                "capacity planning needs both `--slo-ttft-ms` and `--slo-itl-ms`",
            ));
        }
    };
    Ok(Plan {
        deployment: d,
        params: f.roofline.unwrap_or_default(),
        cfg,
        workload,
        seed: a.seed.or(f.seed).unwrap_or(42),
        slo,
        max_replicas: a.max_replicas.or(f.max_replicas).unwrap_or(4096),
        expected_end_s,
        expected_requests,
    })
}

fn simulate(g: &Global, p: &Plan) -> anyhow::Result<SimOutput> {
    let mut sim = Simulator::with_seed(&p.deployment, p.params, &p.cfg, &p.workload, p.seed)
        .map_err(|e| user(e.to_string()))?;
    if !g.progress() {
        return Ok(sim.run());
    }
    let (len, by_time) = match (p.expected_end_s, p.expected_requests) {
        (Some(t), _) => ((t * 10.0) as u64, true),
        (None, Some(n)) => (n, false),
        (None, None) => (0, false),
    };
    let bar = indicatif::ProgressBar::new(len.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} simulating [{bar:30}] {percent}% {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    while sim.advance(250_000) {
        let pos = if by_time {
            (sim.now().s() * 10.0) as u64
        } else {
            sim.completed()
        };
        bar.set_position(pos.min(len));
        bar.set_message(format!("{} requests", sim.completed()));
    }
    bar.finish_and_clear();
    Ok(sim.finish())
}

#[derive(serde::Serialize)]
struct PowerRow {
    time_s: f64,
    gpu_w: f64,
    server_w: f64,
    facility_w: f64,
}

fn write_outputs(dir: &Path, o: &SimOutput, json: &serde_json::Value) -> anyhow::Result<()> {
    if let Some(recs) = &o.records {
        write_table(dir, "requests", recs)?;
    }
    let p = &o.power;
    let rows = p
        .watts(Scope::Gpu)
        .zip(p.watts(Scope::Server))
        .zip(p.watts(Scope::Facility))
        .enumerate()
        .map(|(i, ((g, s), f))| PowerRow {
            time_s: i as f64 * p.resolution_s,
            gpu_w: g.w(),
            server_w: s.w(),
            facility_w: f.w(),
        });
    write_table(dir, "power", rows)?;
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(json)?.as_bytes(),
    )?;
    Ok(())
}

fn flat_json(d: &Deployment, s: &Summary, pue: f64) -> serde_json::Value {
    let server = flat_estimate(d, s.mean_output_tokens, 0.10).wh();
    let sim_server = s.at(Scope::Server).map_or(0.0, |x| x.energy_wh_per_request);
    json!({
        "utilization": 0.10,
        "method": "FLOP = 2 x active params x output tokens; GPU time = FLOP / (peak x 0.10); energy = GPU time x (TDP + host) x 0.7",
        "server_wh_per_request": server,
        "facility_wh_per_request": server * pue,
        "simulated_over_flat_server": if server > 0.0 { sim_server / server } else { 0.0 },
    })
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let p = resolve(g, &a)?;
    let pue = p.cfg.scope_params.pue;
    if let Some(slo) = p.slo {
        let plan = plan_capacity(
            &p.deployment,
            p.params,
            &p.cfg,
            &p.workload,
            &slo,
            p.seed,
            p.max_replicas,
        )
        .map_err(|e| user(e.to_string()))?;
        if a.json {
            return out_json(&plan);
        }
        out(format!(
            "{} replicas x {} x `{}` = {} GPUs {} the objectives (p99 TTFT <= {} ms, p99 ITL <= {} ms)",
            plan.replicas,
            p.deployment.gpus,
            p.deployment.hardware.id,
            plan.gpus,
            if plan.meets_slo {
                "meet"
            } else {
                "do NOT meet"
            },
            slo.ttft_ms_p99,
            slo.itl_ms_p99
        ));
        out(format!(
            "  p99 TTFT {:.0} ms, p99 ITL {:.1} ms, compute utilization {:.1}%",
            plan.summary.ttft_ms_p99,
            plan.summary.itl_ms_p99,
            plan.summary.compute_utilization * 100.0
        ));
        out(format!(
            "  facility power: {:.4} MW average, {:.4} MW peak; {:.3} Wh per request",
            plan.avg_mw, plan.peak_mw, plan.wh_per_request
        ));
        out(format!(
            "  flat 10% utilization estimate: {:.3} Wh per request, {:.4} MW",
            plan.flat_10pct_facility_wh_per_request, plan.flat_10pct_avg_mw
        ));
        for t in &plan.trials {
            out(format!(
                "  tried {:>5} replicas: p99 TTFT {:>9.0} ms, p99 ITL {:>7.1} ms{}",
                t.replicas,
                t.ttft_ms_p99,
                t.itl_ms_p99,
                if t.meets_slo { "  ok" } else { "" }
            ));
        }
        return Ok(());
    }
    let o = simulate(g, &p)?;
    let s = &o.summary;
    let mut v = serde_json::to_value(s)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("flat_10pct".into(), flat_json(&p.deployment, s, pue));
        m.insert("seed".into(), json!(p.seed));
    }
    if let Some(dir) = &a.out {
        write_outputs(dir, &o, &v)?;
    }
    if a.json {
        return out_json(&v);
    }
    let flat = flat_estimate(&p.deployment, s.mean_output_tokens, 0.10).wh();
    out(format!(
        "{} replica(s) of `{}` on {} x `{}`: {} requests in {:.1} s simulated ({} rejected)",
        s.replicas, s.model, s.gpus_per_replica, s.hardware, s.requests, s.duration_s, s.rejected
    ));
    out(format!(
        "  throughput      {:.2} requests/s, {:.0} output tokens/s",
        s.throughput_requests_per_s, s.throughput_tokens_per_s
    ));
    out(format!(
        "  TTFT            p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms",
        s.ttft_ms_p50, s.ttft_ms_p90, s.ttft_ms_p99
    ));
    out(format!(
        "  inter-token     p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        s.itl_ms_p50, s.itl_ms_p90, s.itl_ms_p99
    ));
    out(format!(
        "  end to end      p50 {:.2} s, p99 {:.2} s; queueing p99 {:.0} ms",
        s.e2e_ms_p50 / 1e3,
        s.e2e_ms_p99 / 1e3,
        s.queue_ms_p99
    ));
    out(format!(
        "  batch           mean {:.1}, p99 {}; KV cache {:.0}% mean, {:.0}% peak; {} preemptions",
        s.mean_batch_size,
        s.batch_size_p99,
        s.kv_occupancy_mean * 100.0,
        s.kv_occupancy_peak * 100.0,
        s.preemptions
    ));
    out(format!(
        "  utilization     compute {:.1}%, memory bandwidth {:.1}%, busy {:.1}% of the time",
        s.compute_utilization * 100.0,
        s.memory_utilization * 100.0,
        s.busy_fraction * 100.0
    ));
    out(format!(
        "  GPU power       {:.0} W mean ({:.0}% of TDP)",
        s.gpu_avg_power_w, s.gpu_power_pct_of_tdp
    ));
    for e in &s.by_scope {
        out(format!(
            "  {:<8}        {:.4} Wh/request ({:.4} busy only), {:.3} J/output token, {:.1} kW mean, {:.1} kW peak",
            e.scope.as_str(),
            e.energy_wh_per_request,
            e.energy_wh_per_request_busy,
            e.energy_j_per_output_token,
            e.avg_power_w / 1e3,
            e.peak_power_w / 1e3
        ));
    }
    out(format!(
        "  flat 10% estimate: {:.4} Wh/request server, {:.4} facility",
        flat,
        flat * pue
    ));
    if let Some(dir) = &a.out {
        eprintln!("wrote `{}`", dir.display());
    }
    Ok(())
}

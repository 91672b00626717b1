//! `wattage simulate serving`: discrete-event simulation of a serving fleet, from flags or a
//! TOML file (`--config`); flags override the file.

use std::path::PathBuf;

use wattage_engine::FileSystem;
use wattage_engine::serving::{self as job, ServingOutcome, ServingSpec};
use wattage_units::{Power, Time};

use crate::common::{Global, ObjectivesNotMet, ReplicaArgs, out, out_json, ranged, write_files};

/// Arguments of `wattage simulate serving`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub replica: ReplicaArgs,
    /// A TOML file with any of the settings below (snake_case names); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Replicas in the fleet [default: 1]
    #[arg(long, value_parser = ranged!(u32, "serving", "replicas"))]
    pub replicas: Option<u32>,
    /// Mean arrival rate, requests/s (with --trace: rescale the trace to this rate) [default: 2]
    #[arg(long)]
    pub rate: Option<f64>,
    /// Time of arrivals, e.g. `10m`, `2h` (with --trace: repeat the trace to fill it)
    /// [default: 600s; a bare number is seconds, deprecated]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// Stop after this many requests
    #[arg(long, value_parser = ranged!(u64, "serving", "requests"))]
    pub requests: Option<u64>,
    /// Closed loop: this many clients, each sending its next request when the last finishes
    #[arg(long, value_parser = ranged!(u32, "serving", "clients"))]
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
    #[arg(long = "max-num-seqs", value_parser = ranged!(u32, "serving", "max_num_seqs"))]
    pub max_num_seqs: Option<u32>,
    /// Deprecated spelling of --max-num-seqs (`--batch` is the mean running batch, as in
    /// `estimate`)
    #[arg(long, hide = true, value_parser = ranged!(u32, "serving", "max_num_seqs"))]
    pub batch: Option<u32>,
    /// Most tokens per iteration (vLLM max_num_batched_tokens) [default: 8192]
    #[arg(long = "max-batched-tokens", value_parser = ranged!(u32, "serving", "max_batched_tokens"))]
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
    /// Power series resolution, e.g. `1s`, `1m` [default: 1s; a bare number is seconds,
    /// deprecated]
    #[arg(
        long = "power-resolution",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    pub power_resolution: Option<String>,
    /// Capacity planning: p99 time-to-first-token objective, ms (with --slo-itl-ms)
    #[arg(long = "slo-ttft-ms")]
    pub slo_ttft_ms: Option<f64>,
    /// Capacity planning: p99 inter-token latency objective, ms (with --slo-ttft-ms)
    #[arg(long = "slo-itl-ms")]
    pub slo_itl_ms: Option<f64>,
    /// Capacity planning: largest fleet to try [default: 4096]. When even this fleet misses
    /// the objectives, the plan is printed and the exit status is 3
    #[arg(long = "max-replicas", value_parser = ranged!(u32, "serving", "max_replicas"))]
    pub max_replicas: Option<u32>,
    /// Seed of the random stream [default: 42]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Calendar time of the start, ISO 8601 with a zone (the `time` column)
    /// [default: 2025-01-01T00:00:00Z]
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Write timeseries.csv/.parquet (power), requests.csv/.parquet and summary.json into
    /// this directory (see docs/outputs.md)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The engine's spec of these flags.
    pub fn spec(&self) -> ServingSpec {
        ServingSpec {
            model: self.replica.model.clone(),
            hardware: self.replica.hardware.clone(),
            tensor_parallel_size: self.replica.tensor_parallel_size,
            data_parallel_size: self.replica.data_parallel_size,
            enable_expert_parallel: self.replica.enable_expert_parallel,
            gpus: None,
            precision: self.replica.precision.clone(),
            kv_cache_dtype: self.replica.kv_cache_dtype.clone(),
            config: self.config.clone(),
            replicas: self.replicas,
            rate: self.rate,
            duration: self.duration.clone().map(Into::into),
            requests: self.requests,
            clients: self.clients,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            input_cv: self.input_cv,
            output_cv: self.output_cv,
            arrival_cv: self.arrival_cv,
            diurnal: self.diurnal,
            trace: self.trace.clone(),
            trace_scale: self.trace_scale,
            scheduler: self.scheduler.clone(),
            max_num_seqs: self.max_num_seqs,
            batch: self.batch,
            max_batched_tokens: self.max_batched_tokens,
            no_chunked_prefill: self.no_chunked_prefill,
            router: self.router.clone(),
            scope: self.scope.clone(),
            pue: self.pue,
            power_resolution: self.power_resolution.clone().map(Into::into),
            start: self.start.clone(),
            slo_ttft_ms: self.slo_ttft_ms,
            slo_itl_ms: self.slo_itl_ms,
            max_replicas: self.max_replicas,
            seed: self.seed,
            record_requests: self.out.is_some(),
            max_work: None,
        }
    }
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let mut cat = g.catalog()?;
    if let Some(m) = &a.replica.model {
        wattage_engine::spec::model_file(&FileSystem, &mut cat, m, None)?;
    }
    let bars = g.bars();
    let spec = ServingSpec {
        max_work: g.max_work,
        ..a.spec()
    };
    g.warn(&spec.deprecations());
    let r = match job::run(&cat, &FileSystem, &spec, &bars)? {
        ServingOutcome::Simulated(r) => r,
        ServingOutcome::Planned(c) => {
            if a.json {
                out_json(&c)?;
            } else {
                print_plan(&c);
            }
            return unmet(&c);
        }
    };
    if let Some(dir) = &a.out {
        write_files(dir, &r.artifacts()?)?;
    }
    if a.json {
        return out_json(&r);
    }
    let s = &r.summary;
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
        Time::from_ms(s.e2e_ms_p50).s(),
        Time::from_ms(s.e2e_ms_p99).s(),
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
            Power::from_w(e.avg_power_w).kw(),
            Power::from_w(e.peak_power_w).kw()
        ));
    }
    out(format!(
        "  flat 10% estimate: {:.4} Wh/request server, {:.4} facility",
        r.flat_10pct.server_wh_per_request, r.flat_10pct.facility_wh_per_request
    ));
    if let Some(dir) = &a.out {
        g.note(format!("wrote `{}`", dir.display()));
    }
    Ok(())
}

/// The exit of a capacity plan: an [`ObjectivesNotMet`] error (exit status 3) when even the
/// largest fleet tried misses the objectives.
fn unmet(c: &job::CapacityResult) -> anyhow::Result<()> {
    if c.plan.meets_slo {
        return Ok(());
    }
    let largest = c
        .plan
        .trials
        .iter()
        .map(|t| t.replicas)
        .max()
        .unwrap_or(c.plan.replicas);
    Err(ObjectivesNotMet(format!(
        "no fleet of at most {} replicas meets the objectives (p99 TTFT <= {} ms, p99 ITL <= {} ms); \
         {} replicas reach p99 TTFT {:.0} ms, p99 ITL {:.1} ms: raise `--max-replicas`, relax the \
         objectives or lower `--rate` (exit status 3)",
        largest,
        c.slo.ttft_ms_p99,
        c.slo.itl_ms_p99,
        c.plan.replicas,
        c.plan.summary.ttft_ms_p99,
        c.plan.summary.itl_ms_p99
    ))
    .into())
}

fn print_plan(c: &job::CapacityResult) {
    let plan = &c.plan;
    out(format!(
        "{} replicas x {} x `{}` = {} GPUs {} the objectives (p99 TTFT <= {} ms, p99 ITL <= {} ms)",
        plan.replicas,
        c.gpus_per_replica,
        c.hardware,
        plan.gpus,
        if plan.meets_slo {
            "meet"
        } else {
            "do NOT meet"
        },
        c.slo.ttft_ms_p99,
        c.slo.itl_ms_p99
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
}

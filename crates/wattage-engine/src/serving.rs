//! The serving job: a discrete-event simulation of a fleet of replicas under a request stream
//! (synthetic, closed loop or a replayed trace), or capacity planning at latency objectives.
//! Settings come from a spec whose fields are the CLI's flags, over an optional TOML file
//! (`config`) that may also hold the simulator's own tables.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wattage_catalog::Catalog;
use wattage_request::{Deployment, RooflineParams};
use wattage_serving::{
    ArrivalProcess, CapacityPlan, ClosedLoop, LengthDist, RateProfile, RequestRecord, Router,
    SchedulerConfig, Scope, ScopeParams, SimConfig, SimOutput, Simulator, Slo, Summary, Synthetic,
    TraceOptions, TraceReplay, Workload, flat_estimate, parse_azure_str, plan_capacity,
};

use crate::calendar::Start;
use crate::error::{Error, Result};
use crate::io::{Progress, Sources, read};
use crate::locate::TomlDoc;
use crate::spec::{BareUnit, DurationArg, ReplicaSpec};
use crate::table::{Artifact, table};

/// Default model of a serving simulation.
pub const DEFAULT_MODEL: &str = "llama-3.1-70b";

/// A serving simulation. Field names are the CLI's flags in snake_case; `None` takes the
/// `config` file's value, then the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServingSpec {
    /// Model [default: `llama-3.1-70b`].
    pub model: Option<String>,
    /// Accelerator [default: `h100`].
    pub hardware: Option<String>,
    /// GPUs each attention and dense layer is sharded over (vLLM `--tensor-parallel-size`)
    /// [default: the fewest that hold the weights].
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside one replica, each with its own KV cache (vLLM
    /// `--data-parallel-size`) [default: 1]. GPUs per replica = tensor x data.
    pub data_parallel_size: Option<u32>,
    /// Experts spread over all tensor x data GPUs (vLLM `--enable-expert-parallel`).
    pub enable_expert_parallel: bool,
    /// Deprecated spelling of `tensor_parallel_size`.
    pub gpus: Option<u32>,
    /// Weight precision [default: fp8 for a Hugging Face repository id ending in `-FP8`, else
    /// the model's].
    pub precision: Option<String>,
    /// The KV cache's type as vLLM's `--kv-cache-dtype` names it: `auto`, `bf16`, `fp16`,
    /// `fp8` (or `bfloat16`, `float16`, `fp8_e4m3`, `fp8_e5m2`) [default: auto, wattage's
    /// rule: fp8 when the weights are 8-bit or narrower, else bf16].
    pub kv_cache_dtype: Option<String>,
    /// A TOML file with any of these settings and the simulator's own tables.
    pub config: Option<PathBuf>,
    /// Replicas in the fleet [default: 1].
    pub replicas: Option<u32>,
    /// Mean arrival rate, requests/s (with a trace: rescale it to this rate) [default: 2].
    pub rate: Option<f64>,
    /// Time of arrivals (`10m`, `2h`; with a trace: repeat it to fill it) [default: `600s`;
    /// a bare number is seconds, deprecated].
    pub duration: Option<DurationArg>,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Closed loop: this many clients.
    pub clients: Option<u32>,
    /// Mean prompt tokens (lognormal) [default: 1000].
    pub input_tokens: Option<f64>,
    /// Mean output tokens (lognormal) [default: 300].
    pub output_tokens: Option<f64>,
    /// Coefficient of variation of prompt lengths [default: 1.0].
    pub input_cv: Option<f64>,
    /// Coefficient of variation of output lengths [default: 0.8].
    pub output_cv: Option<f64>,
    /// Gamma inter-arrival gaps with this coefficient of variation (1 = Poisson).
    pub arrival_cv: Option<f64>,
    /// Daily cycle: ratio of peak to trough rate.
    pub diurnal: Option<f64>,
    /// An Azure LLM inference trace (TIMESTAMP,ContextTokens,GeneratedTokens).
    pub trace: Option<PathBuf>,
    /// Multiply the trace's gaps by this factor.
    pub trace_scale: Option<f64>,
    /// `continuous` or `static` [default: continuous].
    pub scheduler: Option<String>,
    /// Most concurrent sequences per replica (vLLM `max_num_seqs`) [default: 256].
    pub max_num_seqs: Option<u32>,
    /// Most tokens per iteration (vLLM `max_num_batched_tokens`) [default: 8192].
    pub max_batched_tokens: Option<u32>,
    /// Turn chunked prefill off.
    pub no_chunked_prefill: bool,
    /// `round-robin`, `least-outstanding` or `join-shortest-queue`.
    pub router: Option<String>,
    /// Energy boundary of the headline figures [default: facility].
    pub scope: Option<String>,
    /// Power usage effectiveness for the facility scope [default: 1.2].
    pub pue: Option<f64>,
    /// Power series resolution (`1s`, `1m`) [default: `1s`; a bare number is seconds,
    /// deprecated].
    pub power_resolution: Option<DurationArg>,
    /// Calendar time of the run's start, ISO 8601 with a zone [default:
    /// [`crate::calendar::DEFAULT_START`]]: the `time` column of the power series.
    pub start: Option<String>,
    /// Deprecated spelling of `max_num_seqs` (`simulate serving --batch`); `batch` means the
    /// mean running batch everywhere else.
    pub batch: Option<u32>,
    /// Capacity planning: p99 time-to-first-token objective, ms (with `slo_itl_ms`).
    pub slo_ttft_ms: Option<f64>,
    /// Capacity planning: p99 inter-token latency objective, ms (with `slo_ttft_ms`).
    pub slo_itl_ms: Option<f64>,
    /// Capacity planning: largest fleet to try [default: 4096].
    pub max_replicas: Option<u32>,
    /// Seed [default: 42].
    pub seed: Option<u64>,
    /// Keep one record per completed request.
    pub record_requests: bool,
    /// Raise the work limits (simulated requests, power series points) to this size.
    pub max_work: Option<u64>,
}

/// The `config` file: the spec's settings, plus the library's own tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    model: Option<String>,
    hardware: Option<String>,
    tensor_parallel_size: Option<u32>,
    data_parallel_size: Option<u32>,
    enable_expert_parallel: Option<bool>,
    gpus: Option<u32>,
    precision: Option<String>,
    kv_cache_dtype: Option<String>,
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

fn parse_router(s: &str) -> Result<Router> {
    match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "round-robin" | "rr" => Ok(Router::RoundRobin),
        "least-outstanding" | "lor" => Ok(Router::LeastOutstanding),
        "join-shortest-queue" | "jsq" => Ok(Router::JoinShortestQueue),
        _ => Err(Error::param(
            "router",
            format!("`{s}`: expected round-robin, least-outstanding or join-shortest-queue"),
        )),
    }
}

/// A scope named as users write it (`gpu`, `server`, `facility`).
pub fn parse_scope(param: &str, s: &str) -> Result<Scope> {
    match s.trim().to_ascii_lowercase().as_str() {
        "gpu" => Ok(Scope::Gpu),
        "server" => Ok(Scope::Server),
        "facility" => Ok(Scope::Facility),
        _ => Err(Error::param(
            param,
            format!("`{s}`: expected gpu, server or facility"),
        )),
    }
}

/// The spec's parameter for a field the simulator names (its schema is the `config` file's).
fn param_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "rate_per_s" => "rate",
        "duration_s" => "duration",
        "requests" => "requests",
        "clients" => "clients",
        "replicas" => "replicas",
        "gpus" => "gpus",
        "tensor_parallel_size" => "tensor_parallel_size",
        "data_parallel_size" => "data_parallel_size",
        "arrivals.cv" => "arrival_cv",
        "profile.peak_to_trough" => "diurnal",
        "power_resolution_s" => "power_resolution",
        "scheduler.max_num_seqs" | "scheduler.batch_size" => "max_num_seqs",
        "scheduler.max_batched_tokens" => "max_batched_tokens",
        "scope.pue" => "pue",
        "time_scale" => "trace_scale",
        "trace" => "trace",
        _ => return None,
    })
}

/// A simulator error, placed at the spec's parameter when the field is one, else named by
/// its `config` file field.
fn sim_error(e: wattage_serving::SimError) -> Error {
    match e {
        wattage_serving::SimError::Invalid { field, reason } => match param_of(field) {
            Some(p) => Error::param(p, reason),
            None => Error::input(format!("invalid `{field}`: {reason}")),
        },
        other => Error::input(other.to_string()),
    }
}

/// Everything resolved from the spec and its file, ready to simulate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The replica.
    pub deployment: Deployment,
    /// Roofline constants.
    pub params: RooflineParams,
    /// Fleet and scheduler.
    pub config: SimConfig,
    /// The request stream.
    pub workload: Workload,
    /// Seed.
    pub seed: u64,
    /// Capacity planning objectives, if asked for.
    pub slo: Option<Slo>,
    /// Largest fleet capacity planning tries.
    pub max_replicas: u32,
    /// Simulated time the run is expected to reach, s (for progress).
    pub expected_end_s: Option<f64>,
    /// Requests the run is expected to complete (for progress).
    pub expected_requests: Option<u64>,
    /// Requests the run is expected to simulate, for the work limit (`None`: a closed loop
    /// bounded only by its duration).
    pub work_requests: Option<u64>,
    /// Warnings of the `config` file (old key names), for the front-end to show.
    pub warnings: Vec<String>,
}

impl ServingSpec {
    /// Deprecation warnings of this spec (bare numbers for durations, old names), for the
    /// front-end to show; parameters are written `` `{name}` ``.
    pub fn deprecations(&self) -> Vec<String> {
        let mut w: Vec<String> = [
            self.duration
                .as_ref()
                .and_then(|d| d.deprecation("duration", BareUnit::Seconds)),
            self.power_resolution
                .as_ref()
                .and_then(|d| d.deprecation("power_resolution", BareUnit::Seconds)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if self.batch.is_some() {
            w.push(crate::spec::renamed("batch", "max_num_seqs"));
        }
        if self.gpus.is_some() {
            w.push(crate::spec::renamed("gpus", "tensor_parallel_size"));
        }
        w
    }

    /// The duration, s.
    pub fn duration_s(&self) -> Result<Option<f64>> {
        self.duration
            .as_ref()
            .map(|d| d.parse("duration", BareUnit::Seconds).map(|t| t.s()))
            .transpose()
    }

    /// The power series resolution, s.
    pub fn power_resolution_s(&self) -> Result<Option<f64>> {
        self.power_resolution
            .as_ref()
            .map(|d| {
                d.parse("power_resolution", BareUnit::Seconds)
                    .map(|t| t.s())
            })
            .transpose()
    }

    /// The calendar start of the run.
    pub fn start(&self) -> Result<Start> {
        Start::or_default(self.start.as_deref(), 1.0)
    }
}

/// Resolves a spec: reads its `config` file and trace through `src`, the replica from `cat`.
pub fn prepare(cat: &Catalog, src: &dyn Sources, a: &ServingSpec) -> Result<Plan> {
    let f64_of = |v: Option<u32>| v.map(f64::from);
    let a_duration = a.duration_s()?;
    let a_power_resolution = a.power_resolution_s()?;
    a.start()?;
    if a.batch.is_some() && a.max_num_seqs.is_some() {
        return Err(Error::input(
            "`{batch}` is the old name of `{max_num_seqs}`: give only `{max_num_seqs}`",
        ));
    }
    let max_num_seqs_arg = a.max_num_seqs.or(a.batch);
    crate::limits::check_all(
        "serving",
        &[
            ("tensor_parallel_size", f64_of(a.tensor_parallel_size)),
            ("data_parallel_size", f64_of(a.data_parallel_size)),
            ("replicas", f64_of(a.replicas)),
            ("rate", a.rate),
            ("duration", a_duration),
            ("requests", a.requests.map(|n| n as f64)),
            ("clients", f64_of(a.clients)),
            ("input_tokens", a.input_tokens),
            ("output_tokens", a.output_tokens),
            ("input_cv", a.input_cv),
            ("output_cv", a.output_cv),
            ("arrival_cv", a.arrival_cv),
            ("diurnal", a.diurnal),
            ("trace_scale", a.trace_scale),
            ("max_num_seqs", f64_of(max_num_seqs_arg)),
            ("max_batched_tokens", f64_of(a.max_batched_tokens)),
            ("pue", a.pue),
            ("power_resolution", a_power_resolution),
            ("slo_ttft_ms", a.slo_ttft_ms),
            ("slo_itl_ms", a.slo_itl_ms),
            ("max_replicas", f64_of(a.max_replicas)),
        ],
    )?;
    if let Some(g) = a.gpus {
        crate::limits::check("serving", "tensor_parallel_size", f64::from(g))
            .map_err(|e| e.at_param("gpus"))?;
    }
    let mut warnings = Vec::new();
    let f: ConfigFile = match &a.config {
        Some(p) => {
            let text = read(src, p)?;
            let origin = p.display().to_string();
            let doc = TomlDoc::parse(&origin, &text)?;
            let f: ConfigFile = doc.deserialize()?;
            if f.gpus.is_some() {
                if f.tensor_parallel_size.is_some() {
                    return Err(doc.error(
                        "gpus",
                        "`gpus` is the old name of `tensor_parallel_size`: give only `tensor_parallel_size`",
                    ));
                }
                warnings.push(format!(
                    "`{origin}`: `gpus` is deprecated and will be removed in the next release: use `tensor_parallel_size`"
                ));
            }
            for (k, v) in [
                ("tensor_parallel_size", f.tensor_parallel_size.or(f.gpus)),
                ("data_parallel_size", f.data_parallel_size),
            ] {
                if let Some(v) = v {
                    crate::limits::check("serving", k, f64::from(v))
                        .map_err(|e| doc.error(k, &e.message))?;
                }
            }
            if let Some(v) = &f.kv_cache_dtype {
                crate::spec::parse_kv_cache_dtype(v)
                    .map_err(|e| doc.error("kv_cache_dtype", &e.message))?;
            }
            f
        }
        None => ConfigFile::default(),
    };
    let tensor = crate::spec::tensor_parallel_size(a.tensor_parallel_size, a.gpus, "gpus")?;
    let replica = ReplicaSpec {
        model: a
            .model
            .clone()
            .or(f.model.clone())
            .unwrap_or_else(|| DEFAULT_MODEL.into()),
        hardware: a
            .hardware
            .clone()
            .or(f.hardware.clone())
            .unwrap_or_else(|| "h100".into()),
        tensor_parallel_size: tensor.or(f.tensor_parallel_size).or(f.gpus),
        data_parallel_size: a.data_parallel_size.or(f.data_parallel_size),
        enable_expert_parallel: a.enable_expert_parallel
            || f.enable_expert_parallel.unwrap_or(false),
        precision: a.precision.clone().or(f.precision.clone()),
        kv_cache_dtype: a.kv_cache_dtype.clone().or(f.kv_cache_dtype.clone()),
    };
    let d = replica.resolve(cat).map_err(|e| {
        let at_tp = matches!(&e.location, crate::error::Location::Param { name } if name == "tensor_parallel_size");
        if at_tp && a.gpus.is_some() {
            e.at_param("gpus")
        } else {
            e
        }
    })?;
    let mut scheduler = f.scheduler.unwrap_or_default();
    if let Some(s) = &a.scheduler {
        scheduler = match s.trim().to_ascii_lowercase().as_str() {
            "continuous" => SchedulerConfig::default(),
            "static" => SchedulerConfig::Static { batch_size: 256 },
            _ => {
                return Err(Error::param(
                    "scheduler",
                    format!("`{s}`: expected continuous or static"),
                ));
            }
        };
    }
    match &mut scheduler {
        SchedulerConfig::Continuous {
            max_num_seqs,
            max_batched_tokens,
            chunked_prefill,
        } => {
            if let Some(v) = max_num_seqs_arg {
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
            if let Some(v) = max_num_seqs_arg {
                *batch_size = v;
            }
        }
    }
    let mut scope_params = f.scope_params.unwrap_or_default();
    if let Some(p) = a.pue {
        scope_params.pue = p;
    }
    let scope = match &a.scope {
        Some(s) => parse_scope("scope", s)?,
        None => f.scope.unwrap_or(Scope::Facility),
    };
    let router = match &a.router {
        Some(s) => parse_router(s)?,
        None => f.router.unwrap_or_default(),
    };
    let config = SimConfig {
        replicas: a.replicas.or(f.replicas).unwrap_or(1),
        scheduler,
        router,
        block_size: f.block_size.unwrap_or(16),
        power_resolution_s: a_power_resolution.or(f.power_resolution_s).unwrap_or(1.0),
        record_requests: a.record_requests,
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
    let duration = a_duration.or(f.duration_s);
    let requests = a.requests.or(f.requests);
    let trace_path = a.trace.clone().or(f.trace.clone());
    let clients = a.clients.or(f.clients);
    let expected_end_s;
    let mut expected_requests = requests;
    let work_requests;
    let workload = if let Some(path) = trace_path {
        if clients.is_some() {
            return Err(Error::input("`{trace}` and `{clients}` cannot be combined"));
        }
        let text = read(src, &path)?;
        let records = parse_azure_str(&text)
            .map_err(|e| Error::input(format!("`{}`: {e}", path.display())))?;
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
        let n = records.len() as u64;
        let span = records.last().map_or(0.0, |r| r.time_s);
        if o.duration_s.is_some() && n > 1 && span <= 0.0 && o.repeat != Some(1) {
            return Err(Error::param(
                "trace",
                "every row has the same TIMESTAMP, so the trace has no length to repeat over `{duration}`",
            )
            .hint("give the rows their own timestamps, or leave out `{duration}` to replay the trace once"));
        }
        // Requests the replay makes: the trace times its repeats, to the duration at the
        // trace's rate (or the target rate).
        let by_repeats = o
            .repeat
            .map_or(if o.duration_s.is_some() { u64::MAX } else { n }, |k| {
                n.saturating_mul(u64::from(k))
            });
        let by_time = match (o.duration_s, o.target_rate_per_s) {
            (Some(d), Some(r)) => crate::limits::count(d * r),
            (Some(d), None) => {
                let gap = if n > 1 { span / (n - 1) as f64 } else { 1.0 };
                let period = (span + gap) * o.time_scale.unwrap_or(1.0);
                n.saturating_mul(crate::limits::count(d / period))
            }
            (None, _) => u64::MAX,
        };
        work_requests = Some(by_repeats.min(by_time).min(requests.unwrap_or(u64::MAX)));
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
        // Given only a duration, a closed loop's size is its clients over the time one of
        // their requests takes at least: the think time and, per output token, one
        // iteration, which reads at least the active weights at the replica's bandwidth.
        work_requests = requests.or_else(|| {
            duration.map(|dur| {
                let bw = f64::from(d.gpus) * d.bandwidth_per_gpu().bytes_per_s();
                let t_iter = d.model.active_params() * d.weight_precision.bytes() / bw;
                let per_request = f.think_time_s.unwrap_or(0.0) + output.mean().max(1.0) * t_iter;
                crate::limits::count(f64::from(c) * dur / per_request.max(1e-9))
            })
        });
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
        let by_time = duration.map_or(u64::MAX, |d| crate::limits::count(d * rate.unwrap_or(2.0)));
        work_requests = Some(by_time.min(requests.unwrap_or(u64::MAX)));
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
            return Err(Error::input(
                "capacity planning needs both `{slo_ttft_ms}` and `{slo_itl_ms}`",
            ));
        }
    };
    let params = f
        .roofline
        .unwrap_or_else(|| RooflineParams::for_hardware(&d.hardware));
    Ok(Plan {
        deployment: d,
        params,
        config,
        workload,
        seed: a.seed.or(f.seed).unwrap_or(42),
        slo,
        max_replicas: a.max_replicas.or(f.max_replicas).unwrap_or(4096),
        expected_end_s,
        expected_requests,
        work_requests,
        warnings,
    })
}

/// Checks a plan's size against the work limits before it runs: the requests it simulates
/// (each capacity-planning probe counts) and the points of its power series.
pub fn admit(p: &Plan, max_work: Option<u64>, progress: &dyn Progress) -> Result<()> {
    use crate::limits::{Work, admit, count};
    // Capacity planning doubles the fleet up to `max_replicas`, then bisects: about two
    // probes per bit of `max_replicas`.
    let probes = if p.slo.is_some() {
        2 * u64::from(32 - p.max_replicas.leading_zeros()) + 1
    } else {
        1
    };
    if let Some(n) = p.work_requests {
        let what = match (&p.workload, probes) {
            (Workload::Trace(_), 1) => {
                "the trace's rows x its repeats over `{duration}`".to_string()
            }
            (Workload::Trace(_), k) => {
                format!("the trace's rows x its repeats, x {k} capacity-planning probes")
            }
            (Workload::ClosedLoop(_), _) => {
                "`{clients}` x `{duration}` over the shortest time a request can take, or `{requests}`"
                    .to_string()
            }
            (_, 1) => "`{rate}` x `{duration}`, or `{requests}`".to_string(),
            (_, k) => format!(
                "`{{rate}}` x `{{duration}}`, or `{{requests}}`, x {k} capacity-planning probes"
            ),
        };
        admit(
            Work::Requests,
            n.saturating_mul(probes),
            &what,
            max_work,
            progress,
        )?;
    }
    let end_s = p.expected_end_s.or_else(|| match &p.workload {
        Workload::Synthetic(s) => p.expected_requests.map(|n| n as f64 / s.rate_per_s),
        _ => None,
    });
    if let Some(end) = end_s {
        let bins = count(end / p.config.power_resolution_s);
        admit(
            Work::PowerBins,
            bins,
            "`{duration}` / `{power_resolution}`",
            max_work,
            progress,
        )?;
    }
    Ok(())
}

/// Seed 003's flat 10% method on the simulated requests, for comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlatEstimate {
    /// Utilization assumed.
    pub utilization: f64,
    /// How it is computed.
    pub method: &'static str,
    /// Server energy per request, Wh.
    pub server_wh_per_request: f64,
    /// Facility energy per request, Wh.
    pub facility_wh_per_request: f64,
    /// The simulation's server energy per request over the flat method's.
    pub simulated_over_flat_server: f64,
}

/// One bin of a simulation's power series (`timeseries.csv`; `docs/outputs.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerRow {
    /// Start of the bin, ISO 8601 in UTC.
    pub time: String,
    /// Start of the bin, seconds since the run's start.
    pub elapsed_s: f64,
    /// Accelerators, W.
    pub gpu_w: f64,
    /// Accelerators and host, W.
    pub server_w: f64,
    /// With cooling and power delivery, W.
    pub facility_w: f64,
}

/// A serving simulation's results: what `wattage simulate serving --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ServingResult {
    /// The simulator's summary.
    #[serde(flatten)]
    pub summary: Summary,
    /// The flat 10% method on the same requests.
    pub flat_10pct: FlatEstimate,
    /// Seed used.
    pub seed: u64,
    /// The power series and per-request records (not serialized).
    #[serde(skip)]
    pub output: SimOutput,
    /// The calendar start of the run (the `time` column).
    #[serde(skip)]
    pub start: Start,
}

impl ServingResult {
    /// The power series by bin, at every scope.
    pub fn power_rows(&self) -> Vec<PowerRow> {
        let p = &self.output.power;
        p.watts(Scope::Gpu)
            .zip(p.watts(Scope::Server))
            .zip(p.watts(Scope::Facility))
            .enumerate()
            .map(|(i, ((g, s), f))| PowerRow {
                time: self.start.stamp(i as f64 * p.resolution_s),
                elapsed_s: i as f64 * p.resolution_s,
                gpu_w: g.w(),
                server_w: s.w(),
                facility_w: f.w(),
            })
            .collect()
    }

    /// Per-request records, when asked for.
    pub fn records(&self) -> &[RequestRecord] {
        self.output.records.as_deref().unwrap_or(&[])
    }

    /// The files of a simulation (`--out`): `timeseries.csv`/`.parquet` (the power series),
    /// `requests.csv`/`.parquet` (one row per completed request, when recorded) and
    /// `summary.json` (as `--json` prints it).
    pub fn artifacts(&self) -> Result<Vec<Artifact>> {
        let mut out: Vec<Artifact> = table("timeseries", self.power_rows())?.into();
        if let Some(recs) = &self.output.records {
            out.extend(table("requests", recs)?);
        }
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("cannot serialise: {e}")))?;
        out.push(Artifact::new("summary.json", json));
        Ok(out)
    }
}

/// Capacity planning's result: what `wattage simulate serving --slo-... --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityResult {
    /// The plan.
    #[serde(flatten)]
    pub plan: CapacityPlan,
    /// The objectives planned for.
    #[serde(skip)]
    pub slo: Slo,
    /// Accelerators per replica.
    #[serde(skip)]
    pub gpus_per_replica: u32,
    /// Catalog hardware id.
    #[serde(skip)]
    pub hardware: String,
}

/// What a serving job produced.
#[derive(Debug, Clone)]
pub enum ServingOutcome {
    /// A simulation.
    Simulated(Box<ServingResult>),
    /// Capacity planning at latency objectives.
    Planned(Box<CapacityResult>),
}

/// Runs a plan's simulation, telling `progress` how far it has come.
pub fn simulate(p: &Plan, progress: &dyn Progress) -> Result<SimOutput> {
    let mut sim = Simulator::with_seed(&p.deployment, p.params, &p.config, &p.workload, p.seed)
        .map_err(sim_error)?;
    let (len, by_time) = match (p.expected_end_s, p.expected_requests) {
        (Some(t), _) => ((t * 10.0) as u64, true),
        (None, Some(n)) => (n, false),
        (None, None) => (0, false),
    };
    progress.stage("simulating");
    while sim.advance(250_000) {
        let pos = if by_time {
            (sim.now().s() * 10.0) as u64
        } else {
            sim.completed()
        };
        progress.advance(pos.min(len), len.max(1));
        progress.message(&format!("{} requests", sim.completed()));
    }
    progress.end_stage();
    Ok(sim.finish())
}

/// Simulates (or plans capacity, when the plan has objectives).
pub fn run(
    cat: &Catalog,
    src: &dyn Sources,
    spec: &ServingSpec,
    progress: &dyn Progress,
) -> Result<ServingOutcome> {
    let p = prepare(cat, src, spec)?;
    for w in &p.warnings {
        progress.warn(w);
    }
    admit(&p, spec.max_work, progress)?;
    if let Some(slo) = p.slo {
        let plan = plan_capacity(
            &p.deployment,
            p.params,
            &p.config,
            &p.workload,
            &slo,
            p.seed,
            p.max_replicas,
        )
        .map_err(sim_error)?;
        return Ok(ServingOutcome::Planned(Box::new(CapacityResult {
            plan,
            slo,
            gpus_per_replica: p.deployment.gpus,
            hardware: p.deployment.hardware.id.clone(),
        })));
    }
    let output = simulate(&p, progress)?;
    let pue = p.config.scope_params.pue;
    let s = &output.summary;
    let server = flat_estimate(&p.deployment, s.mean_output_tokens, 0.10).wh();
    let sim_server = s.at(Scope::Server).map_or(0.0, |x| x.energy_wh_per_request);
    let flat = FlatEstimate {
        utilization: 0.10,
        method: "FLOP = 2 x active params x output tokens; GPU time = FLOP / (peak x 0.10); energy = GPU time x (TDP + host) x 0.7",
        server_wh_per_request: server,
        facility_wh_per_request: server * pue,
        simulated_over_flat_server: if server > 0.0 {
            sim_server / server
        } else {
            0.0
        },
    };
    Ok(ServingOutcome::Simulated(Box::new(ServingResult {
        summary: output.summary.clone(),
        flat_10pct: flat,
        seed: p.seed,
        output,
        start: spec.start()?,
    })))
}

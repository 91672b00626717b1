//! Calibration of the roofline constants against measured serving energy, with
//! leave-one-model-out cross-validation.
//!
//! The data (`data/mlenergy-v3-calibration.csv`, from the ML.ENERGY benchmark v3) are 267
//! steady states of vLLM serving: 11 model variants of 10 base models (dense, MoE, hybrid
//! Mamba/attention), H100 and B200, bf16/fp8/mxfp4 weights, tensor and expert parallelism, two
//! tasks. Each is predicted with [`crate::estimate::roofline`] at `gpu` scope with its measured
//! deployment, mean batch and output length, and the task's assumed prompt length
//! ([`Task::input_tokens`]).
//!
//! The constants are few: per accelerator, achieved compute and memory efficiency and a power
//! curve (three shares of the idle-to-TDP span); shared by all, the per-iteration and
//! per-sequence software overheads, the collective latency, and the kernel efficiencies of
//! grouped (MoE) GEMMs and of 8-bit and 4-bit weights. [`fit`] finds them by coordinate
//! search in log space within each constant's physical range; [`cross_validate`] holds out one
//! base model at a time (its bf16 and FP8 variants together), fits on the rest and predicts
//! it. A constant that only the held-out model informs (FP8 kernels: only Qwen3-235B has FP8
//! rows; 4-bit: only gpt-oss-20b) cannot be cross-validated: that fold takes it from the
//! in-sample fit, and [`CvReport::in_sample_constants`] says so.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use wattage_catalog::{Catalog, Precision};

use crate::assumptions::{Assumptions, Scope};
use crate::deploy::{Deployment, Parallelism};
use crate::estimate::{Request, roofline};
use crate::roofline::{HARDWARE_CONSTANTS, Roofline, RooflineParams};

/// The measurements, as shipped.
pub const CSV: &str = include_str!("../data/mlenergy-v3-calibration.csv");

/// Mean prompt length assumed for the LMArena chat prompts the benchmark replays, tokens.
/// The data do not list input lengths; LMArena conversations are short single turns of a few
/// hundred tokens (public-cases.md: "a few hundred input tokens").
pub const INPUT_TOKENS: f64 = 300.0;

/// Mean prompt length assumed for GPQA, tokens: a graduate-level question of about 100-200
/// words with four answer options and an instruction to reason step by step and name the
/// letter; about 250 tokens with the chat template.
pub const GPQA_INPUT_TOKENS: f64 = 250.0;

/// The benchmark task a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Task {
    /// LMArena chat conversations.
    Chat,
    /// GPQA reasoning questions (long outputs).
    Gpqa,
}

impl Task {
    /// The assumed mean prompt length, tokens.
    pub fn input_tokens(self) -> f64 {
        match self {
            Task::Chat => INPUT_TOKENS,
            Task::Gpqa => GPQA_INPUT_TOKENS,
        }
    }
}

/// One row of the CSV as written.
#[derive(Debug, Clone, Deserialize)]
struct Row {
    model_repo: String,
    task: String,
    weight_precision: String,
    gpu: String,
    num_gpus: u32,
    tensor_parallel: u32,
    expert_parallel: u32,
    data_parallel: u32,
    max_num_seqs: u32,
    avg_batch_size: f64,
    avg_output_len: f64,
    avg_power_watts_all_gpus: f64,
    energy_per_token_joules: f64,
    median_itl_ms: f64,
}

/// One measured configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Hugging Face repository id of the model served.
    pub model_repo: String,
    /// The base model: the repository name without organisation, `-FP8` and release
    /// suffixes. Cross-validation holds out one base model at a time.
    pub base_model: String,
    /// The task.
    pub task: Task,
    /// Weight precision.
    pub precision: Precision,
    /// Catalog id of the accelerator.
    pub hardware: String,
    /// The layout in vLLM's terms.
    pub parallelism: Parallelism,
    /// Configured maximum concurrent sequences.
    pub max_num_seqs: u32,
    /// Measured mean batch (running sequences).
    pub batch: f64,
    /// Measured mean output length, tokens.
    pub output_tokens: f64,
    /// Measured GPU power, summed over the replica, W.
    pub power_w: f64,
    /// Measured GPU energy per output token, J.
    pub j_per_token: f64,
    /// Measured median inter-token latency, ms.
    pub median_itl_ms: f64,
}

/// The base model of a repository id: `Qwen/Qwen3-235B-A22B-Instruct-2507-FP8` and
/// `Qwen/Qwen3-235B-A22B-Instruct-2507` are both `Qwen3-235B-A22B`.
pub fn base_model(repo: &str) -> String {
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let mut s = name.to_string();
    for suffix in ["-FP8", "-fp8", "-2507", "-Instruct", "-it", "-v2"] {
        if let Some(t) = s.strip_suffix(suffix) {
            s = t.to_string();
        }
    }
    s.trim_start_matches("NVIDIA-").to_string()
}

/// Parses the shipped measurements. Every row must parse: an error names the line.
pub fn points() -> Result<Vec<Point>, String> {
    let mut rdr = csv::Reader::from_reader(CSV.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let r = rec.map_err(|e| format!("mlenergy-v3-calibration.csv line {line}: {e}"))?;
        let precision = r
            .weight_precision
            .parse::<Precision>()
            .map_err(|e| format!("line {line}: weight_precision: {e}"))?;
        let hardware = match r.gpu.as_str() {
            "H100" => "h100-sxm",
            "B200" => "b200",
            g => return Err(format!("line {line}: unknown gpu `{g}`")),
        };
        let task = match r.task.as_str() {
            "lm-arena-chat" => Task::Chat,
            "gpqa" => Task::Gpqa,
            t => return Err(format!("line {line}: unknown task `{t}`")),
        };
        // The benchmark records expert parallelism over all GPUs as EP = num_gpus with TP =
        // DP = 1; vLLM runs that as TP = num_gpus with --enable-expert-parallel.
        let parallelism = if r.expert_parallel > 1 {
            Parallelism {
                tensor: r.num_gpus / r.data_parallel.max(1),
                data: r.data_parallel.max(1),
                expert: true,
            }
        } else {
            Parallelism {
                tensor: r.tensor_parallel.max(1),
                data: r.data_parallel.max(1),
                expert: false,
            }
        };
        if parallelism.gpus() != r.num_gpus {
            return Err(format!(
                "line {line}: layout {parallelism} does not make {} GPUs",
                r.num_gpus
            ));
        }
        out.push(Point {
            base_model: base_model(&r.model_repo),
            model_repo: r.model_repo,
            task,
            precision,
            hardware: hardware.to_string(),
            parallelism,
            max_num_seqs: r.max_num_seqs,
            batch: r.avg_batch_size,
            output_tokens: r.avg_output_len,
            power_w: r.avg_power_watts_all_gpus,
            j_per_token: r.energy_per_token_joules,
            median_itl_ms: r.median_itl_ms,
        });
    }
    Ok(out)
}

/// A measurement with its deployment and request, resolved once.
#[derive(Debug, Clone)]
pub struct Case {
    /// The measurement.
    pub point: Point,
    /// The deployment it ran on.
    pub deployment: Deployment,
    /// The request: assumed prompt, measured output and batch.
    pub request: Request,
    /// Assumptions (`gpu` scope uses none of the facility ones).
    pub assumptions: Assumptions,
}

/// Resolves every point against the catalog. A model or accelerator the catalog lacks, or a
/// deployment it refuses, is an error naming the row: calibration covers every row.
pub fn cases(cat: &Catalog, points: &[Point]) -> Result<Vec<Case>, String> {
    let a = cat
        .region("us-average")
        .map(Assumptions::for_region)
        .map_err(|e| e.to_string())?;
    points
        .iter()
        .map(|p| {
            let m = cat
                .model(&p.model_repo)
                .map_err(|e| format!("{}: {e}", p.model_repo))?;
            let h = cat
                .hardware(&p.hardware)
                .map_err(|e| format!("{}: {e}", p.hardware))?;
            let d = Deployment::with_parallelism(m, h, p.parallelism, Some(p.precision)).map_err(
                |e| format!("{} on {} {}: {e}", p.model_repo, p.hardware, p.parallelism),
            )?;
            Ok(Case {
                deployment: d,
                request: Request {
                    input_tokens: p.task.input_tokens(),
                    output_tokens: p.output_tokens,
                    batch: p.batch,
                },
                assumptions: a,
                point: p.clone(),
            })
        })
        .collect()
}

/// A prediction beside its measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Residual {
    /// The measurement.
    pub point: Point,
    /// Predicted GPU energy per output token, J.
    pub j_per_token: f64,
    /// Predicted median inter-token latency, ms.
    pub median_itl_ms: f64,
    /// Predicted mean GPU power of the replica, W.
    pub power_w: f64,
    /// The batch the prediction ran at (below the measured one only if the KV cache is
    /// predicted too small for it).
    pub batch_used: f64,
}

impl Residual {
    /// Relative error of energy per token (predicted / measured - 1).
    pub fn energy_error(&self) -> f64 {
        self.j_per_token / self.point.j_per_token - 1.0
    }
    /// Relative error of median inter-token latency.
    pub fn itl_error(&self) -> f64 {
        self.median_itl_ms / self.point.median_itl_ms - 1.0
    }
    /// Relative error of power.
    pub fn power_error(&self) -> f64 {
        self.power_w / self.point.power_w - 1.0
    }
}

/// A full set of constants: shared ones and each accelerator's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// Shared constants (the per-accelerator ones of it stand for hardware the fit does not
    /// cover).
    pub global: RooflineParams,
    /// Per accelerator, by catalog id: its [`HARDWARE_CONSTANTS`] (the other fields unused).
    pub per_hardware: BTreeMap<String, RooflineParams>,
}

impl Fit {
    /// The constants shipped today: the defaults with each accelerator's catalog values.
    pub fn shipped(cat: &Catalog, hardware: &[&str]) -> Self {
        let per_hardware = hardware
            .iter()
            .filter_map(|h| cat.hardware(h).ok())
            .map(|hw| (hw.id.clone(), RooflineParams::for_hardware(hw)))
            .collect();
        Self {
            global: RooflineParams::default(),
            per_hardware,
        }
    }

    /// The fits' starting point: textbook values no measurement informed (large GEMMs at
    /// 70% of peak, HBM at 80%, half the power span when active, a millisecond and 50 µs of
    /// host time per iteration and per sequence, kernels as fast as dense bf16, near-uniform
    /// routing). Cross-validation starts every fold here, so no fold starts from constants
    /// that saw its held-out model.
    pub fn neutral(hardware: &[&str]) -> Self {
        let mut global = RooflineParams::default();
        for (name, v) in [
            ("compute_efficiency", 0.7),
            ("memory_efficiency", 0.8),
            ("power_active", 0.5),
            ("power_compute", 0.5),
            ("power_memory", 0.2),
            ("step_overhead_s", 1e-3),
            ("per_seq_overhead_s", 50e-6),
            ("collective_latency_s", 10e-6),
            ("moe_efficiency", 1.0),
            (
                "routing_concentration",
                range(&Knob::Global("routing_concentration")).1,
            ),
            ("fp8_efficiency", 1.0),
            ("fp4_efficiency", 1.0),
            ("ssm_prefill_efficiency", 1.0),
        ] {
            global.set(name, v);
        }
        Self {
            global,
            per_hardware: hardware.iter().map(|id| (id.to_string(), global)).collect(),
        }
    }

    /// The parameter set for one accelerator.
    pub fn params(&self, hardware: &str) -> RooflineParams {
        let mut p = self.global;
        if let Some(h) = self.per_hardware.get(hardware) {
            for name in HARDWARE_CONSTANTS {
                p.set(name, h.get(name).unwrap_or(0.0));
            }
        }
        p
    }

    /// A constant's value.
    pub fn get(&self, k: &Knob) -> f64 {
        match k {
            Knob::Hardware(h, name) => self.per_hardware.get(h).and_then(|p| p.get(name)),
            Knob::Global(name) => self.global.get(name),
        }
        .unwrap_or(0.0)
    }

    fn set(&mut self, k: &Knob, v: f64) {
        match k {
            Knob::Hardware(h, name) => {
                if let Some(p) = self.per_hardware.get_mut(h) {
                    p.set(name, v);
                }
            }
            Knob::Global(name) => self.global.set(name, v),
        }
    }
}

/// Predicts one case under a parameter set.
pub fn predict(c: &Case, params: &RooflineParams) -> Residual {
    let a = &c.assumptions;
    let d = &c.deployment;
    let r = Roofline::new(d, *params);
    let req = c.request.fit_batch(d);
    let e = roofline(d, &r, &req, a, Scope::Gpu);
    Residual {
        j_per_token: e.energy.j() / c.point.output_tokens,
        median_itl_ms: e.itl_median.ms(),
        power_w: e.replica_power.w(),
        batch_used: req.batch,
        point: c.point.clone(),
    }
}

/// Predicts every case with a fit.
pub fn residuals(cases: &[Case], fit: &Fit) -> Vec<Residual> {
    cases
        .iter()
        .map(|c| predict(c, &fit.params(&c.point.hardware)))
        .collect()
}

/// Median of the absolute values.
pub fn median_abs(v: impl IntoIterator<Item = f64>) -> f64 {
    quantile(v.into_iter().map(f64::abs).collect(), 0.5)
}

/// The `q` quantile (linear interpolation) of `v`; 0 when empty.
pub fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let x = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = x.floor() as usize;
    let hi = x.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
}

/// Fit objective: mean absolute log error of energy per token and median ITL, plus a lighter
/// weight on power; each base model weighs the same whatever its number of rows. Absolute
/// (not squared) errors, so a few runs the model cannot explain (the B200 GPQA runs of
/// Qwen3 8B/32B and Nemotron, whose GPUs idle at 300-500 W with inter-token latencies 3-4x
/// the H100's) do not drag every other prediction.
pub fn loss(res: &[Residual]) -> f64 {
    let mut per_model: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for r in res {
        let le = (r.j_per_token / r.point.j_per_token).ln();
        let li = (r.median_itl_ms / r.point.median_itl_ms).ln();
        let lp = (r.power_w / r.point.power_w).ln();
        let e = per_model.entry(&r.point.base_model).or_default();
        e.0 += le.abs() + 1.5 * li.abs() + 0.25 * lp.abs();
        e.1 += 1.0;
    }
    if per_model.is_empty() {
        return 0.0;
    }
    per_model.values().map(|(s, n)| s / n).sum::<f64>() / per_model.len() as f64
}

/// A constant the search may move.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Knob {
    /// One of [`HARDWARE_CONSTANTS`] of the named accelerator.
    Hardware(String, &'static str),
    /// A shared constant.
    Global(&'static str),
}

impl fmt::Display for Knob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Knob::Hardware(h, name) => write!(f, "{h}.{name}"),
            Knob::Global(name) => f.write_str(name),
        }
    }
}

/// Every constant's physical range, by name: efficiencies below 1, overheads of
/// microseconds to milliseconds, a routing concentration from strongly skewed (0.3, a
/// popularity CV of about 1.8) to nearly uniform (20).
pub const RANGES: [(&str, f64, f64); 13] = [
    ("compute_efficiency", 0.2, 0.85),
    ("memory_efficiency", 0.4, 0.95),
    ("power_active", 0.05, 0.9),
    ("power_compute", 0.0, 1.0),
    ("power_memory", 0.0, 1.0),
    ("step_overhead_s", 0.0, 5e-3),
    ("per_seq_overhead_s", 0.0, 150e-6),
    ("collective_latency_s", 3e-6, 50e-6),
    ("moe_efficiency", 0.2, 1.0),
    ("routing_concentration", 0.3, 20.0),
    ("fp8_efficiency", 0.2, 1.2),
    ("fp4_efficiency", 0.1, 1.2),
    ("ssm_prefill_efficiency", 1e-4, 1.0),
];

/// A constant's range (see [`RANGES`]).
pub fn range(k: &Knob) -> (f64, f64) {
    let name = match k {
        Knob::Hardware(_, n) | Knob::Global(n) => *n,
    };
    RANGES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map_or((0.0, 0.0), |(_, lo, hi)| (*lo, *hi))
}

/// Which constants the cases inform: an accelerator's only if it has rows, MoE only with MoE
/// rows, FP8 and 4-bit only with rows in those precisions.
pub fn informed_knobs(cases: &[Case]) -> Vec<Knob> {
    let mut hw: Vec<&str> = cases.iter().map(|c| c.point.hardware.as_str()).collect();
    hw.sort_unstable();
    hw.dedup();
    let mut k = Vec::new();
    for h in hw {
        for name in HARDWARE_CONSTANTS {
            k.push(Knob::Hardware(h.to_string(), name));
        }
    }
    let has = |f: &dyn Fn(&Case) -> bool| cases.iter().any(f);
    if has(&|c| c.deployment.gpus > 1) {
        k.push(Knob::Global("collective_latency_s"));
    }
    if has(&|c| c.deployment.model.is_moe()) {
        k.push(Knob::Global("moe_efficiency"));
        k.push(Knob::Global("routing_concentration"));
    }
    if has(&|c| matches!(c.point.precision, Precision::Fp8 | Precision::Int8)) {
        k.push(Knob::Global("fp8_efficiency"));
    }
    if has(&|c| matches!(c.point.precision, Precision::Fp4 | Precision::Int4)) {
        k.push(Knob::Global("fp4_efficiency"));
    }
    if has(&|c| c.deployment.model.ssm_state_values_per_seq() > 0.0) {
        k.push(Knob::Global("ssm_prefill_efficiency"));
    }
    k
}

/// Fits the `knobs` by coordinate search from `start`: each constant in turn steps up and
/// down by a share of its range, keeping a move when the loss falls; the step halves when no
/// move helps. Deterministic.
pub fn fit(cases: &[Case], start: &Fit, knobs: &[Knob]) -> Fit {
    let mut f = start.clone();
    let mut best = loss(&residuals(cases, &f));
    let mut step = 0.2;
    for _round in 0..400 {
        let mut improved = false;
        for k in knobs {
            let (lo, hi) = range(k);
            for dir in [1.0, -1.0] {
                let v = f.get(k);
                let nv = (v + dir * step * (hi - lo)).clamp(lo, hi);
                if nv == v {
                    continue;
                }
                let mut g = f.clone();
                g.set(k, nv);
                let l = loss(&residuals(cases, &g));
                if l < best {
                    best = l;
                    f = g;
                    improved = true;
                    break;
                }
            }
        }
        if !improved {
            step /= 2.0;
            if step < 2e-4 {
                break;
            }
        }
    }
    f
}

/// Leave-one-model-out cross-validation.
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    /// The held-out predictions, one per row.
    pub residuals: Vec<Residual>,
    /// The fit on all rows (in-sample), the constants to ship.
    pub in_sample: Fit,
    /// Constants that some fold could not cross-validate (only its held-out model informs
    /// them), by fold: (held-out base model, constants taken from the in-sample fit).
    pub in_sample_constants: Vec<(String, Vec<String>)>,
}

/// Fits on every base model but one, predicts that one, for each base model in turn.
pub fn cross_validate(cases: &[Case], start: &Fit) -> CvReport {
    let all_knobs = informed_knobs(cases);
    let in_sample = fit(cases, start, &all_knobs);
    let mut bases: Vec<&str> = cases.iter().map(|c| c.point.base_model.as_str()).collect();
    bases.sort_unstable();
    bases.dedup();
    let mut out = Vec::with_capacity(cases.len());
    let mut notes = Vec::new();
    for b in bases {
        let (test, train): (Vec<Case>, Vec<Case>) =
            cases.iter().cloned().partition(|c| c.point.base_model == b);
        let knobs = informed_knobs(&train);
        let uninformed: Vec<Knob> = all_knobs
            .iter()
            .filter(|k| !knobs.contains(k))
            .cloned()
            .collect();
        // Constants the training rows cannot inform come from the in-sample fit.
        let mut fold_start = start.clone();
        for k in &uninformed {
            fold_start.set(k, in_sample.get(k));
        }
        if !uninformed.is_empty() {
            notes.push((
                b.to_string(),
                uninformed.iter().map(ToString::to_string).collect(),
            ));
        }
        let f = fit(&train, &fold_start, &knobs);
        out.extend(residuals(&test, &f));
    }
    CvReport {
        residuals: out,
        in_sample,
        in_sample_constants: notes,
    }
}

/// Error summary of a group of residuals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Rows.
    pub n: usize,
    /// Base models among them.
    pub models: usize,
    /// Median |error| of J per output token.
    pub energy_median: f64,
    /// 90th percentile |error| of J per output token.
    pub energy_p90: f64,
    /// Median |error| of median ITL.
    pub itl_median: f64,
    /// 90th percentile |error| of median ITL.
    pub itl_p90: f64,
    /// Median predicted / measured J per output token (the group's bias).
    pub energy_bias: f64,
    /// Median predicted / measured ITL.
    pub itl_bias: f64,
}

/// Summarizes residuals.
pub fn summarize<'a>(res: impl IntoIterator<Item = &'a Residual>) -> Summary {
    let res: Vec<&Residual> = res.into_iter().collect();
    let mut models: Vec<&str> = res.iter().map(|r| r.point.base_model.as_str()).collect();
    models.sort_unstable();
    models.dedup();
    let e: Vec<f64> = res.iter().map(|r| r.energy_error().abs()).collect();
    let i: Vec<f64> = res.iter().map(|r| r.itl_error().abs()).collect();
    Summary {
        n: res.len(),
        models: models.len(),
        energy_median: quantile(e.clone(), 0.5),
        energy_p90: quantile(e, 0.9),
        itl_median: quantile(i.clone(), 0.5),
        itl_p90: quantile(i, 0.9),
        energy_bias: quantile(res.iter().map(|r| 1.0 + r.energy_error()).collect(), 0.5),
        itl_bias: quantile(res.iter().map(|r| 1.0 + r.itl_error()).collect(), 0.5),
    }
}

/// Residuals grouped by a key, summarized.
pub fn by<F: Fn(&Point) -> String>(res: &[Residual], key: F) -> BTreeMap<String, Summary> {
    let mut groups: BTreeMap<String, Vec<&Residual>> = BTreeMap::new();
    for r in res {
        groups.entry(key(&r.point)).or_default().push(r);
    }
    groups.into_iter().map(|(k, v)| (k, summarize(v))).collect()
}

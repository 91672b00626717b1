//! The `wattage run` scenario: services (model, hardware, traffic) -> serving fleet -> a site
//! file. Parsed with `deny_unknown_fields`; every error names the file, line, column and field.
//! The site file is read, checked and given the run's overrides here too, so that a bad
//! scenario fails before any simulation starts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wattage_catalog::Precision;
use wattage_site::{RunOptions, Scenario};
use wattage_units::Time;

use crate::error::{Error, Result, site_error};
use crate::io::{Input, Sources, read};
use crate::locate::TomlDoc;
use crate::site::resolve_csv;

/// The built-in default scenario and the site files it may name as `builtin:NAME`.
pub const DEFAULT: &str = include_str!("../../../../scenarios/default.toml");
/// The site scenarios shipped in the binary, by name (`builtin:NAME`).
pub const BUILTIN_SITES: &[(&str, &str)] = &[
    (
        "colossus",
        include_str!("../../../../scenarios/colossus.toml"),
    ),
    (
        "colossus-miners",
        include_str!("../../../../scenarios/colossus-miners.toml"),
    ),
    (
        "peak-shaving",
        include_str!("../../../../scenarios/peak-shaving.toml"),
    ),
];

/// A scenario as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunScenario {
    /// Short name (used for the output folder).
    pub name: String,
    /// Title of the report.
    #[serde(default)]
    pub title: Option<String>,
    /// One paragraph on what it models.
    #[serde(default)]
    pub description: String,
    /// Grid region of the request-level estimate (carbon, water, PUE, price).
    #[serde(default = "default_region")]
    pub region: String,
    /// Seed of every random draw: the serving simulations, the per-request Monte Carlo and
    /// the site simulation (replacing the site file's `[simulation] seed`). Absent: the
    /// serving side uses [`DEFAULT_SEED`] and the site its own file's seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Inference services.
    #[serde(default)]
    pub service: Vec<Service>,
    /// The site that powers them.
    pub site: Site,
    /// The optimizer run on the site.
    #[serde(default)]
    pub optimize: Optimize,
    /// The Monte Carlo over the run's totals.
    #[serde(default)]
    pub uncertainty: UncertaintySettings,
}

/// Seed of the serving simulations and the per-request Monte Carlo when the scenario gives
/// none.
pub const DEFAULT_SEED: u64 = 42;

impl RunScenario {
    /// Seed of the serving simulations and the per-request Monte Carlo.
    pub fn serving_seed(&self) -> u64 {
        self.seed.unwrap_or(DEFAULT_SEED)
    }
}

fn default_region() -> String {
    "us-average".into()
}

/// How a service's fleet is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FleetMethod {
    /// From the serving simulator: capacity at the latency objectives, power at each load.
    #[default]
    Simulate,
    /// From seed 003's flat-utilization method: power = rate x its server energy per
    /// request (replicas still sized by the simulator).
    Flat,
}

/// One inference service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Name for reports.
    pub name: String,
    /// Model: catalog id, alias or Hugging Face repository, or a Hugging Face `config.json`
    /// (a path relative to this file).
    pub model: String,
    /// Accelerator.
    pub hardware: String,
    /// GPUs each attention and dense layer is sharded over (vLLM's
    /// `--tensor-parallel-size`; default: the fewest that hold the weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside one replica, each with its own KV cache (vLLM's
    /// `--data-parallel-size`; default 1). GPUs per replica = tensor x data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_parallel_size: Option<u32>,
    /// Experts spread over all tensor x data GPUs (vLLM's `--enable-expert-parallel`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_expert_parallel: bool,
    /// Deprecated spelling of `tensor_parallel_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus_per_replica: Option<u32>,
    /// Weight precision (default: fp8 for a Hugging Face repository id ending in `-FP8`,
    /// else the model's).
    #[serde(default)]
    pub precision: Option<String>,
    /// The KV cache's type as vLLM's `--kv-cache-dtype` names it: `auto`, `bf16`, `fp16`,
    /// `fp8` (or `bfloat16`, `float16`, `fp8_e4m3`, `fp8_e5m2`); default auto, wattage's
    /// rule: fp8 when the weights are 8-bit or narrower, else bf16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<String>,
    /// Requests per day.
    pub requests_per_day: f64,
    /// Mean prompt tokens.
    pub input_tokens: f64,
    /// Coefficient of variation of prompt tokens (lognormal).
    #[serde(default = "one")]
    pub input_cv: f64,
    /// Mean output tokens.
    pub output_tokens: f64,
    /// Coefficient of variation of output tokens (lognormal).
    #[serde(default = "default_out_cv")]
    pub output_cv: f64,
    /// Ratio of the busiest to the quietest hour's traffic.
    #[serde(default = "default_ptt")]
    pub peak_to_trough: f64,
    /// Hour of the day (0-24) with the most traffic.
    #[serde(default = "default_peak_hour")]
    pub peak_hour: f64,
    /// Most sequences one replica runs at once (vLLM's `max_num_seqs`; default 256). The
    /// mean running batch is what the simulated fleet reaches under this cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_num_seqs: Option<u32>,
    /// Deprecated spelling of `max_num_seqs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<u32>,
    /// 99th-percentile time-to-first-token objective, ms.
    #[serde(default = "default_ttft")]
    pub ttft_p99_ms: f64,
    /// 99th-percentile inter-token-latency objective, ms.
    #[serde(default = "default_itl")]
    pub itl_p99_ms: f64,
    /// How the fleet is derived.
    #[serde(default)]
    pub fleet: FleetMethod,
    /// Scale replicas with traffic: in each 5-minute interval only as many replicas run as
    /// the traffic needs at the latency objectives (at least one); the others are released
    /// and draw no power here. Off: every replica stays on and batches less at night.
    #[serde(default)]
    pub autoscale: bool,
}

fn one() -> f64 {
    1.0
}
fn default_out_cv() -> f64 {
    0.8
}
fn default_ptt() -> f64 {
    2.0
}
fn default_peak_hour() -> f64 {
    15.0
}
/// vLLM's default `max_num_seqs`.
pub const DEFAULT_MAX_NUM_SEQS: u32 = 256;

impl Service {
    /// Most sequences one replica runs at once.
    pub fn max_num_seqs(&self) -> u32 {
        self.max_num_seqs
            .or(self.max_batch)
            .unwrap_or(DEFAULT_MAX_NUM_SEQS)
    }

    /// The tensor-parallel size, under either name.
    pub fn tensor_parallel_size(&self) -> Option<u32> {
        self.tensor_parallel_size.or(self.gpus_per_replica)
    }
}
fn default_ttft() -> f64 {
    3000.0
}
fn default_itl() -> f64 {
    150.0
}

/// The site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// A site scenario file (relative to this file), or `builtin:NAME` (colossus,
    /// colossus-miners, peak-shaving).
    pub scenario: String,
    /// Name of the site's `[[inference]]` load that the services' fleet power replaces
    /// (default: the first).
    #[serde(default)]
    pub inference_load: Option<String>,
    /// Simulated horizon as `<number><unit>` (`48h`, `7d`, `1y`); the same as
    /// `duration_h`, which it replaces (give one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Dispatch step as `<number><unit>` (`10s`); replaces `step_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Resolution of the stored series as `<number><unit>` (`15m`); replaces
    /// `output_resolution_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_resolution: Option<String>,
    /// Simulated hours (default: the site file's).
    #[serde(default)]
    pub duration_h: Option<f64>,
    /// Dispatch step, seconds (default: the site file's).
    #[serde(default)]
    pub step_s: Option<f64>,
    /// Resolution of the stored series, seconds (default: [`DEFAULT_RESOLUTION_S`], or the
    /// step if that is longer).
    #[serde(default)]
    pub output_resolution_s: Option<f64>,
    /// Day of the year shown second by second (1 = 1 January, as the site file's
    /// `start_day_of_year`).
    #[serde(default = "default_day")]
    pub zoom_day: f64,
}

/// Default resolution of the stored site series, seconds.
pub const DEFAULT_RESOLUTION_S: f64 = 900.0;

fn default_day() -> f64 {
    196.0
}

/// The optimizer step of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimize {
    /// Run the LP on the site design.
    #[serde(default)]
    pub enabled: bool,
    /// LP step as `<number><unit>` (`1h`, `30m`); replaces `step_h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// LP horizon as `<number><unit>` (`30d`); replaces `duration_h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// LP step, hours.
    #[serde(default = "one")]
    pub step_h: f64,
    /// LP horizon, hours (default: the whole simulated horizon).
    #[serde(default)]
    pub duration_h: Option<f64>,
    /// LP solver, `clarabel` or `highs` (default: HiGHS when the build has it, else
    /// Clarabel).
    #[serde(default)]
    pub solver: Option<String>,
}

impl Default for Optimize {
    fn default() -> Self {
        Self {
            enabled: false,
            step: None,
            duration: None,
            step_h: 1.0,
            duration_h: None,
            solver: None,
        }
    }
}

/// The Monte Carlo over the run's totals (see [`super::uncertainty`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintySettings {
    /// Site runs drawn; 0 turns the pass off (and its sensitivity pass with it).
    #[serde(default = "default_samples")]
    pub samples: u32,
}

fn default_samples() -> u32 {
    super::uncertainty::DEFAULT_SAMPLES
}

impl Default for UncertaintySettings {
    fn default() -> Self {
        Self {
            samples: default_samples(),
        }
    }
}

/// A loaded scenario with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The scenario.
    pub scenario: RunScenario,
    /// Its path (`built-in default` for the default).
    pub origin: String,
    /// Its text (errors found later point into it).
    pub text: String,
    /// The site scenario: parsed, its CSV profiles read, with the run's `[site]` overrides
    /// and seed applied.
    pub site: Scenario,
    /// Name of the site file: `builtin:NAME` or its path.
    pub site_origin: String,
    /// Index of the site's `[[inference]]` load that the services' fleet power replaces.
    pub load_index: usize,
    /// Raise the work limits of the run to this size (the `max_work` parameter; not in the
    /// file).
    pub max_work: Option<u64>,
    /// Models read from Hugging Face `config.json` files the services name, under the name
    /// as written (added to the catalog when the run resolves its services).
    pub model_files: Vec<wattage_catalog::Model>,
}

impl Loaded {
    /// Deprecation warnings of the scenario (old key names), for the front-end to show.
    pub fn deprecations(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (i, sv) in self.scenario.service.iter().enumerate() {
            for (old, new, given) in [
                (
                    "gpus_per_replica",
                    "tensor_parallel_size",
                    sv.gpus_per_replica.is_some(),
                ),
                ("max_batch", "max_num_seqs", sv.max_batch.is_some()),
            ] {
                if given {
                    w.push(format!(
                        "`{}`: `service[{i}].{old}` is deprecated and will be removed in the next release: use `{new}`",
                        self.origin
                    ));
                }
            }
        }
        w
    }

    /// The catalog with the models of the services' `config.json` files added.
    pub fn catalog(&self, cat: &wattage_catalog::Catalog) -> wattage_catalog::Catalog {
        let mut c = cat.clone();
        for m in &self.model_files {
            if !c.models.iter().any(|x| x.id == m.id) {
                c.models.push(m.clone());
            }
        }
        c
    }

    /// Replaces the run's seed (the serving side's and the site's), as `--seed` does.
    pub fn reseed(&mut self, seed: u64) {
        self.scenario.seed = Some(seed);
        self.site.simulation.seed = seed;
    }

    /// An error of the site engine about the site, named as `wattage simulate site` names it.
    pub fn site_error(&self, e: &wattage_site::ScenarioError) -> Error {
        site_error(Path::new(&self.site_origin), e)
    }
}

/// Loads a scenario (the built-in default when `input` is `None`) and its site file, and
/// checks both, the run's overrides of the site included.
pub fn load(src: &dyn Sources, input: Option<&Input>) -> Result<Loaded> {
    let (text, origin, dir) = match input {
        Some(i) => {
            let (text, origin, path) = i.load(src)?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (text, origin, dir)
        }
        None => (
            DEFAULT.to_string(),
            "built-in default".to_string(),
            PathBuf::new(),
        ),
    };
    let doc = TomlDoc::parse(&origin, &text)?;
    let mut scenario: RunScenario = doc.deserialize()?;
    durations(&mut scenario, &doc)?;
    validate(&scenario, &doc)?;
    let (site, site_origin) = load_site(src, &scenario, &doc, &dir)?;
    let load_index = inference_load(&scenario, &doc, &site, &site_origin)?;
    let mut files = wattage_catalog::Catalog::default();
    for (i, sv) in scenario.service.iter().enumerate() {
        crate::spec::model_file(src, &mut files, &sv.model, Some(&dir))
            .map_err(|e| doc.error(&format!("service[{i}].model"), &e.message))?;
    }
    let horizon_h = site.simulation.duration.h();
    if let Some(d) = scenario.optimize.duration_h
        && d > horizon_h * (1.0 + 1e-9)
    {
        return Err(doc.error(
            "optimize.duration_h",
            &format!("must be at most the site's horizon ({horizon_h} h): the optimizer plans the run's own site"),
        ));
    }
    Ok(Loaded {
        scenario,
        origin,
        text: text.clone(),
        site,
        site_origin,
        load_index,
        max_work: None,
        model_files: files.models,
    })
}

/// Reads the `<number><unit>` duration keys (`[site] duration`, `step`,
/// `output_resolution`; `[optimize] step`, `duration`) into the unit-named ones they
/// replace, checking each at its own line: one vocabulary with the CLI's `--duration` and
/// `--step`. Giving both spellings of one value is an error.
fn durations(s: &mut RunScenario, doc: &TomlDoc) -> Result<()> {
    fn one(
        doc: &TomlDoc,
        text: &mut Option<String>,
        old: &mut Option<f64>,
        field: &str,
        old_field: &str,
        per_unit_s: f64,
        ok: impl Fn(f64) -> Option<&'static str>,
    ) -> Result<()> {
        let Some(t) = text.take() else {
            return Ok(());
        };
        if old.is_some() {
            return Err(doc.error(field, &format!("give `{field}` or `{old_field}`, not both")));
        }
        let d = Time::parse_duration_with_unit(&t)
            .map_err(|e| doc.error(field, &format!("{e}, or use `{old_field}`")))?;
        if let Some(why) = ok(d.s()) {
            return Err(doc.error(field, why));
        }
        *old = Some(d.s() / per_unit_s);
        Ok(())
    }
    let st = &mut s.site;
    one(
        doc,
        &mut st.duration,
        &mut st.duration_h,
        "site.duration",
        "site.duration_h",
        3600.0,
        |x| (!(3600.0..=8784.0 * 3600.0).contains(&x)).then_some("must be 1h to 366d"),
    )?;
    one(
        doc,
        &mut st.step,
        &mut st.step_s,
        "site.step",
        "site.step_s",
        1.0,
        |x| (!(x > 0.0 && x <= 3600.0)).then_some("must be more than 0s and at most 1h"),
    )?;
    one(
        doc,
        &mut st.output_resolution,
        &mut st.output_resolution_s,
        "site.output_resolution",
        "site.output_resolution_s",
        1.0,
        |x| (x < 1.0).then_some("must be at least 1s"),
    )?;
    let o = &mut s.optimize;
    let mut step_h = None;
    one(
        doc,
        &mut o.step,
        &mut step_h,
        "optimize.step",
        "optimize.step_h",
        3600.0,
        |x| {
            (!(x > 0.0 && x <= 3600.0)).then_some(
                "must be more than 0s and at most 1h (the optimizer's step is at most one hour)",
            )
        },
    )?;
    if let Some(h) = step_h {
        o.step_h = h;
    }
    one(
        doc,
        &mut o.duration,
        &mut o.duration_h,
        "optimize.duration",
        "optimize.duration_h",
        3600.0,
        |_| None,
    )?;
    Ok(())
}

/// Reads and parses the site file the run names, reads its CSV profiles and applies the
/// run's overrides. Returns the site and its name for messages.
fn load_site(
    files: &dyn Sources,
    s: &RunScenario,
    src: &TomlDoc,
    dir: &Path,
) -> Result<(Scenario, String)> {
    let (text, origin, path) = match s.site.scenario.strip_prefix("builtin:") {
        Some(name) => {
            let (_, t) = BUILTIN_SITES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| {
                    src.error(
                        "site.scenario",
                        &format!(
                            "unknown built-in site `{name}`; built-in sites: {}",
                            BUILTIN_SITES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            // A built-in site has no directory of its own: CSV paths, if it had any, would
            // be relative to the run file's.
            let origin = format!("builtin:{name}");
            let path = dir.join(&origin);
            (t.to_string(), origin, path)
        }
        None => {
            let p = dir.join(&s.site.scenario);
            (read(files, &p)?, p.display().to_string(), p)
        }
    };
    let mut site = wattage_site::parse_scenario(&text).map_err(|e| site_error(&path, &e))?;
    resolve_csv(files, &mut site, &path)?;
    apply_overrides(s, src, &mut site)?;
    Ok((site, origin))
}

/// Applies the run's `[site]` overrides and seed to the site, checked as the site engine
/// checks a run's options (step, horizon, resolution, stored rows), so that a bad value
/// fails here, at its line, rather than after the serving simulations.
fn apply_overrides(s: &RunScenario, src: &TomlDoc, site: &mut Scenario) -> Result<()> {
    let st = &s.site;
    let sim = &mut site.simulation;
    if let Some(h) = st.duration_h {
        sim.duration = Time::from_h(h);
    }
    if let Some(x) = st.step_s {
        sim.step = Time::from_s(x);
    }
    let res = st
        .output_resolution_s
        .unwrap_or(DEFAULT_RESOLUTION_S.max(sim.step.s()));
    sim.output_resolution = Time::from_s(res);
    if let Some(seed) = s.seed {
        sim.seed = seed;
    }
    // The engine's own checks, now, with the run file's field and line. A horizon shorter
    // than the step is the step's fault when only the step was overridden.
    let horizon_h = site.simulation.duration.h();
    let (steps, per_row) =
        RunOptions::from_scenario(site)
            .check()
            .map_err(|e| match e.field.as_str() {
                "step" => src.error("site.step_s", &e.message),
                "duration" if st.duration_h.is_none() => src.error(
                    "site.step_s",
                    &format!("is longer than the site's horizon ({horizon_h} h)"),
                ),
                "duration" => src.error("site.duration_h", &e.message),
                _ => src.error("site.output_resolution_s", &e.message),
            })?;
    // The report draws the site's series over the run: it needs two stored points.
    let rows = steps.div_ceil(per_row.max(1));
    if rows < 2 {
        let field = if st.output_resolution_s.is_some() {
            "site.output_resolution_s"
        } else if st.duration_h.is_some() {
            "site.duration_h"
        } else {
            "site.step_s"
        };
        return Err(src.error(
            field,
            &format!(
                "leaves {rows} point in the site's series over {horizon_h} h at a resolution of {} s; \
                 the report needs at least 2 (a resolution of at most half the horizon)",
                site.simulation.output_resolution.s()
            ),
        ));
    }
    Ok(())
}

/// Index of the site's inference load that the services replace (`site.inference_load`, or
/// the first).
fn inference_load(
    s: &RunScenario,
    src: &TomlDoc,
    site: &Scenario,
    site_origin: &str,
) -> Result<usize> {
    let Some(n) = &s.site.inference_load else {
        if site.inference.is_empty() {
            return Err(src
                .error(
                    "site.scenario",
                    &format!(
                        "the site `{site_origin}` has no `[[inference]]` load for the services to replace"
                    ),
                ));
        }
        return Ok(0);
    };
    site.inference
        .iter()
        .position(|l| &l.name == n)
        .ok_or_else(|| {
            let names = site
                .inference
                .iter()
                .map(|l| format!("`{}`", l.name))
                .collect::<Vec<_>>();
            src.error(
                "site.inference_load",
                &format!("the site `{site_origin}` has no inference load named `{n}`"),
            )
            .hint(if names.is_empty() {
                "it has no `[[inference]]` load".to_string()
            } else {
                format!("its inference loads: {}", names.join(", "))
            })
        })
}

/// Checks ranges; errors point at the offending value in the file.
fn validate(s: &RunScenario, src: &TomlDoc) -> Result<()> {
    let bad = |field: &str, msg: &str| -> Error { src.error(field, msg) };
    if s.name.trim().is_empty()
        || !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(
            "name",
            "must be non-empty letters, digits, `-` or `_` (it names the output folder)",
        ));
    }
    if s.service.is_empty() {
        return Err(bad("service", "needs at least one `[[service]]` table"));
    }
    for (i, sv) in s.service.iter().enumerate() {
        let f = |k: &str| format!("service[{i}].{k}");
        // The name makes the report's chart ids (`request-NAME`) and file names
        // (`requests_NAME.csv`): checked here, not when the report is drawn.
        if sv.name.is_empty()
            || !sv
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(bad(
                &f("name"),
                &format!(
                    "`{}` must be non-empty lowercase letters, digits, `-` or `_` (it names the report's charts and files)",
                    sv.name
                ),
            ));
        }
        if let Some(j) = s.service[..i].iter().position(|o| o.name == sv.name) {
            return Err(bad(
                &f("name"),
                &format!("`{}` is already the name of `service[{j}]`", sv.name),
            ));
        }
        let pos = |k: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(&f(k), &format!("must be a positive number, got {v}")))
            }
        };
        pos("requests_per_day", sv.requests_per_day)?;
        pos("input_tokens", sv.input_tokens)?;
        pos("output_tokens", sv.output_tokens)?;
        // The serving simulator's ranges (a mean below one token is no length distribution).
        for (k, v) in [
            ("input_tokens", sv.input_tokens),
            ("output_tokens", sv.output_tokens),
        ] {
            crate::limits::check("serving", k, v).map_err(|e| bad(&f(k), &e.message))?;
        }
        pos("ttft_p99_ms", sv.ttft_p99_ms)?;
        pos("itl_p99_ms", sv.itl_p99_ms)?;
        if !(sv.input_cv.is_finite() && (0.0..=5.0).contains(&sv.input_cv)) {
            return Err(bad(&f("input_cv"), "must be between 0 and 5"));
        }
        if !(sv.output_cv.is_finite() && (0.0..=5.0).contains(&sv.output_cv)) {
            return Err(bad(&f("output_cv"), "must be between 0 and 5"));
        }
        if !(sv.peak_to_trough.is_finite() && sv.peak_to_trough >= 1.0) {
            return Err(bad(&f("peak_to_trough"), "must be 1 or more"));
        }
        if !(0.0..=24.0).contains(&sv.peak_hour) {
            return Err(bad(&f("peak_hour"), "must be between 0 and 24"));
        }
        if let Some(p) = &sv.precision
            && let Err(e) = p.parse::<Precision>()
        {
            return Err(bad(&f("precision"), &e));
        }
        for (new, old, new_v, old_v) in [
            (
                "tensor_parallel_size",
                "gpus_per_replica",
                sv.tensor_parallel_size,
                sv.gpus_per_replica,
            ),
            ("max_num_seqs", "max_batch", sv.max_num_seqs, sv.max_batch),
        ] {
            if new_v.is_some() && old_v.is_some() {
                return Err(bad(
                    &f(old),
                    &format!("`{old}` is the old name of `{new}`: give only `{new}`"),
                ));
            }
        }
        let seqs_key = if sv.max_batch.is_some() {
            "max_batch"
        } else {
            "max_num_seqs"
        };
        if !(1..=4096).contains(&sv.max_num_seqs()) {
            return Err(bad(&f(seqs_key), "must be between 1 and 4096"));
        }
        for (k, v) in [
            (
                if sv.gpus_per_replica.is_some() {
                    "gpus_per_replica"
                } else {
                    "tensor_parallel_size"
                },
                sv.tensor_parallel_size(),
            ),
            ("data_parallel_size", sv.data_parallel_size),
        ] {
            if let Some(v) = v {
                let range = if k == "data_parallel_size" {
                    k
                } else {
                    "tensor_parallel_size"
                };
                crate::limits::check("serving", range, f64::from(v))
                    .map_err(|e| bad(&f(k), &e.message))?;
            }
        }
        if sv.requests_per_day > 1e13 {
            return Err(bad(
                &f("requests_per_day"),
                "more than 1e13 requests a day is not plausible",
            ));
        }
    }
    let st = &s.site;
    if let Some(d) = st.duration_h
        && !(d.is_finite() && (1.0..=8784.0).contains(&d))
    {
        return Err(bad("site.duration_h", "must be 1 to 8784 hours"));
    }
    if let Some(d) = st.step_s
        && !(d.is_finite() && d > 0.0 && d <= 3600.0)
    {
        return Err(bad("site.step_s", "must be in (0, 3600] seconds"));
    }
    if let Some(r) = st.output_resolution_s
        && !(r.is_finite() && r >= 1.0)
    {
        return Err(bad("site.output_resolution_s", "must be at least 1 second"));
    }
    if !(1.0..=365.0).contains(&st.zoom_day) {
        return Err(bad(
            "site.zoom_day",
            "must be a day of the year, 1 (1 January) to 365",
        ));
    }
    // The optimizer's own limits (`SiteProblem::from_scenario`): a step of at most one hour
    // and a horizon of at least one step.
    let o = &s.optimize;
    if !(o.step_h.is_finite() && o.step_h > 0.0 && o.step_h <= 1.0) {
        return Err(bad(
            "optimize.step_h",
            &format!(
                "must be in (0, 1] hours (the optimizer's step is at most one hour), got {}",
                o.step_h
            ),
        ));
    }
    if let Err(e) = crate::optimize::solver_param(o.solver.as_deref()) {
        return Err(bad("optimize.solver", &e.message));
    }
    if let Some(d) = o.duration_h
        && !(d.is_finite() && d >= o.step_h)
    {
        return Err(bad(
            "optimize.duration_h",
            &format!(
                "must be at least one step (`optimize.step_h` = {} h), got {d}",
                o.step_h
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The built-in sites parse, need no CSV file, and the default scenario loads.
    #[test]
    fn builtin_sites_parse_without_csv_files() {
        for (name, text) in BUILTIN_SITES {
            let mut sc = wattage_site::parse_scenario(text)
                .unwrap_or_else(|e| panic!("builtin:{name}: {e}"));
            assert!(sc.csv_files().is_empty(), "builtin:{name}");
        }
        let l = load(&crate::io::FileSystem, None).unwrap();
        assert_eq!(l.site_origin, "builtin:colossus");
        assert_eq!(l.site.inference[l.load_index].name, "serving");
    }
}

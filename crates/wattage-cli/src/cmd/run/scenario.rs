//! The `wattage run` scenario: services (model, hardware, traffic) -> serving fleet -> a site
//! file. Parsed with `deny_unknown_fields`; every error names the file, line, column and field.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::common::{UserError, read_text};

/// The built-in default scenario and the site files it may name as `builtin:NAME`.
pub const DEFAULT: &str = include_str!("../../../../../scenarios/default.toml");
const BUILTIN_SITES: &[(&str, &str)] = &[
    (
        "colossus",
        include_str!("../../../../../scenarios/colossus.toml"),
    ),
    (
        "colossus-miners",
        include_str!("../../../../../scenarios/colossus-miners.toml"),
    ),
    (
        "peak-shaving",
        include_str!("../../../../../scenarios/peak-shaving.toml"),
    ),
];

/// A scenario as written.
#[derive(Debug, Clone, Deserialize)]
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
    /// Seed of every random draw.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Inference services.
    #[serde(default)]
    pub service: Vec<Service>,
    /// The site that powers them.
    pub site: Site,
    /// The optimizer run on the site.
    #[serde(default)]
    pub optimize: Optimize,
}

fn default_region() -> String {
    "us-average".into()
}
fn default_seed() -> u64 {
    42
}

/// How a service's fleet is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Name for reports.
    pub name: String,
    /// Model: catalog id, alias or Hugging Face repository.
    pub model: String,
    /// Accelerator.
    pub hardware: String,
    /// Accelerators per replica (default: the fewest that hold the weights).
    #[serde(default)]
    pub gpus_per_replica: Option<u32>,
    /// Weight precision (default: the model's).
    #[serde(default)]
    pub precision: Option<String>,
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
    /// Most sequences one replica batches (vLLM's `max_num_seqs`).
    #[serde(default = "default_max_batch")]
    pub max_batch: u32,
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
fn default_max_batch() -> u32 {
    256
}
fn default_ttft() -> f64 {
    3000.0
}
fn default_itl() -> f64 {
    150.0
}

/// The site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// A site scenario file (relative to this file), or `builtin:NAME` (colossus,
    /// colossus-miners, peak-shaving).
    pub scenario: String,
    /// Name of the site's `[[inference]]` load that the services' fleet power replaces
    /// (default: the first).
    #[serde(default)]
    pub inference_load: Option<String>,
    /// Simulated hours (default: the site file's).
    #[serde(default)]
    pub duration_h: Option<f64>,
    /// Dispatch step, seconds (default: the site file's).
    #[serde(default)]
    pub step_s: Option<f64>,
    /// Resolution of the stored series, seconds.
    #[serde(default = "default_resolution")]
    pub output_resolution_s: f64,
    /// Day of the year shown second by second.
    #[serde(default = "default_day")]
    pub zoom_day: f64,
}

fn default_resolution() -> f64 {
    900.0
}
fn default_day() -> f64 {
    196.0
}

/// The optimizer step of a run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimize {
    /// Run the LP on the site design.
    #[serde(default)]
    pub enabled: bool,
    /// LP step, hours.
    #[serde(default = "one")]
    pub step_h: f64,
    /// LP horizon, hours (default: the whole simulated horizon).
    #[serde(default)]
    pub duration_h: Option<f64>,
}

impl Default for Optimize {
    fn default() -> Self {
        Self {
            enabled: false,
            step_h: 1.0,
            duration_h: None,
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
    /// The site file's text and its name for errors.
    pub site_text: String,
    /// Name of the site file.
    pub site_origin: String,
}

/// 1-based line and column of a byte offset, and the text of that line.
fn locate(text: &str, offset: usize) -> (usize, usize, String) {
    let (line, col) = wattage_catalog::line_col(text, offset);
    let src = text.lines().nth(line - 1).unwrap_or("").to_string();
    (line, col, src)
}

/// A located error in a scenario file, with the line and a caret under the column.
pub fn located(origin: &str, text: &str, offset: usize, field: &str, msg: &str) -> UserError {
    let (line, col, src) = locate(text, offset);
    let field = if field.is_empty() {
        String::new()
    } else {
        format!(" field `{field}`:")
    };
    UserError::new(format!(
        "`{origin}`:{line}:{col}:{field} {msg}\n  |\n{line:>3} | {src}\n  | {}^",
        " ".repeat(col.saturating_sub(1))
    ))
}

/// Loads a scenario file (or the built-in default when `path` is `None`) and its site file.
pub fn load(path: Option<&Path>) -> anyhow::Result<Loaded> {
    let (text, origin, dir) = match path {
        Some(p) => (
            read_text(p)?,
            p.display().to_string(),
            p.parent().map(Path::to_path_buf).unwrap_or_default(),
        ),
        None => (
            DEFAULT.to_string(),
            "built-in default".to_string(),
            PathBuf::new(),
        ),
    };
    let scenario: RunScenario = toml::from_str(&text).map_err(|e| {
        let off = e.span().map_or(0, |s| s.start);
        let field = field_of(e.message());
        located(&origin, &text, off, &field, e.message().trim())
    })?;
    validate(&scenario, &origin, &text)?;
    let (site_text, site_origin) =
        if let Some(name) = scenario.site.scenario.strip_prefix("builtin:") {
            let (_, t) = BUILTIN_SITES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| {
                    let off = text.find(&scenario.site.scenario).unwrap_or(0);
                    located(
                        &origin,
                        &text,
                        off,
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
            (t.to_string(), format!("builtin:{name}"))
        } else {
            let p = dir.join(&scenario.site.scenario);
            (read_text(&p)?, p.display().to_string())
        };
    Ok(Loaded {
        scenario,
        origin,
        site_text,
        site_origin,
    })
}

/// The field a serde message is about, when it says (`unknown field `x``, `missing field`).
fn field_of(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("").to_string()
}

/// Checks ranges and references; errors point at the offending value in the file.
fn validate(s: &RunScenario, origin: &str, text: &str) -> anyhow::Result<()> {
    let at = |key: &str| {
        // The first occurrence of `key =` at the start of a line: good enough to point at it.
        text.lines()
            .scan(0usize, |off, l| {
                let here = *off;
                *off += l.len() + 1;
                Some((here, l))
            })
            .find(|(_, l)| {
                l.trim_start().starts_with(key)
                    && l.trim_start()[key.len()..].trim_start().starts_with('=')
            })
            .map_or(0, |(o, l)| o + (l.len() - l.trim_start().len()))
    };
    let bad = |key: &str, field: &str, msg: &str| -> anyhow::Error {
        located(origin, text, at(key), field, msg).into()
    };
    if s.name.trim().is_empty()
        || !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(
            "name",
            "name",
            "must be non-empty letters, digits, `-` or `_` (it names the output folder)",
        ));
    }
    if s.service.is_empty() {
        return Err(bad(
            "name",
            "service",
            "needs at least one `[[service]]` table",
        ));
    }
    for (i, sv) in s.service.iter().enumerate() {
        let f = |k: &str| format!("service[{i}].{k}");
        let pos = |k: &str, v: f64| -> anyhow::Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(
                    k,
                    &f(k),
                    &format!("must be a positive number, got {v}"),
                ))
            }
        };
        pos("requests_per_day", sv.requests_per_day)?;
        pos("input_tokens", sv.input_tokens)?;
        pos("output_tokens", sv.output_tokens)?;
        pos("ttft_p99_ms", sv.ttft_p99_ms)?;
        pos("itl_p99_ms", sv.itl_p99_ms)?;
        if !(sv.input_cv.is_finite() && (0.0..=5.0).contains(&sv.input_cv)) {
            return Err(bad("input_cv", &f("input_cv"), "must be between 0 and 5"));
        }
        if !(sv.output_cv.is_finite() && (0.0..=5.0).contains(&sv.output_cv)) {
            return Err(bad("output_cv", &f("output_cv"), "must be between 0 and 5"));
        }
        if !(sv.peak_to_trough.is_finite() && sv.peak_to_trough >= 1.0) {
            return Err(bad(
                "peak_to_trough",
                &f("peak_to_trough"),
                "must be 1 or more",
            ));
        }
        if !(0.0..=24.0).contains(&sv.peak_hour) {
            return Err(bad(
                "peak_hour",
                &f("peak_hour"),
                "must be between 0 and 24",
            ));
        }
        if sv.max_batch == 0 || sv.max_batch > 4096 {
            return Err(bad(
                "max_batch",
                &f("max_batch"),
                "must be between 1 and 4096",
            ));
        }
        if sv.requests_per_day > 1e13 {
            return Err(bad(
                "requests_per_day",
                &f("requests_per_day"),
                "more than 1e13 requests a day is not plausible",
            ));
        }
    }
    let st = &s.site;
    if let Some(d) = st.duration_h
        && !(d.is_finite() && (1.0..=8784.0).contains(&d))
    {
        return Err(bad(
            "duration_h",
            "site.duration_h",
            "must be 1 to 8784 hours",
        ));
    }
    if let Some(d) = st.step_s
        && !(d.is_finite() && d > 0.0 && d <= 3600.0)
    {
        return Err(bad("step_s", "site.step_s", "must be in (0, 3600] seconds"));
    }
    if !(st.output_resolution_s.is_finite() && st.output_resolution_s >= 1.0) {
        return Err(bad(
            "output_resolution_s",
            "site.output_resolution_s",
            "must be at least 1 second",
        ));
    }
    if !(1.0..=365.0).contains(&st.zoom_day) {
        return Err(bad(
            "zoom_day",
            "site.zoom_day",
            "must be a day of the year, 1 to 365",
        ));
    }
    if !(s.optimize.step_h.is_finite() && s.optimize.step_h > 0.0 && s.optimize.step_h <= 24.0) {
        return Err(bad("step_h", "optimize.step_h", "must be in (0, 24] hours"));
    }
    Ok(())
}

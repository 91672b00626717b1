//! The sweep job: one base scenario run under many variants (a grid and/or a list of
//! overrides, times seeds), in parallel on every core, one row of KPIs per variant.
//!
//! A sweep file:
//!
//! ```toml
//! name = "battery-and-grid"
//! base = "colossus.toml"     # relative to this file, or builtin:NAME
//! kind = "site"              # "site": a site scenario; "run": a `wattage run` scenario
//! duration = "24h"           # site sweeps: horizon and step of each run (default: the base's)
//! step = "1s"
//! seeds = [1, 2, 3]          # or a count: seeds = 3 means 1, 2, 3 (default: the base's seed)
//!
//! [grid]                     # every combination of these values
//! "batteries[0].energy_mwh" = [200.0, 400.0, 811.0]
//! "grid.import_mw" = [100.0, 150.0]
//!
//! [[variant]]                # and/or named variants, each crossed with the grid
//! name = "small battery"
//! "batteries[0].power_mw" = 50.0
//! ```
//!
//! Keys are paths into the base scenario's TOML (`table.key`, `array[index].key`); values
//! replace what the base has there. Every variant is built and checked before the first
//! runs, so a bad path or value fails at once with the variant it is in. Rows come out in
//! the order of the variants whatever the number of threads, so a sweep is deterministic.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use wattage_catalog::Catalog;
use wattage_report::{Axis, BarLayout, Bars, Chart, Colour, Report, Section, Table, TimeSeries};
use wattage_site::RunOptions;

use crate::error::{Error, Result, site_error};
use crate::io::{Input, Progress, Sources};
use crate::locate::TomlDoc;
use crate::table::{Artifact, encode_records};

/// Most variants one sweep may have.
pub const MAX_VARIANTS: usize = 1_000_000;

/// What each variant runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SweepKind {
    /// A site scenario, simulated (`wattage simulate site`).
    #[default]
    Site,
    /// A `wattage run` scenario, from token to grid (no report is drawn).
    Run,
}

/// `seeds = [1, 2]` or `seeds = 3`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum SeedsRaw {
    Count(u32),
    List(Vec<u64>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    name: Option<String>,
    base: String,
    #[serde(default)]
    kind: SweepKind,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    seeds: Option<SeedsRaw>,
    #[serde(default)]
    grid: toml::Table,
    #[serde(default)]
    variant: Vec<toml::Table>,
}

/// One variant: the overrides it applies and its seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// Position in the sweep (0-based).
    pub index: usize,
    /// Name of the listed variant it comes from (empty for grid-only sweeps).
    pub name: String,
    /// Path and value of each override, in the order of [`SweepSpec::params`].
    pub overrides: Vec<(String, toml::Value)>,
    /// Seed (`None`: the base scenario's).
    pub seed: Option<u64>,
}

/// A parsed sweep: the base scenario and its variants.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// Name (for the output folder).
    pub name: String,
    /// What each variant runs.
    pub kind: SweepKind,
    /// The base scenario's TOML.
    pub base_text: String,
    /// The base scenario's name in errors.
    pub base_origin: String,
    /// The path files named by the base scenario are resolved against.
    pub base_path: PathBuf,
    /// Horizon of each site run (`None`: the base's).
    pub duration: Option<wattage_units::Time>,
    /// Step of each site run (`None`: the base's).
    pub step: Option<wattage_units::Time>,
    /// The swept paths, in column order.
    pub params: Vec<String>,
    /// The variants, in order.
    pub variants: Vec<Variant>,
    /// Raise the work limit (site steps over all variants) to this size (the `max_work`
    /// parameter; not in the file).
    pub max_work: Option<u64>,
}

/// The unit of a swept key, from its name's suffix (`energy_mwh` -> MWh).
fn unit_of(key: &str) -> &'static str {
    let last = key.rsplit('.').next().unwrap_or(key);
    for (suffix, unit) in [
        ("_mwh", "MWh"),
        ("_mw", "MW"),
        ("_kw", "kW"),
        ("_kwh", "kWh"),
        ("_usd_per_mwh", "$/MWh"),
        ("_usd", "USD"),
        ("_kg_per_mwh", "kg/MWh"),
        ("_h", "h"),
        ("_s", "s"),
        ("_ms", "ms"),
        ("_w", "W"),
    ] {
        if last.ends_with(suffix) {
            return unit;
        }
    }
    "value"
}

fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sets `path` (`a.b[2].c`) in `root` to `value`; the path must exist in the base up to its
/// last key (a last key that is absent is added, as the scenario may leave it at default).
fn set_path(
    root: &mut toml::Table,
    path: &str,
    value: toml::Value,
) -> std::result::Result<(), String> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut table = root;
    for (n, seg) in segs.iter().enumerate() {
        let last = n + 1 == segs.len();
        let (key, index) = match seg.split_once('[') {
            Some((k, i)) => {
                let i = i
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| format!("`{seg}` is not `key` or `key[index]`"))?;
                (k, Some(i))
            }
            None => (*seg, None),
        };
        if last && index.is_none() {
            table.insert(key.to_string(), value);
            return Ok(());
        }
        let entry = table
            .get_mut(key)
            .ok_or_else(|| format!("the base scenario has no `{key}` here"))?;
        let next = match index {
            Some(i) => {
                let arr = entry
                    .as_array_mut()
                    .ok_or_else(|| format!("`{key}` is not an array"))?;
                let len = arr.len();
                let item = arr
                    .get_mut(i)
                    .ok_or_else(|| format!("`{key}` has {len} entries, not {}", i + 1))?;
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            None => entry,
        };
        table = next
            .as_table_mut()
            .ok_or_else(|| format!("`{seg}` is not a table"))?;
    }
    Ok(())
}

impl SweepSpec {
    /// Reads a sweep file (or text) and its base scenario through `src`.
    pub fn load(src: &dyn Sources, input: &Input) -> Result<Self> {
        Self::load_with(src, input, None)
    }

    /// [`SweepSpec::load`] with the work limit raised to `max_work` (`--max-work`): a site
    /// sweep whose variants x steps exceed the limit is refused before its variants are
    /// built.
    pub fn load_with(src: &dyn Sources, input: &Input, max_work: Option<u64>) -> Result<Self> {
        let (text, origin, path) = input.load(src)?;
        let doc = TomlDoc::parse(&origin, &text)?;
        let raw: RawSweep = doc.deserialize()?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // Unnamed: a file's stem; text (from Python or a gateway) has no file to name it by.
        let name = raw.name.clone().unwrap_or_else(|| match input {
            Input::Path(_) => path
                .file_stem()
                .map_or("sweep".into(), |s| s.to_string_lossy().into_owned()),
            Input::Text { .. } => "sweep".into(),
        });
        if name.trim().is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(doc.error(
                "name",
                "must be non-empty letters, digits, `-` or `_` (it names the output folder)",
            ));
        }
        let (base_text, base_origin, base_path) = match raw.base.strip_prefix("builtin:") {
            Some(b) => {
                let table: &[(&str, &str)] = match raw.kind {
                    SweepKind::Site => crate::run::scenario::BUILTIN_SITES,
                    SweepKind::Run => &[("default", crate::run::scenario::DEFAULT)],
                };
                let (_, t) = table.iter().find(|(n, _)| *n == b).ok_or_else(|| {
                    doc.error(
                        "base",
                        &format!(
                            "unknown built-in scenario `{b}`; built-in: {}",
                            table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                (t.to_string(), raw.base.clone(), dir.join(&raw.base))
            }
            None => {
                let p = dir.join(&raw.base);
                let t = crate::io::read(src, &p)?;
                (t, p.display().to_string(), p)
            }
        };
        let time = |field: &str, v: &Option<String>| -> Result<Option<wattage_units::Time>> {
            v.as_deref()
                .map(|t| {
                    wattage_units::Time::parse_duration(t, 3600.0).map_err(|e| doc.error(field, &e))
                })
                .transpose()
        };
        let duration = time("duration", &raw.duration)?;
        let step = time("step", &raw.step)?;
        if raw.kind == SweepKind::Run && (duration.is_some() || step.is_some()) {
            return Err(doc.error(
                "duration",
                "`duration` and `step` are for site sweeps; a run sweep sets `site.duration_h` and `site.step_s` in its grid",
            ));
        }
        // The grid: every combination, in the order of its keys.
        let mut params: Vec<String> = Vec::new();
        let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
        for (k, v) in &raw.grid {
            let values = match v {
                toml::Value::Array(a) if !a.is_empty() => a.clone(),
                _ => {
                    return Err(doc.key_error("grid", k, "must be a non-empty array of values"));
                }
            };
            params.push(k.clone());
            axes.push((k.clone(), values));
        }
        let mut listed: Vec<(String, Vec<(String, toml::Value)>)> = Vec::new();
        for (i, t) in raw.variant.iter().enumerate() {
            let mut name = format!("variant {}", i + 1);
            let mut ov = Vec::new();
            for (k, v) in t {
                if k == "name" {
                    name = v.as_str().map_or_else(|| value_text(v), str::to_string);
                    continue;
                }
                if axes.iter().any(|(a, _)| a == k) {
                    return Err(doc.key_error(
                        &format!("variant[{i}]"),
                        k,
                        "is also swept in `[grid]`",
                    ));
                }
                if !params.contains(k) {
                    params.push(k.clone());
                }
                ov.push((k.clone(), v.clone()));
            }
            listed.push((name, ov));
        }
        if listed.is_empty() {
            listed.push((String::new(), Vec::new()));
        }
        let seeds: Vec<Option<u64>> = match &raw.seeds {
            None => vec![None],
            Some(SeedsRaw::Count(0)) => return Err(doc.error("seeds", "must be at least 1")),
            Some(SeedsRaw::Count(n)) if *n as usize > MAX_VARIANTS => {
                return Err(doc.error(
                    "seeds",
                    &format!("more than {MAX_VARIANTS} variants; split the sweep"),
                ));
            }
            Some(SeedsRaw::Count(n)) => (1..=u64::from(*n)).map(Some).collect(),
            Some(SeedsRaw::List(l)) if l.is_empty() => {
                return Err(doc.error("seeds", "must list at least one seed"));
            }
            Some(SeedsRaw::List(l)) => l.iter().copied().map(Some).collect(),
        };
        let combos: usize = axes
            .iter()
            .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
            .and_then(|n| n.checked_mul(listed.len()))
            .and_then(|n| n.checked_mul(seeds.len()))
            .filter(|n| *n <= MAX_VARIANTS)
            .ok_or_else(|| {
                doc.error(
                    "grid",
                    &format!("more than {MAX_VARIANTS} variants; split the sweep"),
                )
            })?;
        if raw.kind == SweepKind::Site
            && let Ok(sc) = wattage_site::parse_scenario(&base_text)
        {
            let mut o = RunOptions::from_scenario(&sc);
            if let Some(d) = duration {
                o.duration = d;
            }
            if let Some(st) = step {
                o.step = st;
            }
            crate::limits::admit(
                crate::limits::Work::SiteSteps,
                crate::site::steps(&o, combos as u64),
                "the variants x the horizon (`duration`) / the step (`step`)",
                max_work,
                &crate::io::Silent,
            )?;
        }
        let mut variants = Vec::with_capacity(combos);
        for (lname, lov) in &listed {
            let grid_n: usize = axes.iter().map(|(_, v)| v.len()).product();
            for g in 0..grid_n {
                let mut rest = g;
                let mut ov: Vec<(String, toml::Value)> = Vec::new();
                // Last key varies fastest.
                let mut picks = vec![0usize; axes.len()];
                for (j, (_, vals)) in axes.iter().enumerate().rev() {
                    picks[j] = rest % vals.len();
                    rest /= vals.len();
                }
                for (j, (k, vals)) in axes.iter().enumerate() {
                    ov.push((k.clone(), vals[picks[j]].clone()));
                }
                ov.extend(lov.iter().cloned());
                ov.sort_by_key(|(k, _)| params.iter().position(|p| p == k));
                for seed in &seeds {
                    variants.push(Variant {
                        index: variants.len(),
                        name: lname.clone(),
                        overrides: ov.clone(),
                        seed: *seed,
                    });
                }
            }
        }
        let spec = SweepSpec {
            name,
            kind: raw.kind,
            base_text,
            base_origin,
            base_path,
            duration,
            step,
            params,
            variants,
            max_work,
        };
        // Every variant's paths apply to the base.
        let base: toml::Table = toml::from_str(&spec.base_text)
            .map_err(|e| crate::locate::toml_error(&spec.base_origin, &spec.base_text, &e))?;
        for v in &spec.variants {
            let mut t = base.clone();
            for (k, val) in &v.overrides {
                set_path(&mut t, k, val.clone()).map_err(|e| {
                    let msg = format!("cannot apply to `{}`: {e}", spec.base_origin);
                    if raw.grid.contains_key(k) {
                        doc.key_error("grid", k, &msg)
                    } else {
                        let i = raw
                            .variant
                            .iter()
                            .position(|t| t.contains_key(k))
                            .unwrap_or(0);
                        doc.key_error(&format!("variant[{i}]"), k, &msg)
                    }
                })?;
            }
        }
        Ok(spec)
    }

    /// The base scenario's TOML with a variant's overrides applied.
    pub fn variant_text(&self, v: &Variant) -> Result<String> {
        let mut t: toml::Table = toml::from_str(&self.base_text)
            .map_err(|e| crate::locate::toml_error(&self.base_origin, &self.base_text, &e))?;
        for (k, val) in &v.overrides {
            set_path(&mut t, k, val.clone()).map_err(|e| Error::input(format!("`{k}`: {e}")))?;
        }
        toml::to_string(&t).map_err(|e| Error::internal(format!("cannot write a variant: {e}")))
    }

    /// The name of a variant in errors.
    fn variant_origin(&self, v: &Variant) -> String {
        let desc: Vec<String> = v
            .overrides
            .iter()
            .map(|(k, x)| format!("{k} = {}", value_text(x)))
            .collect();
        format!(
            "{} (variant {}{}{})",
            self.base_origin,
            v.index + 1,
            if desc.is_empty() { "" } else { ": " },
            desc.join(", ")
        )
    }
}

/// One variant's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// Position in the sweep.
    pub index: usize,
    /// Listed variant's name.
    pub name: String,
    /// Each swept value, as in [`SweepSpec::params`].
    pub values: Vec<toml::Value>,
    /// Seed used.
    pub seed: u64,
    /// Each KPI, as in [`SweepResult::kpis`].
    pub kpis: Vec<f64>,
}

/// A sweep's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepResult {
    /// Sweep name.
    pub name: String,
    /// Swept paths.
    pub params: Vec<String>,
    /// KPI names (units in the names).
    pub kpis: Vec<String>,
    /// One row per variant, in order.
    pub rows: Vec<SweepRow>,
}

fn site_kpis(k: &wattage_site::sim::Kpis) -> Vec<(&'static str, f64)> {
    let s = &k.energy_mwh_by_source;
    vec![
        ("cost_usd", k.cost_usd),
        ("cost_usd_per_mwh", k.cost_usd_per_mwh),
        ("co2e_t", k.co2e_t),
        ("water_m3", k.water_m3),
        ("unserved_mwh", k.unserved_mwh),
        ("interruptions", k.interruptions as f64),
        ("ramp_violations", k.ramp_violations as f64),
        ("peak_grid_import_mw", k.peak_grid_import_mw),
        ("peak_facility_mw", k.peak_facility_mw),
        ("battery_equivalent_cycles", k.battery_equivalent_cycles),
        ("grid_mwh", s.grid),
        ("turbines_mwh", s.turbines),
        ("solar_mwh", s.solar),
        ("battery_discharge_mwh", s.battery_discharge),
        ("turbine_starts", k.turbine_starts as f64),
        ("gpu_hours_lost", k.gpu_hours_lost),
        ("miner_revenue_usd", k.miner_revenue_usd),
        ("max_balance_error_mw", k.max_balance_error_mw),
    ]
}

/// A variant's seed and its KPIs by name.
type VariantKpis = (u64, Vec<(String, f64)>);

/// Checks a sweep's size before it runs: for site sweeps, the base scenario's steps (with
/// the sweep's `duration` and `step`) times the variants run.
fn admit(spec: &SweepSpec, variants: u64, progress: &dyn Progress) -> Result<()> {
    if spec.kind != SweepKind::Site {
        return Ok(());
    }
    // A base that does not parse fails with its own error in the first variant.
    let Ok(sc) = wattage_site::parse_scenario(&spec.base_text) else {
        return Ok(());
    };
    let mut o = RunOptions::from_scenario(&sc);
    if let Some(d) = spec.duration {
        o.duration = d;
    }
    if let Some(s) = spec.step {
        o.step = s;
    }
    crate::limits::admit(
        crate::limits::Work::SiteSteps,
        crate::site::steps(&o, variants),
        "the variants x the horizon (`duration`) / the step (`step`)",
        spec.max_work,
        progress,
    )
}

/// One variant, run.
fn run_variant(
    cat: &Catalog,
    src: &dyn Sources,
    spec: &SweepSpec,
    v: &Variant,
) -> Result<VariantKpis> {
    let text = spec.variant_text(v)?;
    let origin = spec.variant_origin(v);
    match spec.kind {
        SweepKind::Site => {
            let mut sc = wattage_site::parse_scenario(&text)
                .map_err(|e| site_error(Path::new(&origin), &e))?;
            crate::site::resolve_csv(src, &mut sc, &spec.base_path)?;
            let mut o = RunOptions::from_scenario(&sc);
            if let Some(d) = spec.duration {
                o.duration = d;
            }
            if let Some(s) = spec.step {
                o.step = s;
                o.resolution = o.resolution.max(s);
            }
            if let Some(s) = v.seed {
                o.seed = s;
            }
            o.keep_series = false;
            let r =
                wattage_site::simulate(&sc, &o).map_err(|e| site_error(Path::new(&origin), &e))?;
            Ok((
                o.seed,
                site_kpis(&r.kpis)
                    .into_iter()
                    .map(|(k, x)| (k.to_string(), x))
                    .collect(),
            ))
        }
        SweepKind::Run => {
            let mut text = text;
            if let Some(s) = v.seed {
                let mut t: toml::Table =
                    toml::from_str(&text).map_err(|e| Error::internal(format!("variant: {e}")))?;
                t.insert("seed".into(), toml::Value::Integer(s as i64));
                text = toml::to_string(&t).map_err(|e| Error::internal(format!("variant: {e}")))?;
            }
            let input = Input::Text {
                text,
                name: origin,
                dir: spec
                    .base_path
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
            };
            let loaded = crate::run::load(src, Some(&input))?;
            let r = crate::run::execute(cat, loaded, &crate::io::Silent)?;
            let s = r.summary();
            let mut k: Vec<(String, f64)> = site_kpis(&r.year.kpis)
                .into_iter()
                .map(|(k, x)| (k.to_string(), x))
                .collect();
            for sv in &s.services {
                k.push((format!("{}_energy_wh", sv.name), sv.request.energy_wh));
                k.push((
                    format!("{}_facility_wh_per_request", sv.name),
                    sv.fleet.facility_wh_per_request,
                ));
                k.push((format!("{}_gpus", sv.name), sv.fleet.gpus as f64));
            }
            if let Some(o) = &s.optimized {
                k.push(("lp_objective_usd".into(), o.objective_usd));
            }
            Ok((s.seed.site, k))
        }
    }
}

/// Runs the variants in `range` (all when `None`) on `threads` threads (all cores when
/// `None`), telling `progress` as each ends. Rows come out in variant order.
pub fn run(
    cat: &Catalog,
    src: &dyn Sources,
    spec: &SweepSpec,
    range: Option<Range<usize>>,
    threads: Option<usize>,
    progress: &dyn Progress,
) -> Result<SweepResult> {
    let range = range.unwrap_or(0..spec.variants.len());
    if range.start > range.end || range.end > spec.variants.len() {
        return Err(Error::param(
            "variants",
            format!(
                "{}..{} is outside the sweep's {} variants",
                range.start,
                range.end,
                spec.variants.len()
            ),
        ));
    }
    let todo = &spec.variants[range];
    let total = todo.len() as u64;
    admit(spec, total, progress)?;
    let done = AtomicU64::new(0);
    progress.stage(&format!("sweep `{}`: {total} variants", spec.name));
    let work = || -> Vec<Result<VariantKpis>> {
        todo.par_iter()
            .map(|v| {
                let r = run_variant(cat, src, spec, v);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress.advance(n, total);
                r
            })
            .collect()
    };
    let results = match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| Error::internal(format!("cannot start threads: {e}")))?
            .install(work),
        None => work(),
    };
    progress.end_stage();
    let mut kpis: Vec<String> = Vec::new();
    let mut rows = Vec::with_capacity(results.len());
    for (v, r) in todo.iter().zip(results) {
        let (seed, k) = r?;
        if kpis.is_empty() {
            kpis = k.iter().map(|(n, _)| n.clone()).collect();
        }
        let mut values = Vec::with_capacity(kpis.len());
        for name in &kpis {
            values.push(k.iter().find(|(n, _)| n == name).map_or(0.0, |(_, x)| *x));
        }
        rows.push(SweepRow {
            index: v.index,
            name: v.name.clone(),
            values: spec
                .params
                .iter()
                .map(|p| {
                    v.overrides
                        .iter()
                        .find(|(k, _)| k == p)
                        .map_or(toml::Value::String(String::new()), |(_, x)| x.clone())
                })
                .collect(),
            seed,
            kpis: values,
        });
    }
    Ok(SweepResult {
        name: spec.name.clone(),
        params: spec.params.clone(),
        kpis,
        rows,
    })
}

impl SweepResult {
    /// Column names of the table: `variant`, `name`, the swept paths, `seed`, the KPIs.
    pub fn columns(&self) -> Vec<String> {
        let mut c = vec!["variant".to_string(), "name".to_string()];
        c.extend(self.params.iter().cloned());
        c.push("seed".into());
        c.extend(self.kpis.iter().cloned());
        c
    }

    /// The table's cells as text, one row per variant.
    pub fn records(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                let mut c = vec![r.index.to_string(), r.name.clone()];
                c.extend(r.values.iter().map(value_text));
                c.push(r.seed.to_string());
                // Debug formatting keeps a decimal point (`0.0`), so every KPI column is
                // typed as a float however its values fall.
                c.extend(r.kpis.iter().map(|x| format!("{x:?}")));
                c
            })
            .collect()
    }

    /// `sweep.csv`, `sweep.parquet` and `sweep.html` (the KPIs against the swept values).
    pub fn artifacts(&self) -> Result<Vec<Artifact>> {
        let (csv, pq) = encode_records(&self.columns(), &self.records())?;
        let rep = self.report();
        let html = wattage_report::render_html(&rep)
            .map_err(|e| Error::internal(format!("rendering the sweep: {e}")))?;
        Ok(vec![
            Artifact::new("sweep.csv", csv),
            Artifact::new("sweep.parquet", pq),
            Artifact::new("sweep.html", html),
        ])
    }

    /// The page: a table of the swept values, and a chart per headline KPI that varies,
    /// against the first swept value (lines or bar groups for each combination of the
    /// others, seeds averaged).
    pub fn report(&self) -> Report {
        let mut rep = Report::new(format!("Sweep `{}`", self.name))
            .subtitle(format!(
                "{} variants over {}",
                self.rows.len(),
                if self.params.is_empty() {
                    "seeds".to_string()
                } else {
                    self.params.join(", ")
                }
            ))
            .generated_by(format!("wattage {}", env!("CARGO_PKG_VERSION")));
        let mut charts = Section::new("KPIs against the swept values").paragraph(
            "Each point is the mean over the seeds of one combination of the swept values; only KPIs that vary across the sweep are drawn.",
        );
        let Some(first) = self.params.first() else {
            return rep.section(charts);
        };
        let headline = [
            ("cost_usd", "Cost", "USD"),
            ("co2e_t", "Emissions", "t CO2e"),
            ("unserved_mwh", "Unserved energy", "MWh"),
            ("ramp_violations", "Ramp violations", "steps"),
            ("peak_grid_import_mw", "Peak grid import", "MW"),
            ("battery_equivalent_cycles", "Battery cycles", "cycles"),
            ("interruptions", "AI interruptions", "events"),
            ("water_m3", "Water", "m³"),
        ];
        // x values of the first parameter, in first-seen order; sorted when all numeric.
        let mut xs: Vec<String> = Vec::new();
        let mut numeric = true;
        for r in &self.rows {
            let t = value_text(&r.values[0]);
            if !xs.contains(&t) {
                numeric &= r.values[0].as_float().is_some() || r.values[0].as_integer().is_some();
                xs.push(t);
            }
        }
        let xnum = |t: &str| t.parse::<f64>().unwrap_or(0.0);
        if numeric {
            xs.sort_by(|a, b| xnum(a).total_cmp(&xnum(b)));
        }
        let group = |r: &SweepRow| -> String {
            self.params
                .iter()
                .zip(&r.values)
                .skip(1)
                .map(|(p, v)| format!("{p} = {}", value_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut groups: Vec<String> = Vec::new();
        for r in &self.rows {
            let g = group(r);
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        groups.truncate(8);
        for (id, label, unit) in headline {
            let Some(ki) = self.kpis.iter().position(|k| k == id) else {
                continue;
            };
            let lo = self
                .rows
                .iter()
                .map(|r| r.kpis[ki])
                .fold(f64::INFINITY, f64::min);
            let hi = self
                .rows
                .iter()
                .map(|r| r.kpis[ki])
                .fold(f64::NEG_INFINITY, f64::max);
            // Nothing to draw when the KPI does not vary (or is not a number).
            if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
            // mean per (group, x)
            let mut cells: BTreeMap<(usize, usize), (f64, u32)> = BTreeMap::new();
            for r in &self.rows {
                let (Some(g), Some(x)) = (
                    groups.iter().position(|g| *g == group(r)),
                    xs.iter().position(|x| *x == value_text(&r.values[0])),
                ) else {
                    continue;
                };
                let e = cells.entry((g, x)).or_insert((0.0, 0));
                e.0 += r.kpis[ki];
                e.1 += 1;
            }
            let series: Vec<(String, Vec<f64>)> = groups
                .iter()
                .enumerate()
                .filter_map(|(g, name)| {
                    let v: Option<Vec<f64>> = (0..xs.len())
                        .map(|x| cells.get(&(g, x)).map(|(s, n)| s / f64::from(*n)))
                        .collect();
                    v.map(|v| {
                        (
                            if name.is_empty() {
                                label.to_string()
                            } else {
                                name.clone()
                            },
                            v,
                        )
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let chart = if numeric && xs.len() >= 2 {
                let mut ts = TimeSeries::new(
                    Axis::new(first.clone(), unit_of(first)),
                    Axis::new(label, unit),
                    xs.iter().map(|x| xnum(x)).collect(),
                );
                for (i, (n, v)) in series.into_iter().enumerate() {
                    ts = ts.line(n, Colour::Palette(i as u8), v);
                }
                Chart::new(
                    format!("sweep-{id}"),
                    format!("{label} against {first}"),
                    ts,
                )
            } else {
                let mut b = Bars::new(
                    first.clone(),
                    xs.clone(),
                    Axis::new(label, unit),
                    BarLayout::Grouped,
                );
                for (i, (n, v)) in series.into_iter().enumerate() {
                    b = b.series(n, Colour::Palette(i as u8), v);
                }
                Chart::new(format!("sweep-{id}"), format!("{label} by {first}"), b)
            };
            charts = charts.chart(chart);
        }
        rep = rep.section(charts);
        let mut t = Table::new(
            "Variants",
            self.columns().into_iter().take(3 + self.params.len() + 3),
        );
        for rec in self.records().into_iter().take(200) {
            t = t.row(rec.into_iter().take(3 + self.params.len() + 3).map(|c| {
                c.parse::<f64>()
                    .ok()
                    .filter(|x| x.fract() != 0.0)
                    .map_or(c.clone(), |x| wattage_report::format::significant(x, 4))
            }));
        }
        rep.section(Section::new("Variants (first 200)").table(t))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_unnamed_sweep_given_as_text_is_named_sweep() {
        let input = Input::Text {
            text: "base = \"builtin:peak-shaving\"\n".into(),
            name: "<string>".into(),
            dir: PathBuf::new(),
        };
        let s = SweepSpec::load(&crate::io::FileSystem, &input).unwrap();
        assert_eq!(s.name, "sweep");
        assert_eq!(s.variants.len(), 1);
    }

    #[test]
    fn paths_set_nested_values() {
        let mut t: toml::Table = toml::from_str(
            "[grid]\nimport_mw = 1.0\n[[batteries]]\nname = \"a\"\nenergy_mwh = 2.0\n",
        )
        .unwrap();
        set_path(&mut t, "grid.import_mw", toml::Value::Float(5.0)).unwrap();
        set_path(&mut t, "batteries[0].energy_mwh", toml::Value::Float(9.0)).unwrap();
        set_path(&mut t, "grid.new_key", toml::Value::Integer(3)).unwrap();
        assert_eq!(t["grid"]["import_mw"].as_float(), Some(5.0));
        assert_eq!(t["batteries"][0]["energy_mwh"].as_float(), Some(9.0));
        assert!(set_path(&mut t, "batteries[3].energy_mwh", toml::Value::Float(1.0)).is_err());
        assert!(set_path(&mut t, "nothing.here", toml::Value::Float(1.0)).is_err());
    }
}

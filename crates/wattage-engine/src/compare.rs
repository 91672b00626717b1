//! The compare job: several run scenarios, each checked before the first runs, set side by
//! side.
//!
//! What separates the runs is found by diffing, never by reading text:
//! - **inputs**: each run scenario as parsed (defaults filled in) and each site file as parsed
//!   TOML, flattened to field paths (`service[0].model`, `batteries[0].power_mw`) and compared
//!   value by value (numbers as numbers, so `400` equals `400.0`). Names, titles and
//!   descriptions are left out, and so is the site file's path when the sites are the same.
//!   Inputs are *identical* when no field differs and the sites, CSV profiles and the run's
//!   overrides included, are equal.
//! - **results**: every number of each run's `summary.json`, flattened the same way but with
//!   list elements named by their key (`site.ramp_violations`, `services[chat].fleet.gpus`,
//!   `headlines[site_energy_cost_usd].value`), so a figure the summary gains is compared
//!   without code here. Solver statistics, timings and the inputs the summary echoes
//!   (horizon, step, seeds, samples) are left out. A figure *differs* when its spread passes
//!   both thresholds of [`Thresholds`] (1 % of the largest value and 0.001 of its unit by
//!   default). Figures come in this order: what separates site designs (ramp violations,
//!   interruptions, unserved energy, lost GPU-hours, battery cycles, grid peak), the run's
//!   headline figures with their own labels (energy cost, capital and lost work apart, as
//!   the report has them), the optimizer's cost and design, then the rest under their paths.
//!   A figure with the same values as one above it is marked `same_as` and shown once.
//!
//! The output folder holds `compare.html` (the inputs that differ, the figures that differ,
//! charts of those alone, links to each run's report), `compare.json` ([`ComparisonSummary`],
//! what `wattage compare --json` prints), `compare.csv` (every input that differs and every
//! figure, one column per run) and each run's own folder, as `wattage run -o` writes it.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use wattage_catalog::Catalog;
use wattage_report::{ComparedRun, ComparisonPage, InputRow, MetricRow, Thresholds};

use crate::error::{Error, Result};
use crate::io::{Input, Progress, Sources, read};
use crate::run::{self, Loaded, RunResult, RunSummary};
use crate::table::{Artifact, encode_records};

/// How runs are compared.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CompareOptions {
    /// What counts as a difference (`rel_tol`, `abs_tol`).
    pub thresholds: Thresholds,
    /// Raise each run's work limits to this size (`max_work`).
    pub max_work: Option<u64>,
    /// Replace every scenario's seed with this one (`seed`, as `run --seed`).
    pub seed: Option<u64>,
}

impl CompareOptions {
    /// Options with the given thresholds (`None` keeps the default), checked.
    pub fn new(rel_tol: Option<f64>, abs_tol: Option<f64>) -> Result<Self> {
        let mut t = Thresholds::default();
        if let Some(v) = rel_tol {
            t.rel = crate::limits::check("compare", "rel_tol", v)?;
        }
        if let Some(v) = abs_tol {
            t.abs = crate::limits::check("compare", "abs_tol", v)?;
        }
        Ok(Self {
            thresholds: t,
            max_work: None,
            seed: None,
        })
    }
}

/// One run of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRef {
    /// Name in the comparison: the scenario's name, with `-2`, `-3` appended to repeats. It
    /// is also the run's folder.
    pub name: String,
    /// The scenario file.
    pub file: String,
    /// Its site file.
    pub site_file: String,
    /// The run's report, relative to the comparison's folder.
    pub report: String,
}

/// One input that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputDiff {
    /// `scenario` (the run file) or `site` (its site file).
    pub file: &'static str,
    /// Field path in that file, for example `batteries[0].power_mw`.
    pub field: String,
    /// The value in each run; `null` where a run does not set it.
    pub values: Vec<Value>,
}

/// One figure of every run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiRow {
    /// Field path in `summary.json`, for example `site.ramp_violations`.
    pub field: String,
    /// What it is.
    pub label: String,
    /// Unit; empty for a ratio or a count without one.
    pub unit: String,
    /// The value in each run; `null` where a run lacks it.
    pub values: Vec<Option<f64>>,
    /// Whether the values differ beyond the thresholds.
    pub differs: bool,
    /// The field of a figure listed before with the same values in every run (the same
    /// figure under two names); such a figure is shown once.
    pub same_as: Option<String>,
    /// Whether `compare.html` charts it when it differs.
    pub chart: bool,
}

/// `compare.json`: what `wattage compare --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonSummary {
    /// The runs, in the order given.
    pub scenarios: Vec<ScenarioRef>,
    /// What counts as a difference.
    pub thresholds: Thresholds,
    /// True when no input differs.
    pub identical_inputs: bool,
    /// The inputs that differ.
    pub inputs: Vec<InputDiff>,
    /// Every figure of the summaries, those that differ first.
    pub kpis: Vec<KpiRow>,
    /// Each run's `summary.json`.
    pub runs: Vec<RunSummary>,
}

/// Several runs side by side.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Each run with its summary, in the order given.
    pub runs: Vec<(RunResult, RunSummary)>,
    /// What separates them.
    pub summary: ComparisonSummary,
}

/// Loads every scenario (so a bad file fails before any run), diffs their inputs, then runs
/// them in order and diffs their summaries.
pub fn run(
    cat: &Catalog,
    src: &dyn Sources,
    inputs: &[Input],
    options: &CompareOptions,
    progress: &dyn Progress,
) -> Result<Comparison> {
    if inputs.len() < 2 {
        return Err(Error::input("compare needs two or more scenarios"));
    }
    let mut loaded = inputs
        .iter()
        .map(|i| run::load(src, Some(i)))
        .collect::<Result<Vec<_>>>()?;
    for l in &mut loaded {
        run::deployments(cat, l)?;
        l.max_work = options.max_work;
        if let Some(seed) = options.seed {
            l.reseed(seed);
        }
    }
    let input_diffs = diff_inputs(src, &loaded)?;
    let names = unique_names(loaded.iter().map(|l| l.scenario.name.as_str()));
    let scenarios = loaded
        .iter()
        .zip(&names)
        .map(|(l, n)| ScenarioRef {
            name: n.clone(),
            file: l.origin.clone(),
            site_file: l.site_origin.clone(),
            report: format!("{n}/report.html"),
        })
        .collect();
    let mut runs = Vec::new();
    for l in loaded {
        let r = run::execute(cat, l, progress)?;
        let s = r.summary();
        runs.push((r, s));
    }
    let summaries: Vec<RunSummary> = runs.iter().map(|(_, s)| s.clone()).collect();
    let kpis = diff_kpis(&summaries, &options.thresholds)?;
    Ok(Comparison {
        runs,
        summary: ComparisonSummary {
            scenarios,
            thresholds: options.thresholds,
            identical_inputs: input_diffs.is_empty(),
            inputs: input_diffs,
            kpis,
            runs: summaries,
        },
    })
}

/// Names made unique by appending `-2`, `-3`, ... to repeats.
fn unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let mut name = n.to_string();
        let mut k = 1;
        while out.contains(&name) {
            k += 1;
            name = format!("{n}-{k}");
        }
        out.push(name);
    }
    out
}

/// The name an element of a list goes by in a path: its `key`, `factor` or `name` field.
fn element_key(x: &Value) -> Option<&str> {
    ["key", "factor", "name"]
        .iter()
        .find_map(|k| x.get(*k).and_then(Value::as_str))
}

/// A JSON tree flattened to `(path, leaf)` in order: objects as `a.b`, lists as `a[0]`, or,
/// with `keyed`, as `a[chat]` when every element has a distinct [`element_key`] (so a
/// summary's services or headlines match by name, whatever their order).
fn flatten(prefix: &str, v: &Value, keyed: bool, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, keyed, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let keys: Option<Vec<&str>> = a.iter().map(element_key).collect();
            let keys =
                keys.filter(|k| keyed && k.iter().enumerate().all(|(i, x)| !k[..i].contains(x)));
            for (i, x) in a.iter().enumerate() {
                let p = match &keys {
                    Some(k) => format!("{prefix}[{}]", k[i]),
                    None => format!("{prefix}[{i}]"),
                };
                flatten(&p, x, keyed, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

/// Every object of a tree that is a labelled figure (`label`, `unit` and a numeric `value`,
/// as the summary's headlines), by its path, with its label and unit.
fn figures(prefix: &str, v: &Value, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(l)), Some(Value::String(u)), Some(Value::Number(_))) =
                (m.get("label"), m.get("unit"), m.get("value"))
            {
                out.push((prefix.to_string(), l.clone(), u.clone()));
                return;
            }
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                figures(&p, x, out);
            }
        }
        Value::Array(a) => {
            let keys: Option<Vec<&str>> = a.iter().map(element_key).collect();
            let keys = keys.filter(|k| k.iter().enumerate().all(|(i, x)| !k[..i].contains(x)));
            for (i, x) in a.iter().enumerate() {
                let p = match &keys {
                    Some(k) => format!("{prefix}[{}]", k[i]),
                    None => format!("{prefix}[{i}]"),
                };
                figures(&p, x, out);
            }
        }
        _ => {}
    }
}

/// Every path of several trees, in order of first appearance, with each tree's leaf.
fn align(trees: &[Vec<(String, Value)>]) -> Vec<(String, Vec<Option<Value>>)> {
    let mut rows: Vec<(String, Vec<Option<Value>>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (t, tree) in trees.iter().enumerate() {
        for (path, v) in tree {
            let i = *index.entry(path.clone()).or_insert_with(|| {
                rows.push((path.clone(), vec![None; trees.len()]));
                rows.len() - 1
            });
            rows[i].1[t] = Some(v.clone());
        }
    }
    rows
}

/// Two leaves are the same input: numbers compare as numbers.
fn same(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn differing(rows: Vec<(String, Vec<Option<Value>>)>, file: &'static str) -> Vec<InputDiff> {
    rows.into_iter()
        .filter(|(_, vs)| vs.iter().any(|v| !same(v, &vs[0])))
        .map(|(field, vs)| InputDiff {
            file,
            field,
            values: vs.into_iter().map(|v| v.unwrap_or(Value::Null)).collect(),
        })
        .collect()
}

/// The text of a run's site file, as the run read it.
fn site_text(src: &dyn Sources, l: &Loaded) -> Result<String> {
    match l.site_origin.strip_prefix("builtin:") {
        Some(name) => run::scenario::BUILTIN_SITES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| Error::internal(format!("no built-in site `{name}`"))),
        None => read(src, Path::new(&l.site_origin)),
    }
}

/// The inputs that differ between loaded runs: run-file fields, then site-file fields.
fn diff_inputs(src: &dyn Sources, loaded: &[Loaded]) -> Result<Vec<InputDiff>> {
    let ser = |e: serde_json::Error| Error::internal(format!("cannot compare the inputs: {e}"));
    let mut run_trees = Vec::new();
    let mut site_trees = Vec::new();
    for l in loaded {
        let mut v = serde_json::to_value(&l.scenario).map_err(ser)?;
        if let Value::Object(m) = &mut v {
            for k in ["name", "title", "description"] {
                m.remove(k);
            }
        }
        let mut t = Vec::new();
        flatten("", &v, false, &mut t);
        run_trees.push(t);

        let text = site_text(src, l)?;
        let site: toml::Value = toml::from_str(&text)
            .map_err(|e| Error::internal(format!("cannot re-read `{}`: {e}", l.site_origin)))?;
        let mut v = serde_json::to_value(&site).map_err(ser)?;
        if let Value::Object(m) = &mut v {
            for k in ["name", "description"] {
                m.remove(k);
            }
        }
        let mut t = Vec::new();
        flatten("", &v, false, &mut t);
        site_trees.push(t);
    }
    let mut runs = differing(align(&run_trees), "scenario");
    let sites = differing(align(&site_trees), "site");
    let same_sites = loaded.iter().all(|l| l.site == loaded[0].site);
    if sites.is_empty() && same_sites {
        // The same site under two paths is no difference.
        runs.retain(|d| d.field != "site.scenario");
    }
    let mut out = runs;
    out.extend(sites);
    if out.is_empty() && !same_sites {
        // Equal files that read different CSV profiles (the same names in two folders).
        out.push(InputDiff {
            file: "site",
            field: "CSV profiles (their contents)".into(),
            values: loaded
                .iter()
                .map(|l| Value::String(l.site_origin.clone()))
                .collect(),
        });
    }
    Ok(out)
}

/// Summary fields that are not results: inputs the summary echoes, solver statistics and
/// timings, and checks of the arithmetic (a trailing `.` names a subtree).
const NOT_RESULTS: &[&str] = &[
    "seed.",
    "site.hours",
    "site.step_s",
    "site.max_balance_error_mw",
    "optimized.steps",
    "optimized.step_s",
    "optimized.duration_h",
    "optimized.build_s",
    "optimized.solve_s",
    "optimized.lp_cols",
    "optimized.lp_rows",
    "optimized.lp_nnz",
    "optimized.solver_iterations",
    "optimized.mip_gap",
    "optimized.rule_based.step_s",
    "uncertainty.samples",
    "uncertainty.seed",
    "uncertainty.step_s",
];

fn is_result(path: &str) -> bool {
    !NOT_RESULTS
        .iter()
        .any(|p| path == *p || (p.ends_with('.') && path.starts_with(p)))
}

/// Where a figure comes in the table: what separates site designs first, then the run's
/// headline figures (labelled in the summary, costs kept apart as the report keeps them),
/// then the optimizer's cost and design, then every other figure under its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Reliability,
    Headline,
    Optimizer,
    Other,
}

/// Summary fields with a label of their own: (path, label, unit, group). Figures of the
/// first three groups are charted when they differ.
const LABELLED: &[(&str, &str, &str, Group)] = &[
    (
        "site.ramp_violations",
        "Ramp violations",
        "steps",
        Group::Reliability,
    ),
    (
        "site.interruptions",
        "AI interruptions",
        "events",
        Group::Reliability,
    ),
    (
        "site.unserved_mwh",
        "Unserved energy",
        "MWh",
        Group::Reliability,
    ),
    (
        "site.gpu_hours_lost",
        "GPU-hours of work lost",
        "GPU-h",
        Group::Reliability,
    ),
    (
        "site.battery_equivalent_cycles",
        "Battery equivalent full cycles",
        "cycles",
        Group::Reliability,
    ),
    (
        "site.peak_grid_import_mw",
        "Grid peak import",
        "MW",
        Group::Reliability,
    ),
    (
        "optimized.objective_usd",
        "LP optimal cost",
        "$",
        Group::Optimizer,
    ),
    (
        "optimized.emissions_t",
        "LP emissions",
        "t CO2e",
        Group::Optimizer,
    ),
    (
        "optimized.unserved_mwh",
        "LP unserved energy",
        "MWh",
        Group::Optimizer,
    ),
    (
        "optimized.capacities.grid_import_mw",
        "LP design: grid import",
        "MW",
        Group::Optimizer,
    ),
    (
        "site.cost_usd",
        "Site cost: energy, lost work and miners summed",
        "$",
        Group::Other,
    ),
    ("site.co2e_t", "Emissions", "t CO2e", Group::Other),
    ("site.water_m3", "Water", "m³", Group::Other),
    ("site.water_fresh_m3", "Fresh water", "m³", Group::Other),
    (
        "site.peak_facility_mw",
        "Peak facility load",
        "MW",
        Group::Other,
    ),
];

/// The unit a summary path names (`_mwh`, `_usd`, `_t`, ...), searched from the last
/// segment back, so `site.energy_mwh_by_source.grid` is in MWh.
fn unit_of(path: &str) -> &'static str {
    let segs: Vec<&str> = path
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    for seg in segs.iter().rev() {
        for (suffix, unit) in [
            ("usd_per_mwh", "$/MWh"),
            ("usd_per_gpu_hour", "$/GPU-h"),
            ("per_s", "1/s"),
        ] {
            if seg.contains(suffix) {
                return unit;
            }
        }
        for tok in seg.split('_').rev() {
            let u = match tok {
                "mwh" => "MWh",
                "gwh" => "GWh",
                "wh" => "Wh",
                "mw" => "MW",
                "usd" => "$",
                "ms" => "ms",
                "s" => "s",
                "h" => "h",
                "t" => "t CO2e",
                "g" => "g CO2e",
                "ml" => "mL",
                "m3" => "m³",
                _ => continue,
            };
            return u;
        }
    }
    ""
}

/// Label, unit, group and rank of a summary path.
fn describe(path: &str, figs: &[(String, String, String)]) -> (String, String, Group, usize) {
    if let Some(i) = LABELLED.iter().position(|(p, ..)| *p == path) {
        let (_, l, u, g) = LABELLED[i];
        return (l.to_string(), u.to_string(), g, i);
    }
    for (i, (obj, label, unit)) in figs.iter().enumerate() {
        if let Some(rest) = path.strip_prefix(obj.as_str()) {
            let (label, g) = match rest {
                ".value" => (label.clone(), Group::Headline),
                ".low" => (format!("{label}, low"), Group::Other),
                ".high" => (format!("{label}, high"), Group::Other),
                _ => continue,
            };
            return (label, unit.clone(), g, i);
        }
    }
    // The optimizer's design under a readable name.
    if let Some(rest) = path.strip_prefix("optimized.capacities.") {
        return (
            format!("LP design: {rest}"),
            unit_of(path).to_string(),
            Group::Optimizer,
            LABELLED.len(),
        );
    }
    (
        path.to_string(),
        unit_of(path).to_string(),
        Group::Other,
        usize::MAX,
    )
}

/// Every numeric figure of the summaries with whether it differs: those that differ first,
/// each part in the order of [`Group`].
fn diff_kpis(summaries: &[RunSummary], t: &Thresholds) -> Result<Vec<KpiRow>> {
    let mut figs = Vec::new();
    let trees = summaries
        .iter()
        .map(|s| {
            let v = serde_json::to_value(s)
                .map_err(|e| Error::internal(format!("cannot compare the summaries: {e}")))?;
            let mut f = Vec::new();
            figures("", &v, &mut f);
            for x in f {
                if !figs.iter().any(|y: &(String, String, String)| y.0 == x.0) {
                    figs.push(x);
                }
            }
            let mut out = Vec::new();
            flatten("", &v, true, &mut out);
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut rows: Vec<(Group, usize, KpiRow)> = align(&trees)
        .into_iter()
        .filter(|(path, vs)| {
            is_result(path)
                && vs.iter().flatten().any(Value::is_number)
                && vs.iter().flatten().all(Value::is_number)
        })
        .map(|(field, vs)| {
            let values: Vec<Option<f64>> = vs
                .iter()
                .map(|v| v.as_ref().and_then(Value::as_f64))
                .collect();
            let (label, unit, group, rank) = describe(&field, &figs);
            (
                group,
                rank,
                KpiRow {
                    differs: t.differs(&values),
                    field,
                    label,
                    unit,
                    values,
                    same_as: None,
                    chart: group != Group::Other,
                },
            )
        })
        .collect();
    rows.sort_by_key(|(g, rank, r)| (!r.differs, *g, *rank));
    let mut rows: Vec<KpiRow> = rows.into_iter().map(|(.., r)| r).collect();
    // A differing figure with the values of one above it (the headline's energy cost and
    // `site.energy_cost_usd`) is the same figure: shown once.
    for i in 0..rows.len() {
        if rows[i].differs
            && let Some(j) = (0..i).find(|&j| rows[j].differs && rows[j].values == rows[i].values)
        {
            rows[i].same_as = Some(rows[j].field.clone());
        }
    }
    Ok(rows)
}

/// A leaf as a table cell: numbers without a trailing `.0`, text without quotes.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        other => other.to_string(),
    }
}

impl Comparison {
    /// The summaries, in order.
    pub fn summaries(&self) -> Vec<&RunSummary> {
        self.runs.iter().map(|(_, s)| s).collect()
    }

    /// The page `compare.html` shows.
    pub fn page(&self) -> ComparisonPage {
        let s = &self.summary;
        ComparisonPage {
            title: "wattage compare".into(),
            runs: s
                .scenarios
                .iter()
                .map(|r| ComparedRun {
                    name: r.name.clone(),
                    report: Some(r.report.clone()),
                })
                .collect(),
            inputs: Some(
                s.inputs
                    .iter()
                    .map(|d| InputRow {
                        file: match d.file {
                            "site" => "site file".into(),
                            f => f.into(),
                        },
                        field: d.field.clone(),
                        values: d.values.iter().map(value_text).collect(),
                    })
                    .collect(),
            ),
            metrics: s
                .kpis
                .iter()
                .filter(|k| k.same_as.is_none())
                .map(|k| MetricRow {
                    label: k.label.clone(),
                    field: k.field.clone(),
                    unit: k.unit.clone(),
                    values: k.values.clone(),
                    chart: k.chart,
                })
                .collect(),
            thresholds: s.thresholds,
        }
    }

    /// `compare.csv`: the inputs that differ, then every figure; columns `kind` (`input` or
    /// `kpi`), `field`, `label` (for an input, its file), `unit`, `differs`, then one column
    /// per run.
    pub fn csv(&self) -> Result<Vec<u8>> {
        let s = &self.summary;
        let mut header: Vec<String> = ["kind", "field", "label", "unit", "differs"]
            .map(String::from)
            .into();
        header.extend(s.scenarios.iter().map(|r| r.name.clone()));
        let mut rows = Vec::new();
        for d in &s.inputs {
            let mut row = vec![
                "input".to_string(),
                d.field.clone(),
                d.file.to_string(),
                String::new(),
                "true".into(),
            ];
            row.extend(d.values.iter().map(|v| match v {
                Value::Null => String::new(),
                v => value_text(v),
            }));
            rows.push(row);
        }
        for k in &s.kpis {
            let mut row = vec![
                "kpi".to_string(),
                k.field.clone(),
                k.label.clone(),
                k.unit.clone(),
                k.differs.to_string(),
            ];
            row.extend(
                k.values
                    .iter()
                    .map(|v| v.map_or(String::new(), |x| format!("{x}"))),
            );
            rows.push(row);
        }
        Ok(encode_records(&header, &rows)?.0)
    }

    /// `compare.html`, `compare.json`, `compare.csv`, and each run's folder (`NAME/report.html`,
    /// `NAME/summary.json`, ...), as `wattage run -o NAME` writes it.
    pub fn artifacts(&self) -> Result<Vec<Artifact>> {
        let rep = wattage_report::comparison_page(&self.page())
            .map_err(|e| Error::internal(format!("building the comparison: {e}")))?;
        let html = wattage_report::render_html(&rep)
            .map_err(|e| Error::internal(format!("rendering the comparison: {e}")))?;
        let json = serde_json::to_string_pretty(&self.summary)
            .map_err(|e| Error::internal(format!("cannot serialise: {e}")))?
            + "\n";
        let mut out = vec![
            Artifact::new("compare.html", html),
            Artifact::new("compare.json", json),
            Artifact::new("compare.csv", self.csv()?),
        ];
        for ((r, s), sc) in self.runs.iter().zip(&self.summary.scenarios) {
            for a in run::artifacts(r, s)? {
                out.push(Artifact::new(format!("{}/{}", sc.name, a.path), a.bytes));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn units_come_from_the_path() {
        assert_eq!(unit_of("site.energy_mwh_by_source.grid"), "MWh");
        assert_eq!(unit_of("site.co2e_t_by_source.grid"), "t CO2e");
        assert_eq!(unit_of("site.cost_usd_per_mwh"), "$/MWh");
        assert_eq!(unit_of("optimized.costs.fuel_usd"), "$");
        assert_eq!(unit_of("optimized.capacities.batteries[0].mwh"), "MWh");
        assert_eq!(unit_of("services[0].fleet.peak_hour.itl_ms_p99"), "ms");
        assert_eq!(unit_of("services[0].fleet.replicas"), "");
        assert_eq!(unit_of("site.load_factor"), "");
    }

    #[test]
    fn names_are_made_unique() {
        assert_eq!(
            unique_names(["a", "b", "a", "a"].into_iter()),
            ["a", "b", "a-2", "a-3"]
        );
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let a: toml::Value = toml::from_str("x = 400\ny = [1, 2]\n[t]\nz = \"a\"").unwrap();
        let b: toml::Value =
            toml::from_str("x = 400.0\ny = [1, 3]\n[t]\nz = \"a\"\nw = 1").unwrap();
        let tree = |v: &toml::Value| {
            let mut out = Vec::new();
            flatten("", &serde_json::to_value(v).unwrap(), false, &mut out);
            out
        };
        let d = differing(align(&[tree(&a), tree(&b)]), "site");
        let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["y[1]", "t.w"]);
        assert_eq!(d[1].values, [Value::Null, Value::from(1)]);
        assert_eq!(value_text(&Value::from(400.0)), "400");
    }
}

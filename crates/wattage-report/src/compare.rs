//! Side-by-side comparison of several runs (`wattage compare A.toml B.toml ...`).
//!
//! A [`ComparisonPage`] holds what the caller compared: the inputs that differ between the
//! runs (already diffed; this crate knows nothing of scenarios), every metric of every run,
//! and where each run's own report is. [`comparison_page`] turns it into a [`Report`]:
//! - the inputs that differ, field by field, or a plain statement that they are identical;
//! - the metrics that differ by more than the [`Thresholds`], with the change of every run
//!   against the first; the others are counted, not shown;
//! - bar charts of the differing metrics only, one per unit and order of magnitude, so no chart
//!   is empty or all zero and bars on one axis are comparable;
//! - links to each run's own report.

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::format::significant;
use crate::model::{Axis, BarLayout, Bars, Chart, Colour, KeyFigure, Link, Report, Section, Table};

/// When the values of one metric count as different across runs: their spread (largest minus
/// smallest) exceeds both `abs` (in the metric's own unit) and `rel` times the largest
/// magnitude. A metric missing from some runs but present in others always differs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Relative threshold, a fraction (0.01 = 1 %).
    pub rel: f64,
    /// Absolute threshold, in each metric's unit.
    pub abs: f64,
}

impl Thresholds {
    /// Default relative threshold: 1 %.
    pub const DEFAULT_REL: f64 = 0.01;
    /// Default absolute threshold: 0.001 of the metric's unit (a kWh, a tenth of a cent, a
    /// kilogram of CO2e: below any figure worth reporting, above a solver's round-off).
    pub const DEFAULT_ABS: f64 = 1e-3;

    /// Whether `values` (one per run, `None` where a run lacks the metric) differ.
    pub fn differs(&self, values: &[Option<f64>]) -> bool {
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        if present.is_empty() {
            return false;
        }
        if present.len() < values.len() {
            return true;
        }
        let lo = present.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mag = present.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let spread = hi - lo;
        spread > self.abs && spread > self.rel * mag
    }

    /// The rule in words, for a page or a terminal.
    pub fn describe(&self) -> String {
        format!(
            "a figure is shown when its values differ by more than {} % of the largest and by more than {} in its own unit",
            significant(self.rel * 100.0, 3),
            fmt_abs(self.abs)
        )
    }
}

fn fmt_abs(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:e}")
    } else {
        significant(v, 3)
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            rel: Self::DEFAULT_REL,
            abs: Self::DEFAULT_ABS,
        }
    }
}

/// One run of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparedRun {
    /// Name, used as column header and legend entry (unique within the comparison).
    pub name: String,
    /// Relative path of the run's own report (`small/report.html`), if written.
    pub report: Option<String>,
}

/// One input that differs between the runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRow {
    /// Where the input is, for example `site file` or `scenario`.
    pub file: String,
    /// Field path, for example `batteries[0].power_mw`.
    pub field: String,
    /// Its value in each run, as text; `–` where a run does not set it.
    pub values: Vec<String>,
}

/// One metric of every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRow {
    /// What it is, for example `Ramp violations`.
    pub label: String,
    /// Where it comes from (a field path of the runs' summaries); empty for none. Not shown:
    /// for the caller's own files.
    pub field: String,
    /// Its unit; empty for a pure count.
    pub unit: String,
    /// One value per run, `None` where a run lacks it.
    pub values: Vec<Option<f64>>,
    /// Whether the metric may be charted when it differs.
    pub chart: bool,
}

/// What a comparison page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonPage {
    /// Title of the page.
    pub title: String,
    /// The runs, in order; the first is the base of the changes.
    pub runs: Vec<ComparedRun>,
    /// The inputs that differ; `None` when inputs were not compared, empty when they are
    /// identical.
    pub inputs: Option<Vec<InputRow>>,
    /// Every metric; the page shows those that differ.
    pub metrics: Vec<MetricRow>,
    /// What counts as a difference.
    pub thresholds: Thresholds,
}

impl ComparisonPage {
    /// The metrics that differ, in order.
    pub fn differing(&self) -> impl Iterator<Item = &MetricRow> {
        self.metrics
            .iter()
            .filter(|m| self.thresholds.differs(&m.values))
    }
}

/// The key figures of one run, under the name it is compared by (for example `B200, FP8`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedFigures {
    /// Name of the run, used as column header and legend entry.
    pub name: String,
    /// Its key figures; figures are matched across runs by label and unit.
    pub figures: Vec<KeyFigure>,
}

impl NamedFigures {
    /// A named run.
    pub fn new(name: impl Into<String>, figures: Vec<KeyFigure>) -> Self {
        Self {
            name: name.into(),
            figures,
        }
    }
}

/// A comparison of key figures alone (no inputs, no links), matched across runs by label and
/// unit, with the default [`Thresholds`]. See [`comparison_page`].
pub fn comparison_report(
    title: impl Into<String>,
    runs: &[NamedFigures],
) -> Result<Report, ReportError> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in runs {
        for f in &r.figures {
            let key = (f.label.clone(), f.unit.clone());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let metrics = keys
        .into_iter()
        .map(|(label, unit)| MetricRow {
            values: runs
                .iter()
                .map(|r| {
                    r.figures
                        .iter()
                        .find(|f| f.label == label && f.unit == unit)
                        .map(|f| f.value)
                })
                .collect(),
            label,
            field: String::new(),
            unit,
            chart: true,
        })
        .collect();
    comparison_page(&ComparisonPage {
        title: title.into(),
        runs: runs
            .iter()
            .map(|r| ComparedRun {
                name: r.name.clone(),
                report: None,
            })
            .collect(),
        inputs: None,
        metrics,
        thresholds: Thresholds::default(),
    })
}

/// The change of `v` against `base` as a cell: `165 (+1.4 %)`, or the value alone when there
/// is no base to divide by.
pub fn cell(base: Option<f64>, v: Option<f64>, first: bool) -> String {
    match (base, v) {
        (_, None) => "–".into(),
        (Some(b), Some(v)) if !first && b != 0.0 => {
            let pct = (v - b) / b.abs() * 100.0;
            let s = significant(pct, 2);
            let s = if pct > 0.0 { format!("+{s}") } else { s };
            format!("{} ({s} %)", significant(v, 3))
        }
        (_, Some(v)) => significant(v, 3),
    }
}

/// Builds a comparison page: inputs that differ, metrics that differ, their charts, links to
/// each run's report. Render the result with [`crate::render_html`].
pub fn comparison_page(c: &ComparisonPage) -> Result<Report, ReportError> {
    if c.runs.is_empty() {
        return Err(ReportError::Empty {
            location: "comparison".into(),
            field: "runs",
        });
    }
    for m in &c.metrics {
        if m.values.len() != c.runs.len() {
            return Err(ReportError::LengthMismatch {
                location: format!("comparison, metric `{}`", m.label),
                expected: c.runs.len(),
                found: m.values.len(),
            });
        }
        for v in m.values.iter().flatten() {
            if !v.is_finite() {
                return Err(ReportError::NonFinite {
                    location: format!("comparison, metric `{}`", m.label),
                    value: *v,
                });
            }
        }
    }
    for (name, v) in [("rel", c.thresholds.rel), ("abs", c.thresholds.abs)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(ReportError::NonFinite {
                location: format!("comparison, threshold `{name}`"),
                value: v,
            });
        }
    }
    let base = &c.runs[0].name;
    let names: Vec<&str> = c.runs.iter().map(|r| r.name.as_str()).collect();
    let differing: Vec<&MetricRow> = c.differing().collect();
    let identical = c.inputs.as_ref().is_some_and(Vec::is_empty);
    let mut report = Report::new(c.title.clone()).subtitle(format!(
        "{} runs: {}",
        names.len(),
        names.join(", ")
    ));

    if let Some(inputs) = &c.inputs {
        let mut s = Section::new("Inputs that differ").id("inputs");
        if inputs.is_empty() {
            s = s.paragraph(
                "The inputs are identical: the scenarios differ in nothing but their names, \
                 titles and descriptions.",
            );
        } else {
            let mut headers = vec!["File".to_owned(), "Field".to_owned()];
            headers.extend(c.runs.iter().map(|r| r.name.clone()));
            let mut t = Table::new(
                format!("{} inputs differ between the scenarios", inputs.len()),
                headers,
            );
            for i in inputs {
                let mut row = vec![i.file.clone(), i.field.clone()];
                row.extend(i.values.iter().cloned());
                t = t.row(row);
            }
            s = s.table(t);
        }
        report = report.section(s);
    }

    let mut results = Section::new("Results that differ").id("results");
    let rule = c.thresholds.describe();
    let hidden = c.metrics.len() - differing.len();
    if differing.is_empty() {
        results = results.paragraph(format!(
            "No figure differs between the runs ({rule}){}",
            if identical {
                ", as identical inputs should give"
            } else {
                ""
            }
        ));
    } else {
        results = results.paragraph(format!(
            "The change against {base} is in brackets; {rule}. {hidden} other figures are within \
             that threshold."
        ));
        // Labels only: field paths are in the caller's machine-readable files, and the
        // values stay in view without scrolling.
        let mut headers = vec!["Metric".to_owned(), "Unit".to_owned()];
        headers.extend(c.runs.iter().map(|r| r.name.clone()));
        let mut t = Table::new(
            format!(
                "{} figures differ; in brackets the change against {base}",
                differing.len()
            ),
            headers,
        );
        for m in &differing {
            let mut row = vec![m.label.clone(), m.unit.clone()];
            for (i, v) in m.values.iter().enumerate() {
                row.push(cell(m.values[0], *v, i == 0));
            }
            t = t.row(row);
        }
        results = results.table(t);
    }
    report = report.section(results);

    let charts = charts(c, &differing);
    if !charts.is_empty() {
        let mut s = Section::new("Charts")
            .id("charts")
            .paragraph("Only the figures that differ, grouped by unit and order of magnitude.");
        for ch in charts {
            s = s.chart(ch);
        }
        report = report.section(s);
    }

    let links: Vec<Link> = c
        .runs
        .iter()
        .filter_map(|r| {
            r.report
                .as_ref()
                .map(|h| Link::new(format!("{}: its own report", r.name), h.clone()))
        })
        .collect();
    if !links.is_empty() {
        report = report.section(
            Section::new("Each scenario's report")
                .id("reports")
                .links(links),
        );
    }
    report.validate()?;
    Ok(report)
}

/// Grouped bar charts of the chartable differing metrics present in every run: one per unit,
/// split where magnitudes differ more than 10x. A chart whose values are all zero is left out.
fn charts(c: &ComparisonPage, differing: &[&MetricRow]) -> Vec<Chart> {
    let complete: Vec<&MetricRow> = differing
        .iter()
        .copied()
        .filter(|m| m.chart && m.values.iter().all(Option::is_some))
        .collect();
    let mut units: Vec<&str> = Vec::new();
    for m in &complete {
        if !units.contains(&m.unit.as_str()) {
            units.push(&m.unit);
        }
    }
    let mut out = Vec::new();
    for unit in units {
        let mut group: Vec<(&MetricRow, f64)> = complete
            .iter()
            .filter(|m| m.unit == unit)
            .map(|m| {
                let mag = m
                    .values
                    .iter()
                    .flatten()
                    .fold(0.0_f64, |a, v| a.max(v.abs()));
                (*m, mag)
            })
            .collect();
        group.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut clusters: Vec<Vec<&MetricRow>> = Vec::new();
        let mut floor = f64::NAN;
        for (m, mag) in group {
            if mag == 0.0 {
                continue;
            }
            if clusters.is_empty() || mag > floor * 10.0 {
                clusters.push(Vec::new());
                floor = mag;
            }
            if let Some(cl) = clusters.last_mut() {
                cl.push(m);
            }
        }
        for cluster in clusters {
            let label = if cluster.len() == 1 {
                cluster[0].label.clone()
            } else {
                "Value".to_owned()
            };
            let axis_unit = if unit.is_empty() { "count" } else { unit };
            let mut bars = Bars::new(
                "Metric",
                cluster.iter().map(|m| m.label.clone()),
                Axis::new(label, axis_unit),
                BarLayout::Grouped,
            );
            for (i, r) in c.runs.iter().enumerate() {
                let vals = cluster.iter().map(|m| m.values[i].unwrap_or(0.0)).collect();
                bars = bars.series(r.name.clone(), Colour::Palette((i % 10) as u8), vals);
            }
            let titles: Vec<&str> = cluster.iter().map(|m| m.label.as_str()).collect();
            out.push(Chart::new(
                format!("compare-{}", out.len() + 1),
                format!("{} ({axis_unit})", titles.join(", ")),
                bars,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_runs() {
        let a = NamedFigures::new(
            "H100",
            vec![
                KeyFigure::new("Energy per request", 0.34, "Wh"),
                KeyFigure::new("Site power", 250.0, "MW"),
                KeyFigure::new("Peak power", 300.0, "MW"),
                KeyFigure::new("Interruptions", 0.0, ""),
            ],
        );
        let b = NamedFigures::new(
            "B200",
            vec![
                KeyFigure::new("Energy per request", 0.17, "Wh"),
                KeyFigure::new("Site power", 200.0, "MW"),
                KeyFigure::new("Interruptions", 0.0, ""),
            ],
        );
        let r = comparison_report("H100 against B200", &[a, b]).expect("valid");
        let html = crate::render_html(&r).expect("renders");
        assert!(html.contains("0.17 (-50 %)"));
        // Peak power is missing from B200: shown in the table, not charted.
        assert!(html.contains("Peak power"));
        // Interruptions are 0 in both: neither in the table nor in a chart.
        assert!(!html.contains("Interruptions"));
        // a Wh chart and a MW chart
        assert_eq!(r.charts().count(), 2);
    }

    #[test]
    fn thresholds() {
        let t = Thresholds::default();
        assert!(!t.differs(&[Some(100.0), Some(100.5)]));
        assert!(t.differs(&[Some(100.0), Some(101.5)]));
        assert!(t.differs(&[Some(0.0), Some(1.0)]));
        assert!(!t.differs(&[Some(0.0), Some(1e-4)]));
        assert!(!t.differs(&[Some(0.0), Some(0.0), Some(0.0)]));
        assert!(t.differs(&[Some(0.0), None]));
        assert!(!t.differs(&[None, None]));
        let strict = Thresholds { rel: 0.0, abs: 0.0 };
        assert!(strict.differs(&[Some(1.0), Some(1.000_000_1)]));
        assert!(!strict.differs(&[Some(1.0), Some(1.0)]));
    }

    #[test]
    fn identical_inputs_are_said_and_no_chart_is_drawn() {
        let page = ComparisonPage {
            title: "same".into(),
            runs: vec![
                ComparedRun {
                    name: "a".into(),
                    report: Some("a/report.html".into()),
                },
                ComparedRun {
                    name: "b".into(),
                    report: Some("b/report.html".into()),
                },
            ],
            inputs: Some(Vec::new()),
            metrics: vec![MetricRow {
                label: "Cost".into(),
                field: "site.cost_usd".into(),
                unit: "$".into(),
                values: vec![Some(5.0), Some(5.0)],
                chart: true,
            }],
            thresholds: Thresholds::default(),
        };
        let r = comparison_page(&page).expect("valid");
        assert_eq!(r.charts().count(), 0);
        let html = crate::render_html(&r).expect("renders");
        assert!(html.contains("The inputs are identical"));
        assert!(html.contains("No figure differs"));
        assert!(html.contains("<a href=\"b/report.html\">"));
    }

    #[test]
    fn a_link_must_be_a_plain_relative_path() {
        for bad in [
            "/etc/passwd",
            "../x.html",
            "https://x",
            "a//b",
            "a b.html",
            "",
        ] {
            let page = ComparisonPage {
                title: "t".into(),
                runs: vec![ComparedRun {
                    name: "a".into(),
                    report: Some(bad.into()),
                }],
                inputs: None,
                metrics: Vec::new(),
                thresholds: Thresholds::default(),
            };
            assert!(
                matches!(comparison_page(&page), Err(ReportError::BadLink { .. })),
                "{bad}"
            );
        }
    }
}

//! Side-by-side comparison of several runs (`wattage compare A.toml B.toml ...`): a table of
//! every key figure per run with the change against the first run, and grouped bar charts.

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::format::significant;
use crate::model::{Axis, BarLayout, Bars, Chart, Colour, KeyFigure, Report, Section, Table};

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

/// Builds a comparison report: a table (metric, unit, one column per run, then the change of
/// every other run against the first in %), a chart of every metric relative to the first run,
/// and grouped bar charts of the absolute values, one per unit and order of magnitude so that
/// bars on one axis are comparable. Metrics missing from a run show `–` in the table and are
/// left out of the charts.
///
/// Render the result with [`crate::render_html`].
pub fn comparison_report(
    title: impl Into<String>,
    runs: &[NamedFigures],
) -> Result<Report, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::Empty {
            location: "comparison".into(),
            field: "runs",
        });
    }
    // Metrics in order of first appearance, keyed by (label, unit).
    let mut metrics: Vec<(String, String)> = Vec::new();
    for r in runs {
        for f in &r.figures {
            let key = (f.label.clone(), f.unit.clone());
            if !metrics.contains(&key) {
                metrics.push(key);
            }
        }
    }
    let value = |run: &NamedFigures, m: &(String, String)| {
        run.figures
            .iter()
            .find(|f| f.label == m.0 && f.unit == m.1)
            .map(|f| f.value)
    };
    for r in runs {
        for f in &r.figures {
            if !f.value.is_finite() {
                return Err(ReportError::NonFinite {
                    location: format!("run `{}`, figure `{}`", r.name, f.label),
                    value: f.value,
                });
            }
        }
    }
    let base = &runs[0];

    let mut headers = vec!["Metric".to_owned(), "Unit".to_owned()];
    headers.extend(runs.iter().map(|r| r.name.clone()));
    let mut table = Table::new(
        format!(
            "Key figures of every run; in brackets the change against {}",
            base.name
        ),
        headers,
    );
    for m in &metrics {
        let mut row = vec![m.0.clone(), m.1.clone()];
        for (i, r) in runs.iter().enumerate() {
            let cell = match (value(base, m), value(r, m)) {
                (_, None) => "–".into(),
                (Some(b), Some(v)) if i > 0 && b != 0.0 => {
                    let pct = (v - b) / b.abs() * 100.0;
                    let s = significant(pct, 2);
                    let s = if pct > 0.0 { format!("+{s}") } else { s };
                    format!("{} ({s} %)", significant(v, 3))
                }
                (_, Some(v)) => significant(v, 3),
            };
            row.push(cell);
        }
        table = table.row(row);
    }

    let mut charts_section = Section::new("Charts").id("charts");
    let complete: Vec<&(String, String)> = metrics
        .iter()
        .filter(|m| runs.iter().all(|r| value(r, m).is_some()))
        .collect();

    if runs.len() > 1 {
        let relative: Vec<&(String, String)> = complete
            .iter()
            .copied()
            .filter(|m| value(base, m).is_some_and(|b| b != 0.0))
            .collect();
        if !relative.is_empty() {
            let mut bars = Bars::new(
                "Metric",
                relative.iter().map(|m| m.0.clone()),
                Axis::new(format!("Relative to {}", base.name), "%"),
                BarLayout::Grouped,
            );
            for (i, r) in runs.iter().enumerate() {
                let vals = relative
                    .iter()
                    .map(|m| {
                        let b = value(base, m).unwrap_or(1.0);
                        value(r, m).unwrap_or(0.0) / b * 100.0
                    })
                    .collect();
                bars = bars.series(r.name.clone(), Colour::Palette(i as u8), vals);
            }
            charts_section = charts_section.chart(
                Chart::new(
                    "compare-relative",
                    format!("Every metric relative to {}", base.name),
                    bars,
                )
                .caption(format!(
                    "100 % is {}; a shorter bar is a smaller value",
                    base.name
                )),
            );
        }
    }

    // Absolute values: group by unit, then split groups whose magnitudes differ more than 10x.
    let mut units: Vec<&str> = Vec::new();
    for m in &complete {
        if !units.contains(&m.1.as_str()) {
            units.push(&m.1);
        }
    }
    let mut chart_no = 0;
    for unit in units {
        let mut group: Vec<(&(String, String), f64)> = complete
            .iter()
            .filter(|m| m.1 == unit)
            .map(|m| {
                let mag = runs
                    .iter()
                    .filter_map(|r| value(r, m))
                    .fold(0.0_f64, |a, v| a.max(v.abs()));
                (*m, mag)
            })
            .collect();
        group.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut clusters: Vec<Vec<&(String, String)>> = Vec::new();
        let mut floor = f64::NAN;
        for (m, mag) in group {
            if clusters.is_empty() || mag > floor * 10.0 {
                clusters.push(Vec::new());
                floor = mag.max(f64::MIN_POSITIVE);
            }
            if let Some(c) = clusters.last_mut() {
                c.push(m);
            }
        }
        for cluster in clusters {
            chart_no += 1;
            let label = if cluster.len() == 1 {
                cluster[0].0.clone()
            } else {
                "Value".to_owned()
            };
            let axis_unit = if unit.is_empty() { "count" } else { unit };
            let mut bars = Bars::new(
                "Metric",
                cluster.iter().map(|m| m.0.clone()),
                Axis::new(label, axis_unit),
                BarLayout::Grouped,
            );
            for (i, r) in runs.iter().enumerate() {
                let vals = cluster.iter().map(|m| value(r, m).unwrap_or(0.0)).collect();
                bars = bars.series(r.name.clone(), Colour::Palette(i as u8), vals);
            }
            let names: Vec<&str> = cluster.iter().map(|m| m.0.as_str()).collect();
            charts_section = charts_section.chart(Chart::new(
                format!("compare-{chart_no}"),
                format!("{} ({axis_unit})", names.join(", ")),
                bars,
            ));
        }
    }

    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let report = Report::new(title)
        .subtitle(format!("{} runs: {}", runs.len(), names.join(", ")))
        .section(
            Section::new("Side by side")
                .id("side-by-side")
                .paragraph(format!(
                    "Every key figure of every run, with the change against {} in brackets.",
                    base.name
                ))
                .table(table),
        )
        .section(charts_section);
    report.validate()?;
    Ok(report)
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
            ],
        );
        let b = NamedFigures::new(
            "B200",
            vec![
                KeyFigure::new("Energy per request", 0.17, "Wh"),
                KeyFigure::new("Site power", 200.0, "MW"),
            ],
        );
        let r = comparison_report("H100 against B200", &[a, b]).expect("valid");
        let html = crate::render_html(&r).expect("renders");
        assert!(html.contains("0.17 (-50 %)"));
        // relative + Wh + MW charts
        assert_eq!(r.charts().count(), 3);
    }
}

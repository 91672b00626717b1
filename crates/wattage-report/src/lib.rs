//! Reports: HTML with inline SVG charts, standalone SVG and PNG charts, comparisons.
//!
//! This crate is the last layer: it takes a [`Report`], plain serde data built by whoever ran
//! the model (sections of paragraphs, key-figure tiles, tables, charts and resolved
//! assumptions), and renders it. It knows nothing of requests, fleets or sites, and does no IO:
//! every renderer returns a `String` or bytes, and the CLI writes the files.
//!
//! Guarantees the renderers give:
//! - a report is validated first ([`Report::validate`]): a NaN or infinite number, a value axis
//!   without unit, a series of the wrong length is an error naming where it is, never a chart
//!   that shows `NaN`;
//! - the HTML is one self-contained file: inline CSS, inline `<svg>`, no script, no URL (a
//!   [`Link`] is a relative path to a file beside it, as a comparison's per-run reports);
//! - output is deterministic: the same report gives byte-identical HTML, SVG and PNG;
//! - long time series are drawn downsampled (min/max per bucket) so files stay small and spikes
//!   stay visible; energy sources keep their colour across charts ([`Colour`]).
//!
//! ```
//! use wattage_report::*;
//!
//! let hours: Vec<f64> = (0..=24).map(f64::from).collect();
//! let grid: Vec<f64> = hours.iter().map(|h| 180.0 + 20.0 * (h / 24.0 * 6.28).sin()).collect();
//! let gas = vec![60.0; hours.len()];
//! let load: Vec<f64> = grid.iter().zip(&gas).map(|(a, b)| a + b).collect();
//! let power = TimeSeries::new(Axis::new("Time of day", "h"), Axis::new("Power", "MW"), hours)
//!     .area("Grid", Colour::Grid, grid)
//!     .area("Gas turbines", Colour::GasTurbine, gas)
//!     .line("Load", Colour::Load, load);
//! let report = Report::new("Demo site")
//!     .generated_by("wattage 0.1.0")
//!     .section(
//!         Section::new("Power")
//!             .figures(vec![KeyFigure::new("Peak load", 260.0, "MW")])
//!             .chart(Chart::new("power-day", "Site power over a day", power)),
//!     );
//! let html = render_html(&report)?;
//! assert_eq!(html.matches("<svg").count(), 1);
//! assert!(!html.contains("http"));
//!
//! let svg = render_svg(&report.sections[0].blocks.iter().find_map(|b| match b {
//!     Block::Chart(c) => Some(c.clone()),
//!     _ => None,
//! }).expect("a chart"))?;
//! assert!(svg.starts_with("<svg"));
//! # Ok::<(), ReportError>(())
//! ```

mod chart;
pub mod compare;
pub mod demo;
pub mod downsample;
mod error;
pub mod format;
pub mod html;
mod model;
mod palette;
pub mod png;

pub use chart::{colour_hex, render_inline_svg, render_svg};
pub use compare::{
    ComparedRun, ComparisonPage, InputRow, MetricRow, NamedFigures, Thresholds, comparison_page,
    comparison_report,
};
pub use demo::demo_report;
pub use error::ReportError;
pub use html::render_html;
pub use model::{
    Assumption, Axis, BandSeries, BarLayout, Bars, Block, Chart, ChartKind, Colour, Distribution,
    DistributionSeries, DistributionStyle, Downsample, KeyFigure, Link, QUANTILE_POINTS, Range,
    RangeBar, Ranges, Report, Section, Series, Table, TimeSeries, slug,
};
pub use palette::PALETTE;
pub use png::{Fonts, render_png, svg_to_png};

//! The report model: plain data that the renderers turn into HTML, SVG and PNG.
//!
//! Everything here is serde-serializable and knows nothing of the layers that produce it. Numbers
//! are raw `f64` with their unit carried next to them as text (`"MW"`, `"Wh"`), because a report
//! only shows quantities; the typed arithmetic lives in `wattage-units` and the model crates.
//!
//! [`Report::validate`] checks what a renderer relies on: every number is finite, every value axis
//! has a unit, series lengths match, ids are unique. The renderers call it first, so a report with
//! a NaN in it is an error, never a chart that says `NaN`.

use serde::{Deserialize, Serialize};

use crate::error::ReportError;

/// A whole report: a title block and ordered sections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The main heading, for example `wattage run: default scenario`.
    pub title: String,
    /// One line under the title; empty for none.
    #[serde(default)]
    pub subtitle: String,
    /// Who or what produced the report, shown in the footer, for example `wattage 0.1.0`.
    /// Put no timestamp here if the output must be reproducible byte for byte.
    #[serde(default)]
    pub generated_by: String,
    /// The sections, in reading order.
    #[serde(default)]
    pub sections: Vec<Section>,
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            subtitle: String::new(),
            generated_by: String::new(),
            sections: Vec::new(),
        }
    }

    /// Sets the subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = subtitle.into();
        self
    }

    /// Sets the generated-by line.
    pub fn generated_by(mut self, generated_by: impl Into<String>) -> Self {
        self.generated_by = generated_by.into();
        self
    }

    /// Appends a section.
    pub fn section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }

    /// Every chart in the report, in reading order.
    pub fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.sections.iter().flat_map(|s| {
            s.blocks.iter().filter_map(|b| match b {
                Block::Chart(c) => Some(c.as_ref()),
                _ => None,
            })
        })
    }

    /// The charts that would show nothing worth reading, with why (see
    /// [`Chart::uninformative`]).
    pub fn uninformative_charts(&self) -> Vec<(String, &'static str)> {
        self.charts()
            .filter_map(|c| c.uninformative().map(|why| (c.id.clone(), why)))
            .collect()
    }

    /// Checks everything the renderers rely on; the first problem found is returned.
    ///
    /// Rules: titles are not empty; section and chart ids are unique, non-empty and made of
    /// `a-z`, `0-9`, `-` and `_`; every number is finite; every value axis has a unit; series
    /// and table rows have the lengths their headers promise; ranges satisfy `low <= high`.
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.title.trim().is_empty() {
            return Err(ReportError::Empty {
                location: "report".into(),
                field: "title",
            });
        }
        let mut section_ids = std::collections::BTreeSet::new();
        let mut chart_ids = std::collections::BTreeSet::new();
        for (si, section) in self.sections.iter().enumerate() {
            let loc = format!("section {} `{}`", si + 1, section.title);
            if section.title.trim().is_empty() {
                return Err(ReportError::Empty {
                    location: loc,
                    field: "title",
                });
            }
            check_id(&section.id, &loc)?;
            if !section_ids.insert(section.id.as_str()) {
                return Err(ReportError::DuplicateId {
                    id: section.id.clone(),
                });
            }
            for (bi, block) in section.blocks.iter().enumerate() {
                let loc = format!("{loc}, block {}", bi + 1);
                match block {
                    Block::Paragraph { .. } => {}
                    Block::Figures { figures } => {
                        for f in figures {
                            f.validate(&format!("{loc}, figure `{}`", f.label))?;
                        }
                    }
                    Block::Table(t) => t.validate(&loc)?,
                    Block::Assumptions { assumptions } => {
                        for a in assumptions {
                            if a.name.trim().is_empty() {
                                return Err(ReportError::Empty {
                                    location: loc,
                                    field: "assumption name",
                                });
                            }
                        }
                    }
                    Block::Links { links } => {
                        for l in links {
                            l.validate(&loc)?;
                        }
                    }
                    Block::Chart(c) => {
                        let loc = format!("{loc}, chart `{}`", c.id);
                        check_id(&c.id, &loc)?;
                        if !chart_ids.insert(c.id.as_str()) {
                            return Err(ReportError::DuplicateId { id: c.id.clone() });
                        }
                        c.validate_at(&loc)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_id(id: &str, location: &str) -> Result<(), ReportError> {
    let ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ReportError::BadId {
            location: location.to_owned(),
            id: id.to_owned(),
        })
    }
}

fn finite(v: f64, location: &str, what: &str) -> Result<(), ReportError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(ReportError::NonFinite {
            location: format!("{location}, {what}"),
            value: v,
        })
    }
}

fn all_finite(vs: &[f64], location: &str, what: &str) -> Result<(), ReportError> {
    for (i, v) in vs.iter().enumerate() {
        finite(*v, location, &format!("{what}[{i}]"))?;
    }
    Ok(())
}

/// Turns a title into an id: lower case ASCII letters and digits, other runs become `-`.
///
/// ```
/// assert_eq!(wattage_report::slug("Site power: a day"), "site-power-a-day");
/// ```
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

/// One section: a heading (listed in the table of contents) and ordered blocks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Anchor id, unique in the report (`a-z0-9-_`).
    pub id: String,
    /// Heading.
    pub title: String,
    /// Content in reading order.
    #[serde(default)]
    pub blocks: Vec<Block>,
}

impl Section {
    /// An empty section; its id is the [`slug`] of the title.
    pub fn new(title: impl Into<String>) -> Self {
        let title = title.into();
        Self {
            id: slug(&title),
            title,
            blocks: Vec::new(),
        }
    }

    /// Overrides the anchor id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Appends a paragraph of plain text.
    pub fn paragraph(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Paragraph { text: text.into() });
        self
    }

    /// Appends a row of key-figure tiles.
    pub fn figures(mut self, figures: Vec<KeyFigure>) -> Self {
        self.blocks.push(Block::Figures { figures });
        self
    }

    /// Appends a table.
    pub fn table(mut self, table: Table) -> Self {
        self.blocks.push(Block::Table(table));
        self
    }

    /// Appends a chart.
    pub fn chart(mut self, chart: Chart) -> Self {
        self.blocks.push(Block::Chart(Box::new(chart)));
        self
    }

    /// Appends a table of resolved assumptions.
    pub fn assumptions(mut self, assumptions: Vec<Assumption>) -> Self {
        self.blocks.push(Block::Assumptions { assumptions });
        self
    }

    /// Appends a list of links to files beside the report.
    pub fn links(mut self, links: Vec<Link>) -> Self {
        self.blocks.push(Block::Links { links });
        self
    }
}

/// One piece of a section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Plain text; it is escaped, never interpreted as HTML.
    Paragraph {
        /// The text.
        text: String,
    },
    /// Key-figure tiles shown side by side.
    Figures {
        /// The tiles, in order.
        figures: Vec<KeyFigure>,
    },
    /// A table of text cells.
    Table(Table),
    /// A chart, rendered as an inline SVG in a `<figure>` (boxed: charts hold the data).
    Chart(Box<Chart>),
    /// The resolved assumptions: name, value, unit and source of each input.
    Assumptions {
        /// One row per assumption.
        assumptions: Vec<Assumption>,
    },
    /// Links to other files of the same output folder (`small/report.html`), as a list.
    Links {
        /// The links, in order.
        links: Vec<Link>,
    },
}

/// A link to a file beside the report, by a relative path: the HTML stays free of URLs, so a
/// path with a scheme, a leading `/`, a `..` segment or characters outside `A-Za-z0-9-_./`
/// is rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What the link shows.
    pub text: String,
    /// Relative path of the target, for example `small/report.html`.
    pub href: String,
}

impl Link {
    /// A link.
    pub fn new(text: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: href.into(),
        }
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        let ok = !self.href.is_empty()
            && !self.href.starts_with('/')
            && self
                .href
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            && self
                .href
                .split('/')
                .all(|seg| !seg.is_empty() && seg != ".." && seg != ".");
        if ok {
            Ok(())
        } else {
            Err(ReportError::BadLink {
                location: loc.to_owned(),
                href: self.href.clone(),
            })
        }
    }
}

/// A headline number: label, value, unit and an optional note and range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFigure {
    /// What the number is, for example `Energy per request`.
    pub label: String,
    /// The central value.
    pub value: f64,
    /// Its unit, for example `Wh`; empty for a pure count.
    pub unit: String,
    /// A short note, for example the scenario it comes from; empty for none.
    #[serde(default)]
    pub note: String,
    /// A low/high range around the value, shown as `(low–high)`.
    #[serde(default)]
    pub range: Option<Range>,
}

impl KeyFigure {
    /// A figure without note or range.
    pub fn new(label: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value,
            unit: unit.into(),
            note: String::new(),
            range: None,
        }
    }

    /// Sets the note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Sets the low/high range.
    pub fn range(mut self, low: f64, high: f64) -> Self {
        self.range = Some(Range { low, high });
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        finite(self.value, loc, "value")?;
        if let Some(r) = &self.range {
            r.validate(loc)?;
        }
        Ok(())
    }
}

/// A low/high interval, for example a 90 % interval from a Monte Carlo run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// Lower end.
    pub low: f64,
    /// Upper end, `>= low`.
    pub high: f64,
}

impl Range {
    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        finite(self.low, loc, "range low")?;
        finite(self.high, loc, "range high")?;
        if self.low > self.high {
            return Err(ReportError::BadRange {
                location: loc.to_owned(),
                low: self.low,
                high: self.high,
            });
        }
        Ok(())
    }
}

/// A table of text cells with a caption. Cells that look like numbers are right-aligned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Shown above the table.
    pub caption: String,
    /// Column headers; put units here, for example `Energy (MWh)`.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with headers and no rows.
    pub fn new<S: Into<String>>(
        caption: impl Into<String>,
        headers: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            caption: caption.into(),
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row<S: Into<String>>(mut self, cells: impl IntoIterator<Item = S>) -> Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() != self.headers.len() {
                return Err(ReportError::LengthMismatch {
                    location: format!("{loc}, table `{}`, row {}", self.caption, i + 1),
                    expected: self.headers.len(),
                    found: row.len(),
                });
            }
        }
        Ok(())
    }
}

/// One resolved input of the scenario and where its value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assumption {
    /// What it is, for example `GPU board power`.
    pub name: String,
    /// The value as shown, for example `700`.
    pub value: String,
    /// Its unit, for example `W`; empty when it has none.
    #[serde(default)]
    pub unit: String,
    /// Where it comes from: a datasheet, a paper, `scenario file`, `default`.
    #[serde(default)]
    pub source: String,
}

impl Assumption {
    /// A row of the assumptions table.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        unit: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            unit: unit.into(),
            source: source.into(),
        }
    }
}

/// A value axis: its label and its unit. The unit is required: a chart cannot be built without
/// one, and [`Report::validate`] rejects an empty one. Use `%`, `count` or `1` for quantities
/// without a physical unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// What is measured, for example `Power`.
    pub label: String,
    /// The unit, for example `MW`.
    pub unit: String,
}

impl Axis {
    /// An axis with a label and a unit.
    pub fn new(label: impl Into<String>, unit: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            unit: unit.into(),
        }
    }

    /// The text drawn along the axis: `Power (MW)`.
    pub fn title(&self) -> String {
        format!("{} ({})", self.label, self.unit)
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        if self.unit.trim().is_empty() {
            return Err(ReportError::MissingUnit {
                location: format!("{loc}, axis `{}`", self.label),
            });
        }
        Ok(())
    }
}

/// The colour of a series. Energy sources have fixed colours so that `Grid` looks the same in
/// every chart of every report; other series take the categorical palette by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// Grid import.
    Grid,
    /// Gas turbines or engines on site.
    GasTurbine,
    /// Battery (discharge positive, charge negative).
    Battery,
    /// Solar PV.
    Solar,
    /// Wind.
    Wind,
    /// Flexible load such as bitcoin miners.
    Miners,
    /// Demand that was not served.
    Unserved,
    /// The load line drawn over a stack.
    Load,
    /// IT equipment.
    It,
    /// Cooling and other facility overhead.
    Cooling,
    /// Entry `n` of the categorical palette (cycles).
    Palette(u8),
}

/// A named series of values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Colour.
    pub colour: Colour,
    /// One value per x (time series) or per category (bar charts).
    pub values: Vec<f64>,
}

impl Series {
    /// A series.
    pub fn new(name: impl Into<String>, colour: Colour, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            colour,
            values,
        }
    }
}

/// A chart: an id (the HTML anchor is `fig-<id>`), a title, a caption and its data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// Unique in the report (`a-z0-9-_`); also the file stem when exported.
    pub id: String,
    /// Drawn at the top of the SVG.
    pub title: String,
    /// Shown under the chart in HTML: what it shows and how to read it.
    #[serde(default)]
    pub caption: String,
    /// Size in pixels (width, height) of the SVG's view box.
    #[serde(default = "default_size")]
    pub size: (u32, u32),
    /// The data and how to draw it.
    pub kind: ChartKind,
}

fn default_size() -> (u32, u32) {
    (960, 440)
}

impl Chart {
    /// A chart of the default size (960 x 440).
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        kind: impl Into<ChartKind>,
    ) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            caption: String::new(),
            size: default_size(),
            kind: kind.into(),
        }
    }

    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = caption.into();
        self
    }

    /// Sets the size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// Number of legend entries the chart shows (a legend is drawn when there are two or more).
    pub fn series_names(&self) -> Vec<&str> {
        match &self.kind {
            ChartKind::TimeSeries(t) => t
                .areas
                .iter()
                .chain(&t.lines)
                .map(|s| s.name.as_str())
                .chain(t.bands.iter().map(|b| b.name.as_str()))
                .collect(),
            ChartKind::Bars(b) => b.series.iter().map(|s| s.name.as_str()).collect(),
            ChartKind::Ranges(_) => Vec::new(),
            ChartKind::Distribution(d) => d.series.iter().map(|s| s.name.as_str()).collect(),
        }
    }

    /// The axes with units, for checks and alt text.
    pub fn axes(&self) -> Vec<&Axis> {
        match &self.kind {
            ChartKind::TimeSeries(t) => vec![&t.x_axis, &t.y_axis],
            ChartKind::Bars(b) => vec![&b.value_axis],
            ChartKind::Ranges(r) => vec![&r.value_axis],
            ChartKind::Distribution(d) => vec![&d.value_axis],
        }
    }

    /// Why the chart would show nothing worth reading, if it would: every value zero
    /// ("empty"), or data that vary drawn flat by a fixed y range that dwarfs their swing
    /// ("flat-lined": the swing covers less than 2% of the axis). `None` when it informs.
    pub fn uninformative(&self) -> Option<&'static str> {
        let zero = |v: &[f64]| v.iter().all(|x| *x == 0.0);
        match &self.kind {
            ChartKind::TimeSeries(t) => {
                let all: Vec<&[f64]> = t
                    .areas
                    .iter()
                    .chain(&t.lines)
                    .map(|s| s.values.as_slice())
                    .chain(
                        t.bands
                            .iter()
                            .flat_map(|b| [b.low.as_slice(), b.high.as_slice()]),
                    )
                    .collect();
                if all.iter().all(|v| zero(v)) {
                    return Some("empty");
                }
                if let Some((lo, hi)) = t.y_range {
                    let swing = all
                        .iter()
                        .map(|v| {
                            let mn = v.iter().copied().fold(f64::INFINITY, f64::min);
                            let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            mx - mn
                        })
                        .fold(0.0, f64::max);
                    if swing > 0.0 && swing < 0.02 * (hi - lo) {
                        return Some("flat-lined");
                    }
                }
                None
            }
            ChartKind::Bars(b) => b.series.iter().all(|s| zero(&s.values)).then_some("empty"),
            ChartKind::Ranges(r) => r
                .bars
                .iter()
                .all(|b| b.value == 0.0 && b.range.is_none_or(|g| g.low == 0.0 && g.high == 0.0))
                .then_some("empty"),
            ChartKind::Distribution(_) => None,
        }
    }

    /// Checks the chart alone (see [`Report::validate`] for the rules).
    pub fn validate(&self) -> Result<(), ReportError> {
        let loc = format!("chart `{}`", self.id);
        check_id(&self.id, &loc)?;
        self.validate_at(&loc)
    }

    fn validate_at(&self, loc: &str) -> Result<(), ReportError> {
        if self.title.trim().is_empty() {
            return Err(ReportError::Empty {
                location: loc.to_owned(),
                field: "title",
            });
        }
        if self.size.0 < 200 || self.size.1 < 150 {
            return Err(ReportError::TooSmall {
                location: loc.to_owned(),
                width: self.size.0,
                height: self.size.1,
            });
        }
        for a in self.axes() {
            a.validate(loc)?;
        }
        match &self.kind {
            ChartKind::TimeSeries(t) => t.validate(loc),
            ChartKind::Bars(b) => b.validate(loc),
            ChartKind::Ranges(r) => r.validate(loc),
            ChartKind::Distribution(d) => d.validate(loc),
        }
    }
}

/// What a chart draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChartKind {
    /// Stacked areas and lines over a shared x axis (time).
    TimeSeries(TimeSeries),
    /// Vertical bars per category, stacked or grouped.
    Bars(Bars),
    /// Horizontal bars with low/central/high ranges, optionally as a waterfall.
    Ranges(Ranges),
    /// Distributions of samples as a CDF or a histogram.
    Distribution(Distribution),
}

impl From<TimeSeries> for ChartKind {
    fn from(v: TimeSeries) -> Self {
        Self::TimeSeries(v)
    }
}
impl From<Bars> for ChartKind {
    fn from(v: Bars) -> Self {
        Self::Bars(v)
    }
}
impl From<Ranges> for ChartKind {
    fn from(v: Ranges) -> Self {
        Self::Ranges(v)
    }
}
impl From<Distribution> for ChartKind {
    fn from(v: Distribution) -> Self {
        Self::Distribution(v)
    }
}

/// Series over a shared, increasing x axis. `areas` are stacked (positive values upwards from
/// zero, negative values downwards, so a charging battery shows below the axis); `lines` are
/// drawn on top, unstacked. A power stack is areas by source plus the load as a line; a battery
/// state of charge is one line and no areas.
///
/// Long series are drawn downsampled to at most [`TimeSeries::max_points`] points, keeping the
/// minimum and maximum of each bucket so that spikes survive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSeries {
    /// The x axis, for example `Axis::new("Time of day", "h")`.
    pub x_axis: Axis,
    /// The y axis, for example `Axis::new("Power", "MW")`.
    pub y_axis: Axis,
    /// x values, strictly increasing.
    pub x: Vec<f64>,
    /// Stacked areas, bottom first.
    #[serde(default)]
    pub areas: Vec<Series>,
    /// Lines drawn over the areas.
    #[serde(default)]
    pub lines: Vec<Series>,
    /// Shaded bands between a low and a high series (a daily min/max), drawn under the lines.
    #[serde(default)]
    pub bands: Vec<BandSeries>,
    /// Fixed y range (low, high), for example (0, 100) for a state of charge in %.
    #[serde(default)]
    pub y_range: Option<(f64, f64)>,
    /// Most points drawn per series; longer series are downsampled.
    #[serde(default = "default_max_points")]
    pub max_points: usize,
    /// How long series are downsampled.
    #[serde(default)]
    pub downsample: Downsample,
}

/// A shaded band of a [`TimeSeries`]: the area between `low` and `high` at each x.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandSeries {
    /// Legend entry.
    pub name: String,
    /// Colour (drawn translucent).
    pub colour: Colour,
    /// Lower edge, one value per x.
    pub low: Vec<f64>,
    /// Upper edge, one value per x, `>= low`.
    pub high: Vec<f64>,
}

/// How a long time series is reduced to [`TimeSeries::max_points`] points for drawing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// Keep the rows with the smallest and largest total in each bucket: spikes survive.
    #[default]
    MinMax,
    /// Average each bucket (for example 8,760 hours into 365 daily means): a calmer picture of
    /// a year, with stacks still adding up; spikes are smoothed away.
    Mean,
}

fn default_max_points() -> usize {
    2000
}

impl TimeSeries {
    /// An empty chart over `x`.
    pub fn new(x_axis: Axis, y_axis: Axis, x: Vec<f64>) -> Self {
        Self {
            x_axis,
            y_axis,
            x,
            areas: Vec::new(),
            lines: Vec::new(),
            bands: Vec::new(),
            y_range: None,
            max_points: default_max_points(),
            downsample: Downsample::MinMax,
        }
    }

    /// Adds a stacked area on top of the previous ones.
    pub fn area(mut self, name: impl Into<String>, colour: Colour, values: Vec<f64>) -> Self {
        self.areas.push(Series::new(name, colour, values));
        self
    }

    /// Adds a line.
    pub fn line(mut self, name: impl Into<String>, colour: Colour, values: Vec<f64>) -> Self {
        self.lines.push(Series::new(name, colour, values));
        self
    }

    /// Adds a shaded band between `low` and `high` (each `<= high`).
    pub fn band(
        mut self,
        name: impl Into<String>,
        colour: Colour,
        low: Vec<f64>,
        high: Vec<f64>,
    ) -> Self {
        self.bands.push(BandSeries {
            name: name.into(),
            colour,
            low,
            high,
        });
        self
    }

    /// Draws at most `points` bucket means instead of min/max rows (see [`Downsample::Mean`]).
    pub fn mean_per_bucket(mut self, points: usize) -> Self {
        self.downsample = Downsample::Mean;
        self.max_points = points;
        self
    }

    /// Fixes the y range.
    pub fn y_range(mut self, low: f64, high: f64) -> Self {
        self.y_range = Some((low, high));
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        all_finite(&self.x, loc, "x")?;
        if self.x.len() < 2 {
            return Err(ReportError::TooFewPoints {
                location: loc.to_owned(),
                found: self.x.len(),
            });
        }
        if self.x.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ReportError::NotIncreasing {
                location: loc.to_owned(),
            });
        }
        if self.areas.is_empty() && self.lines.is_empty() && self.bands.is_empty() {
            return Err(ReportError::Empty {
                location: loc.to_owned(),
                field: "series",
            });
        }
        for b in &self.bands {
            let l = format!("{loc}, band `{}`", b.name);
            all_finite(&b.low, &l, "low")?;
            all_finite(&b.high, &l, "high")?;
            for v in [&b.low, &b.high] {
                if v.len() != self.x.len() {
                    return Err(ReportError::LengthMismatch {
                        location: l.clone(),
                        expected: self.x.len(),
                        found: v.len(),
                    });
                }
            }
            if let Some((lo, hi)) = b.low.iter().zip(&b.high).find(|(lo, hi)| lo > hi) {
                return Err(ReportError::BadRange {
                    location: l,
                    low: *lo,
                    high: *hi,
                });
            }
        }
        for s in self.areas.iter().chain(&self.lines) {
            let l = format!("{loc}, series `{}`", s.name);
            all_finite(&s.values, &l, "values")?;
            if s.values.len() != self.x.len() {
                return Err(ReportError::LengthMismatch {
                    location: l,
                    expected: self.x.len(),
                    found: s.values.len(),
                });
            }
        }
        if let Some((lo, hi)) = self.y_range {
            Range { low: lo, high: hi }.validate(&format!("{loc}, y_range"))?;
            if lo == hi {
                return Err(ReportError::BadRange {
                    location: format!("{loc}, y_range"),
                    low: lo,
                    high: hi,
                });
            }
        }
        if self.max_points < 16 {
            return Err(ReportError::TooFewPoints {
                location: format!("{loc}, max_points"),
                found: self.max_points,
            });
        }
        Ok(())
    }
}

/// How bars of several series share a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarLayout {
    /// On top of each other (positive up, negative down).
    Stacked,
    /// Side by side.
    Grouped,
}

/// Vertical bars: one slot per category, one bar (or bar segment) per series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bars {
    /// What the categories are, for example `Use`; drawn under the category names.
    pub category_label: String,
    /// Category names along the x axis.
    pub categories: Vec<String>,
    /// The value axis with its unit.
    pub value_axis: Axis,
    /// Stacked or grouped.
    pub layout: BarLayout,
    /// One value per category in each series.
    pub series: Vec<Series>,
}

impl Bars {
    /// Bars with categories and no series yet.
    pub fn new<S: Into<String>>(
        category_label: impl Into<String>,
        categories: impl IntoIterator<Item = S>,
        value_axis: Axis,
        layout: BarLayout,
    ) -> Self {
        Self {
            category_label: category_label.into(),
            categories: categories.into_iter().map(Into::into).collect(),
            value_axis,
            layout,
            series: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn series(mut self, name: impl Into<String>, colour: Colour, values: Vec<f64>) -> Self {
        self.series.push(Series::new(name, colour, values));
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        if self.categories.is_empty() || self.series.is_empty() {
            return Err(ReportError::Empty {
                location: loc.to_owned(),
                field: "categories or series",
            });
        }
        for s in &self.series {
            let l = format!("{loc}, series `{}`", s.name);
            all_finite(&s.values, &l, "values")?;
            if s.values.len() != self.categories.len() {
                return Err(ReportError::LengthMismatch {
                    location: l,
                    expected: self.categories.len(),
                    found: s.values.len(),
                });
            }
        }
        Ok(())
    }
}

/// One horizontal bar of a [`Ranges`] chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeBar {
    /// Name on the left, for example `Decode`.
    pub label: String,
    /// Central value (the bar's length).
    pub value: f64,
    /// Uncertainty of this bar, drawn as an error bar; absolute values of this bar, not of the
    /// running total.
    #[serde(default)]
    pub range: Option<Range>,
    /// Colour.
    pub colour: Colour,
    /// In a waterfall, a total starts from zero instead of the running sum.
    #[serde(default)]
    pub total: bool,
}

/// Horizontal bars with optional error bars: energy per request and its breakdown.
///
/// In waterfall mode each bar starts where the previous one ended, and a bar marked `total`
/// starts from zero, so components add up visibly to the total with its range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ranges {
    /// The value axis with its unit, for example `Axis::new("Energy per request", "Wh")`.
    pub value_axis: Axis,
    /// Bars from top to bottom.
    pub bars: Vec<RangeBar>,
    /// Draw as a waterfall.
    #[serde(default)]
    pub waterfall: bool,
    /// Draw as a tornado: each bar spans its range (low to high) around a common central
    /// value, drawn as a vertical line; bars are listed largest swing first.
    #[serde(default)]
    pub tornado: bool,
}

impl Ranges {
    /// An empty chart.
    pub fn new(value_axis: Axis, waterfall: bool) -> Self {
        Self {
            value_axis,
            bars: Vec::new(),
            waterfall,
            tornado: false,
        }
    }

    /// An empty tornado chart (see [`Ranges::tornado`]); add bars with
    /// [`Ranges::bar_with_range`], each with the same central value.
    pub fn tornado(value_axis: Axis) -> Self {
        Self {
            value_axis,
            bars: Vec::new(),
            waterfall: false,
            tornado: true,
        }
    }

    /// Adds a bar without range.
    pub fn bar(mut self, label: impl Into<String>, value: f64, colour: Colour) -> Self {
        self.bars.push(RangeBar {
            label: label.into(),
            value,
            range: None,
            colour,
            total: false,
        });
        self
    }

    /// Adds a bar with a low/high range.
    pub fn bar_with_range(
        mut self,
        label: impl Into<String>,
        low: f64,
        value: f64,
        high: f64,
        colour: Colour,
    ) -> Self {
        self.bars.push(RangeBar {
            label: label.into(),
            value,
            range: Some(Range { low, high }),
            colour,
            total: false,
        });
        self
    }

    /// Adds a total bar (from zero in a waterfall) with an optional low/high range.
    pub fn total(
        mut self,
        label: impl Into<String>,
        value: f64,
        range: Option<(f64, f64)>,
        colour: Colour,
    ) -> Self {
        self.bars.push(RangeBar {
            label: label.into(),
            value,
            range: range.map(|(low, high)| Range { low, high }),
            colour,
            total: true,
        });
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        if self.bars.is_empty() {
            return Err(ReportError::Empty {
                location: loc.to_owned(),
                field: "bars",
            });
        }
        for b in &self.bars {
            let l = format!("{loc}, bar `{}`", b.label);
            finite(b.value, &l, "value")?;
            if let Some(r) = &b.range {
                r.validate(&l)?;
            }
        }
        Ok(())
    }
}

/// How a [`Distribution`] is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionStyle {
    /// Cumulative distribution: share of samples at or below x, in %.
    Cdf,
    /// Histogram with this many equal-width bins, as a share of samples in %.
    Histogram {
        /// Number of bins, at least 2.
        bins: u32,
    },
}

/// A distribution of samples kept as quantiles, so that a million latencies cost a few
/// kilobytes in the report: `quantiles[k]` is the value at probability `k / (len - 1)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionSeries {
    /// Legend entry.
    pub name: String,
    /// Colour.
    pub colour: Colour,
    /// How many samples the quantiles summarise.
    pub count: u64,
    /// Non-decreasing values at evenly spaced probabilities from 0 to 1.
    pub quantiles: Vec<f64>,
}

/// Quantiles kept by [`DistributionSeries::from_samples`]: 0 %, 0.1 %, ..., 100 %.
pub const QUANTILE_POINTS: usize = 1001;

impl DistributionSeries {
    /// Summarises samples as [`QUANTILE_POINTS`] quantiles (linear interpolation between order
    /// statistics). Non-finite samples are an error.
    pub fn from_samples(
        name: impl Into<String>,
        colour: Colour,
        samples: &[f64],
    ) -> Result<Self, ReportError> {
        let name = name.into();
        all_finite(samples, &format!("distribution `{name}`"), "samples")?;
        if samples.is_empty() {
            return Err(ReportError::Empty {
                location: format!("distribution `{name}`"),
                field: "samples",
            });
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let quantiles = (0..QUANTILE_POINTS)
            .map(|k| {
                let pos = k as f64 / (QUANTILE_POINTS - 1) as f64 * (n - 1) as f64;
                let i = pos.floor() as usize;
                let j = (i + 1).min(n - 1);
                let f = pos - i as f64;
                sorted[i] + (sorted[j] - sorted[i]) * f
            })
            .collect();
        Ok(Self {
            name,
            colour,
            count: n as u64,
            quantiles,
        })
    }

    /// The value at probability `p` in `[0, 1]` (linear interpolation between kept quantiles).
    pub fn quantile(&self, p: f64) -> f64 {
        let n = self.quantiles.len();
        if n == 0 {
            return 0.0;
        }
        let pos = p.clamp(0.0, 1.0) * (n - 1) as f64;
        let i = pos.floor() as usize;
        let j = (i + 1).min(n - 1);
        self.quantiles[i] + (self.quantiles[j] - self.quantiles[i]) * (pos - i as f64)
    }
}

/// Latency-style distributions of one or more series, as a CDF or a histogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// The measured value, for example `Axis::new("Time to first token", "ms")`.
    pub value_axis: Axis,
    /// CDF or histogram.
    pub style: DistributionStyle,
    /// Series, each summarised as quantiles.
    pub series: Vec<DistributionSeries>,
    /// Cut the x axis at this quantile of the widest series (for example 0.99) so that a long
    /// tail does not squash the body; `None` shows everything.
    #[serde(default)]
    pub clip_quantile: Option<f64>,
}

impl Distribution {
    /// An empty distribution chart.
    pub fn new(value_axis: Axis, style: DistributionStyle) -> Self {
        Self {
            value_axis,
            style,
            series: Vec::new(),
            clip_quantile: None,
        }
    }

    /// Adds a series summarised from raw samples.
    pub fn samples(
        mut self,
        name: impl Into<String>,
        colour: Colour,
        samples: &[f64],
    ) -> Result<Self, ReportError> {
        self.series
            .push(DistributionSeries::from_samples(name, colour, samples)?);
        Ok(self)
    }

    /// Cuts the x axis at a quantile (see [`Distribution::clip_quantile`]).
    pub fn clip_at(mut self, quantile: f64) -> Self {
        self.clip_quantile = Some(quantile);
        self
    }

    fn validate(&self, loc: &str) -> Result<(), ReportError> {
        if self.series.is_empty() {
            return Err(ReportError::Empty {
                location: loc.to_owned(),
                field: "series",
            });
        }
        let bad_bins = match self.style {
            DistributionStyle::Histogram { bins } if !(2..=1000).contains(&bins) => Some(bins),
            _ => None,
        };
        if let Some(bins) = bad_bins {
            return Err(ReportError::BadRange {
                location: format!("{loc}, bins"),
                low: 2.0,
                high: f64::from(bins),
            });
        }
        if let Some(q) = self.clip_quantile.filter(|q| !(*q > 0.0 && *q <= 1.0)) {
            return Err(ReportError::BadRange {
                location: format!("{loc}, clip_quantile"),
                low: q,
                high: 1.0,
            });
        }
        for s in &self.series {
            let l = format!("{loc}, series `{}`", s.name);
            all_finite(&s.quantiles, &l, "quantiles")?;
            if s.quantiles.len() < 2 {
                return Err(ReportError::TooFewPoints {
                    location: l,
                    found: s.quantiles.len(),
                });
            }
            if s.quantiles.windows(2).any(|w| w[1] < w[0]) {
                return Err(ReportError::NotIncreasing { location: l });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod informative_tests {
    use super::*;

    fn soc(values: Vec<f64>, fixed: bool) -> Chart {
        let x: Vec<f64> = (0..values.len()).map(|i| i as f64).collect();
        let mut t = TimeSeries::new(Axis::new("Hour", "h"), Axis::new("State of charge", "%"), x)
            .line("SoC", Colour::Battery, values);
        if fixed {
            t = t.y_range(0.0, 100.0);
        }
        Chart::new("soc", "State of charge", t)
    }

    #[test]
    fn a_small_swing_on_a_fixed_axis_is_flat_lined() {
        // 60% +- 0.2 on a 0-100 axis: the swing is 0.4% of the axis.
        let v: Vec<f64> = (0..48)
            .map(|i| 60.0 + 0.2 * (f64::from(i) / 3.0).sin())
            .collect();
        assert_eq!(soc(v.clone(), true).uninformative(), Some("flat-lined"));
        assert_eq!(soc(v, false).uninformative(), None);
        // A constant is not flat-lined: there is no swing to hide.
        assert_eq!(soc(vec![60.0; 48], true).uninformative(), None);
        assert_eq!(soc(vec![0.0; 48], false).uninformative(), Some("empty"));
    }

    #[test]
    fn all_zero_bars_are_empty() {
        let b = Bars::new("k", ["a", "b"], Axis::new("E", "MWh"), BarLayout::Grouped).series(
            "s",
            Colour::Palette(0),
            vec![0.0, 0.0],
        );
        assert_eq!(Chart::new("b", "B", b).uninformative(), Some("empty"));
    }
}

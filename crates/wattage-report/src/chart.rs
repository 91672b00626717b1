//! Charts to SVG with `plotters`.
//!
//! Layout of every chart, top to bottom: the title, a legend strip (when there are two or more
//! series; laid out in rows so entries never overlap), then the plot with axis titles that carry
//! units. Category labels are drawn by this module rather than by plotters so that they sit at
//! the centre of their slot and wrap or shorten instead of colliding.

use std::error::Error;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::downsample::{bucket_bounds, bucket_means, minmax_indices};
use crate::error::ReportError;
use crate::format::{TickFormat, significant};
use crate::model::{
    BarLayout, Bars, Chart, ChartKind, Colour, Distribution, DistributionStyle, Downsample, Ranges,
    TimeSeries,
};
use crate::palette;

type DrawResult = Result<(), Box<dyn Error>>;

/// The font stack written into the SVG; browsers pick the first one they have.
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif";
/// plotters writes `font-size = size / 1.24`; this turns a wanted pixel size into its size.
fn px(size: f64) -> f64 {
    size * 1.24
}
/// Rough width of a text in pixels, for layout (average glyph ~0.56 em for sans-serif).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

const TEXT: RGBColor = RGBColor(0x1f, 0x29, 0x37);
const MUTED: RGBColor = RGBColor(0x4b, 0x55, 0x63);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const AXIS: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);

const TITLE_PX: f64 = 17.0;
const LABEL_PX: f64 = 12.5;
const DESC_PX: f64 = 13.5;
const LEFT_PAD: i32 = 14;

/// Renders a chart as a standalone SVG document (with `xmlns`, for writing to a `.svg` file).
pub fn render_svg(chart: &Chart) -> Result<String, ReportError> {
    chart.validate()?;
    let body = draw(chart).map_err(|e| ReportError::Draw {
        chart: chart.id.clone(),
        message: e.to_string(),
    })?;
    Ok(replace_header(&body, chart, true))
}

/// Renders a chart as an `<svg>` element for embedding in HTML: no `xmlns` (HTML does not need
/// it, and the report then holds no URL at all), a `viewBox` and no fixed size so that CSS can
/// scale it, and a `<title>` for screen readers.
pub fn render_inline_svg(chart: &Chart) -> Result<String, ReportError> {
    chart.validate()?;
    let body = draw(chart).map_err(|e| ReportError::Draw {
        chart: chart.id.clone(),
        message: e.to_string(),
    })?;
    Ok(replace_header(&body, chart, false))
}

fn replace_header(svg: &str, chart: &Chart, standalone: bool) -> String {
    let (w, h) = chart.size;
    let rest = match svg.find('>') {
        Some(i) => &svg[i + 1..],
        None => svg,
    };
    let title = crate::html::escape(&chart.title);
    let id = &chart.id;
    if standalone {
        format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n<title>{title}</title>{rest}"
        )
    } else {
        format!(
            "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"svg-title-{id}\" \
             class=\"chart\">\n<title id=\"svg-title-{id}\">{title}</title>{rest}"
        )
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Swatch {
    Area,
    Line,
}

struct LegendEntry {
    name: String,
    colour: RGBColor,
    swatch: Swatch,
}

fn draw(chart: &Chart) -> Result<String, Box<dyn Error>> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, chart.size).into_drawing_area();
        root.fill(&WHITE)?;
        let title_style = TextStyle::from((FONT, px(TITLE_PX)).into_font())
            .color(&TEXT)
            .pos(Pos::new(HPos::Left, VPos::Top));
        root.draw(&Text::new(
            chart.title.clone(),
            (LEFT_PAD, 12),
            title_style.clone(),
        ))?;
        let legend = legend_entries(chart);
        let legend_h = draw_legend(&root, &legend, 12 + TITLE_PX as i32 + 12)?;
        let top = 12 + TITLE_PX as i32 + 12 + legend_h;
        let (_, plot) = root.split_vertically(top);
        match &chart.kind {
            ChartKind::TimeSeries(t) => draw_time_series(&plot, t)?,
            ChartKind::Bars(b) => draw_bars(&plot, b)?,
            ChartKind::Ranges(r) => draw_ranges(&plot, r)?,
            ChartKind::Distribution(d) => draw_distribution(&plot, d)?,
        }
        root.present()?;
    }
    Ok(buf)
}

fn legend_entries(chart: &Chart) -> Vec<LegendEntry> {
    let entries: Vec<LegendEntry> = match &chart.kind {
        ChartKind::TimeSeries(t) => t
            .areas
            .iter()
            .map(|s| (s.name.clone(), s.colour, Swatch::Area))
            .chain(
                t.bands
                    .iter()
                    .map(|b| (b.name.clone(), b.colour, Swatch::Area)),
            )
            .chain(
                t.lines
                    .iter()
                    .map(|s| (s.name.clone(), s.colour, Swatch::Line)),
            )
            .map(|(name, colour, swatch)| LegendEntry {
                name,
                colour: palette::rgb(colour),
                swatch,
            })
            .collect(),
        ChartKind::Bars(b) => b
            .series
            .iter()
            .map(|s| LegendEntry {
                name: s.name.clone(),
                colour: palette::rgb(s.colour),
                swatch: Swatch::Area,
            })
            .collect(),
        ChartKind::Ranges(_) => Vec::new(),
        ChartKind::Distribution(d) => d
            .series
            .iter()
            .map(|s| LegendEntry {
                name: format!(
                    "{}: p50 {} · p99 {} {}",
                    s.name,
                    significant(s.quantile(0.5), 3),
                    significant(s.quantile(0.99), 3),
                    d.value_axis.unit
                ),
                colour: palette::rgb(s.colour),
                swatch: if matches!(d.style, DistributionStyle::Cdf) {
                    Swatch::Line
                } else {
                    Swatch::Area
                },
            })
            .collect(),
    };
    // A single series is named by the title and axis; a legend would only repeat it, except for
    // distributions, whose legend carries the percentiles.
    if entries.len() < 2 && !matches!(chart.kind, ChartKind::Distribution(_)) {
        Vec::new()
    } else {
        entries
    }
}

/// Draws legend entries in rows starting at `y`; returns the height used.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[LegendEntry],
    y: i32,
) -> Result<i32, Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    if entries.is_empty() {
        return Ok(0);
    }
    let (width, _) = root.dim_in_pixel();
    let row_h = 20;
    let style = TextStyle::from((FONT, px(LABEL_PX)).into_font())
        .color(&TEXT)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let mut x = LEFT_PAD;
    let mut row = 0;
    for e in entries {
        let w = 16 + 6 + text_width(&e.name, LABEL_PX).ceil() as i32 + 18;
        if x > LEFT_PAD && x + w > width as i32 - LEFT_PAD {
            row += 1;
            x = LEFT_PAD;
        }
        let cy = y + row * row_h + row_h / 2;
        match e.swatch {
            Swatch::Area => root.draw(&Rectangle::new(
                [(x, cy - 6), (x + 16, cy + 6)],
                e.colour.filled(),
            ))?,
            Swatch::Line => root.draw(&PathElement::new(
                vec![(x, cy), (x + 16, cy)],
                e.colour.stroke_width(3),
            ))?,
        }
        root.draw(&Text::new(e.name.clone(), (x + 22, cy), style.clone()))?;
        x += w;
    }
    Ok((row + 1) * row_h + 6)
}

fn nice_range(lo: f64, hi: f64, pad_low: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (lo, hi);
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        lo -= d;
        hi += d;
    }
    let span = hi - lo;
    if hi > 0.0 {
        hi += span * 0.05;
    }
    if pad_low && lo < 0.0 {
        lo -= span * 0.05;
    }
    (lo, hi)
}

fn tick_counts(plot_w: f64, plot_h: f64) -> (usize, usize) {
    (
        ((plot_w / 80.0).floor() as usize).clamp(2, 14),
        ((plot_h / 42.0).floor() as usize).clamp(2, 10),
    )
}

fn y_area_width(fmt: &TickFormat, lo: f64, hi: f64) -> u32 {
    let longest = [lo, hi, (lo + hi) / 2.0]
        .iter()
        .map(|v| fmt.format(*v).chars().count() + 1)
        .max()
        .unwrap_or(4);
    (longest as f64 * LABEL_PX * 0.6 + 34.0).clamp(56.0, 120.0) as u32
}

fn draw_time_series<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    t: &TimeSeries,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = t.x.len();
    let key: Vec<f64> = (0..n)
        .map(|i| {
            t.areas
                .iter()
                .chain(&t.lines)
                .map(|s| s.values[i].abs())
                .chain(t.bands.iter().map(|b| b.high[i].abs() + b.low[i].abs()))
                .sum()
        })
        .collect();
    // x, areas, lines, and bands as (low, high), after downsampling.
    type Drawn = (
        Vec<f64>,
        Vec<Vec<f64>>,
        Vec<Vec<f64>>,
        Vec<(Vec<f64>, Vec<f64>)>,
    );
    let (xs, areas, lines, bands_ds): Drawn = match t.downsample {
        Downsample::MinMax => {
            let idx = minmax_indices(&key, t.max_points);
            let pick = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
            (
                pick(&t.x),
                t.areas.iter().map(|s| pick(&s.values)).collect(),
                t.lines.iter().map(|s| pick(&s.values)).collect(),
                t.bands
                    .iter()
                    .map(|b| (pick(&b.low), pick(&b.high)))
                    .collect(),
            )
        }
        Downsample::Mean => {
            let b = bucket_bounds(n, t.max_points);
            (
                bucket_means(&t.x, &b),
                t.areas
                    .iter()
                    .map(|s| bucket_means(&s.values, &b))
                    .collect(),
                t.lines
                    .iter()
                    .map(|s| bucket_means(&s.values, &b))
                    .collect(),
                t.bands
                    .iter()
                    .map(|s| (bucket_means(&s.low, &b), bucket_means(&s.high, &b)))
                    .collect(),
            )
        }
    };

    // Split each area into its positive and negative parts, stacked separately, so that a
    // battery that charges shows below zero instead of cutting across other sources.
    let m = xs.len();
    let mut pos = vec![0.0; m];
    let mut neg = vec![0.0; m];
    let mut bands: Vec<(RGBColor, Vec<f64>, Vec<f64>)> = Vec::new();
    for (s, values) in t.areas.iter().zip(&areas) {
        let (mut lo_p, mut hi_p, mut lo_n, mut hi_n) = (
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
        );
        let mut any_neg = false;
        for (k, &v) in values.iter().enumerate() {
            lo_p.push(pos[k]);
            pos[k] += v.max(0.0);
            hi_p.push(pos[k]);
            hi_n.push(neg[k]);
            neg[k] += v.min(0.0);
            lo_n.push(neg[k]);
            any_neg |= v < 0.0;
        }
        let c = palette::rgb(s.colour);
        bands.push((c, lo_p, hi_p));
        if any_neg {
            bands.push((c, lo_n, hi_n));
        }
    }
    let mut lo = neg.iter().copied().fold(0.0_f64, f64::min);
    let mut hi = pos.iter().copied().fold(0.0_f64, f64::max);
    for &v in lines
        .iter()
        .flatten()
        .chain(bands_ds.iter().flat_map(|(l, h)| l.iter().chain(h)))
    {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if t.areas.is_empty() && (!t.lines.is_empty() || !t.bands.is_empty()) {
        // Without areas the axis need not start at zero: fit the data.
        lo = lines
            .iter()
            .flatten()
            .chain(bands_ds.iter().flat_map(|(l, h)| l.iter().chain(h)))
            .copied()
            .fold(f64::INFINITY, f64::min);
    }
    if t.areas.is_empty() && lo > 0.0 {
        // A lone line (state of charge, curtailment) reads best from zero unless far from it.
        let span = hi - lo;
        if lo < span * 2.0 {
            lo = 0.0;
        }
    }
    let (ylo, yhi) = match t.y_range {
        Some(r) => r,
        None => nice_range(lo, hi, true),
    };
    let (x0, x1) = (xs[0], xs[m - 1]);
    let xfmt = TickFormat::for_range(x0, x1);
    let yfmt = TickFormat::for_range(ylo, yhi);
    let (w, h) = area.dim_in_pixel();
    let y_area = y_area_width(&yfmt, ylo, yhi);
    let (nx, ny) = tick_counts(f64::from(w) - f64::from(y_area), f64::from(h) - 60.0);

    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_left(LEFT_PAD as u32 - 6)
        .margin_bottom(6)
        .x_label_area_size(48)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x0..x1, ylo..yhi)?;
    let label_style = (FONT, px(LABEL_PX)).into_font().color(&MUTED);
    let desc_style = (FONT, px(DESC_PX)).into_font().color(&TEXT);
    chart
        .configure_mesh()
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&|v| xfmt.format(*v))
        .y_label_formatter(&|v| yfmt.format(*v))
        .x_desc(t.x_axis.title())
        .y_desc(t.y_axis.title())
        .label_style(label_style)
        .axis_desc_style(desc_style)
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()?;

    for (c, lower, upper) in &bands {
        let mut pts: Vec<(f64, f64)> = xs.iter().copied().zip(upper.iter().copied()).collect();
        pts.extend(xs.iter().copied().zip(lower.iter().copied()).rev());
        chart.draw_series(std::iter::once(Polygon::new(pts, c.mix(0.88).filled())))?;
    }
    if ylo < 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(x0, 0.0), (x1, 0.0)],
            TEXT.stroke_width(1),
        ))?;
    }
    for (b, (low, high)) in t.bands.iter().zip(&bands_ds) {
        let c = palette::rgb(b.colour);
        let mut pts: Vec<(f64, f64)> = xs.iter().copied().zip(high.iter().copied()).collect();
        pts.extend(xs.iter().copied().zip(low.iter().copied()).rev());
        chart.draw_series(std::iter::once(Polygon::new(pts, c.mix(0.35).filled())))?;
    }
    for (s, values) in t.lines.iter().zip(&lines) {
        let c = palette::rgb(s.colour);
        chart.draw_series(LineSeries::new(
            xs.iter().copied().zip(values.iter().copied()),
            c.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// Splits a label into at most two lines that fit `max_w` pixels, shortening with `…`.
fn fit_label(label: &str, max_w: f64, size: f64) -> Vec<String> {
    if text_width(label, size) <= max_w {
        return vec![label.to_owned()];
    }
    let max_chars = ((max_w / (size * 0.56)).floor() as usize).max(3);
    let words: Vec<&str> = label.split_whitespace().collect();
    let mut lines: Vec<String> = vec![String::new()];
    for w in words {
        let cur = lines.last_mut().expect("lines is never empty");
        if cur.is_empty() || cur.chars().count() + 1 + w.chars().count() <= max_chars {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        } else {
            lines.push(w.to_owned());
        }
    }
    let overflow = lines.len() > 2;
    lines.truncate(2);
    for (i, l) in lines.iter_mut().enumerate() {
        let long = l.chars().count() > max_chars;
        if long || (overflow && i == 1) {
            let keep: String = l.chars().take(max_chars.saturating_sub(1)).collect();
            *l = format!("{}…", keep.trim_end());
        }
    }
    lines
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    b: &Bars,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = b.categories.len();
    let ns = b.series.len();
    let (mut lo, mut hi) = (0.0_f64, 0.0_f64);
    match b.layout {
        BarLayout::Stacked => {
            for i in 0..n {
                let p: f64 = b.series.iter().map(|s| s.values[i].max(0.0)).sum();
                let q: f64 = b.series.iter().map(|s| s.values[i].min(0.0)).sum();
                hi = hi.max(p);
                lo = lo.min(q);
            }
        }
        BarLayout::Grouped => {
            for s in &b.series {
                for &v in &s.values {
                    hi = hi.max(v);
                    lo = lo.min(v);
                }
            }
        }
    }
    let (ylo, yhi) = nice_range(lo, hi, true);
    let yfmt = TickFormat::for_range(ylo, yhi);
    let (w, h) = area.dim_in_pixel();
    let y_area = y_area_width(&yfmt, ylo, yhi);
    let slot_px = (f64::from(w) - f64::from(y_area) - 30.0) / n as f64;
    let labels: Vec<Vec<String>> = b
        .categories
        .iter()
        .map(|c| fit_label(c, slot_px - 6.0, LABEL_PX))
        .collect();
    let two_lines = labels.iter().any(|l| l.len() > 1);
    let x_area = if two_lines { 68 } else { 52 };
    let (_, ny) = tick_counts(f64::from(w), f64::from(h) - 60.0);

    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_left(LEFT_PAD as u32 - 6)
        .margin_bottom(6)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0.0..n as f64, ylo..yhi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(ny)
        .y_label_formatter(&|v| yfmt.format(*v))
        .x_desc(b.category_label.clone())
        .y_desc(b.value_axis.title())
        .label_style((FONT, px(LABEL_PX)).into_font().color(&MUTED))
        .axis_desc_style((FONT, px(DESC_PX)).into_font().color(&TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()?;

    let mut rects = Vec::new();
    for i in 0..n {
        let (mut up, mut down) = (0.0, 0.0);
        for (k, s) in b.series.iter().enumerate() {
            let v = s.values[i];
            let c = palette::rgb(s.colour);
            let (x0, x1, y0, y1) = match b.layout {
                BarLayout::Stacked => {
                    let (y0, y1) = if v >= 0.0 {
                        up += v;
                        (up - v, up)
                    } else {
                        down += v;
                        (down, down - v)
                    };
                    let half = (0.3_f64).min(60.0 / slot_px);
                    (i as f64 + 0.5 - half, i as f64 + 0.5 + half, y0, y1)
                }
                BarLayout::Grouped => {
                    // Bars at most 80 px wide, the group centred in its slot.
                    let bw = (0.76 / ns as f64).min(80.0 / slot_px);
                    let x0 = i as f64 + 0.5 - bw * ns as f64 / 2.0 + bw * k as f64;
                    (x0, x0 + bw * 0.92, v.min(0.0), v.max(0.0))
                }
            };
            rects.push(Rectangle::new([(x0, y0), (x1, y1)], c.filled()));
        }
    }
    chart.draw_series(rects)?;
    if ylo < 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (n as f64, 0.0)],
            TEXT.stroke_width(1),
        ))?;
    }
    let style = TextStyle::from((FONT, px(LABEL_PX)).into_font())
        .color(&TEXT)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let (ox, oy) = area.get_base_pixel();
    for (i, lines) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, ylo));
        let (x, y) = (x - ox, y - oy);
        for (j, line) in lines.iter().enumerate() {
            area.draw(&Text::new(
                line.clone(),
                (x, y + 7 + j as i32 * 16),
                style.clone(),
            ))?;
        }
    }
    Ok(())
}

fn draw_ranges<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    r: &Ranges,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = r.bars.len();
    // (start, end, error-bar low, error-bar high) per bar.
    let mut spans = Vec::with_capacity(n);
    let mut running = 0.0;
    for b in &r.bars {
        if r.tornado {
            let (l, h) = b.range.map_or((b.value, b.value), |g| (g.low, g.high));
            spans.push((l, h, None));
            continue;
        }
        let start = if r.waterfall && !b.total {
            running
        } else {
            0.0
        };
        let end = start + b.value;
        let err = b.range.map(|rg| {
            if r.waterfall && !b.total {
                (start + rg.low, start + rg.high)
            } else {
                (rg.low, rg.high)
            }
        });
        if r.waterfall && !b.total {
            running = end;
        }
        spans.push((start, end, err));
    }
    let (mut lo, mut hi) = if r.tornado {
        // A tornado is read around its central value, not from zero.
        let c = r.bars.first().map_or(0.0, |b| b.value);
        (c, c)
    } else {
        (0.0_f64, 0.0_f64)
    };
    for (s, e, err) in &spans {
        lo = lo.min(s.min(*e));
        hi = hi.max(s.max(*e));
        if let Some((a, b)) = err {
            lo = lo.min(*a);
            hi = hi.max(*b);
        }
    }
    let unit = &r.value_axis.unit;
    let value_labels: Vec<String> = r
        .bars
        .iter()
        .map(|b| match b.range {
            Some(rg) if r.tornado => format!(
                "{}–{} {unit}",
                significant(rg.low, 3),
                significant(rg.high, 3)
            ),
            Some(rg) => format!(
                "{} {unit} ({}–{})",
                significant(b.value, 3),
                significant(rg.low, 2),
                significant(rg.high, 2)
            ),
            None => format!("{} {unit}", significant(b.value, 3)),
        })
        .collect();
    let (w, h) = area.dim_in_pixel();
    let longest_label = r
        .bars
        .iter()
        .map(|b| text_width(&b.label, LABEL_PX))
        .fold(0.0, f64::max);
    let y_area = (longest_label + 24.0).clamp(60.0, f64::from(w) * 0.35) as u32;
    let longest_value = value_labels
        .iter()
        .map(|l| text_width(l, LABEL_PX))
        .fold(0.0, f64::max);
    let plot_w = f64::from(w) - f64::from(y_area) - 30.0;
    // Room on the right for the value labels, as a share of the data span.
    let room = (longest_value + 12.0) / (plot_w - longest_value - 12.0).max(plot_w * 0.3);
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let (xlo, xhi) = if r.tornado {
        (lo - span * 0.1, hi + span * room)
    } else {
        (
            lo - if lo < 0.0 { span * 0.05 } else { 0.0 },
            hi + span * room,
        )
    };
    let xfmt = TickFormat::for_range(xlo, xhi);
    let (nx, _) = tick_counts(plot_w, f64::from(h));

    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_left(LEFT_PAD as u32 - 6)
        .margin_bottom(6)
        .x_label_area_size(48)
        .y_label_area_size(y_area)
        .build_cartesian_2d(xlo..xhi, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(nx)
        .x_label_formatter(&|v| xfmt.format(*v))
        .x_desc(r.value_axis.title())
        .label_style((FONT, px(LABEL_PX)).into_font().color(&MUTED))
        .axis_desc_style((FONT, px(DESC_PX)).into_font().color(&TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()?;

    let row = |i: usize| (n - 1 - i) as f64;
    let mut shapes: Vec<DynElement<DB, (f64, f64)>> = Vec::new();
    for (i, (b, (s, e, err))) in r.bars.iter().zip(&spans).enumerate() {
        let y = row(i);
        let c = palette::rgb(b.colour);
        let style = if b.total {
            c.filled()
        } else {
            c.mix(0.85).filled()
        };
        shapes.push(Rectangle::new([(s.min(*e), y + 0.2), (s.max(*e), y + 0.8)], style).into_dyn());
        if let Some((a, bb)) = err {
            // A white halo under the whisker keeps it visible over a dark bar.
            let halo = WHITE.stroke_width(5);
            let st = TEXT.stroke_width(2);
            let mid = y + 0.5;
            for style in [halo, st] {
                shapes.push(PathElement::new(vec![(*a, mid), (*bb, mid)], style).into_dyn());
                shapes.push(
                    PathElement::new(vec![(*a, mid - 0.2), (*a, mid + 0.2)], style).into_dyn(),
                );
                shapes.push(
                    PathElement::new(vec![(*bb, mid - 0.2), (*bb, mid + 0.2)], style).into_dyn(),
                );
            }
        }
        if r.waterfall && i + 1 < n && !r.bars[i + 1].total {
            shapes.push(
                PathElement::new(vec![(*e, y + 0.2), (*e, y - 0.2)], AXIS.stroke_width(1))
                    .into_dyn(),
            );
        }
    }
    chart.draw_series(shapes)?;
    if r.tornado {
        let c = r.bars.first().map_or(0.0, |b| b.value);
        chart.draw_series(LineSeries::new(
            vec![(c, 0.0), (c, n as f64)],
            TEXT.stroke_width(2),
        ))?;
    } else if xlo < 0.0 {
        chart.draw_series(LineSeries::new(
            vec![(0.0, 0.0), (0.0, n as f64)],
            TEXT.stroke_width(1),
        ))?;
    }
    let label_style = TextStyle::from((FONT, px(LABEL_PX)).into_font())
        .color(&TEXT)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value_style = TextStyle::from((FONT, px(LABEL_PX)).into_font())
        .color(&MUTED)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let max_label_w = f64::from(y_area) - 16.0;
    let (ox, oy) = area.get_base_pixel();
    for (i, (b, (s, e, err))) in r.bars.iter().zip(&spans).enumerate() {
        let y = row(i) + 0.5;
        let (x, yy) = chart.backend_coord(&(xlo, y));
        let (x, yy) = (x - ox, yy - oy);
        let lines = fit_label(&b.label, max_label_w, LABEL_PX);
        let text = if b.total {
            TextStyle::from((FONT, px(LABEL_PX)).into_font().style(FontStyle::Bold))
                .color(&TEXT)
                .pos(Pos::new(HPos::Right, VPos::Center))
        } else {
            label_style.clone()
        };
        let first_y = yy - 8 * (lines.len() as i32 - 1);
        for (j, line) in lines.iter().enumerate() {
            area.draw(&Text::new(
                line.clone(),
                (x - 8, first_y + 16 * j as i32),
                text.clone(),
            ))?;
        }
        let right = err.map_or(s.max(*e), |(_, bb)| bb.max(s.max(*e)));
        let (vx, vy) = chart.backend_coord(&(right, y));
        let (vx, vy) = (vx - ox, vy - oy);
        area.draw(&Text::new(
            value_labels[i].clone(),
            (vx + 8, vy),
            value_style.clone(),
        ))?;
    }
    Ok(())
}

/// Share of probability mass at or below `x` for a quantile sketch.
fn cdf_at(q: &[f64], x: f64) -> f64 {
    let n = q.len();
    if x < q[0] {
        return 0.0;
    }
    if x >= q[n - 1] {
        return 1.0;
    }
    // Last index with q[i] <= x.
    let i = q.partition_point(|v| *v <= x).saturating_sub(1);
    let j = (i + 1).min(n - 1);
    let step = 1.0 / (n - 1) as f64;
    let f = if q[j] > q[i] {
        (x - q[i]) / (q[j] - q[i])
    } else {
        0.0
    };
    (i as f64 + f) * step
}

fn draw_distribution<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    d: &Distribution,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let lo = d
        .series
        .iter()
        .map(|s| s.quantiles[0])
        .fold(f64::INFINITY, f64::min);
    let hi = d
        .series
        .iter()
        .map(|s| s.quantile(d.clip_quantile.unwrap_or(1.0)))
        .fold(f64::NEG_INFINITY, f64::max);
    let (xlo, xhi) = if hi > lo {
        (lo.min(0.0_f64.max(lo - (hi - lo) * 0.02)), hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let xfmt = TickFormat::for_range(xlo, xhi);
    let (w, h) = area.dim_in_pixel();

    // Histogram shares per series, computed first to size the y axis.
    let hist: Vec<Vec<f64>> = match d.style {
        DistributionStyle::Cdf => Vec::new(),
        DistributionStyle::Histogram { bins } => d
            .series
            .iter()
            .map(|s| {
                (0..bins)
                    .map(|b| {
                        let e0 = xlo + (xhi - xlo) * f64::from(b) / f64::from(bins);
                        let e1 = xlo + (xhi - xlo) * f64::from(b + 1) / f64::from(bins);
                        (cdf_at(&s.quantiles, e1) - cdf_at(&s.quantiles, e0)) * 100.0
                    })
                    .collect()
            })
            .collect(),
    };
    let (ylo, yhi, ydesc) = match d.style {
        DistributionStyle::Cdf => (0.0, 100.0, "Share of samples at or below (%)"),
        DistributionStyle::Histogram { .. } => {
            let m = hist.iter().flatten().copied().fold(0.0, f64::max);
            (0.0, (m * 1.08).max(1e-9), "Share of samples (%)")
        }
    };
    let yfmt = TickFormat::for_range(ylo, yhi);
    let y_area = y_area_width(&yfmt, ylo, yhi);
    let (nx, ny) = tick_counts(f64::from(w) - f64::from(y_area), f64::from(h) - 60.0);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_left(LEFT_PAD as u32 - 6)
        .margin_bottom(6)
        .x_label_area_size(48)
        .y_label_area_size(y_area)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)?;
    chart
        .configure_mesh()
        .x_labels(nx)
        .y_labels(ny)
        .x_label_formatter(&|v| xfmt.format(*v))
        .y_label_formatter(&|v| yfmt.format(*v))
        .x_desc(d.value_axis.title())
        .y_desc(ydesc)
        .label_style((FONT, px(LABEL_PX)).into_font().color(&MUTED))
        .axis_desc_style((FONT, px(DESC_PX)).into_font().color(&TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()?;

    match d.style {
        DistributionStyle::Cdf => {
            for s in &d.series {
                let c = palette::rgb(s.colour);
                let step = 100.0 / (s.quantiles.len() - 1) as f64;
                let mut pts: Vec<(f64, f64)> = s
                    .quantiles
                    .iter()
                    .enumerate()
                    .take_while(|(_, q)| **q <= xhi)
                    .map(|(k, q)| (*q, k as f64 * step))
                    .collect();
                if pts.last().is_some_and(|p| p.1 < 100.0) {
                    pts.push((xhi, cdf_at(&s.quantiles, xhi) * 100.0));
                }
                chart.draw_series(LineSeries::new(pts, c.stroke_width(2)))?;
            }
        }
        DistributionStyle::Histogram { bins } => {
            for (s, shares) in d.series.iter().zip(&hist) {
                let c = palette::rgb(s.colour);
                let bw = (xhi - xlo) / f64::from(bins);
                chart.draw_series(shares.iter().enumerate().map(|(b, v)| {
                    let x0 = xlo + bw * b as f64;
                    Rectangle::new([(x0, 0.0), (x0 + bw, *v)], c.mix(0.35).filled())
                }))?;
                let mut outline = vec![(xlo, 0.0)];
                for (b, v) in shares.iter().enumerate() {
                    let x0 = xlo + bw * b as f64;
                    outline.push((x0, *v));
                    outline.push((x0 + bw, *v));
                }
                outline.push((xhi, 0.0));
                chart.draw_series(LineSeries::new(outline, c.stroke_width(2)))?;
            }
        }
    }
    Ok(())
}

/// The colour a series of this kind gets, as `#rrggbb` (for HTML swatches and legends).
pub fn colour_hex(c: Colour) -> String {
    let RGBColor(r, g, b) = palette::rgb(c);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fit_or_shorten() {
        assert_eq!(fit_label("Grid", 100.0, 12.0), vec!["Grid"]);
        let l = fit_label("Gas turbines on site running at part load", 80.0, 12.0);
        assert_eq!(l.len(), 2);
        assert!(l[1].ends_with('…'));
    }

    #[test]
    fn cdf_of_sketch() {
        let q = [0.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(cdf_at(&q, -1.0), 0.0);
        assert_eq!(cdf_at(&q, 2.0), 0.5);
        assert!((cdf_at(&q, 2.5) - 0.625).abs() < 1e-12);
        assert_eq!(cdf_at(&q, 9.0), 1.0);
    }
}

//! Rendering tests: what the HTML must and must not contain, for any valid report.

use proptest::prelude::*;
use wattage_report::*;

fn small_report() -> Report {
    let x: Vec<f64> = (0..=24).map(f64::from).collect();
    let grid: Vec<f64> = x.iter().map(|h| 100.0 + 10.0 * (h / 4.0).sin()).collect();
    let gas = vec![40.0; x.len()];
    let battery: Vec<f64> = x
        .iter()
        .map(|h| if (10.0..14.0).contains(h) { -20.0 } else { 5.0 })
        .collect();
    let load: Vec<f64> = grid.iter().zip(&gas).map(|(a, b)| a + b).collect();
    let ts = TimeSeries::new(Axis::new("Time of day", "h"), Axis::new("Power", "MW"), x)
        .area("Grid", Colour::Grid, grid)
        .area("Gas turbines", Colour::GasTurbine, gas)
        .area("Battery", Colour::Battery, battery)
        .line("Load", Colour::Load, load);
    let bars = Bars::new(
        "Use",
        ["IT", "Cooling"],
        Axis::new("Energy", "MWh"),
        BarLayout::Grouped,
    )
    .series("A", Colour::Palette(0), vec![1200.0, 300.0])
    .series("B", Colour::Palette(1), vec![1100.0, 250.0]);
    let ranges = Ranges::new(Axis::new("Energy per request", "Wh"), true)
        .bar_with_range("Prefill", 0.04, 0.05, 0.07, Colour::Palette(0))
        .bar("Decode", 0.2, Colour::Palette(0))
        .total("Total", 0.25, Some((0.18, 0.33)), Colour::Load);
    let samples: Vec<f64> = (1..=500).map(|i| f64::from(i) * 0.7).collect();
    let dist = Distribution::new(
        Axis::new("Time to first token", "ms"),
        DistributionStyle::Cdf,
    )
    .samples("TTFT", Colour::Palette(2), &samples)
    .expect("finite samples");
    Report::new("Small <script>alert(1)</script> report")
        .subtitle("A & B")
        .generated_by("wattage-report tests")
        .section(
            Section::new("Summary")
                .paragraph("Plain text with <b>tags</b> that must stay text.")
                .figures(vec![
                    KeyFigure::new("Energy per request", 0.25, "Wh").range(0.18, 0.33),
                    KeyFigure::new("Requests", 1.0e9, "per day").note("scenario"),
                ])
                .table(Table::new("Balance", ["Source", "Energy (MWh)"]).row(["Grid", "1,234"])),
        )
        .section(
            Section::new("Charts")
                .chart(Chart::new("power", "Power stack", ts).caption("A day"))
                .chart(Chart::new("by-use", "Energy by use", bars))
                .chart(Chart::new("per-request", "Energy per request", ranges))
                .chart(Chart::new("ttft", "Time to first token", dist)),
        )
        .section(
            Section::new("Assumptions")
                .assumptions(vec![Assumption::new("PUE", "1.2", "", "default")]),
        )
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

fn assert_no_non_finite_text(text: &str) {
    for t in tokens(text) {
        assert!(
            !matches!(t, "NaN" | "nan" | "inf" | "Infinity" | "infinity"),
            "non-finite token `{t}` in output"
        );
    }
}

#[test]
fn one_inline_svg_per_chart_in_a_figure() {
    for report in [small_report(), demo_report()] {
        let html = render_html(&report).expect("valid report");
        let charts = report.charts().count();
        assert_eq!(html.matches("<svg").count(), charts);
        assert_eq!(html.matches("<figure id=\"fig-").count(), charts);
        assert_eq!(html.matches("<figcaption>").count(), charts);
        for c in report.charts() {
            let at = html
                .find(&format!("<figure id=\"fig-{}\">", c.id))
                .unwrap_or_else(|| panic!("figure for `{}`", c.id));
            assert!(html[at..].trim_start_matches(|c| c != '\n')[1..].starts_with("<svg"));
        }
    }
}

#[test]
fn html_is_self_contained() {
    for report in [small_report(), demo_report()] {
        let html = render_html(&report).expect("valid report");
        assert!(!html.contains("http://"), "a URL in the HTML");
        assert!(!html.contains("https://"), "a URL in the HTML");
        assert!(!html.contains("<script"), "a script in the HTML");
        assert!(!html.contains("<link"), "an external resource in the HTML");
        assert!(!html.contains("@import"));
        assert!(!html.contains("url("));
        assert!(html.contains("<nav class=\"toc\""));
    }
}

#[test]
fn text_is_escaped_everywhere() {
    let html = render_html(&small_report()).expect("valid report");
    assert!(html.contains("<title>Small &lt;script&gt;alert(1)&lt;/script&gt; report</title>"));
    assert!(html.contains("<h1>Small &lt;script&gt;alert(1)&lt;/script&gt; report</h1>"));
    assert!(html.contains("with &lt;b&gt;tags&lt;/b&gt; that"));
    assert!(html.contains("A &amp; B"));
    assert!(!html.contains("<b>"));
}

#[test]
fn a_script_in_a_chart_title_is_escaped_in_the_svg() {
    let ts = TimeSeries::new(Axis::new("t", "s"), Axis::new("P", "W"), vec![0.0, 1.0])
        .line("<script>x</script>", Colour::Load, vec![1.0, 2.0])
        .line("ok", Colour::Grid, vec![1.0, 2.0]);
    let chart = Chart::new("c", "<script>alert(1)</script>", ts);
    for svg in [
        render_svg(&chart).expect("valid"),
        render_inline_svg(&chart).expect("valid"),
    ] {
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}

#[test]
fn no_nan_or_inf_text_ever() {
    for report in [small_report(), demo_report()] {
        let html = render_html(&report).expect("valid report");
        assert_no_non_finite_text(&html);
    }
}

#[test]
fn non_finite_values_are_rejected_with_their_location() {
    let ts = TimeSeries::new(
        Axis::new("Time", "h"),
        Axis::new("Power", "MW"),
        vec![0.0, 1.0, 2.0],
    )
    .area("Grid", Colour::Grid, vec![1.0, f64::NAN, 2.0]);
    let report = Report::new("r").section(Section::new("Site").chart(Chart::new("p", "P", ts)));
    let err = render_html(&report).expect_err("NaN must be rejected");
    let msg = err.to_string();
    assert!(matches!(err, ReportError::NonFinite { .. }), "{msg}");
    assert!(
        msg.contains("`Grid`") && msg.contains("values[1]") && msg.contains("`Site`"),
        "{msg}"
    );

    let report = Report::new("r").section(Section::new("S").figures(vec![KeyFigure::new(
        "Power",
        f64::INFINITY,
        "MW",
    )]));
    assert!(matches!(
        render_html(&report),
        Err(ReportError::NonFinite { .. })
    ));

    let err = DistributionSeries::from_samples("TTFT", Colour::Palette(0), &[1.0, f64::NAN])
        .expect_err("NaN sample");
    assert!(err.to_string().contains("TTFT"));
}

#[test]
fn every_axis_has_a_unit_and_shows_it() {
    for report in [small_report(), demo_report()] {
        for c in report.charts() {
            let svg = render_svg(c).expect("valid chart");
            for axis in c.axes() {
                assert!(!axis.unit.trim().is_empty());
                let shown = html::escape(&axis.title());
                assert!(svg.contains(&shown), "chart `{}` lacks `{shown}`", c.id);
            }
        }
    }
}

#[test]
fn an_axis_without_unit_is_an_error() {
    let ts = TimeSeries::new(
        Axis::new("Time", "h"),
        Axis::new("Power", " "),
        vec![0.0, 1.0],
    )
    .line("Load", Colour::Load, vec![1.0, 2.0]);
    let err = render_svg(&Chart::new("p", "P", ts)).expect_err("no unit");
    assert!(matches!(err, ReportError::MissingUnit { .. }));
    assert!(err.to_string().contains("`Power`"));
}

#[test]
fn structural_errors_are_caught() {
    let bad_len = TimeSeries::new(Axis::new("t", "h"), Axis::new("P", "MW"), vec![0.0, 1.0]).line(
        "L",
        Colour::Load,
        vec![1.0],
    );
    assert!(matches!(
        render_svg(&Chart::new("a", "A", bad_len)),
        Err(ReportError::LengthMismatch { .. })
    ));
    let not_increasing = TimeSeries::new(Axis::new("t", "h"), Axis::new("P", "MW"), vec![1.0, 0.0])
        .line("L", Colour::Load, vec![1.0, 2.0]);
    assert!(matches!(
        render_svg(&Chart::new("a", "A", not_increasing)),
        Err(ReportError::NotIncreasing { .. })
    ));
    let ok = TimeSeries::new(Axis::new("t", "h"), Axis::new("P", "MW"), vec![0.0, 1.0]).line(
        "L",
        Colour::Load,
        vec![1.0, 2.0],
    );
    let dup = Report::new("r").section(
        Section::new("S")
            .chart(Chart::new("same", "A", ok.clone()))
            .chart(Chart::new("same", "B", ok.clone())),
    );
    assert!(matches!(
        dup.validate(),
        Err(ReportError::DuplicateId { .. })
    ));
    assert!(matches!(
        render_svg(&Chart::new("Bad Id", "A", ok)),
        Err(ReportError::BadId { .. })
    ));
    let table =
        Report::new("r").section(Section::new("S").table(Table::new("t", ["a", "b"]).row(["1"])));
    assert!(matches!(
        table.validate(),
        Err(ReportError::LengthMismatch { .. })
    ));
}

#[test]
fn output_is_deterministic() {
    let a = render_html(&demo_report()).expect("valid");
    let b = render_html(&demo_report()).expect("valid");
    assert!(a == b, "two renders of the same report differ");
}

#[test]
fn long_series_are_downsampled_and_keep_spikes() {
    let n = 100_000;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / 60.0).collect();
    let mut load = vec![100.0; n];
    load[54_321] = 900.0;
    let ts = TimeSeries::new(Axis::new("Time", "h"), Axis::new("Power", "MW"), x).line(
        "Load",
        Colour::Load,
        load,
    );
    let svg = render_svg(&Chart::new("long", "Long", ts)).expect("valid");
    let polyline = svg
        .lines()
        .find(|l| l.starts_with("<polyline"))
        .expect("a polyline");
    let points = polyline.matches(',').count();
    assert!(points <= 2000, "{points} points drawn");
    // Only the 900 MW spike can stretch the y axis past a tick at 800 (the rest is 100 MW).
    assert!(svg.contains("\n800\n</text>"), "spike lost");
    assert!(svg.len() < 200_000, "svg is {} bytes", svg.len());
}

#[test]
fn legends_name_every_series_when_there_are_several() {
    let report = small_report();
    for c in report.charts() {
        let names = c.series_names();
        let svg = render_svg(c).expect("valid");
        if names.len() > 1 {
            for n in names {
                assert!(
                    svg.contains(&html::escape(n)),
                    "legend of `{}` lacks `{n}`",
                    c.id
                );
            }
        }
    }
}

#[test]
fn report_round_trips_through_json() {
    let r = demo_report();
    let json = serde_json::to_string(&r).expect("serialize");
    let back: Report = serde_json::from_str(&json).expect("deserialize");
    // Exact only with serde_json's `float_roundtrip` feature (the dev-dependency enables it).
    assert!(r == back, "the report changed through JSON");
}

#[test]
fn charts_export_as_svg_and_png() {
    let report = small_report();
    let fonts = Fonts::system();
    for c in report.charts() {
        let svg = render_svg(c).expect("valid");
        assert!(svg.starts_with("<svg width="));
        assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        let png = render_png(c, &fonts, 1.0).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 2_000);
    }
    assert!(matches!(
        svg_to_png("<svg", &Fonts::none(), 1.0),
        Err(ReportError::Png { .. })
    ));
}

#[test]
fn comparison_renders_side_by_side() {
    let runs = [
        NamedFigures::new(
            "with batteries",
            vec![
                KeyFigure::new("Cost per year", 242.0, "M$"),
                KeyFigure::new("Emissions per year", 992.0, "kt CO2e"),
                KeyFigure::new("Unserved energy", 0.02, "%"),
            ],
        ),
        NamedFigures::new(
            "without batteries",
            vec![
                KeyFigure::new("Cost per year", 251.0, "M$"),
                KeyFigure::new("Emissions per year", 1040.0, "kt CO2e"),
                KeyFigure::new("Unserved energy", 0.4, "%"),
            ],
        ),
    ];
    let report = comparison_report("Batteries or not", &runs).expect("valid");
    let html = render_html(&report).expect("renders");
    assert!(html.contains("change against with batteries"));
    assert!(html.contains("251 (+3.7 %)"));
    assert_eq!(html.matches("<svg").count(), report.charts().count());
    assert!(report.charts().count() >= 2);
    assert!(comparison_report("none", &[]).is_err());
}

#[test]
fn snapshot_of_a_small_report() {
    let html = render_html(&small_report()).expect("valid");
    insta::assert_snapshot!("small_report_html", html);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_finite_series_renders_without_non_finite_text(
        values in proptest::collection::vec(-1.0e12..1.0e12f64, 2..300),
        scale in prop_oneof![Just(1e-6), Just(1.0), Just(1e9)],
    ) {
        let values: Vec<f64> = values.iter().map(|v| v * scale).collect();
        let x: Vec<f64> = (0..values.len()).map(|i| i as f64).collect();
        let ts = TimeSeries::new(Axis::new("Time", "h"), Axis::new("Power", "W"), x)
            .area("Grid", Colour::Grid, values.clone())
            .line("Load", Colour::Load, values.clone());
        let bars = Bars::new("c", ["a", "b"], Axis::new("E", "J"), BarLayout::Stacked)
            .series("s", Colour::Grid, vec![values[0], values[1]]);
        let report = Report::new("p").section(
            Section::new("S")
                .chart(Chart::new("ts", "TS", ts))
                .chart(Chart::new("bars", "Bars", bars)),
        );
        let html = render_html(&report).expect("finite data renders");
        assert_no_non_finite_text(&html);
    }
}

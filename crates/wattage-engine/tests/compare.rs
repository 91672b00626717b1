//! `wattage compare` of the two battery designs of `scenarios/` (50 MW / 100 MWh against
//! 400 MW / 811 MWh), shortened to a few days: the inputs that differ are found by diffing,
//! the figures that separate the designs (ramp violations, battery cycles, grid peak) are in
//! the table with each scenario's own run's values, identical inputs are said plainly, and in
//! headless Chromium every chart of the page holds bars that differ (no empty chart).
//!
//! The browser test needs Chromium, found as the report crate's browser test finds it; without
//! it the test fails with a message, unless `WATTAGE_SKIP_BROWSER=1` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wattage_engine::compare::{self, CompareOptions, Comparison};
use wattage_engine::run::{self, RunSummary};
use wattage_engine::{Catalog, FileSystem, Input, Silent};
use wattage_testkit::{attr, chromium, chromium_or_skip, figure};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// A shipped run scenario shortened to three days at 1 s steps (the training job's swings
/// need seconds to break ramp limits), with a one-day hourly LP, as a text input whose site
/// file is found beside the shipped one. `name` replaces its name when given.
fn short(file: &str, name: Option<&str>) -> Input {
    let text = std::fs::read_to_string(scenarios_dir().join(file)).expect("shipped scenario");
    let mut t: toml::Table = text.parse().expect("TOML");
    if let Some(n) = name {
        t.insert("name".into(), n.into());
    }
    let site = t["site"].as_table_mut().expect("[site]");
    site.insert("duration_h".into(), 72.into());
    site.insert("step_s".into(), 1.0.into());
    site.insert("output_resolution_s".into(), 3600.0.into());
    site.insert("zoom_day".into(), 1.0.into());
    let opt = t["optimize"].as_table_mut().expect("[optimize]");
    opt.insert("duration_h".into(), 24.0.into());
    Input::Text {
        text: toml::to_string(&t).expect("TOML"),
        name: file.into(),
        dir: scenarios_dir(),
    }
}

fn options() -> CompareOptions {
    CompareOptions::default()
}

/// The comparison of the two designs, run once for every test of this file.
fn batteries() -> &'static Comparison {
    static C: OnceLock<Comparison> = OnceLock::new();
    C.get_or_init(|| {
        let inputs = [
            short("battery-small.toml", None),
            short("battery-large.toml", None),
        ];
        compare::run(
            &Catalog::builtin(),
            &FileSystem,
            &inputs,
            &options(),
            &Silent,
        )
        .expect("comparison runs")
    })
}

/// A scenario's own run, as `wattage run` does it.
fn own_run(file: &str) -> RunSummary {
    let cat = Catalog::builtin();
    let l = run::load(&FileSystem, Some(&short(file, None))).expect("loads");
    run::execute(&cat, l, &Silent).expect("runs").summary()
}

fn kpi<'a>(c: &'a Comparison, field: &str) -> &'a compare::KpiRow {
    c.summary
        .kpis
        .iter()
        .find(|k| k.field == field)
        .unwrap_or_else(|| panic!("no figure `{field}`"))
}

#[test]
fn the_battery_designs_differ_in_ramp_violations_cycles_and_grid_peak() {
    let c = batteries();
    let s = &c.summary;
    assert!(!s.identical_inputs);
    let names: Vec<&str> = s.scenarios.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["battery-small", "battery-large"]);

    // The inputs that differ: the site file and its battery, nothing else (the names, titles
    // and descriptions are left out).
    let fields: Vec<(&str, &str)> = s
        .inputs
        .iter()
        .map(|d| (d.file, d.field.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("scenario", "site.scenario"),
            ("site", "batteries[0].energy_mwh"),
            ("site", "batteries[0].power_mw"),
        ],
        "{:#?}",
        s.inputs
    );
    let text: Vec<Vec<String>> = s
        .inputs
        .iter()
        .map(|d| d.values.iter().map(compare::value_text).collect())
        .collect();
    assert_eq!(text[1], ["100", "811"]);
    assert_eq!(text[2], ["50", "400"]);

    // Each figure equals the one of the scenario's own run, and differs.
    let own = [own_run("battery-small.toml"), own_run("battery-large.toml")];
    let ramp = kpi(c, "site.ramp_violations");
    let cycles = kpi(c, "site.battery_equivalent_cycles");
    let peak = kpi(c, "site.peak_grid_import_mw");
    for (i, o) in own.iter().enumerate() {
        assert_eq!(ramp.values[i], Some(o.site.ramp_violations as f64));
        assert_eq!(cycles.values[i], Some(o.site.battery_equivalent_cycles));
        assert_eq!(peak.values[i], Some(o.site.peak_grid_import_mw));
    }
    eprintln!(
        "ramp violations {:?}, cycles {:?}, grid peak {:?} MW",
        ramp.values, cycles.values, peak.values
    );
    for k in [ramp, cycles, peak] {
        assert!(k.differs, "{k:?}");
    }
    // The small battery cycles more and leaves ramps to the grid.
    assert!(ramp.values[0] > ramp.values[1]);
    assert!(cycles.values[0] > cycles.values[1]);
    // Figures that do not depend on the battery are not shown.
    assert!(!kpi(c, "services[chat].fleet.replicas").differs);
    assert!(!kpi(c, "site.interruptions").differs);

    // The page's table shows them with their labels; the terminal and CSV carry the same.
    let html = wattage_report::render_html(
        &wattage_report::comparison_page(&c.page()).expect("valid page"),
    )
    .unwrap();
    let results = &html[html.find("id=\"results\"").expect("results section")..];
    for label in [
        "Ramp violations",
        "Battery equivalent full cycles",
        "Grid peak import",
    ] {
        assert!(results.contains(label), "{label} missing from the table");
    }
    assert!(!results.contains("AI interruptions"));
    let inputs = &html[html.find("id=\"inputs\"").expect("inputs section")..];
    assert!(inputs.contains("batteries[0].power_mw"));
    let csv = String::from_utf8(c.csv().unwrap()).unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with("kpi,site.ramp_violations,"))
        .expect("ramp violations in the CSV");
    assert!(
        line.ends_with(&format!(
            ",true,{},{}",
            ramp.values[0].unwrap(),
            ramp.values[1].unwrap()
        )),
        "{line}"
    );
}

#[test]
fn identical_inputs_are_detected() {
    let inputs = [
        short("battery-large.toml", None),
        short("battery-large.toml", Some("same-again")),
    ];
    let c = compare::run(
        &Catalog::builtin(),
        &FileSystem,
        &inputs,
        &options(),
        &Silent,
    )
    .unwrap();
    assert!(c.summary.identical_inputs);
    assert!(c.summary.inputs.is_empty());
    // Deterministic runs: nothing differs, and the page draws no chart.
    assert!(c.summary.kpis.iter().all(|k| !k.differs));
    let page = wattage_report::comparison_page(&c.page()).unwrap();
    assert_eq!(page.charts().count(), 0);
    let html = wattage_report::render_html(&page).unwrap();
    assert!(html.contains("The inputs are identical"));
    // A repeated name gets a folder of its own.
    let c = compare::run(
        &Catalog::builtin(),
        &FileSystem,
        &[
            short("battery-large.toml", None),
            short("battery-large.toml", None),
        ],
        &options(),
        &Silent,
    )
    .unwrap();
    let reports: Vec<&str> = c
        .summary
        .scenarios
        .iter()
        .map(|s| s.report.as_str())
        .collect();
    assert_eq!(
        reports,
        ["battery-large/report.html", "battery-large-2/report.html"]
    );
}

#[test]
fn thresholds_are_checked_and_change_what_is_shown() {
    let e = CompareOptions::new(Some(-0.1), None).unwrap_err();
    assert!(e.to_string().contains("rel_tol"), "{e}");
    assert!(CompareOptions::new(None, Some(f64::NAN)).is_err());
    // With a 100 % relative threshold no figure of one sign can differ (its spread is at most
    // its largest value): ramp violations and the grid peak are no longer shown.
    let c = batteries();
    let loose = CompareOptions::new(Some(1.0), None).unwrap().thresholds;
    for f in ["site.ramp_violations", "site.peak_grid_import_mw"] {
        let k = kpi(c, f);
        assert!(k.differs && !loose.differs(&k.values), "{k:?}");
    }
}

/// The bars of one chart's SVG, as (fill colour, height in px): rectangles filled with a
/// palette colour (the series'), not the background or the legend's swatches.
fn bars(svg: &str) -> Vec<(String, f64)> {
    let palette: Vec<String> = wattage_report::PALETTE
        .iter()
        .map(|c| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2))
        .collect();
    svg.split("<rect")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find('>')?];
            let fill = attr(tag, "fill")?.to_ascii_lowercase();
            let h: f64 = attr(tag, "height")?.parse().ok()?;
            palette.contains(&fill).then_some((fill, h))
        })
        .collect()
}

#[test]
fn headless_chromium_finds_no_empty_chart_in_the_comparison() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let c = batteries();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wattage-compare-browser");
    let _ = std::fs::remove_dir_all(&dir);
    for a in c.artifacts().expect("artifacts") {
        let p = dir.join(&a.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &a.bytes).unwrap();
    }
    let file = dir.join("compare.html");
    let url = format!("file://{}", file.display());
    let out = chromium(&bin, &dir.join("profile-dom"), &["--dump-dom".into()], &url);
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).expect("DOM is UTF-8");

    let page = wattage_report::comparison_page(&c.page()).unwrap();
    let charts: Vec<&str> = page.charts().map(|ch| ch.id.as_str()).collect();
    assert!(
        charts.len() >= 2,
        "the designs differ in several units: {charts:?}"
    );
    assert_eq!(
        dom.matches("<figure").count(),
        charts.len(),
        "figures in the DOM"
    );
    for id in &charts {
        let figure = figure(&dom, &format!("fig-{id}"));
        assert!(
            figure.contains("</svg>"),
            "figure `fig-{id}` has a broken svg"
        );
        let b = bars(figure);
        let colours: std::collections::BTreeSet<&str> = b.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(colours.len(), 2, "fig-{id}: one colour per run: {b:?}");
        assert!(
            b.iter().any(|x| x.1 >= 1.0),
            "fig-{id} is empty: no bar is drawn: {b:?}"
        );
        let mut heights: Vec<i64> = b.iter().map(|x| (x.1 * 10.0).round() as i64).collect();
        heights.sort_unstable();
        heights.dedup();
        assert!(
            heights.len() >= 2,
            "fig-{id}: every bar has the same height: {b:?}"
        );
    }
    // The charts hold what separates the designs.
    for label in [
        "Ramp violations",
        "Battery equivalent full cycles",
        "Grid peak import",
    ] {
        assert!(
            page.charts().any(|ch| ch.title.contains(label)),
            "no chart of {label}"
        );
    }
    // Each scenario's report is linked and is where the link says.
    for s in &c.summary.scenarios {
        assert!(
            dom.contains(&format!("href=\"{}\"", s.report)),
            "{}",
            s.report
        );
        assert!(dir.join(&s.report).is_file(), "{}", s.report);
        assert!(dir.join(&s.name).join("summary.json").is_file());
    }
    eprintln!("comparison: {}", file.display());
}

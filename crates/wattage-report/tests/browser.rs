//! The HTML report opens in a real browser: headless Chromium loads the demo report from a file,
//! and the DOM it builds must hold every chart as an `<svg>` inside its `<figure>`.
//!
//! CI installs Debian's `chromium`. Without it this test fails with a message, unless
//! `WATTAGE_SKIP_BROWSER=1` is set. `WATTAGE_CHROMIUM` names another binary. The screenshot is
//! left in `target/tmp/wattage-report-browser/report.png` for a person to look at.

use std::path::Path;

use wattage_report::{demo_report, render_html};
use wattage_testkit::{chromium, chromium_or_skip, figure};

#[test]
fn every_chart_is_in_the_dom_of_headless_chromium() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wattage-report-browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test folder");
    let report = demo_report();
    let html = render_html(&report).expect("demo report renders");
    let file = dir.join("report.html");
    std::fs::write(&file, &html).expect("write report");
    let url = format!("file://{}", file.display());

    let out = chromium(&bin, &dir.join("profile-dom"), &["--dump-dom".into()], &url);
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).expect("DOM is UTF-8");
    let charts: Vec<&str> = report.charts().map(|c| c.id.as_str()).collect();
    assert!(!charts.is_empty());
    assert_eq!(
        dom.matches("<figure").count(),
        charts.len(),
        "figures in the DOM"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        charts.len(),
        "svg elements in the DOM"
    );
    for id in &charts {
        let figure = figure(&dom, &format!("fig-{id}"));
        assert!(figure.contains("<svg"), "figure `fig-{id}` has no svg");
        assert!(
            figure.contains("</svg>"),
            "figure `fig-{id}` has a broken svg"
        );
        assert!(
            figure.contains("<figcaption>"),
            "figure `fig-{id}` has no caption"
        );
        // Data drawn, not only a background and axes: every chart draws at least one area,
        // line or bar beyond the white background rectangle.
        let drawn = figure.matches("<polygon").count()
            + figure.matches("<polyline").count()
            + figure.matches("<rect").count().saturating_sub(1);
        assert!(drawn > 0, "figure `fig-{id}` draws no data");
    }
    // No chart is empty (all zero) or flat-lined (data that vary drawn on an axis that dwarfs
    // their swing).
    assert_eq!(
        report.uninformative_charts(),
        Vec::<(String, &str)>::new(),
        "uninformative charts"
    );
    assert!(dom.contains("Resolved assumptions"));

    let shot = dir.join("report.png");
    let out = chromium(
        &bin,
        &dir.join("profile-shot"),
        &[
            "--window-size=1200,2400".into(),
            format!("--screenshot={}", shot.display()),
        ],
        &url,
    );
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 50_000, "screenshot is suspiciously small");
    eprintln!("screenshot: {}", shot.display());
}

//! The HTML report opens in a real browser: headless Chromium loads the demo report from a file,
//! and the DOM it builds must hold every chart as an `<svg>` inside its `<figure>`.
//!
//! CI installs Debian's `chromium`. Without it this test fails with a message, unless
//! `WATTAGE_SKIP_BROWSER=1` is set. `WATTAGE_CHROMIUM` names another binary. The screenshot is
//! left in `target/tmp/wattage-report-browser/report.png` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use wattage_report::{demo_report, render_html};

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WATTAGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium headless with the flags that keep it off the network, killing it after a
/// time limit so a hung browser fails the test instead of blocking CI.
fn chromium(bin: &Path, profile: &Path, extra: &[String], url: &str) -> Output {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", bin.display()));
    // Read stdout on a thread: a DOM larger than the pipe buffer would otherwise block Chromium.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
    });
    let start = Instant::now();
    let limit = Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {limit:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for chromium: {e}"),
        }
    }
    let status = child.wait().expect("chromium exit status");
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_end(&mut e, &mut stderr);
    }
    let stdout = reader
        .join()
        .expect("reader thread")
        .expect("read chromium stdout");
    Output {
        status,
        stdout,
        stderr,
    }
}

#[test]
fn every_chart_is_in_the_dom_of_headless_chromium() {
    let Some(bin) = find_chromium() else {
        if std::env::var_os("WATTAGE_SKIP_BROWSER").is_some_and(|v| v == "1") {
            eprintln!("skipped: chromium not found and WATTAGE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "chromium not found on PATH: install it (`apt-get install chromium`), point \
             WATTAGE_CHROMIUM at a Chromium binary, or set WATTAGE_SKIP_BROWSER=1 to skip"
        );
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
        let start = dom
            .find(&format!("<figure id=\"fig-{id}\""))
            .unwrap_or_else(|| panic!("figure `fig-{id}` missing from the DOM"));
        let end = start + dom[start..].find("</figure>").expect("closed figure");
        let figure = &dom[start..end];
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

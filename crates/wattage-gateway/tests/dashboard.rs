//! The live dashboard in a real browser: a tiny axum server serves [`PAGE`] at `/dashboard`
//! and a [`Dashboard`] snapshot at `/dashboard/data`; headless Chromium loads the page, lets
//! it poll for 8 s of virtual time and dumps the DOM, which must hold every chart drawn with
//! data, the snapshot's totals, and no reference to anything outside the gateway.
//!
//! Chromium is found as in the report's browser test (`crates/wattage-report/tests/browser.rs`):
//! `WATTAGE_CHROMIUM`, else `chromium`, `chromium-browser`, `google-chrome` or `chrome` on
//! `PATH`. Without it the test fails with a message, unless `WATTAGE_SKIP_BROWSER=1` is set
//! (`scripts/test` sets it when it could not install Chromium, and says so). A screenshot of
//! the populated page is left in `target/tmp/wattage-dashboard-browser/full/dashboard.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use serde_json::Value;
use wattage_gateway::dashboard::{Dashboard, PAGE};
use wattage_testkit::{attr, chromium, chromium_or_skip, figure};

const NOW: i64 = 1_760_000_000_000;

/// A small deterministic generator (xorshift64*), so the test needs no RNG crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A key whose name must be escaped (it would inject an element otherwise).
const NASTY_KEY: &str = "ops <i>&\"x\"</i>";

/// About 400 requests over the 10 minutes before `NOW` from four models and five keys, with a
/// burst in the last 10 s.
fn synthetic() -> Dashboard {
    let d = Dashboard::new();
    let models = [
        ("llama-3.1-70b", 0.30, 0.45),
        ("llama-3.1-8b", 0.035, 0.30),
        ("gpt-oss-120b", 0.12, 0.40),
        ("mistral-small-24b", 0.08, 0.35),
    ];
    let keys = ["team-search", "team-chat", "batch-evals", "", NASTY_KEY];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = NOW - 600_000;
    let mut t = start;
    while t < NOW - 10_000 {
        // A slow wave of load: busier in the middle.
        let phase = (t - start) as f64 / 600_000.0;
        let gap = 1_000.0 + 2_500.0 * (1.0 - (phase * std::f64::consts::PI).sin());
        t += (gap * (0.5 + rng.next())) as i64;
        let (model, median, spread) = models[(rng.next() * rng.next() * 4.0) as usize];
        let key = keys[(rng.next() * keys.len() as f64) as usize];
        record(&d, &mut rng, t.min(NOW), model, key, median, spread);
    }
    for i in 0..20 {
        record(
            &d,
            &mut rng,
            NOW - 9_500 + i * 450,
            "llama-3.1-70b",
            "team-chat",
            0.3,
            0.4,
        );
    }
    d
}

fn record(d: &Dashboard, rng: &mut Rng, t: i64, model: &str, key: &str, median: f64, spread: f64) {
    // Roughly log-normal: exp of a sum of uniforms.
    let z = (rng.next() + rng.next() + rng.next() - 1.5) * 2.0;
    let wh = median * (spread * z).exp();
    d.record(t, model, key, wh, wh * 0.39, wh * 1.8, wh * 0.000_08);
}

struct Served {
    dom: String,
    data_polls: usize,
    other_paths: Vec<String>,
    dir: PathBuf,
    bin: PathBuf,
    url: String,
    _rt: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct AppState {
    snapshot: Arc<Value>,
    polls: Arc<AtomicUsize>,
    others: Arc<Mutex<Vec<String>>>,
}

/// Serves the page and `snapshot` and dumps the DOM headless Chromium builds from them.
/// Chromium's flags for the dashboard: `extra`, plus no proxy (the page talks to a loopback
/// server) and virtual time for the page's polling to run.
fn flags(extra: &[&str]) -> Vec<String> {
    let mut f: Vec<String> = vec![
        "--no-proxy-server".into(),
        "--virtual-time-budget=8000".into(),
    ];
    f.extend(extra.iter().map(|s| s.to_string()));
    f
}

fn serve_and_dump(bin: PathBuf, name: &str, snapshot: Value) -> Served {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("wattage-dashboard-browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test folder");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let state = AppState {
        snapshot: Arc::new(snapshot),
        polls: Arc::new(AtomicUsize::new(0)),
        others: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new()
        .route("/dashboard", get(|| async { Html(PAGE) }))
        .route(
            "/dashboard/data",
            get(|State(s): State<AppState>| async move {
                s.polls.fetch_add(1, Ordering::SeqCst);
                Json((*s.snapshot).clone())
            }),
        )
        .fallback(|State(s): State<AppState>, uri: Uri| async move {
            s.others.lock().unwrap().push(uri.to_string());
            StatusCode::NOT_FOUND.into_response()
        })
        .with_state(state.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    rt.spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/dashboard");

    let out = chromium(
        &bin,
        &dir.join("profile-dom"),
        &flags(&["--dump-dom"]),
        &url,
    );
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).expect("DOM is UTF-8");
    std::fs::write(dir.join("dom.html"), &dom).expect("write the DOM");
    let other_paths = state.others.lock().unwrap().clone();
    Served {
        dom,
        data_polls: state.polls.load(Ordering::SeqCst),
        other_paths,
        dir,
        bin,
        url,
        _rt: rt,
    }
}

/// The opening tags `<name ...>` in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let end = rest[i..].find('>').expect("closed tag");
        out.push(&rest[i..i + end + 1]);
        rest = &rest[i + end + 1..];
    }
    out
}

/// Data marks (`class="data"`) with real geometry: paths through at least two points spanning
/// more than 10 px across and 1 px up, rects at least 0.5 px each way.
fn drawn_marks(fig: &str) -> (usize, usize) {
    let mut paths = 0;
    for tag in tags(fig, "path") {
        if attr(tag, "class") != Some("data") {
            continue;
        }
        let d = attr(tag, "d").expect("path has d");
        let nums: Vec<f64> = d
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number in d"))
            .collect();
        assert!(
            nums.len() >= 4 && nums.len().is_multiple_of(2),
            "odd path: {d}"
        );
        let xs: Vec<f64> = nums.iter().step_by(2).copied().collect();
        let ys: Vec<f64> = nums.iter().skip(1).step_by(2).copied().collect();
        let span = |v: &[f64]| {
            v.iter().copied().fold(f64::MIN, f64::max) - v.iter().copied().fold(f64::MAX, f64::min)
        };
        if span(&xs) > 10.0 && span(&ys) > 1.0 {
            paths += 1;
        }
    }
    let mut rects = 0;
    for tag in tags(fig, "rect") {
        if attr(tag, "class") != Some("data") {
            continue;
        }
        let w: f64 = attr(tag, "width").expect("width").parse().expect("number");
        let h: f64 = attr(tag, "height")
            .expect("height")
            .parse()
            .expect("number");
        if w > 0.5 && h > 0.5 {
            rects += 1;
        }
    }
    (paths, rects)
}

/// `(data-value, text)` of the element with `id`; the text has its tags removed.
fn shown(dom: &str, id: &str) -> (f64, String) {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("`{id}` missing"));
    let open_end = start + dom[start..].find('>').expect("tag end");
    let raw: f64 = attr(&dom[start - 1..=open_end], "data-value")
        .unwrap_or_else(|| panic!("`{id}` has no data-value"))
        .parse()
        .unwrap_or_else(|e| panic!("`{id}` data-value: {e}"));
    let close = open_end + dom[open_end..].find("</div>").expect("closed div");
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom[open_end + 1..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    (raw, text.replace("&nbsp;", " "))
}

/// Parses a displayed quantity ("1.23 kWh", "$0.0123", "1,234") into base units with the
/// given unit table.
fn parse_shown(text: &str, units: &[(&str, f64)]) -> f64 {
    let t = text.trim().trim_start_matches('$');
    let n_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(t.len());
    let n: f64 = t[..n_end].replace(',', "").parse().expect("a number");
    let unit = t[n_end..].split_whitespace().next().unwrap_or("");
    let f = if units.is_empty() {
        1.0
    } else {
        units
            .iter()
            .find(|(u, _)| *u == unit)
            .unwrap_or_else(|| panic!("unknown unit `{unit}` in `{text}`"))
            .1
    };
    n * f
}

fn close(shown: f64, want: f64, rel: f64) -> bool {
    (shown - want).abs() <= rel * want.abs().max(1e-300)
}

fn assert_no_external_reference(html: &str, what: &str) {
    for bad in ["http://", "https://", "@import", "url("] {
        assert!(!html.contains(bad), "{what} contains `{bad}`");
    }
    for name in [
        "src",
        "href",
        "action",
        "xlink:href",
        "srcset",
        "poster",
        "data",
    ] {
        let pat = format!(" {name}=\"");
        let mut rest = html;
        while let Some(i) = rest.find(&pat) {
            let v = &rest[i + pat.len()..];
            let v = &v[..v.find('"').unwrap_or(v.len())];
            assert!(
                v.starts_with("data:") || !v.contains("//") && !v.contains(':'),
                "{what} references `{v}` ({name})"
            );
            rest = &rest[i + pat.len()..];
        }
    }
}

fn common_checks(s: &Served, snap: &Value) {
    let dom = &s.dom;
    // The DOM without the script (whose source names the error messages).
    let script = dom.find("<script").expect("script");
    let visible = &dom[..script];
    for bad in ["NaN", "undefined", "Infinity", "null"] {
        assert!(!visible.contains(bad), "the DOM contains `{bad}`");
    }
    assert!(
        visible.contains("<div id=\"status\" class=\"live\">"),
        "the page did not show live data"
    );
    assert!(
        s.data_polls >= 2,
        "the page polled dashboard/data {} times in 8 s",
        s.data_polls
    );
    assert!(
        s.other_paths.iter().all(|p| p == "/favicon.ico"),
        "the page asked for {:?}",
        s.other_paths
    );
    assert_no_external_reference(PAGE, "the page's source");
    assert_no_external_reference(dom, "the DOM");

    // Totals: the raw value the page received, and the displayed figure in its unit.
    let t = &snap["totals"];
    let (raw, text) = shown(dom, "total-requests");
    assert_eq!(raw, t["requests"].as_f64().unwrap());
    assert_eq!(parse_shown(&text, &[]), raw, "requests shown: {text}");
    let energy = [("mWh", 1e-3), ("Wh", 1.0), ("kWh", 1e3), ("MWh", 1e6)];
    let co2 = [("mg", 1e-3), ("g", 1.0), ("kg", 1e3), ("t", 1e6)];
    let water = [("mL", 1.0), ("L", 1e3), ("m³", 1e6)];
    for (id, field, units) in [
        ("total-energy", "energy_wh", &energy[..]),
        ("total-co2e", "co2e_g", &co2[..]),
        ("total-water", "water_ml", &water[..]),
        ("total-cost", "cost_usd", &[][..]),
    ] {
        let want = t[field].as_f64().unwrap();
        let (raw, text) = shown(dom, id);
        assert!(close(raw, want, 1e-12), "{id}: data-value {raw} vs {want}");
        let v = parse_shown(&text, units);
        assert!(
            close(v, want, 0.006) || want == 0.0 && v == 0.0,
            "{id}: shows `{text}` = {v}, snapshot {want}"
        );
    }
    let power = [("mW", 1e-3), ("W", 1.0), ("kW", 1e3), ("MW", 1e6)];
    let (raw, _) = shown(dom, "power-now");
    let want = snap["power_w"].as_f64().unwrap();
    assert!(close(raw, want, 1e-12), "power: {raw} vs {want}");
    let pv = dom.find("id=\"power-now\"").unwrap();
    let seg = &dom[pv..pv + dom[pv..].find("</div>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in seg[seg.find('>').unwrap() + 1..].chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let v = parse_shown(&text, &power);
    assert!(
        close(v, want, 0.006) || want == 0.0 && v == 0.0,
        "power shows `{text}`, snapshot {want}"
    );
}

#[test]
fn every_chart_is_drawn_in_headless_chromium() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let d = synthetic();
    let snap = d.snapshot(NOW);
    assert!(snap["totals"]["requests"].as_u64().unwrap() >= 300);
    assert!(snap["power_w"].as_f64().unwrap() > 0.0);
    let s = serve_and_dump(bin, "full", snap.clone());
    common_checks(&s, &snap);
    let dom = &s.dom;

    let n_models = snap["energy_wh_by_model"].as_object().unwrap().len();
    let n_keys = snap["energy_wh_by_key"].as_object().unwrap().len();
    assert_eq!(n_models, 4);
    assert_eq!(n_keys, 5);
    let bins = snap["wh_per_request"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_u64().unwrap() > 0)
        .count();
    assert!(bins >= 5, "{bins} histogram bins");
    for (id, want) in [
        ("chart-power", (1, 0)),
        ("chart-model", (n_models, 0)),
        ("chart-key", (n_keys, 0)),
        ("chart-hist", (0, bins)),
    ] {
        let fig = figure(dom, id);
        assert_eq!(drawn_marks(fig), want, "{id}: (paths, rects) drawn");
        assert!(!fig.contains("no requests"), "{id} says there is no data");
        assert!(fig.contains("</svg>"), "{id} has no complete svg");
        // One unit per axis, named in the axis title.
        let titles = fig.matches("class=\"title\"").count();
        assert_eq!(titles, 2, "{id}: axis titles");
    }
    assert!(figure(dom, "chart-power").contains("power ("));
    assert!(figure(dom, "chart-model").contains("llama-3.1-70b"));
    assert!(figure(dom, "chart-hist").contains("(Wh, log scale"));
    // Names are escaped: the nasty key shows as text, not as an element.
    let keys = figure(dom, "chart-key");
    assert!(keys.contains("ops &lt;i&gt;&amp;"), "nasty key not shown");
    assert!(
        !keys.contains("<i>&amp;\"x\""),
        "the key name was injected as markup"
    );
    assert!(keys.contains("(no key)"));

    // A screenshot for a person to look at.
    let shot = s.dir.join("dashboard.png");
    let out = chromium(
        &s.bin,
        &s.dir.join("profile-shot"),
        &flags(&[
            "--window-size=1440,1500",
            &format!("--screenshot={}", shot.display()),
        ]),
        &s.url,
    );
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn a_single_request_is_drawn() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let d = Dashboard::new();
    d.record(
        NOW - 3_000,
        "llama-3.1-8b",
        "",
        0.042,
        0.016,
        0.08,
        0.000_003,
    );
    let snap = d.snapshot(NOW);
    let s = serve_and_dump(bin, "single", snap.clone());
    common_checks(&s, &snap);
    for (id, want) in [
        ("chart-power", (1, 0)),
        ("chart-model", (1, 0)),
        ("chart-key", (1, 0)),
        ("chart-hist", (0, 1)),
    ] {
        assert_eq!(
            drawn_marks(figure(&s.dom, id)),
            want,
            "{id}: (paths, rects)"
        );
    }
}

#[test]
fn no_traffic_says_so() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let snap = Dashboard::new().snapshot(NOW);
    let s = serve_and_dump(bin, "empty", snap.clone());
    common_checks(&s, &snap);
    for id in ["chart-power", "chart-model", "chart-key", "chart-hist"] {
        let fig = figure(&s.dom, id);
        assert!(fig.contains("no requests yet"), "{id}: {fig}");
        assert!(!fig.contains("<svg"), "{id} draws an empty chart");
    }
}

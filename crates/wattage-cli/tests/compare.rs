//! `wattage compare` as a user runs it: the flags reach the engine (`--rel-tol`, `--abs-tol`,
//! a bad one exits 2 before anything runs), `--json` prints `compare.json`, the folder holds
//! the comparison and each run's own folder, and the terminal says what differs or that the
//! inputs are identical. The comparison itself is tested in the engine
//! (`crates/wattage-engine/tests/compare.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, wattage};

fn folder(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compare-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The quick test scenario (two days at one-minute steps), renamed, with its requests per
/// day replaced.
fn scenario(dir: &Path, name: &str, requests_per_day: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quick.toml"),
    )
    .unwrap();
    assert!(text.contains("name = \"quick\"") && text.contains("requests_per_day = 5.0e7"));
    let text = text
        .replace("name = \"quick\"", &format!("name = \"{name}\""))
        .replace(
            "requests_per_day = 5.0e7",
            &format!("requests_per_day = {requests_per_day}"),
        );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn json_files_and_thresholds() {
    let dir = folder("json");
    let a = scenario(&dir, "a", "5.0e7");
    let b = scenario(&dir, "b", "2.5e7");
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let j = json(&wattage(&["-q", "compare", &a, &b, "-o", o, "--json"]));
    assert_eq!(j["identical_inputs"], false);
    assert_eq!(j["inputs"][0]["field"], "service[0].requests_per_day");
    assert_eq!(j["inputs"][0]["values"], serde_json::json!([5.0e7, 2.5e7]));
    assert_eq!(
        j["thresholds"],
        serde_json::json!({"rel": 0.01, "abs": 0.001})
    );
    let gpus = j["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["field"] == "services[chat].fleet.gpus")
        .expect("the fleet's GPUs");
    assert_eq!(gpus["differs"], true, "{gpus}");
    // The file is what --json printed; each run has its own folder.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(file, j);
    for f in [
        "compare.html",
        "compare.csv",
        "a/report.html",
        "b/summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // A relative threshold of 1 hides every figure of one sign.
    let j = json(&wattage(&[
        "-q",
        "compare",
        &a,
        &b,
        "-o",
        o,
        "--json",
        "--rel-tol",
        "1",
    ]));
    assert!(
        j["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["differs"] == false || k["values"][0] == serde_json::Value::Null),
        "{}",
        j["kpis"]
    );
    // A bad threshold is the user's error, named by its flag; nothing runs or is written.
    let bad = dir.join("bad");
    let e = wattage(&[
        "compare",
        &a,
        &b,
        "-o",
        bad.to_str().unwrap(),
        "--abs-tol",
        "-1",
    ]);
    let err = String::from_utf8_lossy(&e.stderr);
    assert_eq!(e.status.code(), Some(2), "{err}");
    assert!(err.contains("--abs-tol"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn the_terminal_says_what_differs_or_that_inputs_are_identical() {
    let dir = folder("text");
    let a = scenario(&dir, "a", "5.0e7");
    let b = scenario(&dir, "b", "2.5e7");
    let same = scenario(&dir, "same", "5.0e7");
    let out = dir.join("out");
    let o = wattage(&["-q", "compare", &a, &b, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("inputs that differ (1):"), "{text}");
    assert!(
        text.contains("scenario file: service[0].requests_per_day"),
        "{text}"
    );
    assert!(text.contains("results that differ"), "{text}");
    assert!(text.contains("compare.html"), "{text}");

    let o = wattage(&["-q", "compare", &a, &same, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("inputs: identical"), "{text}");
    assert!(text.contains("results: no figure differs"), "{text}");
    // The page has no chart.
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(!html.contains("<figure"), "a chart of identical runs");
    assert!(html.contains("The inputs are identical"));
}

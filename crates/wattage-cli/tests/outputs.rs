//! `docs/outputs.md` is the column reference of every file wattage writes: this test produces
//! each output file (`simulate site`, its reliability run, `simulate serving`, `optimize`,
//! `run`, `compare`, `sweep` of a site and of a run) and fails when a column of a table, or a
//! top-level key of a JSON summary, is missing from the page, or when the page lists one that
//! no file has any more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::wattage;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("outputs-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(args: &[&str]) {
    let o = wattage(args);
    assert!(
        o.status.success(),
        "wattage {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// One documented table or JSON file: the files it covers and its rows (name, whole row).
#[derive(Debug, Default)]
struct Section {
    files: Vec<String>,
    rows: Vec<(String, String)>,
    json: bool,
}

/// The sections of `docs/outputs.md`: a `<!-- table: CMD/FILE ... -->` or
/// `<!-- keys: CMD/FILE -->` marker, then a Markdown table whose first cells name the columns.
fn sections(doc: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut cur: Option<Section> = None;
    for line in doc.lines() {
        let t = line.trim();
        if let Some(rest) = t
            .strip_prefix("<!-- table:")
            .or(t.strip_prefix("<!-- keys:"))
        {
            if let Some(s) = cur.take() {
                out.push(s);
            }
            cur = Some(Section {
                files: rest
                    .trim_end_matches("-->")
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
                rows: Vec::new(),
                json: t.starts_with("<!-- keys:"),
            });
        } else if let Some(s) = cur.as_mut() {
            if let Some(cell) = t.strip_prefix("| `") {
                let name = cell.split('`').next().unwrap_or_default().to_string();
                s.rows.push((name, t.to_string()));
            } else if t.starts_with('#') {
                out.push(cur.take().unwrap());
            }
        }
    }
    out.extend(cur);
    out
}

/// True when a documented name matches a column: equal, or with one `<placeholder>` for an
/// asset's, a service's or a swept path's name (one or more characters; `<param>`, a swept
/// path, always has a dot: `grid.import_cap_mw`).
fn matches(pattern: &str, column: &str) -> bool {
    let (Some(i), Some(j)) = (pattern.find('<'), pattern.rfind('>')) else {
        return pattern == column;
    };
    let (prefix, name, suffix) = (&pattern[..i], &pattern[i..=j], &pattern[j + 1..]);
    if column.len() <= prefix.len() + suffix.len()
        || !column.starts_with(prefix)
        || !column.ends_with(suffix)
    {
        return false;
    }
    name != "<param>" || column[prefix.len()..column.len() - suffix.len()].contains('.')
}

/// The columns of a CSV file's header.
fn header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = csv_header(text.lines().next().unwrap_or_default());
    r.retain(|c| !c.is_empty());
    r
}

fn csv_header(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| c.trim_matches('"').to_string())
        .collect()
}

fn keys(path: &Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.as_object()
        .unwrap_or_else(|| panic!("{} is not a JSON object", path.display()))
        .keys()
        .cloned()
        .collect()
}

/// The files each command wrote: `(command, file name, path)`, for every CSV table and every
/// JSON summary.
fn produce() -> Vec<(String, String, PathBuf)> {
    let root = repo();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let peak = s(&root.join("scenarios/peak-shaving.toml"));
    let run_file = s(&root.join("crates/wattage-cli/tests/data/peak.toml"));
    let mut made: Vec<(&str, PathBuf)> = Vec::new();

    let d = tmp("site");
    ok(&[
        "-q",
        "simulate",
        "site",
        &peak,
        "--duration",
        "2h",
        "--step",
        "60s",
        "-o",
        &s(&d),
    ]);
    made.push(("simulate-site", d));
    let d = tmp("reliability");
    ok(&[
        "-q",
        "simulate",
        "site",
        &peak,
        "--duration",
        "2h",
        "--step",
        "60s",
        "--seeds",
        "2",
        "-o",
        &s(&d),
    ]);
    made.push(("simulate-site", d));
    let d = tmp("serving");
    ok(&[
        "-q",
        "simulate",
        "serving",
        "--model",
        "llama-3.1-8b",
        "--duration",
        "20s",
        "-o",
        &s(&d),
    ]);
    made.push(("simulate-serving", d));

    // Every kind of asset in the plan: turbines, a battery and miners, and a solar plant.
    let dir = tmp("optimize");
    let site = std::fs::read_to_string(root.join("scenarios/colossus-miners.toml")).unwrap()
        + "\n[[solar]]\nname = \"field\"\nnameplate_mw = 20\nlatitude_deg = 35\n";
    let site_path = dir.join("site.toml");
    std::fs::write(&site_path, site).unwrap();
    let d = dir.join("out");
    ok(&[
        "-q",
        "optimize",
        &s(&site_path),
        "--duration",
        "1d",
        "--no-check",
        "-o",
        &s(&d),
    ]);
    made.push(("optimize", d));

    let d = tmp("run");
    ok(&["-q", "run", &run_file, "-o", &s(&d)]);
    made.push(("run", d));

    let dir = tmp("compare");
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&run_file)
            .unwrap()
            .replace("name = \"peak\"", "name = \"peak-b\"")
            .replace("requests_per_day = 8.0e9", "requests_per_day = 6.0e9"),
    )
    .unwrap();
    let d = dir.join("out");
    ok(&["-q", "compare", &run_file, &s(&other), "-o", &s(&d)]);
    made.push(("compare", d));

    let dir = tmp("sweep");
    let spec = dir.join("site.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"site\"\nbase = {peak:?}\nkind = \"site\"\nduration = \"2h\"\nstep = \"60s\"\n[grid]\n\"grid.import_cap_mw\" = [50.0, 60.0]\n"
        ),
    )
    .unwrap();
    let d = dir.join("site-out");
    ok(&["-q", "sweep", &s(&spec), "-o", &s(&d)]);
    made.push(("sweep", d));
    let spec = dir.join("run.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"run\"\nbase = {run_file:?}\nkind = \"run\"\n[grid]\n\"service[0].requests_per_day\" = [6.0e9, 8.0e9]\n"
        ),
    )
    .unwrap();
    let d = dir.join("run-out");
    ok(&["-q", "sweep", &s(&spec), "-o", &s(&d)]);
    made.push(("sweep", d));

    let mut files = Vec::new();
    for (cmd, dir) in made {
        // Top-level files only: `compare` also writes each run's own folder (a `run` output).
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let wanted = name.ends_with(".csv")
                || (name.ends_with(".json") && !(cmd == "compare" && name == "compare.json"));
            if p.is_file() && wanted {
                files.push((cmd.to_string(), name, p));
            }
        }
    }
    files
}

#[test]
fn every_column_of_every_output_file_is_documented() {
    let doc = std::fs::read_to_string(repo().join("docs/outputs.md")).expect("docs/outputs.md");
    let secs = sections(&doc);
    assert!(secs.len() >= 10, "{} sections", secs.len());
    let files = produce();
    for want in [
        "simulate-site/timeseries.csv",
        "simulate-site/summary.json",
        "simulate-site/reliability.json",
        "simulate-serving/timeseries.csv",
        "simulate-serving/requests.csv",
        "simulate-serving/summary.json",
        "optimize/timeseries.csv",
        "optimize/summary.json",
        "run/timeseries.csv",
        "run/timeseries_day.csv",
        "run/fleet_day.csv",
        "run/requests_assistant.csv",
        "run/summary.json",
        "sweep/sweep.csv",
    ] {
        assert!(
            files.iter().any(|(c, f, _)| format!("{c}/{f}") == want),
            "no `{want}` was written"
        );
    }
    // Columns seen per section, to check the other way: every documented name exists.
    let mut seen: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (cmd, file, path) in &files {
        let id = format!("{cmd}/{file}");
        let Some(i) = secs
            .iter()
            .position(|s| s.files.iter().any(|f| matches(f, &id)))
        else {
            problems.push(format!("`{id}` has no section in docs/outputs.md"));
            continue;
        };
        let cols = if secs[i].json {
            keys(path)
        } else {
            header(path)
        };
        for c in cols {
            let documented = secs[i].rows.iter().any(|(n, _)| n == &c)
                || secs[i].rows.iter().any(|(n, _)| matches(n, &c));
            if !documented {
                problems.push(format!("`{id}`: column `{c}` is not in docs/outputs.md"));
            }
            seen.entry(i).or_default().insert(c);
        }
    }
    for (i, s) in secs.iter().enumerate() {
        let cols = seen.get(&i).cloned().unwrap_or_default();
        if cols.is_empty() {
            problems.push(format!(
                "docs/outputs.md documents {:?}, which no command wrote",
                s.files
            ));
            continue;
        }
        for (name, row) in &s.rows {
            // A key documented as sometimes absent (`mip_gap`) need not appear.
            if !cols.iter().any(|c| matches(name, c)) && !row.contains("absent") {
                problems.push(format!(
                    "docs/outputs.md lists `{name}` for {:?}, but no such column was written",
                    s.files
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn placeholders_match_names() {
    assert!(matches("<battery>_soc_mwh", "Megapack_2_XL_soc_mwh"));
    assert!(!matches("<battery>_soc_mwh", "_soc_mwh"));
    assert!(matches(
        "run/requests_<service>.csv",
        "run/requests_assistant.csv"
    ));
    assert!(!matches("run/requests_<service>.csv", "run/requests_.csv"));
    assert!(matches("<service>_energy_wh", "chat_energy_wh"));
    assert!(!matches("time", "elapsed_s"));
    assert!(matches("<param>", "grid.import_cap_mw"));
    assert!(!matches("<param>", "cost_usd"));
}

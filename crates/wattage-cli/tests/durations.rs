//! One vocabulary for durations: every subcommand that takes a duration reads the same string
//! (`2h`) as the same length of time, checked from its own JSON; the spellings that mean the
//! same (`7200s`, `120m`) give the same result; and the old spellings (a bare number in the
//! command's old unit, `train --days`/`--gpus`, `simulate serving --batch`) still work, with the
//! same result and a deprecation warning on stderr naming the new spelling.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{json, wattage};
use serde_json::Value;

fn peak() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/peak-shaving.toml")
        .to_str()
        .unwrap()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `args`; returns its JSON and checks its stderr has no warning.
fn quiet_json(args: &[&str]) -> Value {
    let o = wattage(args);
    assert!(!stderr(&o).contains("warning"), "{args:?}: {}", stderr(&o));
    json(&o)
}

/// Runs `args` (an old spelling); returns its JSON and checks each `warning` appears on stderr.
fn warned_json(args: &[&str], warnings: &[&str]) -> Value {
    let o = wattage(args);
    let err = stderr(&o);
    for w in warnings {
        assert!(
            err.lines()
                .any(|l| l.starts_with("warning:") && l.contains(w)),
            "{args:?}: no warning with `{w}` in:\n{err}"
        );
    }
    json(&o)
}

/// The same JSON without wall-clock timings.
fn without_timings(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("build_s");
        m.remove("solve_s");
    }
    v
}

const TWO_HOURS_S: f64 = 7200.0;

#[test]
fn the_same_duration_string_means_the_same_time_in_every_subcommand() {
    let peak = peak();

    // simulate site: the horizon.
    let site = quiet_json(&[
        "simulate",
        "site",
        &peak,
        "--duration",
        "2h",
        "--step",
        "1m",
        "--json",
    ]);
    assert_eq!(site["hours"].as_f64(), Some(TWO_HOURS_S / 3600.0));
    assert_eq!(site["step_s"].as_f64(), Some(60.0));
    assert_eq!(site["steps"].as_u64(), Some(120));
    for (d, s) in [("7200s", "60s"), ("120m", "60000ms")] {
        let same = quiet_json(&[
            "simulate",
            "site",
            &peak,
            "--duration",
            d,
            "--step",
            s,
            "--json",
        ]);
        assert_eq!(same, site, "--duration {d} --step {s}");
    }

    // optimize: the LP's horizon (and the step).
    let opt = quiet_json(&[
        "optimize",
        &peak,
        "--duration",
        "2h",
        "--step",
        "1h",
        "--check-step",
        "1m",
        "--json",
    ]);
    assert_eq!(opt["duration_h"].as_f64(), Some(TWO_HOURS_S / 3600.0));
    assert_eq!(opt["steps"].as_u64(), Some(2));
    assert_eq!(opt["step_s"].as_f64(), Some(3600.0));
    assert_eq!(opt["rule_based"]["step_s"].as_f64(), Some(60.0));

    // train: the wall-clock time of the run.
    let train = quiet_json(&[
        "train",
        "--duration",
        "2h",
        "--cluster-gpus",
        "1000",
        "--json",
    ]);
    assert!((train["duration_days"].as_f64().unwrap() - TWO_HOURS_S / 86_400.0).abs() < 1e-12);
    assert!((train["gpu_hours"].as_f64().unwrap() - 2.0 * 1000.0).abs() < 1e-9);

    // simulate serving: the time of arrivals. The last request arrives before 2 h and the
    // simulation ends once the requests in flight finish, a few seconds later.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("durations-serving");
    let _ = std::fs::remove_dir_all(&dir);
    let serving_args = |d: &'static str, out: Option<&PathBuf>| {
        let mut a: Vec<String> = [
            "simulate",
            "serving",
            "--model",
            "llama-3.1-8b",
            "--rate",
            "0.05",
            "--duration",
            d,
            "--seed",
            "7",
            "--json",
        ]
        .map(String::from)
        .into();
        if let Some(o) = out {
            a.extend(["-o".to_string(), o.to_str().unwrap().to_string()]);
        }
        a
    };
    let args = serving_args("2h", Some(&dir));
    let serving = quiet_json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let simulated = serving["duration_s"].as_f64().unwrap();
    assert!(
        (TWO_HOURS_S..TWO_HOURS_S + 120.0).contains(&simulated),
        "{simulated} s simulated"
    );
    let requests = std::fs::read_to_string(dir.join("requests.csv")).unwrap();
    let last_arrival = requests
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2)?.parse::<f64>().ok())
        .fold(0.0, f64::max);
    assert!(
        (TWO_HOURS_S - 600.0..TWO_HOURS_S).contains(&last_arrival),
        "last arrival at {last_arrival} s"
    );
    let args = serving_args("120m", None);
    assert_eq!(
        quiet_json(&args.iter().map(String::as_str).collect::<Vec<_>>()),
        serving
    );

    // sweep: a site sweep's `duration = "2h"` is the same horizon as `simulate site
    // --duration 2h` (the variant below is the base scenario itself, at its own seed).
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("durations-sweep");
    let _ = std::fs::create_dir_all(&dir);
    let spec = dir.join("sweep.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"d\"\nbase = {peak:?}\nkind = \"site\"\nduration = \"2h\"\nstep = \"1m\"\n[[variant]]\nname = \"base\"\n"
        ),
    )
    .unwrap();
    let sweep = quiet_json(&[
        "sweep",
        spec.to_str().unwrap(),
        "-o",
        dir.join("out").to_str().unwrap(),
        "--json",
    ]);
    let kpis: Vec<&str> = sweep["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let row = &sweep["rows"][0];
    let kpi = |name: &str| row["kpis"][kpis.iter().position(|k| *k == name).unwrap()].as_f64();
    assert_eq!(row["seed"], site["seed"]);
    assert_eq!(kpi("cost_usd"), site["cost_usd"].as_f64());
    assert_eq!(
        kpi("grid_mwh"),
        site["energy_mwh_by_source"]["grid"].as_f64()
    );
}

#[test]
fn old_spellings_still_work_and_warn() {
    let peak = peak();

    // simulate site: a bare --duration is hours, a bare --step or --resolution seconds.
    let new = quiet_json(&[
        "simulate",
        "site",
        &peak,
        "--duration",
        "2h",
        "--step",
        "60s",
        "--resolution",
        "10m",
        "--json",
    ]);
    let old = warned_json(
        &[
            "simulate",
            "site",
            &peak,
            "--duration",
            "2",
            "--step",
            "60",
            "--resolution",
            "600",
            "--json",
        ],
        &[
            "`--duration` `2` has no unit: read in hours, as before; write `2h`",
            "`--step` `60` has no unit: read in seconds, as before; write `60s`",
            "`--resolution` `600` has no unit",
        ],
    );
    assert_eq!(old, new);

    // simulate serving: a bare --duration is seconds; --batch is --max-num-seqs.
    let base = [
        "simulate",
        "serving",
        "--model",
        "llama-3.1-8b",
        "--seed",
        "3",
        "--json",
    ];
    let with =
        |extra: &[&'static str]| -> Vec<&str> { base.iter().chain(extra).copied().collect() };
    let new = quiet_json(&with(&["--duration", "30s", "--max-num-seqs", "8"]));
    let old = warned_json(
        &with(&["--duration", "30", "--batch", "8"]),
        &[
            "`--duration` `30` has no unit: read in seconds, as before; write `30s`",
            "`--batch` is deprecated and will be removed in the next release: use `--max-num-seqs`",
        ],
    );
    assert_eq!(old, new);
    assert!(new["batch_size_p99"].as_f64().unwrap() <= 8.0, "{new}");
    let o = wattage(&with(&[
        "--duration",
        "30s",
        "--batch",
        "8",
        "--max-num-seqs",
        "8",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give only `--max-num-seqs`"),
        "{}",
        stderr(&o)
    );

    // optimize: bare numbers are seconds.
    let new = without_timings(quiet_json(&[
        "optimize",
        &peak,
        "--duration",
        "2h",
        "--step",
        "1h",
        "--check-step",
        "60s",
        "--json",
    ]));
    let old = without_timings(warned_json(
        &[
            "optimize",
            &peak,
            "--duration",
            "7200",
            "--step",
            "3600",
            "--check-step",
            "60",
            "--json",
        ],
        &[
            "`--duration` `7200`",
            "`--step` `3600`",
            "`--check-step` `60`",
        ],
    ));
    assert_eq!(old, new);

    // train: --days is --duration in days, --gpus is --cluster-gpus.
    let new = quiet_json(&[
        "train",
        "--duration",
        "30d",
        "--cluster-gpus",
        "1000",
        "--json",
    ]);
    let old = warned_json(
        &["train", "--days", "30", "--gpus", "1000", "--json"],
        &[
            "`--days` is deprecated",
            "use `--duration`",
            "use `--cluster-gpus`",
        ],
    );
    assert_eq!(old, new);
    assert_eq!(new["cluster_gpus"].as_f64(), Some(1000.0));
    let bare = warned_json(
        &[
            "train",
            "--duration",
            "30",
            "--cluster-gpus",
            "1000",
            "--json",
        ],
        &["`--duration` `30` has no unit: read in days, as before; write `30d`"],
    );
    assert_eq!(bare, new);

    // Quiet does not hide a deprecation.
    let o = wattage(&["-q", "train", "--days", "1", "--json"]);
    assert!(
        stderr(&o).contains("warning: `--days` is deprecated"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn durations_without_a_number_or_with_two_units_are_errors() {
    let peak = peak();
    for (args, flag) in [
        (
            vec!["simulate", "site", &peak, "--duration", "1h30m"],
            "--duration",
        ),
        (vec!["simulate", "site", &peak, "--step", "s"], "--step"),
        (
            vec!["simulate", "serving", "--duration", "ten minutes"],
            "--duration",
        ),
        (vec!["optimize", &peak, "--duration", "2w"], "--duration"),
        (vec!["train", "--duration", "-3d"], "--duration"),
    ] {
        let o = wattage(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("`{flag}`")),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

/// `--seed` replaces the scenario's seed in `run` and `compare` (both the serving side's and
/// the site's), and in `optimize` (the site's draws).
#[test]
fn run_compare_and_optimize_take_a_seed() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let run_file = data.join("peak.toml");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("durations-seed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = quiet_json(&[
        "-q",
        "run",
        run_file.to_str().unwrap(),
        "--seed",
        "5",
        "-o",
        dir.join("run").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run["seed"], serde_json::json!({"serving": 5, "site": 5}));
    let other = dir.join("b.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&run_file)
            .unwrap()
            .replace("name = \"peak\"", "name = \"peak-b\""),
    )
    .unwrap();
    let cmp = quiet_json(&[
        "-q",
        "compare",
        run_file.to_str().unwrap(),
        other.to_str().unwrap(),
        "--seed",
        "5",
        "-o",
        dir.join("cmp").to_str().unwrap(),
        "--json",
    ]);
    for r in cmp["runs"].as_array().unwrap() {
        assert_eq!(r["seed"], run["seed"]);
    }
    // The same seed, the same run: compare's first run is `run --seed 5`.
    assert_eq!(cmp["runs"][0]["site"], run["site"]);
    let peak = peak();
    let a = without_timings(quiet_json(&[
        "optimize",
        &peak,
        "--duration",
        "1d",
        "--seed",
        "3",
        "--json",
    ]));
    let b = without_timings(quiet_json(&[
        "optimize",
        &peak,
        "--duration",
        "1d",
        "--seed",
        "3",
        "--json",
    ]));
    assert_eq!(a, b);
}

/// Run scenario files speak the same vocabulary: `[site] duration = "2d"`, `step = "1m"`,
/// `output_resolution = "1h"` and `[optimize] duration = "48h"`, `step = "60m"` give the same
/// run as the unit-named keys they replace; a bare number or both spellings are errors at
/// their line.
#[test]
fn run_scenarios_take_duration_strings() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let text = std::fs::read_to_string(data.join("peak.toml")).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("durations-run-keys");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let new = text
        .replace(
            "duration_h = 48\nstep_s = 60.0\noutput_resolution_s = 3600",
            "duration = \"2d\"\nstep = \"1m\"\noutput_resolution = \"1h\"",
        )
        .replace(
            "[optimize]\nenabled = true\nduration_h = 48",
            "[optimize]\nenabled = true\nduration = \"48h\"\nstep = \"60m\"",
        );
    assert_ne!(new, text, "the fixture's keys moved: update this test");
    let a_file = dir.join("a.toml");
    let b_file = dir.join("b.toml");
    std::fs::write(&a_file, &text).unwrap();
    std::fs::write(&b_file, &new).unwrap();
    let run = |f: &PathBuf, out: &str| {
        let mut v = quiet_json(&[
            "-q",
            "run",
            f.to_str().unwrap(),
            "-o",
            dir.join(out).to_str().unwrap(),
            "--json",
        ]);
        // Wall-clock timings and the scenario's own path differ by construction.
        if let Value::Object(m) = &mut v {
            m.remove("timings");
            m.remove("scenario");
            m.remove("optimizer");
        }
        v
    };
    let (a, b) = (run(&a_file, "a"), run(&b_file, "b"));
    assert_eq!(a["site"]["hours"], serde_json::json!(48.0));
    assert_eq!(a["site"], b["site"]);
    assert_eq!(a["headlines"], b["headlines"]);
    for (bad, why) in [
        ("duration = \"2d\"", "duration = \"48\""),
        ("duration = \"2d\"", "duration = \"2d\"\nduration_h = 48"),
    ] {
        let f = dir.join("bad.toml");
        std::fs::write(&f, new.replacen(bad, why, 1)).unwrap();
        let o = wattage(&[
            "-q",
            "run",
            f.to_str().unwrap(),
            "-o",
            dir.join("bad").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{why}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("site.duration"), "{why}: {err}");
        assert!(err.contains("bad.toml:"), "{why}: {err}");
    }
}

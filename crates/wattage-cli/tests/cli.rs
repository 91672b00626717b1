//! The `wattage` binary as a user runs it: exit codes, messages, files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{json, wattage};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn epoch_preset_reproduces_seed_003() {
    let v = json(&wattage(&["estimate", "--preset", "epoch-2025", "--json"]));
    let wh = v["energy_wh"].as_f64().unwrap();
    assert!((wh / 0.301 - 1.0).abs() < 0.02, "{wh}");
    assert!(v["low_wh"].as_f64().unwrap() < wh && wh < v["high_wh"].as_f64().unwrap());
}

#[test]
fn estimate_json_has_the_documented_fields() {
    let v = json(&wattage(&[
        "estimate",
        "--model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--batch",
        "64",
        "--json",
        "--samples",
        "2000",
    ]));
    for k in [
        "energy_wh",
        "energy_j_per_output_token",
        "low_wh",
        "high_wh",
        "co2e_g",
        "water_ml",
        "ttft_ms",
        "decode_step_ms",
        "breakdown",
        "prefill_wh",
        "decode_wh",
    ] {
        assert!(!v[k].is_null(), "missing `{k}`");
    }
    let b = &v["by_scope_wh"];
    assert!(b["gpu"].as_f64() <= b["server"].as_f64());
    assert!(b["server"].as_f64() <= b["facility"].as_f64());
    assert_eq!(v["gpus"], 1);
    // Total cost and carbon: the split, the embodied line and both carbon methods.
    for k in ["cost", "embodied", "carbon"] {
        assert!(v[k].is_object(), "missing `{k}`");
    }
    let c = &v["cost"];
    let sum = c["energy_usd"].as_f64().unwrap() + c["hardware_usd"].as_f64().unwrap();
    assert!(
        (sum / c["total_usd"].as_f64().unwrap() - 1.0).abs() < 1e-12,
        "{c}"
    );
    assert_eq!(c["energy_usd"], v["cost_usd"]);
    assert_eq!(v["carbon"]["location_based_g"], v["co2e_g"]);
}

#[test]
fn unknown_names_suggest_and_exit_2() {
    let o = wattage(&["estimate", "--model", "lama-3.1-70b"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("did you mean") && err.contains("llama-3.1-70b"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn impossible_values_name_the_flag() {
    for (args, flag) in [
        (vec!["estimate", "--batch", "0"], "--batch"),
        (vec!["estimate", "--output-tokens", "0"], "--output-tokens"),
        (vec!["estimate", "--set", "pue=0.3"], "pue"),
        (vec!["estimate", "--set", "nope=1"], "nope"),
        (vec!["estimate", "--scope", "planet"], "--scope"),
        (vec!["estimate", "--clean-share", "2"], "--clean-share"),
        (vec!["estimate", "--cost-basis", "lease"], "--cost-basis"),
        (
            vec!["estimate", "--hardware", "gb200", "--cost-basis", "rent"],
            "--cost-basis",
        ),
        (
            vec![
                "estimate",
                "--model",
                "llama-3.1-405b",
                "--gpus",
                "1",
                "--precision",
                "bf16",
            ],
            // `--gpus` is an alias: the error names the flag it stands for.
            "--tensor-parallel-size",
        ),
    ] {
        let o = wattage(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn training_case_through_the_cli() {
    let v = json(&wattage(&[
        "train",
        "--duration",
        "14.8d",
        "--cluster-gpus",
        "10000",
        "--hardware",
        "v100",
        "--power-w",
        "330",
        "--server-factor",
        "1",
        "--pue",
        "1.1",
        "--carbon-g-per-kwh",
        "429",
        "--json",
    ]));
    assert!((v["energy_mwh"].as_f64().unwrap() / 1287.0 - 1.0).abs() < 0.02);
    assert!((v["co2e_t"].as_f64().unwrap() / 552.0 - 1.0).abs() < 0.02);
}

#[test]
fn user_catalog_overrides_builtin() {
    let dir = tmp("catalog");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mine.toml");
    std::fs::write(
        &file,
        r#"
[[region]]
id = "my-dc"
name = "My data centre"
carbon_g_per_kwh = 0
pue = 1.1
wue_onsite_l_per_kwh = 0
wue_offsite_l_per_kwh = 0
electricity_usd_per_mwh = 50
"#,
    )
    .unwrap();
    let v = json(&wattage(&[
        "estimate",
        "--catalog",
        file.to_str().unwrap(),
        "--region",
        "my-dc",
        "--json",
        "--samples",
        "0",
    ]));
    assert_eq!(v["co2e_g"].as_f64(), Some(0.0));
    // A typo in a catalog file names the file, line and field.
    std::fs::write(&file, "[[region]]\nid = \"x\"\nnmae = \"y\"\n").unwrap();
    let o = wattage(&["estimate", "--catalog", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mine.toml") && err.contains(":3:") && err.contains("nmae"),
        "{err}"
    );
}

#[test]
fn malformed_run_scenarios_name_file_line_field_and_write_nothing() {
    for (file, line, field) in [
        ("typo.toml", ":10:", "max_bacth"),
        ("bad_value.toml", ":7:", "requests_per_day"),
    ] {
        let out = tmp(&format!("bad-{file}"));
        let o = wattage(&[
            "run",
            data(file).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(file) && err.contains(line) && err.contains(field),
            "{err}"
        );
        assert!(!out.exists(), "{file}: output folder was created");
    }
}

#[test]
fn run_writes_a_complete_output_folder() {
    let out = tmp("quick");
    let o = wattage(&[
        "run",
        data("quick.toml").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    let v = json(&o);
    for f in [
        "report.html",
        "summary.json",
        "timeseries.csv",
        "timeseries_day.csv",
        "fleet_day.csv",
        "requests_chat.csv",
        "timeseries.parquet",
        "timeseries_day.parquet",
        "fleet_day.parquet",
        "requests_chat.parquet",
        "charts/site-day.svg",
        "charts/site-day.png",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("NaN") && !html.contains("http://") && !html.contains("https://"));
    assert_eq!(
        html.matches("<figure").count(),
        html.matches("<svg").count()
    );
    let s = &v["services"][0];
    // Facility energy per request exceeds the server share (PUE > 1) and the fleet meets
    // its objectives at the busiest hour (5%: percentiles of a finite sample).
    let server = s["fleet"]["server_wh_per_request"].as_f64().unwrap();
    let facility = s["fleet"]["facility_wh_per_request"].as_f64().unwrap();
    assert!(facility > server && server > 0.0);
    assert!(s["fleet"]["peak_hour"]["ttft_ms_p99"].as_f64().unwrap() <= 3000.0 * 1.05);
    assert!(s["fleet"]["peak_hour"]["itl_ms_p99"].as_f64().unwrap() <= 150.0 * 1.05);
    // The site balances at every step.
    assert!(v["site"]["max_balance_error_mw"].as_f64().unwrap() < 1e-6);
    // The same scenario and seed give the same numbers.
    let again = json(&wattage(&[
        "run",
        data("quick.toml").to_str().unwrap(),
        "-o",
        tmp("quick2").to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v, again);
}

/// Autoscaling, worked by hand on the quick scenario (2:1 peak to trough): at the quietest
/// hour half the replicas run; every running replica sits near its capacity, so the fleet's
/// energy per request is the fixed fleet's at its busiest hour, and below its daily mean.
#[test]
fn autoscaled_fleet_runs_half_the_replicas_at_night_at_peak_efficiency() {
    let text = std::fs::read_to_string(data("quick.toml")).unwrap();
    let text = text.replace("itl_p99_ms = 150\n", "itl_p99_ms = 150\nautoscale = true\n");
    assert!(text.contains("autoscale = true"));
    let dir = tmp("autoscale");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("quick_autoscale.toml");
    std::fs::write(&file, text).unwrap();
    let run = |scenario: &Path, out: &str| {
        let v = json(&wattage(&[
            "run",
            scenario.to_str().unwrap(),
            "-o",
            dir.join(out).to_str().unwrap(),
            "--json",
        ]));
        v["services"][0]["fleet"].clone()
    };
    let (fixed, auto) = (run(&data("quick.toml"), "fixed"), run(&file, "auto"));
    let n = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    assert_eq!(auto["autoscale"], true);
    assert_eq!(n(&auto, "replicas"), n(&fixed, "replicas"));
    assert_eq!(n(&fixed, "replicas_running_min"), n(&fixed, "replicas"));
    // Half the replicas at the trough, give or take the rounding up.
    let half = (n(&auto, "replicas") / 2.0).ceil();
    assert!((n(&auto, "replicas_running_min") - half).abs() <= 1.0);
    // Energy per request: the fixed fleet's at its busiest hour (within 5%: the running
    // replicas sit between about 95% and 100% of the capacity), and below its day's mean.
    let peak_wh = n(&fixed, "peak_server_mw") * 1e6 / n(&fixed, "peak_requests_per_s") / 3600.0;
    let auto_wh = n(&auto, "server_wh_per_request");
    assert!(
        (auto_wh / peak_wh - 1.0).abs() < 0.05,
        "{auto_wh} vs {peak_wh}"
    );
    assert!(auto_wh < 0.9 * n(&fixed, "server_wh_per_request"));
    // The objectives still hold at the busiest per-replica load.
    assert!(auto["peak_hour"]["itl_ms_p99"].as_f64().unwrap() <= 150.0 * 1.05);
}

#[test]
fn malformed_site_scenarios_name_file_line_field_and_write_nothing() {
    let dir = tmp("bad-sites");
    std::fs::create_dir_all(&dir).unwrap();
    let head = "[simulation]\nduration_h = 2\nstep_s = 60\n";
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    write("load.csv", "time_s,power_mw\n0,50\n3600,-5\n");
    write("sun.csv", "time_s,capacity_factor\n0,0\n3600,40\n");
    write("garbled.csv", "time_s,usd\n0,50\n1800,fifty\n");
    let cases = [
        (
            write("typo.toml", &format!("{head}[[inference]]\npower_mv = 5\n")),
            "typo.toml:5:",
            "power_mv",
        ),
        (
            write(
                "range.toml",
                &format!("{head}[[inference]]\npower_mw = 5\n[facility]\npue = 0.5\n"),
            ),
            "range.toml:7:",
            "pue",
        ),
        (
            write(
                "neg.toml",
                &format!(
                    "{head}[[inference]]\nshape = \"profile\"\nprofile_csv = \"load.csv\"\n[grid]\nimport_cap_mw = 100\n"
                ),
            ),
            "load.csv:3:",
            "inference[0].profile_csv",
        ),
        (
            write(
                "sun.toml",
                &format!(
                    "{head}[[inference]]\npower_mw = 5\n[[solar]]\nnameplate_mw = 10\nprofile_csv = \"sun.csv\"\n"
                ),
            ),
            "sun.csv:3:",
            "solar[0].profile_csv",
        ),
        (
            write(
                "price.toml",
                &format!(
                    "{head}[[inference]]\npower_mw = 5\n[grid]\nimport_cap_mw = 10\nprice_csv = \"garbled.csv\"\n"
                ),
            ),
            "garbled.csv:3:",
            "grid.price_csv",
        ),
    ];
    for (file, loc, field) in cases {
        let out = dir.join("out");
        let o = wattage(&[
            "simulate",
            "site",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", file.display());
        assert!(err.contains(loc) && err.contains(field), "{err}");
        assert!(
            !out.exists(),
            "{}: output folder was created",
            file.display()
        );
    }
}

#[test]
fn sweep_writes_a_row_per_variant_and_its_page() {
    let out = tmp("sweep");
    let spec =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/sweep-battery-grid.toml");
    let o = wattage(&[
        "sweep",
        spec.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--threads",
        "2",
        "--variants",
        "0..6",
        "--json",
    ]);
    let v = json(&o);
    assert_eq!(v["rows"].as_array().unwrap().len(), 6);
    assert_eq!(v["params"][0], "batteries[0].energy_mwh");
    for f in ["sweep.csv", "sweep.parquet", "sweep.html"] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    // The list of variants: 4 batteries x 3 connections x 2 seeds.
    let o = wattage(&["sweep", spec.to_str().unwrap(), "--list"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 24);
    // A range outside the sweep is refused with the flag named, and nothing is written.
    let bad = tmp("sweep-bad");
    let o = wattage(&[
        "sweep",
        spec.to_str().unwrap(),
        "--variants",
        "20..30",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--variants"));
    assert!(!bad.exists());
}

/// A capacity plan whose largest fleet misses its objectives prints the plan (text or JSON)
/// and exits with status 3, documented in `wattage --help`; one that meets them exits 0.
#[test]
fn capacity_plan_missing_its_objectives_exits_3() {
    let plan = |max: &str, json: bool| {
        let mut args = vec![
            "simulate",
            "serving",
            "--model",
            "llama-3.1-8b",
            "--rate",
            "40",
            "--duration",
            "30s",
            "--slo-ttft-ms",
            "1500",
            "--slo-itl-ms",
            "60",
            "--max-replicas",
            max,
        ];
        if json {
            args.push("--json");
        }
        wattage(&args)
    };
    let o = plan("1", false);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("do NOT meet"), "{stdout}");
    assert!(
        stderr.contains("--max-replicas") && stderr.contains("exit status 3"),
        "{stderr}"
    );
    let o = plan("1", true);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("the plan as JSON");
    assert_eq!(v["meets_slo"], false);
    let o = plan("64", true);
    assert_eq!(json(&o)["meets_slo"], true);
    let help = String::from_utf8_lossy(&wattage(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("Exit status:") && help.contains("  3 "),
        "{help}"
    );
}

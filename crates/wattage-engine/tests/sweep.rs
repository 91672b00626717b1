//! Sweeps: every combination runs, rows come out in variant order whatever the threads, the
//! KPIs move the way the physics says, and bad sweeps fail before any run with the line and
//! field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use wattage_engine::sweep::{self, SweepSpec};
use wattage_engine::{Catalog, FileSystem, Input, Location, Silent};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// A sweep file beside the shipped scenarios (so `base` resolves as users write it).
fn spec(text: &str) -> Input {
    Input::Text {
        text: text.to_string(),
        name: "sweep.toml".into(),
        dir: scenarios(),
    }
}

const PEAK: &str = r#"
name = "t"
base = "peak-shaving.toml"
duration = "24h"
step = "10s"
seeds = [3, 4]

[grid]
"batteries[0].energy_mwh" = [20.0, 160.0]
"grid.import_cap_mw" = [50.0, 60.0]
"#;

fn kpi(r: &sweep::SweepResult, row: usize, name: &str) -> f64 {
    let i = r.kpis.iter().position(|k| k == name).expect(name);
    r.rows[row].kpis[i]
}

#[test]
fn grid_times_seeds_in_order_and_the_same_on_one_or_two_threads() {
    let cat = Catalog::builtin();
    let s = SweepSpec::load(&FileSystem, &spec(PEAK)).unwrap();
    // 2 batteries x 2 connections x 2 seeds; the last key varies fastest, seeds innermost.
    assert_eq!(s.variants.len(), 8);
    assert_eq!(s.params, ["batteries[0].energy_mwh", "grid.import_cap_mw"]);
    let v3 = &s.variants[3];
    assert_eq!(v3.seed, Some(4));
    assert_eq!(v3.overrides[0].1.as_float(), Some(20.0));
    assert_eq!(v3.overrides[1].1.as_float(), Some(60.0));
    let one = sweep::run(&cat, &FileSystem, &s, None, Some(1), &Silent).unwrap();
    let two = sweep::run(&cat, &FileSystem, &s, None, Some(2), &Silent).unwrap();
    assert_eq!(one, two);
    assert_eq!(one.rows.len(), 8);
    assert!(one.rows.iter().enumerate().all(|(i, r)| r.index == i));
    // A part of the sweep gives the same rows as the whole.
    let part = sweep::run(&cat, &FileSystem, &s, Some(2..5), Some(2), &Silent).unwrap();
    assert_eq!(part.rows[..], one.rows[2..5]);
}

#[test]
fn a_larger_battery_serves_more_under_a_tight_connection() {
    // The hall draws 48 MW x PUE 1.15 on average and ~70 MW at its afternoon peak: a 50 MW
    // connection leaves the peak short, and a battery of 160 MWh carries more of it than one
    // of 20 MWh. With 60 MW and 160 MWh (the site as designed) nothing goes unserved.
    let cat = Catalog::builtin();
    let s = SweepSpec::load(&FileSystem, &spec(PEAK)).unwrap();
    let r = sweep::run(&cat, &FileSystem, &s, None, None, &Silent).unwrap();
    // rows: [20/50 s3, 20/50 s4, 20/60 s3, 20/60 s4, 160/50 s3, 160/50 s4, 160/60 s3, 160/60 s4]
    let small_tight = kpi(&r, 0, "unserved_mwh");
    let large_tight = kpi(&r, 4, "unserved_mwh");
    assert!(small_tight > large_tight, "{small_tight} vs {large_tight}");
    assert!(large_tight > 0.0);
    assert_eq!(kpi(&r, 6, "unserved_mwh"), 0.0);
    // The grid can never deliver more than its connection.
    for row in [0, 1, 4, 5] {
        assert!(kpi(&r, row, "peak_grid_import_mw") <= 50.0 + 1e-9);
    }
    // The page and the table are produced, with a row per variant and a chart.
    let files = r.artifacts().unwrap();
    let csv = String::from_utf8(files[0].bytes.clone()).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
    assert!(
        csv.starts_with("variant,name,batteries[0].energy_mwh,grid.import_cap_mw,seed,cost_usd,")
    );
    let html = String::from_utf8(files[2].bytes.clone()).unwrap();
    assert!(html.contains("Unserved energy against batteries[0].energy_mwh"));
}

#[test]
fn bad_sweeps_fail_before_running_with_line_and_field() {
    for (text, line, field) in [
        (
            PEAK.replace("\"grid.import_cap_mw\"", "\"grid.imprt.cap\""),
            10,
            "grid.\"grid.imprt.cap\"",
        ),
        (
            PEAK.replace("\"batteries[0].energy_mwh\"", "\"batteries[5].energy_mwh\""),
            9,
            "grid.\"batteries[5].energy_mwh\"",
        ),
        (PEAK.replace("seeds = [3, 4]", "seeds = 0"), 6, "seeds"),
        (PEAK.replace("step = \"10s\"", "step = \"fast\""), 5, "step"),
        (
            PEAK.replace("[20.0, 160.0]", "[]"),
            9,
            "grid.\"batteries[0].energy_mwh\"",
        ),
        (
            PEAK.replace("name = \"t\"", "name = \"t\"\nnmae = 1"),
            3,
            "nmae",
        ),
    ] {
        let e = SweepSpec::load(&FileSystem, &spec(&text)).unwrap_err();
        match &e.location {
            Location::File { path, line: l, .. } => {
                assert_eq!(path, "sweep.toml", "{e}");
                assert_eq!(*l, line, "{e}");
            }
            other => panic!("{other:?}: {e}"),
        }
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
    }
    // A value the site engine rejects fails when the variant is built, naming the variant.
    let bad = PEAK.replace("[20.0, 160.0]", "[20.0, -5.0]");
    let s = SweepSpec::load(&FileSystem, &spec(&bad)).unwrap();
    let e = sweep::run(&Catalog::builtin(), &FileSystem, &s, None, Some(1), &Silent).unwrap_err();
    assert!(
        e.to_string().contains("batteries[0].energy_mwh = -5"),
        "{e}"
    );
}

#[test]
fn run_sweeps_vary_the_service() {
    // Twice the traffic needs about twice the replicas; energy per request stays close.
    let text = r#"
name = "traffic"
base = "../crates/wattage-cli/tests/data/quick.toml"
kind = "run"

[grid]
"service[0].requests_per_day" = [2.5e7, 5.0e7]
"site.duration_h" = [24]
"#;
    let s = SweepSpec::load(&FileSystem, &spec(text)).unwrap();
    let r = sweep::run(&Catalog::builtin(), &FileSystem, &s, None, None, &Silent).unwrap();
    let gpus = |row| kpi(&r, row, "chat_gpus");
    let ratio = gpus(1) / gpus(0);
    assert!((ratio - 2.0).abs() <= 0.1, "{} vs {}", gpus(1), gpus(0));
    let wh = |row| kpi(&r, row, "chat_facility_wh_per_request");
    assert!((wh(1) / wh(0) - 1.0).abs() < 0.1, "{} vs {}", wh(1), wh(0));
}

#[test]
fn a_sweep_too_large_is_refused_before_its_variants_are_built() {
    // 786,432 variants of a 1e9-hour horizon: refused by the work limit in `load`, before
    // the variants (about a second to build) exist; `max_work` above the size lets it load.
    let text = PEAK
        .replace("duration = \"24h\"", "duration = \"1e9h\"")
        .replace("seeds = [3, 4]", "seeds = 196608");
    let e = SweepSpec::load(&FileSystem, &spec(&text)).unwrap_err();
    assert!(e.to_string().contains("site simulation steps"), "{e}");
    let small = PEAK.replace("duration = \"24h\"", "duration = \"1e9h\"");
    assert!(SweepSpec::load(&FileSystem, &spec(&small)).is_err());
    assert!(SweepSpec::load_with(&FileSystem, &spec(&small), Some(u64::MAX)).is_ok());
}

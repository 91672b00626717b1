//! Every fuzz target through the stable driver for a short box: `WATTAGE_FUZZ_SECONDS` each
//! (default 8), seeded by `WATTAGE_FUZZ_SEED` (default 1). A panic, a violated invariant or an
//! execution slower than 2 s fails the test with the input printed and written to
//! `target/fuzz-failures/`; a hang or a memory blow-up ends the process the same way, and
//! should the process abort (an allocation refused), the input in flight is in
//! `target/fuzz-failures/<target>.in-flight`.

use std::path::PathBuf;
use std::time::Duration;

use wattage_fuzz::{Config, TARGETS, corpus, crate_dir, drive_with, seed_from_env, target};

fn seconds() -> f64 {
    std::env::var("WATTAGE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(8.0)
}

fn failure_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../target"))
        .join("fuzz-failures")
}

fn fuzz(name: &str) {
    let t = target(name).unwrap_or_else(|| panic!("no target `{name}`"));
    let seeds = corpus(name);
    assert!(!seeds.is_empty(), "corpus/{name}/ is empty");
    let mut cfg = Config::new(name, seed_from_env(), Duration::from_secs_f64(seconds()));
    cfg.failure_dir = Some(failure_dir());
    cfg.journal = Some(failure_dir().join(format!("{name}.in-flight")));
    let s = drive_with(t.run, &seeds, &cfg);
    eprintln!(
        "{name}: {} executions in {:.1?} ({:.0}/s), {} accepted, {} outcome classes, \
         {} inputs kept, slowest {:.1?}",
        s.executions,
        s.elapsed,
        s.rate(),
        s.accepted,
        s.classes,
        s.pool,
        s.slowest
    );
    if let Some(f) = s.failure {
        panic!(
            "fuzz target `{name}` failed after {} executions: {f}",
            s.executions
        );
    }
    assert!(
        s.executions >= seeds.len() as u64,
        "{name}: the seeds did not all run"
    );
}

#[test]
fn every_target_has_a_test_and_a_corpus() {
    let src = include_str!("fuzz.rs");
    for t in TARGETS {
        assert!(
            src.contains(&format!("fn {}()", t.name)),
            "no test for `{}`",
            t.name
        );
        assert!(!corpus(t.name).is_empty(), "corpus/{}/ is empty", t.name);
        let libfuzzer = crate_dir().join(format!("fuzz/fuzz_targets/{}.rs", t.name));
        let body = std::fs::read_to_string(&libfuzzer)
            .unwrap_or_else(|e| panic!("{}: {e}", libfuzzer.display()));
        assert!(body.contains(&format!("wattage_fuzz::{}(data)", t.name)));
        let manifest =
            std::fs::read_to_string(crate_dir().join("fuzz/Cargo.toml")).unwrap_or_default();
        assert!(
            manifest.contains(&format!("name = \"{}\"", t.name)),
            "fuzz/Cargo.toml has no [[bin]] `{}`",
            t.name
        );
    }
}

#[test]
fn site_scenario() {
    fuzz("site_scenario");
}

#[test]
fn run_scenario() {
    fuzz("run_scenario");
}

#[test]
fn expansion() {
    fuzz("expansion");
}

#[test]
fn sweep_spec() {
    fuzz("sweep_spec");
}

#[test]
fn trace_csv() {
    fuzz("trace_csv");
}

#[test]
fn catalog_toml() {
    fuzz("catalog_toml");
}

#[test]
fn set_syntax() {
    fuzz("set_syntax");
}

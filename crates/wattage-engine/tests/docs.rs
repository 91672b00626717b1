//! Every field users can write in a run scenario is documented in `docs/scenarios.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn every_run_scenario_field_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("src/run/scenario.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("../../docs/scenarios.md")).unwrap();
    // The file's structs, up to `Loaded` (what the loader returns, not what users write).
    let start = src.find("pub struct RunScenario").expect("RunScenario");
    let end = src.find("pub struct Loaded").expect("Loaded");
    let fields: Vec<&str> = src[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter(|l| l.contains(": ") && !l.starts_with("const "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(fields.len() > 25, "found only {} fields", fields.len());
    let missing: Vec<&&str> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("`{f}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

#[test]
fn every_sweep_field_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("src/sweep.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("../../docs/sweep.md")).unwrap();
    let start = src.find("struct RawSweep").expect("RawSweep");
    let end = start + src[start..].find("\n}\n").expect("end of RawSweep");
    let fields: Vec<&str> = src[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("#[") && !l.starts_with("//") && l.contains(": "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(fields.len() >= 8, "found only {fields:?}");
    let missing: Vec<&&str> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("| `{f}` |")))
        .collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

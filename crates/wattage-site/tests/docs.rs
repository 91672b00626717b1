//! `docs/scenarios.md` documents every field a site scenario accepts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn every_scenario_field_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("src/scenario.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("../../docs/scenarios.md"))
        .expect("docs/scenarios.md exists");
    // The fields of the as-written structs, in `pub mod raw { ... }`.
    let start = src.find("pub mod raw {").expect("the raw module");
    let end = start + src[start..].find("\n}\n").expect("its end");
    let fields: Vec<&str> = src[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter(|l| l.contains(": "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(fields.len() > 80, "found only {} fields", fields.len());
    let missing: Vec<&&str> = fields
        .iter()
        .filter(|f| !doc.contains(&format!("`{f}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

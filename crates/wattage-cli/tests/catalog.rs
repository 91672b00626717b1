//! `wattage catalog KIND NAME --toml` prints an entry that `--catalog FILE` accepts unchanged,
//! for every built-in entry of every kind, and the entry read back is the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{json, wattage};

#[test]
fn every_printed_entry_is_accepted_by_catalog_unchanged() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("catalog-round-trip");
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    for kind in ["hardware", "models", "regions"] {
        let ids: Vec<String> = json(&wattage(&["catalog", kind, "--json"]))
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!ids.is_empty(), "{kind}");
        for id in &ids {
            let o = wattage(&["catalog", kind, id, "--toml"]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let file = dir.join(format!("{kind}-{id}.toml"));
            std::fs::write(&file, &o.stdout).unwrap();
            // Without a format the entry prints the same TOML.
            assert_eq!(
                wattage(&["catalog", kind, id]).stdout,
                o.stdout,
                "{kind} {id}"
            );
            let f = file.to_str().unwrap();
            let merged = json(&wattage(&["--catalog", f, "catalog", kind, id, "--json"]));
            let builtin = json(&wattage(&["catalog", kind, id, "--json"]));
            assert_eq!(merged, builtin, "{kind} {id}");
            n += 1;
        }
        // The whole kind as one file is accepted too.
        let o = wattage(&["catalog", kind, "--toml"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let file = dir.join(format!("{kind}-all.toml"));
        std::fs::write(&file, &o.stdout).unwrap();
        let merged = json(&wattage(&[
            "--catalog",
            file.to_str().unwrap(),
            "catalog",
            kind,
            "--json",
        ]));
        assert_eq!(
            merged,
            json(&wattage(&["catalog", kind, "--json"])),
            "{kind}"
        );
    }
    assert!(n > 20, "{n} entries");
    // An edited copy under a new id is a new entry that estimates run on.
    let text = String::from_utf8(wattage(&["catalog", "hardware", "h100-sxm", "--toml"]).stdout)
        .unwrap()
        .replacen("id = \"h100-sxm\"", "id = \"my-h100\"", 1)
        .replace("aliases = [", "aliases = [\"mine\", ")
        .replacen("tdp_w = 700.0", "tdp_w = 600.0", 1);
    let file = dir.join("mine.toml");
    std::fs::write(&file, text).unwrap();
    let v = json(&wattage(&[
        "--catalog",
        file.to_str().unwrap(),
        "estimate",
        "--hardware",
        "my-h100",
        "--model",
        "llama-3.1-8b",
        "--samples",
        "0",
        "--json",
    ]));
    assert!(v["energy_wh"].as_f64().unwrap() > 0.0);
}

//! Helpers shared by the ledger's tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use wattage_ledger::Entry;

/// A fresh, empty folder for one test.
pub fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("wattage-ledger")
        // Per process: two test runs at once (two checkouts' agents, a rerun) never share.
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A plausible entry; `i` varies every field type.
pub fn entry(id: &str, i: u64) -> Entry {
    Entry {
        request_id: id.to_string(),
        time_unix_ms: 1_764_000_000_000 + i as i64 * 3_600_000,
        key_id: if i.is_multiple_of(3) {
            String::new()
        } else {
            format!("key_{}", i % 2)
        },
        upstream: "h100".into(),
        model: if i.is_multiple_of(2) {
            "llama-3.1-70b".into()
        } else {
            "gpt-oss-120b".into()
        },
        deployment_model: "llama-3.1-70b".into(),
        hardware: "h100-sxm".into(),
        gpus: 4,
        endpoint: "chat".into(),
        status: 200,
        stream: i % 2 == 1,
        input_tokens: 1000 + i,
        cached_input_tokens: 100,
        output_tokens: 200 + i,
        reasoning_tokens: 10,
        tokens_source: "usage".into(),
        batch: 12.4 + i as f64 / 7.0,
        latency_ms: 1234.5,
        ttft_ms: (i % 2 == 1).then_some(87.25),
        energy_wh: 0.1 + i as f64 * 0.01,
        low_wh: 0.07,
        high_wh: 0.33,
        co2e_g: 0.081,
        water_ml: 0.74,
        cost_usd: 0.000017,
        scope: "facility".into(),
    }
}

//! The engine's per-call paths, what Python and the gateway pay for one request: a spec
//! resolved against the catalog (model, hardware, the fewest-GPUs fit, assumptions) and
//! estimated, with no Monte Carlo; and each part alone.
//!
//! Run: `cargo bench -p wattage-bench --bench engine`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use wattage_engine::estimate::{self, EstimateSpec};
use wattage_engine::{Catalog, EstimateResult};

fn main() {
    divan::main();
}

fn spec() -> EstimateSpec {
    EstimateSpec {
        model: Some("llama-3.1-70b".into()),
        hardware: Some("h100-sxm".into()),
        gpus: Some(4),
        precision: Some("bf16".into()),
        batch: Some(64.0),
        input_tokens: Some(0.0),
        output_tokens: Some(500.0),
        samples: 0,
        ..EstimateSpec::default()
    }
}

/// Spec to typed result: what `wattage.estimate(..., samples=0)` runs in Rust.
#[divan::bench]
fn estimate_job(b: Bencher) {
    let cat = Catalog::builtin();
    let s = spec();
    b.bench(|| -> EstimateResult { estimate::run(black_box(&cat), black_box(&s)).unwrap() });
}

/// Only the resolution: catalog lookups, the fit, assumptions and their distributions.
#[divan::bench]
fn prepare_only(b: Bencher) {
    let cat = Catalog::builtin();
    let s = spec();
    b.bench(|| estimate::prepare(black_box(&cat), black_box(&s)).unwrap());
}

/// The gateway's hot path: one served request priced by a meter resolved once (prompt,
/// output and measured batch vary as in live traffic; the range buckets are warm).
#[divan::bench]
fn meter_price(b: Bencher) {
    let cat = Catalog::builtin();
    let m = wattage_engine::Meter::new(&cat, &spec()).unwrap();
    let usage: Vec<wattage_engine::Usage> = (0..64u64)
        .map(|i| wattage_engine::Usage {
            input_tokens: 100 + 37 * i,
            cached_input_tokens: 0,
            output_tokens: 20 + 11 * i,
        })
        .collect();
    for u in &usage {
        m.price(u, 12.5).unwrap();
    }
    let mut i = 0;
    b.bench_local(|| {
        i = (i + 1) % usage.len();
        m.price(black_box(&usage[i]), black_box(12.5)).unwrap()
    });
}

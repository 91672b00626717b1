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

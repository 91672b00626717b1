//! The per-request model's hot paths. Goals (issue 2): one estimate under 10 µs; Monte Carlo
//! at 5 million samples per second or more on one core.
//!
//! Run: `cargo bench -p wattage-bench --bench request`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use wattage_catalog::Catalog;
use wattage_request::uncertainty::{Uncertainty, monte_carlo};
use wattage_request::{Assumptions, Deployment, Method, Request, Roofline, Scope, Step, estimate};

fn main() {
    divan::main();
}

fn setup(model: &str, gpus: u32) -> (Deployment, Assumptions) {
    let cat = Catalog::builtin();
    let d = Deployment::new(
        cat.model(model).unwrap(),
        cat.hardware("h100-sxm").unwrap(),
        gpus,
        None,
    )
    .unwrap();
    let a = Assumptions::for_region(cat.region("us-average").unwrap());
    (d, a)
}

const REQ: Request = Request {
    input_tokens: 1000.0,
    output_tokens: 500.0,
    batch: 32.0,
};

/// One full estimate (validation, roofline of both iteration shapes, scopes, impacts).
#[divan::bench(args = ["llama-3.1-70b", "gpt-4o-est"])]
fn one_estimate(b: Bencher, model: &str) {
    let (d, a) = setup(model, 8);
    b.bench(|| {
        estimate(
            black_box(&d),
            black_box(&REQ),
            &a,
            Method::Roofline,
            Scope::Facility,
        )
        .unwrap()
    });
}

/// One roofline iteration cost (what the serving simulator calls per iteration).
#[divan::bench]
fn one_step(b: Bencher) {
    let (d, a) = setup("llama-3.1-70b", 4);
    let r = Roofline::new(&d, a.roofline);
    let s = Step::decode(128.0, 800.0);
    b.bench(|| r.step(black_box(&s)));
}

/// Monte Carlo: 1,000,000 samples per iteration; divan reports time per million.
#[divan::bench(args = [Method::Roofline, Method::Epoch], sample_count = 5)]
fn monte_carlo_million(b: Bencher, method: Method) {
    let (d, a) = setup("gpt-4o-est", 8);
    let u = Uncertainty::defaults(&a, method);
    b.counter(divan::counter::ItemsCount::new(1_000_000usize))
        .bench(|| monte_carlo(&d, &REQ, &a, &u, method, Scope::Facility, 1_000_000, 1).unwrap());
}

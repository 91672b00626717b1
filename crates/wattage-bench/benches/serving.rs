//! Serving simulator speed: simulated requests per second of wall time.
//!
//! Goal (issue 3): at least 200,000 simulated requests per second on one core for a 70B-class
//! replica (Llama 3.1 70B on 4 x H100) at batch 128, with memory bounded by requests in
//! flight. Read the `items/s` column.

use divan::counter::ItemsCount;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wattage_catalog::Catalog;
use wattage_request::{Deployment, RooflineParams};
use wattage_serving::{
    ClosedLoop, LengthDist, SchedulerConfig, SimConfig, Simulator, Synthetic, Workload,
};

fn main() {
    divan::main();
}

const REQUESTS: u64 = 50_000;

/// Prompt and output lengths of both cases: lognormal, 300 tokens each.
const INPUT: LengthDist = LengthDist::Lognormal {
    mean: 300.0,
    cv: 1.0,
};
const OUTPUT: LengthDist = LengthDist::Lognormal {
    mean: 300.0,
    cv: 0.8,
};

/// Simulates `REQUESTS` requests of workload `w` on one Llama 3.1 70B replica (4 x H100)
/// batching up to 128 sequences.
fn bench_70b_batch128(bencher: divan::Bencher, w: Workload) {
    let c = Catalog::builtin();
    let d = Deployment::new(
        c.model("llama-3.1-70b").expect("model"),
        c.hardware("h100").expect("hardware"),
        4,
        None,
    )
    .expect("fits");
    let cfg = SimConfig {
        scheduler: SchedulerConfig::continuous(128),
        ..SimConfig::default()
    };
    bencher.counter(ItemsCount::new(REQUESTS)).bench(|| {
        let sim = Simulator::new(
            &d,
            RooflineParams::default(),
            &cfg,
            &w,
            ChaCha8Rng::seed_from_u64(1),
        )
        .expect("valid");
        divan::black_box(sim.run().summary.requests)
    });
}

/// Closed loop holding the batch at 128: the calibration and saturation case.
#[divan::bench(sample_count = 10)]
fn closed_loop_70b_batch128(bencher: divan::Bencher) {
    bench_70b_batch128(
        bencher,
        Workload::ClosedLoop(ClosedLoop {
            clients: 128,
            input: INPUT,
            output: OUTPUT,
            think_time_s: 0.0,
            requests: Some(REQUESTS),
            duration_s: None,
        }),
    );
}

/// Open-loop Poisson arrivals near saturation of 128 sequences.
#[divan::bench(sample_count = 10)]
fn poisson_70b_batch128(bencher: divan::Bencher) {
    bench_70b_batch128(
        bencher,
        Workload::Synthetic(Synthetic {
            rate_per_s: 10.0,
            arrivals: Default::default(),
            profile: Default::default(),
            input: INPUT,
            output: OUTPUT,
            duration_s: None,
            requests: Some(REQUESTS),
        }),
    );
}

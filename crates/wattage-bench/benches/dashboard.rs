//! The gateway's live dashboard: `Dashboard::record` runs once per request on the proxy's
//! path (goal: well under 1 µs at 5,000 requests per second, so the lock is never contended
//! for long), and `snapshot` once per poll of a dashboard page (every 2 s per open page).
//!
//! Run: `cargo bench -p wattage-bench --bench dashboard`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use wattage_gateway::dashboard::Dashboard;

fn main() {
    divan::main();
}

const T0: i64 = 1_760_000_000_000;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// Records 1 ms apart in simulated time (a new 5 s bucket every 5,000 records) from 4 models
/// and `keys` keys, round robin. With 1,000 keys most records name a key that is not tracked,
/// so each one evicts (the worst case).
#[divan::bench(args = [8, 1000])]
fn record(b: Bencher, keys: usize) {
    let d = Dashboard::new();
    let models = names("model", 4);
    let keys = names("key", keys);
    // Warm up: 15 minutes of traffic, so the rings are full and names are tracked.
    let mut i = 0usize;
    let mut t = T0;
    for _ in 0..(15 * 60 * 5_000 / 50) {
        d.record(
            t,
            &models[i % 4],
            &keys[i % keys.len()],
            0.2,
            0.08,
            0.4,
            2e-5,
        );
        i += 1;
        t += 10;
    }
    b.bench_local(|| {
        i += 1;
        t += 1;
        d.record(
            black_box(t),
            &models[i % 4],
            &keys[i % keys.len()],
            black_box(0.2),
            0.08,
            0.4,
            2e-5,
        );
    });
}

/// One snapshot of a dashboard holding 15 minutes of traffic from 4 models and 1,000 keys.
#[divan::bench]
fn snapshot(b: Bencher) {
    let d = Dashboard::new();
    let models = names("model", 4);
    let keys = names("key", 1000);
    let mut t = T0;
    for i in 0..(15 * 60 * 1_000) {
        d.record(t, &models[i % 4], &keys[i % 1000], 0.2, 0.08, 0.4, 2e-5);
        t += 1;
    }
    b.bench(|| d.snapshot(black_box(t)));
}

//! The gateway's ledger on SQLite: rows appended per second, each answered only after its
//! group's transaction committed (WAL, `synchronous = NORMAL`), from 1 or 64 concurrent
//! callers and with groups of at most 1 or 256 rows. One caller waits for each commit, so it
//! measures a commit's latency; many callers share commits, which is the gateway's case.
//!
//! Run: `cargo bench -p wattage-bench --bench ledger`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use divan::Bencher;
use divan::counter::ItemsCount;
use wattage_ledger::{Entry, Ledger, OpenOptions, Target};

fn main() {
    divan::main();
}

const ROWS: usize = 2048;

fn entry(id: String) -> Entry {
    Entry {
        request_id: id,
        time_unix_ms: 1_764_000_000_000,
        key_id: "key_0123456789ab".into(),
        upstream: "h100".into(),
        model: "llama-3.1-70b".into(),
        deployment_model: "llama-3.1-70b".into(),
        hardware: "h100-sxm".into(),
        gpus: 4,
        endpoint: "chat".into(),
        status: 200,
        stream: true,
        input_tokens: 1200,
        cached_input_tokens: 300,
        output_tokens: 450,
        reasoning_tokens: 0,
        tokens_source: "usage".into(),
        batch: 12.4,
        latency_ms: 5210.3,
        ttft_ms: Some(180.2),
        energy_wh: 0.2137,
        low_wh: 0.1402,
        high_wh: 0.3311,
        co2e_g: 0.0812,
        water_ml: 0.7391,
        cost_usd: 0.0000171,
        scope: "facility".into(),
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn ledger(name: &str, group: usize) -> Ledger {
    let dir = std::env::temp_dir().join(format!("wattage-bench-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("{name}.db"));
    for p in [
        db.clone(),
        db.with_extension("db.key"),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        let _ = std::fs::remove_file(p);
    }
    let mut o = OpenOptions::new(Target::Sqlite(db));
    o.max_group = group;
    Ledger::open(o).unwrap()
}

/// `ROWS` rows from `callers` threads, each waiting for its row to commit.
#[divan::bench(args = [(1, 256), (64, 1), (64, 256)], sample_count = 10, sample_size = 1)]
fn append_sqlite(b: Bencher, (callers, group): (usize, usize)) {
    let l = ledger(&format!("c{callers}-g{group}"), group);
    b.counter(ItemsCount::new(ROWS)).bench(|| {
        std::thread::scope(|s| {
            for _ in 0..callers {
                let l = l.clone();
                s.spawn(move || {
                    for _ in 0..ROWS / callers {
                        let id = format!("r{}", NEXT.fetch_add(1, Ordering::Relaxed));
                        l.append_blocking(entry(id)).unwrap();
                    }
                });
            }
        });
    });
}

//! Sweep speed: 24 site-weeks of the peak-shaving site at 1-second steps (4 batteries x 3
//! connections x 2 seeds, 14.5 million steps in all) on one thread and on two; the ratio is
//! the sweep's parallel speed-up (rows are identical either way, tested in
//! `wattage-engine/tests/sweep.rs`).

use std::path::Path;

use wattage_engine::sweep::{self, SweepSpec};
use wattage_engine::{Catalog, FileSystem, Input, Silent};

fn main() {
    divan::main();
}

fn spec() -> SweepSpec {
    let text = r#"
name = "bench"
base = "peak-shaving.toml"
duration = "7d"
step = "1s"
seeds = 2
[grid]
"batteries[0].energy_mwh" = [40.0, 80.0, 160.0, 320.0]
"grid.import_cap_mw" = [50.0, 60.0, 70.0]
"#;
    let input = Input::Text {
        text: text.into(),
        name: "bench.toml".into(),
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios"),
    };
    match SweepSpec::load(&FileSystem, &input) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

#[divan::bench(args = [1, 2], sample_count = 5)]
fn sweep_24_site_weeks(bencher: divan::Bencher, threads: usize) {
    let s = spec();
    let cat = Catalog::builtin();
    bencher.bench(|| {
        sweep::run(&cat, &FileSystem, &s, None, Some(threads), &Silent).map(|r| r.rows.len())
    });
}

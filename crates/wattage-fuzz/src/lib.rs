//! Fuzzing of every input format wattage reads, in the repository (issue 13, item 5).
//!
//! - [`targets`]: one function per format, `fn(&[u8]) -> Outcome`, feeding the bytes to the
//!   public entry points the CLI and Python use and asserting the invariants (no panic; an
//!   error that displays; an accepted input's result all finite; work bounded).
//! - [`drive`]: a seeded, structure-aware mutation driver on stable Rust, with a per-execution
//!   time check and a watchdog for hangs and memory. `tests/fuzz.rs` runs every target
//!   through it for a short box (`WATTAGE_FUZZ_SECONDS`, default 8 s each); the `long_run`
//!   example runs them for as long as asked and prints executions per target.
//! - `corpus/<target>/`: the committed seed corpus, built from the shipped scenarios, the
//!   docs' examples, the CLI's test data and the catalog ([`corpus`] reads it).
//! - `fuzz/`: a cargo-fuzz (libFuzzer, nightly) crate with the same targets, for long runs
//!   by hand. See this crate's README.

pub mod drive;
pub mod finite;
pub mod mutate;
pub mod targets;

pub use drive::{Config, Failure, FailureKind, Stats, drive, drive_with};
pub use targets::{
    Outcome, catalog_toml, expansion, run_scenario, set_syntax, site_scenario, sweep_spec,
    trace_csv,
};

use std::path::{Path, PathBuf};

/// A fuzz target: its name (the corpus folder and the cargo-fuzz target) and its function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name.
    pub name: &'static str,
    /// The function.
    pub run: fn(&[u8]) -> Outcome,
}

/// Every target, one per input format. (The HTTP gateway's request parsing gets one when
/// the gateway exists.)
pub const TARGETS: &[Target] = &[
    Target {
        name: "site_scenario",
        run: site_scenario,
    },
    Target {
        name: "run_scenario",
        run: run_scenario,
    },
    Target {
        name: "expansion",
        run: expansion,
    },
    Target {
        name: "sweep_spec",
        run: sweep_spec,
    },
    Target {
        name: "trace_csv",
        run: trace_csv,
    },
    Target {
        name: "catalog_toml",
        run: catalog_toml,
    },
    Target {
        name: "set_syntax",
        run: set_syntax,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}

/// This crate's folder.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed seed corpus of `name`: every file of `corpus/<name>/`, in name order.
pub fn corpus(name: &str) -> Vec<Vec<u8>> {
    corpus_in(&crate_dir().join("corpus").join(name))
}

/// Every file of `dir`, in name order (none when it does not exist).
pub fn corpus_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// The seed of run `i` from the environment's `WATTAGE_FUZZ_SEED` (default 1), so CI repeats
/// the same inputs and a developer can explore others.
pub fn seed_from_env() -> u64 {
    std::env::var("WATTAGE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
}

//! Helpers shared by the CLI's integration tests.

use std::process::{Command, Output};

/// Runs the `wattage` binary as a user would (no colour).
pub fn wattage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wattage"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// Parses a successful run's stdout as JSON (panics with stderr otherwise).
pub fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("stdout is JSON")
}

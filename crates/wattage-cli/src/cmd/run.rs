//! `wattage run` and `wattage compare` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage run`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Arguments of `wattage compare`.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {}

/// Runs one scenario.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`run` is not built yet"))
}

/// Compares scenarios.
pub fn compare(_g: &Global, _a: CompareArgs) -> anyhow::Result<()> {
    Err(user("`compare` is not built yet"))
}

//! `wattage optimize` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage optimize`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`optimize` is not built yet"))
}

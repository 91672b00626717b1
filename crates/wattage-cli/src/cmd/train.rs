//! `wattage train` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage train`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`train` is not built yet"))
}

//! `wattage serving` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage serving`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`serving` is not built yet"))
}

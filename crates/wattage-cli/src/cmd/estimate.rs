//! `wattage estimate` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage estimate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`estimate` is not built yet"))
}

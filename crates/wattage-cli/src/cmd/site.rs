//! `wattage site` (being built).

use crate::common::{Global, user};

/// Arguments of `wattage site`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_g: &Global, _a: Args) -> anyhow::Result<()> {
    Err(user("`site` is not built yet"))
}

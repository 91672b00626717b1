//! `wattage`: how much energy, carbon, water and money AI work takes, from one token to a
//! gigawatt campus. This binary is a thin shell: it parses arguments, reads and writes files,
//! and renders results; every model lives in the library crates.

#![recursion_limit = "256"]

mod cmd;
mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc (v2) rather than glibc's malloc: it reuses freed memory and backs its segments
/// with transparent huge pages, so a year-long `optimize` takes about 350 page faults instead
/// of 23,000 (Clarabel allocates some 75 MB) and its whole process about 20-25% less time
/// (`benches/python/pypsa_results.md`). glibc with a high mmap and trim threshold
/// (`GLIBC_TUNABLES`) gained 5-10%; mallopt would need `unsafe`, which the workspace forbids.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Energy, carbon, water and cost of AI work, from one LLM token to a gigawatt campus.
#[derive(Parser, Debug)]
#[command(
    name = "wattage",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(flatten)]
    global: common::Global,
    #[command(subcommand)]
    command: Command,
}

/// The exit statuses, shown by `wattage --help`.
const EXIT_STATUS: &str = "\
Exit status:
  0    success
  1    a failure that is not the input's fault (a file that cannot be written, a solver error)
  2    bad input: a flag, file or field out of range or malformed (the message names it);
       nothing was run or written
  3    `simulate serving --slo-ttft-ms/--slo-itl-ms`: no fleet of at most --max-replicas
       replicas meets the objectives (the plan is still printed)
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: temporary output removed";

#[derive(Subcommand, Debug)]
enum Command {
    /// Energy, latency, carbon, water and cost of one LLM request
    Estimate(Box<cmd::estimate::Args>),
    /// Energy, power and emissions of a training run
    Train(cmd::train::Args),
    /// List or show catalog entries (hardware, models, regions) with their sources
    Catalog(cmd::catalog::Args),
    /// Simulate a serving fleet or a site energy system
    #[command(subcommand)]
    Simulate(SimulateCommand),
    /// Cheapest design and dispatch of a site, by linear programming
    Optimize(cmd::optimize::Args),
    /// Run one scenario from token to grid and write a report
    Run(cmd::run::Args),
    /// Run several scenarios and compare them side by side
    Compare(cmd::run::CompareArgs),
    /// Run a scenario under a grid of overrides in parallel, one row of KPIs each
    Sweep(cmd::sweep::Args),
    /// Check, export and sum the gateway's signed ledger
    #[command(subcommand)]
    Ledger(cmd::ledger::Command),
    /// Create, list and revoke the gateway's API keys and budgets
    #[command(subcommand)]
    Keys(cmd::keys::Command),
    /// Metering gateway: an OpenAI-compatible proxy that prices every request and signs a ledger
    Serve(Box<cmd::serve::Args>),
}

#[derive(Subcommand, Debug)]
enum SimulateCommand {
    /// Discrete-event simulation of LLM serving: request stream -> batches -> watts
    Serving(Box<cmd::serving::Args>),
    /// Time-series simulation of a site's energy system
    Site(cmd::site::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The gateway drains its requests on SIGINT/SIGTERM itself; it writes no temporaries.
    if !matches!(cli.command, Command::Serve(_)) {
        common::remove_temporaries_on_signals();
    }
    let result = match cli.command {
        Command::Estimate(a) => cmd::estimate::run(&cli.global, *a),
        Command::Train(a) => cmd::train::run(&cli.global, a),
        Command::Catalog(a) => cmd::catalog::run(&cli.global, a),
        Command::Simulate(SimulateCommand::Serving(a)) => cmd::serving::run(&cli.global, *a),
        Command::Simulate(SimulateCommand::Site(a)) => cmd::site::run(&cli.global, a),
        Command::Optimize(a) => cmd::optimize::run(&cli.global, a),
        Command::Run(a) => cmd::run::run(&cli.global, a),
        Command::Compare(a) => cmd::run::compare(&cli.global, a),
        Command::Sweep(a) => cmd::sweep::run(&cli.global, a),
        Command::Ledger(c) => cmd::ledger::run(&cli.global, c),
        Command::Keys(c) => cmd::keys::run(&cli.global, c),
        Command::Serve(a) => cmd::serve::run(&cli.global, *a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::report_error(&e),
    }
}

//! `wattage optimize SCENARIO.toml`: the cheapest design and hourly dispatch of a site as a
//! linear program, then the rule-based simulator on that design at the scenario's own step
//! (1 s for the reference scenarios) to show what the hourly plan cannot see.

use std::path::PathBuf;

use wattage_engine::{FileSystem, OptimizeSpec, OptimizeSummary};

use crate::common::{Global, out, out_json, write_files};

/// Arguments of `wattage optimize`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// Site scenario (the same file as `wattage simulate site`)
    pub scenario: PathBuf,
    /// Which ratings may grow and at what annualized cost (TOML); without it the design is
    /// fixed and only the dispatch is optimized
    #[arg(long, value_name = "FILE", conflicts_with = "extend")]
    pub expansion: Option<PathBuf>,
    /// Let every existing asset grow to 4x at typical annualized costs
    #[arg(long)]
    pub extend: bool,
    /// LP step, e.g. `1h`, `15m`, `300s` (a bare number is seconds, deprecated)
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1h",
        allow_hyphen_values = true
    )]
    pub step: String,
    /// Horizon, e.g. `7d`, `8760h`, `1y` [default: the scenario's] (a bare number is
    /// seconds, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<String>,
    /// Step of the rule-based check run, e.g. `1s` [default: the scenario's step] (a bare
    /// number is seconds, deprecated)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub check_step: Option<String>,
    /// Seed of the scenario's random draws (outages, failures, weather) [default: the
    /// scenario's]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Calendar time of the start, ISO 8601 with a zone (the `time` column) [default:
    /// 2025-01-01T00:00:00Z, moved to the scenario's `start_day_of_year`]
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Skip the rule-based check run
    #[arg(long)]
    pub no_check: bool,
    /// HiGHS's algorithm
    #[arg(long, value_enum, default_value = "simplex")]
    pub method: MethodArg,
    /// LP solver: clarabel (pure Rust, every build) or highs (builds with the `highs`
    /// feature) [default: highs when built in, else clarabel]
    #[arg(long)]
    pub solver: Option<String>,
    /// Relative gap at which HiGHS stops the mixed-integer program of turbines with
    /// `commitment = "integer"` [default: 1e-4]
    #[arg(long, value_name = "GAP")]
    pub mip_gap: Option<f64>,
    /// Solve over N typical days (k-medoids of the days' load, price and solar profiles,
    /// weighted by the days each stands for) instead of the whole horizon: faster, approximate
    #[arg(long, value_name = "N")]
    pub typical_days: Option<u32>,
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Write timeseries.csv/.parquet (the plan step by step) and summary.json here (see
    /// docs/outputs.md)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// HiGHS algorithm.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// Interior point with crossover
    Ipm,
    /// Dual simplex
    Simplex,
}

fn money(v: f64) -> String {
    format!("{:.2}", wattage_units::Usd::new(v))
}

fn print_text(sm: &OptimizeSummary) {
    out(format!(
        "optimum of `{}`: {} steps of {} s ({:.0} h)",
        sm.scenario, sm.steps, sm.step_s, sm.duration_h
    ));
    out(format!("  total cost        {}", money(sm.objective_usd)));
    let c = &sm.costs;
    for (k, v) in [
        ("fuel", c.fuel_usd),
        ("turbine O&M", c.turbine_vom_usd),
        ("start-ups", c.startup_usd),
        ("grid energy", c.grid_energy_usd),
        ("demand charges", c.demand_charge_usd),
        ("new capacity", c.capital_usd),
        ("battery wear", c.battery_wear_usd),
        ("lost load", c.lost_load_usd),
        ("carbon price", c.carbon_usd),
        ("export revenue", -c.export_revenue_usd),
        ("miner revenue", -c.miner_revenue_usd),
    ] {
        if v != 0.0 {
            out(format!("    {k:<16}{}", money(v)));
        }
    }
    out("  capacities");
    if let Some(g) = sm.capacities.grid_import_mw {
        out(format!("    grid import     {g:.1} MW"));
    }
    for t in &sm.capacities.turbines {
        out(format!(
            "    {:<16}{:.1} MW ({} units)",
            t.name, t.mw, t.units
        ));
    }
    for b in &sm.capacities.batteries {
        out(format!(
            "    {:<16}{:.1} MW / {:.1} MWh",
            b.name, b.mw, b.mwh
        ));
    }
    for s in &sm.capacities.solar {
        out(format!("    {:<16}{:.1} MW", s.name, s.mw));
    }
    out(format!(
        "  emissions {:.0} t CO2e, unserved {:.3} MWh, marginal price mean ${:.2}/MWh (max ${:.2})",
        sm.emissions_t,
        sm.unserved_mwh,
        sm.mean_marginal_price_usd_per_mwh,
        sm.max_marginal_price_usd_per_mwh
    ));
    out(format!(
        "  LP {} cols x {} rows, {} non-zeros; build {:.3} s, solve {:.3} s ({}, {} iterations)",
        sm.lp_cols, sm.lp_rows, sm.lp_nnz, sm.build_s, sm.solve_s, sm.solver, sm.solver_iterations
    ));
    if let Some(g) = sm.mip_gap {
        out(format!("  integer unit commitment: gap reached {g:.2e}"));
    }
    if let Some(r) = &sm.rule_based {
        out(format!(
            "rule-based dispatch of this design at {} s steps: {} ({:+.2}% vs the LP)",
            r.step_s,
            money(r.cost_usd),
            (r.cost_usd / r.lp_cost_usd - 1.0) * 100.0
        ));
        out(format!(
            "  unserved {:.3} MWh in {} interruptions; {} ramp violations, {} below min stable, {:.0} s short of reserve, {} starts, peak import {:.1} MW",
            r.unserved_mwh,
            r.interruptions,
            r.ramp_violations,
            r.min_stable_violations,
            r.reserve_shortfall_s,
            r.turbine_starts,
            r.peak_grid_import_mw
        ));
    }
}

impl Args {
    /// The engine's spec of these flags.
    pub fn spec(&self) -> OptimizeSpec {
        OptimizeSpec {
            expansion: self.expansion.clone(),
            extend: self.extend,
            max_work: None,
            step: self.step.clone().into(),
            duration: self.duration.clone().map(Into::into),
            check_step: self.check_step.clone().map(Into::into),
            seed: self.seed,
            start: self.start.clone(),
            no_check: self.no_check,
            method: match self.method {
                MethodArg::Ipm => "ipm".into(),
                MethodArg::Simplex => "simplex".into(),
            },
            solver: self.solver.clone(),
            mip_gap: self.mip_gap,
            typical_days: self.typical_days,
        }
    }
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let sc = crate::cmd::site::load(&a.scenario)?;
    let name = a.scenario.display().to_string();
    let spec = OptimizeSpec {
        max_work: g.max_work,
        ..a.spec()
    };
    g.warn(&spec.deprecations());
    let r = wattage_engine::optimize::run(&FileSystem, &sc, &name, &spec)?;
    let sm = &r.summary;
    if let Some(dir) = &a.out {
        write_files(dir, &r.artifacts()?)?;
    }
    if a.json {
        out_json(sm)
    } else {
        print_text(sm);
        if let Some(k) = a.typical_days {
            out(format!(
                "  solved over {k} typical days standing for the horizon: the design and costs \
                 are approximate"
            ));
        }
        if let Some(dir) = &a.out {
            g.note(format!(
                "wrote timeseries.csv, timeseries.parquet and summary.json to `{}`",
                dir.display()
            ));
        }
        Ok(())
    }
}

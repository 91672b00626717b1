//! `wattage optimize SCENARIO.toml`: the cheapest design and hourly dispatch of a site as a
//! linear program (HiGHS), then the rule-based simulator on that design at the scenario's own
//! step (1 s for the reference scenarios) to show what the hourly plan cannot see.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use wattage_optimize::{
    ConvertOptions, Expansion, Method, OptimizeOptions, SiteProblem, Solution, design_of, optimize,
    rule_based_cost,
};
use wattage_site::Scenario;
use wattage_site::eval::{Design, evaluate_design};
use wattage_site::sim::Kpis;
use wattage_units::Time;

use crate::common::{Global, UserError, out, out_json, read_text, user, write_atomic};

/// Arguments of `wattage optimize`.
#[derive(clap::Args, Debug)]
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
    /// LP step, e.g. `1h`, `15m`, `300s`
    #[arg(long, default_value = "1h", value_parser = parse_time)]
    pub step: Time,
    /// Horizon, e.g. `7d`, `8760h`, `1y` (default: the scenario's)
    #[arg(long, value_parser = parse_time)]
    pub duration: Option<Time>,
    /// Step of the rule-based check run (default: the scenario's step)
    #[arg(long, value_parser = parse_time)]
    pub check_step: Option<Time>,
    /// Skip the rule-based check run
    #[arg(long)]
    pub no_check: bool,
    /// Solver algorithm
    #[arg(long, value_enum, default_value = "simplex")]
    pub method: MethodArg,
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Write dispatch.csv, prices.csv and summary.json here
    #[arg(long, value_name = "DIR")]
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

/// Parses `90`, `90s`, `15m`, `1h`, `7d` or `1y` (365 days).
fn parse_time(s: &str) -> Result<Time, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1.0),
        Some((i, 'm')) => (&s[..i], 60.0),
        Some((i, 'h')) => (&s[..i], 3600.0),
        Some((i, 'd')) => (&s[..i], 86_400.0),
        Some((i, 'y')) => (&s[..i], 365.0 * 86_400.0),
        _ => (s, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 1h, 15m, 300s, 7d or 1y"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("`{s}` must be a positive duration"));
    }
    Ok(Time::from_s(v * mult))
}

#[derive(Serialize)]
struct NamedMw {
    name: String,
    mw: f64,
}

#[derive(Serialize)]
struct TurbineOut {
    name: String,
    mw: f64,
    units: u32,
}

#[derive(Serialize)]
struct BatteryOut {
    name: String,
    mw: f64,
    mwh: f64,
}

#[derive(Serialize)]
struct CapacitiesOut {
    grid_import_mw: Option<f64>,
    turbines: Vec<TurbineOut>,
    batteries: Vec<BatteryOut>,
    solar: Vec<NamedMw>,
}

#[derive(Serialize)]
struct CostsOut {
    fuel_usd: f64,
    turbine_vom_usd: f64,
    startup_usd: f64,
    grid_energy_usd: f64,
    demand_charge_usd: f64,
    capital_usd: f64,
    battery_wear_usd: f64,
    lost_load_usd: f64,
    carbon_usd: f64,
    export_revenue_usd: f64,
    miner_revenue_usd: f64,
}

#[derive(Serialize)]
pub(crate) struct CheckOut {
    step_s: f64,
    /// Rule-based cost in the LP's terms, capital of the design included.
    cost_usd: f64,
    /// The LP's cost for comparison, capital included.
    lp_cost_usd: f64,
    unserved_mwh: f64,
    interruptions: u64,
    ramp_violations: u64,
    min_stable_violations: u64,
    reserve_shortfall_s: f64,
    turbine_starts: u64,
    peak_grid_import_mw: f64,
    co2e_t: f64,
}

#[derive(Serialize)]
pub(crate) struct Summary {
    scenario: String,
    steps: usize,
    step_s: f64,
    duration_h: f64,
    objective_usd: f64,
    capacities: CapacitiesOut,
    costs: CostsOut,
    emissions_t: f64,
    unserved_mwh: f64,
    mean_marginal_price_usd_per_mwh: f64,
    max_marginal_price_usd_per_mwh: f64,
    build_s: f64,
    solve_s: f64,
    lp_cols: usize,
    lp_rows: usize,
    lp_nnz: usize,
    solver_iterations: i64,
    rule_based: Option<CheckOut>,
}

pub(crate) fn summarize(
    sc: &Scenario,
    p: &SiteProblem,
    s: &Solution,
    design: &Design,
    check: Option<CheckOut>,
) -> Summary {
    let c = &s.costs;
    let prices: Vec<f64> = s.marginal_price.iter().map(|x| x.usd_per_mwh()).collect();
    let mean = prices.iter().sum::<f64>() / prices.len().max(1) as f64;
    let max = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let units = design.turbine_counts.clone().unwrap_or_default();
    Summary {
        scenario: sc.name.clone(),
        steps: p.steps(),
        step_s: p.step.s(),
        duration_h: p.horizon().h(),
        objective_usd: s.objective.usd(),
        capacities: CapacitiesOut {
            grid_import_mw: s.capacities.grid.map(|g| g.mw()),
            turbines: s
                .capacities
                .turbines
                .iter()
                .enumerate()
                .map(|(i, (name, k))| TurbineOut {
                    name: name.clone(),
                    mw: k.mw(),
                    units: units.get(i).copied().unwrap_or(0),
                })
                .collect(),
            batteries: s
                .capacities
                .batteries
                .iter()
                .map(|(name, pw, e)| BatteryOut {
                    name: name.clone(),
                    mw: pw.mw(),
                    mwh: e.mwh(),
                })
                .collect(),
            solar: s
                .capacities
                .solar
                .iter()
                .map(|(name, k)| NamedMw {
                    name: name.clone(),
                    mw: k.mw(),
                })
                .collect(),
        },
        costs: CostsOut {
            fuel_usd: c.fuel.usd(),
            turbine_vom_usd: c.turbine_vom.usd(),
            startup_usd: c.startup.usd(),
            grid_energy_usd: c.grid_energy.usd(),
            demand_charge_usd: c.demand_charge.usd(),
            capital_usd: c.capital.usd(),
            battery_wear_usd: c.battery_wear.usd(),
            lost_load_usd: c.lost_load.usd(),
            carbon_usd: c.carbon.usd(),
            export_revenue_usd: c.export_revenue.usd(),
            miner_revenue_usd: c.miner_revenue.usd(),
        },
        emissions_t: s.emissions.t(),
        unserved_mwh: s.unserved.mwh(),
        mean_marginal_price_usd_per_mwh: mean,
        max_marginal_price_usd_per_mwh: if max.is_finite() { max } else { 0.0 },
        build_s: s.stats.build.s(),
        solve_s: s.stats.solve.s(),
        lp_cols: s.stats.cols,
        lp_rows: s.stats.rows,
        lp_nnz: s.stats.nnz,
        solver_iterations: s.stats.iterations,
        rule_based: check,
    }
}

pub(crate) fn check_run(
    sc: &Scenario,
    p: &SiteProblem,
    s: &Solution,
    design: &Design,
    step: Time,
) -> anyhow::Result<CheckOut> {
    let mut sc = sc.clone();
    sc.simulation.duration = p.horizon();
    let k: Kpis =
        evaluate_design(&sc, design, step).map_err(|e| user(format!("rule-based check: {e}")))?;
    let rb = rule_based_cost(&k, p.value_of_lost_load).usd() + s.costs.capital.usd();
    Ok(CheckOut {
        step_s: step.s(),
        cost_usd: rb,
        lp_cost_usd: s.objective.usd(),
        unserved_mwh: k.unserved_mwh,
        interruptions: k.interruptions,
        ramp_violations: k.ramp_violations,
        min_stable_violations: k.min_stable_violations,
        reserve_shortfall_s: k.reserve_shortfall_s,
        turbine_starts: k.turbine_starts,
        peak_grid_import_mw: k.peak_grid_import_mw,
        co2e_t: k.co2e_t,
    })
}

fn dispatch_csv(p: &SiteProblem, s: &Solution) -> String {
    let d = &s.dispatch;
    let mut h = String::from("time_h,load_mw,grid_import_mw,grid_export_mw");
    for (name, _) in &s.capacities.turbines {
        let _ = write!(h, ",{name}_output_mw,{name}_committed_mw");
    }
    for (name, _, _) in &s.capacities.batteries {
        let _ = write!(h, ",{name}_charge_mw,{name}_discharge_mw,{name}_soc_mwh");
    }
    for (name, _) in &s.capacities.solar {
        let _ = write!(h, ",{name}_solar_mw");
    }
    for m in &p.miners {
        let _ = write!(h, ",{}_miners_mw", m.name);
    }
    h.push_str(",unserved_mw,marginal_price_usd_per_mwh\n");
    let mut o = h.replace(' ', "_");
    for t in 0..p.steps() {
        let _ = write!(
            o,
            "{},{:.6},{:.6},{:.6}",
            t as f64 * p.step.h(),
            p.load[t].mw(),
            d.grid_import[t].mw(),
            d.grid_export[t].mw()
        );
        for tb in &d.turbines {
            let _ = write!(o, ",{:.6},{:.6}", tb.output[t].mw(), tb.committed[t].mw());
        }
        for b in &d.batteries {
            let _ = write!(
                o,
                ",{:.6},{:.6},{:.6}",
                b.charge[t].mw(),
                b.discharge[t].mw(),
                b.soc[t].mwh()
            );
        }
        for sol in &d.solar {
            let _ = write!(o, ",{:.6}", sol[t].mw());
        }
        for m in &d.miners {
            let _ = write!(o, ",{:.6}", m[t].mw());
        }
        let _ = writeln!(
            o,
            ",{:.6},{:.6}",
            d.unserved[t].mw(),
            s.marginal_price[t].usd_per_mwh()
        );
    }
    o
}

fn prices_csv(p: &SiteProblem, s: &Solution) -> String {
    let mut o = String::from("time_h,marginal_price_usd_per_mwh\n");
    for (t, pr) in s.marginal_price.iter().enumerate() {
        let _ = writeln!(o, "{},{:.6}", t as f64 * p.step.h(), pr.usd_per_mwh());
    }
    o
}

fn money(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("${:.2}M", v / 1e6)
    } else {
        format!("${v:.0}")
    }
}

fn print_text(sm: &Summary) {
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
        "  LP {} cols x {} rows, {} non-zeros; build {:.3} s, solve {:.3} s",
        sm.lp_cols, sm.lp_rows, sm.lp_nnz, sm.build_s, sm.solve_s
    ));
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

/// Runs the command.
pub fn run(_g: &Global, a: Args) -> anyhow::Result<()> {
    let sc = crate::cmd::site::load(&a.scenario)?;
    let ex = match (&a.expansion, a.extend) {
        (Some(path), _) => {
            let text = read_text(path)?;
            Expansion::parse(&text).map_err(|e| user(format!("`{}`: {e}", path.display())))?
        }
        (None, true) => Expansion::typical(&sc),
        (None, false) => Expansion::default(),
    };
    let co = ConvertOptions {
        step: a.step,
        duration: a.duration,
        probe_step: None,
    };
    let p = SiteProblem::from_scenario(&sc, &ex, &co).map_err(|e| {
        UserError::new(format!("`{}`: {e}", a.scenario.display()))
            .hint("steps are at most 1h; durations look like 7d or 8760h")
    })?;
    let opts = OptimizeOptions {
        method: match a.method {
            MethodArg::Ipm => Method::Ipm,
            MethodArg::Simplex => Method::Simplex,
        },
        time_limit: None,
    };
    let s = optimize(&p, &opts).map_err(|e| user(format!("`{}`: {e}", a.scenario.display())))?;
    let design = design_of(&sc, &s);
    let check = if a.no_check {
        None
    } else {
        let step = a.check_step.unwrap_or(sc.simulation.step);
        Some(check_run(&sc, &p, &s, &design, step)?)
    };
    let sm = summarize(&sc, &p, &s, &design, check);
    if let Some(dir) = &a.out {
        write_atomic(&dir.join("dispatch.csv"), dispatch_csv(&p, &s).as_bytes())?;
        write_atomic(&dir.join("prices.csv"), prices_csv(&p, &s).as_bytes())?;
        let json = serde_json::to_string_pretty(&sm).context("cannot serialise the summary")?;
        write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    }
    if a.json {
        out_json(&sm)
    } else {
        print_text(&sm);
        if let Some(dir) = &a.out {
            eprintln!(
                "wrote dispatch.csv, prices.csv and summary.json to `{}`",
                dir.display()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_time("1h").map(|t| t.s()), Ok(3600.0));
        assert_eq!(parse_time("15m").map(|t| t.s()), Ok(900.0));
        assert_eq!(parse_time("7d").map(|t| t.s()), Ok(604_800.0));
        assert_eq!(parse_time("300").map(|t| t.s()), Ok(300.0));
        assert!(parse_time("0h").is_err());
        assert!(parse_time("soon").is_err());
    }
}

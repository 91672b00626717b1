//! Monte Carlo reliability over outage draws, and evaluation of a given design (capacities)
//! for the optimizer.

use serde::Serialize;
use wattage_units::{Energy, Power, Time};

use crate::scenario::{Scenario, ScenarioError};
use crate::sim::{Kpis, RunOptions, Simulator};

/// Monte Carlo summary over seeds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reliability {
    /// Seeds run.
    pub seeds: u32,
    /// Mean unserved energy per run (MWh).
    pub expected_unserved_mwh: f64,
    /// Mean number of AI interruptions per run.
    pub expected_interruptions: f64,
    /// Of which momentary (shorter than `[reliability] interruption_min_s`).
    pub expected_momentary_interruptions: f64,
    /// Mean length of an interruption (s), over all interruptions of all runs.
    pub mean_interruption_s: f64,
    /// Longest interruption seen (s).
    pub longest_interruption_s: f64,
    /// Mean cost of interruptions per run (USD).
    pub expected_interruption_cost_usd: f64,
    /// Mean GPU-hours lost per run.
    pub expected_gpu_hours_lost: f64,
    /// Share of runs with at least one interruption.
    pub probability_of_interruption: f64,
    /// Mean total cost per run (USD).
    pub expected_cost_usd: f64,
    /// Per-seed key figures (without interruption lists).
    pub runs: Vec<Kpis>,
}

/// Runs `seeds` simulations with seeds `opts.seed, opts.seed + 1, ...` (series not kept) and
/// summarises reliability. `progress(done_steps, total_steps)` is called between chunks.
pub fn monte_carlo(
    sc: &Scenario,
    opts: &RunOptions,
    seeds: u32,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Reliability, ScenarioError> {
    if seeds == 0 {
        return Err(ScenarioError::api("seeds", "must be positive"));
    }
    let mut runs = Vec::with_capacity(seeds as usize);
    let mut o = opts.clone();
    o.keep_series = false;
    let mut done_before = 0u64;
    let mut total = 0u64;
    for i in 0..seeds {
        o.seed = opts.seed.wrapping_add(i as u64);
        let mut s = Simulator::new(sc, &o)?;
        if total == 0 {
            total = s.total_steps() * seeds as u64;
        }
        let chunk = (s.total_steps() / 100).max(10_000);
        while !s.run_steps(chunk) {
            progress(done_before + s.steps_done(), total);
        }
        done_before += s.total_steps();
        progress(done_before, total);
        let mut k = s.finish().kpis;
        k.interruption_list.clear();
        runs.push(k);
    }
    let n = seeds as f64;
    let n_int: u64 = runs.iter().map(|k| k.interruptions).sum();
    let int_s: f64 = runs.iter().map(|k| k.interruption_s).sum();
    Ok(Reliability {
        seeds,
        expected_unserved_mwh: runs.iter().map(|k| k.unserved_mwh).sum::<f64>() / n,
        expected_interruptions: n_int as f64 / n,
        expected_momentary_interruptions: runs
            .iter()
            .map(|k| k.momentary_interruptions as f64)
            .sum::<f64>()
            / n,
        mean_interruption_s: if n_int > 0 { int_s / n_int as f64 } else { 0.0 },
        longest_interruption_s: runs
            .iter()
            .map(|k| k.longest_interruption_s)
            .fold(0.0, f64::max),
        expected_interruption_cost_usd: runs
            .iter()
            .map(|k| k.cost_usd_by_component.interruptions)
            .sum::<f64>()
            / n,
        expected_gpu_hours_lost: runs.iter().map(|k| k.gpu_hours_lost).sum::<f64>() / n,
        probability_of_interruption: runs.iter().filter(|k| k.interruptions > 0).count() as f64 / n,
        expected_cost_usd: runs.iter().map(|k| k.cost_usd).sum::<f64>() / n,
        runs,
    })
}

/// A design: the capacities an optimizer chooses. `None` keeps the scenario's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Design {
    /// Grid import cap.
    pub grid_import_cap: Option<Power>,
    /// Number of units in each turbine group (same order as the scenario; 0 removes it).
    pub turbine_counts: Option<Vec<u32>>,
    /// Power of each battery (0 removes it).
    pub battery_power: Option<Vec<Power>>,
    /// Energy of each battery.
    pub battery_energy: Option<Vec<Energy>>,
    /// Nameplate of each solar plant.
    pub solar_nameplate: Option<Vec<Power>>,
    /// Power of each miner fleet.
    pub miner_power: Option<Vec<Power>>,
}

impl Design {
    /// Applies the design to a copy of the scenario. Lengths must match the scenario's lists.
    pub fn apply(&self, sc: &Scenario) -> Result<Scenario, ScenarioError> {
        let mut s = sc.clone();
        fn len_ok<T>(v: &[T], n: usize, f: &str) -> Result<(), ScenarioError> {
            if v.len() == n {
                Ok(())
            } else {
                Err(ScenarioError::api(
                    f,
                    format!("expected {n} values, got {}", v.len()),
                ))
            }
        }
        fn pos(x: f64, f: &str) -> Result<(), ScenarioError> {
            if x.is_finite() && x >= 0.0 {
                Ok(())
            } else {
                Err(ScenarioError::api(f, "must be finite and non-negative"))
            }
        }
        if let Some(c) = self.grid_import_cap {
            pos(c.mw(), "grid_import_cap")?;
            match &mut s.grid {
                Some(g) => g.import_cap = c,
                None => {
                    return Err(ScenarioError::api(
                        "grid_import_cap",
                        "the scenario has no grid",
                    ));
                }
            }
        }
        if let Some(v) = &self.turbine_counts {
            len_ok(v, s.turbines.len(), "turbine_counts")?;
            for (g, n) in s.turbines.iter_mut().zip(v) {
                g.count = *n;
            }
            s.turbines.retain(|g| g.count > 0);
        }
        if let (Some(p), e) = (&self.battery_power, &self.battery_energy) {
            len_ok(p, s.batteries.len(), "battery_power")?;
            for (i, b) in s.batteries.iter_mut().enumerate() {
                pos(p[i].mw(), "battery_power")?;
                b.power = p[i];
            }
            if let Some(e) = e {
                len_ok(e, s.batteries.len(), "battery_energy")?;
                for (i, b) in s.batteries.iter_mut().enumerate() {
                    pos(e[i].mwh(), "battery_energy")?;
                    b.energy = e[i];
                }
            }
            s.batteries
                .retain(|b| b.power.mw() > 0.0 && b.energy.mwh() > 0.0);
        } else if let Some(e) = &self.battery_energy {
            len_ok(e, s.batteries.len(), "battery_energy")?;
            for (i, b) in s.batteries.iter_mut().enumerate() {
                pos(e[i].mwh(), "battery_energy")?;
                b.energy = e[i];
            }
            s.batteries.retain(|b| b.energy.mwh() > 0.0);
        }
        if let Some(v) = &self.solar_nameplate {
            len_ok(v, s.solar.len(), "solar_nameplate")?;
            for (x, p) in s.solar.iter_mut().zip(v) {
                pos(p.mw(), "solar_nameplate")?;
                x.nameplate = *p;
            }
        }
        if let Some(v) = &self.miner_power {
            len_ok(v, s.miners.len(), "miner_power")?;
            for (x, p) in s.miners.iter_mut().zip(v) {
                pos(p.mw(), "miner_power")?;
                x.power = *p;
            }
            s.miners.retain(|m| m.power.mw() > 0.0);
        }
        Ok(s)
    }
}

/// Evaluates a design with the rule-based dispatch at step `step` over the scenario's horizon
/// (series not kept) and returns its key figures, including `cost_usd_by_component`.
pub fn evaluate_design(sc: &Scenario, design: &Design, step: Time) -> Result<Kpis, ScenarioError> {
    let s = design.apply(sc)?;
    let mut o = RunOptions::from_scenario(&s);
    o.step = step;
    o.resolution = o.resolution.max(step);
    o.keep_series = false;
    Ok(Simulator::new(&s, &o)?.finish().kpis)
}

//! Behaviour of the site simulator: hand-worked cases, invariants, determinism.
#![allow(clippy::unwrap_used)]

use approx::assert_relative_eq;
use proptest::prelude::*;
use wattage_site::{RunOptions, parse_scenario, simulate};
use wattage_units::Time;

fn run(text: &str) -> wattage_site::SimResult {
    let sc = parse_scenario(text).unwrap_or_else(|e| panic!("{e}"));
    simulate(&sc, &RunOptions::from_scenario(&sc)).unwrap_or_else(|e| panic!("{e}"))
}

/// 50 MW constant load, one 60 MW turbine, one battery, no grid, PUE 1: the turbine makes
/// every MWh, fuel and CO2 follow from the heat rate, the battery ends where it started.
#[test]
fn constant_load_one_turbine_one_battery() {
    let r = run(r#"
[simulation]
duration_h = 24
step_s = 10
[[inference]]
power_mw = 50
[facility]
pue = 1.0
wue_l_per_kwh = 2.0
recycled_water_share = 0.25
[[turbines]]
count = 1
unit_mw = 60
ramp_mw_per_min = 60
heat_rate_mmbtu_per_mwh = 10
fuel_usd_per_mmbtu = 3
co2_t_per_mwh = 0.5
[[batteries]]
power_mw = 10
energy_mwh = 20
round_trip_efficiency = 0.9
"#);
    let k = &r.kpis;
    assert_relative_eq!(k.energy_mwh_by_source.turbines, 1200.0, max_relative = 1e-9);
    assert_relative_eq!(
        k.cost_usd_by_component.fuel,
        1200.0 * 10.0 * 3.0,
        max_relative = 1e-9
    );
    assert_relative_eq!(k.co2e_t, 600.0, max_relative = 1e-9);
    assert_relative_eq!(k.co2e_t_by_source.turbines, 600.0, max_relative = 1e-9);
    assert_eq!(k.co2e_t_by_source.grid, 0.0);
    assert_relative_eq!(k.water_m3, 1200.0 * 2.0, max_relative = 1e-9); // MWh x L/kWh = m3
    assert_relative_eq!(k.water_fresh_m3, 1800.0, max_relative = 1e-9);
    assert_eq!(k.unserved_mwh, 0.0);
    assert_eq!(k.ramp_violations, 0);
    assert!(k.energy_mwh_by_source.battery_discharge < 1e-9);
    assert!(k.max_balance_error_mw < 1e-9);
    assert_relative_eq!(k.load_factor, 1.0, max_relative = 1e-12);
}

/// Battery arbitrage between 20 and 100 $/MWh, worked by hand: 10 MW / 40 MWh, 90% each way,
/// empty at midnight, peak 16:00-21:00, 10 MW constant load.
/// Off-peak charge 40/0.9 = 44.44 MWh; peak discharge 36 MWh (3.6 h); 21-24 h recharge 30 MWh.
/// Grid: 240 + 44.44 + 30 - 36 = 278.44 MWh; cost 264.44 x 20 + 14 x 100 = 6688.9 $.
#[test]
fn battery_arbitrage_between_two_prices() {
    let r = run(r#"
[simulation]
duration_h = 24
step_s = 60
[[inference]]
power_mw = 10
[facility]
pue = 1.0
[grid]
import_cap_mw = 100
price_usd_per_mwh = 20
peak_price_usd_per_mwh = 100
peak_start_hour = 16
peak_end_hour = 21
[[batteries]]
power_mw = 10
energy_mwh = 40
round_trip_efficiency = 0.81
soc_min = 0.0
soc_max = 1.0
soc_initial = 0.0
soc_target = 0.0
charge_below_usd_per_mwh = 30
discharge_above_usd_per_mwh = 90
"#);
    let k = &r.kpis;
    assert_relative_eq!(
        k.energy_mwh_by_source.grid,
        240.0 + 40.0 / 0.9 + 30.0 - 36.0,
        max_relative = 1e-6
    );
    assert_relative_eq!(
        k.energy_mwh_by_source.battery_discharge,
        36.0,
        max_relative = 1e-6
    );
    let cost = (160.0 + 40.0 / 0.9 + 60.0) * 20.0 + 14.0 * 100.0;
    assert_relative_eq!(
        k.cost_usd_by_component.grid_energy,
        cost,
        max_relative = 1e-6
    );
    assert!(k.max_balance_error_mw < 1e-9);
    // Losses: charged - discharged - stored at the end.
    let stored_end = r.series.last().unwrap().soc * 40.0;
    let charged = k.energy_mwh_by_use.battery_charge;
    assert_relative_eq!(
        charged - 36.0 - k.energy_mwh_by_use.battery_losses,
        stored_end,
        max_relative = 1e-6
    );
}

/// Miners soak steady turbine headroom and yield to AI, worked by hand. No grid; eight 20 MW
/// turbines at $30/MWh; 40 MW of miners at 20 J/TH and $0.05 per TH/s-day, so they earn
/// 1e6 / 20 x 0.05 / 24 = $104.17/MWh and mine on gas. The AI load is 100 MW for 12 h, then
/// 130 MW. Miners run at 40 MW while 160 MW of turbines cover 140 MW, then at 160 - 130 = 30
/// MW. They never make a turbine break its ramp limit, and the AI load is always served.
#[test]
fn miners_soak_turbine_headroom_and_yield_to_ai() {
    let mut sc = parse_scenario(
        r#"
[simulation]
duration_h = 24
step_s = 1
output_resolution_s = 3600
[[inference]]
shape = "constant"
power_mw = 100
[facility]
pue = 1.0
[[turbines]]
count = 8
unit_mw = 20
min_stable_fraction = 0.3
ramp_mw_per_min = 20
heat_rate_mmbtu_per_mwh = 10
fuel_usd_per_mmbtu = 3
[[batteries]]
power_mw = 50
energy_mwh = 100
round_trip_efficiency = 0.9
soc_initial = 0.5
soc_target = 0.5
[[miners]]
power_mw = 40
efficiency_j_per_th = 20
hashprice_usd_per_th_day = 0.05
other_cost_usd_per_mwh = 5
"#,
    )
    .unwrap();
    let mut load = vec![100.0; 12];
    load.extend([130.0; 12]);
    sc.set_inference_series(0, Time::from_h(1.0), load).unwrap();
    let r = simulate(&sc, &RunOptions::from_scenario(&sc)).unwrap();
    let k = &r.kpis;
    let mean = |from: usize, to: usize| {
        r.series[from..to].iter().map(|x| x.miners_mw).sum::<f64>() / (to - from) as f64
    };
    // Hours 1-12: 40 MW; hours 13-24 (after the eighth unit has started): 30 MW.
    assert_relative_eq!(mean(1, 12), 40.0, max_relative = 1e-3);
    assert_relative_eq!(mean(13, 24), 30.0, max_relative = 1e-3);
    assert_eq!(k.unserved_mwh, 0.0);
    assert_eq!(k.interruptions, 0);
    assert_eq!(k.ramp_violations, 0);
    assert_eq!(k.min_stable_violations, 0);
    assert!(k.max_balance_error_mw < 1e-9);
    // 40 x 12 + 30 x 12 = 840 MWh, less the 10-minute start of the units the miners wait
    // for: 40 MW x 10 min at the start, 20 MW x 10 min when the eighth unit starts at 12 h.
    assert_relative_eq!(
        k.miner_energy_mwh,
        840.0 - 40.0 / 6.0 - 20.0 / 6.0,
        max_relative = 0.005
    );
    assert_relative_eq!(
        k.miner_revenue_usd,
        k.miner_energy_mwh * 1e6 / 20.0 * 0.05 / 24.0,
        max_relative = 1e-9
    );
    assert_relative_eq!(
        k.miner_capacity_factor,
        k.miner_energy_mwh / (40.0 * 24.0),
        max_relative = 1e-12
    );
    // Pool fees and wear: $5 per MWh drawn, in the total.
    let c = &k.cost_usd_by_component;
    assert_relative_eq!(
        c.miner_other_costs,
        5.0 * k.miner_energy_mwh,
        max_relative = 1e-9
    );
    assert_relative_eq!(
        k.cost_usd,
        c.energy_total() + c.interruptions + c.job_failures - k.miner_revenue_usd
            + 5.0 * k.miner_energy_mwh,
        max_relative = 1e-12
    );
    // Off only while the first units start.
    assert_relative_eq!(k.miner_uptime, 1.0 - 10.0 / 1440.0, epsilon = 1e-4);
    // Every MWh the miners use comes from the turbines: fuel at $30/MWh.
    let served = 100.0 * 12.0 + 130.0 * 12.0 + k.miner_energy_mwh;
    let losses = k.energy_mwh_by_use.battery_losses;
    let soc_end = r.series.last().unwrap().soc;
    let stored = (soc_end - 0.5) * 100.0;
    assert_relative_eq!(
        k.energy_mwh_by_source.turbines,
        served + losses + stored,
        max_relative = 1e-6
    );
}

/// A 50 MW AI load (PUE 1) on a 200 MW grid at $40/MWh beside 30 MW of miners at 20 J/TH and
/// $0.05 per TH/s-day (they earn $104.17/MWh). `grid` adds lines to `[grid]`, `rest` whole
/// sections.
fn miners_on_a_grid(hours: f64, grid: &str, rest: &str) -> String {
    format!(
        "[simulation]\nduration_h = {hours}\nstep_s = 1\noutput_resolution_s = 600\n\
         [[inference]]\npower_mw = 50\n[facility]\npue = 1.0\n\
         [grid]\nimport_cap_mw = 200\nprice_usd_per_mwh = 40\n{grid}\
         [[miners]]\npower_mw = 30\nefficiency_j_per_th = 20\nhashprice_usd_per_th_day = 0.05\n\
         {rest}"
    )
}

/// Miners stop on a demand-response call (starting one response time before it, so the AI
/// load never waits for them) and when the grid price is above their break-even
/// ($104.17/MWh); they run flat out otherwise on a grid at $40/MWh.
#[test]
fn miners_curtail_on_demand_response_and_high_prices() {
    let r = run(&miners_on_a_grid(
        24.0,
        "peak_price_usd_per_mwh = 150\npeak_start_hour = 16\npeak_end_hour = 21\n\
         [[grid.demand_response]]\nstart_h = 2\nduration_h = 1\nimport_cap_mw = 50\n",
        "",
    ));
    let k = &r.kpis;
    for (i, row) in r.series.iter().enumerate() {
        let h = i as f64 / 6.0;
        let off = (2.0..3.0).contains(&h) || (16.0..21.0).contains(&h);
        let expect = if off { 0.0 } else { 30.0 };
        // Each switch takes the 5-second response time: a few MW-s in a 600-s row.
        // Rows in which miners switch: the first (they ramp up), the one before the call
        // (they curtail one response time ahead of it), its end, and the price peak's ends.
        let edge = [0.0, 2.0 - 1.0 / 6.0, 3.0, 16.0, 21.0]
            .iter()
            .any(|e| (h - e).abs() < 1e-9);
        let tol = if edge { 0.2 } else { 1e-9 };
        assert!(
            (row.miners_mw - expect).abs() <= tol * 30.0 + 1e-9,
            "row {i} (hour {h:.2}): miners {} MW, expected {expect}",
            row.miners_mw
        );
    }
    assert_eq!(k.unserved_mwh, 0.0);
    assert!(k.max_balance_error_mw < 1e-9);
    // 24 - 1 - 5 = 18 hours at 30 MW, less three 5-second ramps.
    assert_relative_eq!(k.miner_energy_mwh, 18.0 * 30.0, max_relative = 1e-3);
    assert_relative_eq!(k.miner_uptime, 18.0 / 24.0, max_relative = 1e-3);
}

/// With a demand charge, miners do not set a new monthly peak. A 50 MW AI load on a grid at
/// $40/MWh leaves them nothing: the grid's only cheap room is below the AI's own peak. Without
/// the charge they take 30 MW from the grid. With four 20 MW turbines at $30/MWh and a small
/// battery, the turbines carry the AI load and the miners (a fourth unit is started for
/// them), and the grid is never used.
#[test]
fn miners_do_not_set_a_new_demand_charge_peak() {
    let site = |charge: f64, turbines: bool| {
        let gas = if turbines {
            "[[turbines]]\ncount = 4\nunit_mw = 20\nmin_stable_fraction = 0.2\n\
             ramp_mw_per_min = 20\nheat_rate_mmbtu_per_mwh = 10\nfuel_usd_per_mmbtu = 3\n\
             [[batteries]]\npower_mw = 20\nenergy_mwh = 20\nround_trip_efficiency = 0.9\n"
        } else {
            ""
        };
        let grid = format!("demand_charge_usd_per_kw_month = {charge}\ncarbon_kg_per_mwh = 400\n");
        run(&miners_on_a_grid(6.0, &grid, gas)).kpis
    };
    let capped = site(12.0, false);
    assert_eq!(capped.miner_energy_mwh, 0.0);
    assert_relative_eq!(capped.peak_grid_import_mw, 50.0, max_relative = 1e-9);
    // 50 MW x 6 h x 0.4 t/MWh, all from the grid.
    assert_relative_eq!(capped.co2e_t_by_source.grid, 120.0, max_relative = 1e-9);
    assert_eq!(capped.co2e_t_by_source.turbines, 0.0);
    let free = site(0.0, false);
    assert_relative_eq!(free.miner_energy_mwh, 6.0 * 30.0, max_relative = 1e-3);
    let gas = site(12.0, true);
    // 30 MW for 6 h, less 20 MW for the 10 minutes the fourth unit takes to start.
    assert_relative_eq!(
        gas.miner_energy_mwh,
        6.0 * 30.0 - 20.0 / 6.0,
        max_relative = 0.01
    );
    assert!(
        gas.energy_mwh_by_source.grid < 1e-6,
        "{}",
        gas.energy_mwh_by_source.grid
    );
    assert_eq!(gas.ramp_violations, 0);
    assert_eq!(gas.unserved_mwh, 0.0);
}

const COLOSSUS: &str = include_str!("../../../scenarios/colossus.toml");

fn colossus_hours(h: f64, edit: impl Fn(&mut wattage_site::Scenario)) -> wattage_site::Kpis {
    let mut sc = parse_scenario(COLOSSUS).unwrap();
    edit(&mut sc);
    let mut o = RunOptions::from_scenario(&sc);
    o.duration = Time::from_h(h);
    simulate(&sc, &o).unwrap().kpis
}

/// The step is a numerical choice: hourly steps must give the training job the same GPU-hours,
/// energy and lost work per failure as 1-minute steps. A 60-s checkpoint pause inside an hour
/// pauses the job for 60 s, not the hour, and a failure loses the work since the checkpoint
/// before it (half an interval on average, plus the restart), not since the step began.
#[test]
fn hourly_steps_agree_with_minute_steps_on_the_training_job() {
    let run_at = |step: f64| {
        let mut sc = parse_scenario(COLOSSUS).unwrap();
        sc.simulation.step = Time::from_s(step);
        let mut o = RunOptions::from_scenario(&sc);
        o.duration = Time::from_h(90.0 * 24.0);
        o.keep_series = false;
        simulate(&sc, &o).unwrap().kpis
    };
    let (hour, minute) = (run_at(3600.0), run_at(60.0));
    assert_relative_eq!(hour.gpu_hours, minute.gpu_hours, max_relative = 0.02);
    let it = |k: &wattage_site::Kpis| k.energy_mwh_by_use.training_it;
    assert_relative_eq!(it(&hour), it(&minute), max_relative = 0.02);
    let per_failure =
        |k: &wattage_site::Kpis| k.cost_usd_by_component.job_failures / k.job_failures as f64;
    assert!(minute.job_failures > 100);
    assert_relative_eq!(per_failure(&hour), per_failure(&minute), max_relative = 0.1);
}

#[test]
fn same_seed_same_output_and_balance_holds() {
    let a = colossus_hours(6.0, |_| {});
    let b = colossus_hours(6.0, |_| {});
    assert_eq!(a, b);
    assert!(a.max_balance_error_mw < 1e-9, "{}", a.max_balance_error_mw);
    assert!(a.soc_range[0] >= 0.1 - 1e-12 && a.soc_range[1] <= 0.95 + 1e-12);
}

#[test]
fn without_the_battery_training_swings_break_ramp_limits() {
    let with = colossus_hours(2.0, |_| {});
    let without = colossus_hours(2.0, |s| s.batteries.clear());
    assert_eq!(with.ramp_violations, 0);
    assert!(without.ramp_violations > 0 || without.interruptions > 0);
    assert!(without.max_balance_error_mw < 1e-9);
}

#[test]
fn grid_outage_without_storage_interrupts_ai() {
    let k = colossus_hours(3.0, |s| {
        s.batteries.clear();
        if let Some(g) = &mut s.grid {
            g.outages.push(wattage_site::scenario::Window {
                start: Time::from_h(1.0),
                duration: Time::from_h(0.5),
                import_cap: None,
            });
        }
    });
    assert!(k.interruptions >= 1);
    assert!(k.unserved_mwh > 0.0);
    assert!(k.cost_usd_by_component.interruptions > 0.0);
}

#[test]
fn scheduled_outages_give_interruptions_of_their_length() {
    // 100 MW of IT load (PUE 1) on a grid alone: a 30-minute and a 30-second outage leave
    // exactly that load unserved for exactly that long. With interruptions under a minute
    // counted as momentary, the second one is.
    let k = run(r#"
[simulation]
duration_h = 4
step_s = 1
[[inference]]
power_mw = 100
[facility]
pue = 1.0
[grid]
import_cap_mw = 200
[[grid.outages]]
start_h = 1
duration_h = 0.5
[[grid.outages]]
start_h = 2.5
duration_h = 0.008333333333333333
[reliability]
interruption_min_s = 60
"#)
    .kpis;
    assert_eq!(k.interruptions, 2);
    assert_eq!(k.momentary_interruptions, 1);
    assert_relative_eq!(k.interruption_s, 1830.0, epsilon = 1e-9);
    assert_relative_eq!(k.longest_interruption_s, 1800.0, epsilon = 1e-9);
    assert_relative_eq!(k.unserved_mwh, 100.0 * 1830.0 / 3600.0, max_relative = 1e-9);
    assert_relative_eq!(
        k.energy_mwh_by_source.grid,
        100.0 * (4.0 - 1830.0 / 3600.0),
        max_relative = 1e-9
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Random small sites: supply + discharge + unserved = demand + charge + export at every
    /// step, SoC inside its limits, all outputs finite.
    #[test]
    fn balance_and_soc_invariants(
        load in 1.0f64..200.0,
        grid_cap in 0.0f64..150.0,
        units in 0u32..6,
        bat_mw in 0.0f64..100.0,
        rte in 0.5f64..1.0,
        solar in 0.0f64..100.0,
        miners in 0.0f64..50.0,
        gpus in 0u64..50_000,
        step in prop::sample::select(vec![1.0f64, 5.0, 60.0, 900.0]),
        seed in 0u64..1000,
    ) {
        let mut text = format!(r#"
[simulation]
duration_h = 12
step_s = {step}
seed = {seed}
[[inference]]
shape = "diurnal"
power_mw = {load}
[grid]
import_cap_mw = {grid_cap}
export = true
outages_per_year = 500
[[solar]]
nameplate_mw = {solar}
latitude_deg = 35
"#);
        if units > 0 {
            text += &format!("[[turbines]]\ncount = {units}\nunit_mw = 20\nramp_mw_per_min = 3\nheat_rate_mmbtu_per_mwh = 10\nfuel_usd_per_mmbtu = 3\nforced_outage_rate = 0.2\nmttr_h = 2\n");
        }
        if bat_mw > 1.0 {
            text += &format!("[[batteries]]\npower_mw = {bat_mw}\nenergy_mwh = {}\nround_trip_efficiency = {rte}\nsoc_min = 0.1\nsoc_max = 0.9\n", bat_mw * 2.0);
        }
        if miners > 1.0 {
            text += &format!("[[miners]]\npower_mw = {miners}\nefficiency_j_per_th = 20\nhashprice_usd_per_th_day = 0.05\n");
        }
        if gpus > 0 {
            text += &format!("[[training]]\ngpus = {gpus}\ngpu_tdp_w = 700\niteration_s = 7\ncompute_duty = 0.7\nfailures_per_day = 5\ncheckpoint_interval_min = 20\ncheckpoint_duration_s = 30\n");
        }
        let r = run(&text);
        let k = &r.kpis;
        prop_assert!(k.max_balance_error_mw < 1e-8, "balance error {}", k.max_balance_error_mw);
        if bat_mw > 1.0 {
            prop_assert!(k.soc_range[0] >= 0.1 - 1e-9 && k.soc_range[1] <= 0.9 + 1e-9, "{:?}", k.soc_range);
        }
        let j = serde_json::to_string(k).unwrap();
        prop_assert!(!j.contains("null"), "non-finite output: {}", j); // serde_json writes NaN and inf as null
        // Energy bookkeeping over the run.
        let s = &k.energy_mwh_by_source;
        let u = &k.energy_mwh_by_use;
        let supply = s.grid + s.turbines + s.solar + s.battery_discharge + s.unserved;
        let demand = u.inference_it + u.training_it + u.facility_overhead + u.miners + u.battery_charge + u.export;
        prop_assert!((supply - demand).abs() <= 1e-6 * demand.max(1.0), "{supply} vs {demand}");
        let by = &k.co2e_t_by_source;
        prop_assert!((by.grid + by.turbines - k.co2e_t).abs() <= 1e-9 * k.co2e_t.max(1.0));
    }
}

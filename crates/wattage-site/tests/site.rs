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

const COLOSSUS: &str = include_str!("../../../scenarios/colossus.toml");

fn colossus_hours(h: f64, edit: impl Fn(&mut wattage_site::Scenario)) -> wattage_site::Kpis {
    let mut sc = parse_scenario(COLOSSUS).unwrap();
    edit(&mut sc);
    let mut o = RunOptions::from_scenario(&sc);
    o.duration = Time::from_h(h);
    simulate(&sc, &o).unwrap().kpis
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
    }
}

//! Site simulator speed: a year at 1-second steps (31.5 million steps) with about ten assets
//! (two loads, grid, two turbine groups, two batteries, solar, miners). Goal: under 5 s on one
//! core, memory bounded (hourly series only).

use wattage_site::{RunOptions, parse_scenario, simulate};

const SCENARIO: &str = r#"
[simulation]
duration_h = 8760
step_s = 1.0
seed = 1
output_resolution_s = 3600

[[inference]]
shape = "diurnal"
power_mw = 25
[[training]]
gpus = 100000
gpu_tdp_w = 700
host_power_w_per_gpu = 350
iteration_s = 6
compute_duty = 0.75
checkpoint_interval_min = 30
checkpoint_duration_s = 60
failures_per_day = 2
[facility]
pue = 1.2
pue_per_degc = 0.006
wue_l_per_kwh = 1.2
[facility.temperature]
mean_c = 17
[grid]
import_cap_mw = 150
price_usd_per_mwh = 65
demand_charge_usd_per_kw_month = 12
ramp_limit_mw_per_min = 10
outages_per_year = 1
[[turbines]]
count = 10
unit_mw = 16.5
ramp_mw_per_min = 2
heat_rate_mmbtu_per_mwh = 11.5
fuel_usd_per_mmbtu = 3.5
forced_outage_rate = 0.03
[[turbines]]
count = 5
unit_mw = 16.5
ramp_mw_per_min = 2
heat_rate_mmbtu_per_mwh = 12.5
fuel_usd_per_mmbtu = 3.5
forced_outage_rate = 0.03
[[batteries]]
power_mw = 200
energy_mwh = 400
round_trip_efficiency = 0.92
[[batteries]]
power_mw = 200
energy_mwh = 400
round_trip_efficiency = 0.92
[[solar]]
nameplate_mw = 50
latitude_deg = 35
[[miners]]
power_mw = 30
efficiency_j_per_th = 17.5
hashprice_usd_per_th_day = 0.05
"#;

fn main() {
    divan::main();
}

/// One simulated year at 1-second steps.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn year_at_1s(bencher: divan::Bencher) {
    let sc = parse_scenario(SCENARIO).expect("scenario");
    let o = RunOptions::from_scenario(&sc);
    bencher.bench(|| simulate(divan::black_box(&sc), &o).expect("run").kpis.steps);
}

/// One simulated day at 1-second steps (quick check).
#[divan::bench]
fn day_at_1s(bencher: divan::Bencher) {
    let sc = parse_scenario(SCENARIO).expect("scenario");
    let mut o = RunOptions::from_scenario(&sc);
    o.duration = wattage_units::Time::from_h(24.0);
    bencher.bench(|| simulate(divan::black_box(&sc), &o).expect("run").kpis.steps);
}

/// The same year with a two-hour demand-response call every afternoon (365 windows): the
/// engine scans only windows that have not ended, so the calls cost almost nothing per step.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn year_at_1s_with_daily_demand_response(bencher: divan::Bencher) {
    let mut text = SCENARIO.to_string();
    for day in 0..365 {
        text.push_str(&format!(
            "[[grid.demand_response]]\nstart_h = {}\nduration_h = 2\nimport_cap_mw = 50\n",
            day * 24 + 16
        ));
    }
    let sc = parse_scenario(&text).expect("scenario");
    let o = RunOptions::from_scenario(&sc);
    bencher.bench(|| simulate(divan::black_box(&sc), &o).expect("run").kpis.steps);
}

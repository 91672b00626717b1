//! Optima worked out by hand (the working is in each test's comment), checked with every solver
//! the build has.

use approx::assert_abs_diff_eq;
use wattage_optimize::{
    BatterySpec, Commitment, CostBreakdown, EnergyCapacity, GridSpec, MinerSpec, OptimizeError,
    OptimizeOptions, PowerCapacity, SiteProblem, SocEnd, Solution, TurbineSpec, available_solvers,
    optimize, optimize_with,
};
use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time};

fn mw(v: f64) -> Power {
    Power::from_mw(v)
}

fn hourly(load_mw: &[f64]) -> SiteProblem {
    SiteProblem::new(Time::from_h(1.0), load_mw.iter().map(|&v| mw(v)).collect())
}

fn grid(cap_mw: f64, prices: &[f64]) -> GridSpec {
    GridSpec {
        connection: PowerCapacity::fixed(mw(cap_mw)),
        price: prices
            .iter()
            .map(|&p| EnergyPrice::from_usd_per_mwh(p))
            .collect(),
        demand_charge_usd_per_kw_month: 0.0,
        export_cap: Power::ZERO,
        export_price_fraction: 1.0,
        carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(0.0)],
    }
}

/// A turbine fleet whose energy costs `usd_per_mwh` (heat rate 10 MMBtu/MWh).
fn turbine(name: &str, cap_mw: f64, usd_per_mwh: f64) -> TurbineSpec {
    TurbineSpec {
        name: name.into(),
        capacity: PowerCapacity::fixed(mw(cap_mw)),
        min_stable_fraction: 0.0,
        ramp_fraction_per_min: None,
        heat_rate_mmbtu_per_mwh: 10.0,
        fuel_price_usd_per_mmbtu: usd_per_mwh / 10.0,
        vom_usd_per_mwh: 0.0,
        startup_cost_usd_per_mw: 0.0,
        carbon_intensity: CarbonIntensity::from_g_per_kwh(400.0),
        commitment: Commitment::Linear,
    }
}

fn battery(p_mw: f64, e_mwh: f64, eta: f64) -> BatterySpec {
    BatterySpec {
        name: "bess".into(),
        power: PowerCapacity::fixed(mw(p_mw)),
        energy: EnergyCapacity::fixed(Energy::from_mwh(e_mwh)),
        charge_efficiency: eta,
        discharge_efficiency: eta,
        soc_min_fraction: 0.0,
        soc_max_fraction: 1.0,
        soc_end: SocEnd::Cyclic,
        wear_cost_usd_per_mwh: 0.0,
    }
}

/// Solves with every solver this build has (Clarabel; HiGHS too with the feature `highs`) and
/// checks each optimum.
fn each_solver(p: &SiteProblem, check: impl Fn(&Solution)) {
    for &solver in available_solvers() {
        let s = optimize_with(p, &OptimizeOptions::default(), solver)
            .unwrap_or_else(|e| panic!("{solver}: {e}"));
        eprintln!("solver: {solver}");
        check(&s);
    }
}

fn prices(s: &wattage_optimize::Solution) -> Vec<f64> {
    s.marginal_price.iter().map(|p| p.usd_per_mwh()).collect()
}

fn assert_breakdown_matches(s: &wattage_optimize::Solution) {
    let c: CostBreakdown = s.costs;
    assert_abs_diff_eq!(
        c.total().usd(),
        s.objective.usd(),
        epsilon = 1e-6 * (1.0 + s.objective.usd().abs())
    );
}

/// Load 50 then 100 MW; fleet A (60 MW at $20/MWh) runs first, fleet B ($50/MWh) covers the
/// rest: 50 x 20 + (60 x 20 + 40 x 50) = 4200. The price is the marginal fleet's cost.
#[test]
fn merit_order_of_two_generators() {
    let mut p = hourly(&[50.0, 100.0]);
    p.turbines = vec![turbine("a", 60.0, 20.0), turbine("b", 80.0, 50.0)];
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 4200.0, epsilon = 1e-6);
        let a = &s.dispatch.turbines[0].output;
        let b = &s.dispatch.turbines[1].output;
        assert_abs_diff_eq!(a[0].mw(), 50.0, epsilon = 1e-6);
        assert_abs_diff_eq!(b[0].mw(), 0.0, epsilon = 1e-6);
        assert_abs_diff_eq!(a[1].mw(), 60.0, epsilon = 1e-6);
        assert_abs_diff_eq!(b[1].mw(), 40.0, epsilon = 1e-6);
        let pr = prices(s);
        assert_abs_diff_eq!(pr[0], 20.0, epsilon = 1e-6);
        assert_abs_diff_eq!(pr[1], 50.0, epsilon = 1e-6);
        assert_breakdown_matches(s);
        // 150 MWh at 400 kg/MWh = 60 t.
        assert_abs_diff_eq!(s.emissions.t(), 60.0, epsilon = 1e-6);
    });
}

/// Grid at $20 then $100, load 10 MW, a 10 MW / 10 MWh battery with 90% each way, cyclic.
/// Charging 10 MWh at $20 stores 9 MWh and delivers 8.1 MWh at $100 (each MWh charged earns
/// 0.81 x 100 - 20 = 61 > 0, so charge at the full 10 MW):
/// (10 + 10) x 20 + (10 - 8.1) x 100 = 590.
/// The 9 MWh moved are unique, the level they sit on is not: any stored energy from 9 to 10 MWh
/// at the end of step 0 (0 to 1 MWh left over, cyclic) is optimal. HiGHS returns the vertex
/// 9 MWh, Clarabel (interior point) the middle of the range.
#[test]
fn battery_arbitrage_with_losses() {
    let mut p = hourly(&[10.0, 10.0]);
    p.grid = Some(grid(100.0, &[20.0, 100.0]));
    p.batteries = vec![battery(10.0, 10.0, 0.9)];
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 590.0, epsilon = 1e-6);
        let b = &s.dispatch.batteries[0];
        assert_abs_diff_eq!(b.charge[0].mw(), 10.0, epsilon = 1e-6);
        assert_abs_diff_eq!(b.discharge[1].mw(), 8.1, epsilon = 1e-6);
        assert_abs_diff_eq!(b.soc[0].mwh() - b.soc[1].mwh(), 9.0, epsilon = 1e-6);
        assert!((9.0 - 1e-6..=10.0 + 1e-6).contains(&b.soc[0].mwh()));
        assert_abs_diff_eq!(prices(s)[1], 100.0, epsilon = 1e-6);
        assert_breakdown_matches(s);
    });
}

/// A 100 MW fleet at $30/MWh ramps 0.5%/min = 30 MW per hour; load 20 then 80 MW; the grid
/// costs $200. Without export the fleet makes at most 20 MW in step 0, so at most 50 MW in
/// step 1 and the grid supplies 30: 20 x 30 + 50 x 30 + 30 x 200 = 8100. One more MW of load
/// in step 0 lets the fleet ramp one MW higher in step 1, saving 200 - 30 and costing 30, so
/// the price in step 0 is 30 - 170 = -140.
#[test]
fn binding_ramp_limit() {
    let mut p = hourly(&[20.0, 80.0]);
    p.grid = Some(grid(100.0, &[200.0]));
    let mut t = turbine("gt", 100.0, 30.0);
    t.ramp_fraction_per_min = Some(0.005);
    p.turbines = vec![t];
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 8100.0, epsilon = 1e-6);
        let out = &s.dispatch.turbines[0].output;
        assert_abs_diff_eq!(out[0].mw(), 20.0, epsilon = 1e-6);
        assert_abs_diff_eq!(out[1].mw(), 50.0, epsilon = 1e-6);
        let pr = prices(s);
        assert_abs_diff_eq!(pr[0], -140.0, epsilon = 1e-6);
        assert_abs_diff_eq!(pr[1], 200.0, epsilon = 1e-6);
    });
}

/// Prices $10, $50, $100 with load 0, 40, 40 MW; a lossless battery with ample power whose
/// energy rating is chosen. Each MWh of storage shifts one MWh from the $10 step: the first
/// 40 MWh replace $100 energy (worth 90 each), the next 40 replace $50 energy (worth 40 each),
/// more is worth nothing. With a capital cost per MWh over the three hours of c:
/// c = 60 -> 40 MWh, cost 40 x 10 + 40 x 50 + 40 x 60 = 4800;
/// c = 30 -> 80 MWh, cost 80 x 10 + 80 x 30 = 3200;
/// c = 100 -> none, cost 40 x 50 + 40 x 100 = 6000.
#[test]
fn extendable_battery_sized_by_its_cost() {
    for (c_horizon, e_mwh, cost) in [
        (60.0, 40.0, 4800.0),
        (30.0, 80.0, 3200.0),
        (100.0, 0.0, 6000.0),
    ] {
        let mut p = hourly(&[0.0, 40.0, 40.0]);
        p.grid = Some(grid(1000.0, &[10.0, 50.0, 100.0]));
        let mut b = battery(100.0, 0.0, 1.0);
        let annual = c_horizon * 8760.0 / 3.0;
        b.energy = EnergyCapacity::extendable(Energy::ZERO, Energy::from_mwh(1000.0), annual);
        p.batteries = vec![b];
        each_solver(&p, |s| {
            assert_abs_diff_eq!(s.objective.usd(), cost, epsilon = 1e-5);
            assert_abs_diff_eq!(s.capacities.batteries[0].2.mwh(), e_mwh, epsilon = 1e-5);
            assert_abs_diff_eq!(s.costs.capital.usd(), c_horizon * e_mwh, epsilon = 1e-5);
            assert_breakdown_matches(s);
        });
    }
}

/// Miners earning $60/MWh beside a 100 MW fleet at $30/MWh and a 50 MW load take the other
/// 50 MW: cost 100 x 30 - 50 x 60 = 0. One more MW of load displaces a MW of mining, so the
/// price is the miners' $60.
#[test]
fn miners_soak_cheap_power_and_set_the_price() {
    let mut p = hourly(&[50.0]);
    p.turbines = vec![turbine("gt", 100.0, 30.0)];
    p.miners = vec![MinerSpec {
        name: "btc".into(),
        capacity: mw(80.0),
        revenue: EnergyPrice::from_usd_per_mwh(60.0),
    }];
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 0.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.dispatch.miners[0][0].mw(), 50.0, epsilon = 1e-6);
        assert_abs_diff_eq!(prices(s)[0], 60.0, epsilon = 1e-6);
        assert_breakdown_matches(s);
    });
}

/// 90 MW of load, a 100 MW fleet at $30, no grid and 20 MW of reserve: the fleet may make
/// only 80 MW and 10 MW go unserved at $1000/MWh: 80 x 30 + 10 x 1000 = 12,400. (With a grid,
/// its unused import capacity would count as reserve.)
#[test]
fn reserve_holds_turbine_headroom() {
    let mut p = hourly(&[90.0]);
    p.turbines = vec![turbine("gt", 100.0, 30.0)];
    p.reserve = mw(20.0);
    p.value_of_lost_load = EnergyPrice::from_usd_per_mwh(1000.0);
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 12_400.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.dispatch.turbines[0].output[0].mw(), 80.0, epsilon = 1e-6);
    });
}

/// A fleet with a $10/MW start-up cost, off before (cyclic: off after the last step), runs
/// for one of two hours: starting 50 MW costs 500 on top of 50 x 30 of fuel.
#[test]
fn start_up_cost_is_charged_per_mw_started() {
    let mut p = hourly(&[0.0, 50.0]);
    let mut t = turbine("gt", 100.0, 30.0);
    t.startup_cost_usd_per_mw = 10.0;
    t.min_stable_fraction = 0.5;
    p.turbines = vec![t];
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.objective.usd(), 50.0 * 30.0 + 500.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.costs.startup.usd(), 500.0, epsilon = 1e-6);
    });
}

/// With no supply at all, the load goes unserved at the value of lost load. The price is not
/// unique here: all 10 MW are unserved, which both the balance and the unserved bound (at most
/// the load) force, so any dual of at least $1000 is optimal. HiGHS returns the vertex 1000,
/// Clarabel (interior point) a point inside the range (about 1000.9); both are at least 1000.
#[test]
fn unserved_load_costs_its_value() {
    let mut p = hourly(&[10.0]);
    p.value_of_lost_load = EnergyPrice::from_usd_per_mwh(1000.0);
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.unserved.mwh(), 10.0, epsilon = 1e-9);
        assert_abs_diff_eq!(s.objective.usd(), 10_000.0, epsilon = 1e-6);
        assert!(prices(s)[0] >= 1000.0 - 1e-6, "{}", prices(s)[0]);
    });
}

/// A 4 MW fleet at $30 and 10 MW of load: 6 MW go unserved, strictly between none and all, so
/// the price is the value of lost load whatever the solver: 4 x 30 + 6 x 1000 = 6120.
#[test]
fn partly_unserved_load_sets_the_price() {
    let mut p = hourly(&[10.0]);
    p.turbines = vec![turbine("gt", 4.0, 30.0)];
    p.value_of_lost_load = EnergyPrice::from_usd_per_mwh(1000.0);
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.unserved.mwh(), 6.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.objective.usd(), 6120.0, epsilon = 1e-6);
        assert_abs_diff_eq!(prices(s)[0], 1000.0, epsilon = 1e-6);
    });
}

/// A tight carbon cap moves energy from turbines (400 kg/MWh) to the grid (0 here).
#[test]
fn carbon_cap_binds() {
    let mut p = hourly(&[100.0]);
    p.grid = Some(grid(100.0, &[80.0]));
    p.turbines = vec![turbine("gt", 100.0, 30.0)];
    // 40 MWh of turbine energy emit 16 t.
    p.carbon_cap_t = Some(16.0);
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.dispatch.turbines[0].output[0].mw(), 40.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.objective.usd(), 40.0 * 30.0 + 60.0 * 80.0, epsilon = 1e-6);
    });
}

#[test]
fn infeasible_carbon_cap_is_an_error() {
    let mut p = hourly(&[100.0]);
    p.turbines = vec![turbine("gt", 100.0, 30.0)];
    p.carbon_cap_t = Some(0.0);
    p.value_of_lost_load = EnergyPrice::from_usd_per_mwh(1000.0);
    // Unserved load is always possible, so a zero cap is feasible (all unserved) ...
    each_solver(&p, |s| {
        assert_abs_diff_eq!(s.unserved.mwh(), 100.0, epsilon = 1e-6);
    });
}

#[test]
fn bad_input_names_the_field() {
    let mut p = hourly(&[10.0, 10.0]);
    p.batteries = vec![battery(10.0, 10.0, 1.5)];
    let e = optimize(&p, &OptimizeOptions::default()).unwrap_err();
    assert!(matches!(e, OptimizeError::Invalid { .. }));
    assert!(
        e.to_string().contains("batteries[0].charge_efficiency"),
        "{e}"
    );

    let mut p = hourly(&[10.0, f64::NAN]);
    p.grid = Some(grid(100.0, &[1.0, 2.0, 3.0]));
    let e = optimize(&p, &OptimizeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("load_mw[1]"), "{e}");
}

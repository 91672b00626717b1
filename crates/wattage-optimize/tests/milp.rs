//! Integer unit commitment, worked out by hand (the working is in each test's comment). The
//! mixed-integer program needs HiGHS; without it the error says so. Tolerances: HiGHS stops a
//! MIP at a relative gap of 1e-4 by default, so the tests ask for a gap of zero (these MIPs
//! have a handful of integers) and compare to 1e-6, well above HiGHS's 1e-6 integrality and
//! 1e-7 feasibility tolerances times these magnitudes.

use wattage_optimize::{
    Commitment, OptimizeOptions, PowerCapacity, SiteProblem, Solver, TurbineSpec, optimize_with,
};
use wattage_units::{CarbonIntensity, Power, Time};

fn mw(v: f64) -> Power {
    Power::from_mw(v)
}

fn hourly(load_mw: &[f64]) -> SiteProblem {
    SiteProblem::new(Time::from_h(1.0), load_mw.iter().map(|&v| mw(v)).collect())
}

/// `count` units of `unit_mw` whose energy costs `usd_per_mwh`, starting at `start_usd` per
/// unit, with a minimum stable load and a minimum up time.
fn units(
    count: f64,
    unit_mw: f64,
    usd_per_mwh: f64,
    start_usd: f64,
    min_stable: f64,
    min_up_h: f64,
) -> TurbineSpec {
    TurbineSpec {
        name: format!("{unit_mw} MW"),
        capacity: PowerCapacity::fixed(mw(count * unit_mw)),
        min_stable_fraction: min_stable,
        ramp_fraction_per_min: None,
        heat_rate_mmbtu_per_mwh: 10.0,
        fuel_price_usd_per_mmbtu: usd_per_mwh / 10.0,
        vom_usd_per_mwh: 0.0,
        startup_cost_usd_per_mw: start_usd / unit_mw,
        carbon_intensity: CarbonIntensity::from_g_per_kwh(400.0),
        commitment: Commitment::Integer {
            unit: mw(unit_mw),
            min_up: Time::from_h(min_up_h),
            min_down: Time::ZERO,
            shutdown_cost_usd_per_mw: 0.0,
        },
    }
}

#[cfg(feature = "highs")]
fn linear(mut t: TurbineSpec) -> TurbineSpec {
    t.commitment = Commitment::Linear;
    t
}

fn exact() -> OptimizeOptions {
    OptimizeOptions {
        mip_gap: 0.0,
        ..OptimizeOptions::default()
    }
}

#[cfg(feature = "highs")]
mod with_highs {
    use super::*;
    use approx::assert_abs_diff_eq;
    use wattage_optimize::{BatterySpec, EnergyCapacity, GridSpec, OptimizeError, SocEnd};
    use wattage_units::{Energy, EnergyPrice};

    fn solve(p: &SiteProblem) -> wattage_optimize::Solution {
        optimize_with(p, &exact(), Solver::Highs).expect("optimum")
    }

    /// 100 MW of load for 8 cyclic hours; a 100 MW grid at $80/MWh in hours 0, 1 and 3 and
    /// $20 otherwise; one 100 MW unit at $50/MWh with a minimum stable load of 50 MW.
    ///
    /// Without a minimum up time the unit runs in the three dear hours and stops for the dip
    /// at hour 2: 3 x 100 x 50 + 5 x 100 x 20 = 25,000. With a minimum up time of 3 h, runs of
    /// two hours and one hour are not allowed; the cheapest schedule keeps it on from hour 0
    /// through hour 3 at its minimum (50 MW, the grid the other 50) in the dip:
    /// 3 x 100 x 50 + (50 x 50 + 50 x 20) + 4 x 100 x 20 = 26,500. (Runs 7-0-1 and 3-4-5
    /// cost 29,500; staying off, 34,000.)
    #[test]
    fn a_minimum_up_time_keeps_a_unit_on_through_a_short_dip() {
        let prices = [80.0, 80.0, 20.0, 80.0, 20.0, 20.0, 20.0, 20.0];
        let mut p = hourly(&[100.0; 8]);
        p.grid = Some(GridSpec {
            connection: PowerCapacity::fixed(mw(100.0)),
            price: prices
                .iter()
                .map(|&v| EnergyPrice::from_usd_per_mwh(v))
                .collect(),
            export_cap: Power::ZERO,
            export_price_fraction: 1.0,
            demand_charge_usd_per_kw_month: 0.0,
            carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(0.0)],
        });
        p.turbines = vec![units(1.0, 100.0, 50.0, 0.0, 0.5, 0.0)];
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 25_000.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.dispatch.turbines[0].output[2].mw(), 0.0, epsilon = 1e-6);

        p.turbines = vec![units(1.0, 100.0, 50.0, 0.0, 0.5, 3.0)];
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 26_500.0, epsilon = 1e-6);
        let out: Vec<f64> = s.dispatch.turbines[0]
            .output
            .iter()
            .map(|v| v.mw())
            .collect();
        let want = [100.0, 100.0, 50.0, 100.0, 0.0, 0.0, 0.0, 0.0];
        for (t, (o, w)) in out.iter().zip(want).enumerate() {
            assert_abs_diff_eq!(*o, w, epsilon = 1e-6);
            let on = s.dispatch.turbines[0].committed[t].mw();
            assert_abs_diff_eq!(on, if w > 0.0 { 100.0 } else { 0.0 }, epsilon = 1e-6);
        }
        assert_eq!(s.stats.mip_gap, Some(0.0));
    }

    /// 80 MW of load for two hours of four (cyclic), no grid. One 100 MW unit at $40/MWh and
    /// $1,000 a start, or two 50 MW units at $30/MWh and $1,400 a start; minimum stable load
    /// 20% (nothing can idle through the empty hours). The large unit: 1,000 + 160 x 40 =
    /// 7,400. The small ones need both units: 2 x 1,400 + 160 x 30 = 7,600. Both kinds: 7,800.
    /// The linear relaxation starts 80 MW of small capacity at $28/MW: 80 x 28 + 160 x 30 =
    /// 7,040, and picks the small units; whole units reverse the choice.
    #[test]
    fn a_start_cost_makes_one_large_unit_cheaper_than_two_small_ones() {
        let mut p = hourly(&[0.0, 80.0, 80.0, 0.0]);
        p.turbines = vec![
            units(1.0, 100.0, 40.0, 1_000.0, 0.2, 0.0),
            units(2.0, 50.0, 30.0, 1_400.0, 0.2, 0.0),
        ];
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 7_400.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.costs.startup.usd(), 1_000.0, epsilon = 1e-6);
        for t in 1..3 {
            assert_abs_diff_eq!(s.dispatch.turbines[0].output[t].mw(), 80.0, epsilon = 1e-6);
            assert_abs_diff_eq!(s.dispatch.turbines[1].output[t].mw(), 0.0, epsilon = 1e-6);
        }

        p.turbines = p.turbines.into_iter().map(linear).collect();
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 7_040.0, epsilon = 1e-6);
        assert_eq!(s.stats.mip_gap, None);
    }

    /// One 100 MW unit at $20/MWh with a minimum stable load of 60 MW, no grid, a 50 MW /
    /// 100 MWh battery of 90% each way; load 100, 100, 30 MW (cyclic). The unit cannot stop
    /// in hour 2 (the battery could not be refilled: the unit is at its rating in the other
    /// hours), so it runs at 60 MW and the battery absorbs 30 MW; the 24.3 MWh it gives back
    /// (30 x 0.81) spare the unit in hour 0: 20 x (75.7 + 100 + 60) = 4,714. Linearized, 50 MW
    /// committed at 60% runs at 30 MW and the battery is not needed: 20 x 230 = 4,600.
    #[test]
    fn a_minimum_stable_load_forces_the_battery_to_absorb() {
        let mut p = hourly(&[100.0, 100.0, 30.0]);
        p.turbines = vec![units(1.0, 100.0, 20.0, 0.0, 0.6, 0.0)];
        p.batteries = vec![BatterySpec {
            name: "bess".into(),
            power: PowerCapacity::fixed(mw(50.0)),
            energy: EnergyCapacity::fixed(Energy::from_mwh(100.0)),
            charge_efficiency: 0.9,
            discharge_efficiency: 0.9,
            soc_min_fraction: 0.0,
            soc_max_fraction: 1.0,
            soc_end: SocEnd::Cyclic,
            wear_cost_usd_per_mwh: 0.0,
        }];
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 4_714.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.dispatch.turbines[0].output[2].mw(), 60.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.dispatch.batteries[0].charge[2].mw(), 30.0, epsilon = 1e-6);
        assert_abs_diff_eq!(s.unserved.mwh(), 0.0, epsilon = 1e-6);

        p.turbines = p.turbines.into_iter().map(linear).collect();
        let s = solve(&p);
        assert_abs_diff_eq!(s.objective.usd(), 4_600.0, epsilon = 1e-6);
    }

    /// Integer commitment is for HiGHS: asking Clarabel is an error naming the fleet.
    #[test]
    fn clarabel_refuses_integer_commitment() {
        let mut p = hourly(&[50.0]);
        p.turbines = vec![units(1.0, 100.0, 20.0, 0.0, 0.0, 0.0)];
        let e = optimize_with(&p, &exact(), Solver::Clarabel).expect_err("needs a MIP solver");
        assert!(matches!(e, OptimizeError::NeedsMip { .. }), "{e}");
        assert!(e.to_string().contains("turbines[0].commitment"), "{e}");
        assert!(e.to_string().contains("use the solver `highs`"), "{e}");
    }
}

/// A build without HiGHS says why it cannot solve integer commitment, and how to get it.
#[cfg(not(feature = "highs"))]
#[test]
fn without_highs_integer_commitment_is_a_clear_error() {
    let mut p = hourly(&[50.0]);
    p.turbines = vec![units(1.0, 100.0, 20.0, 0.0, 0.0, 0.0)];
    for solver in [Solver::Clarabel, Solver::Highs] {
        let e = optimize_with(&p, &exact(), solver).expect_err("no MIP solver");
        assert_eq!(
            e.to_string(),
            "`turbines[0].commitment` is `integer`: integer unit commitment needs HiGHS's MIP \
             solver, and this build has no HiGHS; rebuild with `--features highs` (needs cmake \
             and libclang-dev), or set the fleet's commitment to `linear`"
        );
    }
}

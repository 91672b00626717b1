//! Warm starts across a sweep ([`Sweep`]): HiGHS starting from the previous optimum gives the
//! same optima as cold solves, in fewer iterations; Clarabel and a change of shape start cold.

use wattage_optimize::{
    BatterySpec, EnergyCapacity, GridSpec, OptimizeOptions, PowerCapacity, SiteProblem, SocEnd,
    Solver, Sweep, TurbineSpec, optimize_with,
};
use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time};

/// Four weeks of hourly steps: a load with a daily swing, a time-of-use price, a capped grid,
/// a gas fleet and a battery whose energy rating may grow; the fuel price and the battery's
/// power rating are the sweep's parameters.
fn site(fuel_usd_per_mmbtu: f64, battery_mw: f64) -> SiteProblem {
    let n = 28 * 24;
    let load = (0..n)
        .map(|t| {
            let h = (t % 24) as f64;
            Power::from_mw(100.0 + 20.0 * (std::f64::consts::PI * (h - 9.0) / 12.0).sin())
        })
        .collect();
    let price = (0..n)
        .map(|t| {
            let h = t % 24;
            let day = (t / 24) as f64;
            EnergyPrice::from_usd_per_mwh(if (14..20).contains(&h) { 110.0 } else { 35.0 } + day)
        })
        .collect();
    let mut p = SiteProblem::new(Time::from_h(1.0), load);
    p.grid = Some(GridSpec {
        connection: PowerCapacity::fixed(Power::from_mw(100.0)),
        price,
        export_cap: Power::ZERO,
        export_price_fraction: 1.0,
        demand_charge_usd_per_kw_month: 0.0,
        carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(350.0)],
    });
    p.turbines.push(TurbineSpec {
        name: "gas".into(),
        capacity: PowerCapacity::fixed(Power::from_mw(60.0)),
        min_stable_fraction: 0.0,
        ramp_fraction_per_min: Some(0.01),
        heat_rate_mmbtu_per_mwh: 9.0,
        fuel_price_usd_per_mmbtu: fuel_usd_per_mmbtu,
        vom_usd_per_mwh: 3.0,
        startup_cost_usd_per_mw: 0.0,
        carbon_intensity: CarbonIntensity::from_g_per_kwh(400.0),
        commitment: Default::default(),
    });
    p.batteries.push(BatterySpec {
        name: "bess".into(),
        power: PowerCapacity::fixed(Power::from_mw(battery_mw)),
        energy: EnergyCapacity::extendable(
            Energy::from_mwh(100.0),
            Energy::from_mwh(800.0),
            15_000.0,
        ),
        charge_efficiency: 0.92,
        discharge_efficiency: 0.92,
        soc_min_fraction: 0.1,
        soc_max_fraction: 0.95,
        soc_end: SocEnd::Cyclic,
        wear_cost_usd_per_mwh: 2.0,
    });
    p.carbon_price_usd_per_t = 30.0;
    p
}

/// The sweep: fuel prices crossing the grid's off-peak and peak prices, at three battery
/// power ratings.
fn sweep() -> Vec<SiteProblem> {
    let mut v = Vec::new();
    for mw in [40.0, 50.0, 60.0] {
        for fuel in [3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0] {
            v.push(site(fuel, mw));
        }
    }
    v
}

#[cfg(feature = "highs")]
#[test]
fn a_warm_started_highs_sweep_gives_the_cold_optima_in_fewer_iterations() {
    let o = OptimizeOptions::default();
    let mut warm = Sweep::new(Solver::Highs, o);
    let (mut cold_iters, mut warm_iters) = (0, 0);
    for (i, p) in sweep().iter().enumerate() {
        let c = optimize_with(p, &o, Solver::Highs).expect("cold optimum");
        let w = warm.optimize(p).expect("warm optimum");
        assert!(!c.stats.warm_start);
        assert_eq!(w.stats.warm_start, i > 0, "problem {i}");
        let scale = c.objective.usd().abs().max(1.0);
        assert!(
            (w.objective.usd() - c.objective.usd()).abs() <= 1e-9 * scale,
            "problem {i}: warm {} vs cold {}",
            w.objective.usd(),
            c.objective.usd()
        );
        // The design is unique here (the energy rating is worth building or not).
        let (cw, cc) = (&w.capacities.batteries[0].2, &c.capacities.batteries[0].2);
        assert!(
            (cw.mwh() - cc.mwh()).abs() <= 1e-6,
            "problem {i}: {cw:?} vs {cc:?}"
        );
        eprintln!(
            "problem {i}: cold {} iterations, warm {} iterations, objective {:.2} USD",
            c.stats.iterations,
            w.stats.iterations,
            c.objective.usd()
        );
        if i > 0 {
            cold_iters += c.stats.iterations;
            warm_iters += w.stats.iterations;
        }
    }
    eprintln!("after the first: cold {cold_iters} iterations, warm {warm_iters}");
    assert!(
        2 * warm_iters < cold_iters,
        "warm {warm_iters} iterations against cold {cold_iters}"
    );
}

#[test]
fn clarabel_has_no_warm_start_and_a_sweep_is_a_loop_of_cold_solves() {
    let o = OptimizeOptions::default();
    let mut sweep_solver = Sweep::new(Solver::Clarabel, o);
    for p in sweep().iter().take(3) {
        let c = optimize_with(p, &o, Solver::Clarabel).expect("cold optimum");
        let s = sweep_solver.optimize(p).expect("optimum");
        assert!(!s.stats.warm_start);
        assert_eq!(s.stats.iterations, c.stats.iterations);
        assert_eq!(s.objective, c.objective);
    }
}

#[cfg(feature = "highs")]
#[test]
fn a_problem_of_another_shape_starts_cold() {
    let o = OptimizeOptions::default();
    let mut sw = Sweep::new(Solver::Highs, o);
    let a = site(5.0, 50.0);
    let mut b = site(5.0, 50.0);
    // An extendable power rating adds a column and rows: another shape.
    b.batteries[0].power =
        PowerCapacity::extendable(Power::from_mw(50.0), Power::from_mw(100.0), 20_000.0);
    assert!(!sw.optimize(&a).expect("optimum").stats.warm_start);
    let s = sw.optimize(&b).expect("optimum");
    assert!(!s.stats.warm_start);
    let c = optimize_with(&b, &o, Solver::Highs).expect("optimum");
    assert_eq!(s.objective, c.objective);
    // The same shape again: warm.
    assert!(sw.optimize(&b).expect("optimum").stats.warm_start);
}

//! Representative periods (`OptimizeOptions::typical_days`): the clustering's bookkeeping, and
//! exact answers where the typical days must reproduce the whole horizon.

use wattage_optimize::periods::TypicalDays;
use wattage_optimize::{
    BatterySpec, EnergyCapacity, GridSpec, MinerSpec, OptimizeError, OptimizeOptions,
    PowerCapacity, SiteProblem, SocEnd, SolarSpec, Solver, TurbineSpec, available_solvers,
    optimize_with,
};
use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time};

/// A deterministic pseudo-random number in [0, 1) (a fixed hash, no state).
fn noise(i: usize) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// `days` days of `steps_per_day` steps: a load with a daily and a seasonal swing, prices that
/// follow it, and a solar capacity factor, all with day-to-day noise; `same_days` repeats the
/// first day. A grid with a demand charge, a turbine fleet, solar and miners, each rating but
/// the miners' extendable.
fn site(days: usize, steps_per_day: usize, same_days: bool) -> SiteProblem {
    let dt = 24.0 / steps_per_day as f64;
    let n = days * steps_per_day;
    let (mut load, mut price, mut cf) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..n {
        let (d, s) = if same_days {
            (0, t % steps_per_day)
        } else {
            (t / steps_per_day, t % steps_per_day)
        };
        let hour = (s as f64 + 0.5) * dt;
        let season = (2.0 * std::f64::consts::PI * d as f64 / 365.0).cos();
        let daily = (2.0 * std::f64::consts::PI * (hour - 15.0) / 24.0).cos();
        let l = 100.0 + 10.0 * season + 15.0 * daily + 10.0 * noise(3 * d + 1);
        load.push(Power::from_mw(l));
        price.push(EnergyPrice::from_usd_per_mwh(
            30.0 + 0.4 * (l - 100.0) + 20.0 * noise(d * steps_per_day + s + 7),
        ));
        let sun = (std::f64::consts::PI * (hour - 6.0) / 12.0).sin().max(0.0);
        cf.push(sun * (0.5 + 0.5 * noise(5 * d + 2)));
    }
    let mut p = SiteProblem::new(Time::from_h(dt), load);
    p.grid = Some(GridSpec {
        connection: PowerCapacity::extendable(
            Power::from_mw(60.0),
            Power::from_mw(200.0),
            30_000.0,
        ),
        price,
        export_cap: Power::from_mw(20.0),
        export_price_fraction: 0.5,
        demand_charge_usd_per_kw_month: 8.0,
        carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(400.0)],
    });
    p.turbines.push(TurbineSpec {
        name: "gt".into(),
        capacity: PowerCapacity::extendable(Power::ZERO, Power::from_mw(200.0), 130_000.0),
        min_stable_fraction: 0.0,
        ramp_fraction_per_min: None,
        heat_rate_mmbtu_per_mwh: 10.0,
        fuel_price_usd_per_mmbtu: 3.5,
        vom_usd_per_mwh: 4.0,
        startup_cost_usd_per_mw: 0.0,
        carbon_intensity: CarbonIntensity::from_g_per_kwh(450.0),
        commitment: Default::default(),
    });
    p.solar.push(SolarSpec {
        name: "pv".into(),
        capacity: PowerCapacity::extendable(Power::ZERO, Power::from_mw(300.0), 60_000.0),
        capacity_factor: cf,
    });
    p.miners.push(MinerSpec {
        name: "btc".into(),
        capacity: Power::from_mw(10.0),
        revenue: EnergyPrice::from_usd_per_mwh(45.0),
    });
    p.carbon_price_usd_per_t = 20.0;
    p
}

/// Ratings of a solution: grid, turbines, batteries (power, energy), solar.
fn ratings(s: &wattage_optimize::Solution) -> Vec<f64> {
    let c = &s.capacities;
    let mut v: Vec<f64> = c.grid.iter().map(|g| g.mw()).collect();
    v.extend(c.turbines.iter().map(|t| t.1.mw()));
    for b in &c.batteries {
        v.extend([b.1.mw(), b.2.mwh()]);
    }
    v.extend(c.solar.iter().map(|s| s.1.mw()));
    v
}

fn with_days(k: u32) -> OptimizeOptions {
    OptimizeOptions {
        typical_days: Some(k),
        ..OptimizeOptions::default()
    }
}

/// Relative agreement the solvers guarantee: Clarabel stops at a relative duality gap of
/// 1e-10 (HiGHS's simplex is exact to its 1e-7 feasibility tolerance on values of order 100);
/// two solves each within it, plus summation, agree to well inside 1e-7.
const REL: f64 = 1e-7;

fn assert_rel(a: f64, b: f64, scale: f64, what: &str) {
    assert!(
        (a - b).abs() <= REL * scale.max(1.0),
        "{what}: {a} vs {b} (scale {scale})"
    );
}

#[test]
fn a_year_of_twelve_typical_days_weighs_365_and_each_day_goes_to_its_nearest() {
    let p = site(365, 24, false);
    let td = TypicalDays::choose(&p, 12).unwrap();
    assert_eq!(td.len(), 12);
    assert_eq!(td.steps_per_day, 24);
    assert_eq!(td.weight.iter().sum::<f64>(), 365.0);
    assert_eq!(td.assignment.len(), 365);
    assert!(td.days.windows(2).all(|w| w[0] < w[1]), "chronological");
    for (i, &d) in td.days.iter().enumerate() {
        assert_eq!(td.assignment[d], i, "a typical day stands for itself");
        let count = td.assignment.iter().filter(|&&a| a == i).count();
        assert_eq!(td.weight[i], count as f64);
    }
    // The highest load of the year is seen by a typical day.
    let peak = |d: usize| (0..24).map(|s| p.load[d * 24 + s].mw()).fold(0.0, f64::max);
    let year_peak = (0..365).map(peak).fold(0.0, f64::max);
    assert!(td.days.iter().any(|&d| peak(d) == year_peak));
    // Deterministic.
    assert_eq!(TypicalDays::choose(&p, 12).unwrap(), td);
    // The reduced problem: the typical days' series, one after the other.
    let r = td.reduce(&p);
    assert_eq!(r.steps(), 12 * 24);
    for (i, &d) in td.days.iter().enumerate() {
        for s in 0..24 {
            assert_eq!(r.load[i * 24 + s], p.load[d * 24 + s]);
            assert_eq!(td.reduced_step(d * 24 + s), i * 24 + s);
        }
    }
}

/// With every day its own typical day, and nothing linking one step to the next (no storage,
/// no commitment, no ramp), the LP is the whole horizon's: same optimum, ratings and costs,
/// demand charges over two billing months included.
#[test]
fn every_day_typical_reproduces_the_horizon_exactly() {
    let p = site(40, 6, false);
    for &solver in available_solvers() {
        let full = optimize_with(&p, &OptimizeOptions::default(), solver).unwrap();
        let typ = optimize_with(&p, &with_days(40), solver).unwrap();
        let scale = full.objective.usd().abs();
        assert_rel(
            typ.objective.usd(),
            full.objective.usd(),
            scale,
            "objective",
        );
        assert_rel(typ.costs.total().usd(), typ.objective.usd(), scale, "costs");
        assert_rel(
            typ.costs.demand_charge.usd(),
            full.costs.demand_charge.usd(),
            scale,
            "demand charge",
        );
        for (a, b) in ratings(&typ).iter().zip(ratings(&full)) {
            assert_rel(*a, b, 200.0 * 1e3, "rating");
        }
        assert_eq!(typ.dispatch.grid_import.len(), p.steps());
        assert_eq!(typ.marginal_price.len(), p.steps());
    }
}

/// Identical days: the whole horizon's optimum is a daily-periodic schedule (the average of
/// an optimum's shifts by whole days, all optimal because every constraint is cyclic and the
/// days are the same), which one typical day weighted by every day also reaches. So 1 and 3
/// typical days give the exact optimum, with a battery, minimum stable load and start-up costs
/// linking the steps. (Not a ramp limit: over the horizon it does not wrap around from the last
/// step to the first, so shifting by a day is not a symmetry.)
#[test]
fn identical_days_give_the_exact_optimum_with_storage_and_commitment() {
    let mut p = site(20, 12, true);
    let tb = &mut p.turbines[0];
    tb.min_stable_fraction = 0.4;
    tb.startup_cost_usd_per_mw = 50.0;
    p.batteries.push(BatterySpec {
        name: "bess".into(),
        power: PowerCapacity::extendable(Power::ZERO, Power::from_mw(50.0), 35_000.0),
        energy: EnergyCapacity::extendable(Energy::ZERO, Energy::from_mwh(200.0), 35_000.0),
        charge_efficiency: 0.95,
        discharge_efficiency: 0.95,
        soc_min_fraction: 0.1,
        soc_max_fraction: 0.9,
        soc_end: SocEnd::Cyclic,
        wear_cost_usd_per_mwh: 2.0,
    });
    for &solver in available_solvers() {
        let full = optimize_with(&p, &OptimizeOptions::default(), solver).unwrap();
        let scale = full.objective.usd().abs();
        for k in [1, 3] {
            let typ = optimize_with(&p, &with_days(k), solver).unwrap();
            assert_rel(
                typ.objective.usd(),
                full.objective.usd(),
                scale,
                "objective",
            );
            assert_rel(typ.costs.total().usd(), typ.objective.usd(), scale, "costs");
            assert_rel(
                typ.emissions.base(),
                full.emissions.base(),
                full.emissions.base(),
                "emissions",
            );
        }
        let td = TypicalDays::choose(&p, 3).unwrap();
        assert_eq!(td.weight, vec![18.0, 1.0, 1.0]);
    }
}

#[test]
fn typical_days_out_of_range_are_errors_naming_the_option() {
    let p = site(10, 24, false);
    let field = |e: OptimizeError| match e {
        OptimizeError::Invalid { field, message } => format!("{field}: {message}"),
        e => panic!("{e}"),
    };
    let run = |p: &SiteProblem, k| optimize_with(p, &with_days(k), Solver::Clarabel).unwrap_err();
    assert_eq!(
        field(run(&p, 0)),
        "typical_days: is 0; expected 1 to 10, the days of the horizon"
    );
    assert!(field(run(&p, 11)).starts_with("typical_days: is 11"));
    // Not a whole number of days.
    let mut short = SiteProblem::new(p.step, p.load.clone());
    short.load.truncate(10 * 24 - 1);
    assert!(field(run(&short, 1)).contains("whole days"));
    short.load.truncate(12);
    assert!(field(run(&short, 1)).contains("whole days"));
    // A step that does not divide a day.
    let mut odd = SiteProblem::new(p.step, p.load.clone());
    odd.step = Time::from_h(7.0);
    assert!(field(run(&odd, 1)).contains("divides a day"));
    odd.step = Time::from_h(48.0);
    assert!(field(run(&odd, 1)).contains("divides a day"));
}

/// A site that must build: `days` hourly days of a load with a daily, a weekly and a seasonal
/// swing (one season cycle over the horizon) and day-to-day noise, above a fixed 100 MW grid
/// connection in the evening peaks, with an evening price peak. Nothing else exists: a gas
/// fleet (up to 100 MW) and a battery (up to 100 MW and 600 MWh) may be built at typical
/// annualized costs, and the unserved load costs 10,000 USD/MWh.
fn expansion_site(days: usize) -> SiteProblem {
    let n = days * 24;
    let (mut load, mut price) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for t in 0..n {
        let (d, h) = (t / 24, (t % 24) as f64 + 0.5);
        let season = (2.0 * std::f64::consts::PI * d as f64 / days as f64).cos();
        let daily = (2.0 * std::f64::consts::PI * (h - 18.0) / 24.0).cos();
        let weekday = if d % 7 < 5 { 1.0 } else { -1.0 };
        load.push(Power::from_mw(
            95.0 + 8.0 * season + 14.0 * daily + 3.0 * weekday + 6.0 * noise(3 * d + 1),
        ));
        let peak = if (16.0..21.0).contains(&h) { 70.0 } else { 0.0 };
        price.push(EnergyPrice::from_usd_per_mwh(
            32.0 + peak + 10.0 * season + 15.0 * noise(t + 11),
        ));
    }
    let mut p = SiteProblem::new(Time::from_h(1.0), load);
    p.grid = Some(GridSpec {
        connection: PowerCapacity::fixed(Power::from_mw(100.0)),
        price,
        export_cap: Power::ZERO,
        export_price_fraction: 1.0,
        demand_charge_usd_per_kw_month: 0.0,
        carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(380.0)],
    });
    p.turbines.push(TurbineSpec {
        name: "gas".into(),
        capacity: PowerCapacity::extendable(Power::ZERO, Power::from_mw(100.0), 60_000.0),
        min_stable_fraction: 0.0,
        ramp_fraction_per_min: None,
        heat_rate_mmbtu_per_mwh: 9.5,
        fuel_price_usd_per_mmbtu: 7.0,
        vom_usd_per_mwh: 4.0,
        startup_cost_usd_per_mw: 0.0,
        carbon_intensity: CarbonIntensity::from_g_per_kwh(420.0),
        commitment: Default::default(),
    });
    p.batteries.push(BatterySpec {
        name: "bess".into(),
        power: PowerCapacity::extendable(Power::ZERO, Power::from_mw(100.0), 20_000.0),
        energy: EnergyCapacity::extendable(Energy::ZERO, Energy::from_mwh(600.0), 9_000.0),
        charge_efficiency: 0.93,
        discharge_efficiency: 0.93,
        soc_min_fraction: 0.05,
        soc_max_fraction: 0.95,
        soc_end: SocEnd::Cyclic,
        wear_cost_usd_per_mwh: 3.0,
    });
    p.carbon_price_usd_per_t = 25.0;
    p
}

/// `p` with every rating fixed at `s`'s.
fn fixed_design(p: &SiteProblem, s: &wattage_optimize::Solution) -> SiteProblem {
    let mut q = p.clone();
    let c = &s.capacities;
    for (t, (_, r)) in q.turbines.iter_mut().zip(&c.turbines) {
        t.capacity = PowerCapacity::fixed(*r);
    }
    for (b, (_, pw, en)) in q.batteries.iter_mut().zip(&c.batteries) {
        b.power = PowerCapacity::fixed(*pw);
        b.energy = EnergyCapacity::fixed(*en);
    }
    q
}

/// What 12 typical days make of the expansion site against the whole horizon, with one
/// solver.
struct Comparison {
    solver: Solver,
    /// Ratings (grid MW, gas MW, battery MW, battery MWh) from the typical days.
    typ: Vec<f64>,
    /// The same from the whole horizon.
    full: Vec<f64>,
    /// Objective over the typical days (standing for the horizon).
    obj_typ: f64,
    /// Objective over the whole horizon.
    obj_full: f64,
    /// The typical days' design run over the whole horizon: its optimal dispatch and capital.
    design_cost: f64,
}

fn expansion_errors(days: usize) -> Vec<Comparison> {
    let p = expansion_site(days);
    let mut out = Vec::new();
    for &solver in available_solvers() {
        let t0 = std::time::Instant::now();
        let full = optimize_with(&p, &OptimizeOptions::default(), solver).expect("optimum");
        let t_full = t0.elapsed().as_secs_f64();
        let t0 = std::time::Instant::now();
        let typ = optimize_with(&p, &with_days(12), solver).expect("optimum");
        let t_typ = t0.elapsed().as_secs_f64();
        let again = optimize_with(&fixed_design(&p, &typ), &OptimizeOptions::default(), solver)
            .expect("optimum");
        let design_cost = again.objective.usd() + typ.costs.capital.usd();
        eprintln!(
            "{days} days, {solver}: ratings (grid MW, gas MW, bess MW, bess MWh) typical {:?}, \
             full {:?}; objective typical {:.0}, full {:.0} ({:+.3}%); the typical design over \
             the horizon {:.0} ({:+.4}%); {:.3} s against {:.3} s",
            ratings(&typ),
            ratings(&full),
            typ.objective.usd(),
            full.objective.usd(),
            100.0 * (typ.objective.usd() / full.objective.usd() - 1.0),
            design_cost,
            100.0 * (design_cost / full.objective.usd() - 1.0),
            t_typ,
            t_full
        );
        out.push(Comparison {
            solver,
            typ: ratings(&typ),
            full: ratings(&full),
            obj_typ: typ.objective.usd(),
            obj_full: full.objective.usd(),
            design_cost,
        });
    }
    out
}

/// Capacity expansion from typical days (CI size: 120 days, 12 typical days). The stated
/// error: each rating built within 15% of the whole horizon's, the objective within 1%, and the
/// typical days' design, run over the whole horizon, within 0.1% of the optimum. Measured
/// (Clarabel): gas 86.3 against 88.7 MW, battery 19.4 / 115.6 against 17.2 MW / 102.8 MWh,
/// objective +0.68%, the design over the horizon +0.005%, in 5% of the time. A year (the
/// ignored test below, by hand): gas 87.8 / 87.7 MW, battery 18.1 / 108.3 against 17.9 MW /
/// 107.1 MWh, objective +0.024%, the design over the year +0.0002%, in 2% of the time.
#[test]
fn twelve_typical_days_size_gas_and_battery_within_the_stated_error() {
    for c in expansion_errors(120) {
        let (solver, typ, full) = (c.solver, &c.typ, &c.full);
        let (obj_typ, obj_full, design_cost) = (c.obj_typ, c.obj_full, c.design_cost);
        // Both are built: gas and battery (grid, gas MW, battery MW, battery MWh).
        assert!(
            full[1] > 10.0 && full[2] > 5.0 && full[3] > 20.0,
            "{solver}: {full:?}"
        );
        for (a, b) in typ.iter().zip(full) {
            assert!(
                (a - b).abs() <= 0.15 * b,
                "{solver}: {typ:?} against {full:?}"
            );
        }
        assert!(
            (obj_typ / obj_full - 1.0).abs() <= 0.01,
            "{solver}: {obj_typ} against {obj_full}"
        );
        // No design beats the optimum; the typical days' comes within 0.1% of it.
        assert!(
            design_cost >= obj_full * (1.0 - 1e-7) && design_cost <= obj_full * 1.001,
            "{solver}: {design_cost} against {obj_full}"
        );
    }
}

#[test]
#[ignore = "a year: by hand, cargo test --release -p wattage-optimize --test typical_days -- --ignored --nocapture"]
fn twelve_typical_days_size_gas_and_battery_for_a_year() {
    expansion_errors(365);
}

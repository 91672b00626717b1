//! The solver backends: names, availability, and (with the feature `highs`) Clarabel against
//! HiGHS on the reference problems.

use wattage_optimize::{
    CLARABEL_TOLERANCE, GridSpec, OptimizeError, OptimizeOptions, PowerCapacity, SiteProblem,
    Solver, available_solvers, optimize, optimize_with,
};
use wattage_units::{CarbonIntensity, EnergyPrice, Power, Time};

/// The doctest's problem: 100 MW for a day from a 150 MW grid at $50/MWh.
fn grid_day() -> SiteProblem {
    let mut p = SiteProblem::new(Time::from_h(1.0), vec![Power::from_mw(100.0); 24]);
    p.grid = Some(GridSpec {
        connection: PowerCapacity::fixed(Power::from_mw(150.0)),
        price: vec![EnergyPrice::from_usd_per_mwh(50.0)],
        export_cap: Power::ZERO,
        export_price_fraction: 1.0,
        demand_charge_usd_per_kw_month: 0.0,
        carbon_intensity: vec![CarbonIntensity::from_g_per_kwh(400.0)],
    });
    p
}

#[test]
fn solver_names_round_trip() {
    for s in [Solver::Clarabel, Solver::Highs] {
        assert_eq!(s.to_string().parse::<Solver>(), Ok(s));
    }
    assert_eq!(" HiGHS ".parse::<Solver>(), Ok(Solver::Highs));
    let e = "gurobi".parse::<Solver>().expect_err("unknown");
    assert!(e.to_string().contains("`gurobi`"), "{e}");
}

#[test]
fn the_default_solver_is_available_and_first() {
    let all = available_solvers();
    assert_eq!(all.first(), Some(&Solver::DEFAULT));
    assert_eq!(Solver::default(), Solver::DEFAULT);
    assert!(all.contains(&Solver::Clarabel));
    assert_eq!(all.contains(&Solver::Highs), cfg!(feature = "highs"));
    assert_eq!(
        Solver::DEFAULT,
        if cfg!(feature = "highs") {
            Solver::Highs
        } else {
            Solver::Clarabel
        }
    );
}

#[test]
fn every_available_solver_solves_the_doctest() {
    for &solver in available_solvers() {
        let s = optimize_with(&grid_day(), &OptimizeOptions::default(), solver).expect("optimum");
        // Within Clarabel's relative gap (HiGHS is exact here).
        assert!(
            (s.objective.usd() - 120_000.0).abs() <= CLARABEL_TOLERANCE * 120_000.0,
            "{solver}: {}",
            s.objective.usd()
        );
        for p in &s.marginal_price {
            assert!((p.usd_per_mwh() - 50.0).abs() < 1e-6, "{solver}: {p:?}");
        }
        // HiGHS's presolve may solve it outright (no iteration); Clarabel always iterates.
        assert!(
            s.stats.iterations > 0 || solver == Solver::Highs,
            "{solver}"
        );
    }
    let d = optimize(&grid_day(), &OptimizeOptions::default()).expect("optimum");
    assert!((d.objective.usd() - 120_000.0).abs() <= CLARABEL_TOLERANCE * 120_000.0);
}

#[cfg(not(feature = "highs"))]
#[test]
fn highs_without_the_feature_is_a_clear_error() {
    let e = optimize_with(&grid_day(), &OptimizeOptions::default(), Solver::Highs)
        .expect_err("no HiGHS in this build");
    assert!(matches!(e, OptimizeError::SolverUnavailable { .. }));
    assert_eq!(
        e.to_string(),
        "this build has no HiGHS; rebuild with `--features highs` (needs cmake and libclang-dev)"
    );
}

#[test]
fn a_time_limit_of_zero_stops_clarabel() {
    let o = OptimizeOptions {
        time_limit: Some(Time::ZERO),
        ..OptimizeOptions::default()
    };
    let e = optimize_with(&grid_day(), &o, Solver::Clarabel).expect_err("no time to solve");
    assert!(matches!(e, OptimizeError::Solver { .. }), "{e}");
    assert!(e.to_string().contains("time limit"), "{e}");
}

/// Clarabel against HiGHS on the reference sites.
///
/// Objectives: HiGHS's optimum is a vertex feasible to its default primal and dual feasibility
/// tolerances (1e-7), Clarabel's a point whose duality gap and residuals are below
/// [`CLARABEL_TOLERANCE`] relative; 1e-6 relative is ten times the looser of the two. Measured
/// differences are 5e-10 or less.
///
/// Prices: the dual of a balance row is not always unique (a battery that may shift energy
/// either way, a step whose supply is all at a bound), and HiGHS then returns a vertex of the
/// set of optimal duals, Clarabel a point inside it. A step's price is certainly unique when
/// some column of the balance row is strictly inside its bounds and every other row it enters
/// has slack at an optimal solution: complementary slackness then zeroes those rows' duals in
/// every optimal dual, and the column's zero reduced cost fixes the price at its cost. Those
/// steps are found from either solver's solution and must agree to the solvers' dual
/// tolerances: HiGHS's 1e-7 on reduced costs, and Clarabel's dual residual, at most
/// `CLARABEL_TOLERANCE * (1 + |q| + |x| + |z|)` in 2-norm.
#[cfg(feature = "highs")]
mod against_highs {
    use std::path::{Path, PathBuf};

    use wattage_optimize::formulate::{Layout, formulate};
    use wattage_optimize::lp::LinearProgram;
    use wattage_optimize::{
        CLARABEL_TOLERANCE, ConvertOptions, Expansion, LpSolution, OptimizeOptions, SiteProblem,
        Solver, solve_lp,
    };
    use wattage_units::Time;

    /// HiGHS's default primal and dual feasibility tolerances.
    const HIGHS_FEASIBILITY: f64 = 1e-7;

    fn scenario(name: &str) -> wattage_site::Scenario {
        let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios")
            .join(name);
        let text = std::fs::read_to_string(&path).expect("readable scenario");
        let mut sc = wattage_site::parse_scenario(&text).expect("valid scenario");
        let dir = path.parent().expect("a directory").to_path_buf();
        sc.resolve_files(|p| std::fs::read_to_string(dir.join(p)).map_err(|e| e.to_string()))
            .expect("scenario files");
        sc
    }

    fn problem(sc: &wattage_site::Scenario, ex: &Expansion, hours: f64) -> SiteProblem {
        let co = ConvertOptions {
            step: Time::from_h(1.0),
            duration: Some(Time::from_h(hours)),
            probe_step: Some(Time::from_s(10.0)),
        };
        SiteProblem::from_scenario(sc, ex, &co).expect("problem")
    }

    fn norm2(v: &[f64]) -> f64 {
        v.iter().map(|x| x * x).sum::<f64>().sqrt()
    }

    /// The unique price (in dollars per step) of each balance row that `x` certifies.
    fn certified_prices(lp: &LinearProgram, lay: &Layout, x: &[f64]) -> Vec<Option<f64>> {
        let ax = lp.row_activity(x);
        // Strictly inside: a margin far above both solvers' feasibility tolerances.
        let margin = |v: f64| 1e-4 * (1.0 + v.abs());
        let free = |v: f64, lo: f64, up: f64| v - lo > margin(v) && up - v > margin(v);
        let balance = lay.balance..lay.balance + lay.n;
        let mut price = vec![None; lay.n];
        for (j, &xj) in x.iter().enumerate().take(lp.cols()) {
            let rows = lp.col_start[j]..lp.col_start[j + 1];
            let Some(here) = rows.clone().find(|&k| balance.contains(&lp.index[k])) else {
                continue;
            };
            let t = lp.index[here] - lay.balance;
            if price[t].is_some() || !free(xj, lp.col_lower[j], lp.col_upper[j]) {
                continue;
            }
            let slack = rows.filter(|&k| k != here).all(|k| {
                let i = lp.index[k];
                free(ax[i], lp.row_lower[i], lp.row_upper[i])
            });
            if slack {
                price[t] = Some(lp.col_cost[j] / lp.value[here]);
            }
        }
        price
    }

    /// Solves one problem with both solvers and compares; returns the number of steps whose
    /// price is certified unique.
    fn compare(label: &str, p: &SiteProblem) -> usize {
        let (lp, lay): (LinearProgram, Layout) = formulate(p);
        let o = OptimizeOptions::default();
        let h: LpSolution = solve_lp(&lp, &o, Solver::Highs).expect("HiGHS optimum");
        let c: LpSolution = solve_lp(&lp, &o, Solver::Clarabel).expect("Clarabel optimum");
        let rel = (c.objective - h.objective).abs() / h.objective.abs().max(1.0);
        eprintln!(
            "{label}: {} cols x {} rows; HiGHS {:.2} USD in {} iterations, {:.3} s; \
             Clarabel {:.2} USD in {} iterations, {:.3} s; relative difference {rel:.1e}",
            lp.cols(),
            lp.rows(),
            h.objective,
            h.iterations,
            h.solve.s(),
            c.objective,
            c.iterations,
            c.solve.s(),
        );
        assert!(
            rel <= 10.0 * HIGHS_FEASIBILITY.max(CLARABEL_TOLERANCE),
            "{label}: HiGHS {} vs Clarabel {}",
            h.objective,
            c.objective
        );

        let dual_tol = HIGHS_FEASIBILITY
            + CLARABEL_TOLERANCE * (1.0 + norm2(&lp.col_cost) + norm2(&c.x) + norm2(&c.row_dual));
        let (from_h, from_c) = (
            certified_prices(&lp, &lay, &h.x),
            certified_prices(&lp, &lay, &c.x),
        );
        let mut certified = 0;
        let mut worst: f64 = 0.0;
        for t in 0..lay.n {
            let r = lay.balance + t;
            let Some(price) = from_h[t].or(from_c[t]) else {
                continue;
            };
            certified += 1;
            for (name, s) in [("HiGHS", &h), ("Clarabel", &c)] {
                let d = (s.row_dual[r] - price).abs();
                worst = worst.max(d);
                assert!(
                    d <= dual_tol,
                    "{label}, step {t}: {name}'s price {} per step, the unique price {price} \
                     (tolerance {dual_tol:.1e})",
                    s.row_dual[r]
                );
            }
        }
        eprintln!(
            "{label}: {certified} of {} step prices certified unique; largest difference from \
             them {worst:.1e} USD per step (tolerance {dual_tol:.1e})",
            lay.n
        );
        certified
    }

    #[test]
    fn clarabel_matches_highs_on_the_reference_sites_for_a_week() {
        for name in ["colossus.toml", "colossus-miners.toml", "peak-shaving.toml"] {
            let sc = scenario(name);
            for (label, ex) in [
                ("fixed design", Expansion::default()),
                ("typical expansion", Expansion::typical(&sc)),
            ] {
                let certified = compare(&format!("{name}, {label}"), &problem(&sc, &ex, 168.0));
                assert!(certified > 0, "{name}, {label}: no price certified unique");
            }
        }
    }

    #[test]
    fn clarabel_matches_highs_on_a_year_of_colossus() {
        let sc = scenario("colossus.toml");
        let certified = compare(
            "colossus.toml, a year, typical expansion",
            &problem(&sc, &Expansion::typical(&sc), 8760.0),
        );
        assert!(certified > 0);
    }
}

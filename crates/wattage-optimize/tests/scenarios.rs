//! On every reference scenario in `scenarios/`, the LP's optimal cost is never above the
//! rule-based dispatch's cost on the same design (a week, LP hourly, rule-based at the
//! scenario's own step and at one hour).

use std::path::{Path, PathBuf};

use wattage_optimize::{
    ConvertOptions, Expansion, OptimizeOptions, SiteProblem, design_of, optimize, rule_based_cost,
};
use wattage_site::eval::evaluate_design;
use wattage_units::Time;

/// Site scenarios: the TOML files with a `[simulation]` table (others, such as the
/// token-to-grid `default.toml`, are read by other commands).
fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .filter(|p| {
                    std::fs::read_to_string(p).is_ok_and(|t| {
                        t.parse::<toml::Table>()
                            .is_ok_and(|v| v.contains_key("simulation"))
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn load(path: &Path) -> wattage_site::Scenario {
    let text = std::fs::read_to_string(path).expect("readable scenario");
    let mut sc = wattage_site::parse_scenario(&text).expect("valid scenario");
    let dir = path.parent().expect("a directory").to_path_buf();
    sc.resolve_files(|p| std::fs::read_to_string(dir.join(p)).map_err(|e| e.to_string()))
        .expect("scenario files");
    sc
}

#[test]
fn optimum_is_never_above_rule_based_on_reference_scenarios() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no reference scenarios found");
    for path in files {
        let mut sc = load(&path);
        let week = Time::from_days(7.0);
        sc.simulation.duration = week;
        for (label, ex) in [
            ("fixed design", Expansion::default()),
            ("typical expansion", Expansion::typical(&sc)),
        ] {
            let co = ConvertOptions {
                step: Time::from_h(1.0),
                duration: Some(week),
                probe_step: None,
            };
            let p = SiteProblem::from_scenario(&sc, &ex, &co).expect("problem");
            let s = optimize(&p, &OptimizeOptions::default()).expect("optimum");
            let design = design_of(&sc, &s);
            for step in [sc.simulation.step, Time::from_h(1.0)] {
                let k = evaluate_design(&sc, &design, step).expect("rule-based run");
                let rb = rule_based_cost(&k, p.value_of_lost_load).usd() + s.costs.capital.usd();
                let lp = s.objective.usd();
                eprintln!(
                    "{} ({label}, rule-based at {} s): LP {lp:.0} USD, rule-based {rb:.0} USD ({:+.2}%)",
                    path.display(),
                    step.s(),
                    (rb / lp - 1.0) * 100.0
                );
                assert!(
                    lp <= rb + 1e-6 * rb.abs(),
                    "{}: LP {lp} above rule-based {rb}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn an_expansion_naming_no_asset_is_an_error() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/colossus.toml");
    let sc = load(&path);
    let mut ex = Expansion::typical(&sc);
    assert!(!ex.turbines.is_empty());
    ex.turbines[0].name = "turbnes-0".into();
    let co = ConvertOptions {
        step: Time::from_h(1.0),
        duration: Some(Time::from_h(24.0)),
        probe_step: None,
    };
    let e = SiteProblem::from_scenario(&sc, &ex, &co)
        .expect_err("a misspelt name is refused")
        .to_string();
    assert!(
        e.contains("turbines[0].name") && e.contains("turbnes-0"),
        "{e}"
    );
}

/// The PyPSA comparison site (a constant load, a time-of-use price on whole hours) is probed at
/// the LP's step, not the scenario's minute: the same series, step for step (the prices exactly;
/// the load to 1e-12, the rounding of summing sixty minutes). A peak starting on the half hour
/// keeps the scenario's step: the hour 13-14 is then the average of two prices.
#[test]
fn a_constant_demand_is_probed_at_the_lp_step_with_the_same_series() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/python/pypsa_site.toml");
    let mut sc = load(&path);
    let series = |sc: &wattage_site::Scenario, probe: Option<f64>| {
        let co = ConvertOptions {
            step: Time::from_h(1.0),
            duration: Some(Time::from_h(72.0)),
            probe_step: probe.map(Time::from_s),
        };
        let p = SiteProblem::from_scenario(sc, &Expansion::default(), &co).expect("problem");
        let load: Vec<f64> = p.load.iter().map(|l| l.mw()).collect();
        let price: Vec<f64> = p
            .grid
            .map(|g| g.price.iter().map(|x| x.usd_per_mwh()).collect())
            .unwrap_or_default();
        (load, price)
    };
    let (load, price) = series(&sc, None);
    assert_eq!((load.clone(), price.clone()), series(&sc, Some(3600.0)));
    let (fine_load, fine_price) = series(&sc, Some(60.0));
    assert_eq!(price, fine_price);
    for (a, b) in load.iter().zip(&fine_load) {
        assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
    }
    if let Some(wattage_site::scenario::Tariff::TimeOfUse { start_hour, .. }) =
        sc.grid.as_mut().map(|g| &mut g.tariff)
    {
        *start_hour = 13.5;
    }
    let (_, price) = series(&sc, None);
    assert_eq!(price, series(&sc, Some(60.0)).1);
    assert!((price[13] - 80.0).abs() < 1e-9, "{}", price[13]);
}

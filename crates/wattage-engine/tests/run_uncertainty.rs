//! `wattage run`'s headline table and the uncertainty of its totals: the same seed gives the
//! same ranges, ranges bracket the headline values, the work limit counts the Monte Carlo's
//! site runs, and no chart of the report is empty or flat-lined when its data vary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use wattage_engine::run::{self, RunResult};
use wattage_engine::{FileSystem, Input, Silent};

/// A small run: one 8B service on the Colossus-like site (training, turbines, grid, battery),
/// 24 h at 60 s steps, with `samples` Monte Carlo draws.
fn scenario(seed: u64, samples: u32) -> String {
    format!(
        r#"
name = "small"
region = "us-tva"
seed = {seed}

[[service]]
name = "chat"
model = "llama-3.1-8b"
hardware = "h100-sxm"
tensor_parallel_size = 1
requests_per_day = 2.0e6
input_tokens = 500
output_tokens = 200

[site]
scenario = "builtin:colossus"
inference_load = "serving"
duration_h = 24
step_s = 60
output_resolution_s = 900

[uncertainty]
samples = {samples}
"#
    )
}

fn loaded(seed: u64, samples: u32) -> run::Loaded {
    let input = Input::Text {
        text: scenario(seed, samples),
        name: "small.toml".into(),
        dir: std::env::temp_dir(),
    };
    run::load(&FileSystem, Some(&input)).unwrap()
}

fn execute(seed: u64, samples: u32) -> RunResult {
    let cat = wattage_engine::catalog(&FileSystem, &[]).unwrap();
    run::execute(&cat, loaded(seed, samples), &Silent).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_ranges() {
    let a = execute(3, 6);
    let b = execute(3, 6);
    let (ua, ub) = (a.uncertainty.unwrap(), b.uncertainty.unwrap());
    assert_eq!(ua, ub);
    let c = execute(4, 6).uncertainty.unwrap();
    assert_ne!(
        ua.energy_cost_usd, c.energy_cost_usd,
        "another seed draws others"
    );
}

#[test]
fn ranges_are_reported_and_bracket_the_totals() {
    let r = execute(5, 8);
    let u = r.uncertainty.as_ref().unwrap();
    assert_eq!(u.samples, 8);
    for (name, b) in [
        ("energy", u.energy_mwh),
        ("cost", u.energy_cost_usd),
        ("co2e", u.co2e_t),
    ] {
        assert!(b.p5 < b.p95, "{name}: {b:?}");
        assert!(b.p5.is_finite() && b.p95.is_finite());
    }
    // The factors' ends bracket the central totals, and the sensitivity pass kept the ones
    // that move a total by 1% or more.
    for f in &u.factors {
        assert!(f.low <= 1.0 && f.high >= 1.0, "{f:?}");
        assert_eq!(f.sampled, f.swing >= 0.01, "{f:?}");
    }
    assert!(u.factors.iter().any(|f| f.sampled));
    // The summary and the headline table carry the same p5/p95.
    let s = r.summary();
    let h = s
        .headlines
        .iter()
        .find(|h| h.key == "site_energy_cost_usd")
        .unwrap();
    let su = s.uncertainty.as_ref().unwrap();
    assert_eq!(h.low, Some(su.energy_cost_usd.p5));
    assert_eq!(h.high, Some(su.energy_cost_usd.p95));
    for key in ["site_energy_mwh", "site_energy_cost_usd", "site_co2e_t"] {
        let h = s.headlines.iter().find(|h| h.key == key).unwrap();
        assert!(h.low.is_some() && h.high.is_some(), "{key} has no range");
    }
}

#[test]
fn headlines_keep_costs_apart_and_say_their_horizon() {
    let r = execute(5, 0);
    assert!(r.uncertainty.is_none(), "samples = 0 turns the pass off");
    let h = r.headlines();
    let k = &r.year.kpis;
    let c = &k.cost_usd_by_component;
    let energy = h.get("site_energy_cost_usd").unwrap();
    let lost = h.get("site_lost_work_usd").unwrap();
    assert_eq!(energy.value, c.energy_total());
    assert_eq!(lost.value, c.interruptions + c.job_failures);
    assert!(lost.value > 0.0, "the training job fails about twice a day");
    // No row is the sum of energy cost and lost work.
    assert!(
        h.0.iter()
            .all(|x| x.value != k.cost_usd || k.cost_usd == energy.value)
    );
    for row in &h.0 {
        assert!(!row.horizon.is_empty(), "`{}` has no horizon", row.key);
        assert!(!row.scope.is_empty(), "`{}` has no scope", row.key);
        assert!(row.value.is_finite());
    }
    assert!(energy.horizon.contains("24 h"), "{}", energy.horizon);
    // A day of this site is small: printed in units that fit, never `0 GWh` or `$0.0M`.
    for line in h.text() {
        assert!(
            !line.contains(" 0 GWh") && !line.contains("$0.0M"),
            "{line}"
        );
    }
    // The request's carbon at the site's supply mix, beside the regional figure: the site
    // runs mostly on its gas turbines (53.06 kg/MMBtu x 11.5 MMBtu/MWh = 610 g/kWh at full
    // load) against the TVA grid's 283 g/kWh.
    let region = h.get("chat_co2e_per_request_region_g").unwrap();
    let mix = h.get("chat_co2e_per_request_site_mix_g").unwrap();
    let steady = h.get("chat_energy_per_request_steady_state_wh").unwrap();
    assert!((region.value - steady.value / 1e3 * 283.0).abs() < 1e-9 * region.value);
    let mix_g = mix.value / (steady.value / 1e3);
    assert!(mix_g > 283.0 && mix_g < 620.0, "{mix_g}");
    let s = r.summary();
    assert_eq!(
        s.services[0].request.site_mix_g_per_kwh,
        wattage_engine::run::summary::r6(mix_g)
    );
}

#[test]
fn the_monte_carlo_counts_against_the_work_limit() {
    let mut l = loaded(1, 64);
    // 24 h at 60 s = 1,440 steps per site run; (64 + 7) runs = 102,240 steps. The site's own
    // run is 1,440 steps.
    l.max_work = Some(100_000);
    let e = run::admit(&l, &Silent).unwrap_err();
    assert!(e.message.contains("uncertainty.samples"), "{}", e.message);
    l.max_work = Some(102_240);
    run::admit(&l, &Silent).unwrap();
}

#[test]
fn no_chart_of_the_report_is_empty_or_flat_lined() {
    let r = execute(2, 4);
    let rep = run::report::build(&r).unwrap();
    assert_eq!(rep.uninformative_charts(), Vec::<(String, &str)>::new());
    let ids: Vec<&str> = rep.charts().map(|c| c.id.as_str()).collect();
    for id in [
        "soc-day",
        "soc-year",
        "co2e-by-source",
        "water",
        "tornado-energy",
        "tornado-cost",
        "tornado-co2e",
    ] {
        assert!(ids.contains(&id), "no chart `{id}` in {ids:?}");
    }
    // One unit per axis: emissions and water are separate charts.
    for c in rep.charts() {
        for a in c.axes() {
            assert!(
                !a.unit.contains(" or "),
                "`{}` mixes units: {}",
                c.id,
                a.unit
            );
        }
    }
    wattage_report::render_html(&rep).unwrap();
}

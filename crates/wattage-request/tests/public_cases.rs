//! Every case of `shared/reference/public-cases.md` sections 1 to 5, with its source and
//! tolerance.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use wattage_catalog::{Catalog, Model, Precision};
use wattage_request::fleet::{self, compare, price_implied_utilization};
use wattage_request::training::{self, Compute, Training};
use wattage_request::{Assumptions, Deployment, Method, Request, Scope, estimate, presets};
use wattage_units::{CarbonIntensity, Energy, FlopRate, Power, Time, Usd};

fn within(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got / want - 1.0).abs();
    assert!(
        err <= tol,
        "{what}: got {got:.4}, published {want:.4}, error {:.2}% > {:.1}%",
        100.0 * err,
        100.0 * tol
    );
}

/// The epoch-2025 preset's deployment and assumptions, with the model's active parameters
/// replaced (the cases vary them).
fn epoch_setup(active_b: f64) -> (Deployment, Assumptions) {
    let cat = Catalog::builtin();
    let p = presets::find("epoch-2025").unwrap();
    let mut m: Model = cat.model(p.model).unwrap().clone();
    m.params_active_b = active_b;
    m.params_total_b = m.params_total_b.max(active_b * 1.5);
    let h = cat.hardware(p.hardware).unwrap();
    let d = Deployment::new(&m, h, p.gpus * 2, Some(Precision::Bf16)).unwrap();
    let mut a = Assumptions::for_region(cat.region(p.region).unwrap());
    for (n, v) in p.assumptions {
        a.set(n, *v).unwrap();
    }
    (d, a)
}

fn epoch_wh(active_b: f64, input: f64, output: f64, util: f64, pue: f64) -> f64 {
    let (d, mut a) = epoch_setup(active_b);
    a.epoch_utilization = util;
    a.pue = pue;
    let req = Request {
        input_tokens: input,
        output_tokens: output,
        batch: 1.0,
    };
    estimate(&d, &req, &a, Method::Epoch, Scope::Facility)
        .unwrap()
        .energy
        .wh()
}

// Section 1: seed 003 and its spreadsheet: 1275 W x 0.7 x PUE.
#[test]
fn epoch_gpt4o_baseline_sheet() {
    within(
        epoch_wh(100.0, 0.0, 500.0, 0.10, 1.2),
        0.301,
        0.02,
        "GPT-4o baseline",
    );
}

#[test]
fn epoch_gpt4o_baseline_article_text() {
    // The article's chain: 1500 W all-in per GPU x 70%, no separate PUE. 1500 W is the
    // 1275 W server share times a facility overhead of 1500/1275.
    within(
        epoch_wh(100.0, 0.0, 500.0, 0.10, 1500.0 / 1275.0),
        0.295,
        0.05,
        "GPT-4o article",
    );
}

#[test]
fn epoch_long_output() {
    within(
        epoch_wh(100.0, 0.0, 1500.0, 0.10, 1.2),
        0.902,
        0.02,
        "long output",
    );
}

#[test]
fn epoch_4o_mini_like() {
    within(
        epoch_wh(20.0, 0.0, 500.0, 0.10, 1.2),
        0.060,
        0.03,
        "4o-mini-like",
    );
}

#[test]
fn epoch_pessimistic() {
    within(
        epoch_wh(200.0, 0.0, 500.0, 0.05, 1.3),
        1.304,
        0.02,
        "pessimistic",
    );
    within(
        epoch_wh(200.0, 0.0, 1500.0, 0.05, 1.3),
        3.911,
        0.02,
        "pessimistic long",
    );
}

#[test]
fn epoch_long_prompts() {
    // Seed 003 appendix: about 2.4 Wh with a 10k-token prompt, about 40 Wh with 100k.
    within(
        epoch_wh(100.0, 10_000.0, 500.0, 0.10, 1.2),
        2.4,
        0.12,
        "10k prompt",
    );
    within(
        epoch_wh(100.0, 100_000.0, 500.0, 0.10, 1.2),
        40.0,
        0.12,
        "100k prompt",
    );
}

#[test]
fn epoch_chain_in_words() {
    // About 0.1 s of H100 time at peak, 1 s at 10%: 1e14 FLOP / 989e12.
    let t = wattage_units::Flop::new(2.0 * 100e9 * 500.0) / FlopRate::from_tflops(989.0);
    within(t.s(), 0.1, 0.02, "0.1 s at peak");
    within(
        (Power::from_w(1500.0) * 0.7 * Time::from_s(1.0)).wh(),
        0.2917,
        0.01,
        "1050 J",
    );
}

// Section 2: fleet scale and comparisons.
#[test]
fn fleet_of_a_billion_queries() {
    let f = fleet::scale(Energy::from_wh(0.3), 1e9);
    within(f.daily_energy.mwh(), 300.0, 1e-9, "MWh/day");
    within(f.average_power.mw(), 12.5, 1e-9, "MW");
    within(
        fleet::US_HOUSEHOLD_DAILY.wh(),
        28_767.0,
        1e-4,
        "household Wh/day",
    );
    within(
        compare(Energy::from_wh(0.3)).led_10w_minutes,
        1.8,
        1e-9,
        "LED minutes",
    );
}

// Section 3: utilization implied by a price.
#[test]
fn price_implied_utilization_llama_405b() {
    let p = price_implied_utilization(405e9, 2000e12, Usd::new(2.0), Usd::new(3.5));
    within(p.flop_per_usd, 3.6e18, 1e-9, "FLOP per dollar");
    within(
        p.cost_per_million_at_full_use.usd(),
        0.225,
        0.01,
        "$ per Mtok",
    );
    within(p.utilization, 0.064, 0.03, "implied utilization");
}

// Section 4: older top-down estimates.
#[test]
fn de_vries_2023() {
    let total = Power::from_kw(6.5) * 3617.0 * Time::from_h(24.0);
    within(total.mwh(), 564.0, 0.01, "MWh/day");
    within(
        fleet::per_request(total, 195e6).wh(),
        2.9,
        0.02,
        "Wh/request",
    );
}

#[test]
fn luccioni_bloom_2023() {
    within(
        fleet::per_request(Energy::from_kwh(914.0), 230_768.0).wh(),
        3.96,
        0.01,
        "BLOOM Wh/request",
    );
}

// Section 5: training.
#[test]
fn training_gpt3_patterson() {
    let t = training::estimate(&Training {
        compute: Compute::Duration(Time::from_days(14.8)),
        gpus: 10_000.0,
        power_per_gpu: Power::from_w(330.0),
        server_factor: 1.0,
        pue: 1.1,
        carbon: CarbonIntensity::from_g_per_kwh(429.0),
    })
    .unwrap();
    within(t.energy.mwh(), 1287.0, 0.02, "GPT-3 MWh");
    within(t.co2e.t(), 552.0, 0.02, "GPT-3 tCO2e");
}

#[test]
fn training_llama2_model_card() {
    let runs = [
        (184_320.0, 400.0),
        (368_640.0, 400.0),
        (1_720_320.0, 400.0),
        (1_038_336.0, 350.0),
    ];
    let total: f64 = runs
        .iter()
        .map(|(h, w)| {
            training::estimate(&Training {
                compute: Compute::GpuHours(*h),
                gpus: 1.0,
                power_per_gpu: Power::from_w(*w),
                server_factor: 1.0,
                pue: 1.1,
                carbon: CarbonIntensity::from_g_per_kwh(385.0),
            })
            .unwrap()
            .co2e
            .t()
        })
        .sum();
    within(total, 539.0, 0.02, "Llama 2 tCO2e");
}

#[test]
fn training_epoch_power_rule() {
    let t = training::estimate(&Training {
        compute: Compute::Duration(Time::from_days(1.0)),
        gpus: 16_384.0,
        power_per_gpu: Power::from_w(700.0),
        server_factor: 1.82,
        pue: 1.14,
        carbon: CarbonIntensity::from_g_per_kwh(0.0),
    })
    .unwrap();
    within(t.power.mw(), 23.8, 0.02, "MW");
}

#[test]
fn training_from_tokens_is_consistent_with_duration() {
    // 6 N D at 40% MFU on 16,384 H100s, then the same run from its wall-clock time.
    let from_tokens = training::estimate(&Training {
        compute: Compute::Tokens {
            active_params: 405e9,
            tokens: 15.6e12,
            peak: FlopRate::from_tflops(989.0),
            mfu: 0.4,
        },
        gpus: 16_384.0,
        power_per_gpu: Power::from_w(700.0),
        server_factor: 1.0,
        pue: 1.1,
        carbon: CarbonIntensity::from_g_per_kwh(400.0),
    })
    .unwrap();
    // 3.79e25 FLOP (Llama 3.1 405B paper reports 3.8e25).
    within(from_tokens.flop.unwrap().count(), 3.8e25, 0.01, "FLOP");
    let from_time = training::estimate(&Training {
        compute: Compute::Duration(from_tokens.duration),
        gpus: 16_384.0,
        power_per_gpu: Power::from_w(700.0),
        server_factor: 1.0,
        pue: 1.1,
        carbon: CarbonIntensity::from_g_per_kwh(400.0),
    })
    .unwrap();
    within(
        from_time.energy.j(),
        from_tokens.energy.j(),
        1e-12,
        "energy",
    );
}

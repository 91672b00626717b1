//! Invariants over the whole catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use wattage_catalog::{Catalog, Precision};
use wattage_request::uncertainty::{Uncertainty, monte_carlo};
use wattage_request::{
    Assumptions, Deployment, EstimateError, Method, Request, Roofline, Scope, Step, estimate,
};

fn finite_nonneg(e: &wattage_request::Estimate) -> bool {
    let vals = [
        e.energy.j(),
        e.prefill.j(),
        e.decode.j(),
        e.ttft.s(),
        e.decode_step.s(),
        e.e2e.s(),
        e.flop.count(),
        e.gpu_time.s(),
        e.replica_power.w(),
        e.compute_utilization,
        e.memory_utilization,
        e.co2e.g(),
        e.water().l(),
        e.cost.usd(),
    ];
    vals.iter().all(|v| v.is_finite() && *v >= 0.0)
}

#[test]
fn every_model_hardware_precision_is_finite_or_a_clear_error() {
    let cat = Catalog::builtin();
    let a = Assumptions::for_region(cat.region("us-average").unwrap());
    let mut fitted = 0;
    for m in &cat.models {
        for h in &cat.hardware {
            for p in Precision::ALL {
                for gpus in [1, 8] {
                    let d = match Deployment::new(m, h, gpus, Some(p)) {
                        Ok(d) => d,
                        Err(EstimateError::DoesNotFit { min_gpus, .. }) => {
                            assert!(min_gpus > gpus);
                            continue;
                        }
                        Err(EstimateError::Invalid { field, .. }) => {
                            assert_eq!(field, "precision");
                            continue;
                        }
                    };
                    for method in [Method::Roofline, Method::Epoch] {
                        let req = Request {
                            input_tokens: 1000.0,
                            output_tokens: 300.0,
                            batch: 8.0,
                        };
                        match estimate(&d, &req, &a, method, Scope::Facility) {
                            Ok(e) => {
                                fitted += 1;
                                assert!(finite_nonneg(&e), "{} {} {p} {gpus}: {e:?}", m.id, h.id);
                                let b = e.breakdown;
                                assert!(b.at(Scope::Gpu) <= b.at(Scope::Server));
                                assert!(b.at(Scope::Server) <= b.at(Scope::Facility));
                                assert!(e.energy.j() > 0.0);
                            }
                            Err(err) => {
                                // Only a KV cache too small for the batch may refuse.
                                assert!(err.to_string().contains("KV cache"), "{err}");
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(fitted > 200, "only {fitted} combinations ran");
}

/// Llama 3.1 70B on four H100s, with US-average assumptions.
fn llama_70b_on_4_h100() -> (Deployment, Assumptions) {
    let cat = Catalog::builtin();
    let a = Assumptions::for_region(cat.region("us-average").unwrap());
    let d = Deployment::new(
        cat.model("llama-3.1-70b").unwrap(),
        cat.hardware("h100").unwrap(),
        4,
        None,
    )
    .unwrap();
    (d, a)
}

/// Prefill iterations a prompt of `input` tokens takes under the chunk budget.
fn chunks(input: f64, a: &Assumptions) -> f64 {
    (input / a.max_batched_tokens).ceil()
}

#[test]
fn a_lone_request_costs_more_when_its_prompt_needs_another_chunk() {
    // Batch 1: nothing rides along with the prefill, so an extra chunk only adds a weight read.
    let (d, a) = llama_70b_on_4_h100();
    let at = |input: f64| {
        let r = Request {
            input_tokens: input,
            output_tokens: 1000.0,
            batch: 1.0,
        };
        estimate(&d, &r, &a, Method::Roofline, Scope::Facility)
            .unwrap()
            .energy
            .j()
    };
    let edge = a.max_batched_tokens;
    assert!(at(edge + 1.0) > at(edge));
    assert!(at(2.0 * edge + 1.0) > at(2.0 * edge));
}

#[test]
fn an_extra_chunk_lets_decodes_ride_along() {
    // The case CI drew on 2026-11-22: 8,179 -> 8,228 prompt tokens crosses the 8,192-token
    // chunk budget. At batch 4.13 the second prefill iteration carries 3.13 decoding
    // sequences, saving 0.76 decode-only iterations. Each takes 18.0 ms on 4 H100s: 35.3 GB
    // of weights and 2.9 GB of KV cache per GPU at 2.21 TB/s (17.3 ms), plus 0.2 ms of
    // per-sequence overhead and 0.5 ms of all-reduce latency. So the accelerators' energy per
    // request falls slightly although the prompt is longer.
    let (d, a) = llama_70b_on_4_h100();
    let (input, output, batch) = (8179.349366178077, 1018.0919828533533, 4.125769967480222);
    let at = |input_tokens: f64| {
        let r = Request {
            input_tokens,
            output_tokens: output,
            batch,
        };
        estimate(&d, &r, &a, Method::Roofline, Scope::Gpu)
            .unwrap()
            .energy
            .j()
    };
    let (before, after) = (at(input), at(input + 49.38995956096326));
    let decode_only =
        Roofline::new(&d, a.roofline).step(&Step::decode(batch, input + output / 2.0));
    assert!(
        (decode_only.time.s() - 0.0180).abs() < 0.0003,
        "{}",
        decode_only.time.s()
    );
    let saved = decode_only.energy().j() * (1.0 - 1.0 / batch);
    assert!(after < before, "{before} -> {after}");
    assert!(after > before - saved, "{before} -> {after}, bound {saved}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn energy_grows_with_tokens_and_scopes_nest(
        input in 0.0f64..16_000.0,
        output in 1.0f64..4000.0,
        extra in 1.0f64..2000.0,
        batch in 1.0f64..16.0,
    ) {
        let (d, a) = llama_70b_on_4_h100();
        for method in [Method::Roofline, Method::Epoch] {
            let base = Request { input_tokens: input, output_tokens: output, batch };
            let e = estimate(&d, &base, &a, method, Scope::Facility).unwrap();
            prop_assert!(finite_nonneg(&e));
            let more_out = estimate(&d, &Request { output_tokens: output + extra, ..base }, &a, method, Scope::Facility).unwrap();
            prop_assert!(more_out.energy > e.energy);
            let more_in = estimate(&d, &Request { input_tokens: input + extra, ..base }, &a, method, Scope::Facility).unwrap();
            let (k0, k1) = (chunks(input, &a), chunks(input + extra, &a));
            if method == Method::Epoch || k0 == k1 {
                prop_assert!(more_in.energy > e.energy);
            } else {
                // A prompt that needs one more prefill chunk gives the other sequences one more
                // iteration to decode in alongside it, which saves (1 - 1/batch) decode-only
                // iterations per extra chunk (chunked prefill's piggybacking). The accelerators'
                // energy may then fall, but by no more than those iterations cost.
                let ctx = input + output / 2.0;
                let decode_only = Roofline::new(&d, a.roofline).step(&Step::decode(batch, ctx)).energy();
                let saved = decode_only * ((k1 - k0) * (1.0 - 1.0 / batch));
                prop_assert!(
                    more_in.breakdown.gpu.j() > e.breakdown.gpu.j() - saved.j(),
                    "{} J -> {} J, saving bound {} J", e.breakdown.gpu.j(), more_in.breakdown.gpu.j(), saved.j()
                );
            }
            let g = estimate(&d, &base, &a, method, Scope::Gpu).unwrap().energy;
            let s = estimate(&d, &base, &a, method, Scope::Server).unwrap().energy;
            prop_assert!(g <= s && s <= e.energy);
        }
    }

    #[test]
    fn energy_grows_with_parameters(scale in 1.05f64..3.0, output in 1.0f64..2000.0) {
        let cat = Catalog::builtin();
        let a = Assumptions::for_region(cat.region("us-average").unwrap());
        let h = cat.hardware("h100").unwrap();
        let m = cat.model("llama-3.1-8b").unwrap().clone();
        let mut big = m.clone();
        big.params_total_b *= scale;
        big.params_active_b *= scale;
        let req = Request { input_tokens: 500.0, output_tokens: output, batch: 4.0 };
        for method in [Method::Roofline, Method::Epoch] {
            let small = estimate(&Deployment::new(&m, h, 1, None).unwrap(), &req, &a, method, Scope::Gpu).unwrap();
            let large = estimate(&Deployment::new(&big, h, 1, None).unwrap(), &req, &a, method, Scope::Gpu).unwrap();
            prop_assert!(large.energy > small.energy);
        }
    }
}

#[test]
fn model_too_big_is_a_clear_error() {
    let cat = Catalog::builtin();
    let e = Deployment::new(
        cat.model("llama-3.1-405b").unwrap(),
        cat.hardware("h100").unwrap(),
        1,
        Some(Precision::Bf16),
    )
    .unwrap_err();
    let msg = e.to_string();
    // The library names no front-end's flag; it says how many GPUs the weights need (810 GB
    // of bf16 weights over 72 GB usable per H100 is 12 GPUs, rounded to a power of two).
    assert!(
        msg.contains("does not fit") && msg.contains("at least 16 GPUs"),
        "{msg}"
    );
}

#[test]
fn monte_carlo_is_seeded_and_brackets_the_point_estimate() {
    let (d, a) = llama_70b_on_4_h100();
    let req = Request {
        input_tokens: 500.0,
        output_tokens: 500.0,
        batch: 32.0,
    };
    for method in [Method::Roofline, Method::Epoch] {
        let u = Uncertainty::defaults(&a, method);
        let r1 = monte_carlo(&d, &req, &a, &u, method, Scope::Facility, 20_000, 7).unwrap();
        let r2 = monte_carlo(&d, &req, &a, &u, method, Scope::Facility, 20_000, 7).unwrap();
        assert_eq!(r1, r2);
        let point = estimate(&d, &req, &a, method, Scope::Facility)
            .unwrap()
            .energy
            .wh();
        assert!(
            r1.energy_wh.p5 < point && point < r1.energy_wh.p95,
            "{method:?} {r1:?} {point}"
        );
        assert!(r1.energy_wh.p5 > 0.0);
    }
}

//! Invariants over the whole catalog.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use wattage_catalog::{Catalog, Precision};
use wattage_request::deploy::Parallelism;
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
fn every_model_hardware_precision_layout_is_finite_or_a_clear_error() {
    let cat = Catalog::builtin();
    let layouts = [
        Parallelism::tensor(1),
        Parallelism::tensor(8),
        Parallelism {
            tensor: 4,
            data: 1,
            expert: true,
        },
        Parallelism {
            tensor: 2,
            data: 4,
            expert: true,
        },
        Parallelism {
            tensor: 1,
            data: 8,
            expert: false,
        },
    ];
    let mut fitted = 0;
    for m in &cat.models {
        for h in &cat.hardware {
            let a = Assumptions::for_region(cat.region("us-average").unwrap()).for_hardware(h);
            for p in Precision::ALL {
                for par in layouts {
                    let d = match Deployment::with_parallelism(m, h, par, Some(p)) {
                        Ok(d) => d,
                        Err(EstimateError::DoesNotFit { min_gpus, .. }) => {
                            assert!(min_gpus > par.tensor || par.data > 1, "{} {}", m.id, h.id);
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
                            batch: 64.0,
                        };
                        // Never refused for the KV cache: a batch that does not fit runs at
                        // the largest that does.
                        let e = estimate(&d, &req, &a, method, Scope::Facility)
                            .unwrap_or_else(|err| panic!("{} {} {p} {par}: {err}", m.id, h.id));
                        fitted += 1;
                        assert!(finite_nonneg(&e), "{} {} {p} {par}: {e:?}", m.id, h.id);
                        assert!(e.batch_used >= 1.0 && e.batch_used <= 64.0);
                        let b = e.breakdown;
                        assert!(b.at(Scope::Gpu) <= b.at(Scope::Server));
                        assert!(b.at(Scope::Server) <= b.at(Scope::Facility));
                        assert!(e.energy.j() > 0.0);
                    }
                }
            }
        }
    }
    assert!(fitted > 1000, "only {fitted} combinations ran");
}

#[test]
fn expert_parallelism_spreads_the_experts_and_data_parallelism_the_kv_cache() {
    let cat = Catalog::builtin();
    let m = cat.model("qwen3-235b-a22b").unwrap();
    let h = cat.hardware("h100").unwrap();
    let tp8 = Deployment::new(m, h, 8, None).unwrap();
    let ep8 = Deployment::with_parallelism(
        m,
        h,
        Parallelism {
            tensor: 8,
            data: 1,
            expert: true,
        },
        None,
    )
    .unwrap();
    let dp = Deployment::with_parallelism(
        m,
        h,
        Parallelism {
            tensor: 2,
            data: 4,
            expert: true,
        },
        None,
    )
    .unwrap();
    // The same eight GPUs hold the same expert bytes each; data parallelism keeps a copy of
    // the shared weights per rank, so less room for KV per GPU, but four KV caches.
    assert_eq!(tp8.gpus, 8);
    assert_eq!(dp.gpus, 8);
    let shared = tp8.shared_weight_bytes().count();
    let experts = tp8.expert_weight_bytes().count();
    assert!((tp8.weight_bytes_per_gpu().count() - (shared + experts) / 8.0).abs() < 1.0);
    assert!((dp.weight_bytes_per_gpu().count() - (shared / 2.0 + experts / 8.0)).abs() < 1.0);
    assert!(dp.kv_capacity_bytes_per_gpu() < tp8.kv_capacity_bytes_per_gpu());
    // Qwen3-235B has 4 KV heads: over TP8 each is held twice (4 shards), over TP2 x DP4 each
    // rank splits its own cache in 2, and the replica holds four ranks' caches.
    assert_eq!(tp8.kv_shards(), 4.0);
    assert_eq!(dp.kv_shards(), 2.0);
    let per_rank = dp.kv_capacity_bytes_per_gpu().count() / dp.kv_bytes_per_token_per_gpu().count();
    assert!((dp.kv_capacity_tokens() - 4.0 * per_rank).abs() < 1e-6 * per_rank);
    // At a small batch the busiest GPU of an expert-parallel layout reads more expert bytes
    // than the mean, so a step is slower than with the experts sliced over all GPUs.
    let a = Assumptions::for_region(cat.region("us-average").unwrap()).for_hardware(h);
    let step = |d: &Deployment| Roofline::new(d, a.roofline).step(&Step::decode(8.0, 500.0));
    assert!(step(&ep8).memory_time > step(&tp8).memory_time);
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

//! End-to-end properties of the simulator: conservation, Little's law, a lone request against
//! the roofline model, the saturation bound, determinism, trace errors.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wattage_catalog::Catalog;
use wattage_request::{Deployment, Roofline, RooflineParams, Step};
use wattage_serving::{
    ArrivalProcess, ClosedLoop, LengthDist, RateProfile, Router, SchedulerConfig, Scope, SimConfig,
    SimOutput, Simulator, Synthetic, TraceOptions, TraceReplay, Workload, parse_azure_str,
};

fn deployment(model: &str, gpus: u32) -> Deployment {
    let c = Catalog::builtin();
    Deployment::new(
        c.model(model).unwrap(),
        c.hardware("h100").unwrap(),
        gpus,
        None,
    )
    .unwrap()
}

fn run(d: &Deployment, cfg: &SimConfig, w: &Workload, seed: u64) -> SimOutput {
    Simulator::new(
        d,
        RooflineParams::default(),
        cfg,
        w,
        ChaCha8Rng::seed_from_u64(seed),
    )
    .unwrap()
    .run()
}

fn poisson(rate: f64, duration: f64, input: f64, output: f64) -> Workload {
    Workload::Synthetic(Synthetic {
        rate_per_s: rate,
        arrivals: ArrivalProcess::Poisson,
        profile: RateProfile::Constant,
        input: LengthDist::Lognormal {
            mean: input,
            cv: 1.0,
        },
        output: LengthDist::Lognormal {
            mean: output,
            cv: 0.8,
        },
        duration_s: Some(duration),
        requests: None,
    })
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn energy_is_conserved() {
    let d = deployment("llama-3.1-8b", 1);
    // Two replicas, bursty arrivals, a small cache to force preemptions.
    for (sched, router) in [
        (SchedulerConfig::continuous(64), Router::LeastOutstanding),
        (
            SchedulerConfig::Static { batch_size: 16 },
            Router::RoundRobin,
        ),
        (
            SchedulerConfig::Continuous {
                max_num_seqs: 256,
                max_batched_tokens: 4096,
                chunked_prefill: false,
            },
            Router::JoinShortestQueue,
        ),
    ] {
        let cfg = SimConfig {
            replicas: 2,
            scheduler: sched,
            router,
            record_requests: true,
            power_resolution_s: 0.25,
            ..SimConfig::default()
        };
        let w = Workload::Synthetic(Synthetic {
            rate_per_s: 8.0,
            arrivals: ArrivalProcess::Gamma { cv: 3.0 },
            profile: RateProfile::Constant,
            input: LengthDist::Lognormal {
                mean: 800.0,
                cv: 1.5,
            },
            output: LengthDist::Lognormal {
                mean: 250.0,
                cv: 1.0,
            },
            duration_s: Some(120.0),
            requests: None,
        });
        let out = run(&d, &cfg, &w, 11);
        let s = &out.summary;
        let recs = out.records.as_ref().unwrap();
        assert_eq!(recs.len() as u64, s.requests);
        assert!(s.requests > 500, "{}", s.requests);
        let attributed: f64 = recs.iter().map(|r| r.energy_gpu_j).sum();
        let idle = s.gpu_idle_energy_wh * 3600.0;
        let integrated = out.power.energy(Scope::Gpu).j();
        assert!(
            rel(attributed + idle, integrated) < 1e-9,
            "{sched:?}: {attributed} + {idle} != {integrated}"
        );
        let spread: f64 = recs
            .iter()
            .map(|r| r.energy_gpu_j + r.idle_share_gpu_j)
            .sum();
        assert!(rel(spread, integrated) < 1e-9);
        for scope in Scope::ALL {
            let e = s.at(scope).unwrap();
            assert!(rel(e.total_energy_wh * 3600.0, out.power.energy(scope).j()) < 1e-9);
            assert!(
                rel(
                    e.energy_wh_per_request * s.requests as f64,
                    e.total_energy_wh
                ) < 1e-9
            );
        }
        let srv: f64 = recs.iter().map(|r| r.energy_server_j).sum();
        let srv_idle = s.at(Scope::Server).unwrap().idle_energy_wh * 3600.0;
        assert!(rel(srv + srv_idle, out.power.energy(Scope::Server).j()) < 1e-9);
    }
}

#[test]
fn preemption_under_a_full_cache_still_finishes_everything() {
    let d = deployment("llama-3.1-8b", 1);
    let cfg = SimConfig {
        scheduler: SchedulerConfig::continuous(512),
        record_requests: true,
        ..SimConfig::default()
    };
    let w = Workload::ClosedLoop(ClosedLoop {
        clients: 512,
        input: LengthDist::Fixed { tokens: 3000 },
        output: LengthDist::Lognormal {
            mean: 1500.0,
            cv: 0.5,
        },
        think_time_s: 0.0,
        requests: Some(1500),
        duration_s: None,
    });
    let out = run(&d, &cfg, &w, 5);
    assert_eq!(out.summary.requests, 1500);
    assert!(out.summary.preemptions > 0);
    assert!(out.summary.kv_occupancy_peak <= 1.0 && out.summary.kv_occupancy_peak > 0.9);
    let attributed: f64 = out.records.unwrap().iter().map(|r| r.energy_gpu_j).sum();
    let idle = out.summary.gpu_idle_energy_wh * 3600.0;
    assert!(rel(attributed + idle, out.power.energy(Scope::Gpu).j()) < 1e-9);
}

#[test]
fn littles_law_holds_on_a_steady_run() {
    let d = deployment("llama-3.1-70b", 4);
    let rate = 3.0;
    let out = run(
        &d,
        &SimConfig {
            replicas: 2,
            ..SimConfig::default()
        },
        &poisson(rate, 3600.0, 600.0, 300.0),
        3,
    );
    let s = &out.summary;
    let l = s.mean_in_system;
    let lambda_w = rate * s.e2e_ms_mean / 1e3;
    assert!(rel(l, lambda_w) < 0.05, "L = {l}, lambda W = {lambda_w}");
    assert!(rel(s.throughput_requests_per_s, rate) < 0.05);
}

#[test]
fn a_lone_request_matches_the_roofline_model() {
    let d = deployment("llama-3.1-70b", 4);
    let r = Roofline::new(&d, RooflineParams::default());
    let (input, output) = (700u32, 120u32);
    let w = Workload::Synthetic(Synthetic {
        rate_per_s: 1.0,
        arrivals: ArrivalProcess::Poisson,
        profile: RateProfile::Constant,
        input: LengthDist::Fixed { tokens: input },
        output: LengthDist::Fixed { tokens: output },
        duration_s: None,
        requests: Some(1),
    });
    let cfg = SimConfig {
        record_requests: true,
        ..SimConfig::default()
    };
    let out = run(&d, &cfg, &w, 1);
    let rec = &out.records.unwrap()[0];
    let pre = r.step(&Step::prefill(f64::from(input)));
    let mut t = pre.time.s();
    let mut e = pre.energy().j();
    for i in 0..output - 1 {
        let c = r.step(&Step::decode(1.0, f64::from(input + i + 1)));
        t += c.time.s();
        e += c.energy().j();
    }
    assert!(
        rel(rec.ttft_ms, pre.time.ms()) < 1e-9,
        "{} vs {}",
        rec.ttft_ms,
        pre.time.ms()
    );
    assert!(rel(rec.e2e_ms, t * 1e3) < 1e-9);
    assert!(rel(rec.energy_gpu_j, e) < 1e-9);
    assert!(rel(rec.prefill_energy_gpu_j, pre.energy().j()) < 1e-9);
    assert_eq!(rec.queue_ms, 0.0);
    assert_eq!(out.summary.iterations, u64::from(output));
    // A prompt longer than the token budget is chunked, and the chunks add up.
    let w = Workload::Synthetic(Synthetic {
        input: LengthDist::Fixed { tokens: 20_000 },
        output: LengthDist::Fixed { tokens: 2 },
        ..match w {
            Workload::Synthetic(s) => s,
            _ => unreachable!(),
        }
    });
    let out = run(&d, &cfg, &w, 1);
    let rec = &out.records.unwrap()[0];
    let mut t = 0.0;
    let mut a = 0.0;
    for c in [8192.0, 8192.0, 3616.0] {
        t += r
            .step(&Step {
                prefill_tokens: c,
                prefill_attention: c * a + c * (c + 1.0) / 2.0,
                seqs: 1.0,
                ..Step::default()
            })
            .time
            .s();
        a += c;
    }
    assert!(rel(rec.ttft_ms, t * 1e3) < 1e-9);
}

#[test]
fn saturated_throughput_matches_the_roofline_bound() {
    let d = deployment("llama-3.1-70b", 4);
    let r = Roofline::new(&d, RooflineParams::default());
    let (b, input, output) = (128u32, 64u32, 2000u32);
    let w = Workload::ClosedLoop(ClosedLoop {
        clients: 4 * b,
        input: LengthDist::Fixed { tokens: input },
        output: LengthDist::Fixed { tokens: output },
        think_time_s: 0.0,
        requests: Some(4000),
        duration_s: None,
    });
    let cfg = SimConfig {
        scheduler: SchedulerConfig::continuous(b),
        ..SimConfig::default()
    };
    let out = run(&d, &cfg, &w, 2);
    // Every iteration decodes a full batch at a mean context of prompt + half the output.
    let step = r.step(&Step::decode(f64::from(b), f64::from(input + output / 2)));
    let bound = f64::from(b) / step.time.s();
    let got = out.summary.throughput_tokens_per_s;
    assert!(got <= bound * 1.001, "{got} > bound {bound}");
    assert!(got > bound * 0.97, "{got} far below bound {bound}");
    let mb = out.summary.mean_batch_size;
    assert!(mb > f64::from(b) * 0.97 && mb <= f64::from(b), "{mb}");
}

#[test]
fn the_same_seed_gives_identical_output() {
    let d = deployment("llama-3.1-8b", 1);
    let cfg = SimConfig {
        replicas: 3,
        record_requests: true,
        ..SimConfig::default()
    };
    let w = poisson(20.0, 100.0, 1000.0, 200.0);
    let a = run(&d, &cfg, &w, 42);
    let b = run(&d, &cfg, &w, 42);
    assert_eq!(a, b);
    let c = run(&d, &cfg, &w, 43);
    assert_ne!(a.summary, c.summary);
}

#[test]
fn malformed_trace_line_is_reported_with_its_number() {
    let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                2023-11-16 18:15:46.6805900,374,44\n\
                2023-11-16 18:15:50.9951690,396,109\n\
                2023-11-16 18:15:51.2224670,879,-5\n";
    let e = parse_azure_str(text).unwrap_err().to_string();
    assert!(e.contains("line 4"), "{e}");
    assert!(e.contains("GeneratedTokens"), "{e}");
}

#[test]
fn outputs_are_finite_even_when_nothing_happens() {
    let d = deployment("llama-3.1-8b", 1);
    let w = Workload::Trace(TraceReplay {
        records: parse_azure_str("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10000000,5\n")
            .unwrap(),
        options: TraceOptions::default(),
    });
    let out = run(&d, &SimConfig::default(), &w, 1);
    assert_eq!(out.summary.requests, 0);
    assert_eq!(out.summary.rejected, 1);
    let j = serde_json::to_string(&out.summary).unwrap();
    assert!(!j.contains("NaN") && !j.contains("null"), "{j}");
}

#[test]
fn routers_spread_load_and_jsq_beats_round_robin_on_bursts() {
    let d = deployment("llama-3.1-8b", 1);
    let w = Workload::Synthetic(Synthetic {
        rate_per_s: 30.0,
        arrivals: ArrivalProcess::Gamma { cv: 4.0 },
        profile: RateProfile::Constant,
        input: LengthDist::Lognormal {
            mean: 2000.0,
            cv: 2.0,
        },
        output: LengthDist::Lognormal {
            mean: 300.0,
            cv: 1.5,
        },
        duration_s: Some(300.0),
        requests: None,
    });
    let mut p99 = vec![];
    for router in [
        Router::RoundRobin,
        Router::LeastOutstanding,
        Router::JoinShortestQueue,
    ] {
        let cfg = SimConfig {
            replicas: 4,
            router,
            ..SimConfig::default()
        };
        let s = run(&d, &cfg, &w, 9).summary;
        assert!(s.requests > 8000);
        p99.push(s.e2e_ms_p99);
    }
    assert!(p99[1] <= p99[0] * 1.05, "{p99:?}");
}

#[test]
fn capacity_planning_finds_the_fewest_replicas() {
    let d = deployment("llama-3.1-8b", 1);
    let w = poisson(40.0, 120.0, 1000.0, 300.0);
    let slo = wattage_serving::Slo {
        ttft_ms_p99: 1000.0,
        itl_ms_p99: 60.0,
    };
    let plan = wattage_serving::plan_capacity(
        &d,
        RooflineParams::default(),
        &SimConfig::default(),
        &w,
        &slo,
        7,
        64,
    )
    .unwrap();
    assert!(plan.meets_slo && plan.replicas > 1, "{:?}", plan.trials);
    let fewer = plan.trials.iter().find(|t| t.replicas == plan.replicas - 1);
    assert!(fewer.is_some_and(|t| !t.meets_slo), "{:?}", plan.trials);
    assert!(
        plan.trials
            .iter()
            .filter(|t| t.meets_slo)
            .all(|t| t.replicas >= plan.replicas)
    );
    let s = &plan.summary;
    let mw = s.at(Scope::Facility).unwrap().avg_power_w / 1e6;
    assert!(rel(plan.avg_mw, mw) < 1e-12 && plan.peak_mw >= plan.avg_mw);
    let flat_w = plan.flat_10pct_facility_wh_per_request * 3600.0 * s.throughput_requests_per_s;
    assert!(rel(plan.flat_10pct_avg_mw * 1e6, flat_w) < 1e-9);
}

/// gpt-oss-120b, with its sliding window (128 tokens on 18 of 36 layers) or without.
fn gpt_oss(windowed: bool) -> Deployment {
    let c = Catalog::builtin();
    let mut m = c.model("gpt-oss-120b").unwrap().clone();
    if !windowed {
        m.sliding_window = None;
        m.sliding_layers = None;
    }
    Deployment::new(&m, c.hardware("h100").unwrap(), 2, None).unwrap()
}

#[test]
fn windowed_layers_hold_only_their_window_in_the_paged_cache() {
    // One request of 8,000 prompt tokens and 100 output tokens. Half the layers keep only
    // the last 128 tokens, so a context of c tokens occupies c/2 + 64 tokens' worth of
    // cache: 4,064 at the end of the prompt and 4,114 at most (8,100 tokens), which is
    // 254 to 258 blocks of 16. Without the window: 500 to 507 blocks.
    let w = Workload::Synthetic(Synthetic {
        rate_per_s: 1.0,
        arrivals: ArrivalProcess::Poisson,
        profile: RateProfile::Constant,
        input: LengthDist::Fixed { tokens: 8000 },
        output: LengthDist::Fixed { tokens: 100 },
        duration_s: None,
        requests: Some(1),
    });
    let cfg = SimConfig::default();
    for (windowed, lo, hi) in [(true, 254.0, 258.0), (false, 500.0, 507.0)] {
        let s = run(&gpt_oss(windowed), &cfg, &w, 1).summary;
        let total_blocks = (s.kv_capacity_tokens / 16) as f64;
        let peak = s.kv_occupancy_peak * total_blocks;
        assert!(
            (lo - 1e-6..=hi + 1e-6).contains(&peak),
            "windowed {windowed}: {peak} blocks"
        );
    }
    // The request model's KV footprint agrees (same rule, one source).
    let d = gpt_oss(true);
    assert_eq!(d.kv_footprint_tokens(8000.0), 4064.0);
    assert_eq!(d.kv_footprint_tokens(100.0), 100.0);
}

#[test]
fn a_sliding_window_lets_more_long_sequences_share_the_cache() {
    // Long generations that fill the cache (2.15M tokens on two H100s): without the window
    // a sequence of context c holds c tokens' worth, with it c/2 + 64, so about twice as
    // many sequences fit and the mean batch nearly doubles.
    let w = Workload::ClosedLoop(ClosedLoop {
        clients: 1024,
        input: LengthDist::Fixed { tokens: 4000 },
        output: LengthDist::Fixed { tokens: 4000 },
        think_time_s: 0.0,
        requests: Some(3000),
        duration_s: None,
    });
    let cfg = SimConfig {
        scheduler: SchedulerConfig::continuous(1024),
        ..SimConfig::default()
    };
    let full = run(&gpt_oss(false), &cfg, &w, 2).summary;
    let win = run(&gpt_oss(true), &cfg, &w, 2).summary;
    assert_eq!((full.requests, win.requests), (3000, 3000));
    let ratio = win.mean_batch_size / full.mean_batch_size;
    assert!(
        (1.6..=2.1).contains(&ratio),
        "batch {} vs {}, cap {}, preemptions {} vs {}",
        win.mean_batch_size,
        full.mean_batch_size,
        full.kv_capacity_tokens,
        win.preemptions,
        full.preemptions
    );
    assert!(win.energy_wh_per_request < full.energy_wh_per_request);
}

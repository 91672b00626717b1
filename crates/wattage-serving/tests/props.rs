//! Property tests: over random fleets and workloads, energy is conserved, every output is
//! finite and non-negative, and scopes are ordered (gpu <= server <= facility).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use wattage_catalog::Catalog;
use wattage_request::{Deployment, RooflineParams};
use wattage_serving::{
    ArrivalProcess, LengthDist, RateProfile, Router, SchedulerConfig, Scope, SimConfig, Simulator,
    Synthetic, Workload,
};

fn scheduler() -> impl Strategy<Value = SchedulerConfig> {
    prop_oneof![
        (1u32..300, 64u32..10_000, any::<bool>()).prop_map(|(s, t, c)| {
            SchedulerConfig::Continuous {
                max_num_seqs: s,
                max_batched_tokens: t,
                chunked_prefill: c,
            }
        }),
        (1u32..64).prop_map(|b| SchedulerConfig::Static { batch_size: b }),
    ]
}

fn router() -> impl Strategy<Value = Router> {
    prop_oneof![
        Just(Router::RoundRobin),
        Just(Router::LeastOutstanding),
        Just(Router::JoinShortestQueue)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn conserved_finite_and_ordered(
        model in prop_oneof![Just(("llama-3.1-8b", 1u32)), Just(("llama-3.1-70b", 4u32))],
        replicas in 1u32..4,
        rate in 0.05f64..30.0,
        cv in 0.2f64..4.0,
        input in 1.0f64..6000.0,
        output in 1.0f64..1500.0,
        spread in 0.0f64..2.5,
        sched in scheduler(),
        router in router(),
        diurnal in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let cat = Catalog::builtin();
        let d = Deployment::new(
            cat.model(model.0).unwrap(),
            cat.hardware("h100").unwrap(),
            model.1,
            None,
        )
        .unwrap();
        let cfg = SimConfig {
            replicas,
            scheduler: sched,
            router,
            record_requests: true,
            power_resolution_s: 0.5,
            ..SimConfig::default()
        };
        let w = Workload::Synthetic(Synthetic {
            rate_per_s: rate,
            arrivals: ArrivalProcess::Gamma { cv },
            profile: if diurnal {
                RateProfile::Diurnal { peak_to_trough: 3.0, period_s: 20.0, peak_at_s: 5.0 }
            } else {
                RateProfile::Constant
            },
            input: LengthDist::Lognormal { mean: input.max(1.0), cv: spread },
            output: LengthDist::Lognormal { mean: output.max(1.0), cv: spread },
            duration_s: Some(30.0),
            requests: Some(400),
        });
        let out = Simulator::with_seed(&d, RooflineParams::default(), &cfg, &w, seed)
            .unwrap()
            .run();
        let s = &out.summary;
        let v = serde_json::to_value(s).unwrap();
        let text = v.to_string();
        prop_assert!(!text.contains("null"), "{text}");
        for (k, x) in v.as_object().unwrap() {
            if let Some(f) = x.as_f64() {
                prop_assert!(f.is_finite() && f >= 0.0, "{k} = {f}");
            }
        }
        let recs = out.records.as_ref().unwrap();
        prop_assert_eq!(recs.len() as u64, s.requests);
        let attributed: f64 = recs.iter().map(|r| r.energy_gpu_j).sum();
        let total = out.power.energy(Scope::Gpu).j();
        let idle = s.gpu_idle_energy_wh * 3600.0;
        prop_assert!(((attributed + idle) - total).abs() <= 1e-9 * total.max(1.0));
        let e = |sc| s.at(sc).unwrap().total_energy_wh;
        prop_assert!(e(Scope::Gpu) <= e(Scope::Server) && e(Scope::Server) <= e(Scope::Facility));
        for r in recs {
            prop_assert!(r.ttft_ms >= 0.0 && r.e2e_ms >= r.ttft_ms && r.energy_gpu_j > 0.0);
        }
    }
}

//! The roofline method at `gpu` scope against the 267 ML.ENERGY v3 measurements
//! (`shared/reference/mlenergy-v3-calibration.csv`, shipped as `data/`), with
//! leave-one-model-out cross-validation: the floors of issue 11 (median error of J per output
//! token at most 15%, of median ITL at most 12%, the median bias of every accelerator and
//! precision group spanning two or more base models within 0.85-1.15x).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use wattage_catalog::Catalog;
use wattage_request::calibration::{
    CSV, Fit, Knob, RANGES, Summary, by, cases, cross_validate, points, range, residuals, summarize,
};

const HARDWARE: [&str; 2] = ["h100-sxm", "b200"];

#[test]
fn shipped_data_matches_the_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/mlenergy-v3-calibration.csv"
    );
    let text = std::fs::read_to_string(shared)
        .unwrap_or_else(|e| panic!("cannot read the reference `{shared}`: {e}"));
    assert_eq!(
        text, CSV,
        "data/mlenergy-v3-calibration.csv differs from the reference"
    );
    assert_eq!(points().unwrap().len(), 267);
}

#[test]
fn every_row_is_estimated_with_its_measured_deployment() {
    let cat = Catalog::builtin();
    let pts = points().unwrap();
    let cs = cases(&cat, &pts).expect("every row resolves");
    assert_eq!(cs.len(), 267);
    for r in residuals(&cs, &Fit::shipped(&cat, &HARDWARE)) {
        assert!(
            r.j_per_token.is_finite() && r.j_per_token > 0.0,
            "{:?}",
            r.point
        );
        assert!(r.median_itl_ms.is_finite() && r.median_itl_ms > 0.0);
        assert!(r.batch_used >= 1.0 && r.batch_used <= r.point.batch);
    }
}

fn print(title: &str, groups: &std::collections::BTreeMap<String, Summary>) {
    eprintln!("{title}");
    for (k, s) in groups {
        eprintln!(
            "  {k:<20} n {:>3} models {:>2}  J/tok median {:>5.1}% bias {:.2}x  ITL median {:>5.1}% bias {:.2}x",
            s.n,
            s.models,
            100.0 * s.energy_median,
            s.energy_bias,
            100.0 * s.itl_median,
            s.itl_bias
        );
    }
}

#[test]
fn cross_validated_errors_meet_the_floors_and_the_shipped_constants_are_the_fit() {
    let cat = Catalog::builtin();
    let cs = cases(&cat, &points().unwrap()).unwrap();
    let cv = cross_validate(&cs, &Fit::neutral(&HARDWARE));
    let all = summarize(&cv.residuals);
    eprintln!(
        "leave-one-model-out: J/token median {:.1}% (p90 {:.1}%), ITL median {:.1}% (p90 {:.1}%)",
        100.0 * all.energy_median,
        100.0 * all.energy_p90,
        100.0 * all.itl_median,
        100.0 * all.itl_p90
    );
    assert_eq!(all.n, 267);
    assert!(all.energy_median <= 0.15, "J/token {}", all.energy_median);
    assert!(all.itl_median <= 0.12, "ITL {}", all.itl_median);
    let acc = by(&cv.residuals, |p| p.hardware.clone());
    let prec = by(&cv.residuals, |p| p.precision.to_string());
    print("by accelerator", &acc);
    print("by precision", &prec);
    print("by model", &by(&cv.residuals, |p| p.base_model.clone()));
    for (k, s) in acc.iter().chain(prec.iter()) {
        if s.models >= 2 {
            for (what, b) in [("J/token", s.energy_bias), ("ITL", s.itl_bias)] {
                assert!(
                    (0.85..=1.15).contains(&b),
                    "{k}: median {what} bias {b:.3}x outside 0.85-1.15x"
                );
            }
        }
    }
    // Constants only one base model informs are taken from the in-sample fit, and said so.
    let notes: Vec<&str> = cv
        .in_sample_constants
        .iter()
        .flat_map(|(_, k)| k.iter().map(String::as_str))
        .collect();
    for k in ["fp8_efficiency", "fp4_efficiency", "ssm_prefill_efficiency"] {
        assert!(notes.contains(&k), "{k} not reported as in-sample");
    }

    // What ships is the in-sample fit on all rows (rounded): rerunning the calibration
    // reproduces the catalog and the defaults.
    let shipped = Fit::shipped(&cat, &HARDWARE);
    let mut knobs: Vec<Knob> = Vec::new();
    for h in HARDWARE {
        for name in wattage_request::roofline::HARDWARE_CONSTANTS {
            knobs.push(Knob::Hardware(h.to_string(), name));
        }
    }
    for (name, _, _) in RANGES {
        if !wattage_request::roofline::HARDWARE_CONSTANTS.contains(&name) {
            knobs.push(Knob::Global(name));
        }
    }
    for k in &knobs {
        let (lo, hi) = range(k);
        let (got, want) = (cv.in_sample.get(k), shipped.get(k));
        assert!(
            (got - want).abs() <= 0.01 * (hi - lo) + 1e-9,
            "{k}: shipped {want}, fitted {got} (more than 1% of its range {lo}-{hi} apart)"
        );
    }
}

#[test]
fn energy_per_token_falls_with_batch_as_measured() {
    let cat = Catalog::builtin();
    let cs = cases(&cat, &points().unwrap()).unwrap();
    let res = residuals(&cs, &Fit::shipped(&cat, &HARDWARE));
    for (repo, hw) in [
        ("meta-llama/Llama-3.1-8B-Instruct", "h100-sxm"),
        ("meta-llama/Llama-3.1-70B-Instruct", "h100-sxm"),
        ("Qwen/Qwen3-8B", "b200"),
    ] {
        let r: Vec<_> = res
            .iter()
            .filter(|r| {
                r.point.model_repo == repo
                    && r.point.hardware == hw
                    && r.point.task == wattage_request::calibration::Task::Chat
            })
            .collect();
        let first = r.first().unwrap();
        let at512 = r.iter().find(|r| r.point.max_num_seqs == 512).unwrap();
        let measured = first.point.j_per_token / at512.point.j_per_token;
        let predicted = first.j_per_token / at512.j_per_token;
        // Measured: about 6-9x from batch 8 to 512.
        assert!(
            (predicted / measured - 1.0).abs() < 0.25,
            "{repo} on {hw}: measured fall {measured:.2}x, predicted {predicted:.2}x"
        );
        for w in r.windows(2) {
            if w[1].point.max_num_seqs <= 256 {
                assert!(w[1].j_per_token < w[0].j_per_token, "{repo}: not falling");
            }
        }
    }
}

//! The roofline method at `gpu` scope against the ML.ENERGY v3 measurements
//! (`shared/reference/mlenergy-calibration.csv`, shipped as `data/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use wattage_catalog::Catalog;
use wattage_request::RooflineParams;
use wattage_request::calibration::{CSV, median_abs, points, residuals};

#[test]
fn shipped_data_matches_the_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/mlenergy-calibration.csv"
    );
    if let Ok(text) = std::fs::read_to_string(shared) {
        assert_eq!(
            text, CSV,
            "data/mlenergy-calibration.csv differs from the reference"
        );
    }
    assert_eq!(points().len(), 23);
}

#[test]
fn energy_per_token_and_itl_within_15_percent_median() {
    let res = residuals(&Catalog::builtin(), &RooflineParams::default());
    assert_eq!(res.len(), 23);
    let e = median_abs(res.iter().map(|r| r.energy_error()));
    let i = median_abs(res.iter().map(|r| r.itl_error()));
    let worst_e = res
        .iter()
        .map(|r| r.energy_error().abs())
        .fold(0.0, f64::max);
    eprintln!("energy/token median |err| {e:.3}, worst {worst_e:.3}; ITL median |err| {i:.3}");
    assert!(e < 0.15, "median energy error {e}");
    assert!(i < 0.15, "median ITL error {i}");
    // No point may be off by more than the spread between neighbouring batch sizes.
    assert!(worst_e < 0.25, "worst energy error {worst_e}");
}

#[test]
fn energy_per_token_falls_with_batch_as_measured() {
    let res = residuals(&Catalog::builtin(), &RooflineParams::default());
    for model in ["llama-3.1-8b", "llama-3.1-70b"] {
        let r: Vec<_> = res.iter().filter(|r| r.point.model == model).collect();
        let first = r.first().unwrap();
        let at512 = r.iter().find(|r| r.point.max_num_seqs == 512).unwrap();
        let measured = first.point.j_per_token / at512.point.j_per_token;
        let predicted = first.j_per_token / at512.j_per_token;
        // Measured: about 6x (8B) and 9x (70B) from batch 8 to 512.
        assert!(
            (predicted / measured - 1.0).abs() < 0.2,
            "{model}: measured fall {measured:.2}x, predicted {predicted:.2}x"
        );
        // Falling up to batch 256; beyond it the measurements flatten (power at TDP) and the
        // prediction may flatten too, but never rise by more than 2%.
        for w in r.windows(2) {
            if w[1].point.max_num_seqs <= 256 {
                assert!(w[1].j_per_token < w[0].j_per_token, "{model}: not falling");
            } else if w[1].point.max_num_seqs <= 512 {
                assert!(
                    w[1].j_per_token < 1.02 * w[0].j_per_token,
                    "{model}: rising"
                );
            }
        }
    }
}

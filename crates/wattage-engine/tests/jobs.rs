//! The engine's jobs name the parameter at fault in the spec's own words, and never return a
//! non-finite number.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use wattage_engine::serving::{self, ServingSpec};
use wattage_engine::{
    Catalog, FileSystem, Location, OptimizeSpec, ParamStyle, Silent, TrainSpec, optimize, train,
};

fn param(e: &wattage_engine::Error) -> &str {
    match &e.location {
        Location::Param { name } => name,
        other => panic!("not a parameter error: {other:?}: {e}"),
    }
}

#[test]
fn serving_errors_name_the_spec_parameter() {
    let cat = Catalog::builtin();
    for (spec, name) in [
        (
            ServingSpec {
                rate: Some(-1.0),
                ..ServingSpec::default()
            },
            "rate",
        ),
        (
            ServingSpec {
                duration: Some("0s".into()),
                ..ServingSpec::default()
            },
            "duration",
        ),
        (
            ServingSpec {
                diurnal: Some(0.5),
                ..ServingSpec::default()
            },
            "diurnal",
        ),
        (
            ServingSpec {
                max_num_seqs: Some(0),
                ..ServingSpec::default()
            },
            "max_num_seqs",
        ),
    ] {
        let e = serving::run(&cat, &FileSystem, &spec, &Silent).unwrap_err();
        assert_eq!(param(&e), name, "{e}");
        // The CLI shows it as its flag.
        assert!(
            e.render(ParamStyle::Flag)
                .contains(&format!("`--{}`", name.replace('_', "-"))),
            "{}",
            e.render(ParamStyle::Flag)
        );
    }
}

#[test]
fn optimizer_steps_over_an_hour_name_the_step() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/peak-shaving.toml");
    let sc = wattage_engine::site::load(&FileSystem, &path.as_path().into()).unwrap();
    let spec = OptimizeSpec {
        step: "2h".into(),
        duration: Some("1d".into()),
        ..OptimizeSpec::default()
    };
    let e = optimize::run(&FileSystem, &sc, "peak-shaving.toml", &spec).unwrap_err();
    assert_eq!(param(&e), "step", "{e}");
    let spec = OptimizeSpec {
        duration: Some("soon".into()),
        ..OptimizeSpec::default()
    };
    let e = optimize::run(&FileSystem, &sc, "peak-shaving.toml", &spec).unwrap_err();
    assert_eq!(param(&e), "duration", "{e}");
}

#[test]
fn a_training_run_too_large_to_compute_is_an_error_not_infinity() {
    let cat = Catalog::builtin();
    let e = train::run(
        &cat,
        &TrainSpec {
            duration: Some("1e300d".into()),
            ..TrainSpec::default()
        },
    )
    .unwrap_err();
    assert!(e.is_input(), "{e}");
    // Out of the plausible range, caught when the spec is read (docs/limits.md).
    assert!(
        e.to_string().starts_with("invalid `duration`: must be"),
        "{e}"
    );
    // The old spelling is checked under its own name.
    let e = train::run(
        &cat,
        &TrainSpec {
            days: Some(1e300),
            ..TrainSpec::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("invalid `days`: must be"), "{e}");
    // An ordinary run is finite everywhere.
    let r = train::run(
        &cat,
        &TrainSpec {
            duration: Some("30d".into()),
            ..TrainSpec::default()
        },
    )
    .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for (k, x) in v.as_object().unwrap() {
        if let Some(f) = x.as_f64() {
            assert!(f.is_finite(), "{k}");
        }
    }
}

//! Fits the roofline constants to the ML.ENERGY v3 measurements and reports the
//! leave-one-model-out cross-validated errors (and, apart, the in-sample ones).
//!
//! Run: `cargo run --release -p wattage-request --example calibrate`
//! (`-- --rows` also prints every held-out prediction).

use wattage_catalog::Catalog;
use wattage_request::calibration::{
    Fit, Residual, Summary, by, cases, cross_validate, points, residuals, summarize,
};

fn row(name: &str, s: &Summary) {
    println!(
        "{name:<28} {:>4} {:>3} {:>7.1}% {:>7.1}% {:>6.2}x {:>7.1}% {:>7.1}% {:>6.2}x",
        s.n,
        s.models,
        100.0 * s.energy_median,
        100.0 * s.energy_p90,
        s.energy_bias,
        100.0 * s.itl_median,
        100.0 * s.itl_p90,
        s.itl_bias
    );
}

fn table(title: &str, res: &[Residual]) {
    println!("\n## {title}\n");
    println!(
        "{:<28} {:>4} {:>3} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7}",
        "group", "rows", "mod", "J/tok md", "p90", "bias", "ITL md", "p90", "bias"
    );
    row("all", &summarize(res));
    for (title, key) in [
        (
            "model",
            &(|p: &wattage_request::calibration::Point| p.base_model.clone())
                as &dyn Fn(&_) -> String,
        ),
        ("accelerator", &|p: &wattage_request::calibration::Point| {
            p.hardware.clone()
        }),
        ("precision", &|p: &wattage_request::calibration::Point| {
            p.precision.to_string()
        }),
        ("task", &|p: &wattage_request::calibration::Point| {
            format!("{:?}", p.task)
        }),
    ] {
        println!("-- by {title}");
        for (k, s) in by(res, key) {
            row(&k, &s);
        }
    }
}

fn main() {
    let cat = Catalog::builtin();
    let pts = match points() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let cs = match cases(&cat, &pts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let shipped = Fit::shipped(&cat, &["h100-sxm", "b200"]);
    table("shipped constants, in-sample", &residuals(&cs, &shipped));
    let cv = cross_validate(&cs, &Fit::neutral(&["h100-sxm", "b200"]));
    table(
        "leave-one-model-out cross-validation (held-out predictions)",
        &cv.residuals,
    );
    for (m, k) in &cv.in_sample_constants {
        println!(
            "fold {m}: {} taken from the in-sample fit (no other model informs it)",
            k.join(", ")
        );
    }
    let ins = residuals(&cs, &cv.in_sample);
    table("refit on all rows, in-sample", &ins);
    println!("\n## fitted constants (all rows)\n{:#?}", cv.in_sample);
    if std::env::args().any(|a| a == "--rows") {
        println!("\n## held-out predictions");
        for r in &cv.residuals {
            let p = &r.point;
            println!(
                "{:<44} {:<8} {:<8} {:<14} b{:>7.1}/{:<7.1} J/tok {:>8.4} {:>8.4} {:>+6.1}%  ITL {:>7.2} {:>7.2} {:>+6.1}%  W {:>6.0} {:>6.0} {:>+6.1}%",
                p.model_repo,
                p.hardware,
                p.precision.to_string(),
                p.parallelism.to_string(),
                p.batch,
                r.batch_used,
                p.j_per_token,
                r.j_per_token,
                100.0 * r.energy_error(),
                p.median_itl_ms,
                r.median_itl_ms,
                100.0 * r.itl_error(),
                p.power_w,
                r.power_w,
                100.0 * r.power_error()
            );
        }
    }
}

//! Refits the roofline constants to the ML.ENERGY measurements by coordinate search within
//! each constant's physical range, and prints the errors. The fitted values are then written
//! into `RooflineParams::default()` by hand, with this output as their record.
//!
//! Run: `cargo run --release -p wattage-request --example calibrate`

use wattage_catalog::Catalog;
use wattage_request::RooflineParams;
use wattage_request::calibration::{loss, median_abs, residuals};

fn get(p: &RooflineParams, i: usize) -> f64 {
    [
        p.compute_efficiency,
        p.memory_efficiency,
        p.step_overhead_s,
        p.per_seq_overhead_s,
        p.collective_latency_s,
        p.power_active,
        p.power_compute,
        p.power_memory,
    ][i]
}

fn set(p: &mut RooflineParams, i: usize, v: f64) {
    match i {
        0 => p.compute_efficiency = v,
        1 => p.memory_efficiency = v,
        2 => p.step_overhead_s = v,
        3 => p.per_seq_overhead_s = v,
        4 => p.collective_latency_s = v,
        5 => p.power_active = v,
        6 => p.power_compute = v,
        _ => p.power_memory = v,
    }
}

/// Physical ranges: efficiencies below 1, overheads of microseconds to milliseconds.
const RANGE: [(f64, f64); 8] = [
    (0.3, 0.80),
    (0.5, 0.95),
    (0.0, 5e-3),
    (0.0, 150e-6),
    (3e-6, 30e-6),
    (0.1, 0.8),
    (0.0, 1.0),
    (0.0, 1.0),
];

fn main() {
    let cat = Catalog::builtin();
    let mut p = RooflineParams::default();
    let mut best = loss(&residuals(&cat, &p));
    let mut step = 0.25;
    for _round in 0..60 {
        let mut improved = false;
        for (i, &(lo, hi)) in RANGE.iter().enumerate() {
            for dir in [1.0, -1.0] {
                let mut q = p;
                let v = get(&p, i);
                let nv = (v + dir * step * (hi - lo)).clamp(lo, hi);
                set(&mut q, i, nv);
                let l = loss(&residuals(&cat, &q));
                if l < best {
                    best = l;
                    p = q;
                    improved = true;
                }
            }
        }
        if !improved {
            step /= 2.0;
            if step < 1e-4 {
                break;
            }
        }
    }
    println!("{p:#?}\nloss {best:.5}");
    report(&cat, &p);
}

fn report(cat: &Catalog, p: &RooflineParams) {
    let res = residuals(cat, p);
    println!(
        "{:<14} {:>5} {:>9} {:>9} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7}",
        "model", "batch", "J/tok", "pred", "err", "ITL ms", "pred", "err", "W", "pred", "err"
    );
    for r in &res {
        println!(
            "{:<14} {:>5} {:>9.4} {:>9.4} {:>6.1}% {:>8.2} {:>8.2} {:>6.1}% {:>8.0} {:>8.0} {:>6.1}%",
            r.point.model,
            r.point.max_num_seqs,
            r.point.j_per_token,
            r.j_per_token,
            100.0 * r.energy_error(),
            r.point.median_itl_ms,
            r.median_itl_ms,
            100.0 * r.itl_error(),
            r.point.power_w,
            r.power_w,
            100.0 * r.power_error()
        );
    }
    let worst = |f: &dyn Fn(&wattage_request::calibration::Residual) -> f64| {
        res.iter().map(|r| f(r).abs()).fold(0.0, f64::max)
    };
    println!(
        "energy/token: median |err| {:.1}%, worst {:.1}%",
        100.0 * median_abs(res.iter().map(|r| r.energy_error())),
        100.0 * worst(&|r| r.energy_error())
    );
    println!(
        "median ITL:   median |err| {:.1}%, worst {:.1}%",
        100.0 * median_abs(res.iter().map(|r| r.itl_error())),
        100.0 * worst(&|r| r.itl_error())
    );
    println!(
        "power:        median |err| {:.1}%, worst {:.1}%",
        100.0 * median_abs(res.iter().map(|r| r.power_error())),
        100.0 * worst(&|r| r.power_error())
    );
}

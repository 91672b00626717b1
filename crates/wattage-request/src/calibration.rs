//! Calibration of the roofline constants against measured serving energy.
//!
//! The data (`data/mlenergy-calibration.csv`, from the ML.ENERGY benchmark v3) are 23 steady
//! states of Llama 3.1 8B on one H100 and Llama 3.1 70B on four, served by vLLM at batch sizes
//! 8 to 768. Each is predicted with [`crate::estimate::roofline`] at `gpu` scope, with the
//! measured mean batch and output length and [`INPUT_TOKENS`] prompt tokens.

use wattage_catalog::Catalog;

use crate::assumptions::{Assumptions, Scope};
use crate::deploy::Deployment;
use crate::estimate::{Request, roofline};
use crate::roofline::{Roofline, RooflineParams};

/// The measurements, as shipped.
pub const CSV: &str = include_str!("../data/mlenergy-calibration.csv");

/// Mean prompt length assumed for the LMArena chat prompts the benchmark replays. The data do
/// not list it; public-cases.md says "a few hundred input tokens".
pub const INPUT_TOKENS: f64 = 300.0;

/// One measured configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Catalog id of the model.
    pub model: String,
    /// Accelerators (tensor-parallel degree).
    pub gpus: u32,
    /// Configured maximum concurrent sequences.
    pub max_num_seqs: u32,
    /// Measured mean batch.
    pub batch: f64,
    /// Measured mean output length, tokens.
    pub output_tokens: f64,
    /// Measured GPU power, summed over the replica, W.
    pub power_w: f64,
    /// Measured GPU energy per output token, J.
    pub j_per_token: f64,
    /// Measured median inter-token latency, ms.
    pub median_itl_ms: f64,
}

/// Parses the shipped measurements.
pub fn points() -> Vec<Point> {
    CSV.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let num = |i: usize| f.get(i).and_then(|s| s.trim().parse::<f64>().ok());
            let model = match f.first()?.trim() {
                "llama-3.1-8b-instruct" => "llama-3.1-8b",
                "llama-3.1-70b-instruct" => "llama-3.1-70b",
                _ => return None,
            };
            Some(Point {
                model: model.to_string(),
                gpus: num(3)? as u32,
                max_num_seqs: num(5)? as u32,
                batch: num(6)?,
                output_tokens: num(7)?,
                power_w: num(8)?,
                j_per_token: num(9)?,
                median_itl_ms: num(11)?,
            })
        })
        .collect()
}

/// A prediction beside its measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    /// The measurement.
    pub point: Point,
    /// Predicted GPU energy per output token, J.
    pub j_per_token: f64,
    /// Predicted median inter-token latency, ms.
    pub median_itl_ms: f64,
    /// Predicted mean GPU power of the replica, W.
    pub power_w: f64,
}

impl Residual {
    /// Relative error of energy per token (predicted / measured - 1).
    pub fn energy_error(&self) -> f64 {
        self.j_per_token / self.point.j_per_token - 1.0
    }
    /// Relative error of median inter-token latency.
    pub fn itl_error(&self) -> f64 {
        self.median_itl_ms / self.point.median_itl_ms - 1.0
    }
    /// Relative error of power.
    pub fn power_error(&self) -> f64 {
        self.power_w / self.point.power_w - 1.0
    }
}

/// Predicts every measurement with the given constants.
pub fn residuals(cat: &Catalog, params: &RooflineParams) -> Vec<Residual> {
    let h100 = cat.hardware("h100-sxm").ok();
    let region = cat.region("us-average").ok();
    let (Some(h100), Some(region)) = (h100, region) else {
        return Vec::new();
    };
    let mut a = Assumptions::for_region(region);
    a.roofline = *params;
    points()
        .into_iter()
        .filter_map(|p| {
            let m = cat.model(&p.model).ok()?;
            let d = Deployment::new(m, h100, p.gpus, None).ok()?;
            let r = Roofline::new(&d, *params);
            let req = Request {
                input_tokens: INPUT_TOKENS,
                output_tokens: p.output_tokens,
                batch: p.batch,
            };
            let e = roofline(&d, &r, &req, &a, Scope::Gpu);
            Some(Residual {
                j_per_token: e.energy.j() / p.output_tokens,
                median_itl_ms: e.itl_median.ms(),
                power_w: e.replica_power.w(),
                point: p,
            })
        })
        .collect()
}

/// Median of the absolute values.
pub fn median_abs(v: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = v.into_iter().map(f64::abs).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Fit objective: mean squared log error of energy per token and median ITL, plus a lighter
/// weight on power.
pub fn loss(res: &[Residual]) -> f64 {
    let n = res.len().max(1) as f64;
    res.iter()
        .map(|r| {
            let le = (r.j_per_token / r.point.j_per_token).ln();
            let li = (r.median_itl_ms / r.point.median_itl_ms).ln();
            let lp = (r.power_w / r.point.power_w).ln();
            le * le + li * li + 0.5 * lp * lp
        })
        .sum::<f64>()
        / n
}

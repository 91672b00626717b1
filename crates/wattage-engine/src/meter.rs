//! The meter: prices one real, finished request (its counted tokens, the batch it shared)
//! with the request model of [`crate::estimate`]. The metering gateway calls it once per
//! request, so it resolves the deployment once and is cheap per call.
//!
//! What it does differently from `wattage estimate`, and why:
//! - Completion tokens as counted by a server already include hidden reasoning, so the
//!   model's reasoning multiplier is not applied (it is 1 for every open model).
//! - Cached prompt tokens skip prefill: their share of the prefill energy is removed. The
//!   decode still reads their KV cache, so they stay in the context.
//! - A request the upstream served is never refused: the catalog's context limit is lifted,
//!   and a measured batch the model thinks cannot fit in the KV cache is priced at the
//!   largest batch that fits (the batch used is returned). A request that does not fit even
//!   alone is priced as a lone request of the longest context that fits, scaled by tokens.
//! - With no output (embeddings), only the prefill energy is counted.
//! - The low/high range is the Monte Carlo's 5th/95th percentile relative to the point
//!   estimate, computed once per power-of-two bucket of prompt, output and batch (at the
//!   bucket's geometric centre, [`RANGE_SAMPLES`] samples, the spec's seed) and cached.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use wattage_catalog::Catalog;
use wattage_request::uncertainty::monte_carlo;
use wattage_request::{Estimate, Request, Scope, estimate};

use crate::error::{Result, request_error};
use crate::estimate::{EstimateSpec, Prepared, prepare, scope_name};

/// Monte Carlo samples behind each cached range.
pub const RANGE_SAMPLES: usize = 2_000;

/// The tokens of one request as the server counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Of the prompt, tokens served from the prefix cache.
    pub cached_input_tokens: u64,
    /// Generated tokens, reasoning included.
    pub output_tokens: u64,
}

/// What one request cost. Names are those of `wattage estimate --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impacts {
    /// Energy inside the scope, Wh.
    pub energy_wh: f64,
    /// Monte Carlo 5th percentile, Wh.
    pub low_wh: f64,
    /// Monte Carlo 95th percentile, Wh.
    pub high_wh: f64,
    /// Energy per output token, J (per input token when there is no output).
    pub energy_j_per_output_token: f64,
    /// Emissions, g CO2e.
    pub co2e_g: f64,
    /// Water on site and at power plants, mL.
    pub water_ml: f64,
    /// Electricity cost, USD.
    pub cost_usd: f64,
    /// Energy boundary.
    pub scope: &'static str,
    /// Batch the request was priced at (the measured one, or the largest that fits).
    pub batch: f64,
}

/// Power-of-two buckets of prompt, output and batch.
type Bucket = (u8, u8, u8);

/// A deployment resolved once, ready to price many requests.
#[derive(Debug)]
pub struct Meter {
    prepared: Prepared,
    seed: u64,
    ranges: Mutex<HashMap<Bucket, (f64, f64)>>,
}

fn bucket(x: f64) -> u8 {
    // log2 buckets; x >= 1.
    (x.max(1.0).log2().floor() as i64).clamp(0, 40) as u8
}

fn centre(b: u8) -> f64 {
    2f64.powf(f64::from(b) + 0.5).round().max(1.0)
}

impl Meter {
    /// Resolves the deployment of `spec` (model, hardware, GPUs, precision, region, scope,
    /// `set` overrides; its tokens and batch are ignored).
    pub fn new(cat: &Catalog, spec: &EstimateSpec) -> Result<Self> {
        let mut prepared = prepare(cat, spec)?;
        prepared.deployment.model.reasoning_multiplier = 1.0;
        prepared.deployment.model.context = u32::MAX;
        prepared.method = wattage_request::Method::Roofline;
        let meter = Self {
            prepared,
            seed: spec.seed,
            ranges: Mutex::new(HashMap::new()),
        };
        // Fail now, not on the first request, if the deployment cannot price anything.
        meter.price(
            &Usage {
                input_tokens: 100,
                cached_input_tokens: 0,
                output_tokens: 100,
            },
            1.0,
        )?;
        Ok(meter)
    }

    /// Catalog model id it prices as.
    pub fn model(&self) -> &str {
        &self.prepared.deployment.model.id
    }

    /// Catalog hardware id.
    pub fn hardware(&self) -> &str {
        &self.prepared.deployment.hardware.id
    }

    /// Accelerators per replica.
    pub fn gpus(&self) -> u32 {
        self.prepared.deployment.gpus
    }

    /// The region's grid carbon intensity, g CO2e per kWh.
    pub fn carbon_g_per_kwh(&self) -> f64 {
        self.prepared.assumptions.carbon.g_per_kwh()
    }

    /// The region's electricity price, USD per kWh.
    pub fn price_usd_per_kwh(&self) -> f64 {
        self.prepared.assumptions.price.usd_per_mwh() / 1000.0
    }

    /// The largest batch of such requests the KV cache holds at steady state (prompt plus
    /// half the output each, as `wattage estimate` counts it), at least 1.
    fn max_batch(&self, input: f64, output: f64) -> f64 {
        Request {
            input_tokens: input,
            output_tokens: output,
            batch: 1.0,
        }
        .max_batch(&self.prepared.deployment)
        .floor()
        .max(1.0)
    }

    fn point(&self, input: f64, output: f64, batch: f64) -> Result<(Estimate, f64, f64)> {
        let p = &self.prepared;
        let ctx = input + output;
        let batch = batch.clamp(1.0, self.max_batch(input, output));
        let req = Request {
            input_tokens: input,
            output_tokens: output,
            batch,
        };
        match estimate(&p.deployment, &req, &p.assumptions, p.method, p.scope) {
            Ok(e) => Ok((e, batch, 1.0)),
            Err(first) => {
                // Does not fit even alone: the longest context that fits, scaled by tokens.
                let d = &p.deployment;
                let cap = d.kv_capacity_tokens();
                if !(cap >= 2.0 && ctx > 0.0) {
                    return Err(request_error(first));
                }
                let shrink = (cap / d.kv_footprint_tokens(ctx).max(1.0)).min(1.0) * 0.99;
                let small = Request {
                    input_tokens: (input * shrink).floor(),
                    output_tokens: (output * shrink).floor().max(1.0),
                    batch: 1.0,
                };
                let e = estimate(&p.deployment, &small, &p.assumptions, p.method, p.scope)
                    .map_err(|_| request_error(first))?;
                let scale = ctx / (small.input_tokens + small.output_tokens);
                Ok((e, 1.0, scale))
            }
        }
    }

    /// Low and high relative to the point estimate, for this bucket.
    fn range(&self, input: f64, output: f64, batch: f64) -> Result<(f64, f64)> {
        let key = (bucket(input), bucket(output), bucket(batch));
        if let Some(r) = self.ranges.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(r);
        }
        let p = &self.prepared;
        let (i, o) = (centre(key.0), centre(key.1));
        let b = centre(key.2).min(self.max_batch(i, o));
        let req = Request {
            input_tokens: i,
            output_tokens: o,
            batch: b,
        };
        let r = match (
            estimate(&p.deployment, &req, &p.assumptions, p.method, p.scope),
            monte_carlo(
                &p.deployment,
                &req,
                &p.assumptions,
                &p.uncertainty,
                p.method,
                p.scope,
                RANGE_SAMPLES,
                self.seed,
            ),
        ) {
            (Ok(e), Ok(mc)) if e.energy.wh() > 0.0 => (
                mc.energy_wh.p5 / e.energy.wh(),
                mc.energy_wh.p95 / e.energy.wh(),
            ),
            // The bucket's centre does not fit alone: no spread known, none claimed
            // beyond the point (logged as a range of zero width).
            _ => (1.0, 1.0),
        };
        if let Ok(mut m) = self.ranges.lock() {
            m.insert(key, r);
        }
        Ok(r)
    }

    /// Prices one request at the measured `batch` (mean sequences sharing the replica while
    /// it ran). `carbon_g_per_kwh`, when given, replaces the region's intensity (an hourly
    /// series).
    pub fn price_with(
        &self,
        u: &Usage,
        batch: f64,
        carbon_g_per_kwh: Option<f64>,
    ) -> Result<Impacts> {
        let input = u.input_tokens as f64;
        let cached = (u.cached_input_tokens.min(u.input_tokens)) as f64;
        let output = u.output_tokens as f64;
        let batch = if batch.is_finite() { batch } else { 1.0 };
        let (e, used_batch, scale) = self.point(input, output.max(1.0), batch)?;
        let total = e.energy.wh();
        let mut wh = if output >= 1.0 { total } else { e.prefill.wh() };
        if input > 0.0 {
            wh -= e.prefill.wh() * cached / input;
        }
        wh = wh.max(0.0) * scale;
        let share = if total > 0.0 { wh / total } else { 0.0 };
        let (lo, hi) = self.range(input, output.max(1.0), used_batch)?;
        let co2e_g = match carbon_g_per_kwh {
            Some(g) if g.is_finite() && g >= 0.0 => wh / 1000.0 * g,
            _ => e.co2e.g() * share,
        };
        let per = if output >= 1.0 {
            output
        } else {
            input.max(1.0)
        };
        Ok(Impacts {
            energy_wh: wh,
            low_wh: wh * lo,
            high_wh: wh * hi,
            energy_j_per_output_token: wh * 3600.0 / per,
            co2e_g,
            water_ml: e.water().ml() * share,
            cost_usd: e.cost.usd() * share,
            scope: scope_name(self.prepared.scope),
            batch: used_batch,
        })
    }

    /// Prices one request at the region's grid intensity.
    pub fn price(&self, u: &Usage, batch: f64) -> Result<Impacts> {
        self.price_with(u, batch, None)
    }

    /// The scope the meter prices in.
    pub fn scope(&self) -> Scope {
        self.prepared.scope
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn spec() -> EstimateSpec {
        EstimateSpec {
            model: Some("llama-3.1-70b".into()),
            hardware: Some("h100-sxm".into()),
            gpus: Some(4),
            samples: 0,
            ..EstimateSpec::default()
        }
    }

    /// The meter and `wattage estimate` are one model: same tokens, same batch, same Wh.
    #[test]
    fn agrees_with_the_estimate_job() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        for (i, o, b) in [(37u64, 16u64, 1.0), (500, 500, 12.5), (3000, 40, 64.0)] {
            let got = m
                .price(
                    &Usage {
                        input_tokens: i,
                        cached_input_tokens: 0,
                        output_tokens: o,
                    },
                    b,
                )
                .unwrap();
            let want = crate::estimate::run(
                &cat,
                &EstimateSpec {
                    input_tokens: Some(i as f64),
                    output_tokens: Some(o as f64),
                    batch: Some(b),
                    ..spec()
                },
            )
            .unwrap();
            assert!((got.energy_wh / want.energy_wh - 1.0).abs() < 1e-12);
            assert!((got.co2e_g / want.co2e_g - 1.0).abs() < 1e-12);
            assert!((got.water_ml / want.water_ml - 1.0).abs() < 1e-12);
            assert!((got.cost_usd / want.cost_usd - 1.0).abs() < 1e-12);
            assert!(got.low_wh < got.energy_wh && got.energy_wh < got.high_wh);
            assert_eq!(got.batch, b);
        }
    }

    /// The cached range is close to the estimate's own Monte Carlo at the same request
    /// (within the sampling noise of 2,000 draws and the bucket's spread).
    #[test]
    fn range_is_the_estimates_range() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        let u = Usage {
            input_tokens: 724,
            cached_input_tokens: 0,
            output_tokens: 362,
        };
        let got = m.price(&u, 8.0).unwrap();
        let want = crate::estimate::run(
            &cat,
            &EstimateSpec {
                input_tokens: Some(724.0),
                output_tokens: Some(362.0),
                batch: Some(8.0),
                samples: 20_000,
                ..spec()
            },
        )
        .unwrap();
        let (lo, hi) = (want.low_wh.unwrap(), want.high_wh.unwrap());
        assert!((got.low_wh / lo - 1.0).abs() < 0.05, "{} {lo}", got.low_wh);
        assert!(
            (got.high_wh / hi - 1.0).abs() < 0.05,
            "{} {hi}",
            got.high_wh
        );
    }

    #[test]
    fn cached_tokens_remove_their_prefill_share_only() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        let full = m
            .price(
                &Usage {
                    input_tokens: 2000,
                    cached_input_tokens: 0,
                    output_tokens: 100,
                },
                4.0,
            )
            .unwrap();
        let half = m
            .price(
                &Usage {
                    input_tokens: 2000,
                    cached_input_tokens: 1000,
                    output_tokens: 100,
                },
                4.0,
            )
            .unwrap();
        let est = crate::estimate::run(
            &cat,
            &EstimateSpec {
                input_tokens: Some(2000.0),
                output_tokens: Some(100.0),
                batch: Some(4.0),
                ..spec()
            },
        )
        .unwrap();
        let expect = full.energy_wh - est.prefill_wh / 2.0;
        assert!((half.energy_wh / expect - 1.0).abs() < 1e-12);
        assert!(half.energy_wh > est.decode_wh);
    }

    #[test]
    fn embeddings_cost_their_prefill() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        let e = m
            .price(
                &Usage {
                    input_tokens: 300,
                    cached_input_tokens: 0,
                    output_tokens: 0,
                },
                1.0,
            )
            .unwrap();
        let est = crate::estimate::run(
            &cat,
            &EstimateSpec {
                input_tokens: Some(300.0),
                output_tokens: Some(1.0),
                batch: Some(1.0),
                ..spec()
            },
        )
        .unwrap();
        assert!((e.energy_wh / est.prefill_wh - 1.0).abs() < 1e-12);
        assert!(e.energy_wh > 0.0 && e.energy_wh.is_finite());
    }

    /// What the upstream served is never refused: a batch past the KV cache is priced at
    /// the largest that fits, a prompt past the context still gets a finite price.
    #[test]
    fn never_refuses_what_was_served() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        let big = m
            .price(
                &Usage {
                    input_tokens: 100_000,
                    cached_input_tokens: 0,
                    output_tokens: 1_000,
                },
                5_000.0,
            )
            .unwrap();
        assert!(big.batch < 5_000.0 && big.batch >= 1.0);
        assert!(big.energy_wh.is_finite() && big.energy_wh > 0.0);
        let huge = m
            .price(
                &Usage {
                    input_tokens: 50_000_000,
                    cached_input_tokens: 0,
                    output_tokens: 10,
                },
                1.0,
            )
            .unwrap();
        assert!(huge.energy_wh.is_finite() && huge.energy_wh > big.energy_wh);
        for b in [f64::NAN, f64::INFINITY, -3.0, 0.0] {
            let r = m.price(&Usage::default(), b).unwrap();
            assert!(r.energy_wh.is_finite() && r.batch >= 1.0);
        }
    }

    #[test]
    fn a_carbon_series_value_replaces_the_region() {
        let cat = Catalog::builtin();
        let m = Meter::new(&cat, &spec()).unwrap();
        let u = Usage {
            input_tokens: 100,
            cached_input_tokens: 0,
            output_tokens: 100,
        };
        let r = m.price_with(&u, 2.0, Some(100.0)).unwrap();
        assert!((r.co2e_g - r.energy_wh / 1000.0 * 100.0).abs() < 1e-15);
    }
}

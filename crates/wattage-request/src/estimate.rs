//! The energy, latency and impacts of one request, by either method.

use serde::Serialize;
use wattage_units::{Co2e, Energy, Flop, Power, Time, Usd, Water};

use crate::EstimateError;
use crate::assumptions::{Assumptions, Method, Scope};
use crate::deploy::Deployment;
use crate::roofline::{Roofline, Step, StepCost, StepWork};

/// One request: its prompt and output lengths, and how many sequences share the replica.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Request {
    /// Prompt tokens.
    pub input_tokens: f64,
    /// Visible output tokens.
    pub output_tokens: f64,
    /// Sequences decoding concurrently on the replica (the batch), including this one.
    pub batch: f64,
}

impl Request {
    /// Checks the request is well formed, naming the first bad field.
    pub fn validate(&self, d: &Deployment) -> Result<(), EstimateError> {
        if !(self.input_tokens.is_finite() && self.input_tokens >= 0.0) {
            return Err(EstimateError::invalid(
                "input_tokens",
                "must be zero or more",
            ));
        }
        if !(self.output_tokens.is_finite() && self.output_tokens >= 1.0) {
            return Err(EstimateError::invalid(
                "output_tokens",
                "must be at least 1",
            ));
        }
        if !(self.batch.is_finite() && self.batch >= 1.0) {
            return Err(EstimateError::invalid("batch", "must be at least 1"));
        }
        let generated = self.output_tokens * d.model.reasoning_multiplier;
        let ctx = self.input_tokens + generated;
        if ctx > f64::from(d.model.context) {
            return Err(EstimateError::invalid(
                "input_tokens",
                format!(
                    "prompt plus output ({ctx:.0} tokens) exceeds `{}`'s context of {} tokens",
                    d.model.id, d.model.context
                ),
            ));
        }
        Ok(())
    }

    /// Mean tokens of context a sequence holds in steady state under continuous batching:
    /// sequences are at every stage, so on average the whole prompt and half the output.
    pub fn steady_context(&self, d: &Deployment) -> f64 {
        self.input_tokens + self.output_tokens * d.model.reasoning_multiplier / 2.0
    }

    /// The most sequences like this one the deployment's KV cache (and recurrent state) holds
    /// at once in steady state.
    pub fn max_batch(&self, d: &Deployment) -> f64 {
        d.max_sequences(self.steady_context(d))
    }

    /// This request at the batch the deployment can hold: the batch asked for when it fits,
    /// else the largest that fits (at least one sequence). Never refuses: what the caller
    /// does with a smaller batch (warn, record it) is theirs.
    pub fn fit_batch(&self, d: &Deployment) -> Self {
        let cap = self.max_batch(d).max(1.0);
        Self {
            batch: self.batch.min(cap),
            ..*self
        }
    }
}

/// Energy by where it is drawn. Each part is the request's share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Breakdown {
    /// Accelerators.
    pub gpu: Energy,
    /// Host CPUs, DRAM, NICs, fans.
    pub host: Energy,
    /// Idle reserve capacity.
    pub reserve: Energy,
    /// Facility overhead: cooling and power delivery (PUE - 1).
    pub facility_overhead: Energy,
}

impl Breakdown {
    /// Energy inside a scope's boundary.
    pub fn at(&self, scope: Scope) -> Energy {
        match scope {
            Scope::Gpu => self.gpu,
            Scope::Server => self.gpu + self.host,
            Scope::Facility => self.gpu + self.host + self.reserve + self.facility_overhead,
        }
    }
    /// IT energy inside a scope's boundary (what on-site cooling water is charged on).
    pub fn it_at(&self, scope: Scope) -> Energy {
        match scope {
            Scope::Gpu => self.gpu,
            Scope::Server => self.gpu + self.host,
            Scope::Facility => self.gpu + self.host + self.reserve,
        }
    }
    /// What a scope's energy causes under `a`: emissions, on-site (cooling) water on its IT
    /// energy, off-site water at the power plants, and electricity cost.
    #[inline]
    pub fn impacts(&self, scope: Scope, a: &Assumptions) -> Impacts {
        let energy = self.at(scope);
        Impacts {
            energy,
            co2e: energy * a.carbon,
            water_onsite: self.it_at(scope) * a.wue_onsite,
            water_offsite: energy * a.wue_offsite,
            cost: energy * a.price,
        }
    }
}

/// A scope's energy and what it causes (see [`Breakdown::impacts`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impacts {
    /// Energy inside the scope.
    pub energy: Energy,
    /// Emissions.
    pub co2e: Co2e,
    /// On-site water.
    pub water_onsite: Water,
    /// Off-site water.
    pub water_offsite: Water,
    /// Electricity cost.
    pub cost: Usd,
}

impl Impacts {
    /// Total water.
    pub fn water(&self) -> Water {
        self.water_onsite + self.water_offsite
    }
}

/// The result of one estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// How it was estimated.
    pub method: Method,
    /// The boundary of `energy`.
    pub scope: Scope,
    /// Energy of the request inside the scope.
    pub energy: Energy,
    /// Of which prompt processing.
    pub prefill: Energy,
    /// Of which token generation.
    pub decode: Energy,
    /// The whole breakdown, all scopes.
    pub breakdown: Breakdown,
    /// Time to first token.
    pub ttft: Time,
    /// Mean time between output tokens (one decode iteration at this batch).
    pub decode_step: Time,
    /// Median inter-token latency.
    pub itl_median: Time,
    /// Time from arrival to last token.
    pub e2e: Time,
    /// Tokens generated, including hidden reasoning tokens.
    pub generated_tokens: f64,
    /// Sequences in the batch the estimate ran at: the batch asked for, or the largest the
    /// KV cache holds when that is smaller (see [`Request::fit_batch`]).
    pub batch_used: f64,
    /// Floating-point operations attributed to the request.
    pub flop: Flop,
    /// Accelerator-time attributed to the request.
    pub gpu_time: Time,
    /// Mean power of the replica's accelerators while busy.
    pub replica_power: Power,
    /// Model FLOP utilization while busy.
    pub compute_utilization: f64,
    /// Memory-bandwidth utilization while busy.
    pub memory_utilization: f64,
    /// Emissions of the scope's energy.
    pub co2e: Co2e,
    /// On-site (cooling) water of the scope's IT energy.
    pub water_onsite: Water,
    /// Off-site water (at the power plants) of the scope's energy.
    pub water_offsite: Water,
    /// Electricity cost of the scope's energy.
    pub cost: Usd,
}

impl Estimate {
    /// Total water.
    pub fn water(&self) -> Water {
        self.water_onsite + self.water_offsite
    }
}

/// The two iteration shapes a request meets in steady state under continuous batching, and
/// how often each occurs. See [`steady_state`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyState {
    /// An iteration that carries prompt tokens (and decodes for the other sequences).
    pub prefill_step: Step,
    /// An iteration that only decodes.
    pub decode_step: Step,
    /// Share of iterations that carry prompt tokens.
    pub prefill_share: f64,
    /// Iterations per completed request (replica-wide).
    pub steps_per_request: f64,
    /// Prefill iterations each request waits for before its first token.
    pub prefill_steps: f64,
}

/// Steady state of a replica whose `batch` slots all serve requests like `req`.
///
/// Each request occupies a slot for `k = ceil(input / chunk)` prefill iterations and
/// `output` decode iterations, so `batch / (k + output)` requests complete per iteration. If
/// fewer than one slot is prefilling on average, a share `f = batch k / (k + output)` of
/// iterations carry one chunk; otherwise every iteration carries `batch x input / (k +
/// output)` prompt tokens. With `batch = 1` this is exactly a lone request: `k` prefill
/// iterations, then `output` decode iterations.
pub fn steady_state(req: &Request, generated: f64, chunk: f64) -> SteadyState {
    let b = req.batch;
    let i = req.input_tokens;
    let k = if i > 0.0 { (i / chunk).ceil() } else { 0.0 };
    let cycle = k + generated;
    let prefilling = b * k / cycle;
    let f = prefilling.min(1.0);
    let ctx = i + generated / 2.0;
    let prefill_step = if f > 0.0 {
        let n_p = prefilling.max(1.0);
        let p = b * i / (cycle * f);
        let att = b / (cycle * f) * i * (i + 1.0) / 2.0;
        let d = (b - n_p).max(0.0);
        Step {
            prefill_tokens: p,
            prefill_attention: att,
            decode_seqs: d,
            decode_context: d * ctx,
            seqs: b,
        }
    } else {
        Step::default()
    };
    SteadyState {
        prefill_step,
        decode_step: Step::decode(b, ctx),
        prefill_share: f,
        steps_per_request: cycle / b,
        prefill_steps: k,
    }
}

/// Estimates one request on a deployment.
pub fn estimate(
    d: &Deployment,
    req: &Request,
    a: &Assumptions,
    method: Method,
    scope: Scope,
) -> Result<Estimate, EstimateError> {
    req.validate(d)?;
    a.validate()?;
    let req = &req.fit_batch(d);
    Ok(match method {
        Method::Roofline => roofline(d, &Roofline::new(d, a.roofline), req, a, scope),
        Method::Epoch => epoch(d, req, a, scope),
    })
}

/// The roofline estimate with a prebuilt [`Roofline`] (no validation: for hot loops such as
/// Monte Carlo, after [`estimate`] has validated the inputs once).
pub fn roofline(
    d: &Deployment,
    r: &Roofline,
    req: &Request,
    a: &Assumptions,
    scope: Scope,
) -> Estimate {
    RooflinePlan::new(d, r, req, a.max_batched_tokens).evaluate(d, r, a, scope)
}

/// The pieces of a roofline estimate shared by [`RooflinePlan::evaluate`] and
/// [`RooflinePlan::breakdown`].
struct Parts {
    pf: StepCost,
    dc: StepCost,
    /// Accelerator energy of the prefill iterations per request.
    e_pf: Energy,
    /// Replica busy time per request.
    busy: Time,
    breakdown: Breakdown,
}

/// The parts of a roofline estimate that do not depend on the model's constants: the steady
/// state and each iteration's FLOPs and bytes. A Monte Carlo builds it once and evaluates it
/// per sample.
#[derive(Debug, Clone, Copy)]
pub struct RooflinePlan {
    ss: SteadyState,
    batch: f64,
    generated: f64,
    prefill_work: StepWork,
    decode_work: StepWork,
}

impl RooflinePlan {
    /// Plans a request on a deployment with a prefill chunk of `chunk` tokens.
    pub fn new(d: &Deployment, r: &Roofline, req: &Request, chunk: f64) -> Self {
        let generated = req.output_tokens * d.model.reasoning_multiplier;
        let ss = steady_state(req, generated, chunk);
        Self {
            prefill_work: r.work(&ss.prefill_step),
            decode_work: r.work(&ss.decode_step),
            ss,
            batch: req.batch,
            generated,
        }
    }

    /// The energy breakdown per request under `r`'s constants and `a`'s assumptions: all a
    /// Monte Carlo sample needs ([`Self::evaluate`] builds the full estimate from the same
    /// parts).
    #[inline]
    pub fn breakdown(&self, d: &Deployment, r: &Roofline, a: &Assumptions) -> Breakdown {
        self.parts(d, r, a).breakdown
    }

    #[inline(always)]
    fn parts(&self, d: &Deployment, r: &Roofline, a: &Assumptions) -> Parts {
        let ss = &self.ss;
        let pf: StepCost = r.cost(&self.prefill_work);
        let dc: StepCost = r.cost(&self.decode_work);
        let f = ss.prefill_share;
        let n = ss.steps_per_request;
        // Accelerator energy per completed request.
        let e_pf = pf.energy() * (n * f);
        let e_dc = dc.energy() * (n * (1.0 - f));
        let gpu_total = e_pf + e_dc;
        let busy = pf.time * (n * f) + dc.time * (n * (1.0 - f));
        let gpus = f64::from(d.gpus);
        let host = d.hardware.host_power() * (gpus * a.host_load) * busy;
        let reserve = (d.hardware.idle() + d.hardware.host_power() * (a.host_load * 0.5))
            * (gpus * a.reserve)
            * busy;
        let it = gpu_total + host + reserve;
        Parts {
            pf,
            dc,
            e_pf,
            busy,
            breakdown: Breakdown {
                gpu: gpu_total,
                host,
                reserve,
                facility_overhead: it * (a.pue - 1.0),
            },
        }
    }

    /// The estimate under `r`'s constants and `a`'s scope assumptions.
    pub fn evaluate(
        &self,
        d: &Deployment,
        r: &Roofline,
        a: &Assumptions,
        scope: Scope,
    ) -> Estimate {
        let ss = &self.ss;
        let generated = self.generated;
        let Parts {
            pf,
            dc,
            e_pf,
            busy,
            breakdown,
        } = self.parts(d, r, a);
        let f = ss.prefill_share;
        let n = ss.steps_per_request;
        let gpus = f64::from(d.gpus);
        let gpu_total = breakdown.gpu;
        // The prefill part of the accelerators' energy, by token share.
        let pf_tokens = ss.prefill_step.tokens();
        let pf_share = if pf_tokens > 0.0 {
            ss.prefill_step.prefill_tokens / pf_tokens
        } else {
            0.0
        };
        let gpu_prefill = e_pf * pf_share;
        let energy = breakdown.at(scope);
        // Split every scope's energy between prefill and decode in the accelerators' proportion.
        let prefill_frac = if gpu_total.j() > 0.0 {
            gpu_prefill / gpu_total
        } else {
            0.0
        };
        let tpot = pf.time * f + dc.time * (1.0 - f);
        let ttft = pf.time * ss.prefill_steps;
        let flop = pf.flop * (n * f) + dc.flop * (n * (1.0 - f));
        let bytes = pf.bytes.count() * n * f + dc.bytes.count() * n * (1.0 - f);
        let peak = r.replica_peak_flops();
        let bw = r.replica_bandwidth();
        let busy_s = busy.s().max(f64::MIN_POSITIVE);
        finish(
            Estimate {
                method: Method::Roofline,
                scope,
                energy,
                prefill: energy * prefill_frac,
                decode: energy * (1.0 - prefill_frac),
                breakdown,
                ttft,
                decode_step: tpot,
                itl_median: if f >= 0.5 { pf.time } else { dc.time },
                e2e: ttft + tpot * (generated - 1.0).max(0.0),
                generated_tokens: generated,
                batch_used: self.batch,
                flop,
                gpu_time: busy * gpus,
                replica_power: gpu_total / busy.max(Time::from_s(f64::MIN_POSITIVE)),
                compute_utilization: flop.count() / (peak * busy_s),
                memory_utilization: bytes / (bw * busy_s),
                co2e: Co2e::ZERO,
                water_onsite: Water::ZERO,
                water_offsite: Water::ZERO,
                cost: Usd::ZERO,
            },
            a,
        )
    }
}

/// Epoch AI's flat-utilization method (seed 003), with a prefill term.
///
/// Decode: `2 N_active x output` FLOP at `utilization`; prefill: `2 N_active x input + 4 x
/// layers x hidden x input^2` FLOP at `prefill_utilization`. Energy = accelerator-seconds x
/// power per accelerator x `power_fraction`, where the power is the TDP (gpu scope), plus the
/// host share (server scope), times PUE (facility scope). Idle reserve is zero: the flat
/// utilization already charges idle capacity.
pub fn epoch(d: &Deployment, req: &Request, a: &Assumptions, scope: Scope) -> Estimate {
    let m = &d.model;
    let n = m.active_params();
    let generated = req.output_tokens * m.reasoning_multiplier;
    let i = req.input_tokens;
    let peak = d.peak_per_gpu();
    let flop_dc = Flop::new(2.0 * n * generated);
    let flop_pf = Flop::new(2.0 * n * i + 4.0 * f64::from(m.layers) * f64::from(m.hidden) * i * i);
    let t_dc = flop_dc / (peak * a.epoch_utilization);
    let t_pf = flop_pf / (peak * a.epoch_prefill_utilization);
    let gpu_w = d.hardware.tdp() * a.epoch_power_fraction;
    let host_w = d.hardware.host_power() * a.epoch_power_fraction;
    let gpu_time = t_dc + t_pf;
    let gpu = gpu_w * gpu_time;
    let host = host_w * gpu_time;
    let breakdown = Breakdown {
        gpu,
        host,
        reserve: Energy::ZERO,
        facility_overhead: (gpu + host) * (a.pue - 1.0),
    };
    let energy = breakdown.at(scope);
    let prefill_frac = if gpu_time.s() > 0.0 {
        t_pf / gpu_time
    } else {
        0.0
    };
    let gpus = f64::from(d.gpus);
    let step = t_dc / generated / gpus;
    finish(
        Estimate {
            method: Method::Epoch,
            scope,
            energy,
            prefill: energy * prefill_frac,
            decode: energy * (1.0 - prefill_frac),
            breakdown,
            ttft: t_pf / gpus,
            decode_step: step,
            itl_median: step,
            e2e: (t_pf + t_dc) / gpus,
            generated_tokens: generated,
            batch_used: req.batch,
            flop: flop_dc + flop_pf,
            gpu_time,
            replica_power: gpu_w * gpus,
            compute_utilization: a.epoch_utilization,
            memory_utilization: 0.0,
            co2e: Co2e::ZERO,
            water_onsite: Water::ZERO,
            water_offsite: Water::ZERO,
            cost: Usd::ZERO,
        },
        a,
    )
}

/// Fills carbon, water and cost from the scope's energy.
fn finish(mut e: Estimate, a: &Assumptions) -> Estimate {
    let i = e.breakdown.impacts(e.scope, a);
    e.co2e = i.co2e;
    e.water_onsite = i.water_onsite;
    e.water_offsite = i.water_offsite;
    e.cost = i.cost;
    e
}

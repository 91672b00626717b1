//! `wattage estimate`: energy, latency, carbon, water and cost of one LLM request.

use serde_json::json;
use wattage_catalog::{Catalog, Precision};
use wattage_request::estimate::steady_state;
use wattage_request::fleet::{self, compare};
use wattage_request::uncertainty::{Dist, Uncertainty, monte_carlo};
use wattage_request::{
    Assumptions, Deployment, Estimate, EstimateError, Method, Request, Roofline, Scope, estimate,
    presets,
};

use crate::common::{Global, ReplicaArgs, UserError, out, out_json, user};

/// Arguments of `wattage estimate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub replica: ReplicaArgs,
    /// Sequences decoding concurrently on the replica [default: 32; 1 with --method epoch]
    #[arg(long)]
    pub batch: Option<f64>,
    /// Prompt tokens [default: 500; 0 with --preset epoch-2025]
    #[arg(long = "input-tokens", visible_alias = "input")]
    pub input_tokens: Option<f64>,
    /// Output tokens [default: 500]
    #[arg(long = "output-tokens", visible_alias = "output")]
    pub output_tokens: Option<f64>,
    /// Estimation method: roofline or epoch [default: roofline]
    #[arg(long)]
    pub method: Option<String>,
    /// A named preset (epoch-2025); other flags override it
    #[arg(long)]
    pub preset: Option<String>,
    /// Energy boundary: gpu, server or facility
    #[arg(long, default_value = "facility")]
    pub scope: String,
    /// Grid region for carbon, water, PUE and price (see `wattage catalog regions`)
    #[arg(long, default_value = "us-average")]
    pub region: String,
    /// Override an assumption: NAME=VALUE, or a range NAME=LOW..HIGH, NAME=LOW:MODE:HIGH,
    /// NAME=MEAN~SD (repeatable; names in `--explain`)
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Monte Carlo samples for the low/high range (0: none)
    #[arg(long, default_value_t = 20_000)]
    pub samples: usize,
    /// Seed of the Monte Carlo
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Requests per day, to scale to a fleet
    #[arg(long = "requests-per-day")]
    pub requests_per_day: Option<f64>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    /// Print the arithmetic step by step with every assumption and its source
    #[arg(long)]
    pub explain: bool,
}

/// Everything resolved from the flags.
struct Resolved {
    deployment: Deployment,
    request: Request,
    assumptions: Assumptions,
    uncertainty: Uncertainty,
    method: Method,
    scope: Scope,
    region: wattage_catalog::Region,
}

fn parse_flag<T: std::str::FromStr<Err = String>>(flag: &str, v: &str) -> anyhow::Result<T> {
    v.parse::<T>()
        .map_err(|e| user(format!("invalid `--{flag}`: {e}")))
}

/// Turns a library error into a user error that names the flag.
pub fn request_error(e: EstimateError) -> anyhow::Error {
    match e {
        EstimateError::Invalid { field, reason } => {
            user(format!("invalid `--{}`: {reason}", field.replace('_', "-")))
        }
        e @ EstimateError::DoesNotFit { min_gpus, .. } => UserError::new(e.to_string())
            .hint(format!(
                "use `--gpus {min_gpus}`, or a narrower `--precision` (fp8 halves bf16 weights)"
            ))
            .into(),
    }
}

/// Looks up catalog names, turning misses into user errors with suggestions.
pub fn lookup<'a, T>(
    r: Result<&'a T, wattage_catalog::UnknownName>,
    list: &str,
) -> anyhow::Result<&'a T> {
    r.map_err(|e| {
        UserError::new(e.to_string())
            .hint(format!("`wattage catalog {list}` lists them all"))
            .into()
    })
}

fn resolve(cat: &Catalog, a: &Args) -> anyhow::Result<Resolved> {
    let preset = match &a.preset {
        Some(p) => Some(presets::find(p).ok_or_else(|| {
            UserError::new(format!("unknown preset `{p}`")).hint(format!(
                "presets: {}",
                presets::PRESETS
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
        None => None,
    };
    let model_name = a
        .replica
        .model
        .as_deref()
        .or(preset.map(|p| p.model))
        .unwrap_or("gpt-4o-est");
    let hw_name = a
        .replica
        .hardware
        .as_deref()
        .or(preset.map(|p| p.hardware))
        .unwrap_or("h100-sxm");
    let model = lookup(cat.model(model_name), "models")?;
    let hw = lookup(cat.hardware(hw_name), "hardware")?;
    let region = lookup(cat.region(&a.region), "regions")?.clone();
    let precision: Option<Precision> = match &a.replica.precision {
        Some(p) => Some(parse_flag("precision", p)?),
        None => preset.map(|p| p.precision),
    };
    let method: Method = match &a.method {
        Some(m) => parse_flag("method", m)?,
        None => preset.map_or(Method::Roofline, |p| p.method),
    };
    let scope: Scope = parse_flag("scope", &a.scope)?;
    let gpus = match a.replica.gpus.or(preset.map(|p| p.gpus)) {
        Some(g) => g,
        None => {
            // The fewest accelerators that hold the weights with room for a KV cache.
            let probe = Deployment::new(model, hw, 1, precision);
            match probe {
                Ok(_) => 1,
                Err(EstimateError::DoesNotFit { min_gpus, .. }) => min_gpus,
                Err(e) => return Err(request_error(e)),
            }
        }
    };
    let deployment = Deployment::new(model, hw, gpus, precision).map_err(request_error)?;
    let mut assumptions = Assumptions::for_region(&region);
    if let Some(p) = preset {
        for (n, v) in p.assumptions {
            assumptions.set(n, *v).map_err(request_error)?;
        }
    }
    let mut ranges = Vec::new();
    for s in &a.set {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| user(format!("invalid `--set {s}`: expected NAME=VALUE")))?;
        let name = name.trim();
        if assumptions.get(name).is_none() {
            return Err(UserError::new(format!(
                "invalid `--set {s}`: unknown assumption `{name}`"
            ))
            .hint(format!(
                "assumptions: {}",
                wattage_request::assumptions::NAMES.join(", ")
            ))
            .into());
        }
        let d = Dist::parse(value).map_err(|e| user(format!("invalid `--set {s}`: {e}")))?;
        assumptions.set(name, d.central()).map_err(request_error)?;
        if !matches!(d, Dist::Fixed { .. }) {
            ranges.push((name.to_string(), d));
        }
    }
    assumptions.validate().map_err(|e| match e {
        EstimateError::Invalid { field, reason } => {
            user(format!("invalid `--set {field}=...`: {reason}"))
        }
        e => request_error(e),
    })?;
    let mut uncertainty = Uncertainty::defaults(&assumptions, method);
    for (n, d) in ranges {
        uncertainty.set(&n, d);
    }
    // A fixed `--set` pins that assumption in the Monte Carlo too.
    for s in &a.set {
        if let Some((n, v)) = s.split_once('=')
            && let Ok(d @ Dist::Fixed { .. }) = Dist::parse(v)
        {
            uncertainty.set(n.trim(), d);
        }
    }
    let default_input = preset.map_or(500.0, |p| p.input_tokens);
    let default_output = preset.map_or(500.0, |p| p.output_tokens);
    let request = Request {
        input_tokens: a.input_tokens.unwrap_or(default_input),
        output_tokens: a.output_tokens.unwrap_or(default_output),
        batch: a
            .batch
            .unwrap_or(if method == Method::Epoch { 1.0 } else { 32.0 }),
    };
    Ok(Resolved {
        deployment,
        request,
        assumptions,
        uncertainty,
        method,
        scope,
        region,
    })
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let cat = g.catalog()?;
    let r = resolve(&cat, &a)?;
    let e = estimate(&r.deployment, &r.request, &r.assumptions, r.method, r.scope)
        .map_err(request_error)?;
    let mc = if a.samples > 0 {
        Some(
            monte_carlo(
                &r.deployment,
                &r.request,
                &r.assumptions,
                &r.uncertainty,
                r.method,
                r.scope,
                a.samples,
                a.seed,
            )
            .map_err(request_error)?,
        )
    } else {
        None
    };
    let fleet = a.requests_per_day.map(|n| fleet::scale(e.energy, n));
    if let Some(n) = a.requests_per_day
        && !(n.is_finite() && n > 0.0)
    {
        return Err(user(
            "invalid `--requests-per-day`: must be a positive number",
        ));
    }
    if a.json {
        return out_json(&to_json(&r, &e, mc.as_ref(), fleet.as_ref()));
    }
    if a.explain {
        explain(&r, &e);
    }
    summary(&r, &e, mc.as_ref(), fleet.as_ref());
    Ok(())
}

fn to_json(
    r: &Resolved,
    e: &Estimate,
    mc: Option<&wattage_request::uncertainty::McResult>,
    fleet: Option<&fleet::Fleet>,
) -> serde_json::Value {
    let d = &r.deployment;
    let c = compare(e.energy);
    let b = e.breakdown;
    json!({
        "model": d.model.id,
        "model_is_estimate": d.model.estimate,
        "hardware": d.hardware.id,
        "gpus": d.gpus,
        "precision": d.weight_precision.as_str(),
        "method": r.method,
        "scope": r.scope,
        "region": r.region.id,
        "batch": r.request.batch,
        "input_tokens": r.request.input_tokens,
        "output_tokens": r.request.output_tokens,
        "generated_tokens": e.generated_tokens,
        "energy_wh": e.energy.wh(),
        "energy_j_per_output_token": e.energy.j() / r.request.output_tokens,
        "low_wh": mc.map(|m| m.energy_wh.p5),
        "median_wh": mc.map(|m| m.energy_wh.p50),
        "high_wh": mc.map(|m| m.energy_wh.p95),
        "prefill_wh": e.prefill.wh(),
        "decode_wh": e.decode.wh(),
        "breakdown": {
            "gpu_wh": b.gpu.wh(),
            "host_wh": b.host.wh(),
            "reserve_wh": b.reserve.wh(),
            "facility_overhead_wh": b.facility_overhead.wh(),
        },
        "by_scope_wh": {
            "gpu": b.at(Scope::Gpu).wh(),
            "server": b.at(Scope::Server).wh(),
            "facility": b.at(Scope::Facility).wh(),
        },
        "ttft_ms": e.ttft.ms(),
        "decode_step_ms": e.decode_step.ms(),
        "itl_median_ms": e.itl_median.ms(),
        "e2e_s": e.e2e.s(),
        "flop": e.flop.count(),
        "gpu_seconds": e.gpu_time.s(),
        "replica_power_w": e.replica_power.w(),
        "compute_utilization": e.compute_utilization,
        "memory_utilization": e.memory_utilization,
        "co2e_g": e.co2e.g(),
        "co2e_g_low": mc.map(|m| m.co2e_g.p5),
        "co2e_g_high": mc.map(|m| m.co2e_g.p95),
        "water_ml": e.water().ml(),
        "water_onsite_ml": e.water_onsite.ml(),
        "water_offsite_ml": e.water_offsite.ml(),
        "cost_usd": e.cost.usd(),
        "comparisons": c,
        "fleet": fleet.map(|f| json!({
            "average_mw": f.average_power.mw(),
            "daily_mwh": f.daily_energy.mwh(),
            "annual_gwh": f.annual_energy.gwh(),
        })),
        "monte_carlo_samples": mc.map(|m| m.samples),
        "assumptions": r.assumptions.rows(&r.region, r.method),
    })
}

fn summary(
    r: &Resolved,
    e: &Estimate,
    mc: Option<&wattage_request::uncertainty::McResult>,
    fleet: Option<&fleet::Fleet>,
) {
    let d = &r.deployment;
    let est = if d.model.estimate {
        " (architecture estimated)"
    } else {
        ""
    };
    out(format!(
        "{}{est} on {} x {} ({}), batch {}, {} in / {} out, {} method, {} scope",
        d.model.name,
        d.gpus,
        d.hardware.name,
        d.weight_precision,
        r.request.batch,
        r.request.input_tokens,
        r.request.output_tokens,
        method_name(r.method),
        scope_name(r.scope)
    ));
    if e.generated_tokens > r.request.output_tokens {
        out(format!(
            "  reasoning         {:.0} tokens generated ({}x hidden reasoning)",
            e.generated_tokens, d.model.reasoning_multiplier
        ));
    }
    let range = mc.map_or(String::new(), |m| {
        format!(
            "  (p5 {:.3} .. p95 {:.3} Wh)",
            m.energy_wh.p5, m.energy_wh.p95
        )
    });
    out(format!(
        "  energy            {:.4} Wh{range}, {:.3} J per output token",
        e.energy.wh(),
        e.energy.j() / r.request.output_tokens
    ));
    out(format!(
        "    prefill         {:.4} Wh\n    decode          {:.4} Wh",
        e.prefill.wh(),
        e.decode.wh()
    ));
    let b = e.breakdown;
    out(format!(
        "  by scope          gpu {:.4} | server {:.4} | facility {:.4} Wh",
        b.at(Scope::Gpu).wh(),
        b.at(Scope::Server).wh(),
        b.at(Scope::Facility).wh()
    ));
    out(format!(
        "  breakdown         accelerators {:.4} | host {:.4} | idle reserve {:.4} | cooling and power delivery {:.4} Wh",
        b.gpu.wh(),
        b.host.wh(),
        b.reserve.wh(),
        b.facility_overhead.wh()
    ));
    if r.method == Method::Roofline {
        out(format!(
            "  latency           time to first token {:.1} ms | {:.2} ms per output token | end to end {:.2} s",
            e.ttft.ms(),
            e.decode_step.ms(),
            e.e2e.s()
        ));
        out(format!(
            "  while busy        compute {:.1}% of peak | memory bandwidth {:.1}% | replica draws {} ({:.0}% of TDP)",
            100.0 * e.compute_utilization,
            100.0 * e.memory_utilization,
            e.replica_power,
            100.0 * (e.replica_power / d.tdp())
        ));
    }
    out(format!(
        "  carbon            {:.3} g CO2e ({}, {:.0} gCO2e/kWh)",
        e.co2e.g(),
        r.region.id,
        r.assumptions.carbon.g_per_kwh()
    ));
    out(format!(
        "  water             {:.2} mL on site + {:.2} mL at power plants",
        e.water_onsite.ml(),
        e.water_offsite.ml()
    ));
    out(format!("  electricity cost  ${:.6}", e.cost.usd()));
    let c = compare(e.energy);
    out(format!(
        "  compared          {:.2} min of a 10 W LED bulb | {:.2} min of a 50 W laptop | {:.4}% of a US household's day",
        c.led_10w_minutes,
        c.laptop_50w_minutes,
        100.0 * c.us_household_day_share
    ));
    if let Some(f) = fleet {
        out(format!(
            "  fleet             {:.2} MW average | {:.1} MWh per day | {:.2} GWh per year",
            f.average_power.mw(),
            f.daily_energy.mwh(),
            f.annual_energy.gwh()
        ));
    }
}

fn explain(r: &Resolved, e: &Estimate) {
    let d = &r.deployment;
    let m = &d.model;
    let h = &d.hardware;
    out("Inputs");
    out(format!(
        "  model      {}: {:.1}B total, {:.1}B active parameters, {} layers, hidden {}, {} heads / {} KV heads x {}  [{}]",
        m.id,
        m.params_total_b,
        m.params_active_b,
        m.layers,
        m.hidden,
        m.heads,
        m.kv_heads,
        m.head_dim,
        m.source("params_active_b")
    ));
    out(format!(
        "  hardware   {}: {:.0} TFLOP/s dense {}, {:.2} TB/s, {:.0} GB, TDP {:.0} W, idle {:.0} W, host {:.0} W  [{}]",
        h.id,
        d.peak_per_gpu().tflops(),
        d.compute_precision,
        h.hbm_tb_s,
        h.hbm_gb,
        h.tdp_w,
        h.idle_w,
        h.host_w_per_accel,
        h.source("peak_tflops")
    ));
    out(format!(
        "  replica    {} GPUs, weights {:.1} GB in {}, KV cache {} holds {:.0} tokens",
        d.gpus,
        d.weight_bytes().gb(),
        d.weight_precision,
        d.kv_precision,
        d.kv_capacity_tokens()
    ));
    out("Assumptions (override with --set NAME=VALUE)");
    for row in r.assumptions.rows(&r.region, r.method) {
        out(format!(
            "  {:<22} {:>12} {:<10} {}",
            row.name,
            format!("{:.6}", row.value)
                .trim_end_matches('0')
                .trim_end_matches('.'),
            row.unit,
            row.source
        ));
    }
    out("Arithmetic");
    let req = &r.request;
    let a = &r.assumptions;
    match r.method {
        Method::Epoch => {
            let n = m.active_params();
            let peak = d.peak_per_gpu().flops();
            let fd = 2.0 * n * e.generated_tokens;
            let fp = 2.0 * n * req.input_tokens
                + 4.0 * f64::from(m.layers) * f64::from(m.hidden) * req.input_tokens.powi(2);
            out(format!(
                "  decode FLOP   = 2 x {n:.3e} x {:.0} tokens = {fd:.3e}",
                e.generated_tokens
            ));
            out(format!(
                "  prefill FLOP  = 2 x {n:.3e} x {:.0} + 4 x {} layers x {} x {:.0}^2 = {fp:.3e}",
                req.input_tokens, m.layers, m.hidden, req.input_tokens
            ));
            out(format!(
                "  GPU-seconds   = {fd:.3e} / ({peak:.3e} x {}) + {fp:.3e} / ({peak:.3e} x {:.3}) = {:.3} s",
                a.epoch_utilization,
                a.epoch_prefill_utilization,
                e.gpu_time.s()
            ));
            out(format!(
                "  power per GPU = ({:.0} W GPU + {:.0} W host) x {} = {:.0} W",
                h.tdp_w,
                h.host_w_per_accel,
                a.epoch_power_fraction,
                (h.tdp_w + h.host_w_per_accel) * a.epoch_power_fraction
            ));
        }
        Method::Roofline => {
            let rl = Roofline::new(d, a.roofline);
            let ss = steady_state(req, e.generated_tokens, a.max_batched_tokens);
            out(format!(
                "  steady state: each request holds a slot for {:.0} prefill + {:.0} decode iterations; {:.1}% of iterations carry prompt tokens; {:.3} iterations per completed request",
                ss.prefill_steps,
                e.generated_tokens,
                100.0 * ss.prefill_share,
                ss.steps_per_request
            ));
            for (label, st) in [
                ("prefill iteration", ss.prefill_step),
                ("decode iteration", ss.decode_step),
            ] {
                if st.tokens() <= 0.0 {
                    continue;
                }
                let c = rl.step(&st);
                out(format!(
                    "  {label}: {:.0} prompt + {:.0} decode tokens; {:.3e} FLOP -> {:.3} ms compute; {:.3e} B -> {:.3} ms memory; comm {:.3} ms; overhead {:.3} ms; time = max + comm + overhead = {:.3} ms at {:.0} W",
                    st.prefill_tokens,
                    st.decode_seqs,
                    c.flop.count(),
                    c.compute_time.ms(),
                    c.bytes.count(),
                    c.memory_time.ms(),
                    c.comm_time.ms(),
                    c.overhead_time.ms(),
                    c.time.ms(),
                    c.power.w()
                ));
            }
        }
    }
    let b = e.breakdown;
    out(format!(
        "  accelerators {:.4} Wh + host {:.4} Wh + idle reserve {:.4} Wh + facility overhead (PUE {:.2} - 1) {:.4} Wh",
        b.gpu.wh(),
        b.host.wh(),
        b.reserve.wh(),
        a.pue,
        b.facility_overhead.wh()
    ));
    out(format!(
        "  {} scope = {:.4} Wh; CO2e = {:.6} kWh x {:.0} g/kWh = {:.3} g",
        scope_name(r.scope),
        e.energy.wh(),
        e.energy.kwh(),
        a.carbon.g_per_kwh(),
        e.co2e.g()
    ));
    out("");
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Roofline => "roofline",
        Method::Epoch => "epoch",
    }
}

fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Gpu => "gpu",
        Scope::Server => "server",
        Scope::Facility => "facility",
    }
}

//! `wattage estimate`: energy, latency, carbon, water and cost of one LLM request.

use wattage_engine::ParamStyle;
use wattage_engine::estimate::{
    self as job, EstimateResult, EstimateSpec, method_name, scope_name,
};
use wattage_request::Method;

use crate::common::{AccountingArgs, Global, ReplicaArgs, out, out_json, ranged};

/// Arguments of `wattage estimate`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    pub replica: ReplicaArgs,
    /// Mean number of running sequences per replica (the batch each iteration carries; the
    /// cap is vLLM's --max-num-seqs in `simulate serving`). When the KV cache cannot hold
    /// that many at steady state, the estimate runs at the largest batch that fits and warns
    /// [default: 32; 1 with --method epoch]
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
    #[arg(long, default_value_t = 20_000, value_parser = ranged!(usize, "estimate", "samples"))]
    pub samples: usize,
    /// Seed of the Monte Carlo
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Requests per day, to scale to a fleet
    #[arg(long = "requests-per-day")]
    pub requests_per_day: Option<f64>,
    #[command(flatten)]
    pub accounting: AccountingArgs,
    /// The same request on another deployment, side by side: HARDWARE, or
    /// HARDWARE,KEY=VALUE,... with keys precision, kv_cache_dtype, batch,
    /// tensor_parallel_size, data_parallel_size, enable_expert_parallel (repeatable).
    /// Example: a local 8B model on a laptop against a cloud replica, `--hardware rtx-4090
    /// --precision int4 --batch 1 --compare h100-sxm,batch=64`
    #[arg(long, value_name = "HARDWARE[,KEY=VALUE...]")]
    pub compare: Vec<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    /// Print the arithmetic step by step with every assumption and its source
    #[arg(long)]
    pub explain: bool,
}

impl Args {
    /// The engine's spec of these flags.
    pub fn spec(&self) -> EstimateSpec {
        EstimateSpec {
            model: self.replica.model.clone(),
            hardware: self.replica.hardware.clone(),
            tensor_parallel_size: self.replica.tensor_parallel_size,
            data_parallel_size: self.replica.data_parallel_size,
            enable_expert_parallel: self.replica.enable_expert_parallel,
            gpus: None,
            precision: self.replica.precision.clone(),
            kv_cache_dtype: self.replica.kv_cache_dtype.clone(),
            batch: self.batch,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            method: self.method.clone(),
            preset: self.preset.clone(),
            scope: self.scope.clone(),
            region: self.region.clone(),
            set: self.set.clone(),
            samples: self.samples,
            seed: self.seed,
            requests_per_day: self.requests_per_day,
            max_work: None,
            cost_basis: self.accounting.cost_basis.clone(),
            clean_share: self.accounting.clean_share,
            residual_carbon_g_per_kwh: self.accounting.residual_carbon_g_per_kwh,
        }
    }
}

/// Runs the command.
pub fn run(g: &Global, a: Args) -> anyhow::Result<()> {
    let mut cat = g.catalog()?;
    if let Some(m) = &a.replica.model {
        wattage_engine::spec::model_file(&wattage_engine::FileSystem, &mut cat, m, None)?;
    }
    let spec = EstimateSpec {
        max_work: g.max_work,
        ..a.spec()
    };
    g.warn(&spec.deprecations());
    let mut r = job::run(&cat, &spec)?;
    r.compared = job::compare(&cat, &spec, &a.compare)?;
    for w in &mut r.warnings {
        *w = ParamStyle::Flag.rename(w);
        eprintln!("warning: {w}");
    }
    if a.json {
        return out_json(&r);
    }
    if a.explain {
        for line in job::explain(&r) {
            out(ParamStyle::Flag.rename(&line));
        }
    }
    summary(&r);
    if !r.compared.is_empty() {
        compared(&r);
    }
    Ok(())
}

/// The `--compare` table: the main estimate first, then each comparison.
fn compared(r: &EstimateResult) {
    out(format!(
        "\ncompared ({} scope; J per output token at each scope)",
        scope_name(r.scope)
    ));
    out(format!(
        "  {:<34} {:>6} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "deployment", "batch", "gpu J", "server J", "facil. J", "Wh/request", "g CO2e", "ITL ms"
    ));
    let main = job::Compared::of("", r);
    for c in std::iter::once(&main).chain(&r.compared) {
        let per_token = |wh: f64| wh * 3600.0 / r.output_tokens.max(1.0);
        let name = format!("{} x {} ({})", c.gpus, c.hardware, c.precision);
        out(format!(
            "  {:<34} {:>6.1} {:>9.4} {:>9.4} {:>9.4} {:>10.4} {:>10.4} {:>9.2}",
            name,
            c.batch_used,
            per_token(c.by_scope_wh.gpu),
            per_token(c.by_scope_wh.server),
            per_token(c.by_scope_wh.facility),
            c.energy_wh,
            c.co2e_g,
            c.itl_median_ms
        ));
    }
}

fn summary(r: &EstimateResult) {
    let x = &r.detail;
    let d = &x.deployment;
    let est = if r.model_is_estimate {
        " (architecture estimated)"
    } else {
        ""
    };
    let batch = if r.batch_used < r.batch {
        format!(
            "batch {} (asked {})",
            wattage_report::format::significant(r.batch_used, 4),
            r.batch
        )
    } else {
        format!("batch {}", r.batch)
    };
    // The KV cache's type when it is not the weights' (fp8 weights keep an fp8 cache by
    // default; int4 weights an fp8 one).
    let kv = if d.kv_precision == d.weight_precision {
        String::new()
    } else {
        format!(", KV cache {}", d.kv_precision)
    };
    out(format!(
        "{}{est} on {} x {} ({}, {}{kv}), {batch}, {} in / {} out, {} method, {} scope",
        d.model.name,
        r.gpus,
        d.hardware.name,
        d.parallelism,
        d.weight_precision,
        r.input_tokens,
        r.output_tokens,
        method_name(r.method),
        scope_name(r.scope)
    ));
    if r.generated_tokens > r.output_tokens {
        out(format!(
            "  reasoning         {:.0} tokens generated ({}x hidden reasoning)",
            r.generated_tokens, d.model.reasoning_multiplier
        ));
    }
    let range = match (r.low_wh, r.high_wh) {
        (Some(lo), Some(hi)) => format!("  (p5 {lo:.3} .. p95 {hi:.3} Wh)"),
        _ => String::new(),
    };
    out(format!(
        "  energy            {:.4} Wh{range}, {:.3} J per output token",
        r.energy_wh, r.energy_j_per_output_token
    ));
    out(format!(
        "    prefill         {:.4} Wh\n    decode          {:.4} Wh",
        r.prefill_wh, r.decode_wh
    ));
    let s = &r.by_scope_wh;
    out(format!(
        "  by scope          gpu {:.4} | server {:.4} | facility {:.4} Wh",
        s.gpu, s.server, s.facility
    ));
    let b = &r.breakdown;
    out(format!(
        "  breakdown         accelerators {:.4} | host {:.4} | idle reserve {:.4} | cooling and power delivery {:.4} Wh",
        b.gpu_wh, b.host_wh, b.reserve_wh, b.facility_overhead_wh
    ));
    if r.method == Method::Roofline {
        out(format!(
            "  latency           time to first token {:.1} ms | {:.2} ms per output token | end to end {:.2} s",
            r.ttft_ms, r.decode_step_ms, r.e2e_s
        ));
        out(format!(
            "  while busy        compute {:.1}% of peak | memory bandwidth {:.1}% | replica draws {} ({:.0}% of TDP)",
            100.0 * r.compute_utilization,
            100.0 * r.memory_utilization,
            x.estimate.replica_power,
            100.0 * (x.estimate.replica_power / d.tdp())
        ));
    }
    out(format!(
        "  carbon            {:.3} g CO2e ({}, {:.0} gCO2e/kWh)",
        r.co2e_g,
        r.region,
        x.assumptions.carbon.g_per_kwh()
    ));
    if r.carbon.clean_share > 0.0 || r.carbon.market_based_g != r.carbon.location_based_g {
        out(format!(
            "  market-based      {:.3} g CO2e ({:.0}% contracted clean energy, the rest at {:.0} gCO2e/kWh)",
            r.carbon.market_based_g,
            100.0 * r.carbon.clean_share,
            r.carbon.residual_g_per_kwh
        ));
    }
    if let Some(m) = &r.embodied {
        out(format!(
            "  embodied          {:.4} g CO2e ({:.4} .. {:.4}), manufacturing of the hardware over {} years; not in the carbon line",
            m.co2e_g, m.co2e_g_low, m.co2e_g_high, m.rate.life_years
        ));
    }
    out(format!(
        "  water             {:.2} mL on site + {:.2} mL at power plants",
        r.water_onsite_ml, r.water_offsite_ml
    ));
    match &r.cost {
        Some(k) => {
            let m = &k.per_million_output_tokens;
            out(format!(
                "  {:<18}electricity ${:.6} + hardware ${:.6} = ${:.6}; electricity {:.1}% of the total",
                format!("cost ({})", k.basis.as_str()),
                k.energy_usd,
                k.hardware_usd,
                k.total_usd,
                100.0 * k.energy_share
            ));
            out(format!(
                "  per 1M output     electricity ${:.4} + hardware ${:.4} = ${:.4} (hardware ${:.3} per GPU-hour)",
                m.energy_usd, m.hardware_usd, m.total_usd, k.hardware_rate.usd_per_gpu_hour
            ));
        }
        None => out(format!("  electricity cost  ${:.6}", r.cost_usd)),
    }
    let c = &r.comparisons;
    out(format!(
        "  compared          {:.2} min of a 10 W LED bulb | {:.2} min of a 50 W laptop | {:.4}% of a US household's day",
        c.led_10w_minutes,
        c.laptop_50w_minutes,
        100.0 * c.us_household_day_share
    ));
    if let Some(f) = &r.fleet {
        out(format!(
            "  fleet             {:.2} MW average | {:.1} MWh per day | {:.2} GWh per year",
            f.average_mw, f.daily_mwh, f.annual_gwh
        ));
    }
}

//! The estimate job: the energy, latency, carbon, water and cost of one LLM request, with a
//! Monte Carlo range and, optionally, scaled to a fleet's day.

use serde::{Deserialize, Serialize};
use wattage_catalog::{Catalog, Precision};
use wattage_request::assumptions::AssumptionRow;
use wattage_request::estimate::steady_state;
use wattage_request::fleet::{self, Comparisons};
use wattage_request::tco::{
    self, CostBasis, EmbodiedRate, HourlyCapital, MarketBased, ResidualSource,
};
use wattage_request::uncertainty::{McResult, Uncertainty, monte_carlo};
use wattage_request::{
    Assumptions, Deployment, Estimate, Method, Request, Roofline, Scope, estimate, presets,
};

use crate::error::{Error, Result, request_error};
use crate::io::Progress;
use crate::spec::{KvCacheSource, Overrides, PrecisionSource, ReplicaSpec};

/// Default model of an estimate.
pub const DEFAULT_MODEL: &str = "gpt-4o-est";
/// Default accelerator of an estimate.
pub const DEFAULT_HARDWARE: &str = "h100-sxm";

/// What to estimate. Names are the CLI's flags in snake_case; `None` takes the default (or
/// the preset's value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EstimateSpec {
    /// Model: catalog id, alias or Hugging Face repository [default: `gpt-4o-est`].
    pub model: Option<String>,
    /// Accelerator [default: `h100-sxm`].
    pub hardware: Option<String>,
    /// GPUs each attention and dense layer is sharded over (vLLM `--tensor-parallel-size`)
    /// [default: the fewest that hold the weights].
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside one replica, each with its own KV cache and share of the
    /// batch (vLLM `--data-parallel-size`) [default: 1]. GPUs per replica = tensor x data.
    pub data_parallel_size: Option<u32>,
    /// Experts spread over all tensor x data GPUs, with all-to-all dispatch (vLLM
    /// `--enable-expert-parallel`).
    pub enable_expert_parallel: bool,
    /// Deprecated spelling of `tensor_parallel_size`.
    pub gpus: Option<u32>,
    /// Weight precision [default: fp8 for a Hugging Face repository id ending in `-FP8`, else
    /// the model's].
    pub precision: Option<String>,
    /// The KV cache's type as vLLM's `--kv-cache-dtype` names it: `auto`, `bf16`, `fp16`,
    /// `fp8` (or `bfloat16`, `float16`, `fp8_e4m3`, `fp8_e5m2`) [default: auto, wattage's
    /// rule: fp8 when the weights are 8-bit or narrower, else bf16].
    pub kv_cache_dtype: Option<String>,
    /// Mean sequences running on the replica (the batch each iteration carries), including
    /// this one [default: 32; 1 with the epoch method]. When the KV cache cannot hold that
    /// many at steady state, the estimate runs at the largest batch that fits and warns.
    pub batch: Option<f64>,
    /// Prompt tokens [default: 500; 0 with the `epoch-2025` preset].
    pub input_tokens: Option<f64>,
    /// Output tokens [default: 500].
    pub output_tokens: Option<f64>,
    /// `roofline` or `epoch` [default: roofline].
    pub method: Option<String>,
    /// A named preset (`epoch-2025`); the other fields override it.
    pub preset: Option<String>,
    /// `gpu`, `server` or `facility`.
    pub scope: String,
    /// Grid region for carbon, water, PUE and price.
    pub region: String,
    /// Assumption overrides (`NAME=VALUE`, or a range).
    pub set: Vec<String>,
    /// Monte Carlo samples for the low/high range (0: none).
    pub samples: usize,
    /// Seed of the Monte Carlo.
    pub seed: u64,
    /// Requests per day, to scale to a fleet.
    pub requests_per_day: Option<f64>,
    /// Raise the work limit (here: Monte Carlo samples) to this size.
    pub max_work: Option<u64>,
    /// How the hardware is paid for: `capex` (bought, amortized over its life) or `rent`
    /// [default: capex when the catalog has the prices, else rent].
    pub cost_basis: Option<String>,
    /// Share of consumption covered by contracted clean energy (PPAs, RECs, guarantees of
    /// origin), 0-1, for market-based carbon [default: 0].
    pub clean_share: f64,
    /// Carbon intensity of uncovered consumption for market-based carbon, gCO2e/kWh
    /// [default: the region's residual mix, else its location-based average].
    pub residual_carbon_g_per_kwh: Option<f64>,
}

impl Default for EstimateSpec {
    fn default() -> Self {
        Self {
            model: None,
            hardware: None,
            tensor_parallel_size: None,
            data_parallel_size: None,
            enable_expert_parallel: false,
            gpus: None,
            precision: None,
            kv_cache_dtype: None,
            batch: None,
            input_tokens: None,
            output_tokens: None,
            method: None,
            preset: None,
            scope: "facility".into(),
            region: "us-average".into(),
            set: Vec::new(),
            samples: 20_000,
            seed: 42,
            requests_per_day: None,
            max_work: None,
            cost_basis: None,
            clean_share: 0.0,
            residual_carbon_g_per_kwh: None,
        }
    }
}

/// Dollars per million output tokens, split like [`RequestCost`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerMillionTokens {
    /// Electricity, USD.
    pub energy_usd: f64,
    /// Hardware, USD.
    pub hardware_usd: f64,
    /// Sum, USD.
    pub total_usd: f64,
}

/// A request's cost split into electricity and hardware (`cost_usd` is the electricity
/// alone).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestCost {
    /// How the hardware is paid for.
    pub basis: CostBasis,
    /// Accelerator-hours the request holds provisioned hardware (busy time plus its share of
    /// the idle reserve).
    pub provisioned_gpu_hours: f64,
    /// Electricity, USD (equal to `cost_usd`).
    pub energy_usd: f64,
    /// Hardware: amortized capital, or rent less the electricity it includes, USD.
    pub hardware_usd: f64,
    /// Sum, USD.
    pub total_usd: f64,
    /// Electricity's share of the total cost of ownership.
    pub energy_share: f64,
    /// Per million output tokens.
    pub per_million_output_tokens: PerMillionTokens,
    /// The hardware's cost per accelerator-hour, by part, with every input's source.
    pub hardware_rate: HourlyCapital,
}

/// Manufacturing emissions of the hardware a request holds, amortized over its service
/// life: a separate scope line (GHG Protocol Scope 3, capital goods), not part of `co2e_g`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestEmbodied {
    /// Central value, g CO2e.
    pub co2e_g: f64,
    /// Low end, g CO2e.
    pub co2e_g_low: f64,
    /// High end, g CO2e.
    pub co2e_g_high: f64,
    /// Accelerator-hours charged (as in `cost`).
    pub provisioned_gpu_hours: f64,
    /// The rate per accelerator-hour with every input's source.
    pub rate: EmbodiedRate,
}

/// Location-based and market-based operational carbon side by side (GHG Protocol Scope 2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CarbonMethods {
    /// Location-based: the scope's energy at the grid's average intensity (equal to
    /// `co2e_g`), g CO2e.
    pub location_based_g: f64,
    /// Market-based: contracted clean energy at zero, the rest at the residual intensity,
    /// g CO2e.
    pub market_based_g: f64,
    /// Share of consumption covered by contracted clean energy.
    pub clean_share: f64,
    /// Intensity of the uncovered consumption, g/kWh.
    pub residual_g_per_kwh: f64,
    /// Where the residual intensity comes from (`user`, `catalog`, or `location_fallback`
    /// when no residual mix is known and the location-based average stands in).
    pub residual_source: ResidualSource,
}

/// Energy breakdown of one request, Wh.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BreakdownWh {
    /// Accelerators.
    pub gpu_wh: f64,
    /// Host: CPUs, memory, network.
    pub host_wh: f64,
    /// Idle reserve capacity.
    pub reserve_wh: f64,
    /// Cooling and power delivery.
    pub facility_overhead_wh: f64,
}

/// Energy of one request at each scope, Wh.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ByScopeWh {
    /// Accelerators only.
    pub gpu: f64,
    /// Accelerators and host.
    pub server: f64,
    /// Everything, with cooling and power delivery.
    pub facility: f64,
}

/// A fleet serving the same request every day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FleetScale {
    /// Mean power, MW.
    pub average_mw: f64,
    /// Energy per day, MWh.
    pub daily_mwh: f64,
    /// Energy per year, GWh.
    pub annual_gwh: f64,
}

/// The estimate of one request: what `wattage estimate --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateResult {
    /// Catalog model id.
    pub model: String,
    /// True when the model's architecture is an estimate (closed models).
    pub model_is_estimate: bool,
    /// Catalog hardware id.
    pub hardware: String,
    /// Accelerators per replica: `tensor_parallel_size x data_parallel_size`.
    pub gpus: u32,
    /// Tensor-parallel size.
    pub tensor_parallel_size: u32,
    /// Data-parallel size.
    pub data_parallel_size: u32,
    /// Expert parallelism on or off.
    pub enable_expert_parallel: bool,
    /// Weight precision.
    pub precision: String,
    /// Where the weight precision comes from: `given`, `repository_id` (a Hugging Face id
    /// ending in `-FP8`) or `model` (the catalog's).
    pub precision_source: PrecisionSource,
    /// The KV cache's type the estimate ran with (`bf16`, `fp16`, `fp8`): as given, or by
    /// wattage's `auto` rule.
    pub kv_cache_dtype: String,
    /// Where the KV cache's type comes from: `given` or `auto` (fp8 when the weights are
    /// 8-bit or narrower, else bf16).
    pub kv_cache_dtype_source: KvCacheSource,
    /// Method.
    pub method: Method,
    /// Energy boundary of `energy_wh`.
    pub scope: Scope,
    /// Grid region.
    pub region: String,
    /// Mean running sequences per replica asked for.
    pub batch: f64,
    /// Mean running sequences the estimate ran at: `batch`, or the largest batch whose KV
    /// cache fits at steady state when that is smaller (then `warnings` says so).
    pub batch_used: f64,
    /// KV-cache capacity of the replica, tokens (over its data-parallel ranks).
    pub kv_capacity_tokens: f64,
    /// Mean context a running sequence holds at steady state, tokens: prompt + output / 2.
    pub steady_context_tokens: f64,
    /// Prompt tokens.
    pub input_tokens: f64,
    /// Output tokens.
    pub output_tokens: f64,
    /// Tokens generated, hidden reasoning included.
    pub generated_tokens: f64,
    /// Energy inside the scope, Wh.
    pub energy_wh: f64,
    /// Energy per output token, J.
    pub energy_j_per_output_token: f64,
    /// Monte Carlo 5th percentile, Wh.
    pub low_wh: Option<f64>,
    /// Monte Carlo median, Wh.
    pub median_wh: Option<f64>,
    /// Monte Carlo 95th percentile, Wh.
    pub high_wh: Option<f64>,
    /// Prefill's share, Wh.
    pub prefill_wh: f64,
    /// Decode's share, Wh.
    pub decode_wh: f64,
    /// Where the energy goes.
    pub breakdown: BreakdownWh,
    /// The energy at each scope.
    pub by_scope_wh: ByScopeWh,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// One decode iteration, ms.
    pub decode_step_ms: f64,
    /// Median inter-token latency, ms.
    pub itl_median_ms: f64,
    /// End to end, s.
    pub e2e_s: f64,
    /// FLOPs of the request.
    pub flop: f64,
    /// Accelerator-seconds of the request.
    pub gpu_seconds: f64,
    /// Replica power while busy, W.
    pub replica_power_w: f64,
    /// Share of peak compute while busy.
    pub compute_utilization: f64,
    /// Share of peak memory bandwidth while busy.
    pub memory_utilization: f64,
    /// Emissions, g CO2e.
    pub co2e_g: f64,
    /// Monte Carlo 5th percentile of emissions, g.
    pub co2e_g_low: Option<f64>,
    /// Monte Carlo 95th percentile of emissions, g.
    pub co2e_g_high: Option<f64>,
    /// Water on site and at power plants, mL.
    pub water_ml: f64,
    /// Water on site, mL.
    pub water_onsite_ml: f64,
    /// Water at power plants, mL.
    pub water_offsite_ml: f64,
    /// Electricity cost, USD.
    pub cost_usd: f64,
    /// Electricity and hardware cost (`None` when the catalog has neither a price nor a
    /// rent for the hardware).
    pub cost: Option<RequestCost>,
    /// Embodied emissions of the hardware, amortized (`None` when the catalog has no
    /// embodied figure for it).
    pub embodied: Option<RequestEmbodied>,
    /// Location-based and market-based carbon.
    pub carbon: CarbonMethods,
    /// The energy in everyday terms.
    pub comparisons: Comparisons,
    /// Scaled to `requests_per_day`.
    pub fleet: Option<FleetScale>,
    /// Monte Carlo samples drawn.
    pub monte_carlo_samples: Option<usize>,
    /// Every assumption with its value, unit and source.
    pub assumptions: Vec<AssumptionRow>,
    /// Warnings for the user (a batch larger than the KV cache holds, a run above a work
    /// threshold); parameters are written `` `{name}` `` (see [`crate::ParamStyle`]).
    pub warnings: Vec<String>,
    /// The same request on the deployments of `--compare`, side by side (absent without).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<Compared>,
    /// The resolved inputs and the model's own result (not serialized).
    #[serde(skip)]
    pub detail: EstimateDetail,
}

/// The resolved inputs of an estimate and the request model's result.
#[derive(Debug, Clone)]
pub struct EstimateDetail {
    /// The model as the user named it.
    pub model_name: String,
    /// The replica.
    pub deployment: Deployment,
    /// The request.
    pub request: Request,
    /// Assumptions after overrides.
    pub assumptions: Assumptions,
    /// The region.
    pub region: wattage_catalog::Region,
    /// The request model's estimate.
    pub estimate: Estimate,
    /// The Monte Carlo, if samples were drawn.
    pub monte_carlo: Option<McResult>,
}

/// Inputs resolved against the catalog, ready to estimate many times.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Sources of the assumptions the user overrode (`--set`), by name.
    pub overridden: Vec<(String, String)>,
    /// The model as the user named it.
    pub model_name: String,
    /// Where the weight precision comes from.
    pub precision_source: PrecisionSource,
    /// Where the KV cache's type comes from.
    pub kv_cache_source: KvCacheSource,
    /// The replica.
    pub deployment: Deployment,
    /// The request.
    pub request: Request,
    /// Assumptions after overrides.
    pub assumptions: Assumptions,
    /// Distributions of the Monte Carlo.
    pub uncertainty: Uncertainty,
    /// Method.
    pub method: Method,
    /// Scope.
    pub scope: Scope,
    /// Region.
    pub region: wattage_catalog::Region,
    /// How the hardware is paid for (`None`: the catalog has no price or rent for it).
    pub cost_basis: Option<CostBasis>,
    /// Market-based carbon inputs.
    pub market: MarketBased,
}

fn parse<T: std::str::FromStr<Err = String>>(param: &str, v: &str) -> Result<T> {
    v.parse::<T>().map_err(|e| Error::param(param, e))
}

/// Resolves a spec against the catalog: preset, model, hardware, GPUs, assumptions and their
/// distributions, the request.
pub fn prepare(cat: &Catalog, a: &EstimateSpec) -> Result<Prepared> {
    crate::limits::check_all(
        "estimate",
        &[
            (
                "tensor_parallel_size",
                a.tensor_parallel_size.map(f64::from),
            ),
            ("data_parallel_size", a.data_parallel_size.map(f64::from)),
            ("batch", a.batch),
            ("input_tokens", a.input_tokens),
            ("output_tokens", a.output_tokens),
            ("requests_per_day", a.requests_per_day),
        ],
    )?;
    let preset = match &a.preset {
        Some(p) => Some(presets::find(p).ok_or_else(|| {
            Error::param("preset", format!("unknown preset `{p}`")).hint(format!(
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
    if let Some(g) = a.gpus {
        crate::limits::check("estimate", "tensor_parallel_size", f64::from(g))
            .map_err(|e| e.at_param("gpus"))?;
    }
    let tensor = crate::spec::tensor_parallel_size(a.tensor_parallel_size, a.gpus, "gpus")?;
    let replica = ReplicaSpec {
        model: a
            .model
            .clone()
            .unwrap_or_else(|| preset.map_or(DEFAULT_MODEL, |p| p.model).to_string()),
        hardware: a
            .hardware
            .clone()
            .unwrap_or_else(|| preset.map_or(DEFAULT_HARDWARE, |p| p.hardware).to_string()),
        tensor_parallel_size: tensor.or(preset.map(|p| p.gpus)),
        data_parallel_size: a.data_parallel_size,
        enable_expert_parallel: a.enable_expert_parallel,
        precision: a
            .precision
            .clone()
            .or(preset.map(|p| p.precision.as_str().to_string())),
        kv_cache_dtype: a.kv_cache_dtype.clone(),
    };
    let region = cat
        .region(&a.region)
        .map_err(|e| Error::from(e).at_param("region"))?
        .clone();
    let _: Option<Precision> = replica.precision()?;
    let method: Method = match &a.method {
        Some(m) => parse("method", m)?,
        None => preset.map_or(Method::Roofline, |p| p.method),
    };
    let scope: Scope = parse("scope", &a.scope)?;
    let (_, precision_source) = replica.effective_precision()?;
    let (_, kv_cache_source) = replica.kv_cache_dtype()?;
    let deployment = replica
        .resolve(cat)
        .map_err(|e| old_name(e, a.gpus.is_some()))?;
    let mut assumptions = Assumptions::for_region(&region).for_hardware(&deployment.hardware);
    if let Some(p) = preset {
        for (n, v) in p.assumptions {
            assumptions.set(n, *v).map_err(request_error)?;
        }
    }
    let overrides = Overrides::parse(&a.set)?;
    overrides.apply(&mut assumptions)?;
    let mut uncertainty = Uncertainty::for_deployment(&assumptions, method, &deployment);
    overrides.apply_uncertainty(&mut uncertainty);
    let cost_basis = match &a.cost_basis {
        Some(b) => Some(parse::<CostBasis>("cost_basis", b)?),
        None => tco::default_basis(&deployment.hardware),
    };
    let market = MarketBased::new(
        &region,
        assumptions.carbon,
        a.clean_share,
        a.residual_carbon_g_per_kwh,
    )
    .map_err(request_error)?;
    let request = Request {
        input_tokens: a
            .input_tokens
            .unwrap_or(preset.map_or(500.0, |p| p.input_tokens)),
        output_tokens: a
            .output_tokens
            .unwrap_or(preset.map_or(500.0, |p| p.output_tokens)),
        batch: a
            .batch
            .unwrap_or(if method == Method::Epoch { 1.0 } else { 32.0 }),
    };
    Ok(Prepared {
        overridden: overrides.sources(),
        model_name: replica.model.clone(),
        precision_source,
        kv_cache_source,
        deployment,
        request,
        assumptions,
        uncertainty,
        method,
        scope,
        region,
        cost_basis,
        market,
    })
}

/// An error at `tensor_parallel_size`, named `gpus` when the user wrote the old name.
fn old_name(e: Error, old: bool) -> Error {
    let at_tp = matches!(&e.location, crate::error::Location::Param { name } if name == "tensor_parallel_size");
    if old && at_tp { e.at_param("gpus") } else { e }
}

impl EstimateSpec {
    /// Deprecation warnings of this spec (old names), for the front-end to show; parameters
    /// are written `` `{name}` ``.
    pub fn deprecations(&self) -> Vec<String> {
        if self.gpus.is_some() {
            vec![crate::spec::renamed("gpus", "tensor_parallel_size")]
        } else {
            Vec::new()
        }
    }
}

/// The warning of an estimate run at a smaller batch than asked, naming the numbers.
pub fn batch_warning(asked: f64, used: f64, kv_capacity_tokens: f64, context: f64) -> String {
    let n = |v: f64| wattage_report::format::significant(v, 4);
    format!(
        "`{{batch}}` {} does not fit: the KV cache holds {} tokens and a running sequence holds {} at steady state (prompt + output / 2), so the estimate runs at batch {} (`batch_used`); use more GPUs (`{{tensor_parallel_size}}`, `{{data_parallel_size}}`) or a narrower `{{precision}}` or `{{kv_cache_dtype}}` to run the batch asked for",
        n(asked),
        n(kv_capacity_tokens.floor()),
        n(context),
        n(used)
    )
}

/// Estimates one request (and its Monte Carlo range when `samples` > 0).
pub fn run(cat: &Catalog, spec: &EstimateSpec) -> Result<EstimateResult> {
    let warnings = crate::io::Warnings::default();
    crate::limits::admit(
        crate::limits::Work::Samples,
        u64::try_from(spec.samples).unwrap_or(u64::MAX),
        "`{samples}`",
        spec.max_work,
        &warnings,
    )?;
    let r = prepare(cat, spec)?;
    let e = estimate(&r.deployment, &r.request, &r.assumptions, r.method, r.scope)
        .map_err(request_error)?;
    if e.batch_used < r.request.batch {
        warnings.warn(&batch_warning(
            r.request.batch,
            e.batch_used,
            r.deployment.kv_capacity_tokens(),
            r.request.steady_context(&r.deployment),
        ));
    }
    // The Monte Carlo at the batch the estimate ran at.
    let used = r.request.fit_batch(&r.deployment);
    let mc = if spec.samples > 0 {
        Some(
            monte_carlo(
                &r.deployment,
                &used,
                &r.assumptions,
                &r.uncertainty,
                r.method,
                r.scope,
                spec.samples,
                spec.seed,
            )
            .map_err(request_error)?,
        )
    } else {
        None
    };
    let fleet = spec.requests_per_day.map(|n| {
        let f = fleet::scale(e.energy, n);
        FleetScale {
            average_mw: f.average_power.mw(),
            daily_mwh: f.daily_energy.mwh(),
            annual_gwh: f.annual_energy.gwh(),
        }
    });
    let mut out = result(r, e, mc, fleet)?;
    out.warnings.extend(warnings.take());
    Ok(out)
}

/// The request's cost split, embodied emissions and market-based carbon.
fn totals(
    r: &Prepared,
    e: &Estimate,
) -> Result<(Option<RequestCost>, Option<RequestEmbodied>, CarbonMethods)> {
    let hours = tco::provisioned_gpu_time(e, &r.assumptions).h();
    let per_m = 1e6 / r.request.output_tokens;
    let cost = match r.cost_basis {
        Some(basis) => {
            let rate = tco::hourly_capital(&r.deployment.hardware, basis).map_err(request_error)?;
            let s = tco::split(e.cost, hours, &rate);
            Some(RequestCost {
                basis,
                provisioned_gpu_hours: hours,
                energy_usd: s.energy_usd,
                hardware_usd: s.hardware_usd,
                total_usd: s.total_usd,
                energy_share: s.energy_share,
                per_million_output_tokens: PerMillionTokens {
                    energy_usd: s.energy_usd * per_m,
                    hardware_usd: s.hardware_usd * per_m,
                    total_usd: s.total_usd * per_m,
                },
                hardware_rate: rate,
            })
        }
        None => None,
    };
    let embodied = tco::embodied_rate(&r.deployment.hardware).map(|rate| {
        let [lo, mid, hi] = rate.over(hours);
        RequestEmbodied {
            co2e_g: mid.g(),
            co2e_g_low: lo.g(),
            co2e_g_high: hi.g(),
            provisioned_gpu_hours: hours,
            rate,
        }
    });
    let carbon = CarbonMethods {
        location_based_g: e.co2e.g(),
        market_based_g: r.market.co2e(e.energy).g(),
        clean_share: r.market.clean_share,
        residual_g_per_kwh: r.market.residual_g_per_kwh,
        residual_source: r.market.residual_source,
    };
    Ok((cost, embodied, carbon))
}

fn result(
    r: Prepared,
    e: Estimate,
    mc: Option<McResult>,
    fleet: Option<FleetScale>,
) -> Result<EstimateResult> {
    let (cost, embodied, carbon) = totals(&r, &e)?;
    let d = &r.deployment;
    let b = e.breakdown;
    Ok(EstimateResult {
        model: d.model.id.clone(),
        model_is_estimate: d.model.estimate,
        hardware: d.hardware.id.clone(),
        gpus: d.gpus,
        tensor_parallel_size: d.parallelism.tensor,
        data_parallel_size: d.parallelism.data,
        enable_expert_parallel: d.parallelism.expert,
        precision: d.weight_precision.as_str().to_string(),
        precision_source: r.precision_source,
        kv_cache_dtype: d.kv_precision.as_str().to_string(),
        kv_cache_dtype_source: r.kv_cache_source,
        method: r.method,
        scope: r.scope,
        region: r.region.id.clone(),
        batch: r.request.batch,
        batch_used: e.batch_used,
        kv_capacity_tokens: d.kv_capacity_tokens(),
        steady_context_tokens: r.request.steady_context(d),
        input_tokens: r.request.input_tokens,
        output_tokens: r.request.output_tokens,
        generated_tokens: e.generated_tokens,
        energy_wh: e.energy.wh(),
        energy_j_per_output_token: e.energy.j() / r.request.output_tokens,
        low_wh: mc.map(|m| m.energy_wh.p5),
        median_wh: mc.map(|m| m.energy_wh.p50),
        high_wh: mc.map(|m| m.energy_wh.p95),
        prefill_wh: e.prefill.wh(),
        decode_wh: e.decode.wh(),
        breakdown: BreakdownWh {
            gpu_wh: b.gpu.wh(),
            host_wh: b.host.wh(),
            reserve_wh: b.reserve.wh(),
            facility_overhead_wh: b.facility_overhead.wh(),
        },
        by_scope_wh: ByScopeWh {
            gpu: b.at(Scope::Gpu).wh(),
            server: b.at(Scope::Server).wh(),
            facility: b.at(Scope::Facility).wh(),
        },
        ttft_ms: e.ttft.ms(),
        decode_step_ms: e.decode_step.ms(),
        itl_median_ms: e.itl_median.ms(),
        e2e_s: e.e2e.s(),
        flop: e.flop.count(),
        gpu_seconds: e.gpu_time.s(),
        replica_power_w: e.replica_power.w(),
        compute_utilization: e.compute_utilization,
        memory_utilization: e.memory_utilization,
        co2e_g: e.co2e.g(),
        co2e_g_low: mc.map(|m| m.co2e_g.p5),
        co2e_g_high: mc.map(|m| m.co2e_g.p95),
        water_ml: e.water().ml(),
        water_onsite_ml: e.water_onsite.ml(),
        water_offsite_ml: e.water_offsite.ml(),
        cost_usd: e.cost.usd(),
        cost,
        embodied,
        carbon,
        comparisons: fleet::compare(e.energy),
        fleet,
        monte_carlo_samples: mc.map(|m| m.samples),
        assumptions: {
            let mut rows =
                r.assumptions
                    .rows_for(&r.region, Some(&r.deployment.hardware), r.method);
            for (name, src) in &r.overridden {
                if let Some(row) = rows.iter_mut().find(|row| row.name == name) {
                    row.source.clone_from(src);
                }
            }
            rows
        },
        warnings: Vec::new(),
        compared: Vec::new(),
        detail: EstimateDetail {
            model_name: r.model_name,
            deployment: r.deployment,
            request: r.request,
            assumptions: r.assumptions,
            region: r.region,
            estimate: e,
            monte_carlo: mc,
        },
    })
}

/// The method's name as users write it.
pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Roofline => "roofline",
        Method::Epoch => "epoch",
    }
}

/// The scope's name as users write it.
pub fn scope_name(s: Scope) -> &'static str {
    match s {
        Scope::Gpu => "gpu",
        Scope::Server => "server",
        Scope::Facility => "facility",
    }
}

/// The estimate's inputs, every assumption with its source, and the arithmetic step by
/// step, as lines of text.
pub fn explain(r: &EstimateResult) -> Vec<String> {
    let x = &r.detail;
    let d = &x.deployment;
    let m = &d.model;
    let h = &d.hardware;
    let e = &x.estimate;
    let mut out = Vec::new();
    out.push("Inputs".to_string());
    out.push(format!(
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
    out.push(format!(
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
    out.push(format!(
        "  replica    {} = {} GPUs (`{{tensor_parallel_size}}` {} x `{{data_parallel_size}}` {}{}), weights {:.1} GB in {}, KV cache {} holds {:.0} tokens",
        d.parallelism,
        d.gpus,
        d.parallelism.tensor,
        d.parallelism.data,
        if d.parallelism.expert {
            ", experts spread over every GPU"
        } else {
            ""
        },
        d.weight_bytes().gb(),
        d.weight_precision,
        d.kv_precision,
        d.kv_capacity_tokens()
    ));
    out.push(format!(
        "  precision  {}: {}",
        d.weight_precision,
        r.precision_source.explain(&r.detail.model_name)
    ));
    out.push(format!(
        "  KV cache   {}, {} bytes a value: {}",
        d.kv_precision,
        d.kv_precision.bytes(),
        r.kv_cache_dtype_source.explain(d.weight_precision)
    ));
    out.push(format!(
        "  batch      {} running sequences asked, {} used; a sequence holds {:.0} tokens of context at steady state (prompt + output / 2)",
        wattage_report::format::significant(r.batch, 4),
        wattage_report::format::significant(r.batch_used, 4),
        r.steady_context_tokens
    ));
    out.push("Assumptions (override with `{set}` NAME=VALUE)".to_string());
    for row in &r.assumptions {
        out.push(format!(
            "  {:<22} {:>12} {:<10} {}",
            row.name,
            format!("{:.6}", row.value)
                .trim_end_matches('0')
                .trim_end_matches('.'),
            row.unit,
            row.source
        ));
    }
    out.push("Arithmetic".to_string());
    let req = &x.request;
    let a = &x.assumptions;
    match r.method {
        Method::Epoch => {
            let n = m.active_params();
            let peak = d.peak_per_gpu().flops();
            let fd = 2.0 * n * e.generated_tokens;
            let fp = 2.0 * n * req.input_tokens
                + 4.0 * f64::from(m.layers) * f64::from(m.hidden) * req.input_tokens.powi(2);
            out.push(format!(
                "  decode FLOP   = 2 x {n:.3e} x {:.0} tokens = {fd:.3e}",
                e.generated_tokens
            ));
            out.push(format!(
                "  prefill FLOP  = 2 x {n:.3e} x {:.0} + 4 x {} layers x {} x {:.0}^2 = {fp:.3e}",
                req.input_tokens, m.layers, m.hidden, req.input_tokens
            ));
            out.push(format!(
                "  GPU-seconds   = {fd:.3e} / ({peak:.3e} x {}) + {fp:.3e} / ({peak:.3e} x {:.3}) = {:.3} s",
                a.epoch_utilization,
                a.epoch_prefill_utilization,
                e.gpu_time.s()
            ));
            out.push(format!(
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
            out.push(format!(
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
                out.push(format!(
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
    out.push(format!(
        "  accelerators {:.4} Wh + host {:.4} Wh + idle reserve {:.4} Wh + facility overhead (PUE {:.2} - 1) {:.4} Wh",
        b.gpu.wh(),
        b.host.wh(),
        b.reserve.wh(),
        a.pue,
        b.facility_overhead.wh()
    ));
    out.push(format!(
        "  {} scope = {:.4} Wh; CO2e = {:.6} kWh x {:.0} g/kWh = {:.3} g",
        scope_name(r.scope),
        e.energy.wh(),
        e.energy.kwh(),
        a.carbon.g_per_kwh(),
        e.co2e.g()
    ));
    let c = &r.carbon;
    out.push(format!(
        "  market-based CO2e = {:.6} kWh x {:.0} g/kWh ({}) x (1 - clean share {}) = {:.3} g",
        e.energy.kwh(),
        c.residual_g_per_kwh,
        match c.residual_source {
            ResidualSource::User => "given",
            ResidualSource::Catalog => "residual mix",
            ResidualSource::LocationFallback => "no residual mix known: location-based",
        },
        c.clean_share,
        c.market_based_g
    ));
    if let Some(k) = &r.cost {
        let h = &k.hardware_rate;
        out.push(format!(
            "  hardware ({}) = {:.4} $/GPU-h (accelerator {:.4} + server {:.4} + facility {:.4}) x {:.4e} provisioned GPU-h = ${:.6}",
            k.basis.as_str(),
            h.usd_per_gpu_hour,
            h.accelerator_usd_per_gpu_hour,
            h.server_usd_per_gpu_hour,
            h.facility_usd_per_gpu_hour,
            k.provisioned_gpu_hours,
            k.hardware_usd
        ));
        for i in &h.inputs {
            out.push(format!(
                "    {:<22} {:>12} {:<10} {}",
                i.name,
                format!("{:.4}", i.value)
                    .trim_end_matches('0')
                    .trim_end_matches('.'),
                i.unit,
                i.source
            ));
        }
        out.push(format!(
            "  total cost = energy ${:.6} + hardware ${:.6} = ${:.6}; energy {:.1}% of the total",
            k.energy_usd,
            k.hardware_usd,
            k.total_usd,
            100.0 * k.energy_share
        ));
    }
    if let Some(m) = &r.embodied {
        let rt = &m.rate;
        out.push(format!(
            "  embodied = ({:.1} kg accelerator + {:.1} kg server share) / ({} y x 8760 h) = {:.3} g/GPU-h x {:.4e} GPU-h = {:.4} g ({:.4}..{:.4}); Scope 3, not in CO2e",
            rt.accelerator_kg,
            rt.server_kg,
            rt.life_years,
            rt.g_per_gpu_hour,
            m.provisioned_gpu_hours,
            m.co2e_g,
            m.co2e_g_low,
            m.co2e_g_high
        ));
    }
    out.push(String::new());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Seed 003's figure through the preset: 0.30 Wh (public case, 2%).
    #[test]
    fn the_epoch_preset_reproduces_seed_003() {
        let cat = Catalog::builtin();
        let spec = EstimateSpec {
            preset: Some("epoch-2025".into()),
            samples: 0,
            ..EstimateSpec::default()
        };
        let r = run(&cat, &spec).unwrap();
        assert!((r.energy_wh / 0.301 - 1.0).abs() < 0.02, "{}", r.energy_wh);
        assert!(r.low_wh.is_none());
    }

    /// The hardware cost and embodied emissions of seed 003's case, by hand from the
    /// catalog's sourced numbers (`wattage estimate --preset epoch-2025`):
    ///
    /// - accelerator-seconds: 2 x 100e9 active parameters x 500 tokens = 1e14 FLOP at 10% of
    ///   989.4 TFLOP/s (H100 bf16) = 1.010713 s; the epoch method's flat utilization already
    ///   counts idle time, so that is the provisioned time: 2.807536e-4 GPU-h.
    /// - capex per GPU-hour: accelerator $27,500 + server and network $15,500 over 5 years x
    ///   8,760 h = $0.981735; facility (700 + 575) W x $11,700/kW = $14,917.50 over 15 years
    ///   = $0.113527; total $1.095263.
    /// - hardware = 1.095263 x 2.807536e-4 = $3.074990e-4; per million output tokens (x 2,000)
    ///   $0.614998.
    /// - electricity = 1,275 W x 0.7 x 1.010713 s x PUE 1.2 = 1,082.474 J = 0.300687 Wh at
    ///   $81/MWh = $2.435567e-5; energy share 2.435567e-5 / (2.435567e-5 + 3.074990e-4) =
    ///   7.339%.
    /// - embodied: (150 + 312.5) kg over 43,800 h = 10.559361 g/GPU-h x 2.807536e-4 h =
    ///   2.964578e-3 g (low 5.273973 g/GPU-h: 1.480688e-3 g; high 21.118721: 5.929156e-3 g).
    #[test]
    fn hardware_cost_and_embodied_co2e_by_hand() {
        let cat = Catalog::builtin();
        let spec = EstimateSpec {
            preset: Some("epoch-2025".into()),
            samples: 0,
            ..EstimateSpec::default()
        };
        let r = run(&cat, &spec).unwrap();
        let close = |got: f64, want: f64| (got / want - 1.0).abs() < 1e-5;
        let k = r.cost.as_ref().unwrap();
        assert_eq!(k.basis, CostBasis::Capex);
        assert!(close(k.provisioned_gpu_hours, 2.807_536e-4), "{k:?}");
        assert!(close(k.hardware_rate.usd_per_gpu_hour, 1.095_263), "{k:?}");
        assert!(close(k.hardware_usd, 3.074_990e-4), "{k:?}");
        assert!(close(k.energy_usd, 2.435_567e-5), "{k:?}");
        assert!(close(k.energy_share, 0.073_392_6), "{k:?}");
        assert!(
            close(k.per_million_output_tokens.hardware_usd, 0.614_998),
            "{k:?}"
        );
        assert!((k.energy_usd + k.hardware_usd - k.total_usd).abs() < 1e-15);
        let m = r.embodied.as_ref().unwrap();
        assert!(close(m.co2e_g, 2.964_578e-3), "{m:?}");
        assert!(close(m.co2e_g_low, 1.480_688e-3), "{m:?}");
        assert!(close(m.co2e_g_high, 5.929_156e-3), "{m:?}");
        // A separate scope line: the operational figure is the energy at the grid's
        // intensity alone.
        assert!(close(r.co2e_g, 0.300_687_3e-3 * 367.0), "{}", r.co2e_g);
    }

    /// `--json` carries the split, the embodied line and both carbon methods, each input
    /// with a source.
    #[test]
    fn json_has_cost_embodied_and_carbon_with_sources() {
        let cat = Catalog::builtin();
        let spec = EstimateSpec {
            samples: 0,
            clean_share: 0.5,
            ..EstimateSpec::default()
        };
        let v = serde_json::to_value(run(&cat, &spec).unwrap()).unwrap();
        for key in [
            "basis",
            "provisioned_gpu_hours",
            "energy_usd",
            "hardware_usd",
            "total_usd",
            "energy_share",
            "per_million_output_tokens",
            "hardware_rate",
        ] {
            assert!(v["cost"].get(key).is_some(), "cost.{key}");
        }
        for key in ["co2e_g", "co2e_g_low", "co2e_g_high", "rate"] {
            assert!(v["embodied"].get(key).is_some(), "embodied.{key}");
        }
        for inputs in [
            &v["cost"]["hardware_rate"]["inputs"],
            &v["embodied"]["rate"]["inputs"],
        ] {
            let inputs = inputs.as_array().unwrap();
            assert!(!inputs.is_empty());
            for i in inputs {
                let src = i["source"].as_str().unwrap();
                assert!(!src.is_empty() && src != "unsourced", "{i}");
            }
        }
        let c = &v["carbon"];
        let loc = c["location_based_g"].as_f64().unwrap();
        assert_eq!(loc, v["co2e_g"].as_f64().unwrap());
        // No residual mix for the region: half at the location-based average.
        assert_eq!(c["residual_source"], "location_fallback");
        assert!((c["market_based_g"].as_f64().unwrap() - loc / 2.0).abs() < 1e-12);
    }

    /// Every accelerator, both bases where the catalog allows: finite totals, the split sums
    /// to the total, and the energy share is a share.
    #[test]
    fn totals_are_finite_and_the_split_sums_on_every_accelerator() {
        let cat = Catalog::builtin();
        for h in &cat.hardware {
            for basis in [None, Some("capex"), Some("rent")] {
                let spec = EstimateSpec {
                    model: Some("llama-3.1-8b".into()),
                    hardware: Some(h.id.clone()),
                    // The first precision the accelerator has units for (an NPU may have
                    // only integer ones).
                    precision: [
                        Precision::Bf16,
                        Precision::Fp16,
                        Precision::Fp8,
                        Precision::Int8,
                    ]
                    .into_iter()
                    .find(|p| h.peak(*p).is_some())
                    .map(|p| p.as_str().to_string()),
                    cost_basis: basis.map(str::to_string),
                    clean_share: 0.3,
                    samples: 0,
                    ..EstimateSpec::default()
                };
                let r = match run(&cat, &spec) {
                    Ok(r) => r,
                    Err(e) => {
                        // Only an explicit basis the catalog cannot price may fail, naming it.
                        assert!(basis.is_some(), "{}: {e}", h.id);
                        assert_eq!(
                            e.location,
                            crate::error::Location::Param {
                                name: "cost_basis".into()
                            },
                            "{}: {e}",
                            h.id
                        );
                        continue;
                    }
                };
                if let Some(k) = &r.cost {
                    let all = [
                        k.energy_usd,
                        k.hardware_usd,
                        k.total_usd,
                        k.energy_share,
                        k.per_million_output_tokens.total_usd,
                    ];
                    assert!(all.iter().all(|x| x.is_finite() && *x >= 0.0), "{k:?}");
                    assert!(
                        (k.energy_usd + k.hardware_usd - k.total_usd).abs() <= 1e-12 * k.total_usd,
                        "{}: {k:?}",
                        h.id
                    );
                    assert!((0.0..=1.0).contains(&k.energy_share));
                }
                if let Some(m) = &r.embodied {
                    assert!(m.co2e_g_low <= m.co2e_g && m.co2e_g <= m.co2e_g_high);
                    assert!(m.co2e_g_high.is_finite());
                }
                assert!(r.carbon.market_based_g.is_finite());
                assert!(r.carbon.market_based_g <= r.carbon.location_based_g);
            }
        }
    }

    /// `--explain` after `--set` cites the user, not the catalog, and says how a range is
    /// used (the issue: it kept the original source and showed a range as its midpoint).
    #[test]
    fn overridden_assumptions_cite_the_user() {
        let cat = Catalog::builtin();
        let spec = EstimateSpec {
            set: vec!["pue=1.5".into(), "carbon=200..400".into()],
            samples: 0,
            ..EstimateSpec::default()
        };
        let r = run(&cat, &spec).unwrap();
        let src = |n: &str| {
            r.assumptions
                .iter()
                .find(|a| a.name == n)
                .unwrap()
                .source
                .clone()
        };
        assert_eq!(src("pue"), "set by the user: pue=1.5");
        assert!(src("carbon").starts_with("set by the user: carbon=200..400, a range"));
        assert!(src("carbon").contains("300"));
        assert!(!src("price").starts_with("set by the user"));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let cat = Catalog::builtin();
        for (spec, param) in [
            (
                EstimateSpec {
                    batch: Some(0.0),
                    ..EstimateSpec::default()
                },
                "batch",
            ),
            (
                EstimateSpec {
                    scope: "planet".into(),
                    ..EstimateSpec::default()
                },
                "scope",
            ),
            (
                EstimateSpec {
                    requests_per_day: Some(-1.0),
                    ..EstimateSpec::default()
                },
                "requests_per_day",
            ),
            (
                EstimateSpec {
                    cost_basis: Some("lease".into()),
                    ..EstimateSpec::default()
                },
                "cost_basis",
            ),
            (
                EstimateSpec {
                    clean_share: 1.5,
                    ..EstimateSpec::default()
                },
                "clean_share",
            ),
            (
                EstimateSpec {
                    residual_carbon_g_per_kwh: Some(-1.0),
                    ..EstimateSpec::default()
                },
                "residual_carbon_g_per_kwh",
            ),
        ] {
            let e = run(&cat, &spec).unwrap_err();
            assert_eq!(
                e.location,
                crate::error::Location::Param { name: param.into() },
                "{e}"
            );
        }
    }
}

/// One deployment of a side-by-side comparison (`wattage estimate --compare`): the same
/// request on other hardware, precision, layout or batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compared {
    /// What was changed, as given (`h100-sxm,batch=64`); empty for the main estimate.
    pub changes: String,
    /// Accelerator.
    pub hardware: String,
    /// GPUs in the replica.
    pub gpus: u32,
    /// Weight precision.
    pub precision: String,
    /// Sequences per replica the estimate ran at.
    pub batch_used: f64,
    /// Energy per request inside the estimate's scope, Wh.
    pub energy_wh: f64,
    /// Energy per output token inside the estimate's scope, J.
    pub energy_j_per_output_token: f64,
    /// Energy per request at every scope, Wh.
    pub by_scope_wh: ByScopeWh,
    /// Emissions per request, g CO2e.
    pub co2e_g: f64,
    /// Electricity cost per request, USD.
    pub cost_usd: f64,
    /// Median inter-token latency, ms.
    pub itl_median_ms: f64,
    /// Mean power of the replica's accelerators while busy, W.
    pub replica_power_w: f64,
}

impl Compared {
    /// The comparison row of an estimate.
    pub fn of(changes: &str, r: &EstimateResult) -> Self {
        Self {
            changes: changes.to_string(),
            hardware: r.hardware.clone(),
            gpus: r.gpus,
            precision: r.precision.clone(),
            batch_used: r.batch_used,
            energy_wh: r.energy_wh,
            energy_j_per_output_token: r.energy_j_per_output_token,
            by_scope_wh: r.by_scope_wh,
            co2e_g: r.co2e_g,
            cost_usd: r.cost_usd,
            itl_median_ms: r.itl_median_ms,
            replica_power_w: r.replica_power_w,
        }
    }
}

/// The spec of one `--compare` entry: `HARDWARE` or `HARDWARE,KEY=VALUE,...` (or only
/// `KEY=VALUE,...`) with keys `hardware`, `precision`, `kv_cache_dtype`, `batch`,
/// `tensor_parallel_size`, `data_parallel_size`, `enable_expert_parallel`. Everything else is
/// the base request's.
/// The layout and precision are chosen afresh for the new hardware unless given.
pub fn compare_spec(base: &EstimateSpec, entry: &str) -> Result<EstimateSpec> {
    let bad = |why: String| Error::param("compare", format!("`{entry}`: {why}"));
    let mut s = EstimateSpec {
        samples: 0,
        requests_per_day: None,
        ..base.clone()
    };
    let mut hardware_changed = false;
    let mut layout_given = false;
    let mut precision_given = false;
    for (i, part) in entry.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            return Err(bad("an empty item".into()));
        }
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None if i == 0 => ("hardware", part),
            None => return Err(bad(format!("`{part}` is not KEY=VALUE"))),
        };
        let num = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("`{k}` needs a number, got `{v}`")))
        };
        let count = |v: &str| {
            v.parse::<u32>().ok().filter(|x| *x >= 1).ok_or_else(|| {
                bad(format!(
                    "`{k}` needs a whole number of at least 1, got `{v}`"
                ))
            })
        };
        match k {
            "hardware" => {
                s.hardware = Some(v.to_string());
                hardware_changed = true;
            }
            "precision" => {
                s.precision = Some(v.to_string());
                precision_given = true;
            }
            "kv_cache_dtype" => {
                crate::spec::parse_kv_cache_dtype(v)
                    .map_err(|e| bad(format!("`{k}` {}", e.message)))?;
                s.kv_cache_dtype = Some(v.to_string());
            }
            "batch" => s.batch = Some(num(v)?),
            "tensor_parallel_size" => {
                s.tensor_parallel_size = Some(count(v)?);
                layout_given = true;
            }
            "data_parallel_size" => {
                s.data_parallel_size = Some(count(v)?);
                layout_given = true;
            }
            "enable_expert_parallel" => {
                s.enable_expert_parallel = match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(format!("`{k}` is true or false, got `{v}`"))),
                };
                layout_given = true;
            }
            _ => {
                return Err(bad(format!(
                    "unknown key `{k}`; expected hardware, precision, kv_cache_dtype, batch, tensor_parallel_size, data_parallel_size or enable_expert_parallel"
                )));
            }
        }
    }
    if hardware_changed {
        // Another accelerator: the fewest GPUs that hold the model there, and the model's own
        // precision (or the fastest the hardware runs), unless given.
        if !layout_given {
            s.tensor_parallel_size = None;
            s.data_parallel_size = None;
            s.enable_expert_parallel = false;
            s.gpus = None;
        }
        if !precision_given {
            s.precision = None;
        }
    }
    Ok(s)
}

/// Runs the main estimate's request on each `--compare` entry.
pub fn compare(cat: &Catalog, base: &EstimateSpec, entries: &[String]) -> Result<Vec<Compared>> {
    if entries.len() > 64 {
        return Err(Error::param(
            "compare",
            format!("{} comparisons; at most 64", entries.len()),
        ));
    }
    entries
        .iter()
        .map(|e| {
            let s = compare_spec(base, e)?;
            let r = run(cat, &s).map_err(|err| Error::param("compare", format!("`{e}`: {err}")))?;
            Ok(Compared::of(e, &r))
        })
        .collect()
}

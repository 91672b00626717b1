//! Every number the estimate assumes, with its value and source, overridable by the caller.

use serde::{Deserialize, Serialize};
use wattage_catalog::{Hardware, Region};
use wattage_units::{CarbonIntensity, EnergyPrice, WaterIntensity};

use crate::roofline::RooflineParams;

/// Which boundary the energy is drawn around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Accelerators only: what NVML and similar meters read.
    Gpu,
    /// Plus the host: CPUs, DRAM, NICs, fans.
    Server,
    /// Plus idle reserve capacity and the facility overhead (PUE): what the grid sees.
    Facility,
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "gpu" => Ok(Scope::Gpu),
            "server" => Ok(Scope::Server),
            "facility" => Ok(Scope::Facility),
            _ => Err(format!(
                "unknown scope `{s}`; expected gpu, server or facility"
            )),
        }
    }
}

/// How the energy is estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Epoch AI's flat-utilization method (seed 003).
    Epoch,
    /// Iteration-level roofline model with a power curve.
    Roofline,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "epoch" => Ok(Method::Epoch),
            "roofline" => Ok(Method::Roofline),
            _ => Err(format!("unknown method `{s}`; expected roofline or epoch")),
        }
    }
}

/// Every assumption of an estimate. [`Assumptions::for_region`] fills it from a catalog
/// region; each field can then be overridden.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assumptions {
    /// Constants of the roofline model.
    pub roofline: RooflineParams,
    /// Share of the host's rated power drawn while serving.
    pub host_load: f64,
    /// Power usage effectiveness of the facility.
    pub pue: f64,
    /// Idle reserve: accelerator-seconds provisioned but idle per busy accelerator-second
    /// (capacity held for peaks, failover and deploys).
    pub reserve: f64,
    /// Epoch method: decode FLOP utilization.
    pub epoch_utilization: f64,
    /// Epoch method: prefill FLOP utilization.
    pub epoch_prefill_utilization: f64,
    /// Epoch method: average power as a share of the all-in peak.
    pub epoch_power_fraction: f64,
    /// Token budget of one iteration (vLLM's `max_num_batched_tokens`): the prefill chunk.
    pub max_batched_tokens: f64,
    /// Grid carbon intensity.
    pub carbon: CarbonIntensity,
    /// On-site water per kWh of IT energy.
    pub wue_onsite: WaterIntensity,
    /// Off-site water per kWh drawn from the grid.
    pub wue_offsite: WaterIntensity,
    /// Electricity price.
    pub price: EnergyPrice,
    /// Relative spread of the accelerator's fitted efficiencies (the calibration's
    /// cross-validated error for measured accelerators, wider for priors borrowed from a
    /// sibling): what the Monte Carlo varies them by.
    #[serde(default = "default_spread")]
    pub roofline_spread: f64,
}

fn default_spread() -> f64 {
    FITTED_SPREAD
}

/// Relative spread of the efficiencies of an accelerator without its own catalog values.
pub const FITTED_SPREAD: f64 = 0.10;

/// When the fit was made, for sources.
pub const FIT_DATE: &str = "2026-11-30";

/// Name, value, unit and source of one assumption, for `--explain` and reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssumptionRow {
    /// Field name (as used for overrides).
    pub name: &'static str,
    /// Value.
    pub value: f64,
    /// Unit, or empty for a plain number.
    pub unit: &'static str,
    /// Where the value comes from.
    pub source: String,
}

impl Assumptions {
    /// Defaults for data centres in a region (PUE, carbon, water, price from the catalog).
    pub fn for_region(r: &Region) -> Self {
        Self {
            roofline: RooflineParams::default(),
            host_load: HOST_LOAD,
            pue: r.pue,
            reserve: RESERVE,
            epoch_utilization: 0.10,
            epoch_prefill_utilization: 1.0 / 3.0,
            epoch_power_fraction: 0.70,
            max_batched_tokens: 8192.0,
            carbon: r.carbon(),
            wue_onsite: r.wue_onsite(),
            wue_offsite: r.wue_offsite(),
            price: r.price(),
            roofline_spread: FITTED_SPREAD,
        }
    }

    /// These assumptions with an accelerator's own roofline constants from the catalog
    /// (fitted, or a prior from a measured sibling with a wider spread). Call before applying
    /// a user's overrides.
    pub fn for_hardware(mut self, hw: &Hardware) -> Self {
        self.roofline = RooflineParams::for_hardware(hw);
        if let Some(r) = &hw.roofline {
            self.roofline_spread = r.uncertainty;
        }
        self
    }

    /// Checks every value is in its physical range, naming the first that is not.
    pub fn validate(&self) -> Result<(), crate::EstimateError> {
        for r in RANGES {
            let v = self.get(r.name).unwrap_or(f64::NAN);
            if !(v.is_finite() && v >= r.min && v <= r.max) {
                return Err(crate::EstimateError::invalid(
                    r.name,
                    format!("must be in [{}, {}] ({}), got {v}", r.min, r.max, r.why),
                ));
            }
        }
        Ok(())
    }

    /// The assumptions as rows with their sources.
    pub fn rows(&self, region: &Region, method: Method) -> Vec<AssumptionRow> {
        self.rows_for(region, None, method)
    }

    /// The assumptions as rows with their sources, the accelerator's constants sourced from
    /// its catalog entry (fitted, or a prior from a sibling).
    pub fn rows_for(
        &self,
        region: &Region,
        hw: Option<&Hardware>,
        method: Method,
    ) -> Vec<AssumptionRow> {
        let p = &self.roofline;
        let shared = format!(
            "fitted to ML.ENERGY v3 (267 vLLM steady states, H100 and B200; {FIT_DATE}); docs/calibration.md"
        );
        // The catalog entry's own source says whether the values are fitted or a prior and
        // how wide their spread is; an entry without one (a user's file) gets it spelled out.
        let per_hw = match hw.and_then(|h| h.roofline.as_ref().map(|r| (h, r))) {
            Some((h, _)) if h.sources.contains_key("roofline") => h.source("roofline").to_string(),
            Some((h, r)) => match &r.prior_from {
                Some(sib) => format!(
                    "prior: `{}` has no measurements; values of `{sib}`, spread +-{:.0}%",
                    h.id,
                    100.0 * r.uncertainty
                ),
                None => format!(
                    "`{}`'s catalog values, spread +-{:.0}% (unsourced)",
                    h.id,
                    100.0 * r.uncertainty
                ),
            },
            None => shared.clone(),
        };
        let fit = per_hw.as_str();
        let in_sample = |what: &str| {
            format!(
                "fitted in-sample to ML.ENERGY v3 ({FIT_DATE}): only {what} inform it, so it is not cross-validated; spread +-30%"
            )
        };
        let fp8 = in_sample("Qwen3-235B-A22B FP8 rows");
        let fp4 = in_sample("gpt-oss-20b MXFP4 rows");
        let ssm = in_sample("Nemotron Nano 9B v2 rows");
        let mut v = Vec::new();
        let mut row = |name, value, unit, source: &str| {
            v.push(AssumptionRow {
                name,
                value,
                unit,
                source: source.to_string(),
            })
        };
        match method {
            Method::Roofline => {
                row("compute_efficiency", p.compute_efficiency, "", fit);
                row("memory_efficiency", p.memory_efficiency, "", fit);
                row("step_overhead_s", p.step_overhead_s, "s", fit);
                row("per_seq_overhead_s", p.per_seq_overhead_s, "s", fit);
                row(
                    "collective_latency_s",
                    p.collective_latency_s,
                    "s",
                    "NCCL all-reduce latency over NVLink, 3-20 µs (NCCL tests); fitted",
                );
                row("power_active", p.power_active, "", fit);
                row("power_compute", p.power_compute, "", fit);
                row("power_memory", p.power_memory, "", fit);
                row("moe_efficiency", p.moe_efficiency, "", &shared);
                row(
                    "routing_concentration",
                    p.routing_concentration,
                    "",
                    &shared,
                );
                row("fp8_efficiency", p.fp8_efficiency, "", &fp8);
                row("fp4_efficiency", p.fp4_efficiency, "", &fp4);
                row("ssm_prefill_efficiency", p.ssm_prefill_efficiency, "", &ssm);
                row(
                    "max_batched_tokens",
                    self.max_batched_tokens,
                    "tokens",
                    "vLLM V1 default max_num_batched_tokens for chunked prefill",
                );
            }
            Method::Epoch => {
                row(
                    "utilization",
                    self.epoch_utilization,
                    "",
                    "Seed 003: 10% typical inference utilization",
                );
                row(
                    "prefill_utilization",
                    self.epoch_prefill_utilization,
                    "",
                    "public-cases.md section 1: prefill at about 1/3 utilization fits 2.4 and 40 Wh",
                );
                row(
                    "power_fraction",
                    self.epoch_power_fraction,
                    "",
                    "Seed 003: GPUs draw about 70% of peak power (Patel et al. 2024)",
                );
            }
        }
        row("host_load", self.host_load, "", HOST_LOAD_SOURCE);
        row("reserve", self.reserve, "", RESERVE_SOURCE);
        row("pue", self.pue, "", region.source("pue"));
        row(
            "carbon",
            self.carbon.g_per_kwh(),
            "gCO2e/kWh",
            region.source("carbon_g_per_kwh"),
        );
        row(
            "wue_onsite",
            self.wue_onsite.l_per_kwh(),
            "L/kWh",
            region.source("wue_onsite_l_per_kwh"),
        );
        row(
            "wue_offsite",
            self.wue_offsite.l_per_kwh(),
            "L/kWh",
            region.source("wue_offsite_l_per_kwh"),
        );
        row(
            "price",
            self.price.usd_per_mwh(),
            "USD/MWh",
            region.source("electricity_usd_per_mwh"),
        );
        v
    }
}

/// Share of the host's rating drawn while serving.
pub const HOST_LOAD: f64 = 0.6;
const HOST_LOAD_SOURCE: &str = "estimate: CPUs, DRAM, NICs and fans of an 8-GPU server draw about 60% of their rated share under inference load (Patel et al. 2024 report servers well below nameplate)";
/// Idle reserve capacity per busy capacity.
pub const RESERVE: f64 = 0.15;
const RESERVE_SOURCE: &str = "estimate: fleets provision 10-30% headroom over mean load for peaks and failover; idle replicas draw idle power";

/// Writes one assumption's value (see [`Assumptions::setter`]).
pub type Setter = fn(&mut Assumptions, f64);

/// The plausible range of one assumption: what `--set`, presets and regions may give it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssumptionRange {
    /// The assumption's name (as in `--set NAME=VALUE`).
    pub name: &'static str,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Why these bounds.
    pub why: &'static str,
}

const FRACTION: &str = "a fraction, at least 0.1%: a time divided by a smaller one overflows, and no hardware runs below it";
const OVERHEAD: &str = "an iteration's fixed costs are micro- to milliseconds";
const COEFF: &str = "a fraction of the power range between idle and TDP";
const KERNEL: &str = "a kernel's speed relative to the dense 16-bit kernels, at most a few times";
const WUE: &str = "evaporative cooling and power plants use a few L/kWh";

const fn ar(name: &'static str, min: f64, max: f64, why: &'static str) -> AssumptionRange {
    AssumptionRange {
        name,
        min,
        max,
        why,
    }
}

/// Every assumption's plausible range; [`Assumptions::validate`] reads it and
/// `docs/limits.md` is generated from it. Upper bounds keep every product of assumptions
/// finite.
pub const RANGES: &[AssumptionRange] = &[
    ar("compute_efficiency", 1e-3, 1.0, FRACTION),
    ar("memory_efficiency", 1e-3, 1.0, FRACTION),
    ar("step_overhead_s", 0.0, 1.0, OVERHEAD),
    ar("per_seq_overhead_s", 0.0, 1.0, OVERHEAD),
    ar("collective_latency_s", 0.0, 1.0, OVERHEAD),
    ar("power_active", 0.0, 10.0, COEFF),
    ar("power_compute", 0.0, 10.0, COEFF),
    ar("power_memory", 0.0, 10.0, COEFF),
    ar("moe_efficiency", 1e-3, 10.0, KERNEL),
    ar("fp8_efficiency", 1e-3, 10.0, KERNEL),
    ar("fp4_efficiency", 1e-3, 10.0, KERNEL),
    ar(
        "routing_concentration",
        1e-2,
        1e6,
        "the Gamma concentration of expert popularity: 0.01 sends nearly every token to one expert, 1e6 is uniform",
    ),
    ar("ssm_prefill_efficiency", 1e-5, 10.0, KERNEL),
    ar(
        "host_load",
        0.0,
        10.0,
        "a server draws a few times its accelerators' power at most",
    ),
    ar(
        "pue",
        1.0,
        5.0,
        "a PUE below 1 is impossible; the worst data centers are near 3",
    ),
    ar(
        "reserve",
        0.0,
        10.0,
        "idle accelerator-seconds per busy one",
    ),
    ar("utilization", 1e-3, 1.0, FRACTION),
    ar("prefill_utilization", 1e-3, 1.0, FRACTION),
    ar("power_fraction", 1e-3, 1.0, FRACTION),
    ar(
        "max_batched_tokens",
        1.0,
        1e7,
        "schedulers batch thousands to tens of thousands of tokens",
    ),
    ar(
        "carbon",
        0.0,
        2000.0,
        "lignite, the dirtiest fuel, emits about 1,200 g/kWh",
    ),
    ar("wue_onsite", 0.0, 100.0, WUE),
    ar("wue_offsite", 0.0, 100.0, WUE),
    ar(
        "price",
        0.0,
        100_000.0,
        "wholesale price caps are 5,000-17,500 $/MWh",
    ),
];

/// Names accepted by [`Assumptions::set`] and [`Assumptions::get`].
pub const NAMES: &[&str] = &[
    "compute_efficiency",
    "memory_efficiency",
    "step_overhead_s",
    "per_seq_overhead_s",
    "collective_latency_s",
    "power_active",
    "power_compute",
    "power_memory",
    "moe_efficiency",
    "routing_concentration",
    "fp8_efficiency",
    "fp4_efficiency",
    "ssm_prefill_efficiency",
    "host_load",
    "pue",
    "reserve",
    "utilization",
    "prefill_utilization",
    "power_fraction",
    "max_batched_tokens",
    "carbon",
    "wue_onsite",
    "wue_offsite",
    "price",
];

impl Assumptions {
    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        if self.roofline.get(name).is_some() {
            return self.roofline.slot(name);
        }
        Some(match name {
            "host_load" => &mut self.host_load,
            "pue" => &mut self.pue,
            "reserve" => &mut self.reserve,
            "utilization" => &mut self.epoch_utilization,
            "prefill_utilization" => &mut self.epoch_prefill_utilization,
            "power_fraction" => &mut self.epoch_power_fraction,
            "max_batched_tokens" => &mut self.max_batched_tokens,
            _ => return None,
        })
    }

    /// Sets an assumption by name (see [`NAMES`]); units as in [`Assumptions::rows`].
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), crate::EstimateError> {
        match name {
            "carbon" => self.carbon = CarbonIntensity::from_g_per_kwh(value),
            "wue_onsite" => self.wue_onsite = WaterIntensity::from_l_per_kwh(value),
            "wue_offsite" => self.wue_offsite = WaterIntensity::from_l_per_kwh(value),
            "price" => self.price = EnergyPrice::from_usd_per_mwh(value),
            _ => match self.slot(name) {
                Some(s) => *s = value,
                None => {
                    return Err(crate::EstimateError::invalid(
                        "assumption",
                        format!("unknown assumption `{name}`; known: {}", NAMES.join(", ")),
                    ));
                }
            },
        }
        Ok(())
    }

    /// A setter for an assumption, resolved once (for hot loops); `None` for an unknown name.
    pub fn setter(name: &str) -> Option<Setter> {
        Some(match name {
            "compute_efficiency" => |a, v| a.roofline.compute_efficiency = v,
            "memory_efficiency" => |a, v| a.roofline.memory_efficiency = v,
            "step_overhead_s" => |a, v| a.roofline.step_overhead_s = v,
            "per_seq_overhead_s" => |a, v| a.roofline.per_seq_overhead_s = v,
            "collective_latency_s" => |a, v| a.roofline.collective_latency_s = v,
            "power_active" => |a, v| a.roofline.power_active = v,
            "power_compute" => |a, v| a.roofline.power_compute = v,
            "power_memory" => |a, v| a.roofline.power_memory = v,
            "moe_efficiency" => |a, v| a.roofline.moe_efficiency = v,
            "routing_concentration" => |a, v| a.roofline.routing_concentration = v,
            "fp8_efficiency" => |a, v| a.roofline.fp8_efficiency = v,
            "fp4_efficiency" => |a, v| a.roofline.fp4_efficiency = v,
            "ssm_prefill_efficiency" => |a, v| a.roofline.ssm_prefill_efficiency = v,
            "host_load" => |a, v| a.host_load = v,
            "pue" => |a, v| a.pue = v,
            "reserve" => |a, v| a.reserve = v,
            "utilization" => |a, v| a.epoch_utilization = v,
            "prefill_utilization" => |a, v| a.epoch_prefill_utilization = v,
            "power_fraction" => |a, v| a.epoch_power_fraction = v,
            "max_batched_tokens" => |a, v| a.max_batched_tokens = v,
            "carbon" => |a, v| a.carbon = CarbonIntensity::from_g_per_kwh(v),
            "wue_onsite" => |a, v| a.wue_onsite = WaterIntensity::from_l_per_kwh(v),
            "wue_offsite" => |a, v| a.wue_offsite = WaterIntensity::from_l_per_kwh(v),
            "price" => |a, v| a.price = EnergyPrice::from_usd_per_mwh(v),
            _ => return None,
        })
    }

    /// Reads an assumption by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "carbon" => Some(self.carbon.g_per_kwh()),
            "wue_onsite" => Some(self.wue_onsite.l_per_kwh()),
            "wue_offsite" => Some(self.wue_offsite.l_per_kwh()),
            "price" => Some(self.price.usd_per_mwh()),
            _ => self.clone().slot(name).map(|v| *v),
        }
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn every_assumption_has_an_upper_bound() {
        let cat = wattage_catalog::Catalog::builtin();
        let region = cat.region("us-average").expect("built-in region");
        for name in NAMES {
            let mut a = Assumptions::for_region(region);
            a.set(name, 1e308).expect("settable");
            let e = a.validate().expect_err(name);
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
    }
}

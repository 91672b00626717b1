//! The hardware side of a run's cost and carbon: each service fleet's and the training
//! job's capital cost (capex amortized, or rent) over the horizon beside the electricity
//! they used, per request and per million output tokens, and the embodied emissions of
//! their accelerators and servers as a separate scope line (see `wattage_request::tco` and
//! `docs/cost-and-carbon.md`).
//!
//! Hardware is charged for every accelerator the run provisions for the whole horizon
//! (owned hardware costs the same idle or busy). Electricity is each use's facility energy
//! at the site's energy cost per MWh, so the energy line agrees with the site's books.

use serde::Serialize;
use wattage_catalog::{Catalog, Hardware};
use wattage_request::tco::{self, CostBasis};

use super::RunResult;
use super::summary::r6;

/// The accelerator a site's training jobs are priced as (from the built-in catalog): their
/// scenario gives a GPU count and power, not a catalog id.
pub const TRAINING_HARDWARE: &str = "h100-sxm";

/// Low, central and high values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    /// Low end.
    pub low: f64,
    /// Central value.
    pub central: f64,
    /// High end.
    pub high: f64,
}

/// Electricity and hardware cost, split so the parts sum to the total, USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Split {
    /// Electricity, USD.
    pub energy_usd: f64,
    /// Hardware, USD.
    pub hardware_usd: f64,
    /// Sum, USD.
    pub total_usd: f64,
}

/// One use of the site's hardware (a service fleet or the training job) over the horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UseCapital {
    /// Service name, or `training`.
    pub name: String,
    /// Catalog hardware id it is priced as.
    pub hardware: String,
    /// How the hardware is paid for (`null`: no price or rent in the catalog).
    pub cost_basis: Option<CostBasis>,
    /// Accelerators provisioned.
    pub gpus: u64,
    /// Accelerator-hours provisioned over the horizon.
    pub gpu_hours: f64,
    /// Hardware cost per accelerator-hour, USD.
    pub hardware_usd_per_gpu_hour: Option<f64>,
    /// Electricity and hardware over the horizon (hardware and total `null` without a price).
    pub cost: Split,
    /// Electricity's share of the total cost (`null` without a price).
    pub energy_share: Option<f64>,
    /// Per request (services only).
    pub per_request: Option<Split>,
    /// Per million output tokens (services only).
    pub per_million_output_tokens: Option<Split>,
    /// Embodied emissions of the hardware over the horizon, t CO2e (`null` without an
    /// embodied figure); not part of the site's `co2e_t`.
    pub embodied_t: Option<Range>,
    /// Embodied emissions per request, g CO2e (services only).
    pub embodied_g_per_request: Option<f64>,
}

/// Capital cost and embodied emissions of a run's hardware: what `summary.json` holds as
/// `capital`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapitalSummary {
    /// Horizon, h.
    pub hours: f64,
    /// Electricity price used: the site's energy cost per MWh served, USD.
    pub energy_usd_per_mwh: f64,
    /// Each service fleet, then the training job (if the site has one).
    pub uses: Vec<UseCapital>,
    /// Sum over the uses: electricity, hardware (of the uses with a price) and total, USD.
    pub total: Split,
    /// Sum of the embodied emissions of the uses that have a figure, t CO2e.
    pub embodied_t: Range,
}

fn per(s: &Split, n: f64) -> Split {
    Split {
        energy_usd: r6(s.energy_usd / n),
        hardware_usd: r6(s.hardware_usd / n),
        total_usd: r6(s.total_usd / n),
    }
}

/// One use's capital and embodied lines from its accelerators, hours and electricity cost.
fn one(
    hw: Option<&Hardware>,
    name: &str,
    hardware: &str,
    gpus: u64,
    hours: f64,
    energy_usd: f64,
    requests: Option<(f64, f64)>,
) -> UseCapital {
    let gpu_hours = gpus as f64 * hours;
    let basis = hw.and_then(tco::default_basis);
    let rate = match (hw, basis) {
        (Some(h), Some(b)) => tco::hourly_capital(h, b).ok(),
        _ => None,
    };
    let (cost, share) = match &rate {
        Some(rate) => {
            let s = tco::split(wattage_units::Usd::new(energy_usd), gpu_hours, rate);
            (
                Split {
                    energy_usd: s.energy_usd,
                    hardware_usd: s.hardware_usd,
                    total_usd: s.total_usd,
                },
                Some(r6(s.energy_share)),
            )
        }
        None => (
            Split {
                energy_usd,
                hardware_usd: 0.0,
                total_usd: energy_usd,
            },
            None,
        ),
    };
    let embodied = hw.and_then(tco::embodied_rate).map(|e| {
        let [lo, mid, hi] = e.over(gpu_hours);
        Range {
            low: lo.t(),
            central: mid.t(),
            high: hi.t(),
        }
    });
    let (per_request, per_m, embodied_g) = match requests {
        Some((n, tokens)) if n > 0.0 && tokens > 0.0 => (
            Some(per(&cost, n)),
            Some(per(&cost, n * tokens / 1e6)),
            embodied.map(|e| r6(e.central * 1e6 / n)),
        ),
        _ => (None, None, None),
    };
    UseCapital {
        name: name.to_string(),
        hardware: hw.map_or_else(|| hardware.to_string(), |h| h.id.clone()),
        cost_basis: basis.filter(|_| rate.is_some()),
        gpus,
        gpu_hours: r6(gpu_hours),
        hardware_usd_per_gpu_hour: rate.as_ref().map(|r| r6(r.usd_per_gpu_hour)),
        cost: Split {
            energy_usd: r6(cost.energy_usd),
            hardware_usd: r6(cost.hardware_usd),
            total_usd: r6(cost.total_usd),
        },
        energy_share: share,
        per_request,
        per_million_output_tokens: per_m,
        embodied_t: embodied.map(|e| Range {
            low: r6(e.low),
            central: r6(e.central),
            high: r6(e.high),
        }),
        embodied_g_per_request: embodied_g,
    }
}

/// The capital summary of a run.
pub fn build(r: &RunResult) -> CapitalSummary {
    let k = &r.year.kpis;
    let hours = k.hours;
    let pue = r.site_pue();
    let price = k.cost_usd_per_mwh;
    let mut uses: Vec<UseCapital> = r
        .services
        .iter()
        .map(|s| {
            let f = &s.fleet;
            let mwh = f.mean_server_w() * pue * hours / 1e6;
            let requests = s.service.requests_per_day * hours / 24.0;
            one(
                Some(&s.deployment.hardware),
                &s.service.name,
                &s.deployment.hardware.id,
                f.gpus(),
                hours,
                mwh * price,
                Some((requests, s.service.output_tokens)),
            )
        })
        .collect();
    let training_gpus: u64 = r.site.training.iter().map(|t| t.gpus).sum();
    if training_gpus > 0 {
        let u = &k.energy_mwh_by_use;
        let mwh = (u.training_it + u.training_dummy_work) * pue;
        let cat = Catalog::builtin();
        uses.push(one(
            cat.hardware(TRAINING_HARDWARE).ok(),
            "training",
            TRAINING_HARDWARE,
            training_gpus,
            hours,
            mwh * price,
            None,
        ));
    }
    let sum = |f: fn(&UseCapital) -> f64| r6(uses.iter().map(f).sum::<f64>());
    let emb = |f: fn(&Range) -> f64| {
        r6(uses
            .iter()
            .filter_map(|u| u.embodied_t.as_ref().map(f))
            .sum::<f64>())
    };
    CapitalSummary {
        hours: r6(hours),
        energy_usd_per_mwh: r6(price),
        total: Split {
            energy_usd: sum(|u| u.cost.energy_usd),
            hardware_usd: sum(|u| u.cost.hardware_usd),
            total_usd: sum(|u| u.cost.total_usd),
        },
        embodied_t: Range {
            low: emb(|e| e.low),
            central: emb(|e| e.central),
            high: emb(|e| e.high),
        },
        uses,
    }
}

//! Total cost and carbon beyond the electricity: the capital cost of the hardware (bought and
//! amortized, or rented) per accelerator-hour, the embodied (manufacturing) emissions of the
//! accelerators and their servers amortized over their service life, and market-based
//! carbon beside the location-based figure.
//!
//! Everything here is charged per *provisioned* accelerator-hour: hardware is paid for, and
//! was manufactured, whether it computes or idles. A request's provisioned time is its busy
//! accelerator-time plus its share of the idle reserve (roofline method: `gpu_time x (1 +
//! reserve)`); the epoch method's flat utilization already counts the idle time, so there it
//! is `gpu_time` alone ([`provisioned_gpu_time`]).
//!
//! Capital cost (`capex` basis): straight-line amortization, no cost of capital,
//! `price / (life x 8760 h)` for the accelerator and for its server share, plus the
//! facility's construction cost per kW of IT load ([`FACILITY_USD_PER_KW`]) times the
//! accelerator's rated IT power (TDP plus host), over the facility's life
//! ([`FACILITY_LIFE_YEARS`]). Rent (`rent` basis) is the catalog's price per accelerator-hour;
//! a rental price already includes the provider's electricity, so under `rent` the
//! hardware line is the rent less the electricity and the total is the rent.
//!
//! Embodied emissions: `(accelerator + server share) / (life x 8760 h)` per provisioned
//! accelerator-hour, as a low, central and high value from the catalog. The facility's
//! construction emissions are not counted (no sourced figure in the catalog). Embodied
//! emissions are a separate scope line (GHG Protocol Scope 3, category 2, capital goods),
//! never added to the operational (Scope 2) figure.
//!
//! Market-based carbon (GHG Protocol Scope 2 Guidance, 2015): consumption covered by
//! contracted clean energy (PPAs, RECs, guarantees of origin; `clean_share`) counts at
//! zero, the rest at the region's residual mix, or at its location-based average when the
//! catalog has no residual mix for it (the guidance's fallback, which double counts the
//! attributes sold as certificates; the result says which was used).

use serde::{Deserialize, Serialize};
use wattage_catalog::{Hardware, Region};
use wattage_units::{CarbonIntensity, Co2e, Energy, Time, Usd};

use crate::EstimateError;
use crate::assumptions::{Assumptions, Method};
use crate::estimate::Estimate;

/// Hours in a year of service.
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// Construction cost of a data centre per kW of critical IT load, USD: low, central, high.
pub const FACILITY_USD_PER_KW: [f64; 3] = [9_300.0, 11_700.0, 15_000.0];
/// Source of [`FACILITY_USD_PER_KW`].
pub const FACILITY_USD_PER_KW_SOURCE: &str = "Cushman & Wakefield Data Center Development Cost Guide 2025: $9.3-15.0 million per MW of critical load across 19 US markets, average $11.7 million (excludes land, IT equipment and soft costs)";
/// Years over which the facility is amortized.
pub const FACILITY_LIFE_YEARS: f64 = 15.0;
/// Source of [`FACILITY_LIFE_YEARS`].
pub const FACILITY_LIFE_YEARS_SOURCE: &str = "Estimate: data-centre power and cooling plant is depreciated over about 10-20 years, much longer than the IT equipment it houses";

/// How hardware is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostBasis {
    /// Bought and amortized over its service life, with the facility's construction cost.
    Capex,
    /// Rented by the accelerator-hour (the price includes the provider's electricity).
    Rent,
}

impl CostBasis {
    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CostBasis::Capex => "capex",
            CostBasis::Rent => "rent",
        }
    }
}

impl std::str::FromStr for CostBasis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "capex" => Ok(CostBasis::Capex),
            "rent" => Ok(CostBasis::Rent),
            _ => Err(format!("unknown cost basis `{s}`; expected capex or rent")),
        }
    }
}

/// The hardware's cost per provisioned accelerator-hour, by part, USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyCapital {
    /// How it is paid for.
    pub basis: CostBasis,
    /// The accelerator (capex) or the whole rent (rent), USD per accelerator-hour.
    pub accelerator_usd_per_gpu_hour: f64,
    /// The server share and cluster network (capex only), USD per accelerator-hour.
    pub server_usd_per_gpu_hour: f64,
    /// The facility's construction (capex only), USD per accelerator-hour.
    pub facility_usd_per_gpu_hour: f64,
    /// Sum of the parts, USD per accelerator-hour.
    pub usd_per_gpu_hour: f64,
    /// Each input with its value and source.
    pub inputs: Vec<Input>,
}

/// One input of a cost or carbon figure: name, value, unit and source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Input {
    /// Name (the catalog field, or the constant's name).
    pub name: &'static str,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: &'static str,
    /// Where it comes from.
    pub source: String,
}

fn input(name: &'static str, value: f64, unit: &'static str, source: &str) -> Input {
    Input {
        name,
        value,
        unit,
        source: source.to_string(),
    }
}

fn missing(hw: &Hardware, basis: CostBasis, field: &str) -> EstimateError {
    EstimateError::invalid(
        "cost_basis",
        format!(
            "`{}` has no `{field}` in the catalog, which the {} basis needs; use the other basis or add it with a catalog file",
            hw.id,
            basis.as_str()
        ),
    )
}

/// The hardware's cost per accelerator-hour on a basis. Errors name the missing catalog
/// field.
pub fn hourly_capital(hw: &Hardware, basis: CostBasis) -> Result<HourlyCapital, EstimateError> {
    match basis {
        CostBasis::Rent => {
            let rent = hw
                .rent_usd_per_hour
                .ok_or_else(|| missing(hw, basis, "rent_usd_per_hour"))?;
            Ok(HourlyCapital {
                basis,
                accelerator_usd_per_gpu_hour: rent,
                server_usd_per_gpu_hour: 0.0,
                facility_usd_per_gpu_hour: 0.0,
                usd_per_gpu_hour: rent,
                inputs: vec![input(
                    "rent_usd_per_hour",
                    rent,
                    "USD/GPU-h",
                    hw.source("rent_usd_per_hour"),
                )],
            })
        }
        CostBasis::Capex => {
            let price = hw
                .price_usd
                .ok_or_else(|| missing(hw, basis, "price_usd"))?;
            let server = hw
                .server_usd_per_accel
                .ok_or_else(|| missing(hw, basis, "server_usd_per_accel"))?;
            let life = hw
                .life_years
                .ok_or_else(|| missing(hw, basis, "life_years"))?;
            let life_h = life * HOURS_PER_YEAR;
            let it_kw = (hw.tdp_w + hw.host_w_per_accel) / 1e3;
            let facility_usd = it_kw * FACILITY_USD_PER_KW[1];
            let accelerator = price / life_h;
            let server_h = server / life_h;
            let facility = facility_usd / (FACILITY_LIFE_YEARS * HOURS_PER_YEAR);
            Ok(HourlyCapital {
                basis,
                accelerator_usd_per_gpu_hour: accelerator,
                server_usd_per_gpu_hour: server_h,
                facility_usd_per_gpu_hour: facility,
                usd_per_gpu_hour: accelerator + server_h + facility,
                inputs: vec![
                    input("price_usd", price, "USD", hw.source("price_usd")),
                    input(
                        "server_usd_per_accel",
                        server,
                        "USD",
                        hw.source("server_usd_per_accel"),
                    ),
                    input("life_years", life, "years", hw.source("life_years")),
                    input(
                        "it_kw_per_accel",
                        it_kw,
                        "kW",
                        "catalog tdp_w + host_w_per_accel (rated IT power per accelerator)",
                    ),
                    input(
                        "facility_usd_per_kw",
                        FACILITY_USD_PER_KW[1],
                        "USD/kW",
                        FACILITY_USD_PER_KW_SOURCE,
                    ),
                    input(
                        "facility_life_years",
                        FACILITY_LIFE_YEARS,
                        "years",
                        FACILITY_LIFE_YEARS_SOURCE,
                    ),
                ],
            })
        }
    }
}

/// The basis used when none is asked for: `capex` when the catalog has the prices, else
/// `rent` when it has a rent, else none.
pub fn default_basis(hw: &Hardware) -> Option<CostBasis> {
    if hw.price_usd.is_some() && hw.server_usd_per_accel.is_some() && hw.life_years.is_some() {
        Some(CostBasis::Capex)
    } else if hw.rent_usd_per_hour.is_some() {
        Some(CostBasis::Rent)
    } else {
        None
    }
}

/// Embodied emissions per provisioned accelerator-hour: accelerator board plus server share
/// over the service life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbodiedRate {
    /// Low end, g CO2e per accelerator-hour.
    pub low_g_per_gpu_hour: f64,
    /// Central value, g CO2e per accelerator-hour.
    pub g_per_gpu_hour: f64,
    /// High end, g CO2e per accelerator-hour.
    pub high_g_per_gpu_hour: f64,
    /// Accelerator board, kg CO2e (central).
    pub accelerator_kg: f64,
    /// Server share per accelerator, kg CO2e (central).
    pub server_kg: f64,
    /// Service life, years.
    pub life_years: f64,
    /// Each input with its value and source.
    pub inputs: Vec<Input>,
}

/// The embodied rate of an accelerator, if the catalog has its embodied emissions and
/// service life. A missing server share counts as zero and is not listed as an input.
pub fn embodied_rate(hw: &Hardware) -> Option<EmbodiedRate> {
    let accel = hw.embodied_range()?;
    let life = hw.life_years?;
    let server = hw.server_embodied_range().unwrap_or([0.0; 3]);
    let life_h = life * HOURS_PER_YEAR;
    let g = |i: usize| (accel[i] + server[i]) * 1e3 / life_h;
    let mut inputs = vec![
        input(
            "embodied_kgco2e",
            accel[1],
            "kg CO2e",
            hw.source("embodied_kgco2e"),
        ),
        input(
            "embodied_kgco2e_low",
            accel[0],
            "kg CO2e",
            hw.source("embodied_kgco2e_low"),
        ),
        input(
            "embodied_kgco2e_high",
            accel[2],
            "kg CO2e",
            hw.source("embodied_kgco2e_high"),
        ),
    ];
    if hw.server_embodied_kgco2e.is_some() {
        inputs.extend([
            input(
                "server_embodied_kgco2e",
                server[1],
                "kg CO2e",
                hw.source("server_embodied_kgco2e"),
            ),
            input(
                "server_embodied_kgco2e_low",
                server[0],
                "kg CO2e",
                hw.source("server_embodied_kgco2e_low"),
            ),
            input(
                "server_embodied_kgco2e_high",
                server[2],
                "kg CO2e",
                hw.source("server_embodied_kgco2e_high"),
            ),
        ]);
    }
    inputs.push(input("life_years", life, "years", hw.source("life_years")));
    Some(EmbodiedRate {
        low_g_per_gpu_hour: g(0),
        g_per_gpu_hour: g(1),
        high_g_per_gpu_hour: g(2),
        accelerator_kg: accel[1],
        server_kg: server[1],
        life_years: life,
        inputs,
    })
}

impl EmbodiedRate {
    /// Embodied emissions of `hours` provisioned accelerator-hours as (low, central, high).
    pub fn over(&self, gpu_hours: f64) -> [Co2e; 3] {
        [
            Co2e::from_g(self.low_g_per_gpu_hour * gpu_hours),
            Co2e::from_g(self.g_per_gpu_hour * gpu_hours),
            Co2e::from_g(self.high_g_per_gpu_hour * gpu_hours),
        ]
    }
}

/// The accelerator-time a request holds provisioned hardware: its busy time plus its share
/// of the idle reserve (roofline), or its flat-utilization time (epoch, which already counts
/// the idle time).
pub fn provisioned_gpu_time(e: &Estimate, a: &Assumptions) -> Time {
    match e.method {
        Method::Roofline => e.gpu_time * (1.0 + a.reserve),
        Method::Epoch => e.gpu_time,
    }
}

/// Energy cost and hardware cost of some work, split so the parts sum to the total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostSplit {
    /// Electricity, USD.
    pub energy_usd: f64,
    /// Hardware (amortized capex, or rent less the electricity it includes), USD.
    pub hardware_usd: f64,
    /// Sum, USD.
    pub total_usd: f64,
    /// Electricity's share of the total (the energy share of total cost of ownership).
    pub energy_share: f64,
}

/// Splits the cost of `gpu_hours` provisioned accelerator-hours that used `energy_cost` of
/// electricity. Under `rent`, the rent includes the electricity: the total is the rent (or
/// the electricity, if that is more), and the hardware line is the rest.
pub fn split(energy_cost: Usd, gpu_hours: f64, capital: &HourlyCapital) -> CostSplit {
    let energy = energy_cost.usd();
    let charged = capital.usd_per_gpu_hour * gpu_hours;
    let (hardware, total) = match capital.basis {
        CostBasis::Capex => (charged, energy + charged),
        CostBasis::Rent => {
            let total = charged.max(energy);
            (total - energy, total)
        }
    };
    CostSplit {
        energy_usd: energy,
        hardware_usd: hardware,
        total_usd: total,
        energy_share: if total > 0.0 { energy / total } else { 0.0 },
    }
}

/// Where the intensity of uncovered consumption comes from, for market-based carbon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResidualSource {
    /// Given by the user.
    User,
    /// The region's residual mix in the catalog.
    Catalog,
    /// No residual mix known: the location-based average.
    LocationFallback,
}

/// Market-based carbon inputs: contracted clean share and the residual intensity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarketBased {
    /// Share of consumption covered by contracted clean energy (0-1).
    pub clean_share: f64,
    /// Intensity of the uncovered consumption, g/kWh.
    pub residual_g_per_kwh: f64,
    /// Where `residual_g_per_kwh` comes from.
    pub residual_source: ResidualSource,
}

impl MarketBased {
    /// Market-based inputs for a region: `clean_share` checked in [0, 1], the residual from
    /// the user, else the catalog, else the location-based `carbon`.
    pub fn new(
        region: &Region,
        carbon: CarbonIntensity,
        clean_share: f64,
        residual_g_per_kwh: Option<f64>,
    ) -> Result<Self, EstimateError> {
        if !(clean_share.is_finite() && (0.0..=1.0).contains(&clean_share)) {
            return Err(EstimateError::invalid(
                "clean_share",
                format!("must be a share between 0 and 1, got {clean_share}"),
            ));
        }
        let (residual, source) = match (residual_g_per_kwh, region.residual_mix_g_per_kwh) {
            (Some(r), _) => {
                if !(r.is_finite() && (0.0..=2000.0).contains(&r)) {
                    return Err(EstimateError::invalid(
                        "residual_carbon_g_per_kwh",
                        format!("must be in [0, 2000] g/kWh, got {r}"),
                    ));
                }
                (r, ResidualSource::User)
            }
            (None, Some(r)) => (r, ResidualSource::Catalog),
            (None, None) => (carbon.g_per_kwh(), ResidualSource::LocationFallback),
        };
        Ok(Self {
            clean_share,
            residual_g_per_kwh: residual,
            residual_source: source,
        })
    }

    /// Market-based emissions of `energy`.
    pub fn co2e(&self, energy: Energy) -> Co2e {
        energy * CarbonIntensity::from_g_per_kwh(self.residual_g_per_kwh * (1.0 - self.clean_share))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use wattage_catalog::Catalog;

    /// The H100's capital cost per hour from its catalog numbers, by hand:
    /// accelerator 27,500 / (5 x 8,760) = 0.627854; server 15,500 / 43,800 = 0.353881;
    /// facility (0.700 + 0.575) kW x 11,700 = 14,917.5 / (15 x 8,760) = 0.113527;
    /// total 1.095263 $/GPU-h.
    #[test]
    fn h100_capex_per_gpu_hour_by_hand() {
        let cat = Catalog::builtin();
        let h = hourly_capital(cat.hardware("h100-sxm").unwrap(), CostBasis::Capex).unwrap();
        assert!((h.accelerator_usd_per_gpu_hour - 0.627_854).abs() < 1e-6);
        assert!((h.server_usd_per_gpu_hour - 0.353_881).abs() < 1e-6);
        assert!((h.facility_usd_per_gpu_hour - 0.113_527).abs() < 1e-6);
        assert!((h.usd_per_gpu_hour - 1.095_263).abs() < 1e-6);
        assert!(h.inputs.iter().all(|i| !i.source.contains("unsourced")));
    }

    /// (150 + 312.5) kg over 43,800 h = 10.5594 g per GPU-hour; low (75 + 156) = 5.2740,
    /// high (300 + 625) = 21.1187.
    #[test]
    fn h100_embodied_per_gpu_hour_by_hand() {
        let cat = Catalog::builtin();
        let e = embodied_rate(cat.hardware("h100-sxm").unwrap()).unwrap();
        assert!((e.g_per_gpu_hour - 10.559_36).abs() < 1e-4, "{e:?}");
        assert!((e.low_g_per_gpu_hour - 5.273_97).abs() < 1e-4);
        assert!((e.high_g_per_gpu_hour - 21.118_72).abs() < 1e-4);
    }

    #[test]
    fn rent_includes_the_electricity_and_the_split_sums() {
        let cat = Catalog::builtin();
        let h = hourly_capital(cat.hardware("h100-sxm").unwrap(), CostBasis::Rent).unwrap();
        let s = split(Usd::new(0.5), 1.0, &h);
        assert_eq!((s.hardware_usd, s.total_usd), (1.5, 2.0));
        assert_eq!(s.energy_share, 0.25);
        // Electricity dearer than the rent: the total is the electricity, hardware zero.
        let s = split(Usd::new(3.0), 1.0, &h);
        assert_eq!((s.hardware_usd, s.total_usd), (0.0, 3.0));
        let c = hourly_capital(cat.hardware("h100-sxm").unwrap(), CostBasis::Capex).unwrap();
        let s = split(Usd::new(0.5), 2.0, &c);
        assert!((s.energy_usd + s.hardware_usd - s.total_usd).abs() < 1e-12);
    }

    #[test]
    fn missing_prices_name_the_field_and_the_default_basis_falls_back() {
        let cat = Catalog::builtin();
        let b200 = cat.hardware("b200").unwrap();
        let e = hourly_capital(b200, CostBasis::Capex)
            .unwrap_err()
            .to_string();
        assert!(e.contains("price_usd") && e.contains("b200"), "{e}");
        assert_eq!(default_basis(b200), Some(CostBasis::Rent));
        assert_eq!(
            default_basis(cat.hardware("h100").unwrap()),
            Some(CostBasis::Capex)
        );
        assert_eq!(default_basis(cat.hardware("gb200").unwrap()), None);
    }

    #[test]
    fn market_based_carbon() {
        let cat = Catalog::builtin();
        let r = cat.region("us-average").unwrap();
        let m = MarketBased::new(r, r.carbon(), 0.75, None).unwrap();
        assert_eq!(m.residual_source, ResidualSource::LocationFallback);
        let e = Energy::from_kwh(2.0);
        assert!((m.co2e(e).g() - 2.0 * 367.0 * 0.25).abs() < 1e-9);
        let m = MarketBased::new(r, r.carbon(), 0.0, Some(500.0)).unwrap();
        assert_eq!(m.residual_source, ResidualSource::User);
        assert!((m.co2e(e).g() - 1000.0).abs() < 1e-9);
        assert!(MarketBased::new(r, r.carbon(), 1.5, None).is_err());
        assert!(MarketBased::new(r, r.carbon(), 0.0, Some(f64::NAN)).is_err());
    }
}

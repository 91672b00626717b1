//! The optimization problem: a site's assets, their costs and the series that drive them, over
//! fixed steps. Built directly by a caller or converted from a site scenario.

use serde::{Deserialize, Serialize};
use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time};

use crate::OptimizeError;

/// Hours in one (365-day) year: capital costs are given per year and charged for the horizon's
/// share of it.
pub const HOURS_PER_YEAR: f64 = 8760.0;
/// Hours in one billing month (a twelfth of a 365-day year), for demand charges.
pub const HOURS_PER_MONTH: f64 = HOURS_PER_YEAR / 12.0;

/// A power rating that is either fixed or a decision variable between `existing` and `max`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerCapacity {
    /// What is already built (the lower bound of the decision).
    pub existing: Power,
    /// The most that may be built in total; equal to `existing` for a fixed asset.
    pub max: Power,
    /// Annualized capital cost of capacity built beyond `existing`, US dollars per MW-year.
    pub annual_cost_usd_per_mw: f64,
}

impl PowerCapacity {
    /// A fixed rating that the optimizer cannot change.
    pub fn fixed(p: Power) -> Self {
        Self {
            existing: p,
            max: p,
            annual_cost_usd_per_mw: 0.0,
        }
    }
    /// A rating that may be built from `existing` up to `max` at an annualized cost per MW-year.
    pub fn extendable(existing: Power, max: Power, annual_cost_usd_per_mw: f64) -> Self {
        Self {
            existing,
            max,
            annual_cost_usd_per_mw,
        }
    }
    /// True when the optimizer can choose the rating.
    pub fn is_extendable(&self) -> bool {
        self.max.mw() > self.existing.mw()
    }
    fn check(&self, field: &str) -> Result<(), OptimizeError> {
        check_nonneg(&format!("{field}.existing_mw"), self.existing.mw())?;
        check_nonneg(&format!("{field}.max_mw"), self.max.mw())?;
        check_nonneg(
            &format!("{field}.annual_cost_usd_per_mw"),
            self.annual_cost_usd_per_mw,
        )?;
        if self.max.mw() < self.existing.mw() {
            return Err(OptimizeError::invalid(
                format!("{field}.max_mw"),
                "is below the existing rating",
            ));
        }
        Ok(())
    }
}

/// An energy rating (battery MWh) that is either fixed or a decision variable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnergyCapacity {
    /// What is already built.
    pub existing: Energy,
    /// The most that may be built in total; equal to `existing` for a fixed asset.
    pub max: Energy,
    /// Annualized capital cost beyond `existing`, US dollars per MWh-year.
    pub annual_cost_usd_per_mwh: f64,
}

impl EnergyCapacity {
    /// A fixed rating.
    pub fn fixed(e: Energy) -> Self {
        Self {
            existing: e,
            max: e,
            annual_cost_usd_per_mwh: 0.0,
        }
    }
    /// A rating that may be built up to `max` at an annualized cost per MWh-year.
    pub fn extendable(existing: Energy, max: Energy, annual_cost_usd_per_mwh: f64) -> Self {
        Self {
            existing,
            max,
            annual_cost_usd_per_mwh,
        }
    }
    fn check(&self, field: &str) -> Result<(), OptimizeError> {
        check_nonneg(&format!("{field}.existing_mwh"), self.existing.mwh())?;
        check_nonneg(&format!("{field}.max_mwh"), self.max.mwh())?;
        check_nonneg(
            &format!("{field}.annual_cost_usd_per_mwh"),
            self.annual_cost_usd_per_mwh,
        )?;
        if self.max.mwh() < self.existing.mwh() {
            return Err(OptimizeError::invalid(
                format!("{field}.max_mwh"),
                "is below the existing rating",
            ));
        }
        Ok(())
    }
}

/// The grid connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridSpec {
    /// Connection rating: the import cap.
    pub connection: PowerCapacity,
    /// Export cap (zero: no export).
    pub export_cap: Power,
    /// Export earns this fraction of the step's import price.
    pub export_price_fraction: f64,
    /// Energy price per step; one value means a flat price.
    pub price: Vec<EnergyPrice>,
    /// Demand charge on the peak import of each billing month, US dollars per kW-month.
    pub demand_charge_usd_per_kw_month: f64,
    /// Carbon intensity of imports per step; one value means a flat intensity.
    pub carbon_intensity: Vec<CarbonIntensity>,
}

/// A fleet of identical gas turbines, modelled as one committed capacity (linearized unit
/// commitment).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurbineSpec {
    /// A name used in outputs.
    pub name: String,
    /// Total rating of the fleet (count x unit rating).
    pub capacity: PowerCapacity,
    /// Minimum stable load as a fraction of the committed capacity (0 to 1).
    pub min_stable_fraction: f64,
    /// Ramp limit of the output as a fraction of the fleet's rating per minute; `None` means
    /// no limit.
    pub ramp_fraction_per_min: Option<f64>,
    /// Heat rate, MMBtu of fuel per MWh of electricity.
    pub heat_rate_mmbtu_per_mwh: f64,
    /// Fuel price, US dollars per MMBtu.
    pub fuel_price_usd_per_mmbtu: f64,
    /// Variable operation and maintenance cost, US dollars per MWh.
    pub vom_usd_per_mwh: f64,
    /// Start-up cost per MW of capacity committed, US dollars per MW.
    pub startup_cost_usd_per_mw: f64,
    /// Emissions per MWh of electricity.
    pub carbon_intensity: CarbonIntensity,
    /// One continuous committed capacity (the default, a linear program) or whole units (a
    /// mixed-integer program, HiGHS only).
    #[serde(default)]
    pub commitment: Commitment,
}

/// How a turbine fleet is committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Commitment {
    /// The committed capacity is a continuous variable between zero and the rating (the
    /// linear relaxation of unit commitment): start-up costs are per MW started and the
    /// minimum stable load applies to the committed capacity.
    #[default]
    Linear,
    /// Whole units: an integer number of units online in each step, each producing between
    /// its minimum stable load and its rating, started and shut down at a cost per unit, and
    /// kept on (off) for at least the minimum up (down) time. Needs HiGHS's MIP solver.
    Integer {
        /// Rating of one unit; the fleet has `floor(rating / unit)` units.
        unit: Power,
        /// A unit started stays on at least this long (rounded up to whole steps).
        min_up: Time,
        /// A unit shut down stays off at least this long (rounded up to whole steps).
        min_down: Time,
        /// Cost of shutting one unit down, US dollars per MW of unit rating (the start-up
        /// cost is the fleet's `startup_cost_usd_per_mw`, per MW of unit rating too).
        shutdown_cost_usd_per_mw: f64,
    },
}

impl Commitment {
    /// True for [`Commitment::Integer`].
    pub fn is_integer(&self) -> bool {
        matches!(self, Commitment::Integer { .. })
    }
}

/// What the battery's state of charge must be at the end of the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SocEnd {
    /// The state before the first step equals the state after the last (no free energy).
    Cyclic,
    /// Start at `initial_fraction` of the energy rating and end with at least `final_fraction`.
    Fixed {
        /// State of charge before the first step, as a fraction of the energy rating.
        initial_fraction: f64,
        /// Minimum state of charge after the last step, as a fraction of the energy rating.
        final_fraction: f64,
    },
}

/// A battery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatterySpec {
    /// A name used in outputs.
    pub name: String,
    /// Charge and discharge power rating.
    pub power: PowerCapacity,
    /// Energy rating.
    pub energy: EnergyCapacity,
    /// Charging efficiency (0 to 1]: energy stored per energy drawn.
    pub charge_efficiency: f64,
    /// Discharging efficiency (0 to 1]: energy delivered per energy taken from the store.
    pub discharge_efficiency: f64,
    /// Lowest allowed state of charge, fraction of the energy rating.
    pub soc_min_fraction: f64,
    /// Highest allowed state of charge, fraction of the energy rating.
    pub soc_max_fraction: f64,
    /// Boundary condition on the state of charge.
    pub soc_end: SocEnd,
    /// Wear cost per MWh discharged (degradation by throughput), US dollars per MWh.
    pub wear_cost_usd_per_mwh: f64,
}

/// A solar plant: output up to its rating times a capacity factor, curtailable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SolarSpec {
    /// A name used in outputs.
    pub name: String,
    /// Nameplate rating.
    pub capacity: PowerCapacity,
    /// Available output per MW of nameplate in each step (0 to 1); one value means flat.
    pub capacity_factor: Vec<f64>,
}

/// A flexible load (a Bitcoin-mining fleet) that earns money for every MWh it consumes and may
/// run anywhere between zero and its rating.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinerSpec {
    /// A name used in outputs.
    pub name: String,
    /// Rating of the fleet.
    pub capacity: Power,
    /// Revenue per MWh consumed (from hashprice and efficiency).
    pub revenue: EnergyPrice,
}

impl MinerSpec {
    /// Revenue per MWh of a fleet with efficiency `j_per_th` (joules per terahash) at a hashprice
    /// in US dollars per TH/s per day: 1 MW runs 1e6 / J/TH TH/s, which earn hashprice x that
    /// per day, over 24 MWh.
    pub fn revenue_from_hashprice(j_per_th: f64, hashprice_usd_per_th_day: f64) -> EnergyPrice {
        if j_per_th <= 0.0 {
            return EnergyPrice::ZERO;
        }
        EnergyPrice::from_base(1e6 / j_per_th * hashprice_usd_per_th_day / 24.0)
    }
}

/// The whole problem: demand and assets over `steps` steps of length `step`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteProblem {
    /// Length of one step.
    pub step: Time,
    /// Firm demand (AI IT load plus facility overhead) in each step.
    pub load: Vec<Power>,
    /// The grid connection, if any.
    pub grid: Option<GridSpec>,
    /// Turbine fleets.
    pub turbines: Vec<TurbineSpec>,
    /// Batteries.
    pub batteries: Vec<BatterySpec>,
    /// Solar plants.
    pub solar: Vec<SolarSpec>,
    /// Flexible loads that earn revenue.
    pub miners: Vec<MinerSpec>,
    /// Value of lost load: the cost of each MWh of firm demand not served.
    pub value_of_lost_load: EnergyPrice,
    /// Carbon price, US dollars per tonne CO2e.
    pub carbon_price_usd_per_t: f64,
    /// Optional cap on the horizon's emissions, tonnes CO2e.
    pub carbon_cap_t: Option<f64>,
    /// Operating reserve to hold in every step: spare committed turbine capacity, unused grid
    /// import capacity, battery discharge headroom and running miners (they curtail within
    /// seconds).
    pub reserve: Power,
}

impl SiteProblem {
    /// An empty problem with `n` steps of length `step` and a constant load.
    pub fn new(step: Time, load: Vec<Power>) -> Self {
        Self {
            step,
            load,
            grid: None,
            turbines: Vec::new(),
            batteries: Vec::new(),
            solar: Vec::new(),
            miners: Vec::new(),
            value_of_lost_load: EnergyPrice::from_base(10_000.0),
            carbon_price_usd_per_t: 0.0,
            carbon_cap_t: None,
            reserve: Power::ZERO,
        }
    }

    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.load.len()
    }

    /// Length of the horizon.
    pub fn horizon(&self) -> Time {
        self.step * self.steps() as f64
    }

    /// Checks every number: finite, in range, series of length 1 or `steps`. The error names
    /// the field.
    pub fn validate(&self) -> Result<(), OptimizeError> {
        let n = self.steps();
        if n == 0 {
            return Err(OptimizeError::invalid("load", "has no steps"));
        }
        if !(self.step.s().is_finite() && self.step.s() > 0.0) {
            return Err(OptimizeError::invalid("step_s", "must be positive"));
        }
        for (t, p) in self.load.iter().enumerate() {
            check_nonneg(&format!("load_mw[{t}]"), p.mw())?;
        }
        check_nonneg(
            "value_of_lost_load_usd_per_mwh",
            self.value_of_lost_load.base(),
        )?;
        check_finite("carbon_price_usd_per_t", self.carbon_price_usd_per_t)?;
        if let Some(c) = self.carbon_cap_t {
            check_nonneg("carbon_cap_t", c)?;
        }
        check_nonneg("reserve_mw", self.reserve.mw())?;
        if let Some(g) = &self.grid {
            g.connection.check("grid.connection")?;
            check_series("grid.price_usd_per_mwh", g.price.len(), n)?;
            for (t, p) in g.price.iter().enumerate() {
                check_finite(&format!("grid.price_usd_per_mwh[{t}]"), p.base())?;
            }
            check_series("grid.carbon_intensity", g.carbon_intensity.len(), n)?;
            for (t, c) in g.carbon_intensity.iter().enumerate() {
                check_nonneg(&format!("grid.carbon_intensity[{t}]"), c.base())?;
            }
            check_nonneg("grid.export_cap_mw", g.export_cap.mw())?;
            check_fraction("grid.export_price_fraction", g.export_price_fraction)?;
            check_nonneg(
                "grid.demand_charge_usd_per_kw_month",
                g.demand_charge_usd_per_kw_month,
            )?;
        }
        for (i, tb) in self.turbines.iter().enumerate() {
            let f = format!("turbines[{i}]");
            tb.capacity.check(&format!("{f}.capacity"))?;
            check_fraction(&format!("{f}.min_stable_fraction"), tb.min_stable_fraction)?;
            if let Some(r) = tb.ramp_fraction_per_min {
                check_nonneg(&format!("{f}.ramp_fraction_per_min"), r)?;
            }
            check_nonneg(
                &format!("{f}.heat_rate_mmbtu_per_mwh"),
                tb.heat_rate_mmbtu_per_mwh,
            )?;
            check_finite(
                &format!("{f}.fuel_price_usd_per_mmbtu"),
                tb.fuel_price_usd_per_mmbtu,
            )?;
            check_finite(&format!("{f}.vom_usd_per_mwh"), tb.vom_usd_per_mwh)?;
            check_nonneg(
                &format!("{f}.startup_cost_usd_per_mw"),
                tb.startup_cost_usd_per_mw,
            )?;
            check_nonneg(&format!("{f}.carbon_intensity"), tb.carbon_intensity.base())?;
            if let Commitment::Integer {
                unit,
                min_up,
                min_down,
                shutdown_cost_usd_per_mw,
            } = tb.commitment
            {
                check_nonneg(&format!("{f}.commitment.unit_mw"), unit.mw())?;
                if unit.mw() <= 0.0 {
                    return Err(OptimizeError::invalid(
                        format!("{f}.commitment.unit_mw"),
                        "must be positive",
                    ));
                }
                if tb.capacity.max.mw() / unit.mw() > 1e6 {
                    return Err(OptimizeError::invalid(
                        format!("{f}.commitment.unit_mw"),
                        "makes more than a million units of the fleet's largest rating",
                    ));
                }
                check_nonneg(&format!("{f}.commitment.min_up_h"), min_up.h())?;
                check_nonneg(&format!("{f}.commitment.min_down_h"), min_down.h())?;
                check_nonneg(
                    &format!("{f}.commitment.shutdown_cost_usd_per_mw"),
                    shutdown_cost_usd_per_mw,
                )?;
            }
        }
        for (i, b) in self.batteries.iter().enumerate() {
            let f = format!("batteries[{i}]");
            b.power.check(&format!("{f}.power"))?;
            b.energy.check(&format!("{f}.energy"))?;
            for (name, v) in [
                ("charge_efficiency", b.charge_efficiency),
                ("discharge_efficiency", b.discharge_efficiency),
            ] {
                check_fraction(&format!("{f}.{name}"), v)?;
                if v <= 0.0 {
                    return Err(OptimizeError::invalid(
                        format!("{f}.{name}"),
                        "must be positive",
                    ));
                }
            }
            check_fraction(&format!("{f}.soc_min_fraction"), b.soc_min_fraction)?;
            check_fraction(&format!("{f}.soc_max_fraction"), b.soc_max_fraction)?;
            if b.soc_min_fraction > b.soc_max_fraction {
                return Err(OptimizeError::invalid(
                    format!("{f}.soc_min_fraction"),
                    "is above soc_max_fraction",
                ));
            }
            if let SocEnd::Fixed {
                initial_fraction,
                final_fraction,
            } = b.soc_end
            {
                for (name, v) in [
                    ("initial_fraction", initial_fraction),
                    ("final_fraction", final_fraction),
                ] {
                    check_fraction(&format!("{f}.soc_end.{name}"), v)?;
                    if v < b.soc_min_fraction || v > b.soc_max_fraction {
                        return Err(OptimizeError::invalid(
                            format!("{f}.soc_end.{name}"),
                            "is outside the state-of-charge limits",
                        ));
                    }
                }
            }
            check_nonneg(
                &format!("{f}.wear_cost_usd_per_mwh"),
                b.wear_cost_usd_per_mwh,
            )?;
        }
        for (i, s) in self.solar.iter().enumerate() {
            let f = format!("solar[{i}]");
            s.capacity.check(&format!("{f}.capacity"))?;
            check_series(&format!("{f}.capacity_factor"), s.capacity_factor.len(), n)?;
            for (t, v) in s.capacity_factor.iter().enumerate() {
                check_fraction(&format!("{f}.capacity_factor[{t}]"), *v)?;
            }
        }
        for (i, m) in self.miners.iter().enumerate() {
            let f = format!("miners[{i}]");
            check_nonneg(&format!("{f}.capacity_mw"), m.capacity.mw())?;
            check_finite(&format!("{f}.revenue_usd_per_mwh"), m.revenue.base())?;
        }
        Ok(())
    }
}

/// The value of a series of length 1 (flat) or `steps` at step `t`.
pub(crate) fn at<T: Copy>(s: &[T], t: usize) -> T {
    if s.len() == 1 { s[0] } else { s[t] }
}

fn check_finite(field: &str, v: f64) -> Result<(), OptimizeError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(OptimizeError::invalid(field, "must be a finite number"))
    }
}

fn check_nonneg(field: &str, v: f64) -> Result<(), OptimizeError> {
    check_finite(field, v)?;
    if v < 0.0 {
        return Err(OptimizeError::invalid(field, "must not be negative"));
    }
    Ok(())
}

fn check_fraction(field: &str, v: f64) -> Result<(), OptimizeError> {
    check_nonneg(field, v)?;
    if v > 1.0 {
        return Err(OptimizeError::invalid(field, "must be between 0 and 1"));
    }
    Ok(())
}

fn check_series(field: &str, len: usize, n: usize) -> Result<(), OptimizeError> {
    if len == 1 || len == n {
        Ok(())
    } else {
        Err(OptimizeError::invalid(
            field,
            format!("has {len} values; expected 1 or {n} (one per step)"),
        ))
    }
}

//! The plausible range of every numeric field of a site scenario, in one table that the
//! checks read ([`check`]) and `docs/limits.md` is generated from (a test keeps them equal).
//!
//! The scenario's own rules (positive, a fraction, `soc_min` below `soc_max`) come first
//! and keep their messages; the table then bounds each value to what a real site can have,
//! so a finite but absurd number (a power of 1e308 MW, a step of 1e-300 s) is an error at
//! its line instead of an infinity, a NaN or a hang later. Array fields are written with
//! `[]` (`batteries[].power_mw` covers every battery). A CSV profile's values are bounded
//! by its field's row (`grid.carbon_csv`).

/// The range of one field: `min` (exclusive when `open_min`) to `max` (inclusive), in `unit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Dotted path, `[]` for any index.
    pub field: &'static str,
    /// Unit of the value.
    pub unit: &'static str,
    /// Smallest value.
    pub min: f64,
    /// True when `min` itself is not allowed.
    pub open_min: bool,
    /// Largest value.
    pub max: f64,
    /// Why these bounds.
    pub why: &'static str,
}

const fn r(
    field: &'static str,
    unit: &'static str,
    min: f64,
    open_min: bool,
    max: f64,
    why: &'static str,
) -> Range {
    Range {
        field,
        unit,
        min,
        open_min,
        max,
        why,
    }
}

const CAMPUS: &str = "100 GW: no campus, grid connection or plant comes near";
const PRICE: &str =
    "wholesale price caps are 5,000-17,500 $/MWh; negative prices rarely pass -1,000";
const FRAC: &str = "a fraction";
const YEARS: &str = "the horizon is at most ten years";
const DAY: &str = "one day";
const WEEK: &str = "one week";
const CARBON: &str = "lignite, the dirtiest fuel, emits about 1,200 kg/MWh";
const TEMP: &str = "the coldest and hottest air temperatures recorded are -89 C and 57 C";

/// Every numeric field of a site scenario with its range.
pub const RANGES: &[Range] = &[
    r("simulation.duration_h", "h", 0.0, true, 87_840.0, YEARS),
    r(
        "simulation.step_s",
        "s",
        0.001,
        false,
        3600.0,
        "a millisecond resolves every dynamic the model has; an hour is the coarsest dispatch step",
    ),
    r(
        "simulation.output_resolution_s",
        "s",
        0.001,
        false,
        31_622_400.0,
        "from a millisecond to a year",
    ),
    r(
        "simulation.start_day_of_year",
        "day",
        1.0,
        false,
        366.0,
        "a day of the year",
    ),
    r("inference[].power_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r("inference[].diurnal_amplitude", "", 0.0, false, 1.0, FRAC),
    r(
        "inference[].peak_hour",
        "h",
        0.0,
        false,
        24.0,
        "an hour of the day",
    ),
    r(
        "inference[].profile_csv",
        "MW",
        0.0,
        false,
        100_000.0,
        CAMPUS,
    ),
    r(
        "training[].gpus",
        "GPUs",
        1.0,
        false,
        100_000_000.0,
        "100 million accelerators, over 100 times the largest clusters",
    ),
    r(
        "training[].gpu_tdp_w",
        "W",
        0.0,
        true,
        10_000.0,
        "accelerators draw up to about 1,500 W",
    ),
    r(
        "training[].compute_power_fraction",
        "",
        0.0,
        false,
        1.0,
        FRAC,
    ),
    r("training[].comm_power_fraction", "", 0.0, false, 1.0, FRAC),
    r("training[].idle_power_fraction", "", 0.0, false, 1.0, FRAC),
    r(
        "training[].host_power_w_per_gpu",
        "W",
        0.0,
        false,
        10_000.0,
        "host power per accelerator is hundreds of watts",
    ),
    r("training[].iteration_s", "s", 0.0, true, 86_400.0, DAY),
    r("training[].compute_duty", "", 0.0, true, 1.0, FRAC),
    r(
        "training[].checkpoint_interval_min",
        "min",
        0.0,
        true,
        525_600.0,
        "one year",
    ),
    r(
        "training[].checkpoint_duration_s",
        "s",
        0.0,
        false,
        86_400.0,
        DAY,
    ),
    r(
        "training[].failures_per_day",
        "/day",
        0.0,
        false,
        1440.0,
        "one a minute",
    ),
    r("training[].restart_min", "min", 0.0, false, 10_080.0, WEEK),
    r(
        "training[].value_usd_per_gpu_hour",
        "$/GPU-h",
        0.0,
        false,
        1000.0,
        "accelerators rent for a few dollars an hour",
    ),
    r("training[].power_floor_fraction", "", 0.0, false, 1.0, FRAC),
    r(
        "training[].ramp_limit_w_per_s_per_gpu",
        "W/s",
        0.0,
        true,
        1e6,
        "a limit beyond 1 MW/s per accelerator limits nothing",
    ),
    r(
        "facility.pue",
        "",
        1.0,
        false,
        5.0,
        "the worst data centers are near 3",
    ),
    r(
        "facility.pue_per_degc",
        "/C",
        0.0,
        false,
        1.0,
        "PUE rises by hundredths per degree",
    ),
    r("facility.pue_threshold_c", "C", -90.0, false, 60.0, TEMP),
    r(
        "facility.wue_l_per_kwh",
        "L/kWh",
        0.0,
        false,
        100.0,
        "evaporative cooling uses a few L/kWh",
    ),
    r("facility.recycled_water_share", "", 0.0, false, 1.0, FRAC),
    r("facility.temperature.mean_c", "C", -90.0, false, 60.0, TEMP),
    r(
        "facility.temperature.annual_amplitude_c",
        "C",
        0.0,
        false,
        60.0,
        TEMP,
    ),
    r(
        "facility.temperature.daily_amplitude_c",
        "C",
        0.0,
        false,
        40.0,
        TEMP,
    ),
    r(
        "facility.temperature.profile_csv",
        "C",
        -90.0,
        false,
        60.0,
        TEMP,
    ),
    r("grid.import_cap_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r("grid.export_cap_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r("grid.export_price_fraction", "", 0.0, false, 1.0, FRAC),
    r(
        "grid.price_usd_per_mwh",
        "$/MWh",
        -10_000.0,
        false,
        100_000.0,
        PRICE,
    ),
    r(
        "grid.peak_price_usd_per_mwh",
        "$/MWh",
        -10_000.0,
        false,
        100_000.0,
        PRICE,
    ),
    r(
        "grid.price_csv",
        "$/MWh",
        -10_000.0,
        false,
        100_000.0,
        PRICE,
    ),
    r(
        "grid.peak_start_hour",
        "h",
        0.0,
        false,
        24.0,
        "an hour of the day",
    ),
    r(
        "grid.peak_end_hour",
        "h",
        0.0,
        false,
        24.0,
        "an hour of the day",
    ),
    r(
        "grid.demand_charge_usd_per_kw_month",
        "$/kW-month",
        0.0,
        false,
        1000.0,
        "demand charges are tens of $/kW-month",
    ),
    r(
        "grid.carbon_kg_per_mwh",
        "kg/MWh",
        0.0,
        false,
        2000.0,
        CARBON,
    ),
    r("grid.carbon_csv", "kg/MWh", 0.0, false, 2000.0, CARBON),
    r(
        "grid.ramp_limit_mw_per_min",
        "MW/min",
        0.0,
        true,
        100_000.0,
        CAMPUS,
    ),
    r("grid.peak_shave_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r(
        "grid.outages_per_year",
        "/year",
        0.0,
        false,
        8760.0,
        "one an hour; more is a profile, not outages",
    ),
    r("grid.mean_outage_h", "h", 0.0, true, 8784.0, "one year"),
    r("grid.outages[].start_h", "h", 0.0, false, 87_840.0, YEARS),
    r("grid.outages[].duration_h", "h", 0.0, true, 87_840.0, YEARS),
    r(
        "grid.demand_response[].start_h",
        "h",
        0.0,
        false,
        87_840.0,
        YEARS,
    ),
    r(
        "grid.demand_response[].duration_h",
        "h",
        0.0,
        true,
        87_840.0,
        YEARS,
    ),
    r(
        "grid.demand_response[].import_cap_mw",
        "MW",
        0.0,
        false,
        100_000.0,
        CAMPUS,
    ),
    r(
        "turbines[].count",
        "units",
        1.0,
        false,
        10_000.0,
        "ten thousand units, far beyond any plant",
    ),
    r(
        "turbines[].unit_mw",
        "MW",
        0.0,
        true,
        2000.0,
        "the largest generating units are about 1,700 MW",
    ),
    r("turbines[].min_stable_fraction", "", 0.0, false, 1.0, FRAC),
    r(
        "turbines[].ramp_mw_per_min",
        "MW/min",
        0.0,
        true,
        100_000.0,
        CAMPUS,
    ),
    r(
        "turbines[].start_time_min",
        "min",
        0.0,
        false,
        10_080.0,
        WEEK,
    ),
    r(
        "turbines[].start_cost_usd",
        "$",
        0.0,
        false,
        1e9,
        "a start costs thousands to a million dollars",
    ),
    r(
        "turbines[].heat_rate_mmbtu_per_mwh",
        "MMBtu/MWh",
        0.0,
        true,
        50.0,
        "simple-cycle turbines run near 10, the least efficient units near 15",
    ),
    r(
        "turbines[].fuel_usd_per_mmbtu",
        "$/MMBtu",
        0.0,
        false,
        1000.0,
        "gas trades at a few to tens of $/MMBtu",
    ),
    r(
        "turbines[].co2_kg_per_mmbtu",
        "kg/MMBtu",
        0.0,
        false,
        200.0,
        "coal emits about 95-100 kg/MMBtu",
    ),
    r("turbines[].co2_t_per_mwh", "t/MWh", 0.0, false, 2.0, CARBON),
    r(
        "turbines[].variable_om_usd_per_mwh",
        "$/MWh",
        0.0,
        false,
        100_000.0,
        PRICE,
    ),
    r("turbines[].forced_outage_rate", "", 0.0, false, 1.0, FRAC),
    r("turbines[].mttr_h", "h", 0.0, true, 8784.0, "one year"),
    r("turbines[].min_up_h", "h", 0.0, false, 8784.0, "one year"),
    r("turbines[].min_down_h", "h", 0.0, false, 8784.0, "one year"),
    r(
        "turbines[].shutdown_cost_usd",
        "$",
        0.0,
        false,
        1e9,
        "a shutdown costs thousands of dollars",
    ),
    r("solar[].nameplate_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r(
        "solar[].latitude_deg",
        "deg",
        -66.0,
        false,
        66.0,
        "the clear-sky model stops at the polar circles",
    ),
    r("solar[].weather_noise", "", 0.0, false, 1.0, FRAC),
    r("solar[].performance_ratio", "", 0.0, true, 1.0, FRAC),
    r(
        "solar[].profile_csv",
        "",
        0.0,
        false,
        1.0,
        "a capacity factor",
    ),
    r("batteries[].power_mw", "MW", 0.0, true, 100_000.0, CAMPUS),
    r(
        "batteries[].energy_mwh",
        "MWh",
        0.0,
        true,
        1_000_000.0,
        "1 TWh, a thousand times the largest batteries",
    ),
    r(
        "batteries[].round_trip_efficiency",
        "",
        0.0,
        true,
        1.0,
        FRAC,
    ),
    r("batteries[].soc_min", "", 0.0, false, 1.0, FRAC),
    r("batteries[].soc_max", "", 0.0, false, 1.0, FRAC),
    r("batteries[].soc_initial", "", 0.0, false, 1.0, FRAC),
    r("batteries[].soc_target", "", 0.0, false, 1.0, FRAC),
    r(
        "batteries[].fade_per_equivalent_cycle",
        "",
        0.0,
        false,
        1.0,
        FRAC,
    ),
    r(
        "batteries[].charge_below_usd_per_mwh",
        "$/MWh",
        -10_000.0,
        false,
        100_000.0,
        PRICE,
    ),
    r(
        "batteries[].discharge_above_usd_per_mwh",
        "$/MWh",
        -10_000.0,
        false,
        100_000.0,
        PRICE,
    ),
    r("miners[].power_mw", "MW", 0.0, true, 100_000.0, CAMPUS),
    r(
        "miners[].efficiency_j_per_th",
        "J/TH",
        0.0,
        true,
        10_000.0,
        "current miners use 15-30 J/TH",
    ),
    r(
        "miners[].hashprice_usd_per_th_day",
        "$/TH-day",
        0.0,
        false,
        100.0,
        "hashprice has been cents to a dollar per TH-day",
    ),
    r("miners[].response_s", "s", 0.0, true, 86_400.0, DAY),
    r(
        "miners[].other_cost_usd_per_mwh",
        "$/MWh",
        0.0,
        false,
        100_000.0,
        PRICE,
    ),
    r("dispatch.reserve_mw", "MW", 0.0, false, 100_000.0, CAMPUS),
    r(
        "dispatch.turbine_smoothing_s",
        "s",
        0.0,
        false,
        86_400.0,
        DAY,
    ),
    r(
        "dispatch.decommit_delay_min",
        "min",
        0.0,
        false,
        10_080.0,
        WEEK,
    ),
    r(
        "reliability.seeds",
        "seeds",
        1.0,
        false,
        100_000.0,
        "a Monte Carlo converges in hundreds to thousands of seeds",
    ),
    r(
        "reliability.interruption_min_s",
        "s",
        0.0,
        false,
        86_400.0,
        DAY,
    ),
];

/// The field with its indexes replaced by `[]`: `batteries[2].power_mw` ->
/// `batteries[].power_mw`.
pub fn generic(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The range of `field` (indexes allowed), if the table has it.
pub fn range_of(field: &str) -> Option<&'static Range> {
    let g = generic(field);
    RANGES.iter().find(|r| r.field == g)
}

/// A number as the tables write it: plain up to a million, else with an exponent.
pub fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

impl Range {
    /// The range as text: `0 to 100000 MW`, `more than 0 and at most 3600 s`.
    pub fn describe(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        if self.open_min {
            format!(
                "more than {} and at most {}{unit}",
                num(self.min),
                num(self.max)
            )
        } else {
            format!("{} to {}{unit}", num(self.min), num(self.max))
        }
    }

    /// Whether `v` is in the range (NaN is not).
    pub fn contains(&self, v: f64) -> bool {
        let above = if self.open_min {
            v > self.min
        } else {
            v >= self.min
        };
        above && v <= self.max
    }
}

/// `None` when `v` is finite and in `field`'s range (or the table has no row for it), else
/// why not, without the value (the caller names the field).
pub fn check(field: &str, v: f64) -> Option<String> {
    if !v.is_finite() {
        return Some("must be a finite number".into());
    }
    let r = range_of(field)?;
    (!r.contains(v)).then(|| format!("must be {} ({})", r.describe(), r.why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unique_and_ranges_ordered() {
        for (i, a) in RANGES.iter().enumerate() {
            assert!(a.min < a.max, "{}", a.field);
            assert!(
                RANGES[i + 1..].iter().all(|b| b.field != a.field),
                "{} twice",
                a.field
            );
        }
    }

    #[test]
    fn indexes_are_generic_and_values_checked() {
        assert_eq!(generic("batteries[12].power_mw"), "batteries[].power_mw");
        assert!(check("batteries[3].power_mw", 1e308).is_some());
        assert!(check("batteries[3].power_mw", 50.0).is_none());
        assert!(check("batteries[3].power_mw", 0.0).is_some());
        assert!(check("simulation.step_s", 1e-300).is_some());
        assert!(check("grid.outages_per_year", 1e308).is_some());
        assert!(check("facility.temperature.mean_c", f64::NAN).is_some());
        assert!(check("no.such.field", 1e308).is_none());
        let m = check("grid.carbon_kg_per_mwh", 1e308).unwrap_or_default();
        assert!(m.contains("0 to 2000 kg/MWh"), "{m}");
        assert!(!m.contains("1e308"), "{m}");
    }
}

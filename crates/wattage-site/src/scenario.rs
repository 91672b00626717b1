//! Site scenarios: the TOML schema (serde types, raw numbers named with their units), its
//! explicit conversion into typed core values, and range validation with errors that point at
//! the line, column and field of the bad value.
//!
//! The raw schema lives in [`raw`]; everything else in this module is the typed core
//! [`Scenario`] that the simulator and the optimizer (`wattage-optimize`) consume. Profiles that
//! live in other files (`profile_csv = "load.csv"`) are kept as [`Profile::Csv`] paths: the core
//! does no IO, so the caller reads them and calls [`Scenario::resolve_files`].
//!
//! ```
//! let sc = wattage_site::scenario::parse_scenario(r#"
//! [simulation]
//! duration_h = 24
//! step_s = 60
//!
//! [[inference]]
//! power_mw = 10
//!
//! [grid]
//! import_cap_mw = 20
//! price_usd_per_mwh = 60
//! "#).unwrap();
//! assert_eq!(sc.inference.len(), 1);
//! assert_eq!(sc.simulation.step.s(), 60.0);
//! ```

use std::ops::Range;

use wattage_units::{CarbonIntensity, Energy, EnergyPrice, Power, Time, Usd, WaterIntensity};

// Rates that are quantities of their own live in `wattage-units`; re-exported here, where
// the scenario types use them.
pub use wattage_units::{DemandCharge, FuelPrice, Hashprice, HeatRate, MinerEfficiency, RampRate};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A scenario that cannot be used: where (1-based line and column, dotted field path such as
/// `turbines[0].unit_mw`) and why. The caller adds the file path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    /// 1-based line of the bad value (0 when unknown).
    pub line: usize,
    /// 1-based column of the bad value (0 when unknown).
    pub column: usize,
    /// Dotted path of the field, e.g. `batteries[0].soc_min` (empty when unknown).
    pub field: String,
    /// What is wrong, without position.
    pub message: String,
    /// The offending source line followed by a caret line, when known.
    pub snippet: Option<String>,
    /// The CSV file the error is in, as written in the scenario (`None`: the scenario
    /// itself). `line` and `column` then refer to that file.
    pub file: Option<String>,
}

impl ScenarioError {
    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(f) = &self.file {
            s.push_str(&format!("in `{f}`, "));
        }
        if self.line > 0 {
            s.push_str(&format!("line {}, column {}: ", self.line, self.column));
        }
        if !self.field.is_empty() {
            s.push_str(&format!("`{}`: ", self.field));
        }
        s.push_str(&self.message);
        if let Some(sn) = &self.snippet {
            s.push('\n');
            s.push_str(sn);
        }
        s
    }

    /// The error without position, for values supplied through the API rather than a file.
    pub fn api(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line: 0,
            column: 0,
            field: field.into(),
            message: message.into(),
            snippet: None,
            file: None,
        }
    }

    fn at(text: &str, span: Option<Range<usize>>, field: String, message: String) -> Self {
        let (line, column, snippet) = match span {
            Some(sp) => {
                let (l, c) = line_col(text, sp.start);
                let src = text.lines().nth(l - 1).unwrap_or("");
                let width = sp
                    .end
                    .saturating_sub(sp.start)
                    .clamp(1, src.len().saturating_sub(c - 1).max(1));
                let sn = format!(
                    "{:>5} | {}\n      | {}{}",
                    l,
                    src,
                    " ".repeat(c - 1),
                    "^".repeat(width)
                );
                (l, c, Some(sn))
            }
            None => (0, 0, None),
        };
        Self {
            line,
            column,
            field,
            message,
            snippet,
            file: None,
        }
    }
}

/// 1-based line and column (in characters) of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text[..floor_char(text, pos)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char(text: &str, mut pos: usize) -> usize {
    while pos > 0 && !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Finds the dotted path of the deepest key whose key or value contains byte `pos`
/// (`service[0].input_tokens`); empty when none does or the text is not TOML.
pub fn field_at(text: &str, pos: usize) -> String {
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return String::new();
    };
    find_in_table(doc.get_ref(), pos).unwrap_or_default()
}

fn find_in_table(t: &toml::de::DeTable<'_>, pos: usize) -> Option<String> {
    for (k, v) in t.iter() {
        let key = k.get_ref().to_string();
        if let Some(sub) = find_in_value(v.get_ref(), pos) {
            return Some(if sub.starts_with('[') {
                format!("{key}{sub}")
            } else {
                format!("{key}.{sub}")
            });
        }
        if k.span().contains(&pos) || v.span().contains(&pos) {
            return Some(key);
        }
    }
    None
}

fn find_in_value(v: &toml::de::DeValue<'_>, pos: usize) -> Option<String> {
    match v {
        toml::de::DeValue::Table(t) => find_in_table(t, pos),
        toml::de::DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                if let Some(sub) = find_in_value(e.get_ref(), pos) {
                    return Some(if sub.starts_with('[') {
                        format!("[{i}]{sub}")
                    } else {
                        format!("[{i}].{sub}")
                    });
                }
                if e.span().contains(&pos) {
                    return Some(format!("[{i}]"));
                }
            }
            None
        }
        _ => None,
    }
}

/// Span of the value at a dotted path like `turbines[1].unit_mw` (or of its table when the
/// key is absent).
fn span_of(text: &str, field: &str) -> Option<Range<usize>> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best: Option<Range<usize>> = None;
    let mut cur: Option<&toml::de::DeValue<'_>> = None;
    let root = doc.get_ref();
    for seg in field.split('.') {
        let (key, idx) = match seg.find('[') {
            Some(b) => (
                &seg[..b],
                seg[b + 1..seg.len().saturating_sub(1)]
                    .parse::<usize>()
                    .ok(),
            ),
            None => (seg, None),
        };
        let table = match cur {
            None => Some(root),
            Some(toml::de::DeValue::Table(t)) => Some(t),
            _ => None,
        }?;
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == key) else {
            return best;
        };
        best = Some(if matches!(v.get_ref(), toml::de::DeValue::Table(_)) {
            k.span()
        } else {
            v.span()
        });
        cur = Some(v.get_ref());
        if let Some(i) = idx {
            let toml::de::DeValue::Array(a) = v.get_ref() else {
                return best;
            };
            let e = a.get(i)?;
            best = Some(e.span().start..e.span().start + 1);
            cur = Some(e.get_ref());
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Raw schema
// ---------------------------------------------------------------------------------------------

/// The TOML schema, field for field. Every number carries its unit in its name. These types are
/// public so that tools can generate or document scenarios; the simulator consumes [`Scenario`].
pub mod raw {
    #![allow(missing_docs)] // each field is documented by its unit-bearing name and the README
    use serde::Deserialize;

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawScenario {
        pub name: Option<String>,
        pub description: Option<String>,
        pub simulation: RawSimulation,
        #[serde(default)]
        pub inference: Vec<RawInference>,
        #[serde(default)]
        pub training: Vec<RawTraining>,
        #[serde(default)]
        pub facility: RawFacility,
        pub grid: Option<RawGrid>,
        #[serde(default)]
        pub turbines: Vec<RawTurbines>,
        #[serde(default)]
        pub solar: Vec<RawSolar>,
        #[serde(default)]
        pub batteries: Vec<RawBattery>,
        #[serde(default)]
        pub miners: Vec<RawMiners>,
        #[serde(default)]
        pub dispatch: RawDispatch,
        #[serde(default)]
        pub reliability: RawReliability,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawSimulation {
        pub duration: Option<String>,
        pub duration_h: Option<f64>,
        pub step: Option<String>,
        pub step_s: Option<f64>,
        pub seed: Option<u64>,
        pub output_resolution: Option<String>,
        pub output_resolution_s: Option<f64>,
        pub start_day_of_year: Option<f64>,
    }

    #[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
    #[serde(rename_all = "kebab-case")]
    pub enum RawShape {
        #[default]
        Constant,
        Diurnal,
        Profile,
        Series,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawInference {
        pub name: Option<String>,
        #[serde(default)]
        pub shape: RawShape,
        pub power_mw: Option<f64>,
        pub diurnal_amplitude: Option<f64>,
        pub peak_hour: Option<f64>,
        pub profile_csv: Option<String>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawTraining {
        pub name: Option<String>,
        pub gpus: u64,
        pub gpu_tdp_w: f64,
        pub compute_power_fraction: Option<f64>,
        pub comm_power_fraction: Option<f64>,
        pub idle_power_fraction: Option<f64>,
        pub host_power_w_per_gpu: Option<f64>,
        pub iteration_s: f64,
        pub compute_duty: f64,
        pub checkpoint_interval_min: Option<f64>,
        pub checkpoint_duration_s: Option<f64>,
        pub failures_per_day: Option<f64>,
        pub restart_min: Option<f64>,
        pub value_usd_per_gpu_hour: Option<f64>,
        pub power_floor_fraction: Option<f64>,
        pub ramp_limit_w_per_s_per_gpu: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawTemperature {
        pub mean_c: Option<f64>,
        pub annual_amplitude_c: Option<f64>,
        pub daily_amplitude_c: Option<f64>,
        pub profile_csv: Option<String>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawFacility {
        pub pue: Option<f64>,
        pub pue_per_degc: Option<f64>,
        pub pue_threshold_c: Option<f64>,
        pub wue_l_per_kwh: Option<f64>,
        pub recycled_water_share: Option<f64>,
        pub temperature: Option<RawTemperature>,
    }

    #[derive(Debug, Clone, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RawEvent {
        pub start_h: f64,
        pub duration_h: f64,
        pub import_cap_mw: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawGrid {
        pub import_cap_mw: f64,
        #[serde(default)]
        pub export: bool,
        pub export_cap_mw: Option<f64>,
        pub export_price_fraction: Option<f64>,
        pub price_usd_per_mwh: Option<f64>,
        pub peak_price_usd_per_mwh: Option<f64>,
        pub peak_start_hour: Option<f64>,
        pub peak_end_hour: Option<f64>,
        pub price_csv: Option<String>,
        pub demand_charge_usd_per_kw_month: Option<f64>,
        pub carbon_kg_per_mwh: Option<f64>,
        pub carbon_csv: Option<String>,
        pub ramp_limit_mw_per_min: Option<f64>,
        pub peak_shave_mw: Option<f64>,
        pub outages_per_year: Option<f64>,
        pub mean_outage_h: Option<f64>,
        #[serde(default)]
        pub outages: Vec<RawEvent>,
        #[serde(default)]
        pub demand_response: Vec<RawEvent>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawTurbines {
        pub name: Option<String>,
        pub count: u32,
        pub unit_mw: f64,
        pub min_stable_fraction: Option<f64>,
        pub ramp_mw_per_min: f64,
        pub start_time_min: Option<f64>,
        pub start_cost_usd: Option<f64>,
        pub heat_rate_mmbtu_per_mwh: f64,
        pub fuel_usd_per_mmbtu: f64,
        pub co2_kg_per_mmbtu: Option<f64>,
        pub co2_t_per_mwh: Option<f64>,
        pub variable_om_usd_per_mwh: Option<f64>,
        pub forced_outage_rate: Option<f64>,
        pub mttr_h: Option<f64>,
        pub commitment: Option<String>,
        pub min_up_h: Option<f64>,
        pub min_down_h: Option<f64>,
        pub shutdown_cost_usd: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawSolar {
        pub name: Option<String>,
        pub nameplate_mw: f64,
        pub profile_csv: Option<String>,
        pub latitude_deg: Option<f64>,
        pub weather_noise: Option<f64>,
        pub performance_ratio: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawBattery {
        pub name: Option<String>,
        pub power_mw: f64,
        pub energy_mwh: f64,
        pub round_trip_efficiency: f64,
        pub soc_min: Option<f64>,
        pub soc_max: Option<f64>,
        pub soc_initial: Option<f64>,
        pub soc_target: Option<f64>,
        pub fade_per_equivalent_cycle: Option<f64>,
        pub charge_below_usd_per_mwh: Option<f64>,
        pub discharge_above_usd_per_mwh: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawMiners {
        pub name: Option<String>,
        pub power_mw: f64,
        pub efficiency_j_per_th: f64,
        pub hashprice_usd_per_th_day: f64,
        pub response_s: Option<f64>,
        pub other_cost_usd_per_mwh: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawDispatch {
        pub policy: Option<String>,
        pub reserve_mw: Option<f64>,
        pub turbine_smoothing_s: Option<f64>,
        pub decommit_delay_min: Option<f64>,
    }

    #[derive(Debug, Clone, Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    pub struct RawReliability {
        pub seeds: Option<u32>,
        pub interruption_min_s: Option<f64>,
    }
}

// ---------------------------------------------------------------------------------------------
// Core types
// ---------------------------------------------------------------------------------------------

/// A time profile of one value (power in MW, price in $/MWh, gCO2e/kWh, degrees C or a
/// 0..1 factor, per the field it belongs to).
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// A file still to be read by the caller (see [`Scenario::resolve_files`]).
    Csv {
        /// Path as written in the scenario, relative to the scenario file.
        path: String,
    },
    /// Samples `(time_s, value)`; each value holds until the next time. The series repeats
    /// with period `last time + last interval` when the run is longer.
    Series(Series),
}

/// A step-held series of `(time_s, value)` samples, times strictly increasing from 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Sample times in seconds from the start of the run.
    pub times_s: Vec<f64>,
    /// Values, one per time.
    pub values: Vec<f64>,
}

impl Series {
    /// A series sampled every `step` from time zero.
    pub fn uniform(step: Time, values: Vec<f64>) -> Self {
        let times_s = (0..values.len()).map(|i| i as f64 * step.s()).collect();
        Self { times_s, values }
    }

    /// Checks that the series is usable (non-empty, finite, times from 0 and increasing).
    pub fn check(&self, field: &str) -> Result<(), ScenarioError> {
        if self.values.is_empty() || self.values.len() != self.times_s.len() {
            return Err(ScenarioError::api(
                field,
                "series is empty or its columns differ",
            ));
        }
        if self.times_s[0] != 0.0 {
            return Err(ScenarioError::api(field, "series must start at time_s = 0"));
        }
        for w in self.times_s.windows(2) {
            if w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater) {
                return Err(ScenarioError::api(field, "series times must increase"));
            }
        }
        if self.values.iter().any(|v| !v.is_finite()) {
            return Err(ScenarioError::api(field, "series has a non-finite value"));
        }
        Ok(())
    }

    /// The period after which the series repeats.
    pub fn period_s(&self) -> f64 {
        let n = self.times_s.len();
        if n < 2 {
            return f64::INFINITY;
        }
        self.times_s[n - 1] + (self.times_s[n - 1] - self.times_s[n - 2])
    }
}

/// What values a profile may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileKind {
    /// Power (MW) or carbon intensity: not negative.
    NonNegative,
    /// A capacity factor: within [0, 1].
    Fraction,
    /// Any finite number (prices may be negative; temperatures are in degrees C).
    Any,
}

impl ProfileKind {
    fn reject(self, v: f64) -> Option<&'static str> {
        match self {
            ProfileKind::NonNegative if v < 0.0 => Some("must not be negative"),
            ProfileKind::Fraction if !(0.0..=1.0).contains(&v) => {
                Some("must be a fraction of nameplate in [0, 1] (not MW)")
            }
            _ => None,
        }
    }
}

/// Parses a CSV text `time_s,<value>` (one header line) into a [`Series`]. `field` names the
/// scenario field for errors; lines are 1-based in the CSV text.
pub fn parse_series_csv(text: &str, field: &str) -> Result<Series, ScenarioError> {
    parse_profile_csv(text, field, ProfileKind::Any)
}

/// [`parse_series_csv`], rejecting values outside what `kind` allows (the error gives the
/// line).
pub fn parse_profile_csv(
    text: &str,
    field: &str,
    kind: ProfileKind,
) -> Result<Series, ScenarioError> {
    // An error at 0-based line `i` of the CSV text.
    let at_line = |i: usize, message: String| ScenarioError {
        line: i + 1,
        column: 1,
        message,
        ..ScenarioError::api(field, "")
    };
    let range = crate::limits::range_of(field);
    let mut s = Series::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split(',');
        let (a, b) = (parts.next(), parts.next());
        let parsed = match (a, b) {
            (Some(a), Some(b)) => a
                .trim()
                .parse::<f64>()
                .ok()
                .zip(b.trim().parse::<f64>().ok()),
            _ => None,
        };
        match parsed {
            Some((t, v)) => {
                if let Some(why) = kind.reject(v) {
                    return Err(at_line(i, format!("value {v} {why}")));
                }
                if let Some(r) = range
                    && !r.contains(v)
                {
                    return Err(at_line(
                        i,
                        format!("the value must be {} ({})", r.describe(), r.why),
                    ));
                }
                s.times_s.push(t);
                s.values.push(v);
            }
            None if s.times_s.is_empty() && i == 0 => continue, // header
            None => {
                return Err(at_line(
                    i,
                    format!("expected `time_s,value` numbers, found `{line}`"),
                ));
            }
        }
    }
    s.check(field)?;
    Ok(s)
}

/// Run length, step and output settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Simulated horizon.
    pub duration: Time,
    /// Dispatch step.
    pub step: Time,
    /// Seed of every random draw (outages, failures, weather).
    pub seed: u64,
    /// Resolution of the stored time series (a multiple of the step).
    pub output_resolution: Time,
    /// Day of year at time zero (1 = 1 January), for solar and temperature seasons.
    pub start_day_of_year: f64,
}

/// Shape of an inference (serving) IT load.
#[derive(Debug, Clone, PartialEq)]
pub enum InferenceShape {
    /// Constant power.
    Constant(Power),
    /// `mean * (1 + amplitude * cos(2 pi (hour - peak_hour) / 24))`.
    Diurnal {
        /// Daily mean.
        mean: Power,
        /// Relative amplitude in [0, 1].
        amplitude: f64,
        /// Hour of day of the peak.
        peak_hour: f64,
    },
    /// A power profile in MW (CSV or a series supplied by the caller, e.g. the serving
    /// simulator's output).
    Profile(Profile),
}

/// An inference IT load.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceLoad {
    /// Name for reports.
    pub name: String,
    /// How its power varies.
    pub shape: InferenceShape,
}

/// A synchronized training job: all GPUs swing together between compute and communication.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingJob {
    /// Name for reports.
    pub name: String,
    /// Number of GPUs.
    pub gpus: u64,
    /// Thermal design power per GPU.
    pub gpu_tdp: Power,
    /// GPU power in the compute phase, as a fraction of TDP.
    pub compute_power_fraction: f64,
    /// GPU power in the communication phase, as a fraction of TDP.
    pub comm_power_fraction: f64,
    /// GPU power while paused (checkpoint, restart), as a fraction of TDP.
    pub idle_power_fraction: f64,
    /// Constant host power per GPU (CPU, memory, NICs, switches).
    pub host_power_per_gpu: Power,
    /// One training iteration.
    pub iteration: Time,
    /// Share of an iteration spent in the compute phase, in (0, 1].
    pub compute_duty: f64,
    /// Time between checkpoints (`None`: no checkpoints, lost work counts from the start).
    pub checkpoint_interval: Option<Time>,
    /// Length of the checkpoint pause.
    pub checkpoint_duration: Time,
    /// Job failures (hardware, software) per day, exponential times between failures.
    pub failures_per_day: f64,
    /// Time to restart after a failure or a power interruption.
    pub restart: Time,
    /// Value of one GPU-hour, for the cost of interruptions.
    pub value_per_gpu_hour: Usd,
    /// Mitigation: GPU power never falls below this fraction of TDP (dummy work in the lulls).
    pub power_floor_fraction: f64,
    /// Mitigation: per-GPU ramp-rate limit.
    pub ramp_limit_per_gpu: Option<RampRate>,
}

/// Outdoor temperature.
#[derive(Debug, Clone, PartialEq)]
pub enum Temperature {
    /// Annual and daily sinusoids around a mean; coldest around 15 January and at 05:00.
    Sinusoid {
        /// Annual mean, degrees C.
        mean_c: f64,
        /// Half the summer-winter swing, degrees C.
        annual_amplitude_c: f64,
        /// Half the day-night swing, degrees C.
        daily_amplitude_c: f64,
    },
    /// A profile in degrees C.
    Profile(Profile),
}

/// Facility overhead and water.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// PUE at or below the threshold temperature.
    pub pue: f64,
    /// PUE increase per degree C above `pue_threshold_c` (0: fixed PUE).
    pub pue_per_degc: f64,
    /// Temperature above which PUE rises.
    pub pue_threshold_c: f64,
    /// Site water per IT energy.
    pub wue: WaterIntensity,
    /// Share of that water that is recycled (e.g. treated wastewater), in [0, 1].
    pub recycled_water_share: f64,
    /// Outdoor temperature (needed when `pue_per_degc > 0`).
    pub temperature: Option<Temperature>,
}

/// A time window, e.g. a grid outage or a demand-response call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start, from time zero.
    pub start: Time,
    /// Length.
    pub duration: Time,
    /// Import cap during the window (demand response; `None` for outages).
    pub import_cap: Option<Power>,
}

/// Energy price of the grid.
#[derive(Debug, Clone, PartialEq)]
pub enum Tariff {
    /// One price.
    Flat(EnergyPrice),
    /// Time of use: `peak` between the hours (local day), `off_peak` otherwise.
    TimeOfUse {
        /// Off-peak price.
        off_peak: EnergyPrice,
        /// Peak price.
        peak: EnergyPrice,
        /// Hour the peak starts.
        start_hour: f64,
        /// Hour the peak ends.
        end_hour: f64,
    },
    /// A price profile in $/MWh.
    Profile(Profile),
}

/// Carbon intensity of grid electricity.
#[derive(Debug, Clone, PartialEq)]
pub enum Carbon {
    /// One intensity.
    Flat(CarbonIntensity),
    /// A profile in gCO2e/kWh (= kg/MWh).
    Profile(Profile),
}

/// The grid connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Maximum import.
    pub import_cap: Power,
    /// Maximum export (zero: no export).
    pub export_cap: Power,
    /// Export is paid this fraction of the import price.
    pub export_price_fraction: f64,
    /// Energy price.
    pub tariff: Tariff,
    /// Charge on each month's peak import.
    pub demand_charge: DemandCharge,
    /// Carbon intensity.
    pub carbon: Carbon,
    /// Soft ramp limit agreed with the utility (exceeding it is counted, not prevented).
    pub ramp_limit: Option<RampRate>,
    /// Peak-shaving threshold: batteries discharge before import exceeds it.
    pub peak_shave: Option<Power>,
    /// Random outages per year (exponential inter-arrival).
    pub outages_per_year: f64,
    /// Mean length of random outages (exponential).
    pub mean_outage: Time,
    /// Scheduled outages.
    pub outages: Vec<Window>,
    /// Demand-response calls (import capped; miners stop).
    pub demand_response: Vec<Window>,
}

/// A group of identical gas turbines, dispatched as one block of online units.
#[derive(Debug, Clone, PartialEq)]
pub struct TurbineGroup {
    /// Name for reports.
    pub name: String,
    /// Number of units.
    pub count: u32,
    /// Rating of one unit.
    pub unit: Power,
    /// Minimum stable load, fraction of the rating.
    pub min_stable_fraction: f64,
    /// Ramp rate of one unit.
    pub ramp: RampRate,
    /// Time from start order to synchronized.
    pub start_time: Time,
    /// Cost of one start.
    pub start_cost: Usd,
    /// Heat rate.
    pub heat_rate: HeatRate,
    /// Fuel price.
    pub fuel_price: FuelPrice,
    /// Emissions per MWh of electricity.
    pub co2_per_mwh: CarbonIntensity,
    /// Variable operation and maintenance.
    pub variable_om: EnergyPrice,
    /// Forced-outage rate (fraction of time unavailable).
    pub forced_outage_rate: f64,
    /// Mean time to repair.
    pub mttr: Time,
    /// How the optimizer commits the units: one continuous capacity or whole units.
    pub commitment: TurbineCommitment,
    /// A unit started stays on at least this long (integer commitment only).
    pub min_up: Time,
    /// A unit shut down stays off at least this long (integer commitment only).
    pub min_down: Time,
    /// Cost of one shut-down (integer commitment only).
    pub shutdown_cost: Usd,
}

/// How the optimizer commits a turbine group (the rule-based simulator always runs whole
/// units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TurbineCommitment {
    /// One continuous committed capacity: the linear relaxation, solved by either solver.
    #[default]
    Linear,
    /// Whole units online, with minimum up and down times and start-up and shut-down costs
    /// per unit: a mixed-integer program, solved by HiGHS.
    Integer,
}

impl TurbineGroup {
    /// Marginal cost of one MWh (fuel plus variable O&M).
    pub fn marginal_cost(&self) -> EnergyPrice {
        EnergyPrice::from_usd_per_mwh(
            self.heat_rate.fuel_cost(self.fuel_price).usd_per_mwh()
                + self.variable_om.usd_per_mwh(),
        )
    }
    /// Mean running time to failure implied by the forced-outage rate and MTTR.
    pub fn mttf(&self) -> Option<Time> {
        (self.forced_outage_rate > 0.0).then(|| {
            Time::from_s(self.mttr.s() * (1.0 - self.forced_outage_rate) / self.forced_outage_rate)
        })
    }
}

/// Solar generation source.
#[derive(Debug, Clone, PartialEq)]
pub enum SolarSource {
    /// Clear-sky model from latitude, with seeded daily weather noise.
    ClearSky {
        /// Latitude in degrees.
        latitude_deg: f64,
        /// Weather noise in [0, 1]: 0 always clear, 1 days from clear to dark.
        weather_noise: f64,
    },
    /// A capacity-factor profile in [0, 1].
    Profile(Profile),
}

/// A solar plant.
#[derive(Debug, Clone, PartialEq)]
pub struct Solar {
    /// Name for reports.
    pub name: String,
    /// Nameplate (AC).
    pub nameplate: Power,
    /// Performance ratio applied to the clear-sky output.
    pub performance_ratio: f64,
    /// Where the output comes from.
    pub source: SolarSource,
}

/// A battery.
#[derive(Debug, Clone, PartialEq)]
pub struct Battery {
    /// Name for reports.
    pub name: String,
    /// Charge and discharge power limit.
    pub power: Power,
    /// Usable nameplate energy when new.
    pub energy: Energy,
    /// Charge efficiency (sqrt of round trip).
    pub charge_efficiency: f64,
    /// Discharge efficiency (sqrt of round trip).
    pub discharge_efficiency: f64,
    /// Lowest state of charge (fraction of energy).
    pub soc_min: f64,
    /// Highest state of charge.
    pub soc_max: f64,
    /// State of charge at time zero.
    pub soc_initial: f64,
    /// State of charge the policy restores between events.
    pub soc_target: f64,
    /// Capacity lost per equivalent full cycle (fraction).
    pub fade_per_equivalent_cycle: f64,
    /// Arbitrage: charge from the grid when its price is at or below this.
    pub charge_below: Option<EnergyPrice>,
    /// Arbitrage: discharge instead of importing when the price is at or above this.
    pub discharge_above: Option<EnergyPrice>,
}

/// A Bitcoin-mining fleet: a flexible load.
#[derive(Debug, Clone, PartialEq)]
pub struct MinerFleet {
    /// Name for reports.
    pub name: String,
    /// Power at full hashrate.
    pub power: Power,
    /// Efficiency.
    pub efficiency: MinerEfficiency,
    /// Revenue per hashrate.
    pub hashprice: Hashprice,
    /// Time to go from full power to off (and back).
    pub response: Time,
    /// Other costs per MWh consumed (pool fees, wear).
    pub other_cost: EnergyPrice,
}

impl MinerFleet {
    /// The electricity price at which mining breaks even.
    pub fn break_even(&self) -> EnergyPrice {
        // TH/s per MW = 1e6 / (J/TH); $ per MWh = TH/s * $/TH/day / 24 h.
        let th_per_s = 1e6 / self.efficiency.j_per_th();
        EnergyPrice::from_usd_per_mwh(
            th_per_s * self.hashprice.usd_per_th_day() / 24.0 - self.other_cost.usd_per_mwh(),
        )
    }
}

/// Settings of the dispatch policy.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchSettings {
    /// Spinning reserve to hold (online headroom, battery power, curtailable miners).
    pub reserve: Power,
    /// Time constant of the turbine setpoint filter; the battery absorbs faster swings.
    pub turbine_smoothing: Time,
    /// How long surplus turbine capacity waits before a unit is stopped.
    pub decommit_delay: Time,
}

/// Monte Carlo settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilitySettings {
    /// Number of seeds for Monte Carlo.
    pub seeds: u32,
    /// Interruptions shorter than this are counted as momentary too (any step with unserved
    /// energy interrupts AI work, however short the spell).
    pub interruption_min: Time,
}

/// A complete, validated site scenario in typed units.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Run settings.
    pub simulation: Simulation,
    /// Inference loads.
    pub inference: Vec<InferenceLoad>,
    /// Training jobs.
    pub training: Vec<TrainingJob>,
    /// Facility overhead and water.
    pub facility: Facility,
    /// Grid connection (None: islanded).
    pub grid: Option<Grid>,
    /// Gas turbine groups.
    pub turbines: Vec<TurbineGroup>,
    /// Solar plants.
    pub solar: Vec<Solar>,
    /// Batteries.
    pub batteries: Vec<Battery>,
    /// Bitcoin miners.
    pub miners: Vec<MinerFleet>,
    /// Dispatch policy settings.
    pub dispatch: DispatchSettings,
    /// Monte Carlo settings.
    pub reliability: ReliabilitySettings,
}

impl Scenario {
    /// Paths of CSV files the scenario refers to, in order, each with its field.
    pub fn csv_files(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.for_each_profile(&mut |field, _, p| {
            if let Profile::Csv { path } = p {
                out.push((field.to_string(), path.clone()));
            }
        });
        out
    }

    /// Replaces every [`Profile::Csv`] with a series read through `read` (which maps a path as
    /// written in the scenario to the file's text; the caller resolves it relative to the
    /// scenario file). Errors name the field; CSV line numbers refer to the CSV file.
    pub fn resolve_files(
        &mut self,
        mut read: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<(), ScenarioError> {
        let mut err = None;
        self.for_each_profile(&mut |field, kind, p| {
            if err.is_some() {
                return;
            }
            if let Profile::Csv { path } = p {
                match read(path) {
                    Ok(text) => match parse_profile_csv(&text, field, kind) {
                        Ok(s) => *p = Profile::Series(s),
                        Err(mut e) => {
                            e.file = Some(path.clone());
                            err = Some(e);
                        }
                    },
                    Err(m) => err = Some(ScenarioError::api(field, m)),
                }
            }
        });
        err.map_or(Ok(()), Err)
    }

    fn for_each_profile(&mut self, f: &mut dyn FnMut(&str, ProfileKind, &mut Profile)) {
        use ProfileKind::{Any, Fraction, NonNegative};
        for (i, l) in self.inference.iter_mut().enumerate() {
            if let InferenceShape::Profile(p) = &mut l.shape {
                f(&format!("inference[{i}].profile_csv"), NonNegative, p);
            }
        }
        if let Some(Temperature::Profile(p)) = &mut self.facility.temperature {
            f("facility.temperature.profile_csv", Any, p);
        }
        if let Some(g) = &mut self.grid {
            if let Tariff::Profile(p) = &mut g.tariff {
                f("grid.price_csv", Any, p);
            }
            if let Carbon::Profile(p) = &mut g.carbon {
                f("grid.carbon_csv", NonNegative, p);
            }
        }
        for (i, s) in self.solar.iter_mut().enumerate() {
            if let SolarSource::Profile(p) = &mut s.source {
                f(&format!("solar[{i}].profile_csv"), Fraction, p);
            }
        }
    }

    /// Sets inference load `index` to a power series (MW at `step`), e.g. the serving
    /// simulator's output.
    pub fn set_inference_series(
        &mut self,
        index: usize,
        step: Time,
        power_mw: Vec<f64>,
    ) -> Result<(), ScenarioError> {
        let field = format!("inference[{index}]");
        let s = Series::uniform(step, power_mw);
        s.check(&field)?;
        if s.values.iter().any(|v| *v < 0.0) {
            return Err(ScenarioError::api(field, "power must be non-negative"));
        }
        let l = self
            .inference
            .get_mut(index)
            .ok_or_else(|| ScenarioError::api(field, "no such inference load"))?;
        l.shape = InferenceShape::Profile(Profile::Series(s));
        Ok(())
    }

    /// Number of dispatch steps.
    pub fn steps(&self) -> u64 {
        (self.simulation.duration.s() / self.simulation.step.s()).round() as u64
    }

    /// Total number of GPUs across training jobs.
    pub fn training_gpus(&self) -> u64 {
        self.training.iter().map(|t| t.gpus).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------

/// Parses and validates a scenario from TOML text.
///
/// Errors carry the 1-based line and column, the dotted field path and a snippet with a caret;
/// the caller adds the file path. Unknown fields are errors (typos are caught). Ranges are
/// checked here, so a scenario that parses can be simulated without NaN or infinity.
pub fn parse_scenario(text: &str) -> Result<Scenario, ScenarioError> {
    let raw: raw::RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span();
        let field = span
            .as_ref()
            .map(|s| field_at(text, s.start))
            .unwrap_or_default();
        let msg = e.message().trim().to_string();
        ScenarioError::at(text, span, field, msg)
    })?;
    convert(&raw).map_err(|(field, message)| {
        let span = span_of(text, &field);
        ScenarioError::at(text, span, field, message)
    })
}

type VResult<T> = Result<T, (String, String)>;

fn bad<T>(field: impl Into<String>, msg: impl Into<String>) -> VResult<T> {
    Err((field.into(), msg.into()))
}

fn finite(f: &str, v: f64) -> VResult<f64> {
    if v.is_finite() {
        in_range(f, v)
    } else {
        bad(f, "must be a finite number")
    }
}
/// `v` within `f`'s row of [`crate::limits::RANGES`] (the rules of each helper below come
/// first, with their own messages).
fn in_range(f: &str, v: f64) -> VResult<f64> {
    match crate::limits::check(f, v) {
        None => Ok(v),
        Some(why) => bad(f, why),
    }
}
/// A count within its row of the table.
fn count<T: Copy + Into<f64>>(f: &str, v: T) -> VResult<T> {
    in_range(f, v.into()).map(|_| v)
}
fn positive(f: &str, v: f64) -> VResult<f64> {
    if !v.is_finite() {
        return bad(f, "must be a finite number");
    }
    if v > 0.0 {
        in_range(f, v)
    } else {
        bad(f, format!("must be positive, found {v}"))
    }
}
fn non_negative(f: &str, v: f64) -> VResult<f64> {
    if !v.is_finite() {
        return bad(f, "must be a finite number");
    }
    if v >= 0.0 {
        in_range(f, v)
    } else {
        bad(f, format!("must not be negative, found {v}"))
    }
}
fn fraction(f: &str, v: f64) -> VResult<f64> {
    if !v.is_finite() {
        return bad(f, "must be a finite number");
    }
    if (0.0..=1.0).contains(&v) {
        in_range(f, v)
    } else {
        bad(f, format!("must be between 0 and 1, found {v}"))
    }
}
fn efficiency(f: &str, v: f64) -> VResult<f64> {
    if !v.is_finite() {
        return bad(f, "must be a finite number");
    }
    if v > 0.0 && v <= 1.0 {
        in_range(f, v)
    } else {
        bad(f, format!("must be in (0, 1], found {v}"))
    }
}

fn csv_profile(path: &str) -> Profile {
    Profile::Csv { path: path.into() }
}

/// A duration given as text with a unit under `text_key` (`duration = "48h"`, parsed by
/// [`Time::parse_duration`]) or as a number of `unit_s` seconds under `num_key`
/// (`duration_h = 48`), not both; range-checked under `num_key`'s row and reported under the
/// key that was written. `None` when neither is given.
fn duration_field(
    text_key: &str,
    text: &Option<String>,
    num_key: &str,
    num: Option<f64>,
    unit_s: f64,
) -> VResult<Option<(f64, String)>> {
    match (text, num) {
        (Some(_), Some(_)) => bad(
            text_key,
            format!("give `{text_key}` or `{num_key}`, not both"),
        ),
        (Some(t), None) => {
            if t.trim().parse::<f64>().is_ok() {
                return bad(
                    text_key,
                    format!(
                        "`{t}` has no unit: write it with one (`{t}s`, `{t}h`, ...), or as a number in `{num_key}`"
                    ),
                );
            }
            let v = Time::parse_duration(t, unit_s)
                .map_err(|e| (text_key.to_string(), e))?
                .s()
                / unit_s;
            match crate::limits::check(num_key, v) {
                None => Ok(Some((v, text_key.to_string()))),
                Some(why) => bad(text_key, why),
            }
        }
        (None, Some(v)) => Ok(Some((positive(num_key, v)?, num_key.to_string()))),
        (None, None) => Ok(None),
    }
}

fn convert(r: &raw::RawScenario) -> VResult<Scenario> {
    let s = &r.simulation;
    let required = |key: &str, example: &str| {
        (
            format!("simulation.{key}"),
            format!("is required: the run's {example}"),
        )
    };
    let (duration, duration_key) = duration_field(
        "simulation.duration",
        &s.duration,
        "simulation.duration_h",
        s.duration_h,
        3600.0,
    )?
    .ok_or_else(|| {
        required(
            "duration",
            "horizon, e.g. `duration = \"1y\"` (or `duration_h`)",
        )
    })?;
    let (step, _) = duration_field(
        "simulation.step",
        &s.step,
        "simulation.step_s",
        s.step_s,
        1.0,
    )?
    .ok_or_else(|| required("step", "dispatch step, e.g. `step = \"1s\"` (or `step_s`)"))?;
    if duration * 3600.0 < step {
        return bad(duration_key, "is shorter than one step");
    }
    let res = match duration_field(
        "simulation.output_resolution",
        &s.output_resolution,
        "simulation.output_resolution_s",
        s.output_resolution_s,
        1.0,
    )? {
        Some((v, key)) => {
            if v < step {
                return bad(key, format!("must be at least the step ({step} s)"));
            }
            v
        }
        None => 3600.0f64.max(step),
    };
    let doy = finite(
        "simulation.start_day_of_year",
        s.start_day_of_year.unwrap_or(1.0),
    )?;
    let simulation = Simulation {
        duration: Time::from_h(duration),
        step: Time::from_s(step),
        seed: s.seed.unwrap_or(1),
        output_resolution: Time::from_s(res),
        start_day_of_year: doy,
    };

    let mut inference = Vec::new();
    for (i, l) in r.inference.iter().enumerate() {
        let p = |k: &str| format!("inference[{i}].{k}");
        let shape = match l.shape {
            raw::RawShape::Constant => {
                let Some(mw) = l.power_mw else {
                    return bad(p("power_mw"), "is required for shape `constant`");
                };
                InferenceShape::Constant(Power::from_mw(non_negative(&p("power_mw"), mw)?))
            }
            raw::RawShape::Diurnal => {
                let Some(mw) = l.power_mw else {
                    return bad(p("power_mw"), "is required for shape `diurnal` (the mean)");
                };
                InferenceShape::Diurnal {
                    mean: Power::from_mw(non_negative(&p("power_mw"), mw)?),
                    amplitude: fraction(
                        &p("diurnal_amplitude"),
                        l.diurnal_amplitude.unwrap_or(0.3),
                    )?,
                    peak_hour: {
                        let h = finite(&p("peak_hour"), l.peak_hour.unwrap_or(14.0))?;
                        if h >= 24.0 {
                            return bad(p("peak_hour"), "must be in [0, 24)");
                        }
                        h
                    },
                }
            }
            raw::RawShape::Profile => match &l.profile_csv {
                Some(path) => InferenceShape::Profile(csv_profile(path)),
                None => return bad(p("profile_csv"), "is required for shape `profile`"),
            },
            raw::RawShape::Series => {
                // Filled in by the caller through `Scenario::set_inference_series`; until then
                // the load is zero.
                InferenceShape::Profile(Profile::Series(Series::uniform(
                    Time::from_s(step),
                    vec![0.0],
                )))
            }
        };
        inference.push(InferenceLoad {
            name: l.name.clone().unwrap_or_else(|| format!("inference-{i}")),
            shape,
        });
    }

    let mut training = Vec::new();
    for (i, t) in r.training.iter().enumerate() {
        let p = |k: &str| format!("training[{i}].{k}");
        if t.gpus == 0 {
            return bad(p("gpus"), "must be positive");
        }
        count(&p("gpus"), t.gpus as f64)?;
        let compute = fraction(
            &p("compute_power_fraction"),
            t.compute_power_fraction.unwrap_or(0.9),
        )?;
        let comm = fraction(
            &p("comm_power_fraction"),
            t.comm_power_fraction.unwrap_or(0.35),
        )?;
        let idle = fraction(
            &p("idle_power_fraction"),
            t.idle_power_fraction.unwrap_or(0.15),
        )?;
        let ckpt = match t.checkpoint_interval_min {
            Some(m) => Some(Time::from_s(
                60.0 * positive(&p("checkpoint_interval_min"), m)?,
            )),
            None => None,
        };
        let ckpt_d = non_negative(
            &p("checkpoint_duration_s"),
            t.checkpoint_duration_s.unwrap_or(0.0),
        )?;
        if let Some(c) = ckpt
            && ckpt_d >= c.s()
        {
            return bad(
                p("checkpoint_duration_s"),
                "must be shorter than the checkpoint interval",
            );
        }
        training.push(TrainingJob {
            name: t.name.clone().unwrap_or_else(|| format!("training-{i}")),
            gpus: t.gpus,
            gpu_tdp: Power::from_w(positive(&p("gpu_tdp_w"), t.gpu_tdp_w)?),
            compute_power_fraction: compute,
            comm_power_fraction: comm,
            idle_power_fraction: idle,
            host_power_per_gpu: Power::from_w(non_negative(
                &p("host_power_w_per_gpu"),
                t.host_power_w_per_gpu.unwrap_or(0.0),
            )?),
            iteration: Time::from_s(positive(&p("iteration_s"), t.iteration_s)?),
            compute_duty: efficiency(&p("compute_duty"), t.compute_duty)?,
            checkpoint_interval: ckpt,
            checkpoint_duration: Time::from_s(ckpt_d),
            failures_per_day: non_negative(
                &p("failures_per_day"),
                t.failures_per_day.unwrap_or(0.0),
            )?,
            restart: Time::from_s(
                60.0 * non_negative(&p("restart_min"), t.restart_min.unwrap_or(10.0))?,
            ),
            value_per_gpu_hour: Usd::new(non_negative(
                &p("value_usd_per_gpu_hour"),
                t.value_usd_per_gpu_hour.unwrap_or(2.0),
            )?),
            power_floor_fraction: fraction(
                &p("power_floor_fraction"),
                t.power_floor_fraction.unwrap_or(0.0),
            )?,
            ramp_limit_per_gpu: match t.ramp_limit_w_per_s_per_gpu {
                Some(v) => Some(RampRate::from_w_per_s(positive(
                    &p("ramp_limit_w_per_s_per_gpu"),
                    v,
                )?)),
                None => None,
            },
        });
    }

    let f = &r.facility;
    let pue = f.pue.unwrap_or(1.2);
    finite("facility.pue", pue)?;
    let pue_per_degc = non_negative("facility.pue_per_degc", f.pue_per_degc.unwrap_or(0.0))?;
    let temperature = match &f.temperature {
        None => None,
        Some(t) => Some(match &t.profile_csv {
            Some(path) => {
                for (k, v) in [
                    ("mean_c", t.mean_c),
                    ("annual_amplitude_c", t.annual_amplitude_c),
                    ("daily_amplitude_c", t.daily_amplitude_c),
                ] {
                    if v.is_some() {
                        return bad(
                            format!("facility.temperature.{k}"),
                            "give `profile_csv` or the sinusoid's parameters, not both",
                        );
                    }
                }
                Temperature::Profile(csv_profile(path))
            }
            None => Temperature::Sinusoid {
                mean_c: finite("facility.temperature.mean_c", t.mean_c.unwrap_or(17.0))?,
                annual_amplitude_c: non_negative(
                    "facility.temperature.annual_amplitude_c",
                    t.annual_amplitude_c.unwrap_or(10.0),
                )?,
                daily_amplitude_c: non_negative(
                    "facility.temperature.daily_amplitude_c",
                    t.daily_amplitude_c.unwrap_or(5.0),
                )?,
            },
        }),
    };
    if pue_per_degc > 0.0 && temperature.is_none() {
        return bad(
            "facility.pue_per_degc",
            "needs a `[facility.temperature]` table",
        );
    }
    let facility = Facility {
        pue,
        pue_per_degc,
        pue_threshold_c: finite(
            "facility.pue_threshold_c",
            f.pue_threshold_c.unwrap_or(18.0),
        )?,
        wue: WaterIntensity::from_l_per_kwh(non_negative(
            "facility.wue_l_per_kwh",
            f.wue_l_per_kwh.unwrap_or(0.0),
        )?),
        recycled_water_share: fraction(
            "facility.recycled_water_share",
            f.recycled_water_share.unwrap_or(0.0),
        )?,
        temperature,
    };

    let grid = match &r.grid {
        None => None,
        Some(g) => Some(convert_grid(g)?),
    };

    let mut turbines = Vec::new();
    for (i, t) in r.turbines.iter().enumerate() {
        let p = |k: &str| format!("turbines[{i}].{k}");
        if t.count == 0 {
            return bad(p("count"), "must be positive");
        }
        count(&p("count"), t.count)?;
        let co2 = match (t.co2_t_per_mwh, t.co2_kg_per_mmbtu) {
            (Some(_), Some(_)) => {
                return bad(
                    p("co2_t_per_mwh"),
                    "give `co2_t_per_mwh` or `co2_kg_per_mmbtu`, not both",
                );
            }
            (Some(tpm), None) => non_negative(&p("co2_t_per_mwh"), tpm)? * 1000.0,
            (None, k) => {
                non_negative(&p("co2_kg_per_mmbtu"), k.unwrap_or(53.06))?
                    * t.heat_rate_mmbtu_per_mwh
            }
        };
        let forced = t.forced_outage_rate.unwrap_or(0.0);
        finite(&p("forced_outage_rate"), forced)?;
        if !(0.0..1.0).contains(&forced) {
            return bad(p("forced_outage_rate"), "must be in [0, 1)");
        }
        let commitment = match t.commitment.as_deref().unwrap_or("linear") {
            "linear" => TurbineCommitment::Linear,
            "integer" => TurbineCommitment::Integer,
            other => {
                return bad(
                    p("commitment"),
                    format!("is `{other}`; expected `linear` or `integer`"),
                );
            }
        };
        if commitment == TurbineCommitment::Linear {
            for (k, v) in [
                ("min_up_h", t.min_up_h),
                ("min_down_h", t.min_down_h),
                ("shutdown_cost_usd", t.shutdown_cost_usd),
            ] {
                if v.is_some() {
                    return bad(p(k), "applies only with `commitment = \"integer\"`");
                }
            }
        }
        turbines.push(TurbineGroup {
            name: t.name.clone().unwrap_or_else(|| format!("turbines-{i}")),
            count: t.count,
            unit: Power::from_mw(positive(&p("unit_mw"), t.unit_mw)?),
            min_stable_fraction: fraction(
                &p("min_stable_fraction"),
                t.min_stable_fraction.unwrap_or(0.3),
            )?,
            ramp: RampRate::from_mw_per_min(positive(&p("ramp_mw_per_min"), t.ramp_mw_per_min)?),
            start_time: Time::from_s(
                60.0 * non_negative(&p("start_time_min"), t.start_time_min.unwrap_or(10.0))?,
            ),
            start_cost: Usd::new(non_negative(
                &p("start_cost_usd"),
                t.start_cost_usd.unwrap_or(0.0),
            )?),
            heat_rate: HeatRate::from_mmbtu_per_mwh(positive(
                &p("heat_rate_mmbtu_per_mwh"),
                t.heat_rate_mmbtu_per_mwh,
            )?),
            fuel_price: FuelPrice::from_usd_per_mmbtu(non_negative(
                &p("fuel_usd_per_mmbtu"),
                t.fuel_usd_per_mmbtu,
            )?),
            co2_per_mwh: CarbonIntensity::from_g_per_kwh(co2),
            variable_om: EnergyPrice::from_usd_per_mwh(non_negative(
                &p("variable_om_usd_per_mwh"),
                t.variable_om_usd_per_mwh.unwrap_or(0.0),
            )?),
            forced_outage_rate: forced,
            mttr: Time::from_h(positive(&p("mttr_h"), t.mttr_h.unwrap_or(24.0))?),
            commitment,
            min_up: Time::from_h(non_negative(&p("min_up_h"), t.min_up_h.unwrap_or(0.0))?),
            min_down: Time::from_h(non_negative(&p("min_down_h"), t.min_down_h.unwrap_or(0.0))?),
            shutdown_cost: Usd::new(non_negative(
                &p("shutdown_cost_usd"),
                t.shutdown_cost_usd.unwrap_or(0.0),
            )?),
        });
    }

    let mut solar = Vec::new();
    for (i, s) in r.solar.iter().enumerate() {
        let p = |k: &str| format!("solar[{i}].{k}");
        let source = match (&s.profile_csv, s.latitude_deg) {
            (Some(_), Some(_)) => {
                return bad(
                    p("latitude_deg"),
                    "give `profile_csv` or `latitude_deg`, not both",
                );
            }
            (Some(path), None) => {
                for (k, v) in [
                    ("performance_ratio", s.performance_ratio),
                    ("weather_noise", s.weather_noise),
                ] {
                    if v.is_some() {
                        return bad(
                            p(k),
                            "applies to the clear-sky model (`latitude_deg`) only: a \
                             `profile_csv` gives the output per MW of nameplate itself",
                        );
                    }
                }
                SolarSource::Profile(csv_profile(path))
            }
            (None, Some(lat)) => {
                finite(&p("latitude_deg"), lat)?;
                SolarSource::ClearSky {
                    latitude_deg: lat,
                    weather_noise: fraction(&p("weather_noise"), s.weather_noise.unwrap_or(0.3))?,
                }
            }
            (None, None) => return bad(p("latitude_deg"), "give `latitude_deg` or `profile_csv`"),
        };
        solar.push(Solar {
            name: s.name.clone().unwrap_or_else(|| format!("solar-{i}")),
            nameplate: Power::from_mw(non_negative(&p("nameplate_mw"), s.nameplate_mw)?),
            performance_ratio: efficiency(
                &p("performance_ratio"),
                s.performance_ratio.unwrap_or(0.85),
            )?,
            source,
        });
    }

    let mut batteries = Vec::new();
    for (i, b) in r.batteries.iter().enumerate() {
        let p = |k: &str| format!("batteries[{i}].{k}");
        let rte = efficiency(&p("round_trip_efficiency"), b.round_trip_efficiency)?;
        let soc_min = fraction(&p("soc_min"), b.soc_min.unwrap_or(0.05))?;
        let soc_max = fraction(&p("soc_max"), b.soc_max.unwrap_or(0.95))?;
        if soc_min >= soc_max {
            return bad(
                p("soc_min"),
                format!("must be below `soc_max` ({soc_max}), found {soc_min}"),
            );
        }
        let soc_initial = fraction(&p("soc_initial"), b.soc_initial.unwrap_or(0.5))?;
        if soc_initial < soc_min || soc_initial > soc_max {
            return bad(p("soc_initial"), "must be between `soc_min` and `soc_max`");
        }
        let soc_target = fraction(&p("soc_target"), b.soc_target.unwrap_or(0.5))?;
        if soc_target < soc_min || soc_target > soc_max {
            return bad(p("soc_target"), "must be between `soc_min` and `soc_max`");
        }
        let price = |k: &str, v: Option<f64>| -> VResult<Option<EnergyPrice>> {
            v.map(|x| finite(&p(k), x).map(EnergyPrice::from_usd_per_mwh))
                .transpose()
        };
        batteries.push(Battery {
            name: b.name.clone().unwrap_or_else(|| format!("battery-{i}")),
            power: Power::from_mw(positive(&p("power_mw"), b.power_mw)?),
            energy: Energy::from_mwh(positive(&p("energy_mwh"), b.energy_mwh)?),
            charge_efficiency: rte.sqrt(),
            discharge_efficiency: rte.sqrt(),
            soc_min,
            soc_max,
            soc_initial,
            soc_target,
            fade_per_equivalent_cycle: fraction(
                &p("fade_per_equivalent_cycle"),
                b.fade_per_equivalent_cycle.unwrap_or(0.0),
            )?,
            charge_below: price("charge_below_usd_per_mwh", b.charge_below_usd_per_mwh)?,
            discharge_above: price("discharge_above_usd_per_mwh", b.discharge_above_usd_per_mwh)?,
        });
    }

    let mut miners = Vec::new();
    for (i, m) in r.miners.iter().enumerate() {
        let p = |k: &str| format!("miners[{i}].{k}");
        miners.push(MinerFleet {
            name: m.name.clone().unwrap_or_else(|| format!("miners-{i}")),
            power: Power::from_mw(positive(&p("power_mw"), m.power_mw)?),
            efficiency: MinerEfficiency::from_j_per_th(positive(
                &p("efficiency_j_per_th"),
                m.efficiency_j_per_th,
            )?),
            hashprice: Hashprice::from_usd_per_th_day(non_negative(
                &p("hashprice_usd_per_th_day"),
                m.hashprice_usd_per_th_day,
            )?),
            response: Time::from_s(positive(&p("response_s"), m.response_s.unwrap_or(5.0))?),
            other_cost: EnergyPrice::from_usd_per_mwh(non_negative(
                &p("other_cost_usd_per_mwh"),
                m.other_cost_usd_per_mwh.unwrap_or(0.0),
            )?),
        });
    }

    let d = &r.dispatch;
    if let Some(pol) = &d.policy
        && pol != "rule-based"
    {
        return bad(
            "dispatch.policy",
            format!("unknown policy `{pol}`; the only built-in policy is `rule-based`"),
        );
    }
    let dispatch = DispatchSettings {
        reserve: Power::from_mw(non_negative(
            "dispatch.reserve_mw",
            d.reserve_mw.unwrap_or(0.0),
        )?),
        turbine_smoothing: Time::from_s(non_negative(
            "dispatch.turbine_smoothing_s",
            d.turbine_smoothing_s.unwrap_or(60.0),
        )?),
        decommit_delay: Time::from_s(
            60.0 * non_negative(
                "dispatch.decommit_delay_min",
                d.decommit_delay_min.unwrap_or(30.0),
            )?,
        ),
    };
    let seeds = r.reliability.seeds.unwrap_or(1);
    if seeds == 0 {
        return bad("reliability.seeds", "must be positive");
    }
    count("reliability.seeds", seeds)?;
    let reliability = ReliabilitySettings {
        seeds,
        interruption_min: Time::from_s(non_negative(
            "reliability.interruption_min_s",
            r.reliability.interruption_min_s.unwrap_or(0.0),
        )?),
    };

    if inference.is_empty() && training.is_empty() {
        return bad(
            "inference",
            "the site has no load: add `[[inference]]` or `[[training]]`",
        );
    }
    if grid.is_none() && turbines.is_empty() && solar.is_empty() && batteries.is_empty() {
        return bad(
            "grid",
            "the site has no supply: add `[grid]`, `[[turbines]]`, `[[solar]]` or `[[batteries]]`",
        );
    }

    Ok(Scenario {
        name: r.name.clone().unwrap_or_else(|| "site".into()),
        description: r.description.clone().unwrap_or_default(),
        simulation,
        inference,
        training,
        facility,
        grid,
        turbines,
        solar,
        batteries,
        miners,
        dispatch,
        reliability,
    })
}

fn convert_grid(g: &raw::RawGrid) -> VResult<Grid> {
    let cap = non_negative("grid.import_cap_mw", g.import_cap_mw)?;
    let export_cap = if g.export {
        non_negative("grid.export_cap_mw", g.export_cap_mw.unwrap_or(cap))?
    } else {
        if g.export_cap_mw.is_some() {
            return bad("grid.export_cap_mw", "is set but `export` is false");
        }
        0.0
    };
    let tariff = match (&g.price_csv, g.price_usd_per_mwh, g.peak_price_usd_per_mwh) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return bad(
                "grid.price_csv",
                "give `price_csv` or flat prices, not both",
            );
        }
        (Some(path), None, None) => Tariff::Profile(csv_profile(path)),
        (None, p, None) => Tariff::Flat(EnergyPrice::from_usd_per_mwh(finite(
            "grid.price_usd_per_mwh",
            p.unwrap_or(70.0),
        )?)),
        (None, p, Some(peak)) => {
            let s = g.peak_start_hour.unwrap_or(16.0);
            let e = g.peak_end_hour.unwrap_or(21.0);
            finite("grid.peak_start_hour", s)?;
            finite("grid.peak_end_hour", e)?;
            Tariff::TimeOfUse {
                off_peak: EnergyPrice::from_usd_per_mwh(finite(
                    "grid.price_usd_per_mwh",
                    p.unwrap_or(70.0),
                )?),
                peak: EnergyPrice::from_usd_per_mwh(finite("grid.peak_price_usd_per_mwh", peak)?),
                start_hour: s,
                end_hour: e,
            }
        }
    };
    let carbon = match (&g.carbon_csv, g.carbon_kg_per_mwh) {
        (Some(_), Some(_)) => {
            return bad(
                "grid.carbon_csv",
                "give `carbon_csv` or `carbon_kg_per_mwh`, not both",
            );
        }
        (Some(path), None) => Carbon::Profile(csv_profile(path)),
        (None, c) => Carbon::Flat(CarbonIntensity::from_g_per_kwh(non_negative(
            "grid.carbon_kg_per_mwh",
            c.unwrap_or(400.0),
        )?)),
    };
    let window = |k: &str, i: usize, e: &raw::RawEvent, dr: bool| -> VResult<Window> {
        let p = |f: &str| format!("grid.{k}[{i}].{f}");
        let import_cap = match (e.import_cap_mw, dr) {
            (Some(c), true) => Some(Power::from_mw(non_negative(&p("import_cap_mw"), c)?)),
            (None, true) => Some(Power::ZERO),
            (Some(_), false) => {
                return bad(p("import_cap_mw"), "only demand-response events cap import");
            }
            (None, false) => None,
        };
        Ok(Window {
            start: Time::from_h(non_negative(&p("start_h"), e.start_h)?),
            duration: Time::from_h(positive(&p("duration_h"), e.duration_h)?),
            import_cap,
        })
    };
    let outages = g
        .outages
        .iter()
        .enumerate()
        .map(|(i, e)| window("outages", i, e, false))
        .collect::<VResult<Vec<_>>>()?;
    let demand_response = g
        .demand_response
        .iter()
        .enumerate()
        .map(|(i, e)| window("demand_response", i, e, true))
        .collect::<VResult<Vec<_>>>()?;
    Ok(Grid {
        import_cap: Power::from_mw(cap),
        export_cap: Power::from_mw(export_cap),
        export_price_fraction: fraction(
            "grid.export_price_fraction",
            g.export_price_fraction.unwrap_or(0.5),
        )?,
        tariff,
        demand_charge: DemandCharge::from_usd_per_kw_month(non_negative(
            "grid.demand_charge_usd_per_kw_month",
            g.demand_charge_usd_per_kw_month.unwrap_or(0.0),
        )?),
        carbon,
        ramp_limit: match g.ramp_limit_mw_per_min {
            Some(v) => Some(RampRate::from_mw_per_min(positive(
                "grid.ramp_limit_mw_per_min",
                v,
            )?)),
            None => None,
        },
        peak_shave: match g.peak_shave_mw {
            Some(v) => Some(Power::from_mw(non_negative("grid.peak_shave_mw", v)?)),
            None => None,
        },
        outages_per_year: non_negative("grid.outages_per_year", g.outages_per_year.unwrap_or(0.0))?,
        mean_outage: Time::from_h(positive(
            "grid.mean_outage_h",
            g.mean_outage_h.unwrap_or(2.0),
        )?),
        outages,
        demand_response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[simulation]\nduration_h = 1\nstep_s = 1\n\n[[inference]]\npower_mw = 5\n\n[grid]\nimport_cap_mw = 10\n";

    #[test]
    fn unknown_field_names_line_and_field() {
        let text =
            format!("{BASE}\n[[batteries]]\npower_mw = 1\nenergy_mwh = 2\nround_trip_eff = 0.9\n");
        let e = parse_scenario(&text).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert!(e.field.starts_with("batteries[0]"), "{e}");
        assert!(e.message.contains("round_trip_eff"), "{e}");
    }

    #[test]
    fn out_of_range_value_points_at_the_value() {
        let text = format!(
            "{BASE}\n[[batteries]]\npower_mw = 1\nenergy_mwh = 2\nround_trip_efficiency = 1.3\n"
        );
        let e = parse_scenario(&text).unwrap_err();
        assert_eq!((e.line, e.column), (14, 25), "{e}");
        assert_eq!(e.field, "batteries[0].round_trip_efficiency");
    }

    #[test]
    fn a_profile_excludes_the_models_own_parameters() {
        let solar = format!(
            "{BASE}\n[[solar]]\nnameplate_mw = 5\nprofile_csv = \"sun.csv\"\nperformance_ratio = 0.8\n"
        );
        let e = parse_scenario(&solar).unwrap_err();
        assert_eq!(e.field, "solar[0].performance_ratio", "{e}");
        assert_eq!(e.line, 14, "{e}");
        let temp =
            format!("{BASE}\n[facility.temperature]\nprofile_csv = \"t.csv\"\nmean_c = 20\n");
        let e = parse_scenario(&temp).unwrap_err();
        assert_eq!(e.field, "facility.temperature.mean_c", "{e}");
        assert_eq!(e.line, 13, "{e}");
    }

    #[test]
    fn profile_values_are_checked_with_their_line() {
        let e = parse_profile_csv("time_s,mw\n0,1\n60,-2\n", "f", ProfileKind::NonNegative)
            .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "f"), "{e}");
        assert!(parse_profile_csv("0,1\n60,1.5\n", "f", ProfileKind::Fraction).is_err());
        assert!(parse_profile_csv("0,-40\n60,1.5\n", "f", ProfileKind::Any).is_ok());
    }

    #[test]
    fn durations_take_a_unit_or_a_number_in_the_named_unit() {
        let with = |sim: &str| {
            parse_scenario(&BASE.replace("duration_h = 1\nstep_s = 1\n", sim)).map(|s| {
                (
                    s.simulation.duration.s(),
                    s.simulation.step.s(),
                    s.simulation.output_resolution.s(),
                )
            })
        };
        let old = with("duration_h = 2\nstep_s = 60\noutput_resolution_s = 900\n").unwrap();
        assert_eq!(old, (7200.0, 60.0, 900.0));
        assert_eq!(
            with("duration = \"2h\"\nstep = \"1m\"\noutput_resolution = \"15m\"\n").unwrap(),
            old
        );
        assert_eq!(
            with("duration = \"7200s\"\nstep_s = 60\noutput_resolution = \"900s\"\n").unwrap(),
            old
        );
        for (sim, field) in [
            (
                "duration = \"2h\"\nduration_h = 2\nstep_s = 1\n",
                "simulation.duration",
            ),
            ("duration = \"2\"\nstep_s = 1\n", "simulation.duration"),
            ("duration = \"soon\"\nstep_s = 1\n", "simulation.duration"),
            ("duration = \"20y\"\nstep_s = 1\n", "simulation.duration"),
            ("step_s = 1\n", "simulation.duration"),
            ("duration = \"1h\"\n", "simulation.step"),
            ("duration = \"1h\"\nstep = \"2h\"\n", "simulation.step"),
            ("duration = \"1m\"\nstep = \"2m\"\n", "simulation.duration"),
            (
                "duration = \"1h\"\nstep = \"1m\"\noutput_resolution = \"1s\"\n",
                "simulation.output_resolution",
            ),
        ] {
            let e = with(sim).unwrap_err();
            assert_eq!(e.field, field, "{sim}: {e}");
        }
    }

    #[test]
    fn wrong_type_is_located() {
        let text = BASE.replace("step_s = 1", "step_s = \"one\"");
        let e = parse_scenario(&text).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert_eq!(e.field, "simulation.step_s", "{e}");
    }

    #[test]
    fn soc_limits_must_be_ordered() {
        let text = format!(
            "{BASE}\n[[batteries]]\npower_mw = 1\nenergy_mwh = 2\nround_trip_efficiency = 0.9\nsoc_min = 0.8\nsoc_max = 0.2\n"
        );
        let e = parse_scenario(&text).unwrap_err();
        assert_eq!(e.field, "batteries[0].soc_min");
        assert_eq!(e.line, 15);
    }

    #[test]
    fn turbine_commitment_is_linear_or_integer() {
        let gt = "\n[[turbines]]\ncount = 2\nunit_mw = 10\nramp_mw_per_min = 1\nheat_rate_mmbtu_per_mwh = 10\nfuel_usd_per_mmbtu = 3\n";
        let sc = parse_scenario(&format!("{BASE}{gt}")).unwrap();
        assert_eq!(sc.turbines[0].commitment, TurbineCommitment::Linear);
        let sc = parse_scenario(&format!(
            "{BASE}{gt}commitment = \"integer\"\nmin_up_h = 2\nmin_down_h = 1.5\nshutdown_cost_usd = 300\n"
        ))
        .unwrap();
        let t = &sc.turbines[0];
        assert_eq!(t.commitment, TurbineCommitment::Integer);
        assert_eq!((t.min_up.h(), t.min_down.h()), (2.0, 1.5));
        assert_eq!(t.shutdown_cost.usd(), 300.0);

        let e = parse_scenario(&format!("{BASE}{gt}commitment = \"binary\"\n")).unwrap_err();
        assert_eq!(e.field, "turbines[0].commitment", "{e}");
        assert!(e.message.contains("`linear` or `integer`"), "{e}");
        let e = parse_scenario(&format!("{BASE}{gt}min_up_h = 2\n")).unwrap_err();
        assert_eq!(e.field, "turbines[0].min_up_h", "{e}");
        assert!(e.message.contains("commitment = \"integer\""), "{e}");
        let e = parse_scenario(&format!(
            "{BASE}{gt}commitment = \"integer\"\nmin_down_h = -1\n"
        ))
        .unwrap_err();
        assert_eq!(e.field, "turbines[0].min_down_h", "{e}");
    }

    #[test]
    fn csv_series_parses_with_header() {
        let s = parse_series_csv("time_s,power_mw\n0,1\n10,2\n", "x").unwrap();
        assert_eq!(s.values, vec![1.0, 2.0]);
        assert_eq!(s.period_s(), 20.0);
        let e = parse_series_csv("time_s,power_mw\n0,1\n10,abc\n", "x").unwrap_err();
        assert_eq!(e.line, 3);
    }
}

//! Quantities as types.
//!
//! Every quantity wattage computes with is a newtype over an `f64` held in one base unit
//! (joules, watts, seconds, FLOP, bytes, grams of CO2e, litres of water, US dollars). Only the
//! physically meaningful operations exist: `Power * Time = Energy`, `Energy / Time = Power`,
//! `Flop / FlopRate = Time`, `Energy * CarbonIntensity = Co2e`, and so on. Adding joules to watts
//! does not compile.
//!
//! Where a raw `f64` must cross a boundary (a CSV column, a JSON field), name it with its unit
//! (`energy_wh`, `power_w`) and convert with the named constructors and accessors here.
//!
//! ```
//! use wattage_units::{Power, Time, Energy};
//! let e: Energy = Power::from_w(1050.0) * Time::from_s(1.0);
//! assert!((e.wh() - 0.2917).abs() < 1e-3);
//! assert_eq!(format!("{}", Energy::from_kwh(1500.0)), "1.50 MWh");
//! ```

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// Seconds in one hour.
pub const SECONDS_PER_HOUR: f64 = 3600.0;
/// Seconds in one (365-day) year.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

macro_rules! quantity {
    ($(#[$meta:meta])* $name:ident, $base:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(f64);

        impl $name {
            /// Zero of this quantity.
            pub const ZERO: Self = Self(0.0);

            #[doc = concat!("The value in the base unit (", $base, ").")]
            #[inline]
            pub const fn base(self) -> f64 {
                self.0
            }

            #[doc = concat!("From a value in the base unit (", $base, ").")]
            #[inline]
            pub const fn from_base(v: f64) -> Self {
                Self(v)
            }

            /// True when the value is neither NaN nor infinite.
            #[inline]
            pub fn is_finite(self) -> bool {
                self.0.is_finite()
            }

            /// The larger of two values.
            #[inline]
            pub fn max(self, other: Self) -> Self {
                Self(self.0.max(other.0))
            }

            /// The smaller of two values.
            #[inline]
            pub fn min(self, other: Self) -> Self {
                Self(self.0.min(other.0))
            }

            /// Absolute value.
            #[inline]
            pub fn abs(self) -> Self {
                Self(self.0.abs())
            }
        }

        impl Add for $name {
            type Output = Self;
            #[inline]
            fn add(self, o: Self) -> Self {
                Self(self.0 + o.0)
            }
        }
        impl Sub for $name {
            type Output = Self;
            #[inline]
            fn sub(self, o: Self) -> Self {
                Self(self.0 - o.0)
            }
        }
        impl AddAssign for $name {
            #[inline]
            fn add_assign(&mut self, o: Self) {
                self.0 += o.0;
            }
        }
        impl SubAssign for $name {
            #[inline]
            fn sub_assign(&mut self, o: Self) {
                self.0 -= o.0;
            }
        }
        impl Neg for $name {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                Self(-self.0)
            }
        }
        impl Mul<f64> for $name {
            type Output = Self;
            #[inline]
            fn mul(self, k: f64) -> Self {
                Self(self.0 * k)
            }
        }
        impl Mul<$name> for f64 {
            type Output = $name;
            #[inline]
            fn mul(self, q: $name) -> $name {
                $name(self * q.0)
            }
        }
        impl Div<f64> for $name {
            type Output = Self;
            #[inline]
            fn div(self, k: f64) -> Self {
                Self(self.0 / k)
            }
        }
        /// The ratio of two values of the same quantity is a plain number.
        impl Div for $name {
            type Output = f64;
            #[inline]
            fn div(self, o: Self) -> f64 {
                self.0 / o.0
            }
        }
        impl Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                Self(iter.map(|q| q.0).sum())
            }
        }
        impl<'a> Sum<&'a $name> for $name {
            fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
                Self(iter.map(|q| q.0).sum())
            }
        }
    };
}

macro_rules! product {
    ($a:ident * $b:ident = $c:ident) => {
        impl Mul<$b> for $a {
            type Output = $c;
            #[inline]
            fn mul(self, o: $b) -> $c {
                $c(self.0 * o.0)
            }
        }
        impl Mul<$a> for $b {
            type Output = $c;
            #[inline]
            fn mul(self, o: $a) -> $c {
                $c(self.0 * o.0)
            }
        }
        impl Div<$a> for $c {
            type Output = $b;
            #[inline]
            fn div(self, o: $a) -> $b {
                $b(self.0 / o.0)
            }
        }
        impl Div<$b> for $c {
            type Output = $a;
            #[inline]
            fn div(self, o: $b) -> $a {
                $a(self.0 / o.0)
            }
        }
    };
}

quantity!(
    /// Energy, held in joules.
    Energy,
    "J"
);
quantity!(
    /// Power, held in watts.
    Power,
    "W"
);
quantity!(
    /// A span of time, held in seconds.
    Time,
    "s"
);
quantity!(
    /// A count of floating-point operations.
    Flop,
    "FLOP"
);
quantity!(
    /// A rate of floating-point operations, held in FLOP per second.
    FlopRate,
    "FLOP/s"
);
quantity!(
    /// An amount of data, held in bytes.
    Bytes,
    "B"
);
quantity!(
    /// A data rate, held in bytes per second.
    ByteRate,
    "B/s"
);
quantity!(
    /// A mass of CO2-equivalent emissions, held in grams.
    Co2e,
    "g CO2e"
);
quantity!(
    /// A volume of water, held in litres.
    Water,
    "L"
);
quantity!(
    /// Money, held in US dollars.
    Usd,
    "USD"
);
quantity!(
    /// Emissions per unit of energy, held in grams of CO2e per kWh.
    CarbonIntensity,
    "gCO2e/kWh"
);
quantity!(
    /// Water per unit of energy (water usage effectiveness), held in litres per kWh.
    WaterIntensity,
    "L/kWh"
);
quantity!(
    /// Price of energy, held in US dollars per MWh.
    EnergyPrice,
    "USD/MWh"
);

product!(Power * Time = Energy);
product!(FlopRate * Time = Flop);
product!(ByteRate * Time = Bytes);

impl Mul<CarbonIntensity> for Energy {
    type Output = Co2e;
    #[inline]
    fn mul(self, ci: CarbonIntensity) -> Co2e {
        Co2e(self.kwh() * ci.0)
    }
}
impl Mul<WaterIntensity> for Energy {
    type Output = Water;
    #[inline]
    fn mul(self, wi: WaterIntensity) -> Water {
        Water(self.kwh() * wi.0)
    }
}
impl Mul<EnergyPrice> for Energy {
    type Output = Usd;
    #[inline]
    fn mul(self, p: EnergyPrice) -> Usd {
        Usd(self.mwh() * p.0)
    }
}

impl Energy {
    /// From joules.
    pub const fn from_j(v: f64) -> Self {
        Self(v)
    }
    /// From watt-hours.
    pub const fn from_wh(v: f64) -> Self {
        Self(v * SECONDS_PER_HOUR)
    }
    /// From kilowatt-hours.
    pub const fn from_kwh(v: f64) -> Self {
        Self(v * 3.6e6)
    }
    /// From megawatt-hours.
    pub const fn from_mwh(v: f64) -> Self {
        Self(v * 3.6e9)
    }
    /// From gigawatt-hours.
    pub const fn from_gwh(v: f64) -> Self {
        Self(v * 3.6e12)
    }
    /// In joules.
    pub const fn j(self) -> f64 {
        self.0
    }
    /// In watt-hours.
    pub const fn wh(self) -> f64 {
        self.0 / SECONDS_PER_HOUR
    }
    /// In kilowatt-hours.
    pub const fn kwh(self) -> f64 {
        self.0 / 3.6e6
    }
    /// In megawatt-hours.
    pub const fn mwh(self) -> f64 {
        self.0 / 3.6e9
    }
    /// In gigawatt-hours.
    pub const fn gwh(self) -> f64 {
        self.0 / 3.6e12
    }
}

impl Power {
    /// From watts.
    pub const fn from_w(v: f64) -> Self {
        Self(v)
    }
    /// From kilowatts.
    pub const fn from_kw(v: f64) -> Self {
        Self(v * 1e3)
    }
    /// From megawatts.
    pub const fn from_mw(v: f64) -> Self {
        Self(v * 1e6)
    }
    /// From gigawatts.
    pub const fn from_gw(v: f64) -> Self {
        Self(v * 1e9)
    }
    /// In watts.
    pub const fn w(self) -> f64 {
        self.0
    }
    /// In kilowatts.
    pub const fn kw(self) -> f64 {
        self.0 / 1e3
    }
    /// In megawatts.
    pub const fn mw(self) -> f64 {
        self.0 / 1e6
    }
    /// In gigawatts.
    pub const fn gw(self) -> f64 {
        self.0 / 1e9
    }
}

impl Time {
    /// From seconds.
    pub const fn from_s(v: f64) -> Self {
        Self(v)
    }
    /// From milliseconds.
    pub const fn from_ms(v: f64) -> Self {
        Self(v / 1e3)
    }
    /// From microseconds.
    pub const fn from_us(v: f64) -> Self {
        Self(v / 1e6)
    }
    /// From hours.
    pub const fn from_h(v: f64) -> Self {
        Self(v * SECONDS_PER_HOUR)
    }
    /// From days.
    pub const fn from_days(v: f64) -> Self {
        Self(v * 86_400.0)
    }
    /// In seconds.
    pub const fn s(self) -> f64 {
        self.0
    }
    /// In milliseconds.
    pub const fn ms(self) -> f64 {
        self.0 * 1e3
    }
    /// In hours.
    pub const fn h(self) -> f64 {
        self.0 / SECONDS_PER_HOUR
    }
    /// In days.
    pub const fn days(self) -> f64 {
        self.0 / 86_400.0
    }

    /// Parses a duration written as `<number><unit>`: `250ms`, `90s`, `15m`, `48h`, `7d` or
    /// `1y` (365 days). A bare number is taken in `bare_unit_s` seconds (1 for seconds, 3600
    /// for hours). The value must be finite and positive.
    pub fn parse_duration(text: &str, bare_unit_s: f64) -> Result<Self, String> {
        let s = text.trim();
        let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
            (n, 1e-3)
        } else {
            match s.char_indices().last() {
                Some((i, 's')) => (&s[..i], 1.0),
                Some((i, 'm')) => (&s[..i], 60.0),
                Some((i, 'h')) => (&s[..i], SECONDS_PER_HOUR),
                Some((i, 'd')) => (&s[..i], 86_400.0),
                Some((i, 'y')) => (&s[..i], 365.0 * 86_400.0),
                _ => (s, bare_unit_s),
            }
        };
        let v: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a duration like 90s, 15m, 48h, 7d or 1y"))?;
        let secs = v * mult;
        if !(secs.is_finite() && secs > 0.0) {
            return Err(format!("`{s}` must be a positive duration"));
        }
        Ok(Self(secs))
    }

    /// [`Time::parse_duration`] for a new field, where a number without its unit has no old
    /// meaning to keep: it is an error that says how to write it.
    pub fn parse_duration_with_unit(text: &str) -> Result<Self, String> {
        let s = text.trim();
        if s.parse::<f64>().is_ok() {
            return Err(format!(
                "`{s}` has no unit: write it as <number><unit> with ms, s, m, h, d or y (`{s}s`, `{s}h`)"
            ));
        }
        Self::parse_duration(s, f64::NAN)
    }
}

impl Flop {
    /// From a count of operations.
    pub const fn new(v: f64) -> Self {
        Self(v)
    }
    /// The count of operations.
    pub const fn count(self) -> f64 {
        self.0
    }
}

impl FlopRate {
    /// From FLOP per second.
    pub const fn from_flops(v: f64) -> Self {
        Self(v)
    }
    /// From teraFLOP per second.
    pub const fn from_tflops(v: f64) -> Self {
        Self(v * 1e12)
    }
    /// In FLOP per second.
    pub const fn flops(self) -> f64 {
        self.0
    }
    /// In teraFLOP per second.
    pub const fn tflops(self) -> f64 {
        self.0 / 1e12
    }
}

impl Bytes {
    /// From bytes.
    pub const fn new(v: f64) -> Self {
        Self(v)
    }
    /// From gigabytes (1e9 bytes).
    pub const fn from_gb(v: f64) -> Self {
        Self(v * 1e9)
    }
    /// In bytes.
    pub const fn count(self) -> f64 {
        self.0
    }
    /// In gigabytes (1e9 bytes).
    pub const fn gb(self) -> f64 {
        self.0 / 1e9
    }
}

impl ByteRate {
    /// From bytes per second.
    pub const fn from_bytes_per_s(v: f64) -> Self {
        Self(v)
    }
    /// From gigabytes per second.
    pub const fn from_gb_s(v: f64) -> Self {
        Self(v * 1e9)
    }
    /// From terabytes per second.
    pub const fn from_tb_s(v: f64) -> Self {
        Self(v * 1e12)
    }
    /// In bytes per second.
    pub const fn bytes_per_s(self) -> f64 {
        self.0
    }
    /// In gigabytes per second.
    pub const fn gb_s(self) -> f64 {
        self.0 / 1e9
    }
}

impl Co2e {
    /// From grams.
    pub const fn from_g(v: f64) -> Self {
        Self(v)
    }
    /// From kilograms.
    pub const fn from_kg(v: f64) -> Self {
        Self(v * 1e3)
    }
    /// From metric tonnes.
    pub const fn from_t(v: f64) -> Self {
        Self(v * 1e6)
    }
    /// In grams.
    pub const fn g(self) -> f64 {
        self.0
    }
    /// In kilograms.
    pub const fn kg(self) -> f64 {
        self.0 / 1e3
    }
    /// In metric tonnes.
    pub const fn t(self) -> f64 {
        self.0 / 1e6
    }
}

impl Water {
    /// From litres.
    pub const fn from_l(v: f64) -> Self {
        Self(v)
    }
    /// From millilitres.
    pub const fn from_ml(v: f64) -> Self {
        Self(v / 1e3)
    }
    /// From cubic metres.
    pub const fn from_m3(v: f64) -> Self {
        Self(v * 1e3)
    }
    /// From US gallons.
    pub const fn from_us_gal(v: f64) -> Self {
        Self(v * 3.785_411_784)
    }
    /// In litres.
    pub const fn l(self) -> f64 {
        self.0
    }
    /// In millilitres.
    pub const fn ml(self) -> f64 {
        self.0 * 1e3
    }
    /// In cubic metres.
    pub const fn m3(self) -> f64 {
        self.0 / 1e3
    }
}

impl Usd {
    /// From US dollars.
    pub const fn new(v: f64) -> Self {
        Self(v)
    }
    /// In US dollars.
    pub const fn usd(self) -> f64 {
        self.0
    }
}

impl CarbonIntensity {
    /// From grams of CO2e per kWh (equal to kg per MWh).
    pub const fn from_g_per_kwh(v: f64) -> Self {
        Self(v)
    }
    /// In grams of CO2e per kWh (equal to kg per MWh).
    pub const fn g_per_kwh(self) -> f64 {
        self.0
    }
}

impl WaterIntensity {
    /// From litres per kWh.
    pub const fn from_l_per_kwh(v: f64) -> Self {
        Self(v)
    }
    /// In litres per kWh.
    pub const fn l_per_kwh(self) -> f64 {
        self.0
    }
}

impl EnergyPrice {
    /// From US dollars per MWh.
    pub const fn from_usd_per_mwh(v: f64) -> Self {
        Self(v)
    }
    /// From US dollars per kWh.
    pub const fn from_usd_per_kwh(v: f64) -> Self {
        Self(v * 1e3)
    }
    /// In US dollars per MWh.
    pub const fn usd_per_mwh(self) -> f64 {
        self.0
    }
    /// In US dollars per kWh.
    pub const fn usd_per_kwh(self) -> f64 {
        self.0 / 1e3
    }
}

/// Formats `v` (in `unit`) with an SI prefix chosen so the mantissa lies in [1, 1000).
fn si(f: &mut fmt::Formatter<'_>, v: f64, unit: &str, prefixes: &[(f64, &str)]) -> fmt::Result {
    let prec = f.precision().unwrap_or(2);
    let a = v.abs();
    let (scale, p) = prefixes
        .iter()
        .copied()
        .find(|(s, _)| a >= *s)
        .unwrap_or(prefixes[prefixes.len() - 1]);
    write!(f, "{:.*} {}{}", prec, v / scale, p, unit)
}

const SI: &[(f64, &str)] = &[
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
];

impl fmt::Display for Energy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        si(f, self.wh(), "Wh", SI)
    }
}
impl fmt::Display for Power {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        si(f, self.0, "W", SI)
    }
}
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(2);
        let s = self.0;
        let a = s.abs();
        if a >= 86_400.0 * 2.0 {
            write!(f, "{:.*} days", prec, s / 86_400.0)
        } else if a >= 7200.0 {
            write!(f, "{:.*} h", prec, s / 3600.0)
        } else if a >= 120.0 {
            write!(f, "{:.*} min", prec, s / 60.0)
        } else if a >= 1.0 || a == 0.0 {
            write!(f, "{:.*} s", prec, s)
        } else if a >= 1e-3 {
            write!(f, "{:.*} ms", prec, s * 1e3)
        } else {
            write!(f, "{:.*} µs", prec, s * 1e6)
        }
    }
}
impl fmt::Display for Flop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.*e} FLOP", f.precision().unwrap_or(2), self.0)
    }
}
impl fmt::Display for FlopRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        si(f, self.0, "FLOP/s", SI)
    }
}
impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        si(f, self.0, "B", SI)
    }
}
impl fmt::Display for ByteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        si(f, self.0, "B/s", SI)
    }
}
impl fmt::Display for Co2e {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(2);
        let a = self.0.abs();
        if a >= 1e6 {
            write!(f, "{:.*} t CO2e", prec, self.t())
        } else if a >= 1e3 {
            write!(f, "{:.*} kg CO2e", prec, self.kg())
        } else {
            write!(f, "{:.*} g CO2e", prec, self.0)
        }
    }
}
impl fmt::Display for Water {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(2);
        let a = self.0.abs();
        if a >= 1e3 {
            write!(f, "{:.*} m³", prec, self.m3())
        } else if a >= 1.0 || a == 0.0 {
            write!(f, "{:.*} L", prec, self.0)
        } else {
            write!(f, "{:.*} mL", prec, self.ml())
        }
    }
}
impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(2);
        let a = self.0.abs();
        if a >= 1e9 {
            write!(f, "${:.*}B", prec, self.0 / 1e9)
        } else if a >= 1e6 {
            write!(f, "${:.*}M", prec, self.0 / 1e6)
        } else if a >= 1e3 {
            write!(f, "${:.*}k", prec, self.0 / 1e3)
        } else {
            write!(f, "${:.*}", prec, self.0)
        }
    }
}
impl fmt::Display for CarbonIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.*} gCO2e/kWh", f.precision().unwrap_or(0), self.0)
    }
}
impl fmt::Display for WaterIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.*} L/kWh", f.precision().unwrap_or(2), self.0)
    }
}
impl fmt::Display for EnergyPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.*}/MWh", f.precision().unwrap_or(2), self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Rates of the site's energy system
// ---------------------------------------------------------------------------------------------

/// A ramp rate, held in watts per second.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct RampRate(f64);
impl RampRate {
    /// From megawatts per minute.
    pub fn from_mw_per_min(v: f64) -> Self {
        Self(v * 1e6 / 60.0)
    }
    /// From watts per second.
    pub fn from_w_per_s(v: f64) -> Self {
        Self(v)
    }
    /// In watts per second.
    pub fn w_per_s(self) -> f64 {
        self.0
    }
    /// In megawatts per second.
    pub fn mw_per_s(self) -> f64 {
        self.0 / 1e6
    }
    /// The power change allowed over `dt`.
    pub fn over(self, dt: Time) -> Power {
        Power::from_w(self.0 * dt.s())
    }
}

/// Fuel price, held in US dollars per million British thermal units.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct FuelPrice(f64);
impl FuelPrice {
    /// From $/MMBtu.
    pub fn from_usd_per_mmbtu(v: f64) -> Self {
        Self(v)
    }
    /// In $/MMBtu.
    pub fn usd_per_mmbtu(self) -> f64 {
        self.0
    }
}

/// Heat rate of a thermal generator, held in MMBtu of fuel per MWh of electricity.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct HeatRate(f64);
impl HeatRate {
    /// From MMBtu/MWh.
    pub fn from_mmbtu_per_mwh(v: f64) -> Self {
        Self(v)
    }
    /// In MMBtu/MWh.
    pub fn mmbtu_per_mwh(self) -> f64 {
        self.0
    }
    /// Fuel cost of one MWh of electricity at this heat rate.
    pub fn fuel_cost(self, p: FuelPrice) -> EnergyPrice {
        EnergyPrice::from_usd_per_mwh(self.0 * p.0)
    }
}

/// A demand charge, held in US dollars per kW of monthly peak import.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct DemandCharge(f64);
impl DemandCharge {
    /// From $/kW-month.
    pub fn from_usd_per_kw_month(v: f64) -> Self {
        Self(v)
    }
    /// In $/kW-month.
    pub fn usd_per_kw_month(self) -> f64 {
        self.0
    }
    /// The charge for one month whose peak import is `peak`.
    pub fn for_peak(self, peak: Power) -> Usd {
        Usd::new(self.0 * peak.kw())
    }
}

/// Bitcoin hashprice: revenue per TH/s of hashrate per day, in US dollars.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Hashprice(f64);
impl Hashprice {
    /// From $/(TH/s)/day.
    pub fn from_usd_per_th_day(v: f64) -> Self {
        Self(v)
    }
    /// In $/(TH/s)/day.
    pub fn usd_per_th_day(self) -> f64 {
        self.0
    }
}

/// Mining efficiency, held in joules per terahash.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct MinerEfficiency(f64);
impl MinerEfficiency {
    /// From J/TH.
    pub fn from_j_per_th(v: f64) -> Self {
        Self(v)
    }
    /// In J/TH.
    pub fn j_per_th(self) -> f64 {
        self.0
    }
}

impl fmt::Display for RampRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} MW/min", self.mw_per_s() * 60.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_parse_with_units() {
        let p = |t: &str| Time::parse_duration(t, 1.0).map(Time::s);
        assert_eq!(p("1h"), Ok(3600.0));
        assert_eq!(p("15m"), Ok(900.0));
        assert_eq!(p("7d"), Ok(604_800.0));
        assert_eq!(p("1y"), Ok(31_536_000.0));
        assert_eq!(p("250ms"), Ok(0.25));
        assert_eq!(p("300"), Ok(300.0));
        assert_eq!(Time::parse_duration("2", 3600.0).map(Time::s), Ok(7200.0));
        assert!(p("0h").is_err());
        assert!(p("-1s").is_err());
        assert!(p("nanh").is_err());
        assert!(p("soon").is_err());
        let u = |t: &str| Time::parse_duration_with_unit(t).map(Time::s);
        assert_eq!(u("90s"), Ok(90.0));
        assert!(u("300").unwrap_err().contains("has no unit"));
        assert!(u("1h30m").is_err());
    }

    use super::*;

    #[test]
    fn power_times_time_is_energy() {
        let e = Power::from_w(1500.0) * 0.7 * Time::from_s(1.0);
        assert!((e.j() - 1050.0).abs() < 1e-9);
        assert!((e.wh() - 0.291_666).abs() < 1e-5);
        let p = e / Time::from_s(2.0);
        assert!((p.w() - 525.0).abs() < 1e-9);
        let t = e / Power::from_w(1050.0);
        assert!((t.s() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn flop_over_rate_is_time() {
        // 1e14 FLOP on an H100 at 989 TFLOP/s takes about 0.1 s (seed 003).
        let t = Flop::new(1e14) / FlopRate::from_tflops(989.0);
        assert!((t.s() - 0.1011).abs() < 1e-3);
    }

    #[test]
    fn carbon_water_money() {
        let e = Energy::from_mwh(1287.0);
        let c = e * CarbonIntensity::from_g_per_kwh(429.0);
        assert!((c.t() - 552.1).abs() < 0.1);
        let w = Energy::from_kwh(1.0) * WaterIntensity::from_l_per_kwh(1.8);
        assert!((w.ml() - 1800.0).abs() < 1e-9);
        let m = Energy::from_mwh(2.0) * EnergyPrice::from_usd_per_mwh(50.0);
        assert!((m.usd() - 100.0).abs() < 1e-12);
    }

    #[test]
    fn display_scales() {
        assert_eq!(Energy::from_wh(0.3).to_string(), "300.00 mWh");
        assert_eq!(Energy::from_gwh(2.5).to_string(), "2.50 GWh");
        assert_eq!(Power::from_mw(12.5).to_string(), "12.50 MW");
        assert_eq!(format!("{:.1}", Time::from_ms(7.3)), "7.3 ms");
        assert_eq!(Co2e::from_t(552.0).to_string(), "552.00 t CO2e");
        assert_eq!(Water::from_ml(3.2).to_string(), "3.20 mL");
        assert_eq!(Usd::new(2.5e6).to_string(), "$2.50M");
    }

    proptest::proptest! {
        #[test]
        fn energy_round_trips_through_every_scale(v in -1e12f64..1e12) {
            let e = Energy::from_wh(v);
            let back = Energy::from_gwh(e.gwh()).kwh();
            proptest::prop_assert!((back - e.kwh()).abs() <= 1e-9 * e.kwh().abs().max(1.0));
        }
    }
}

//! From one request to a fleet, and back: requests per day <-> average power and annual
//! energy; price-implied utilization; everyday comparisons.

use serde::Serialize;
use wattage_units::{Energy, Power, SECONDS_PER_YEAR, Time, Usd};

/// A fleet serving `requests_per_day` requests of `energy_per_request` each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fleet {
    /// Mean power drawn.
    pub average_power: Power,
    /// Energy per day.
    pub daily_energy: Energy,
    /// Energy per (365-day) year.
    pub annual_energy: Energy,
}

/// Scales a per-request energy to a fleet.
pub fn scale(energy_per_request: Energy, requests_per_day: f64) -> Fleet {
    let daily = energy_per_request * requests_per_day;
    let avg = daily / Time::from_days(1.0);
    Fleet {
        average_power: avg,
        daily_energy: daily,
        annual_energy: avg * Time::from_s(SECONDS_PER_YEAR),
    }
}

/// Energy per request from a fleet's measured or rated energy and its request count (the
/// top-down method of de Vries 2023 and Luccioni et al. 2023).
pub fn per_request(total: Energy, requests: f64) -> Energy {
    total / requests
}

/// Utilization implied by a market price, assuming the accelerator rent is the whole cost.
///
/// At full use one accelerator delivers `peak x 3600 / rent` FLOP per dollar; a million tokens
/// of a model with `active_params` needs `2 x active_params x 1e6` FLOP; the ratio of that
/// cost to the price per million tokens is the utilization the price implies.
pub fn price_implied_utilization(
    active_params: f64,
    peak_flops: f64,
    rent_per_hour: Usd,
    price_per_million_tokens: Usd,
) -> PriceImplied {
    let flop_per_usd = peak_flops * 3600.0 / rent_per_hour.usd();
    let cost_full_use = Usd::new(2.0 * active_params * 1e6 / flop_per_usd);
    PriceImplied {
        flop_per_usd,
        cost_per_million_at_full_use: cost_full_use,
        utilization: cost_full_use / price_per_million_tokens,
    }
}

/// The result of [`price_implied_utilization`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PriceImplied {
    /// FLOP bought per dollar at full use.
    pub flop_per_usd: f64,
    /// Cost of a million tokens at full use.
    pub cost_per_million_at_full_use: Usd,
    /// Implied utilization (0-1).
    pub utilization: f64,
}

/// A US household's electricity use per day: 10,500 kWh a year (EIA 2022 average, seed 003).
pub const US_HOUSEHOLD_DAILY: Energy = Energy::from_wh(10_500_000.0 / 365.0);

/// Everyday equivalents of an amount of energy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparisons {
    /// Minutes a 10 W LED bulb runs on it.
    pub led_10w_minutes: f64,
    /// Minutes a 50 W laptop runs on it.
    pub laptop_50w_minutes: f64,
    /// Share of a US household's daily electricity use (0-1).
    pub us_household_day_share: f64,
}

/// Everyday equivalents of `e`.
pub fn compare(e: Energy) -> Comparisons {
    Comparisons {
        led_10w_minutes: (e / Power::from_w(10.0)).s() / 60.0,
        laptop_50w_minutes: (e / Power::from_w(50.0)).s() / 60.0,
        us_household_day_share: e / US_HOUSEHOLD_DAILY,
    }
}

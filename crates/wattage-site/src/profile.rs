//! Cheap per-step evaluation of profiles: step-held series read through a forward cursor, and
//! analytic shapes (diurnal load, outdoor temperature, clear-sky sun) that the engine evaluates
//! once per "slow tick" (every 60 s of simulated time, or every step when steps are longer).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Profile, Series};

/// Reads a [`Series`] at increasing times without searching: the cursor only moves forward
/// (and wraps when the series repeats).
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    times: Vec<f64>,
    values: Vec<f64>,
    period: f64,
    idx: usize,
}

impl Cursor {
    pub(crate) fn new(s: &Series) -> Self {
        Self {
            times: s.times_s.clone(),
            values: s.values.clone(),
            period: s.period_s(),
            idx: 0,
        }
    }

    /// A cursor over a profile; unresolved CSV paths read as a constant `fallback`.
    pub(crate) fn of(p: &Profile, fallback: f64) -> Self {
        match p {
            Profile::Series(s) => Self::new(s),
            Profile::Csv { .. } => Self::new(&Series {
                times_s: vec![0.0],
                values: vec![fallback],
            }),
        }
    }

    /// The value held at time `t` (seconds). Times must not decrease between calls except
    /// through the series' own wrap-around.
    #[inline]
    pub(crate) fn at(&mut self, t: f64) -> f64 {
        let tm = if t < self.period { t } else { t % self.period };
        if tm < self.times[self.idx] {
            self.idx = 0;
        }
        while self.idx + 1 < self.times.len() && self.times[self.idx + 1] <= tm {
            self.idx += 1;
        }
        self.values[self.idx]
    }
}

/// Hour of day (0..24) at time `t` seconds from a midnight start.
#[inline]
pub(crate) fn hour_of_day(t: f64) -> f64 {
    (t / 3600.0) % 24.0
}

/// Outdoor temperature from annual and daily sinusoids: coldest around 15 January and 05:00.
pub(crate) fn sinusoid_temperature(
    t: f64,
    start_day: f64,
    mean_c: f64,
    annual_c: f64,
    daily_c: f64,
) -> f64 {
    let day = start_day - 1.0 + t / 86_400.0;
    let annual = -((day - 15.0) / 365.0 * std::f64::consts::TAU).cos();
    let daily = -((hour_of_day(t) - 5.0) / 24.0 * std::f64::consts::TAU).cos();
    mean_c + annual_c * annual + daily_c * daily
}

/// Clear-sky capacity factor in [0, 1] from latitude, day of year and hour (solar time).
/// A simple model: plane-of-array irradiance ~ sin(elevation)^1.15 with an air-mass
/// attenuation, normalised so that noon at the equinox on the equator is about 1.
pub(crate) fn clear_sky_factor(latitude_deg: f64, day_of_year: f64, hour: f64) -> f64 {
    let lat = latitude_deg.to_radians();
    let decl =
        (23.44f64).to_radians() * ((360.0 / 365.0 * (day_of_year + 284.0)).to_radians()).sin();
    let ha = ((hour - 12.0) * 15.0).to_radians();
    let sin_el = lat.sin() * decl.sin() + lat.cos() * decl.cos() * ha.cos();
    if sin_el <= 0.0 {
        return 0.0;
    }
    // Air-mass attenuation (Meinel): 0.7^(AM^0.678), normalised to AM = 1.
    let am = (1.0 / sin_el).min(38.0);
    let att = 0.7f64.powf(am.powf(0.678)) / 0.7;
    // A fixed-tilt plant catches more than a horizontal surface at low sun; sin^0.6 stands
    // in for that gain.
    (sin_el.powf(0.6) * att).clamp(0.0, 1.0)
}

/// Daily weather factor in [1 - noise, 1]: skewed towards clear days.
pub(crate) fn weather_factor(rng: &mut ChaCha8Rng, noise: f64) -> f64 {
    let u: f64 = rng.random();
    1.0 - noise * u * u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_holds_and_wraps() {
        let mut c = Cursor::new(&Series {
            times_s: vec![0.0, 10.0],
            values: vec![1.0, 2.0],
        });
        assert_eq!(c.at(0.0), 1.0);
        assert_eq!(c.at(9.9), 1.0);
        assert_eq!(c.at(10.0), 2.0);
        assert_eq!(c.at(19.0), 2.0);
        assert_eq!(c.at(20.0), 1.0); // period 20 s
        assert_eq!(c.at(31.0), 2.0);
    }

    #[test]
    fn sun_is_down_at_night_and_up_at_noon() {
        assert_eq!(clear_sky_factor(35.0, 172.0, 0.0), 0.0);
        let noon = clear_sky_factor(35.0, 172.0, 12.0);
        assert!(noon > 0.8 && noon <= 1.0, "{noon}");
        assert!(clear_sky_factor(35.0, 355.0, 12.0) < noon);
    }
}

//! Calendar time for the `time` column of every time series: a run's start as an ISO 8601
//! timestamp with a zone, plus the seconds elapsed since it.
//!
//! Every run starts at [`DEFAULT_START`] (`2025-01-01T00:00:00Z`) unless told otherwise; a
//! site scenario that starts on a later day of the year (`simulation.start_day_of_year`)
//! starts that many days later, so its timestamps agree with its seasons. The `start`
//! parameter (`--start`) sets any other start. Timestamps are written in UTC (`Z`) whatever
//! zone the start was given in. The arithmetic is the proleptic Gregorian calendar on days
//! since 1970-01-01 (no leap seconds), with no clock read.

use crate::error::{Error, Result};

/// The documented default start of every run.
pub const DEFAULT_START: &str = "2025-01-01T00:00:00Z";

/// A run's start: seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Start {
    epoch_s: f64,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Start {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)` or a date `YYYY-MM-DD` (midnight
    /// UTC); `param` names the parameter in errors.
    pub fn parse(param: &str, text: &str) -> Result<Self> {
        let t = text.trim();
        let bad = || {
            Error::param(
                param,
                format!(
                    "`{t}` is not an ISO 8601 time with a zone like {DEFAULT_START} or 2025-07-01T00:00:00+02:00"
                ),
            )
        };
        let num = |s: &str| -> Result<i64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let (date, rest) = match t.split_once(['T', ' ']) {
            Some((d, r)) => (d, Some(r)),
            None => (t, None),
        };
        let mut dp = date.splitn(3, '-');
        let (y, m, d) = match (dp.next(), dp.next(), dp.next()) {
            (Some(y), Some(m), Some(d)) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                (num(y)?, num(m)?, num(d)?)
            }
            _ => return Err(bad()),
        };
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(bad());
        }
        let mut secs = 0.0;
        if let Some(r) = rest {
            let (clock, offset_s) = if let Some(c) = r.strip_suffix(['Z', 'z']) {
                (c, 0.0)
            } else {
                let i = r.rfind(['+', '-']).ok_or_else(bad)?;
                let (c, off) = r.split_at(i);
                let sign = if off.starts_with('-') { -1.0 } else { 1.0 };
                let (oh, om) = off[1..].split_once(':').ok_or_else(bad)?;
                let (oh, om) = (num(oh)?, num(om)?);
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                (c, sign * (oh * 3600 + om * 60) as f64)
            };
            let mut cp = clock.splitn(3, ':');
            let (hh, mm, ss) = match (cp.next(), cp.next(), cp.next()) {
                (Some(h), Some(m), Some(s)) => (h, m, s),
                _ => return Err(bad()),
            };
            let (hh, mm) = (num(hh)?, num(mm)?);
            let (whole, frac) = match ss.split_once('.') {
                Some((w, f)) => (num(w)?, format!("0.{}", num(f).map(|_| f)?)),
                None => (num(ss)?, "0".to_string()),
            };
            if hh > 23 || mm > 59 || whole > 59 {
                return Err(bad());
            }
            let frac: f64 = frac.parse().map_err(|_| bad())?;
            secs = (hh * 3600 + mm * 60 + whole) as f64 + frac - offset_s;
        }
        Ok(Self {
            epoch_s: days_from_civil(y, m, d) as f64 * 86_400.0 + secs,
        })
    }

    /// The start `start` names, or [`DEFAULT_START`] moved to the scenario's day of the year
    /// (`start_day_of_year`, 1 = 1 January).
    pub fn or_default(start: Option<&str>, start_day_of_year: f64) -> Result<Self> {
        match start {
            Some(s) => Self::parse("start", s),
            None => {
                let base = Self::parse("start", DEFAULT_START)?;
                let days = if start_day_of_year.is_finite() {
                    (start_day_of_year - 1.0).max(0.0)
                } else {
                    0.0
                };
                Ok(Self {
                    epoch_s: base.epoch_s + days * 86_400.0,
                })
            }
        }
    }

    /// The default start, [`DEFAULT_START`].
    pub fn default_start() -> Self {
        Self {
            epoch_s: days_from_civil(2025, 1, 1) as f64 * 86_400.0,
        }
    }

    /// The timestamp `elapsed_s` seconds after the start, ISO 8601 in UTC
    /// (`2025-01-01T00:15:00Z`; milliseconds when the time is not a whole second).
    pub fn stamp(&self, elapsed_s: f64) -> String {
        let t = self.epoch_s + elapsed_s;
        let ms = (t * 1000.0).round();
        let ms = if ms.is_finite() { ms as i64 } else { 0 };
        let secs = ms.div_euclid(1000);
        let milli = ms.rem_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
        if milli == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{milli:03}Z")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn stamps_are_utc_iso_8601() {
        let s = Start::parse("start", DEFAULT_START).unwrap();
        assert_eq!(s, Start::default_start());
        assert_eq!(s.stamp(0.0), "2025-01-01T00:00:00Z");
        assert_eq!(s.stamp(900.0), "2025-01-01T00:15:00Z");
        assert_eq!(s.stamp(0.25), "2025-01-01T00:00:00.250Z");
        // 2025 is not a leap year: day 60 is 1 March; a year later is 2026-01-01.
        assert_eq!(s.stamp(59.0 * 86_400.0), "2025-03-01T00:00:00Z");
        assert_eq!(s.stamp(365.0 * 86_400.0), "2026-01-01T00:00:00Z");
        // 1970-01-01 is day 0; 2024-02-29 exists.
        assert_eq!(Start::parse("start", "1970-01-01").unwrap().epoch_s, 0.0);
        assert!(Start::parse("start", "2024-02-29T12:00:00Z").is_ok());
        assert!(Start::parse("start", "2025-02-29T12:00:00Z").is_err());
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let s = Start::parse("start", "2025-07-01T02:00:00+02:00").unwrap();
        assert_eq!(s.stamp(0.0), "2025-07-01T00:00:00Z");
        let s = Start::parse("start", "2025-06-30T19:30:00-04:30").unwrap();
        assert_eq!(s.stamp(0.0), "2025-07-01T00:00:00Z");
    }

    #[test]
    fn the_default_follows_the_scenarios_day_of_year() {
        let s = Start::or_default(None, 196.0).unwrap();
        assert_eq!(s.stamp(0.0), "2025-07-15T00:00:00Z");
        let s = Start::or_default(Some("2030-01-01T06:00:00Z"), 196.0).unwrap();
        assert_eq!(s.stamp(3600.0), "2030-01-01T07:00:00Z");
    }

    #[test]
    fn bad_starts_name_the_parameter() {
        for bad in [
            "",
            "soon",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00",
            "2025-1-1",
            "2025-01-01T00:00:00+2",
        ] {
            let e = Start::parse("start", bad).unwrap_err();
            assert!(e.to_string().starts_with("invalid `start`"), "{bad}: {e}");
        }
    }
}

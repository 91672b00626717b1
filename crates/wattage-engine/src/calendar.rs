//! Calendar time for the `time` column of every time series: a run's start as an ISO 8601
//! timestamp with a zone, plus the seconds elapsed since it.
//!
//! Every run starts at [`DEFAULT_START`] (`2025-01-01T00:00:00Z`) unless told otherwise; a
//! site scenario that starts on a later day of the year (`simulation.start_day_of_year`)
//! starts that many days later, so its timestamps agree with its seasons. The `start`
//! parameter (`--start`) sets any other start. Timestamps are written in UTC (`Z`) whatever
//! zone the start was given in. The calendar arithmetic is the `time` crate's (proleptic Gregorian, no leap
//! seconds), with no clock read.

use crate::error::{Error, Result};

/// The documented default start of every run.
pub const DEFAULT_START: &str = "2025-01-01T00:00:00Z";

/// A run's start: seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Start {
    epoch_s: f64,
}

const WHOLE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const MILLI: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);
const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

impl Start {
    /// Parses an RFC 3339 time with a zone (`2025-07-01T00:00:00Z`,
    /// `2025-07-01T00:00:00.5+02:00`; a space may stand for the `T`) or a date `YYYY-MM-DD`
    /// (midnight UTC); `param` names the parameter in errors.
    pub fn parse(param: &str, text: &str) -> Result<Self> {
        use time::format_description::well_known::Rfc3339;
        let t = text.trim();
        let bad = || {
            Error::param(
                param,
                format!(
                    "`{t}` is not an ISO 8601 time with a zone like {DEFAULT_START} or 2025-07-01T00:00:00+02:00"
                ),
            )
        };
        let nanos = if t.len() == 10 {
            time::Date::parse(t, DATE)
                .map_err(|_| bad())?
                .midnight()
                .assume_utc()
                .unix_timestamp_nanos()
        } else {
            time::OffsetDateTime::parse(&t.replacen(' ', "T", 1), &Rfc3339)
                .map_err(|_| bad())?
                .unix_timestamp_nanos()
        };
        Ok(Self {
            epoch_s: nanos as f64 / 1e9,
        })
    }

    /// The start `start` names, or [`DEFAULT_START`] moved to the scenario's day of the year
    /// (`start_day_of_year`, 1 = 1 January).
    pub fn or_default(start: Option<&str>, start_day_of_year: f64) -> Result<Self> {
        match start {
            Some(s) => Self::parse("start", s),
            None => {
                let days = if start_day_of_year.is_finite() {
                    (start_day_of_year - 1.0).max(0.0)
                } else {
                    0.0
                };
                Ok(Self {
                    epoch_s: Self::default_start().epoch_s + days * 86_400.0,
                })
            }
        }
    }

    /// The default start, [`DEFAULT_START`] (2025-01-01T00:00:00Z).
    pub fn default_start() -> Self {
        Self {
            epoch_s: 1_735_689_600.0,
        }
    }

    /// The timestamp `elapsed_s` seconds after the start, ISO 8601 in UTC
    /// (`2025-01-01T00:15:00Z`; milliseconds when the time is not a whole second).
    pub fn stamp(&self, elapsed_s: f64) -> String {
        let ms = ((self.epoch_s + elapsed_s) * 1000.0).round();
        let ms = if ms.is_finite() { ms as i64 } else { 0 };
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        else {
            return String::new();
        };
        let format = if ms.rem_euclid(1000) == 0 {
            WHOLE
        } else {
            MILLI
        };
        t.format(format).unwrap_or_default()
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

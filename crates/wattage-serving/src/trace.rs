//! Parser for request traces in the Azure LLM inference format.
//!
//! The format (Azure LLM inference trace 2023, Patel et al., "Splitwise", ISCA 2024, CC-BY) is
//! a CSV file with a header line `TIMESTAMP,ContextTokens,GeneratedTokens` and one request per
//! line; the timestamp is `YYYY-MM-DD HH:MM:SS[.fraction]` or a number of seconds. Columns are
//! found by name, so extra columns are ignored. This module reads text handed to it; it never
//! opens files.

use std::io::BufRead;

use crate::SimError;

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRecord {
    /// Arrival time in seconds, relative to the first request of the trace.
    pub time_s: f64,
    /// Prompt (context) tokens.
    pub input_tokens: u32,
    /// Generated (output) tokens.
    pub output_tokens: u32,
}

/// Parses a trace from text.
pub fn parse_azure_str(text: &str) -> Result<Vec<TraceRecord>, SimError> {
    parse_azure(text.as_bytes())
}

/// Parses a trace from a reader. Errors name the 1-based line and the field at fault.
/// Timestamps must not decrease (an out-of-order row is an error at its line); times are
/// made relative to the first record.
pub fn parse_azure<R: BufRead>(reader: R) -> Result<Vec<TraceRecord>, SimError> {
    let mut cols: Option<(usize, usize, usize)> = None;
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| SimError::trace(lineno, "line", e.to_string()))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let Some((ct, ci, co)) = cols else {
            let find = |name: &str| {
                fields
                    .iter()
                    .position(|f| f.trim_matches('"').eq_ignore_ascii_case(name))
            };
            match (
                find("TIMESTAMP"),
                find("ContextTokens"),
                find("GeneratedTokens"),
            ) {
                (Some(a), Some(b), Some(c)) => cols = Some((a, b, c)),
                _ => {
                    return Err(SimError::trace(
                        lineno,
                        "header",
                        "expected a header naming `TIMESTAMP,ContextTokens,GeneratedTokens`",
                    ));
                }
            }
            continue;
        };
        let get = |idx: usize, name: &'static str| {
            fields
                .get(idx)
                .map(|f| f.trim_matches('"'))
                .ok_or_else(|| SimError::trace(lineno, name, "missing"))
        };
        let t = parse_timestamp(get(ct, "TIMESTAMP")?)
            .map_err(|r| SimError::trace(lineno, "TIMESTAMP", r))?;
        let input = parse_tokens(get(ci, "ContextTokens")?)
            .map_err(|r| SimError::trace(lineno, "ContextTokens", r))?;
        let output = parse_tokens(get(co, "GeneratedTokens")?)
            .map_err(|r| SimError::trace(lineno, "GeneratedTokens", r))?;
        if let Some(last) = out.last().map(|r: &TraceRecord| r.time_s)
            && t < last
        {
            return Err(SimError::trace(
                lineno,
                "TIMESTAMP",
                "is earlier than the line before: a trace's timestamps must not decrease (sort it by TIMESTAMP)",
            ));
        }
        out.push(TraceRecord {
            time_s: t,
            input_tokens: input,
            output_tokens: output,
        });
    }
    if cols.is_none() {
        return Err(SimError::trace(1, "header", "the trace is empty"));
    }
    if out.is_empty() {
        return Err(SimError::trace(2, "TIMESTAMP", "the trace has no requests"));
    }
    let t0 = out[0].time_s;
    for r in &mut out {
        r.time_s -= t0;
    }
    Ok(out)
}

fn parse_tokens(s: &str) -> Result<u32, String> {
    let v: u64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of tokens"))?;
    u32::try_from(v).map_err(|_| format!("`{s}` tokens is too large"))
}

/// Seconds since 1970-01-01 for `YYYY-MM-DD HH:MM:SS[.frac]` (or `T` as separator), or a plain
/// number of seconds.
fn parse_timestamp(s: &str) -> Result<f64, String> {
    if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Ok(v);
    }
    let bad = || format!("`{s}` is not a timestamp (expected `YYYY-MM-DD HH:MM:SS.ffff`)");
    let (date, time) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let mut d = date.split('-');
    let y: i64 = d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let m: u32 = d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let day: u32 = d.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    let time = time.trim_end_matches('Z');
    let mut t = time.split(':');
    let hh: u32 = t.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let mm: u32 = t.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let ss: f64 = t.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    if t.next().is_some() || hh > 23 || mm > 59 || !(0.0..61.0).contains(&ss) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, day);
    Ok(days as f64 * 86_400.0 + f64::from(hh) * 3600.0 + f64::from(mm) * 60.0 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_azure_lines() {
        let t = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                 2023-11-16 18:17:03.9799600,4808,10\n\
                 2023-11-16 18:17:04.0319600,3180,8\n";
        let r = parse_azure_str(t).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].time_s, 0.0);
        assert!((r[1].time_s - 0.052).abs() < 1e-6);
        assert_eq!(r[1].input_tokens, 3180);
        assert_eq!(r[1].output_tokens, 8);
    }

    #[test]
    fn malformed_line_names_line_and_field() {
        let t = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                 2023-11-16 18:17:03.9799600,4808,10\n\
                 2023-11-16 18:17:04.0319600,31x0,8\n";
        let e = parse_azure_str(t).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("ContextTokens"), "{e}");
        let t = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-13-16 18:17:03,1,1\n";
        let e = parse_azure_str(t).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("TIMESTAMP"), "{e}");
        let t = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1\n";
        let e = parse_azure_str(t).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("GeneratedTokens"), "{e}");
        let e = parse_azure_str("a,b\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
    }

    #[test]
    fn epoch_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}

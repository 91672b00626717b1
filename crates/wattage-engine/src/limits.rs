//! The plausible range of every numeric parameter of every job, and the most work one run
//! may do, in two tables that the checks read and `docs/limits.md` is generated from (a test
//! keeps the document equal to them). The site scenario's fields have their own table,
//! [`wattage_site::limits::RANGES`].
//!
//! **Ranges.** [`check`] rejects a NaN, an infinity or a value outside its row with an error
//! naming the parameter (never the value), so a finite but absurd number is an error when
//! the spec is read instead of an overflow, a NaN or a hang later.
//!
//! **Work.** Before a job runs, it computes its size (steps, requests, samples, LP columns)
//! in saturating `u64` arithmetic and calls [`admit`]: above a row's `warn` it warns through
//! [`Progress::warn`]; above its `limit` it refuses with the size, the parameters that set it
//! and `max_work`, the one parameter (`--max-work`, `max_work=`) that raises every limit to
//! the number the user gives.

use crate::error::{Error, Result};
use crate::io::Progress;

/// The range of one parameter of one job: `min` (exclusive when `open_min`) to `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamRange {
    /// The job (`estimate`, `train`, `serving`, `site`, `optimize`).
    pub job: &'static str,
    /// The parameter (the spec's field, the Python keyword; the CLI's flag in kebab case).
    pub param: &'static str,
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

const fn p(
    job: &'static str,
    param: &'static str,
    unit: &'static str,
    min: f64,
    open_min: bool,
    max: f64,
    why: &'static str,
) -> ParamRange {
    ParamRange {
        job,
        param,
        unit,
        min,
        open_min,
        max,
        why,
    }
}

const TP: &str = "tensor parallelism spans at most a few hundred accelerators";
const DP: &str = "data-parallel attention runs at most a few hundred ranks in one replica";
const TOKENS: &str = "ten million tokens, beyond every context window";
const CV: &str = "a coefficient of variation beyond 10 is not a length distribution";
const PUE: &str = "the worst data centers are near 3";
const CARBON: &str = "lignite, the dirtiest fuel, emits about 1,200 g/kWh";

/// Every numeric parameter of every job with its range.
pub const PARAMS: &[ParamRange] = &[
    p(
        "estimate",
        "tensor_parallel_size",
        "GPUs",
        1.0,
        false,
        1024.0,
        TP,
    ),
    p(
        "estimate",
        "data_parallel_size",
        "ranks",
        1.0,
        false,
        1024.0,
        DP,
    ),
    p(
        "estimate",
        "batch",
        "sequences",
        1.0,
        false,
        65_536.0,
        "schedulers run at most thousands of sequences at once",
    ),
    p(
        "estimate",
        "input_tokens",
        "tokens",
        0.0,
        false,
        1e7,
        TOKENS,
    ),
    p(
        "estimate",
        "output_tokens",
        "tokens",
        1.0,
        false,
        1e7,
        TOKENS,
    ),
    p(
        "estimate",
        "samples",
        "samples",
        0.0,
        false,
        1e12,
        "see the work limit on Monte Carlo samples",
    ),
    p(
        "estimate",
        "requests_per_day",
        "requests/day",
        0.0,
        true,
        1e13,
        "a thousand times every LLM request made today",
    ),
    p(
        "train",
        "tokens",
        "tokens",
        0.0,
        true,
        1e16,
        "a thousand times the largest training runs",
    ),
    p(
        "train",
        "mfu",
        "",
        1e-3,
        false,
        1.0,
        "a fraction of peak; no training run is below 0.1% (a smaller value overflows the duration)",
    ),
    p(
        "train",
        "gpu_hours",
        "GPU-h",
        0.0,
        true,
        1e11,
        "a thousand times the largest training runs",
    ),
    p("train", "duration", "days", 0.0, true, 3653.0, "ten years"),
    p(
        "train",
        "cluster_gpus",
        "GPUs",
        1.0,
        false,
        1e8,
        "100 million accelerators, over 100 times the largest clusters",
    ),
    p(
        "train",
        "power_w",
        "W",
        0.0,
        true,
        10_000.0,
        "accelerators draw up to about 1,500 W",
    ),
    p(
        "train",
        "server_factor",
        "",
        1.0,
        false,
        10.0,
        "a server draws a few times its accelerators' power at most",
    ),
    p("train", "pue", "", 1.0, false, 5.0, PUE),
    p(
        "train",
        "carbon_g_per_kwh",
        "g/kWh",
        0.0,
        false,
        2000.0,
        CARBON,
    ),
    p(
        "serving",
        "tensor_parallel_size",
        "GPUs",
        1.0,
        false,
        1024.0,
        TP,
    ),
    p(
        "serving",
        "data_parallel_size",
        "ranks",
        1.0,
        false,
        1024.0,
        DP,
    ),
    p(
        "serving",
        "replicas",
        "replicas",
        1.0,
        false,
        100_000.0,
        "a hundred thousand replicas, beyond any fleet",
    ),
    p(
        "serving",
        "rate",
        "requests/s",
        0.0,
        true,
        1e6,
        "a million requests a second, beyond any single service",
    ),
    p(
        "serving",
        "duration",
        "s",
        0.0,
        true,
        31_622_400.0,
        "one year of arrivals",
    ),
    p(
        "serving",
        "requests",
        "requests",
        1.0,
        false,
        1e12,
        "see the work limit on requests",
    ),
    p(
        "serving",
        "clients",
        "clients",
        1.0,
        false,
        1e6,
        "a million concurrent clients",
    ),
    p("serving", "input_tokens", "tokens", 1.0, false, 1e7, TOKENS),
    p(
        "serving",
        "output_tokens",
        "tokens",
        1.0,
        false,
        1e7,
        TOKENS,
    ),
    p("serving", "input_cv", "", 0.0, false, 10.0, CV),
    p("serving", "output_cv", "", 0.0, false, 10.0, CV),
    p(
        "serving",
        "arrival_cv",
        "",
        0.0,
        true,
        100.0,
        "gaps with a coefficient of variation beyond 100 are one burst",
    ),
    p(
        "serving",
        "diurnal",
        "",
        1.0,
        false,
        1000.0,
        "a peak-to-trough ratio (1: flat)",
    ),
    p(
        "serving",
        "trace_scale",
        "",
        0.0,
        true,
        1e6,
        "a factor on the trace's gaps",
    ),
    p(
        "serving",
        "max_num_seqs",
        "sequences",
        1.0,
        false,
        65_536.0,
        "schedulers run at most thousands of sequences at once",
    ),
    p(
        "serving",
        "max_batched_tokens",
        "tokens",
        1.0,
        false,
        1e7,
        TOKENS,
    ),
    p("serving", "pue", "", 1.0, false, 5.0, PUE),
    p(
        "serving",
        "power_resolution",
        "s",
        0.001,
        false,
        86_400.0,
        "a millisecond to a day",
    ),
    p("serving", "slo_ttft_ms", "ms", 0.0, true, 3.6e6, "one hour"),
    p(
        "serving",
        "slo_itl_ms",
        "ms",
        0.0,
        true,
        60_000.0,
        "one minute",
    ),
    p(
        "serving",
        "max_replicas",
        "replicas",
        1.0,
        false,
        100_000.0,
        "a hundred thousand replicas, beyond any fleet",
    ),
    p("site", "duration", "h", 0.0, true, 87_840.0, "ten years"),
    p(
        "site",
        "step",
        "s",
        0.001,
        false,
        3600.0,
        "a millisecond to an hour, as `simulation.step_s`",
    ),
    p(
        "site",
        "resolution",
        "s",
        0.001,
        false,
        31_622_400.0,
        "a millisecond to a year",
    ),
    p(
        "site",
        "seeds",
        "seeds",
        1.0,
        false,
        100_000.0,
        "a Monte Carlo converges in hundreds to thousands of seeds",
    ),
    p(
        "optimize",
        "step",
        "s",
        1.0,
        false,
        3600.0,
        "the linear program's step: a second to an hour",
    ),
    p(
        "optimize",
        "duration",
        "h",
        0.0,
        true,
        87_840.0,
        "ten years",
    ),
    p(
        "optimize",
        "check_step",
        "s",
        0.001,
        false,
        3600.0,
        "a millisecond to an hour, as `simulation.step_s`",
    ),
    p(
        "optimize",
        "mip_gap",
        "",
        0.0,
        false,
        0.999,
        "a relative gap below 1",
    ),
    p(
        "compare",
        "rel_tol",
        "",
        0.0,
        false,
        1.0,
        "a fraction of the largest value: 0 shows every change, 1 none",
    ),
    p(
        "compare",
        "abs_tol",
        "",
        0.0,
        false,
        1e12,
        "in each figure's own unit; 1e12 hides every figure but the largest costs",
    ),
];

/// The row of `param` of `job`.
pub fn range_of(job: &str, param: &str) -> Option<&'static ParamRange> {
    PARAMS.iter().find(|r| r.job == job && r.param == param)
}

/// A number as the tables write it: plain up to a million, else with an exponent.
pub use wattage_site::limits::num;

impl ParamRange {
    /// The same bounds as a site-scenario range row (one implementation of the arithmetic
    /// and the wording for both tables).
    fn bounds(&self) -> wattage_site::limits::Range {
        wattage_site::limits::Range {
            field: self.param,
            unit: self.unit,
            min: self.min,
            open_min: self.open_min,
            max: self.max,
            why: self.why,
        }
    }

    /// The range as text (`1 to 1024 GPUs`, `more than 0 and at most 1e6 requests/s`).
    pub fn describe(&self) -> String {
        self.bounds().describe()
    }

    /// Whether `v` is in the range (NaN is not).
    pub fn contains(&self, v: f64) -> bool {
        self.bounds().contains(v)
    }
}

/// Checks `v` against `param`'s row of `job`: a NaN or infinity, or a value out of range, is
/// an error at the parameter, giving the range.
pub fn check(job: &str, param: &str, v: f64) -> Result<f64> {
    if !v.is_finite() {
        return Err(Error::param(param, "must be a finite number"));
    }
    match range_of(job, param) {
        Some(r) if !r.contains(v) => Err(Error::param(
            param,
            format!("must be {} ({})", r.describe(), r.why),
        )),
        _ => Ok(v),
    }
}

/// [`check`] of each parameter given (`None` is not given).
pub fn check_all(job: &str, params: &[(&str, Option<f64>)]) -> Result<()> {
    for (name, v) in params {
        if let Some(v) = v {
            check(job, name, *v)?;
        }
    }
    Ok(())
}

/// What a work limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Monte Carlo samples of an estimate.
    Samples,
    /// Requests a serving simulation is expected to simulate (each capacity-planning probe
    /// counts).
    Requests,
    /// Points of a serving simulation's power series.
    PowerBins,
    /// Steps of site simulations (horizon / step, times seeds or variants).
    SiteSteps,
    /// Columns of an optimizer's linear program.
    LpColumns,
}

/// The work limit of one kind: warn above `warn`, refuse above `limit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkLimit {
    /// The kind.
    pub kind: Work,
    /// Its name in messages and docs.
    pub name: &'static str,
    /// Warn above this size.
    pub warn: u64,
    /// Refuse above this size (unless `max_work` raises it).
    pub limit: u64,
    /// What the limit protects, in time and memory.
    pub why: &'static str,
}

/// Every work limit.
pub const WORK: &[WorkLimit] = &[
    WorkLimit {
        kind: Work::Samples,
        name: "Monte Carlo samples",
        warn: 1_000_000,
        limit: 10_000_000,
        why: "each sample keeps three numbers (24 bytes) and costs a request estimate: 1e7 take about 250 MB and a minute",
    },
    WorkLimit {
        kind: Work::Requests,
        name: "simulated requests",
        warn: 10_000_000,
        limit: 100_000_000,
        why: "the simulator runs about 1e5 requests a second per core: 1e8 take about 20 minutes",
    },
    WorkLimit {
        kind: Work::PowerBins,
        name: "power series points",
        warn: 10_000_000,
        limit: 100_000_000,
        why: "each point holds three scopes (24 bytes): 1e8 take 2.4 GB",
    },
    WorkLimit {
        kind: Work::SiteSteps,
        name: "site simulation steps",
        warn: 1_000_000_000,
        limit: 10_000_000_000,
        why: "the site simulator runs about 1e7 steps a second per core: 1e10 take about 20 minutes",
    },
    WorkLimit {
        kind: Work::LpColumns,
        name: "linear program columns",
        warn: 1_000_000,
        limit: 5_000_000,
        why: "a year of hourly steps is about 1e5 columns; 5e6 take several GB and hours to solve",
    },
];

/// The row of `kind`.
pub fn work_limit(kind: Work) -> &'static WorkLimit {
    WORK.iter().find(|w| w.kind == kind).unwrap_or(&WORK[0])
}

/// A float size as a count, saturating (`inf` -> `u64::MAX`; sizes are never NaN here
/// because every input is checked finite first, and a NaN would read as 0).
pub fn count(x: f64) -> u64 {
    if x.is_nan() {
        u64::MAX
    } else {
        x.ceil() as u64
    }
}

/// Admits a run of `size` units of `kind`: above the limit (or `max_work`, when given) an
/// error giving the size, `what` (how it is counted, naming the parameters to change, e.g.
/// "`{rate}` x `{duration}`") and `max_work`; above the warning threshold a warning.
pub fn admit(
    kind: Work,
    size: u64,
    what: &str,
    max_work: Option<u64>,
    progress: &dyn Progress,
) -> Result<()> {
    let w = work_limit(kind);
    let limit = max_work.unwrap_or(w.limit);
    if size > limit {
        let raised = if max_work.is_some() {
            "the limit given by `{max_work}`"
        } else {
            "the limit"
        };
        return Err(Error::input(format!(
            "this run would need {} {} ({what}), over {raised} of {}",
            num(size as f64),
            w.name,
            num(limit as f64)
        ))
        .hint(format!(
            "make it smaller, or, if you mean it, raise the limit with `{{max_work}}` = {} ({})",
            size, w.why
        )));
    }
    if max_work.is_none() && size > w.warn {
        progress.warn(&format!(
            "this run needs {} {} ({what}); it may take long ({})",
            num(size as f64),
            w.name,
            w.why
        ));
    }
    Ok(())
}

/// The tables as Markdown: `docs/limits.md` is this text (a test keeps them equal).
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    o.push_str("# Limits and ranges\n\n");
    o.push_str("Generated from the tables the checks read (`crates/wattage-engine/src/limits.rs` and\n`crates/wattage-site/src/limits.rs`); `cargo test -p wattage-engine --release limits_doc`\nfails when this file differs from them, and `WATTAGE_WRITE_LIMITS_DOC=1` with the same\ncommand rewrites it.\n\n");
    o.push_str("Every number is checked when it is read: NaN and infinity are errors everywhere, and a\nvalue outside its range is an error naming the flag, keyword or field (with the file, line\nand column), exit status 2.\n\n");
    o.push_str("## Work limits\n\nBefore a run, its size is computed; above the warning threshold it warns on stderr, above\nthe limit it stops with the size and what sets it. `--max-work N` (Python `max_work=N`)\nreplaces every limit of the run with N, for a user who means it.\n\n");
    o.push_str("| what | warn above | limit | why |\n|---|---:|---:|---|\n");
    for w in WORK {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            w.name,
            num(w.warn as f64),
            num(w.limit as f64),
            w.why
        );
    }
    o.push_str("\n## Parameters (flags and Python keywords)\n\nThe flag is the parameter in kebab case (`input_tokens`: `--input-tokens`).\n\n");
    o.push_str("| job | parameter | range | why |\n|---|---|---|---|\n");
    for r in PARAMS {
        let _ = writeln!(
            o,
            "| {} | `{}` | {} | {} |",
            r.job,
            r.param,
            r.describe(),
            r.why
        );
    }
    o.push_str("\n## Site scenario fields\n\n`[]` stands for any index. A CSV profile's values are bounded by its field's row.\n\n");
    o.push_str("| field | range | why |\n|---|---|---|\n");
    for r in wattage_site::limits::RANGES {
        let _ = writeln!(o, "| `{}` | {} | {} |", r.field, r.describe(), r.why);
    }
    o.push_str("\n## Assumptions (`--set NAME=VALUE`, Python `set=`)\n\nA range (`LOW..HIGH`, `LOW:MODE:HIGH`, `MEAN~SD`) is checked at its ends; a normal range is\ntruncated at 4 standard deviations.\n\n");
    o.push_str("| assumption | range | why |\n|---|---|---|\n");
    for r in wattage_request::assumptions::RANGES {
        let _ = writeln!(
            o,
            "| `{}` | {} to {} | {} |",
            r.name,
            num(r.min),
            num(r.max),
            r.why
        );
    }
    o.push_str("\n## Catalog fields (user catalog files, `--catalog`)\n\nEvery number must be finite and zero or more (counts at least 1); these are the largest\nplausible values.\n\n");
    o.push_str("| field | at most | why |\n|---|---|---|\n");
    for (field, max, why) in wattage_catalog::MAX_VALUES {
        let _ = writeln!(o, "| `{field}` | {} | {why} |", num(*max));
    }
    o
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::io::Silent;

    #[test]
    fn params_unique_and_ordered() {
        for (i, a) in PARAMS.iter().enumerate() {
            assert!(a.min < a.max, "{}.{}", a.job, a.param);
            assert!(
                PARAMS[i + 1..]
                    .iter()
                    .all(|b| (b.job, b.param) != (a.job, a.param)),
                "{}.{} twice",
                a.job,
                a.param
            );
        }
        for w in WORK {
            assert!(w.warn < w.limit, "{}", w.name);
        }
    }

    #[test]
    fn ranges_name_the_parameter_not_the_value() {
        let e = check("train", "carbon_g_per_kwh", -5.0).unwrap_err();
        let t = e.render(crate::ParamStyle::Flag);
        assert!(
            t.starts_with("invalid `--carbon-g-per-kwh`: must be 0 to 2000"),
            "{t}"
        );
        assert!(!t.contains("-5"), "{t}");
        let e = check("serving", "arrival_cv", f64::NAN).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
        assert!(check("serving", "rate", 2.0).is_ok());
        assert!(check("serving", "rate", 0.0).is_err());
    }

    #[test]
    fn work_is_refused_above_the_limit_unless_raised() {
        let e = admit(
            Work::Requests,
            6_000_000_000,
            "`{rate}` x `{duration}`",
            None,
            &Silent,
        )
        .unwrap_err();
        let t = e.render(crate::ParamStyle::Flag);
        assert!(t.contains("6e9 simulated requests"), "{t}");
        assert!(t.contains("`--rate` x `--duration`"), "{t}");
        assert!(e.hints_in(crate::ParamStyle::Flag)[0].contains("`--max-work` = 6000000000"));
        assert!(
            admit(
                Work::Requests,
                6_000_000_000,
                "",
                Some(6_000_000_000),
                &Silent
            )
            .is_ok()
        );
        assert!(admit(Work::Requests, 10, "", Some(5), &Silent).is_err());
        assert_eq!(count(f64::INFINITY), u64::MAX);
        assert_eq!(count(2.5), 3);
    }

    #[test]
    fn limits_doc_is_generated_from_the_tables() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/limits.md");
        let want = markdown();
        if std::env::var_os("WATTAGE_WRITE_LIMITS_DOC").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/limits.md differs from the tables; rerun with WATTAGE_WRITE_LIMITS_DOC=1"
        );
    }
}

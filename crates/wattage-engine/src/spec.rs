//! What every job shares: the catalog with the user's files, the one rule that fits a model
//! on hardware ([`ReplicaSpec::resolve`]), and assumption overrides in the `--set` syntax
//! ([`Overrides`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wattage_catalog::{Catalog, Precision};
use wattage_request::uncertainty::{Dist, Uncertainty};
use wattage_request::{Assumptions, Deployment, EstimateError};
use wattage_units::Time;

use crate::error::{Error, Result, request_error};
use crate::io::{Sources, read};

/// The built-in catalog merged with the user's catalog files (same `id` replaces, a new `id`
/// adds).
pub fn catalog(src: &dyn Sources, files: &[PathBuf]) -> Result<Catalog> {
    let mut c = Catalog::try_builtin()?;
    for path in files {
        let text = read(src, path)?;
        c.merge_toml(&text, &path.display().to_string())?;
    }
    Ok(c)
}

/// One serving replica as the user names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSpec {
    /// Model: catalog id, alias or Hugging Face repository.
    pub model: String,
    /// Accelerator: catalog id or alias.
    pub hardware: String,
    /// Accelerators per replica (tensor parallel); `None`: the fewest that hold the weights
    /// with room for a KV cache.
    pub gpus: Option<u32>,
    /// Weight precision (`bf16`, `fp8`, ...); `None`: the model's.
    pub precision: Option<String>,
}

impl ReplicaSpec {
    /// A replica of `model` on `hardware`, GPUs and precision by default.
    pub fn new(model: &str, hardware: &str) -> Self {
        Self {
            model: model.to_string(),
            hardware: hardware.to_string(),
            gpus: None,
            precision: None,
        }
    }

    /// The precision, parsed.
    pub fn precision(&self) -> Result<Option<Precision>> {
        self.precision
            .as_deref()
            .map(|p| {
                p.parse::<Precision>()
                    .map_err(|e| Error::param("precision", e))
            })
            .transpose()
    }

    /// The deployment: the model on the hardware on the GPUs asked for, or the fewest that
    /// hold the weights with room for a KV cache. Errors name the parameter at fault.
    pub fn resolve(&self, cat: &Catalog) -> Result<Deployment> {
        let model = cat
            .model(&self.model)
            .map_err(|e| Error::from(e).at_param("model"))?;
        let hw = cat
            .hardware(&self.hardware)
            .map_err(|e| Error::from(e).at_param("hardware"))?;
        let precision = self.precision()?;
        let gpus = match self.gpus {
            Some(0) => return Err(Error::param("gpus", "must be at least 1")),
            Some(g) => g,
            None => match Deployment::new(model, hw, 1, precision) {
                Ok(_) => 1,
                Err(EstimateError::DoesNotFit { min_gpus, .. }) => min_gpus,
                Err(e) => return Err(request_error(e)),
            },
        };
        Deployment::new(model, hw, gpus, precision).map_err(request_error)
    }
}

/// The unit a bare number (no unit) of a duration parameter was read in before durations took
/// a unit everywhere: seconds for a step or a serving duration, hours for a site horizon,
/// days for a training run. Bare numbers still work for one release, with a deprecation
/// warning naming the new spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareUnit {
    /// Seconds (`s`).
    Seconds,
    /// Hours (`h`).
    Hours,
    /// Days (`d`).
    Days,
}

impl BareUnit {
    /// Seconds in one unit.
    pub fn seconds(self) -> f64 {
        match self {
            BareUnit::Seconds => 1.0,
            BareUnit::Hours => 3600.0,
            BareUnit::Days => 86_400.0,
        }
    }

    /// The unit's suffix in a duration (`s`, `h`, `d`).
    pub fn suffix(self) -> &'static str {
        match self {
            BareUnit::Seconds => "s",
            BareUnit::Hours => "h",
            BareUnit::Days => "d",
        }
    }

    /// The unit's name (`seconds`, `hours`, `days`).
    pub fn name(self) -> &'static str {
        match self {
            BareUnit::Seconds => "seconds",
            BareUnit::Hours => "hours",
            BareUnit::Days => "days",
        }
    }
}

/// A duration or step as users give it: text with a unit, `<number><unit>` with one of `ms`,
/// `s`, `m`, `h`, `d`, `y` (365 days), e.g. `90s`, `15m`, `48h`, `7d`, `1y`; or (deprecated) a
/// bare number in the parameter's old unit ([`BareUnit`]). Parsed by the one parser,
/// [`Time::parse_duration`]. Deserializes from a string or a number (Python keywords, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DurationArg {
    /// `90s`, `48h`, ... (a bare number in text is still bare).
    Text(String),
    /// A bare number (deprecated).
    Number(f64),
}

impl From<&str> for DurationArg {
    fn from(s: &str) -> Self {
        DurationArg::Text(s.to_string())
    }
}

impl From<String> for DurationArg {
    fn from(s: String) -> Self {
        DurationArg::Text(s)
    }
}

impl From<Time> for DurationArg {
    /// A time as seconds with their unit (`3600s`): never bare.
    fn from(t: Time) -> Self {
        DurationArg::Text(format!("{}s", t.s()))
    }
}

impl DurationArg {
    /// The number, when it has no unit (a bare number, or text that is only a number).
    pub fn bare(&self) -> Option<f64> {
        match self {
            DurationArg::Number(v) => Some(*v),
            DurationArg::Text(t) => t.trim().parse::<f64>().ok(),
        }
    }

    /// The duration; a bare number is read in `bare` (the old unit). Errors name `param`.
    pub fn parse(&self, param: &str, bare: BareUnit) -> Result<Time> {
        let text = match self {
            DurationArg::Number(v) => v.to_string(),
            DurationArg::Text(t) => t.clone(),
        };
        Time::parse_duration(&text, bare.seconds()).map_err(|e| Error::param(param, e))
    }

    /// The deprecation warning of a bare number (`None` when it has a unit): it names the
    /// parameter (`{param}`, rendered as a flag or keyword) and the new spelling.
    pub fn deprecation(&self, param: &str, bare: BareUnit) -> Option<String> {
        let v = self.bare()?;
        Some(format!(
            "`{{{param}}}` `{v}` has no unit: read in {}, as before; write `{v}{}` (a bare \
             number is deprecated and will be an error in the next release)",
            bare.name(),
            bare.suffix()
        ))
    }
}

/// A parameter given under its old name (deprecated): the warning naming the new one.
pub fn renamed(old: &str, new: &str) -> String {
    format!("`{{{old}}}` is deprecated and will be removed in the next release: use `{{{new}}}`")
}

/// Assumption overrides: `NAME=VALUE`, or a range `NAME=LOW..HIGH`, `NAME=LOW:MODE:HIGH`,
/// `NAME=MEAN~SD`. A value sets the assumption; a range sets it to the range's centre and
/// replaces its distribution in the Monte Carlo; a fixed value pins it there too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    entries: Vec<(String, Dist)>,
    /// Each entry as the user wrote it (`pue=1.5`), for the sources shown by `--explain`.
    written: Vec<String>,
}

impl Overrides {
    /// Parses overrides; `set` is the name of the parameter in errors.
    pub fn parse(items: &[String]) -> Result<Self> {
        let mut entries = Vec::with_capacity(items.len());
        let mut written = Vec::with_capacity(items.len());
        for s in items {
            let (name, value) = s
                .split_once('=')
                .ok_or_else(|| Error::param("set", format!("`{s}`: expected NAME=VALUE")))?;
            let name = name.trim();
            if Assumptions::setter(name).is_none() {
                return Err(
                    Error::param("set", format!("`{s}`: unknown assumption `{name}`")).hint(
                        format!(
                            "assumptions: {}",
                            wattage_request::assumptions::NAMES.join(", ")
                        ),
                    ),
                );
            }
            let d = Dist::parse(value).map_err(|e| Error::param("set", format!("`{s}`: {e}")))?;
            entries.push((name.to_string(), d));
            written.push(format!("{name}={}", value.trim()));
        }
        Ok(Self { entries, written })
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets each assumption to its value (a range's centre) and checks them all.
    pub fn apply(&self, a: &mut Assumptions) -> Result<()> {
        for (name, d) in &self.entries {
            a.set(name, d.central()).map_err(request_error)?;
        }
        a.validate().map_err(|e| match e {
            EstimateError::Invalid { field, reason } => {
                Error::param("set", format!("`{field}=...`: {reason}"))
            }
            e => request_error(e),
        })
    }

    /// The source to show for each overridden assumption (the last entry of a name wins, as
    /// in [`Overrides::apply`]): the user's own words, and for a range how it is used.
    pub fn sources(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for ((name, d), text) in self.entries.iter().zip(&self.written) {
            let src = match d {
                Dist::Fixed { .. } => format!("set by the user: {text}"),
                _ => format!(
                    "set by the user: {text}, a range; the point estimate uses its centre, {}, and the Monte Carlo draws over it",
                    wattage_report::format::significant(d.central(), 4)
                ),
            };
            out.retain(|(n, _)| n != name);
            out.push((name.clone(), src));
        }
        out
    }

    /// Puts each override's distribution into the Monte Carlo: a range replaces the default
    /// distribution, a fixed value pins it.
    pub fn apply_uncertainty(&self, u: &mut Uncertainty) {
        for (name, d) in &self.entries {
            u.set(name, *d);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_fewest_gpus_that_hold_the_weights() {
        let cat = Catalog::builtin();
        let d = ReplicaSpec::new("llama-3.1-70b", "h100-sxm")
            .resolve(&cat)
            .unwrap();
        // 70.6 B parameters in bf16 are 141 GB: two 80 GB GPUs (72 GB usable each) leave no
        // room for a KV cache, and the probe rounds to the next tensor-parallel degree.
        assert_eq!(d.gpus, 4);
        let one = ReplicaSpec {
            gpus: Some(1),
            ..ReplicaSpec::new("llama-3.1-70b", "h100-sxm")
        };
        let e = one.resolve(&cat).unwrap_err();
        assert_eq!(
            e.location,
            crate::error::Location::Param {
                name: "gpus".into()
            }
        );
        let e = ReplicaSpec::new("lama-3.1-70b", "h100-sxm")
            .resolve(&cat)
            .unwrap_err();
        assert!(e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn overrides_parse_and_name_the_parameter() {
        assert!(Overrides::parse(&["pue=1.3".into(), "pue=1.1..1.4".into()]).is_ok());
        for bad in ["pue", "nope=1", "pue=abc"] {
            let e = Overrides::parse(&[bad.into()]).unwrap_err();
            assert!(e.to_string().starts_with("invalid `set`"), "{e}");
        }
        let cat = Catalog::builtin();
        let mut a = Assumptions::for_region(cat.region("us-average").unwrap());
        let e = Overrides::parse(&["pue=0.3".into()])
            .unwrap()
            .apply(&mut a)
            .unwrap_err();
        assert!(e.to_string().contains("pue"), "{e}");
    }
}

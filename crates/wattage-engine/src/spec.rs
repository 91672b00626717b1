//! What every job shares: the catalog with the user's files, the one rule that fits a model
//! on hardware ([`ReplicaSpec::resolve`]), and assumption overrides in the `--set` syntax
//! ([`Overrides`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wattage_catalog::{Catalog, Precision};
use wattage_request::deploy::Parallelism;
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

/// One serving replica as the user names it, laid out as vLLM lays it out: GPUs per replica
/// = `tensor_parallel_size x data_parallel_size`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaSpec {
    /// Model: catalog id, alias or Hugging Face repository, or a Hugging Face `config.json`
    /// (added to the catalog by [`model_file`] under the name as written).
    pub model: String,
    /// Accelerator: catalog id or alias.
    pub hardware: String,
    /// GPUs each attention and dense layer is sharded over (vLLM `--tensor-parallel-size`);
    /// `None`: the fewest that hold the weights with room for a KV cache.
    pub tensor_parallel_size: Option<u32>,
    /// Attention replicas inside the replica, each with its own KV cache and share of the
    /// batch (vLLM `--data-parallel-size`); `None`: 1.
    pub data_parallel_size: Option<u32>,
    /// Experts spread over all `tensor x data` GPUs (vLLM `--enable-expert-parallel`).
    #[serde(default)]
    pub enable_expert_parallel: bool,
    /// Weight precision (`bf16`, `fp8`, ...); `None`: `fp8` for a Hugging Face repository id
    /// ending in `-FP8`, else the model's.
    pub precision: Option<String>,
    /// The KV cache's type, as vLLM's `--kv-cache-dtype` names it: `auto`, `bf16`, `fp16`,
    /// `fp8` (or `bfloat16`, `float16`, `fp8_e4m3`, `fp8_e5m2`); `None` or `auto`: wattage's
    /// rule, fp8 when the weights are 8-bit or narrower, else bf16 (vLLM's own `auto` keeps
    /// the model's 16-bit type whatever the weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<String>,
}

/// The KV-cache types `kv_cache_dtype` accepts, as vLLM spells them.
pub const KV_CACHE_DTYPES: &str =
    "auto, bf16, fp16, fp8 (or bfloat16, float16, fp8_e4m3, fp8_e5m2)";

/// Parses a `kv_cache_dtype` as vLLM names it: `Ok(None)` for `auto` (wattage's rule), else
/// the cache's precision. An unknown value is an error at `kv_cache_dtype`.
pub fn parse_kv_cache_dtype(s: &str) -> Result<Option<Precision>> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => Ok(None),
        "bf16" | "bfloat16" => Ok(Some(Precision::Bf16)),
        "fp16" | "float16" => Ok(Some(Precision::Fp16)),
        "fp8" | "fp8_e4m3" | "fp8_e5m2" => Ok(Some(Precision::Fp8)),
        _ => Err(Error::param(
            "kv_cache_dtype",
            format!("`{s}`: expected one of {KV_CACHE_DTYPES}"),
        )),
    }
}

/// Where a deployment's KV-cache type comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvCacheSource {
    /// Given (`kv_cache_dtype` other than `auto`).
    Given,
    /// wattage's `auto` rule: fp8 when the weights are 8-bit or narrower, else bf16.
    Auto,
}

impl KvCacheSource {
    /// Why the deployment's KV cache has its type, in words.
    pub fn explain(self, weights: Precision) -> String {
        match self {
            Self::Given => "given (`{kv_cache_dtype}`)".into(),
            Self::Auto => format!(
                "`{{kv_cache_dtype}}` auto: wattage's rule, fp8 when the weights are 8-bit or narrower, else bf16 (weights {weights}); vLLM's own auto keeps 16 bit whatever the weights, give `{{kv_cache_dtype}}` bf16 to model it"
            ),
        }
    }
}

/// Where a deployment's weight precision comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrecisionSource {
    /// Given (`precision`, or a preset).
    Given,
    /// The model was named by a Hugging Face repository id ending in `-FP8`.
    RepositoryId,
    /// The model's own serving precision in the catalog.
    Model,
}

impl PrecisionSource {
    /// Why the deployment has its precision, in words (`model` as the user named it).
    pub fn explain(self, model: &str) -> String {
        match self {
            Self::Given => "given".into(),
            Self::RepositoryId => format!(
                "`{model}` ends in `-FP8`: fp8 weights, as that repository ships them (give `{{precision}}` to override)"
            ),
            Self::Model => "the model's serving precision in the catalog".into(),
        }
    }
}

/// True when `model` names a Hugging Face repository of fp8 weights (`owner/name-FP8`,
/// case-insensitive).
pub fn is_fp8_repository(model: &str) -> bool {
    let m = model.trim().to_ascii_lowercase();
    m.ends_with("-fp8") && !m.ends_with(".json")
}

/// When `model` is not a catalog name but a Hugging Face `config.json` (a name ending in
/// `.json`, or one with a path separator that the catalog does not know), reads it through
/// `src` and adds the model it describes to `cat` under the name as written, so that every
/// job looks it up like a catalog model. `base` is the directory a relative path is read
/// from (a scenario's own; `None`: the working directory). Errors name the file. A name like
/// `owner/name` that is neither in the catalog nor a readable file is left for the catalog's
/// unknown-name error, with its suggestions.
pub fn model_file(
    src: &dyn Sources,
    cat: &mut Catalog,
    model: &str,
    base: Option<&std::path::Path>,
) -> Result<()> {
    let json = model.trim().to_ascii_lowercase().ends_with(".json");
    let separator = model.contains('/') || model.contains(std::path::MAIN_SEPARATOR);
    // A catalog name (an `owner/name` repository id included) is not a file.
    let catalog_name = !json && (!separator || cat.model(model).is_ok());
    if catalog_name {
        return Ok(());
    }
    if cat.models.iter().any(|m| m.id == model) {
        return Ok(());
    }
    let path = match base {
        Some(dir) if std::path::Path::new(model).is_relative() => dir.join(model),
        _ => PathBuf::from(model),
    };
    let text = match read(src, &path) {
        Ok(t) => t,
        // `owner/name`: a repository id the catalog does not know, not a file.
        Err(_) if !json && model.matches('/').count() == 1 && !model.starts_with('.') => {
            return Ok(());
        }
        Err(e) => return Err(e.at_param("model")),
    };
    let mut m = hf_model(&text, &path.display().to_string())?;
    m.id = model.to_string();
    cat.models.push(m);
    Ok(())
}

/// A model from a Hugging Face `config.json`, through the catalog's reader; errors name the
/// file (and the field at fault) at the `model` parameter.
fn hf_model(text: &str, origin: &str) -> Result<wattage_catalog::Model> {
    wattage_catalog::model_from_hf_config(text, origin).map_err(|e| {
        let msg = e.to_string();
        let msg = if msg.contains(origin) {
            msg
        } else {
            format!("`{origin}`: {msg}")
        };
        Error::param("model", msg)
    })
}

impl ReplicaSpec {
    /// A replica of `model` on `hardware`, GPUs and precision by default.
    pub fn new(model: &str, hardware: &str) -> Self {
        Self {
            model: model.to_string(),
            hardware: hardware.to_string(),
            ..Self::default()
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

    /// The KV-cache type asked for (`None`: `auto`, wattage's rule) and where it comes from.
    pub fn kv_cache_dtype(&self) -> Result<(Option<Precision>, KvCacheSource)> {
        let p = match self.kv_cache_dtype.as_deref() {
            Some(s) => parse_kv_cache_dtype(s)?,
            None => None,
        };
        let source = if p.is_some() {
            KvCacheSource::Given
        } else {
            KvCacheSource::Auto
        };
        Ok((p, source))
    }

    /// The precision the deployment takes and why: as given, fp8 for a `-FP8` repository id,
    /// else the model's (`None`).
    pub fn effective_precision(&self) -> Result<(Option<Precision>, PrecisionSource)> {
        Ok(match self.precision()? {
            Some(p) => (Some(p), PrecisionSource::Given),
            None if is_fp8_repository(&self.model) => {
                (Some(Precision::Fp8), PrecisionSource::RepositoryId)
            }
            None => (None, PrecisionSource::Model),
        })
    }

    /// The deployment: the model on the hardware with the layout asked for; without a
    /// tensor-parallel size, the fewest GPUs per data-parallel rank that hold the weights with
    /// room for a KV cache. Errors name the parameter at fault.
    pub fn resolve(&self, cat: &Catalog) -> Result<Deployment> {
        let model = cat
            .model(&self.model)
            .map_err(|e| Error::from(e).at_param("model"))?;
        let hw = cat
            .hardware(&self.hardware)
            .map_err(|e| Error::from(e).at_param("hardware"))?;
        let (precision, _) = self.effective_precision()?;
        let (kv, _) = self.kv_cache_dtype()?;
        let data = match self.data_parallel_size {
            Some(0) => return Err(Error::param("data_parallel_size", "must be at least 1")),
            Some(d) => d,
            None => 1,
        };
        let layout = |tensor: u32| Parallelism {
            tensor,
            data,
            expert: self.enable_expert_parallel,
        };
        let tensor = match self.tensor_parallel_size {
            Some(0) => return Err(Error::param("tensor_parallel_size", "must be at least 1")),
            Some(t) => t,
            // One rank: the request model's own rule (the next power of two over the weights
            // with 5% room).
            None if data == 1 => {
                match Deployment::with_parallelism(model, hw, layout(1), precision) {
                    Ok(_) => 1,
                    Err(EstimateError::DoesNotFit { min_gpus, .. }) => min_gpus,
                    Err(e) => return Err(request_error(e)),
                }
            }
            // Several ranks each hold the shared weights and a share of the experts: the
            // smallest power of two per rank that fits.
            None => {
                let mut t = 1u32;
                loop {
                    match Deployment::with_parallelism(model, hw, layout(t), precision) {
                        Ok(_) => break t,
                        Err(EstimateError::DoesNotFit { .. })
                            if u64::from(t) * 2 * u64::from(data) <= 4096 =>
                        {
                            t *= 2;
                        }
                        Err(e) => return Err(request_error(e)),
                    }
                }
            }
        };
        let d = Deployment::with_parallelism(model, hw, layout(tensor), precision)
            .map_err(request_error)?;
        // The cache's type changes its capacity, not whether the weights fit.
        Ok(match kv {
            Some(p) => d.with_kv_precision(p),
            None => d,
        })
    }
}

/// The tensor-parallel size of a spec that also accepts its old name (`gpus`,
/// `gpus_per_replica`): either, or an error naming both when both are given.
pub fn tensor_parallel_size(
    tensor_parallel_size: Option<u32>,
    old_value: Option<u32>,
    old: &str,
) -> Result<Option<u32>> {
    match (tensor_parallel_size, old_value) {
        (Some(_), Some(_)) => Err(Error::input(format!(
            "`{{{old}}}` is the old name of `{{tensor_parallel_size}}`: give only `{{tensor_parallel_size}}`"
        ))),
        (t, g) => Ok(t.or(g)),
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
            tensor_parallel_size: Some(1),
            ..ReplicaSpec::new("llama-3.1-70b", "h100-sxm")
        };
        let e = one.resolve(&cat).unwrap_err();
        assert_eq!(
            e.location,
            crate::error::Location::Param {
                name: "tensor_parallel_size".into()
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

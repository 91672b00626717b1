//! `wattage._wattage`: the extension module under the `wattage` Python package.
//!
//! A second thin adapter over `wattage-engine`, beside the CLI: each function takes a job's
//! keyword arguments (as a JSON object whose keys are the engine spec's field names) or a
//! scenario source, runs the engine's job with the GIL released, and returns a [`Handle`] on
//! the result. The `wattage` package (`python/wattage/`) gives the keyword signatures, reads a
//! handle's JSON into typed result objects and its tables into DataFrames. Engine errors
//! become `wattage.InputError` / `wattage.WattageError` with parameters named as keywords.

mod args;
mod convert;
mod error;
mod handle;
mod pyser;

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::{Deserialize, Deserializer};
use wattage_engine::run::scenario::{BUILTIN_SITES, DEFAULT};
use wattage_engine::serving::ServingOutcome;
use wattage_engine::sweep::SweepSpec;
use wattage_engine::{
    Catalog, DurationArg, Error, EstimateSpec, FileSystem, OptimizeSpec, ServingSpec, Silent,
    SiteOutcome, SiteSpec, TrainSpec,
};

use args::{Source, kwargs, spec};
use handle::{Handle, Job};

/// Engine calls running right now with the GIL released, and the most seen at once.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct InFlight;

impl InFlight {
    fn enter() -> Self {
        let n = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(n, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` with the GIL released (other Python threads run meanwhile); an engine error
/// becomes the Python exception.
pub(crate) fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    py.detach(|| {
        let _guard = InFlight::enter();
        f()
    })
    .map_err(|e| error::to_py(py, &e))
}

static BUILTIN: OnceLock<Result<Catalog, Error>> = OnceLock::new();

/// The built-in catalog (parsed once per process), or a copy merged with the user's files.
enum Cat {
    Builtin(&'static Catalog),
    Merged(Box<Catalog>),
}

impl Deref for Cat {
    type Target = Catalog;
    fn deref(&self) -> &Catalog {
        match self {
            Cat::Builtin(c) => c,
            Cat::Merged(c) => c,
        }
    }
}

/// The catalog with the model of a Hugging Face `config.json` added when `model` names one
/// (a copy of the built-in catalog only then).
fn catalog_for(files: &[PathBuf], model: Option<&str>) -> Result<Cat, Error> {
    let cat = catalog(files)?;
    let Some(m) = model else { return Ok(cat) };
    let mut probe = Catalog::default();
    wattage_engine::spec::model_file(&FileSystem, &mut probe, m, None)?;
    if probe.models.is_empty() {
        return Ok(cat);
    }
    let mut merged = Box::new((*cat).clone());
    merged.models.extend(probe.models);
    Ok(Cat::Merged(merged))
}

fn catalog(files: &[PathBuf]) -> Result<Cat, Error> {
    if files.is_empty() {
        match BUILTIN.get_or_init(|| Catalog::try_builtin().map_err(Error::from)) {
            Ok(c) => Ok(Cat::Builtin(c)),
            Err(e) => Err(e.clone()),
        }
    } else {
        Ok(Cat::Merged(Box::new(wattage_engine::catalog(
            &FileSystem,
            files,
        )?)))
    }
}

/// Estimates one request (`wattage estimate`); `kw` holds `EstimateSpec`'s fields.
#[pyfunction]
fn estimate(py: Python<'_>, kw: &Bound<'_, PyDict>, catalogs: Vec<PathBuf>) -> PyResult<Handle> {
    let mut map = kwargs(kw).map_err(|e| error::to_py(py, &e))?;
    let compare: Vec<String> = match map.remove("compare") {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v).map_err(|_| {
            error::to_py(
                py,
                &Error::param(
                    "compare",
                    "a list of deployments such as \"h100-sxm,batch=64\"",
                ),
            )
        })?,
    };
    let s: EstimateSpec = spec(map).map_err(|e| error::to_py(py, &e))?;
    deprecated(py, &s.deprecations())?;
    detached(py, || {
        let cat = catalog_for(&catalogs, s.model.as_deref())?;
        let mut r = wattage_engine::estimate::run(&cat, &s)?;
        r.compared = wattage_engine::estimate::compare(&cat, &s, &compare)?;
        for w in &mut r.warnings {
            *w = wattage_engine::ParamStyle::Keyword.rename(w);
        }
        Ok(Handle::new(Job::Estimate(Box::new(r))))
    })
}

/// Emits each deprecation warning (parameters named as keywords) as a Python
/// `DeprecationWarning` at the caller of the `wattage` function.
fn deprecated(py: Python<'_>, warnings: &[String]) -> PyResult<()> {
    let category = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
    for w in warnings {
        let text = wattage_engine::ParamStyle::Keyword
            .rename(w)
            .replace('\0', " ");
        let c = std::ffi::CString::new(text).unwrap_or_default();
        // 1: this call; 2: the `wattage` package's function; 3: its caller.
        PyErr::warn(py, category.as_any(), &c, 3)?;
    }
    Ok(())
}

/// Estimates a training run (`wattage train`); `kw` holds `TrainSpec`'s fields.
#[pyfunction]
fn train(py: Python<'_>, kw: &Bound<'_, PyDict>, catalogs: Vec<PathBuf>) -> PyResult<Handle> {
    let map = kwargs(kw).map_err(|e| error::to_py(py, &e))?;
    let s: TrainSpec = spec(map).map_err(|e| error::to_py(py, &e))?;
    deprecated(py, &s.deprecations())?;
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let r = wattage_engine::train::run(&cat, &s)?;
        Ok(Handle::new(Job::Train(Box::new(r))))
    })
}

/// Simulates a serving fleet or plans its capacity (`wattage simulate serving`); `kw` holds
/// `ServingSpec`'s fields.
#[pyfunction]
fn simulate_serving(
    py: Python<'_>,
    kw: &Bound<'_, PyDict>,
    catalogs: Vec<PathBuf>,
) -> PyResult<Handle> {
    let map = kwargs(kw).map_err(|e| error::to_py(py, &e))?;
    let s: ServingSpec = spec(map).map_err(|e| error::to_py(py, &e))?;
    deprecated(py, &s.deprecations())?;
    detached(py, || {
        let cat = catalog_for(&catalogs, s.model.as_deref())?;
        let job = match wattage_engine::serving::run(&cat, &FileSystem, &s, &Silent)? {
            ServingOutcome::Simulated(r) => Job::Serving(r),
            ServingOutcome::Planned(p) => Job::Capacity(p),
        };
        Ok(Handle::new(job))
    })
}

/// `seeds`: `true` for the scenario's `[reliability] seeds`, or a count.
fn seeds_arg<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    use serde::de::Error as _;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null | serde_json::Value::Bool(false) => Ok(None),
        serde_json::Value::Bool(true) => Ok(Some(None)),
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(|n| Some(Some(n)))
            .ok_or_else(|| D::Error::custom(format!("expected a number of seeds, found {n}"))),
        v => Err(D::Error::custom(format!(
            "expected True (the scenario's seeds) or a number of seeds, found {v}"
        ))),
    }
}

/// `simulate_site`'s keywords: `SiteSpec` with `seeds` as Python gives it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SiteArgs {
    duration: Option<DurationArg>,
    step: Option<DurationArg>,
    seed: Option<u64>,
    #[serde(deserialize_with = "seeds_arg")]
    seeds: Option<Option<u32>>,
    resolution: Option<DurationArg>,
    start: Option<String>,
    max_work: Option<u64>,
}

/// Simulates a site scenario step by step, or its reliability Monte Carlo over seeds
/// (`wattage simulate site`); the series are kept.
#[pyfunction]
fn simulate_site(py: Python<'_>, source: Source, kw: &Bound<'_, PyDict>) -> PyResult<Handle> {
    let map = kwargs(kw).map_err(|e| error::to_py(py, &e))?;
    let a: SiteArgs = spec(map).map_err(|e| error::to_py(py, &e))?;
    let s = SiteSpec {
        duration: a.duration,
        step: a.step,
        seed: a.seed,
        seeds: a.seeds,
        resolution: a.resolution,
        start: a.start,
        keep_series: true,
        max_work: a.max_work,
    };
    deprecated(py, &s.deprecations())?;
    detached(py, || {
        let name = source.name();
        let sc = wattage_engine::site::load(&FileSystem, &source.input())?;
        let job = match wattage_engine::site::run(&sc, &name, &s, &Silent)? {
            SiteOutcome::Simulated(r) => {
                let start = wattage_engine::site::start(&sc, &s)?;
                Job::Site(r, start)
            }
            SiteOutcome::Reliability(r) => Job::Reliability(r),
        };
        Ok(Handle::new(job))
    })
}

/// The cheapest design and dispatch of a site scenario by linear programming, checked by
/// the rule-based simulator (`wattage optimize`); `kw` holds `OptimizeSpec`'s fields.
#[pyfunction]
fn optimize(py: Python<'_>, source: Source, kw: &Bound<'_, PyDict>) -> PyResult<Handle> {
    let map = kwargs(kw).map_err(|e| error::to_py(py, &e))?;
    let s: OptimizeSpec = spec(map).map_err(|e| error::to_py(py, &e))?;
    deprecated(py, &s.deprecations())?;
    detached(py, || {
        let name = source.name();
        let sc = wattage_engine::site::load(&FileSystem, &source.input())?;
        let r = wattage_engine::optimize::run(&FileSystem, &sc, &name, &s)?;
        Ok(Handle::new(Job::Optimize(Box::new(r))))
    })
}

/// One scenario from token to grid (`wattage run`); `None`: the built-in default; `seed`
/// replaces the scenario's (`--seed`).
#[pyfunction]
#[pyo3(signature = (source, catalogs, seed=None))]
fn run(
    py: Python<'_>,
    source: Option<Source>,
    catalogs: Vec<PathBuf>,
    seed: Option<u64>,
) -> PyResult<Handle> {
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let input = source.map(Source::input);
        let mut loaded = wattage_engine::run::load(&FileSystem, input.as_ref())?;
        if let Some(seed) = seed {
            loaded.reseed(seed);
        }
        wattage_engine::run::deployments(&cat, &loaded)?;
        let r = wattage_engine::run::execute(&cat, loaded, &Silent)?;
        let s = r.summary();
        Ok(Handle::new(Job::Run(Box::new(r), Box::new(s))))
    })
}

/// Several run scenarios, each checked before the first runs (`wattage compare`): the
/// comparison and a handle on each run.
#[pyfunction]
#[pyo3(signature = (sources, catalogs, rel_tol=None, abs_tol=None))]
fn compare(
    py: Python<'_>,
    sources: Vec<Source>,
    catalogs: Vec<PathBuf>,
    rel_tol: Option<f64>,
    abs_tol: Option<f64>,
) -> PyResult<(Handle, Vec<Handle>)> {
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let inputs: Vec<_> = sources.into_iter().map(Source::input).collect();
        let options = wattage_engine::compare::CompareOptions::new(rel_tol, abs_tol)?;
        let c = wattage_engine::compare::run(&cat, &FileSystem, &inputs, &options, &Silent)?;
        let runs = c
            .runs
            .iter()
            .map(|(r, s)| Handle::new(Job::Run(Box::new(r.clone()), Box::new(s.clone()))))
            .collect();
        Ok((Handle::new(Job::Compare(Box::new(c))), runs))
    })
}

/// A sweep (`wattage sweep`): variants `start..end` (all when `None`) on `threads` threads
/// (every core when `None`).
#[pyfunction]
#[pyo3(signature = (source, variants, threads, catalogs))]
fn sweep(
    py: Python<'_>,
    source: Source,
    variants: Option<(usize, usize)>,
    threads: Option<usize>,
    catalogs: Vec<PathBuf>,
) -> PyResult<Handle> {
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let s = SweepSpec::load(&FileSystem, &source.input())?;
        let range = variants.map(|(a, b)| a..b);
        let r = wattage_engine::sweep::run(&cat, &FileSystem, &s, range, threads, &Silent)?;
        Ok(Handle::new(Job::Sweep(Box::new(r))))
    })
}

/// A sweep's variants as JSON (`wattage sweep --list --json`), without running them.
#[pyfunction]
fn sweep_variants(py: Python<'_>, source: Source) -> PyResult<String> {
    detached(py, || {
        let s = SweepSpec::load(&FileSystem, &source.input())?;
        serde_json::to_string(&s.variants)
            .map_err(|e| Error::internal(format!("cannot serialise: {e}")))
    })
}

/// Every entry of catalog `kind` (`hardware`, `models` or `regions`) as a JSON array.
#[pyfunction]
fn catalog_entries(py: Python<'_>, kind: &str, catalogs: Vec<PathBuf>) -> PyResult<String> {
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let json = match kind {
            "hardware" => serde_json::to_string(&cat.hardware),
            "models" => serde_json::to_string(&cat.models),
            "regions" => serde_json::to_string(&cat.regions),
            k => {
                return Err(Error::param(
                    "kind",
                    format!("unknown catalog `{k}`; expected hardware, models or regions"),
                ));
            }
        };
        json.map_err(|e| Error::internal(format!("cannot serialise: {e}")))
    })
}

/// One catalog entry by id, alias, display name or Hugging Face repository, as JSON.
#[pyfunction]
fn catalog_entry(
    py: Python<'_>,
    kind: &str,
    name: &str,
    catalogs: Vec<PathBuf>,
) -> PyResult<String> {
    detached(py, || {
        let cat = catalog(&catalogs)?;
        let json = match kind {
            "hardware" => serde_json::to_string(cat.hardware(name).map_err(Error::from)?),
            "models" => serde_json::to_string(cat.model(name).map_err(Error::from)?),
            "regions" => serde_json::to_string(cat.region(name).map_err(Error::from)?),
            k => {
                return Err(Error::param(
                    "kind",
                    format!("unknown catalog `{k}`; expected hardware, models or regions"),
                ));
            }
        };
        json.map_err(|e| Error::internal(format!("cannot serialise: {e}")))
    })
}

/// A dict as TOML text (nested tables, arrays of tables; `None` values left out); `param`
/// names the argument in errors.
#[pyfunction]
fn to_toml(py: Python<'_>, value: &Bound<'_, PyAny>, param: &str) -> PyResult<String> {
    let mut value = convert::to_value(value, param).map_err(|e| error::to_py(py, &e))?;
    drop_nulls(&mut value);
    if !value.is_object() {
        return Err(error::param(
            py,
            param,
            "must be a dict of TOML tables and keys",
        ));
    }
    toml::to_string(&value)
        .map_err(|e| error::param(py, param, format!("cannot be written as TOML: {e}")))
}

/// Removes the keys whose value is null (TOML has no null: an absent key takes its default).
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The scenarios built into the engine as `(name, TOML)`: `default` (the run scenario of
/// `wattage run`) and the site scenarios a run or sweep names as `builtin:NAME`.
#[pyfunction]
fn builtin_scenarios() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("default", DEFAULT)];
    v.extend(BUILTIN_SITES.iter().copied());
    v
}

/// The most engine calls seen running at once with the GIL released (for the test that
/// shows calls from two threads overlap); `reset` starts counting again.
#[pyfunction]
fn _peak_concurrency(reset: bool) -> usize {
    if reset {
        PEAK.store(IN_FLIGHT.load(Ordering::SeqCst), Ordering::SeqCst);
    }
    PEAK.load(Ordering::SeqCst)
}

/// The extension module.
#[pymodule]
fn _wattage(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Handle>()?;
    m.add_function(wrap_pyfunction!(estimate, m)?)?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_serving, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_site, m)?)?;
    m.add_function(wrap_pyfunction!(optimize, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_variants, m)?)?;
    m.add_function(wrap_pyfunction!(catalog_entries, m)?)?;
    m.add_function(wrap_pyfunction!(catalog_entry, m)?)?;
    m.add_function(wrap_pyfunction!(to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_scenarios, m)?)?;
    m.add_function(wrap_pyfunction!(_peak_concurrency, m)?)?;
    Ok(())
}

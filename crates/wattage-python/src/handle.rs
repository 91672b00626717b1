//! A job's result held on the Rust side. Python reads it as the CLI's JSON (`json`), and its
//! tables as Parquet bytes (`table`) only when asked for, so a large table costs nothing
//! until a DataFrame is wanted.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Serialize;
use wattage_engine::calendar::Start;
use wattage_engine::estimate::EstimateResult;
use wattage_engine::run::{self, RunResult, RunSummary};
use wattage_engine::serving::{CapacityResult, ServingResult};
use wattage_engine::table::{Artifact, encode, encode_records, site_rows};
use wattage_engine::{Comparison, Error, OptimizeResult, ParamStyle, SweepResult, TrainResult};
use wattage_site::{Reliability, SimResult};

use crate::detached;
use crate::pyser::{SerError, to_py};

/// What a job produced.
pub enum Job {
    /// `estimate`.
    Estimate(Box<EstimateResult>),
    /// `train`.
    Train(Box<TrainResult>),
    /// `simulate_serving`, a simulation.
    Serving(Box<ServingResult>),
    /// `simulate_serving` with latency objectives: capacity planning.
    Capacity(Box<CapacityResult>),
    /// `simulate_site`, one simulation, and the calendar start of its series.
    Site(Box<SimResult>, Start),
    /// `simulate_site` with seeds: a reliability Monte Carlo.
    Reliability(Box<Reliability>),
    /// `optimize`.
    Optimize(Box<OptimizeResult>),
    /// `run`.
    Run(Box<RunResult>, Box<RunSummary>),
    /// `compare` (each run also has a handle of its own).
    Compare(Box<Comparison>),
    /// `sweep`.
    Sweep(Box<SweepResult>),
}

/// A job's result (`wattage._wattage.Handle`); the `wattage` package wraps it in a typed
/// result object.
#[pyclass(frozen, module = "wattage._wattage")]
pub struct Handle {
    job: Job,
}

impl Handle {
    /// A handle on a result.
    pub fn new(job: Job) -> Self {
        Self { job }
    }
}

fn parquet<T: Serialize>(rows: impl IntoIterator<Item = T>) -> Result<Vec<u8>, Error> {
    Ok(encode(rows)?.1)
}

const REQUESTS: &str = "requests_";

impl Job {
    fn kind(&self) -> &'static str {
        match self {
            Job::Estimate(_) => "estimate",
            Job::Train(_) => "train",
            Job::Serving(_) => "serving",
            Job::Capacity(_) => "capacity",
            Job::Site(..) => "site",
            Job::Reliability(_) => "reliability",
            Job::Optimize(_) => "optimize",
            Job::Run(..) => "run",
            Job::Compare(..) => "compare",
            Job::Sweep(_) => "sweep",
        }
    }

    /// What the CLI prints with `--json` for the same job, as Python data.
    fn data<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>, SerError> {
        match self {
            Job::Estimate(r) => to_py(py, r),
            Job::Train(r) => to_py(py, r),
            Job::Serving(r) => to_py(py, r),
            Job::Capacity(r) => to_py(py, r),
            Job::Site(r, _) => to_py(py, &r.kpis),
            Job::Reliability(r) => to_py(py, r),
            Job::Optimize(r) => to_py(py, &r.summary),
            Job::Run(_, s) => to_py(py, s),
            Job::Compare(c) => to_py(py, &c.summary),
            Job::Sweep(r) => to_py(py, r),
        }
    }

    fn tables(&self) -> Vec<String> {
        match self {
            Job::Serving(r) => {
                let mut t = vec!["timeseries".to_string()];
                if r.output.records.is_some() {
                    t.push("requests".into());
                }
                t
            }
            Job::Site(..) => vec!["timeseries".into()],
            Job::Optimize(_) => vec!["timeseries".into()],
            Job::Run(r, _) => {
                let mut t: Vec<String> = ["timeseries", "timeseries_day", "fleet_day"]
                    .map(String::from)
                    .into();
                for s in &r.services {
                    if s.fleet.peak.records.is_some() {
                        t.push(format!("{REQUESTS}{}", s.service.name));
                    }
                }
                t
            }
            _ => Vec::new(),
        }
    }

    fn table(&self, name: &str) -> Result<Vec<u8>, Error> {
        let missing = || {
            Error::internal(format!(
                "a {} result has no table `{name}`; it has: {}",
                self.kind(),
                self.tables().join(", ")
            ))
        };
        match (self, name) {
            (Job::Serving(r), "timeseries") => parquet(r.power_rows()),
            (Job::Serving(r), "requests") => match &r.output.records {
                Some(recs) => parquet(recs),
                None => Err(missing()),
            },
            (Job::Site(r, start), "timeseries") => parquet(site_rows(&r.series, start)),
            (Job::Optimize(r), "timeseries") => {
                let (header, rows) = r.timeseries_records();
                Ok(encode_records(&header, &rows)?.1)
            }
            // The same tables as `wattage run` writes (`timeseries.parquet`, ...).
            (Job::Run(r, _), "timeseries") => parquet(run::timeseries(r)?.0),
            (Job::Run(r, _), "timeseries_day") => parquet(run::timeseries(r)?.1),
            (Job::Run(r, _), "fleet_day") => parquet(r.fleet_day()),
            (Job::Run(r, _), n) if n.starts_with(REQUESTS) => {
                let service = &n[REQUESTS.len()..];
                r.services
                    .iter()
                    .find(|s| s.service.name == service)
                    .and_then(|s| s.fleet.peak.records.as_ref())
                    .map_or_else(|| Err(missing()), parquet)
            }
            _ => Err(missing()),
        }
    }

    fn artifacts(&self) -> Result<Vec<Artifact>, Error> {
        match self {
            Job::Run(r, s) => run::artifacts(r, s),
            Job::Compare(c) => c.artifacts(),
            Job::Sweep(r) => r.artifacts(),
            _ => Err(Error::internal(format!(
                "a {} result writes no files",
                self.kind()
            ))),
        }
    }

    fn report_html(&self) -> Result<String, Error> {
        let render =
            |e: wattage_report::ReportError| Error::internal(format!("rendering the report: {e}"));
        match self {
            Job::Run(r, _) => wattage_report::render_html(&run::report::build(r)?).map_err(render),
            Job::Compare(c) => wattage_report::comparison_page(&c.page())
                .and_then(|r| wattage_report::render_html(&r))
                .map_err(render),
            Job::Sweep(r) => wattage_report::render_html(&r.report()).map_err(render),
            _ => Err(Error::internal(format!(
                "a {} result has no report",
                self.kind()
            ))),
        }
    }
}

#[pymethods]
impl Handle {
    /// The job that produced this result (`estimate`, `serving`, `capacity`, `site`, ...).
    fn kind(&self) -> &'static str {
        self.job.kind()
    }

    /// The result as the JSON the CLI prints with `--json` for the same job, as Python data
    /// (dicts, lists, numbers, strings).
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.job.data(py).map_err(|e| {
            crate::error::to_py(
                py,
                &Error::internal(format!("cannot convert the result: {e}")),
            )
        })
    }

    /// Names of the tables `table` can encode.
    fn tables(&self) -> Vec<String> {
        self.job.tables()
    }

    /// Table `name` as Parquet bytes (typed columns).
    fn table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = detached(py, || self.job.table(name))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// An estimate's inputs, assumptions with their sources and arithmetic, as lines;
    /// parameters are named as keywords.
    fn explain(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        match &self.job {
            Job::Estimate(r) => Ok(wattage_engine::estimate::explain(r)
                .iter()
                .map(|l| ParamStyle::Keyword.rename(l))
                .collect()),
            _ => Err(crate::error::to_py(
                py,
                &Error::internal(format!("a {} result has no explanation", self.job.kind())),
            )),
        }
    }

    /// The files the CLI writes for this result, as `(relative path, bytes)`.
    fn artifacts<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyBytes>)>> {
        let files = detached(py, || self.job.artifacts())?;
        Ok(files
            .into_iter()
            .map(|a| (a.path, PyBytes::new(py, &a.bytes)))
            .collect())
    }

    /// The HTML report (a run, a comparison or a sweep), self-contained.
    fn report_html(&self, py: Python<'_>) -> PyResult<String> {
        detached(py, || self.job.report_html())
    }

    fn __repr__(&self) -> String {
        format!("<wattage._wattage.Handle {}>", self.job.kind())
    }
}

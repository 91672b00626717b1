//! wattage's jobs as a library. Every front-end (the `wattage` CLI, the Python package, the
//! HTTP gateway) calls these jobs and only translates: flags, keyword arguments or HTTP bodies
//! into typed specs, typed results back into tables, JSON, DataFrames or files.
//!
//! | job | spec | result |
//! |---|---|---|
//! | [`estimate::run`] | [`EstimateSpec`] | [`EstimateResult`] |
//! | [`train::run`] | [`TrainSpec`] | [`TrainResult`] |
//! | [`serving::run`] | [`ServingSpec`] | [`ServingOutcome`] |
//! | [`site::run`] | a [`wattage_site::Scenario`] and [`SiteSpec`] | [`SiteOutcome`] |
//! | [`optimize::run`] | a scenario and [`OptimizeSpec`] | [`OptimizeResult`] |
//! | [`run::execute`] | a run scenario ([`run::load`]) | [`RunResult`], [`RunSummary`], [`run::artifacts`] |
//! | [`compare::run`] | several run scenarios | [`Comparison`] |
//! | [`sweep::run`] | a [`SweepSpec`] | [`SweepResult`] |
//!
//! The engine is pure but for two small traits: [`Sources`] reads the files a job names
//! (scenarios, CSV profiles, traces, catalogs) and [`Progress`] hears how far a job has come.
//! It writes nothing: jobs that produce files return them as [`Artifact`]s. Errors are one
//! type, [`Error`], with the parameter or the file, line, column and field as data.

pub mod calendar;
pub mod compare;
pub mod error;
pub mod estimate;
pub mod io;
pub mod limits;
pub mod locate;
pub mod meter;
pub mod optimize;
pub mod run;
pub mod serving;
pub mod site;
pub mod spec;
pub mod sweep;
pub mod table;
pub mod train;

pub use compare::Comparison;
pub use error::{Error, ErrorData, ErrorKind, Location, ParamStyle, Result};
pub use estimate::{EstimateResult, EstimateSpec};
pub use io::{FileSystem, Input, Progress, Silent, Sources};
pub use meter::{Impacts, Meter, Usage};
pub use optimize::{OptimizeResult, OptimizeSpec, OptimizeSummary};
pub use run::{RunResult, RunSummary};
pub use serving::{ServingOutcome, ServingResult, ServingSpec};
pub use site::{SiteOutcome, SiteSpec};
pub use spec::{BareUnit, DurationArg, KvCacheSource, Overrides, ReplicaSpec, catalog};
pub use sweep::{SweepResult, SweepSpec};
pub use table::Artifact;
pub use train::{TrainResult, TrainSpec};
pub use wattage_catalog::Catalog;

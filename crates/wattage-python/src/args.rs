//! Keyword arguments into the engine's specs, and scenario sources into its inputs.
//!
//! The Python side passes a job's keyword arguments as a dict whose keys are the spec's field
//! names (the CLI's flags in snake_case); `None`s are left out. It is deserialized into the
//! engine's own spec type, so defaults and checks are the engine's. When that fails, each
//! keyword is tried alone to name the one at fault.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use wattage_engine::{Error, Input};

use crate::convert::to_value;

/// Keyword arguments as a JSON object (converted with the GIL held), each value checked
/// under its keyword's name.
pub fn kwargs(d: &Bound<'_, PyDict>) -> Result<Map<String, Value>, Error> {
    let mut m = Map::new();
    for (k, v) in d.iter() {
        if v.is_none() {
            continue;
        }
        let key: String = k
            .extract()
            .map_err(|_| Error::internal("keyword names must be text"))?;
        let value = to_value(&v, &key)?;
        m.insert(key, value);
    }
    Ok(m)
}

/// A job's spec from its keyword arguments.
pub fn spec<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, Error> {
    let all = Value::Object(map);
    match T::deserialize(&all) {
        Ok(t) => Ok(t),
        Err(whole) => {
            if let Value::Object(map) = all {
                for (k, v) in map {
                    let alone = Value::Object(Map::from_iter([(k.clone(), v)]));
                    if let Err(e) = T::deserialize(&alone) {
                        return Err(Error::param(&k, e.to_string()));
                    }
                }
            }
            Err(Error::input(whole.to_string()))
        }
    }
}

/// A scenario or spec as Python hands it over: a path, or TOML text with its name in errors
/// and the folder that files it names are relative to.
#[derive(Debug, Clone, FromPyObject)]
pub enum Source {
    /// A file.
    Path(PathBuf),
    /// `(text, name, folder)`.
    Text(String, String, PathBuf),
}

impl Source {
    /// The engine's input.
    pub fn input(self) -> Input {
        match self {
            Source::Path(p) => Input::Path(p),
            Source::Text(text, name, dir) => Input::Text { text, name, dir },
        }
    }

    /// The name of the scenario in messages (its path, or its name).
    pub fn name(&self) -> String {
        match self {
            Source::Path(p) => p.display().to_string(),
            Source::Text(_, name, _) => name.clone(),
        }
    }
}

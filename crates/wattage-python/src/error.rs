//! The engine's one error type as a Python exception: `wattage.InputError` for bad input,
//! `wattage.WattageError` otherwise, with the parameter or the file, line, column and field
//! as attributes, every parameter named as a keyword (`input_tokens`, not `--input-tokens`).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wattage_engine::{Error, Location, ParamStyle};

/// The Python exception of an engine error (classes defined in `wattage/_errors.py`).
pub fn to_py(py: Python<'_>, e: &Error) -> PyErr {
    build(py, e).unwrap_or_else(|err| err)
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let style = ParamStyle::Keyword;
    let module = py.import("wattage._errors")?;
    let class = module.getattr(if e.is_input() {
        "InputError"
    } else {
        "WattageError"
    })?;
    let kw = PyDict::new(py);
    kw.set_item("message", style.rename(&e.message))?;
    let known = |n: usize| (n > 0).then_some(n);
    match &e.location {
        Location::Nowhere => {}
        Location::Param { name } => kw.set_item("param", name)?,
        Location::File { path, line, column } => {
            kw.set_item("file", path)?;
            kw.set_item("line", known(*line))?;
            kw.set_item("column", known(*column))?;
        }
    }
    kw.set_item("field", e.field.as_deref())?;
    kw.set_item("hints", e.hints_in(style))?;
    kw.set_item("snippet", e.snippet.as_deref())?;
    let instance = class.call((e.render(style),), Some(&kw))?;
    Ok(PyErr::from_value(instance))
}

/// A bad-input error about keyword `param` (checked on this side of the engine).
pub fn param(py: Python<'_>, name: &str, message: impl Into<String>) -> PyErr {
    to_py(py, &Error::param(name, message))
}

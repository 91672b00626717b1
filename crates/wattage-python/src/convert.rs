//! Python data into JSON values, without going through JSON text: keyword arguments into the
//! value the engine's spec is deserialized from, dicts into TOML scenarios.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use wattage_engine::Error;

/// A Python value as JSON: `None`, booleans, integers, finite floats, strings, paths
/// (`os.PathLike`), lists and tuples, dicts (keys as strings; `None` values left out, as TOML
/// has no null), and anything with `__index__` or `__float__` (numpy scalars). Anything else,
/// or a non-finite float, is an input error about `param`.
pub fn to_value(obj: &Bound<'_, PyAny>, param: &str) -> Result<Value, Error> {
    let bad = |what: String| Error::param(param, what);
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return int(obj).ok_or_else(|| bad(format!("{obj} is out of range")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float(f.value())
            .ok_or_else(|| bad(format!("must be a finite number, found {obj}")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_str()
            .map(|s| Value::String(s.to_string()))
            .map_err(|e| bad(format!("not valid text: {e}")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            if v.is_none() {
                continue;
            }
            let key = k
                .str()
                .and_then(|s| s.to_str().map(str::to_string))
                .map_err(|e| bad(format!("a key is not text: {e}")))?;
            m.insert(key, to_value(&v, param)?);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items = obj
            .try_iter()
            .map_err(|e| bad(e.to_string()))?
            .map(|x| {
                x.map_err(|e| bad(e.to_string()))
                    .and_then(|x| to_value(&x, param))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::Array(items));
    }
    if obj.hasattr("__fspath__").unwrap_or(false) {
        let os = obj.py().import("os").map_err(|e| bad(e.to_string()))?;
        let p = os
            .call_method1("fsdecode", (obj,))
            .and_then(|p| p.extract::<String>())
            .map_err(|e| bad(format!("not a usable path: {e}")))?;
        return Ok(Value::String(p));
    }
    if obj.hasattr("__index__").unwrap_or(false)
        && let Ok(i) = obj.call_method0("__index__")
    {
        return int(&i).ok_or_else(|| bad(format!("{obj} is out of range")));
    }
    if let Ok(x) = obj.extract::<f64>() {
        return float(x).ok_or_else(|| bad(format!("must be a finite number, found {obj}")));
    }
    let type_name = obj
        .get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string());
    Err(bad(format!("unsupported value of type {type_name}: {obj}")))
}

fn int(obj: &Bound<'_, PyAny>) -> Option<Value> {
    if let Ok(i) = obj.extract::<i64>() {
        Some(Value::Number(i.into()))
    } else {
        obj.extract::<u64>().ok().map(|u| Value::Number(u.into()))
    }
}

fn float(x: f64) -> Option<Value> {
    Number::from_f64(x).map(Value::Number)
}

//! A serde serializer into Python objects, with the JSON data model of `serde_json`: structs
//! and maps become dicts, sequences and tuples lists, non-finite floats `None`, unit enum
//! variants their name. A result reaches Python as the same data `json.loads` would make of
//! the CLI's `--json` output, without the JSON text in between.

use std::fmt;

use pyo3::BoundObject;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use serde::ser::{self, Serialize};

/// An error while building the Python object.
#[derive(Debug)]
pub struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

impl From<PyErr> for SerError {
    fn from(e: PyErr) -> Self {
        SerError(e.to_string())
    }
}

type Result<T> = std::result::Result<T, SerError>;

/// `value` as Python data.
pub fn to_py<'py, T: Serialize + ?Sized>(py: Python<'py>, value: &T) -> Result<Bound<'py, PyAny>> {
    value.serialize(ToPy { py })
}

/// The serializer.
#[derive(Clone, Copy)]
pub struct ToPy<'py> {
    py: Python<'py>,
}

/// A list being built.
pub struct Seq<'py> {
    py: Python<'py>,
    items: Vec<Bound<'py, PyAny>>,
    /// For a tuple variant: its name, the list goes under it in a dict.
    variant: Option<&'static str>,
}

/// A dict being built.
pub struct Map<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
    key: Option<Bound<'py, PyAny>>,
    /// For a struct variant: its name, the dict goes under it in a dict.
    variant: Option<&'static str>,
}

impl<'py> ToPy<'py> {
    fn seq(self, len: Option<usize>, variant: Option<&'static str>) -> Seq<'py> {
        Seq {
            py: self.py,
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant,
        }
    }

    fn map(self, variant: Option<&'static str>) -> Map<'py> {
        Map {
            py: self.py,
            dict: PyDict::new(self.py),
            key: None,
            variant,
        }
    }

    fn int<I>(self, v: I) -> Result<Bound<'py, PyAny>>
    where
        I: IntoPyObject<'py>,
        PyErr: From<I::Error>,
    {
        Ok(v.into_pyobject(self.py)
            .map_err(PyErr::from)?
            .into_any()
            .into_bound())
    }
}

/// `{variant: value}`, as serde_json writes a variant with data.
fn tagged<'py>(
    py: Python<'py>,
    variant: &str,
    value: Bound<'py, PyAny>,
) -> Result<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    d.set_item(variant, value)?;
    Ok(d.into_any())
}

impl<'py> ser::Serializer for ToPy<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    type SerializeSeq = Seq<'py>;
    type SerializeTuple = Seq<'py>;
    type SerializeTupleStruct = Seq<'py>;
    type SerializeTupleVariant = Seq<'py>;
    type SerializeMap = Map<'py>;
    type SerializeStruct = Map<'py>;
    type SerializeStructVariant = Map<'py>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok> {
        self.int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok> {
        if v.is_finite() {
            Ok(PyFloat::new(self.py, v).into_any())
        } else {
            // serde_json writes NaN and infinities as null.
            Ok(self.py.None().into_bound(self.py))
        }
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok> {
        Ok(PyList::new(self.py, v)?.into_any())
    }
    fn serialize_none(self) -> Result<Self::Ok> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok> {
        tagged(self.py, variant, value.serialize(self)?)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'py>> {
        Ok(self.seq(len, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'py>> {
        Ok(self.seq(Some(len), None))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq<'py>> {
        Ok(self.seq(Some(len), None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Seq<'py>> {
        Ok(self.seq(Some(len), Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'py>> {
        Ok(self.map(None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Map<'py>> {
        Ok(self.map(None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Map<'py>> {
        Ok(self.map(Some(variant)))
    }
}

impl<'py> Seq<'py> {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.items.push(value.serialize(ToPy { py: self.py })?);
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let list = PyList::new(self.py, self.items)?.into_any();
        match self.variant {
            Some(v) => tagged(self.py, v, list),
            None => Ok(list),
        }
    }
}

impl<'py> ser::SerializeSeq for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTuple for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeTupleVariant for Seq<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> Map<'py> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let v = value.serialize(ToPy { py: self.py })?;
        self.dict.set_item(key, v)?;
        Ok(())
    }

    fn finish(self) -> Result<Bound<'py, PyAny>> {
        let d = self.dict.into_any();
        match self.variant {
            Some(v) => tagged(self.py, v, d),
            None => Ok(d),
        }
    }
}

impl<'py> ser::SerializeMap for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        let k = key.serialize(ToPy { py: self.py })?;
        // JSON keys are strings (serde_json writes a number or a unit variant as its text).
        let k = if k.is_instance_of::<PyString>() {
            k
        } else {
            k.str()?.into_any()
        };
        self.key = Some(k);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let k = self
            .key
            .take()
            .ok_or_else(|| SerError("a map value without a key".into()))?;
        let v = value.serialize(ToPy { py: self.py })?;
        self.dict.set_item(k, v)?;
        Ok(())
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeStruct for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

impl<'py> ser::SerializeStructVariant for Map<'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<Self::Ok> {
        self.finish()
    }
}

//! The "finite output" invariant: every number a result serializes is finite.
//!
//! `serde_json` writes NaN and infinity as `null`, indistinguishable from an absent value, so
//! walking the JSON text cannot see them. [`check`] instead runs the result through a
//! [`serde::Serializer`] that inspects every `f32`/`f64` as it is emitted and records the path
//! (`summary.energy_wh`, `series[3].power_mw`) of the first non-finite one.

use std::fmt::Display;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The path of the first non-finite number in `value`, or `Ok`.
///
/// Serialization errors of the value itself (a map with non-string keys is fine here; any
/// serializer error is reported) are reported as `Err` too, with their message.
pub fn check<T: Serialize + ?Sized>(value: &T) -> Result<(), String> {
    let mut w = Walker {
        path: String::new(),
    };
    value.serialize(&mut w).map_err(|e| e.0)
}

/// The error of [`Walker`]: the path and value at fault.
#[derive(Debug)]
pub struct Found(String);

impl Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<T: Display>(msg: T) -> Self {
        Found(msg.to_string())
    }
}

/// Walks a value, keeping the path to where it is.
struct Walker {
    path: String,
}

impl Walker {
    fn float(&self, v: f64) -> Result<(), Found> {
        if v.is_finite() {
            Ok(())
        } else {
            let at = if self.path.is_empty() {
                "the result"
            } else {
                self.path.as_str()
            };
            Err(Found(format!("non-finite number {v} at `{at}`")))
        }
    }

    /// Runs `f` with `seg` appended to the path, then restores it.
    fn at<F>(&mut self, seg: &dyn Display, key: bool, f: F) -> Result<(), Found>
    where
        F: FnOnce(&mut Self) -> Result<(), Found>,
    {
        let len = self.path.len();
        if key {
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&seg.to_string());
        } else {
            self.path.push_str(&format!("[{seg}]"));
        }
        let r = f(self);
        self.path.truncate(len);
        r
    }
}

/// A sequence, tuple or map in progress: counts its elements for the path.
struct Compound<'a> {
    w: &'a mut Walker,
    index: usize,
    key: Option<String>,
}

impl<'a> ser::Serializer for &'a mut Walker {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, _: bool) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Found> {
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Found> {
        self.float(v)
    }
    fn serialize_char(self, _: char) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.at(&variant, true, |w| v.serialize(w))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Found> {
        Ok(Compound::new(self))
    }
}

impl<'a> Compound<'a> {
    fn new(w: &'a mut Walker) -> Self {
        Self {
            w,
            index: 0,
            key: None,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        let i = self.index;
        self.index += 1;
        self.w.at(&i, false, |w| v.serialize(w))
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, v: &T) -> Result<(), Found> {
        self.w.at(&name, true, |w| v.serialize(w))
    }
}

macro_rules! elements {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = Found;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
                self.element(v)
            }
            fn end(self) -> Result<(), Found> {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Found> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Found;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Found> {
        // A key is named by its text when it is a string or a number, else by its position.
        let name = key
            .serialize(KeyName)
            .unwrap_or_else(|_| self.index.to_string());
        self.index += 1;
        self.key = Some(name);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Found> {
        let name = self.key.take().unwrap_or_default();
        self.field(&name, v)
    }
    fn end(self) -> Result<(), Found> {
        Ok(())
    }
}

/// Names a map key: strings, integers and finite floats (a non-finite float key is an error).
struct KeyName;

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = Found;
    type SerializeSeq = Impossible<String, Found>;
    type SerializeTuple = Impossible<String, Found>;
    type SerializeTupleStruct = Impossible<String, Found>;
    type SerializeTupleVariant = Impossible<String, Found>;
    type SerializeMap = Impossible<String, Found>;
    type SerializeStruct = Impossible<String, Found>;
    type SerializeStructVariant = Impossible<String, Found>;

    fn serialize_bool(self, v: bool) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_f64(self, v: f64) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Found> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Found> {
        Err(Found("bytes key".into()))
    }
    fn serialize_none(self) -> Result<String, Found> {
        Ok("none".into())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String, Found> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Found> {
        Ok("()".into())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<String, Found> {
        Ok(name.into())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, Found> {
        Ok(variant.into())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, Found> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found("compound key".into()))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found("compound key".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Row {
        a: f64,
        b: Option<f64>,
        c: Vec<(u32, f64)>,
        d: BTreeMap<String, f64>,
    }

    fn row() -> Row {
        Row {
            a: 1.0,
            b: Some(2.0),
            c: vec![(1, 3.0), (2, 4.0)],
            d: BTreeMap::from([("x".to_string(), 5.0)]),
        }
    }

    #[test]
    fn finite_values_pass() {
        assert_eq!(check(&row()), Ok(()));
        assert_eq!(check(&None::<f64>), Ok(()));
    }

    #[test]
    fn nan_and_infinity_are_found_with_their_path() {
        let mut r = row();
        r.c[1].1 = f64::NAN;
        assert_eq!(check(&r), Err("non-finite number NaN at `c[1][1]`".into()));
        let mut r = row();
        r.d.insert("y".into(), f64::NEG_INFINITY);
        assert_eq!(check(&r), Err("non-finite number -inf at `d.y`".into()));
        let mut r = row();
        r.b = Some(f64::INFINITY);
        assert_eq!(check(&r), Err("non-finite number inf at `b`".into()));
        assert!(check(&f32::NAN).is_err());
    }
}

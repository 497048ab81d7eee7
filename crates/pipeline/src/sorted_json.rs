//! JSON with every object's keys in alphabetical order, written straight from a value's
//! `Serialize`: the same text as `serde_json::to_string(&serde_json::to_value(value)?)`
//! (whose objects are B-tree maps), without building, walking and freeing the tree of
//! values, which cost two thirds of `trace --json`'s pipeline thread (issue 13).
//!
//! Scalars are written by `serde_json` itself. An object's members are written each into a
//! scratch buffer as they come, then copied out in the order of their keys (bytewise, as a
//! `String` orders); a key given twice keeps its last value, as a map insert does. The
//! scratch buffers and member lists are reused from object to object ([`Pool`]). What
//! `to_value` turns into something else is turned into the same here: an `f32` is widened
//! to `f64` first, and a 128-bit integer beyond 64 bits is an error.

use std::ops::Range;

use serde::ser::{self, Error as _, Serialize, Serializer};
use serde_json::Error;

/// `value` as compact JSON with every object's keys sorted.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = Vec::with_capacity(4096);
    value.serialize(Sorted { out: &mut out, pool: &mut Pool::default() })?;
    String::from_utf8(out).map_err(|_| Error::custom("the JSON written is not UTF-8"))
}

/// Writes one value into `out`.
struct Sorted<'a> {
    out: &'a mut Vec<u8>,
    pool: &'a mut Pool,
}

/// Scratch buffers and member lists of objects that have been written, for the next ones.
#[derive(Default)]
struct Pool {
    buffers: Vec<Vec<u8>>,
    lists: Vec<Vec<(Key, Range<usize>)>>,
}

impl Sorted<'_> {
    /// A serializer of `serde_json` writing into the same buffer (for scalars).
    fn json(&mut self) -> serde_json::Serializer<&mut Vec<u8>> {
        serde_json::Serializer::new(&mut *self.out)
    }
}

impl<'a> Serializer for Sorted<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(mut self, v: bool) -> Result<(), Error> {
        self.json().serialize_bool(v)
    }
    fn serialize_i8(mut self, v: i8) -> Result<(), Error> {
        self.json().serialize_i8(v)
    }
    fn serialize_i16(mut self, v: i16) -> Result<(), Error> {
        self.json().serialize_i16(v)
    }
    fn serialize_i32(mut self, v: i32) -> Result<(), Error> {
        self.json().serialize_i32(v)
    }
    fn serialize_i64(mut self, v: i64) -> Result<(), Error> {
        self.json().serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => self.serialize_i64(v),
            (_, Ok(v)) => self.serialize_u64(v),
            _ => Err(Error::custom("number out of range")),
        }
    }
    fn serialize_u8(mut self, v: u8) -> Result<(), Error> {
        self.json().serialize_u8(v)
    }
    fn serialize_u16(mut self, v: u16) -> Result<(), Error> {
        self.json().serialize_u16(v)
    }
    fn serialize_u32(mut self, v: u32) -> Result<(), Error> {
        self.json().serialize_u32(v)
    }
    fn serialize_u64(mut self, v: u64) -> Result<(), Error> {
        self.json().serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => Err(Error::custom("number out of range")),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(mut self, v: f64) -> Result<(), Error> {
        self.json().serialize_f64(v)
    }
    fn serialize_char(mut self, v: char) -> Result<(), Error> {
        self.json().serialize_char(v)
    }
    fn serialize_str(mut self, v: &str) -> Result<(), Error> {
        self.json().serialize_str(v)
    }
    fn serialize_bytes(mut self, v: &[u8]) -> Result<(), Error> {
        self.json().serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(mut self) -> Result<(), Error> {
        self.json().serialize_unit()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut object = Object::new(self.out, self.pool, None);
        ser::SerializeStruct::serialize_field(&mut object, variant, value)?;
        ser::SerializeStruct::end(object)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.out, self.pool, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.out, self.pool, Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, self.pool, None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, self.pool, None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, self.pool, Some(variant)))
    }
}

/// An array being written; `variant`: it is the value of a one-member object of that key.
struct Array<'a> {
    out: &'a mut Vec<u8>,
    pool: &'a mut Pool,
    first: bool,
    variant: Option<&'static str>,
}

impl<'a> Array<'a> {
    fn new(out: &'a mut Vec<u8>, pool: &'a mut Pool, variant: Option<&'static str>) -> Array<'a> {
        if let Some(variant) = variant {
            out.push(b'{');
            write_key(out, variant);
        }
        out.push(b'[');
        Array { out, pool, first: true, variant }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Sorted { out: &mut *self.out, pool: &mut *self.pool })
    }

    fn close(self) -> Result<(), Error> {
        self.out.push(b']');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// A member's key: a field name, or a map's key turned into text.
enum Key {
    Field(&'static str),
    Text(String),
}

impl Key {
    fn as_str(&self) -> &str {
        match self {
            Key::Field(name) => name,
            Key::Text(text) => text,
        }
    }
}

/// An object being written: its members' values in `scratch`, written out by key at the end;
/// `variant`: it is the value of a one-member object of that key.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    pool: &'a mut Pool,
    scratch: Vec<u8>,
    members: Vec<(Key, Range<usize>)>,
    /// A map's key waiting for its value.
    key: Option<Key>,
    variant: Option<&'static str>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>, pool: &'a mut Pool, variant: Option<&'static str>) -> Object<'a> {
        let scratch = pool.buffers.pop().unwrap_or_default();
        let members = pool.lists.pop().unwrap_or_default();
        Object { out, pool, scratch, members, key: None, variant }
    }

    fn member<T: Serialize + ?Sized>(&mut self, key: Key, value: &T) -> Result<(), Error> {
        let start = self.scratch.len();
        value.serialize(Sorted { out: &mut self.scratch, pool: &mut *self.pool })?;
        self.members.push((key, start..self.scratch.len()));
        Ok(())
    }

    fn close(mut self) -> Result<(), Error> {
        // Stable: of two members with one key, the last one given ends up last, and wins.
        self.members.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        if let Some(variant) = self.variant {
            self.out.push(b'{');
            write_key(self.out, variant);
        }
        self.out.push(b'{');
        let mut first = true;
        for (index, (key, range)) in self.members.iter().enumerate() {
            let overridden =
                self.members.get(index + 1).is_some_and(|(next, _)| next.as_str() == key.as_str());
            if overridden {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            write_key(self.out, key.as_str());
            self.out.extend_from_slice(&self.scratch[range.clone()]);
        }
        self.out.push(b'}');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
        let Object { mut scratch, mut members, pool, .. } = self;
        scratch.clear();
        members.clear();
        pool.buffers.push(scratch);
        pool.lists.push(members);
        Ok(())
    }
}

/// `"key":`, the key escaped as JSON escapes a string (a field name has nothing to escape).
fn write_key(out: &mut Vec<u8>, key: &str) {
    if key.bytes().all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\') {
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, key);
    }
    out.push(b':');
}

/// A map's key as the text of its member, as `serde_json::Value`'s maps take it.
fn key_text<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match serde_json::to_value(key)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        serde_json::Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(Error::custom("key must be a string")),
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(Key::Text(key_text(key)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error::custom("a map's value came before its key"))?;
        self.member(key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.member(Key::Field(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.member(Key::Field(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    /// What the sorted writer must match: the value tree's text.
    fn through_value<T: Serialize>(value: &T) -> String {
        serde_json::to_string(&serde_json::to_value(value).expect("a value")).expect("text")
    }

    #[derive(Debug, Clone, Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i64, String),
        Struct { zeta: bool, alpha: Option<f64> },
    }

    #[derive(Debug, Clone, Serialize)]
    struct Inner {
        zebra: Vec<Shape>,
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe: Option<String>,
        apple: (u32, char),
    }

    #[derive(Debug, Clone, Serialize)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        inner: Inner,
        counts: HashMap<String, i64>,
        numbered: BTreeMap<u32, f32>,
        bytes: Vec<u8>,
        unit: (),
        big: u128,
    }

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Unit),
            any::<u8>().prop_map(Shape::Newtype),
            (any::<i64>(), ".{0,6}").prop_map(|(n, s)| Shape::Tuple(n, s)),
            (any::<bool>(), proptest::option::of(any::<f64>()))
                .prop_map(|(zeta, alpha)| Shape::Struct { zeta, alpha }),
        ]
    }

    fn outer() -> impl Strategy<Value = Outer> {
        (
            ".{0,8}",
            proptest::collection::vec(shape(), 0..4),
            proptest::option::of("[a-z\"\\\\\u{1}é]{0,5}"),
            (any::<u32>(), any::<char>()),
            proptest::collection::hash_map("[a-zA-Z_ \"\\\\\u{1}é]{0,4}", any::<i64>(), 0..6),
            proptest::collection::btree_map(any::<u32>(), any::<f32>(), 0..4),
            proptest::collection::vec(any::<u8>(), 0..4),
            0u128..u128::from(u64::MAX),
        )
            .prop_map(|(name, zebra, maybe, apple, counts, numbered, bytes, big)| Outer {
                name,
                inner: Inner { zebra, maybe, apple },
                counts,
                numbered,
                bytes,
                unit: (),
                big,
            })
    }

    proptest! {
        /// Structs, flattened structs, maps of text and of numbers, every kind of enum
        /// variant, options, tuples, bytes, escapes and floats (non-finite ones included):
        /// written exactly as the value tree writes them.
        #[test]
        fn sorted_json_is_the_value_trees_text(value in outer()) {
            prop_assert_eq!(to_string(&value).expect("text"), through_value(&value));
        }
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value_as_a_map_does() {
        #[derive(Serialize)]
        struct Twice {
            key: u8,
            #[serde(flatten)]
            more: BTreeMap<String, u8>,
        }
        let value = Twice { key: 1, more: BTreeMap::from([("key".to_string(), 2), ("a".to_string(), 3)]) };
        assert_eq!(to_string(&value).expect("text"), r#"{"a":3,"key":2}"#);
        assert_eq!(to_string(&value).expect("text"), through_value(&value));
    }

    #[test]
    fn numbers_beyond_64_bits_are_an_error_as_in_a_value() {
        assert!(to_string(&u128::MAX).is_err());
        assert!(serde_json::to_value(u128::MAX).is_err());
        assert_eq!(to_string(&-5_i128).expect("text"), "-5");
    }
}

//! Values and key-value lists: AttributeUserData, AttributeExtensions, AttributeReason,
//! nested lists, and the raw value of any attribute the model does not type.
//!
//! A key-value list is ordered and may repeat keys, exactly as the log prints it. JSON form:
//! an array of `[key, value]` pairs, where a value is a string, an integer, `{"bare": text}`
//! for an unquoted word, or a nested array of pairs.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Text;

/// One value as a log prints it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A quoted string (`'7001'`, `''`).
    Str(Text),
    /// A bare decimal number in its canonical form (`2`, `-1`, `4294967295`).
    Int(i64),
    /// Any other unquoted text: hex ids, words such as `EventQueued`, odd numbers like `007`.
    Bare(Text),
    /// A key-value list (`[108] 00 01 03 00..` or `(list)` followed by pairs).
    List(KvList),
}

impl Value {
    /// The text of a string, bare word or number, or `None` for a list.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::Str(text) | Value::Bare(text) => Some(std::borrow::Cow::Borrowed(text.as_str())),
            Value::Int(number) => Some(std::borrow::Cow::Owned(number.to_string())),
            Value::List(_) => None,
        }
    }

    /// Reads unquoted text: a canonical decimal becomes `Int`, anything else `Bare`.
    pub fn from_bare(text: &str) -> Value {
        if is_canonical_decimal(text.as_bytes()) {
            if let Ok(number) = text.parse::<i64>() {
                return Value::Int(number);
            }
        }
        Value::Bare(Text::from(text))
    }
}

/// True for `0`, or an optional `-` and digits with no leading zero (not `-0`): the form
/// an i64 prints in, so that `Int` writes back as the same text.
fn is_canonical_decimal(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    match digits {
        [] => false,
        [b'0'] => text.len() == 1,
        [b'0', ..] => false,
        _ => digits.iter().all(u8::is_ascii_digit),
    }
}

/// One `'key' value` pair of a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvPair {
    pub key: Text,
    pub value: Value,
}

/// An ordered key-value list; keys may repeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KvList(pub Vec<KvPair>);

impl KvList {
    pub fn new() -> KvList {
        KvList(Vec::new())
    }

    /// The first value under `key` (exact match).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|pair| pair.key == key).map(|pair| &pair.value)
    }

    /// The first value under `key`, comparing keys without regard to ASCII case.
    pub fn get_ignore_case(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|pair| pair.key.eq_ignore_ascii_case(key)).map(|pair| &pair.value)
    }

    pub fn push(&mut self, key: &str, value: Value) {
        self.0.push(KvPair { key: Text::from(key), value });
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &KvPair> {
        self.0.iter()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(text) => serializer.serialize_str(text),
            Value::Int(number) => serializer.serialize_i64(*number),
            Value::Bare(text) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("bare", text.as_str())?;
                map.end()
            }
            Value::List(list) => list.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, an integer, {\"bare\": text} or an array of [key, value] pairs")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::Str(Text::from(text)))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Value, E> {
        Ok(Value::Int(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Value, E> {
        i64::try_from(number).map(Value::Int).map_err(|_| {
            E::custom(format!("integer {number} is too large; send it as {{\"bare\": \"{number}\"}}"))
        })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut bare: Option<String> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "bare" || bare.is_some() {
                return Err(de::Error::custom(format!(
                    "unexpected key {key:?}: the only object value is {{\"bare\": text}}"
                )));
            }
            bare = Some(map.next_value()?);
        }
        bare.map(|text| Value::Bare(Text::from(text)))
            .ok_or_else(|| de::Error::custom("an object value must be {\"bare\": text}"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        KvListVisitor.visit_seq(seq).map(Value::List)
    }
}

impl Serialize for KvList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for pair in &self.0 {
            seq.serialize_element(&(pair.key.as_str(), &pair.value))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for KvList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(KvListVisitor)
    }
}

struct KvListVisitor;

impl<'de> Visitor<'de> for KvListVisitor {
    type Value = KvList;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of [key, value] pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KvList, A::Error> {
        let mut list = KvList::new();
        while let Some((key, value)) = seq.next_element::<(Text, Value)>()? {
            list.0.push(KvPair { key, value });
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_text_is_an_int_only_in_canonical_form() {
        assert_eq!(Value::from_bare("42"), Value::Int(42));
        assert_eq!(Value::from_bare("-1"), Value::Int(-1));
        assert_eq!(Value::from_bare("007"), Value::Bare(Text::from("007")));
        assert_eq!(Value::from_bare("EventQueued"), Value::Bare(Text::from("EventQueued")));
        assert_eq!(Value::from_bare("0"), Value::Int(0));
        assert_eq!(Value::from_bare("-0"), Value::Bare(Text::from("-0")));
        assert_eq!(Value::from_bare("+5"), Value::Bare(Text::from("+5")));
        assert_eq!(Value::from_bare("99999999999999999999"), Value::Bare(Text::from("99999999999999999999")));
        assert_eq!(Value::from_bare("-9223372036854775808"), Value::Int(i64::MIN));
    }

    #[test]
    fn lists_serialise_as_ordered_pairs_with_repeats() {
        let mut inner = KvList::new();
        inner.push("location-name", Value::Str(Text::from("Tserver2@Avaya_Switch1")));
        let mut list = KvList::new();
        list.push("a", Value::Int(1));
        list.push("a", Value::Bare(Text::from("x")));
        list.push("link", Value::List(inner));
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(
            json,
            r#"[["a",1],["a",{"bare":"x"}],["link",[["location-name","Tserver2@Avaya_Switch1"]]]]"#
        );
        assert_eq!(serde_json::from_str::<KvList>(&json).unwrap(), list);
    }
}

//! The interaction document's JSON shape pinned against docs/trace-json.md, both ways: every
//! key the typed document can write is documented, every documented field is one the type
//! has, and every key a simulated estate's documents hold is documented.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

/// Only its interactions are needed here.
#[allow(dead_code)]
#[path = "../src/testdata/simulated.rs"]
mod simulated;

use std::collections::BTreeSet;

use callstitch_link::{Interaction, LinkReport, SegmentReport};
use serde::de::{self, Deserialize, Visitor};
use serde_json::Value;
use simulated::Simulated;

/// The fields of each table of docs/trace-json.md: the backquoted names of a table row's
/// first cell, under the heading `## {section}`.
fn documented(section: &str) -> BTreeSet<String> {
    let text = include_str!("../../../docs/trace-json.md");
    let heading = format!("## {section}\n");
    let start = text.find(&heading).unwrap_or_else(|| panic!("docs/trace-json.md has no {heading:?}"));
    let body = &text[start + heading.len()..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut fields = BTreeSet::new();
    for row in body.lines().filter(|line| line.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap_or_default();
        fields.extend(cell.split('`').skip(1).step_by(2).map(str::to_string));
    }
    assert!(!fields.is_empty(), "the {section} table lists fields");
    fields
}

/// A deserializer that only records the field names a derived `Deserialize` asks for.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        self.0.extend_from_slice(fields);
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// The JSON field names of a derived type (those it reads; the ones it only reads and never
/// writes, such as a party's event times, are not part of the document).
fn fields_of<'de, T: Deserialize<'de>>() -> BTreeSet<String> {
    let mut names = Vec::new();
    let _ = T::deserialize(FieldNames(&mut names));
    names.into_iter().map(str::to_string).collect()
}

#[test]
fn every_field_of_the_interaction_segment_and_link_is_documented_and_every_documented_field_exists() {
    let mut interaction = fields_of::<Interaction>();
    interaction.insert("recording".to_string());
    for (section, fields) in [
        ("Interaction", interaction),
        ("Segment", fields_of::<SegmentReport>()),
        ("Link", fields_of::<LinkReport>()),
    ] {
        let documented = documented(section);
        let undocumented: Vec<&String> = fields.difference(&documented).collect();
        let unknown: Vec<&String> = documented.difference(&fields).collect();
        assert!(
            undocumented.is_empty(),
            "{section}: fields docs/trace-json.md does not document: {undocumented:?}"
        );
        assert!(unknown.is_empty(), "{section}: documented fields the document has not: {unknown:?}");
    }
}

/// The keys of `objects`, each once.
fn keys<'a>(objects: impl Iterator<Item = &'a Value>) -> BTreeSet<String> {
    objects.filter_map(Value::as_object).flat_map(|object| object.keys().cloned()).collect()
}

#[test]
fn every_key_of_a_simulated_estates_documents_is_documented() {
    let simulated = Simulated::run(300, 4, 21);
    let documents: Vec<Value> = simulated
        .handed_out
        .iter()
        .map(|(interaction, recording)| {
            callstitch_store::TraceDocument::new(interaction.clone(), recording.clone())
                .to_value()
                .expect("the document encodes")
        })
        .collect();
    let segments: Vec<&Value> =
        documents.iter().flat_map(|doc| doc["segments"].as_array().into_iter().flatten()).collect();
    let links: Vec<&Value> =
        documents.iter().flat_map(|doc| doc["links"].as_array().into_iter().flatten()).collect();
    for (section, seen) in [
        ("Interaction", keys(documents.iter())),
        ("Segment", keys(segments.iter().copied())),
        ("Link", keys(links.iter().copied())),
    ] {
        let documented = documented(section);
        let undocumented: Vec<&String> = seen.difference(&documented).collect();
        assert!(undocumented.is_empty(), "{section}: keys written but not documented: {undocumented:?}");
    }
    for always in ["interaction_id", "segments", "links", "recording", "released_by"] {
        assert!(documents.iter().all(|doc| doc.get(always).is_some()), "every document has {always}");
    }
}

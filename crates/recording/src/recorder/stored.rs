//! A recording read back from the JSON it was written as (a store keeps the interaction
//! document and renders the recording metadata from it on read): the media files' and heard
//! parties' fixed words become the `'static` labels they were made from, and a file's times
//! are parsed from the `start` and `stop` texts it carries.

use callstitch_tlib::{Text, Timestamp};
use serde::{Deserialize, Deserializer};
use thiserror::Error;

use super::{Heard, MediaFile, Provenance};
use crate::feed::RecordedSide;

/// How a file was tied to its segment: every word the recorder writes.
const MATCHED_BY: &[&str] =
    &["call-uuid", "media-id-prefix", "gsip-rec-fn", "route-record", "private-record-start"];

/// Who is heard on a file: every word the recorder writes.
const HEARD_KINDS: &[&str] = &["customer", "agent"];

/// A stored media file or heard party that no recorder of this build wrote.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoredError {
    #[error("unknown {what} {value:?}")]
    UnknownWord { what: &'static str, value: String },
    #[error("media file time {0:?} is not a time this recorder writes")]
    BadTime(String),
}

fn label(what: &'static str, known: &[&'static str], value: &str) -> Result<&'static str, StoredError> {
    known
        .iter()
        .find(|word| **word == value)
        .copied()
        .ok_or_else(|| StoredError::UnknownWord { what, value: value.to_string() })
}

/// A time as [`Timestamp`]'s `Display` writes it: RFC 3339, or `@<µs>us` out of range.
fn time(text: &str) -> Result<Timestamp, StoredError> {
    let raw = || text.strip_prefix('@')?.strip_suffix("us")?.parse().ok().map(Timestamp);
    Timestamp::parse_rfc3339(text).or_else(raw).ok_or_else(|| StoredError::BadTime(text.to_string()))
}

/// [`Heard`] as written.
#[derive(Deserialize)]
struct HeardDoc {
    dn: Text,
    kind: String,
    site: Text,
    from: String,
    until: String,
}

impl TryFrom<HeardDoc> for Heard {
    type Error = StoredError;

    fn try_from(doc: HeardDoc) -> Result<Heard, StoredError> {
        let kind = label("heard kind", HEARD_KINDS, &doc.kind)?;
        Ok(Heard { dn: doc.dn, kind, site: doc.site, from: doc.from, until: doc.until })
    }
}

impl<'de> Deserialize<'de> for Heard {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Heard, D::Error> {
        HeardDoc::deserialize(deserializer)?.try_into().map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for MediaFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MediaFile, D::Error> {
        MediaFileDoc::deserialize(deserializer)?.try_into().map_err(serde::de::Error::custom)
    }
}

/// [`MediaFile`] as written.
#[derive(Deserialize)]
struct MediaFileDoc {
    media_id: String,
    site: String,
    call_uuid: String,
    recorded_dn: String,
    side: RecordedSide,
    start: String,
    stop: Option<String>,
    provenance: Provenance,
    #[serde(default)]
    segment: Option<String>,
    matched_by: String,
    heard: Vec<Heard>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    archive_id: Option<String>,
}

impl TryFrom<MediaFileDoc> for MediaFile {
    type Error = StoredError;

    fn try_from(doc: MediaFileDoc) -> Result<MediaFile, StoredError> {
        let start_at = time(&doc.start)?;
        let stop_at = doc.stop.as_deref().map(time).transpose()?;
        Ok(MediaFile {
            matched_by: label("matched_by", MATCHED_BY, &doc.matched_by)?,
            media_id: doc.media_id,
            site: doc.site,
            call_uuid: doc.call_uuid,
            recorded_dn: doc.recorded_dn,
            side: doc.side,
            start: doc.start,
            stop: doc.stop,
            provenance: doc.provenance,
            segment: doc.segment,
            heard: doc.heard,
            line: doc.line,
            archive_id: doc.archive_id,
            start_at,
            stop_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Rule};
    use crate::Recording;

    fn file(matched_by: &'static str, start: Timestamp, stop: Option<Timestamp>) -> MediaFile {
        MediaFile {
            media_id: "U1_a".into(),
            site: "S".into(),
            call_uuid: "U1".into(),
            recorded_dn: "5001".into(),
            side: RecordedSide::Agent,
            start: start.to_string(),
            stop: stop.map(|stop| stop.to_string()),
            provenance: Provenance::Inferred,
            segment: Some("S/U1".into()),
            matched_by,
            heard: vec![Heard {
                dn: Text::from("5001"),
                kind: "agent",
                site: Text::from("S"),
                from: start.to_string(),
                until: start.to_string(),
            }],
            line: None,
            archive_id: Some("A".into()),
            start_at: start,
            stop_at: stop,
        }
    }

    /// A recording read back from its JSON is the recording written, times included (the
    /// recording metadata's durations and its start and stop come from them).
    #[test]
    fn a_recording_reads_back_from_its_json_with_its_times() {
        let recording = Recording {
            recording_id: "U1".into(),
            aliases: vec!["old".into()],
            interaction_id: "0123456789abcdef".into(),
            media_files: vec![
                file(
                    "route-record",
                    Timestamp(1_351_521_660_540_480),
                    Some(Timestamp(1_351_521_700_000_001)),
                ),
                file("call-uuid", Timestamp(-5), None),
            ],
            findings: vec![Finding {
                rule: Rule::P5,
                interaction_id: None,
                segments: Vec::new(),
                files: vec!["U1_a".into()],
                message: "m".into(),
                evidence: Vec::new(),
            }],
        };
        let text = serde_json::to_string(&recording).expect("json");
        let read: Recording = serde_json::from_str(&text).expect("reads back");
        assert_eq!(read, recording);
    }

    /// A word no recorder writes is refused, not turned into another.
    #[test]
    fn a_media_file_with_an_unknown_match_rule_is_refused() {
        let text = serde_json::to_string(&file("call-uuid", Timestamp(1_000_000), None)).expect("json");
        let text = text.replace("\"call-uuid\"", "\"guessed\"");
        assert!(serde_json::from_str::<MediaFile>(&text).is_err());
    }
}

//! The interaction document: one interaction with its recording, as `callstitch trace --json`
//! prints it, the store keeps it and the API, the web UI and the ladder read it
//! (docs/trace-json.md). Declared once, here: every writer builds a [`TraceDocument`] and
//! every reader decodes one, so the shape cannot drift between them.

use callstitch_link::Interaction;
use callstitch_recording::{Finding, MediaFile, Recording};
use serde::{Deserialize, Serialize};

/// One interaction with its recording (docs/trace-json.md): the interaction's fields, and
/// its recording as the member `recording` (docs/recording.md), without the interaction id
/// the document already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceDocument {
    #[serde(flatten)]
    pub interaction: Interaction,
    /// Always written; a document written without one (an older `trace --json`) still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingDocument>,
}

/// A recording inside its interaction's document (its interaction id is the document's).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordingDocument {
    pub recording_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub media_files: Vec<MediaFile>,
    pub findings: Vec<Finding>,
}

impl RecordingDocument {
    /// The recording without its interaction id.
    pub fn of(recording: Recording) -> RecordingDocument {
        let Recording { recording_id, aliases, interaction_id: _, media_files, findings } = recording;
        RecordingDocument { recording_id, aliases, media_files, findings }
    }

    /// The recording of the interaction `interaction_id`.
    pub fn into_recording(self, interaction_id: String) -> Recording {
        let RecordingDocument { recording_id, aliases, media_files, findings } = self;
        Recording { recording_id, aliases, interaction_id, media_files, findings }
    }
}

/// A text that is not an interaction document, and where in it the problem is.
#[derive(Debug, thiserror::Error)]
#[error("not an interaction document (docs/trace-json.md): at `{path}`: {source}")]
pub struct DocumentError {
    /// The field, e.g. `segments[0].role` (`.` for the document itself).
    pub path: String,
    #[source]
    pub source: serde_json::Error,
}

impl TraceDocument {
    pub fn new(interaction: Interaction, recording: Recording) -> TraceDocument {
        TraceDocument { interaction, recording: Some(RecordingDocument::of(recording)) }
    }

    /// Its recording (an empty one when the document has none).
    pub fn recording(&self) -> Recording {
        let document = self.recording.clone().unwrap_or_default();
        document.into_recording(self.interaction.interaction_id.clone())
    }

    /// The document as JSON with every object's keys in alphabetical order: one line of
    /// `trace --json`, and the body the API answers. The same text as [`Self::to_value`]'s,
    /// written without building the value ([`crate::sorted_json`]).
    pub fn to_sorted_json(&self) -> Result<String, serde_json::Error> {
        crate::sorted_json::to_string(self)
    }

    /// The document as a JSON value (whose objects keep their keys in alphabetical order).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Reads a document from JSON text; an error names the field that does not fit.
    pub fn from_json(text: &str) -> Result<TraceDocument, DocumentError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| DocumentError { path: ".".to_string(), source })?;
        TraceDocument::from_value(value)
    }

    /// Reads a document from a JSON value; an error names the field that does not fit. The
    /// interaction and its recording are read apart so that the path reaches inside both
    /// (a flattened struct hides it).
    pub fn from_value(mut value: serde_json::Value) -> Result<TraceDocument, DocumentError> {
        let recording = value.as_object_mut().and_then(|object| object.remove("recording"));
        let interaction: Interaction = read_at(value, "")?;
        let recording = match recording {
            None | Some(serde_json::Value::Null) => None,
            Some(recording) => Some(read_at(recording, "recording.")?),
        };
        Ok(TraceDocument { interaction, recording })
    }
}

/// `value` read as a `T`, an error's path prefixed with `prefix`.
fn read_at<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, DocumentError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let path = match (prefix, path.as_str()) {
            ("", path) => path.to_string(),
            (prefix, ".") => prefix.trim_end_matches('.').to_string(),
            (prefix, path) => format!("{prefix}{path}"),
        };
        DocumentError { path, source: error.into_inner() }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A one-call document, complete.
    fn one_call() -> Value {
        let ended_by = json!({"who": "unknown", "provenance": "unknown", "conflict": false});
        json!({"interaction_id": "0123456789abcdef", "revision": 0, "state": "complete", "complete": true,
            "linking": "complete", "calls": "ended", "sites": ["A"], "links": [], "outcome": "answered",
            "released_by": ended_by,
            "segments": [{"site": "A", "key": "U1", "call_uuid": "U1", "conn_ids": [], "role": "root",
                "conformant": true, "outcome": "answered", "parties": [], "ended_by": ended_by, "ended": true}],
            "recording": {"recording_id": "U1", "media_files": [], "findings": []}})
    }

    #[test]
    fn a_document_reads_back_as_it_was_written() {
        let text = one_call().to_string();
        let document = TraceDocument::from_json(&text).expect("a document");
        assert_eq!(document.to_sorted_json().expect("JSON"), text, "keys sorted, nothing added or lost");
        assert_eq!(document.recording().interaction_id, "0123456789abcdef");
    }

    #[test]
    fn a_field_that_does_not_fit_is_named_with_its_path() {
        let mut bad_role = one_call();
        bad_role["segments"][0]["role"] = json!("boss");
        let error = TraceDocument::from_value(bad_role).expect_err("no such role");
        assert_eq!(error.path, "segments[0].role");
        assert!(error.to_string().contains("at `segments[0].role`: unknown variant `boss`"), "{error}");

        let mut bad_recording = one_call();
        bad_recording["recording"]["media_files"] = json!([{"media_id": 7}]);
        let error = TraceDocument::from_value(bad_recording).expect_err("not a media file");
        assert!(error.path.starts_with("recording.media_files[0]"), "{}", error.path);

        let mut no_segments = one_call();
        if let Some(object) = no_segments.as_object_mut() {
            object.remove("segments");
        }
        let error = TraceDocument::from_value(no_segments).expect_err("segments are required");
        assert!(error.to_string().contains("missing field `segments`"), "{error}");

        let error = TraceDocument::from_json("{not json").expect_err("not JSON");
        assert_eq!(error.path, ".");
    }

    #[test]
    fn a_document_without_a_recording_reads_and_writes_none() {
        let mut older = one_call();
        if let Some(object) = older.as_object_mut() {
            object.remove("recording");
        }
        let document = TraceDocument::from_value(older.clone()).expect("an older document");
        assert_eq!(document.recording, None);
        assert_eq!(document.to_value().expect("JSON"), older);
        assert!(document.recording().media_files.is_empty());
    }
}

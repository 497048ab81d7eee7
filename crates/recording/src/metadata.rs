//! The recording metadata of one interaction in the shape of GIR's recording resource
//! (recording.md §3.1): id, caller and dialed numbers, start and stop, mediaFiles with their
//! callUUID, and the event history of the interaction.
//!
//! [`RecordingMetadata`] is the one declaration of that document: `callstitch recording`,
//! the store (which renders it when read) and the API hand it out, as JSON only at the edge
//! ([`RecordingMetadata::to_value`]: keys in alphabetical order, as always).

use callstitch_link::{Interaction, PartyKind, SegmentRole};
use callstitch_tlib::{Text, Timestamp};
use serde::Serialize;

use crate::feed::RecordedSide;
use crate::finding::Finding;
use crate::recorder::{Heard, Provenance, Recording};

/// `recording.json` for one interaction. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingMetadata {
    pub id: String,
    pub aliases: Vec<String>,
    pub interaction_id: String,
    #[serde(rename = "callerPhoneNumber")]
    pub caller_phone_number: Option<Text>,
    #[serde(rename = "dialedPhoneNumber")]
    pub dialed_phone_number: Option<Text>,
    /// The first media file's start.
    #[serde(rename = "startTime")]
    pub start_time: Option<String>,
    /// The last media file's stop.
    #[serde(rename = "stopTime")]
    pub stop_time: Option<String>,
    #[serde(rename = "mediaFiles")]
    pub media_files: Vec<MetadataFile>,
    /// The interaction's timeline (each call starting and ending, each party joining and
    /// leaving it, in time order), not the raw events.
    #[serde(rename = "eventHistory")]
    pub event_history: Vec<HistoryEvent>,
    pub findings: Vec<Finding>,
}

/// One media file as GIR lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataFile {
    #[serde(rename = "callUUID")]
    pub call_uuid: String,
    #[serde(rename = "mediaId")]
    pub media_id: String,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "stopTime")]
    pub stop_time: Option<String>,
    /// Milliseconds, as text (GIR's form); none while the file has no stop.
    pub duration: Option<String>,
    pub parameters: FileParameters,
}

/// What callstitch adds to a media file: what it recorded and how it was matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileParameters {
    #[serde(rename = "recordDN")]
    pub record_dn: String,
    pub side: RecordedSide,
    pub site: String,
    pub segment: Option<String>,
    pub provenance: Provenance,
    pub heard: Vec<Heard>,
}

/// One entry of the event history: a call starting or ending, or a party joining or leaving.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HistoryEvent {
    Call {
        time: String,
        /// `call-started` or `call-ended`.
        event: &'static str,
        site: Text,
        #[serde(rename = "callUUID")]
        call_uuid: Option<String>,
        role: SegmentRole,
    },
    Party {
        time: String,
        /// `joined` or `left`.
        event: &'static str,
        site: Text,
        #[serde(rename = "callUUID")]
        call_uuid: Option<String>,
        dn: Text,
        kind: PartyKind,
    },
}

impl RecordingMetadata {
    /// The document as JSON, its objects' keys in alphabetical order (the form the API and
    /// `callstitch recording` have always printed).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// `recording.json` for one interaction.
pub fn recording_metadata(recording: &Recording, interaction: &Interaction) -> RecordingMetadata {
    let start = recording.media_files.iter().map(|file| file.start_at).min();
    let stop = recording.media_files.iter().filter_map(|file| file.stop_at).max();
    let media_files = recording
        .media_files
        .iter()
        .map(|file| MetadataFile {
            call_uuid: file.call_uuid.clone(),
            media_id: file.media_id.clone(),
            start_time: file.start.clone(),
            stop_time: file.stop.clone(),
            duration: file.stop_at.map(|stop| ((stop.0 - file.start_at.0) / 1000).to_string()),
            parameters: FileParameters {
                record_dn: file.recorded_dn.clone(),
                side: file.side,
                site: file.site.clone(),
                segment: file.segment.clone(),
                provenance: file.provenance,
                heard: file.heard.clone(),
            },
        })
        .collect();
    RecordingMetadata {
        id: recording.recording_id.clone(),
        aliases: recording.aliases.clone(),
        interaction_id: recording.interaction_id.clone(),
        caller_phone_number: interaction.ani.clone(),
        dialed_phone_number: interaction.dnis.clone(),
        start_time: start.map(|time| time.to_string()),
        stop_time: stop.map(|time| time.to_string()),
        media_files,
        event_history: event_history(interaction),
        findings: recording.findings.clone(),
    }
}

/// Each call's start and end and each party's first and last event, in time order (by the
/// text of the time, each on its site's own clock).
fn event_history(interaction: &Interaction) -> Vec<HistoryEvent> {
    let mut history: Vec<(String, HistoryEvent)> = Vec::new();
    let mut add = |time: Timestamp, event: HistoryEvent| history.push((time.to_string(), event));
    for segment in &interaction.segments {
        for (time, what) in [(segment.start, "call-started"), (segment.end, "call-ended")] {
            let Some(time) = time else { continue };
            add(
                time,
                HistoryEvent::Call {
                    time: time.to_string(),
                    event: what,
                    site: segment.site.clone(),
                    call_uuid: segment.call_uuid.clone(),
                    role: segment.role,
                },
            );
        }
        for party in &segment.parties {
            for (time, what) in [(party.first_time, "joined"), (party.last_time, "left")] {
                let Some(time) = time else { continue };
                add(
                    time,
                    HistoryEvent::Party {
                        time: time.to_string(),
                        event: what,
                        site: segment.site.clone(),
                        call_uuid: segment.call_uuid.clone(),
                        dn: party.dn.clone(),
                        kind: party.kind,
                    },
                );
            }
        }
    }
    history.sort_by(|a, b| a.0.cmp(&b.0));
    history.into_iter().map(|(_, event)| event).collect()
}

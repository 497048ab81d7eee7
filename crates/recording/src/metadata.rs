//! The recording metadata of one interaction in the shape of GIR's recording resource
//! (recording.md §3.1): id, caller and dialed numbers, start and stop, mediaFiles with their
//! callUUID, and the event history of the interaction.

use callstitch_link::Interaction;
use serde_json::{json, Value};

use crate::recorder::Recording;

/// `recording.json` for one interaction. `eventHistory` is the interaction's timeline (each
/// call starting and ending, each party joining and leaving it, in time order), not the raw
/// events.
pub fn recording_metadata(recording: &Recording, interaction: &Interaction) -> Value {
    let start = recording.media_files.iter().map(|file| file.start_at).min();
    let stop = recording.media_files.iter().filter_map(|file| file.stop_at).max();
    let files: Vec<Value> = recording
        .media_files
        .iter()
        .map(|file| {
            let duration = file.stop_at.map(|stop| ((stop.0 - file.start_at.0) / 1000).to_string());
            json!({
                "callUUID": file.call_uuid,
                "mediaId": file.media_id,
                "startTime": file.start,
                "stopTime": file.stop,
                "duration": duration,
                "parameters": {
                    "recordDN": file.recorded_dn,
                    "side": file.side,
                    "site": file.site,
                    "segment": file.segment,
                    "provenance": file.provenance,
                    "heard": file.heard,
                },
            })
        })
        .collect();
    let mut history: Vec<(String, Value)> = Vec::new();
    for segment in &interaction.segments {
        for (time, what) in [(&segment.start, "call-started"), (&segment.end, "call-ended")] {
            let Some(time) = time else { continue };
            history.push((
                time.to_string(),
                json!({"time": time, "event": what, "site": segment.site, "callUUID": segment.call_uuid, "role": segment.role}),
            ));
        }
        for party in &segment.parties {
            for (time, what) in [(party.first_time, "joined"), (party.last_time, "left")] {
                let Some(time) = time else { continue };
                history.push((
                    time.to_string(),
                    json!({
                        "time": time.to_string(),
                        "event": what,
                        "site": segment.site,
                        "callUUID": segment.call_uuid,
                        "dn": party.dn,
                        "kind": party.kind,
                    }),
                ));
            }
        }
    }
    history.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "id": recording.recording_id,
        "aliases": recording.aliases,
        "interaction_id": recording.interaction_id,
        "callerPhoneNumber": interaction.ani,
        "dialedPhoneNumber": interaction.dnis,
        "startTime": start.map(|time| time.to_string()),
        "stopTime": stop.map(|time| time.to_string()),
        "mediaFiles": files,
        "eventHistory": history.into_iter().map(|(_, event)| event).collect::<Vec<_>>(),
        "findings": recording.findings,
    })
}

//! What the ladder derives from the interaction document (`callstitch_pipeline::TraceDocument`,
//! docs/trace-json.md): the pictures read the typed document itself; here are the helpers
//! they share.

use callstitch_link::SegmentReport;

/// True when `uuid` is the call's CallUUID or key.
pub fn names(segment: &SegmentReport, uuid: &str) -> bool {
    segment.call_uuid.as_deref() == Some(uuid) || segment.key == uuid
}

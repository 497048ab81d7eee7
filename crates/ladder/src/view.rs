//! What the ladder derives from the interaction document (`callstitch_pipeline::TraceDocument`,
//! docs/trace-json.md): the pictures read the typed document itself; here are the few
//! helpers they share, and [`TraceView`], the name a caller that does not yet hand the
//! timeline its document still uses.

use std::ops::Deref;

use callstitch_link::{Interaction, SegmentReport};
use callstitch_pipeline::TraceDocument;

/// True when `uuid` is the call's CallUUID or key.
pub fn names(segment: &SegmentReport, uuid: &str) -> bool {
    segment.call_uuid.as_deref() == Some(uuid) || segment.key == uuid
}

/// What the journey timeline is drawn from: an interaction document.
pub trait AsDocument {
    fn document(&self) -> &TraceDocument;
}

impl AsDocument for TraceDocument {
    fn document(&self) -> &TraceDocument {
        self
    }
}

impl AsDocument for TraceView {
    fn document(&self) -> &TraceDocument {
        &self.document
    }
}

/// An interaction document under the name the timeline's callers knew it by (the web UI's
/// journey section): no copy of the schema, the typed document itself, read as its
/// interaction. To go once every caller passes its [`TraceDocument`].
#[derive(Debug, Clone)]
pub struct TraceView {
    document: TraceDocument,
}

impl TraceView {
    /// The view of an interaction document (never an error: the document is already typed).
    pub fn of(document: &TraceDocument) -> Result<TraceView, serde_json::Error> {
        Ok(TraceView { document: document.clone() })
    }
}

impl Deref for TraceView {
    type Target = Interaction;

    fn deref(&self) -> &Interaction {
        &self.document.interaction
    }
}

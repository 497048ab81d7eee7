//! callstitch-link: the per-site calls of one customer joined into one interaction.
//!
//! A customer call that crosses T-Servers becomes one call per server. The [`Linker`] takes
//! the finished calls of every site (from `callstitch-engine`) and what the event stream says
//! while they are live, joins them by evidence (Inter-Site Links, a CallUUID kept between SIP
//! Servers, consultations and merges, ISCC call history), orders them by the direction of that
//! evidence rather than by clocks, and hands out each [`Interaction`] with who released it.
//! Pure and deterministic like the engine: events and calls in, interactions out.

mod archive;
pub mod clocks;
pub mod evidence;
pub mod interaction;
pub mod linker;
pub mod news;
pub mod segment;
pub mod sites;
pub mod snapshot;
pub mod stitcher;

pub use callstitch_engine::{PartyKind, SnapshotError};
pub use clocks::{EstateClocks, LiveClock, SiteTime};
pub use evidence::{Edge, EvidenceKind};
pub use interaction::{
    Calls, ClockOffset, EndedBy, EndedByCandidate, Interaction, Lifecycle, LinkReport, Linking, OffsetMethod,
    SegmentRef, SegmentReport, SegmentRole, Who,
};
pub use linker::{Linker, LinkerConfig, LinkerStats, SECOND};
pub use news::{CallNews, EvidenceNews};
pub use segment::{CallEnding, Segment, SegmentEnd, SegmentId, SegmentParty};
pub use sites::SiteDirectory;
pub use snapshot::{LinkerState, StitcherState};
pub use stitcher::{stitch, Stitcher};

/// The word an enum of the interaction JSON is written as (its serde name), for text output
/// and database columns: `word(&SegmentRole::Root)` is `root`.
pub fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

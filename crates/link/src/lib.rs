//! callstitch-link: the per-site calls of one customer joined into one interaction.
//!
//! A customer call that crosses T-Servers becomes one call per server. The [`Linker`] takes
//! the finished calls of every site (from `callstitch-engine`) and what the event stream says
//! while they are live, joins them by evidence (Inter-Site Links, a CallUUID kept between SIP
//! Servers, consultations and merges, ISCC call history), orders them by the direction of that
//! evidence rather than by clocks, and hands out each [`Interaction`] with who released it.
//! Pure and deterministic like the engine: events and calls in, interactions out.

pub mod evidence;
pub mod interaction;
pub mod linker;
pub mod segment;
pub mod sites;
pub mod snapshot;
pub mod stitcher;

pub use callstitch_engine::SnapshotError;
pub use evidence::{Edge, EvidenceKind};
pub use interaction::{ClockOffset, EndedBy, Interaction, LinkReport, SegmentRef, SegmentReport};
pub use linker::{Linker, LinkerConfig, LinkerStats, SECOND};
pub use segment::{Segment, SegmentId};
pub use sites::SiteDirectory;
pub use snapshot::{LinkerState, StitcherState};
pub use stitcher::{stitch, Stitcher};

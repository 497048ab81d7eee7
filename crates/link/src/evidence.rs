//! Evidence that two segments belong to one customer interaction (multi-site.md §4).
//!
//! Every edge keeps its kind, the link id when there is one, whether its two ends agree,
//! and whether its direction came from clocks rather than from the evidence itself.

use callstitch_tlib::Text;
use serde::{Deserialize, Serialize};

callstitch_tlib::labelled_enum! {
    /// The kinds of evidence, strongest first.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum EvidenceKind {
        /// An Inter-Site Link id reported by both servers: `source` on one, `target` on the other.
        Islink => "islink",
        /// The same CallUUID on two servers (SIP Server to SIP Server keeps it).
        SameCallUuid => "same-call-uuid",
        /// A consultation call made from a main call on the same server.
        Consultation => "consultation",
        /// A call merged into another on the same server (two-step completion, RefCallUUID).
        Merge => "merge",
        /// ISCC call history: the destination's LastTransferConnID and LastTransferHomeLocation
        /// name a call at the sending site, within a time window.
        IsccCallHistory => "iscc-call-history",
    }
}

/// A directed edge between two segments (by their serial numbers in the linker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    pub from: u64,
    pub to: u64,
    pub kind: EvidenceKind,
    /// The Inter-Site Link id, for `Islink` edges.
    pub link: Option<Text>,
    /// False when the two ends disagree (both `source`, a location-name naming a third
    /// server): the edge is kept and reported.
    pub consistent: bool,
    /// The direction comes from the segments' start times, not from the evidence.
    pub time_ordered: bool,
    pub note: Option<String>,
}

impl Edge {
    /// True when the edge tells which segment came first.
    pub fn orders(&self) -> bool {
        !self.time_ordered && self.kind != EvidenceKind::Merge
    }

    /// The same evidence between the same two segments, whatever its direction.
    pub fn same_as(&self, other: &Edge) -> bool {
        let same_pair = (self.from == other.from && self.to == other.to)
            || (self.from == other.to && self.to == other.from);
        same_pair && self.kind == other.kind && self.link == other.link
    }
}

//! The truth: what really happened in each simulated interaction, one JSON object per line.
//!
//! The shape is the linker's output shape (`callstitch trace --json`): interaction id,
//! completeness, ordered segments with their ConnIDs, parties and outcome, links, and who
//! released the interaction. The truth adds what only the simulator knows: the scenario,
//! whether a segment is a consultation, and the media files recording should have produced.
//! The same types read the linker's output for [`crate::verify`], so every field that only
//! one side has is optional.

use serde::{Deserialize, Serialize};

/// One customer interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// Stable id derived from the root segment: `<site>:<CallUUID>`.
    pub interaction_id: String,
    #[serde(default)]
    pub complete: bool,
    /// Segments in causal order, root first.
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<ReleasedBy>,
    /// Truth only: the scenario that produced it (see docs/simulator.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Truth only: the media files recording should have produced (recording.md §5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaFile>,
}

/// One call on one server: (site, CallUUID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub site: String,
    pub call_uuid: String,
    #[serde(default)]
    pub conn_ids: Vec<String>,
    #[serde(default)]
    pub parties: Vec<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Truth only: a consultation call (CallType Consult) made from a main call.
    #[serde(default, skip_serializing_if = "is_false")]
    pub consultation: bool,
}

impl Segment {
    /// The segment's identity: (site, CallUUID).
    pub fn key(&self) -> SegmentRef {
        SegmentRef { site: self.site.clone(), call_uuid: self.call_uuid.clone() }
    }
}

/// One appearance of a DN on a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub dn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `null` for a party that left (every party of a complete call).
    #[serde(default)]
    pub final_state: Option<String>,
    /// `self`, `other` or `unknown`, as the party left (absent for a diversion or routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    /// Truth only: how the party left (`released`, `abandoned`, `diverted`, `routed`,
    /// `left-by-transfer`, `left-by-conference`, `removed-from-conference`, `moved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
}

/// An edge between two segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The Inter-Site Link id, when the edge is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub islink: Option<String>,
    /// The evidence: `islink`, `call-uuid` (same CallUUID on two SIP Servers),
    /// `consultation` (main call → consultation on one server).
    #[serde(default)]
    pub kind: String,
    pub from: SegmentRef,
    pub to: SegmentRef,
}

/// A segment's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SegmentRef {
    pub site: String,
    pub call_uuid: String,
}

/// Who ended the interaction (release.md §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedBy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// `customer`, `agent`, `system` or `unknown`.
    pub who: String,
    /// In the truth: the strongest evidence the logs carry for it (`ctrl-party.call`,
    /// `releasing-party`, `abandon-pattern`, or `none` when the logs cannot tell).
    #[serde(default)]
    pub provenance: String,
    /// Found only: on an `unknown` verdict, the guess of the low rung (docs/trace-json.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<Candidate>,
}

/// A found verdict's candidate: who the order of the releases suggests, never a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(default)]
    pub who: String,
}

/// A media file recording should have produced (recording.md §2–§5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFile {
    /// The site whose recording server wrote it.
    pub site: String,
    /// The CallUUID of the segment it was recorded on.
    pub call_uuid: String,
    pub conn_id: String,
    /// The recorded side's DN (the customer's number for customer-side recording).
    pub recorded_dn: String,
    /// `agent` or `customer`.
    pub recorded_side: String,
    /// `<CallUUID>_<date>_<time>-<hex>-<hex>-<counter>`: also the GSIP_REC_FN user data.
    pub media_id: String,
    pub start: String,
    pub stop: String,
    /// Why the file ended: `left` (the recorded party left), `refer` (the site left the
    /// signalling path), `transfer-away` (agent recording ends at a multi-site transfer),
    /// `call-end`.
    pub ended_by: String,
    /// Who the file must hear at least: its recorded side, and the customer on a file of a
    /// call the customer was on (not a consultation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heard: Vec<String>,
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// Reads interactions from JSON lines (blank lines skipped); the error names the line.
pub fn read_interactions(text: &str) -> Result<Vec<Interaction>, crate::SimError> {
    let mut interactions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let interaction = serde_json::from_str(line)
            .map_err(|source| crate::SimError::Json { line: index as u64 + 1, source })?;
        interactions.push(interaction);
    }
    Ok(interactions)
}

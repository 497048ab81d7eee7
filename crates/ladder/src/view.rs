//! What the ladder reads of an interaction: its view of the interaction document
//! (`callstitch_pipeline::TraceDocument`, docs/trace-json.md, with its `recording` member of
//! docs/recording.md), made from the typed document ([`TraceView::of`]) or read tolerantly
//! from a `trace --json` object from outside.
//!
//! Only the fields the picture needs are read, as the words the JSON gives them. Unknown
//! fields are ignored and every field has a default, so an object written by an older (or
//! newer) callstitch still draws.

use callstitch_pipeline::TraceDocument;
use serde::Deserialize;

/// One interaction, as `callstitch trace --json` prints it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TraceView {
    pub interaction_id: String,
    pub revision: u32,
    pub complete: bool,
    pub linking: String,
    /// `live`, `settling` or `complete`.
    pub state: String,
    /// `active`, `ended` or `truncated`.
    pub calls: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub ani: Option<String>,
    pub dnis: Option<String>,
    pub sites: Vec<String>,
    pub segments: Vec<SegmentView>,
    pub links: Vec<LinkView>,
    pub outcome: String,
    pub released_by: EndedByView,
    pub clock_offsets: Vec<ClockOffsetView>,
    pub notes: Vec<String>,
    pub recording: Option<RecordingView>,
}

impl TraceView {
    /// The view of an interaction document.
    pub fn of(document: &TraceDocument) -> Result<TraceView, serde_json::Error> {
        serde_json::from_value(document.to_value()?)
    }
}

/// One call of the interaction on one site.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SegmentView {
    pub site: String,
    pub location: Option<String>,
    pub call_uuid: Option<String>,
    pub key: String,
    pub conn_ids: Vec<String>,
    pub role: String,
    pub model: String,
    pub conformant: bool,
    pub outcome: String,
    pub parties: Vec<PartyView>,
    pub ended_by: EndedByView,
    pub start: Option<String>,
    pub end: Option<String>,
    pub ended: bool,
}

impl SegmentView {
    /// True when `uuid` is this call's CallUUID or key.
    pub fn names(&self, uuid: &str) -> bool {
        self.call_uuid.as_deref() == Some(uuid) || self.key == uuid
    }
}

/// One party (DN) of a call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PartyView {
    pub dn: String,
    pub kind: String,
    pub role: Option<String>,
    pub final_state: String,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    pub provenance: String,
    /// The queue (ThisQueue) that delivered the call to this party, when one did.
    pub queue: Option<String>,
    /// The agent logged in on the DN, when the events named one.
    pub agent_id: Option<String>,
    /// How long the party spent in each state, in milliseconds.
    pub times: PartyTimesView,
    /// The party's states in time order, on its site's own clock.
    pub spans: Vec<StateSpanView>,
}

/// Milliseconds a party spent dialing, ringing, queued, talking and held.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PartyTimesView {
    pub dialing_ms: f64,
    pub ringing_ms: f64,
    pub queued_ms: f64,
    pub talking_ms: f64,
    pub held_ms: f64,
}

/// One state of a party from `start` to `end` (RFC 3339, the site's own clock): the
/// engine's PartyState names in kebab case (`initiated`, `dialing`, `held-dialing`,
/// `queued`, `routing`, `alerting`, `busy`, `connected`, `held`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StateSpanView {
    pub state: String,
    pub start: Option<String>,
    pub end: Option<String>,
    /// The party was still in this state when its call's events ended (`end` is then the
    /// call's last event).
    pub open: bool,
}

/// Who ended a call or the interaction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EndedByView {
    pub dn: Option<String>,
    pub site: Option<String>,
    pub who: String,
    pub provenance: String,
    pub conflict: bool,
    /// For an `unknown` verdict: the low rung's guess.
    pub candidate: Option<CandidateView>,
}

/// A guess about who ended a call, never a verdict.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CandidateView {
    pub dn: Option<String>,
    pub site: Option<String>,
    pub who: String,
    pub provenance: String,
    pub confidence: String,
}

/// Evidence between two calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LinkView {
    pub evidence: String,
    pub islink: Option<String>,
    pub from: SegmentRefView,
    pub to: SegmentRefView,
    pub consistent: bool,
    pub note: Option<String>,
}

/// One end of a link.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SegmentRefView {
    pub site: String,
    pub call_uuid: Option<String>,
    pub key: String,
}

/// `site`'s clock minus `relative_to`'s.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClockOffsetView {
    pub site: String,
    pub relative_to: String,
    pub offset_ms: f64,
    pub links: u64,
    pub method: String,
}

/// The interaction's recording.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecordingView {
    pub recording_id: String,
    pub media_files: Vec<MediaFileView>,
    pub findings: Vec<FindingView>,
}

/// One media file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MediaFileView {
    pub media_id: String,
    pub site: String,
    pub call_uuid: String,
    pub recorded_dn: String,
    pub side: String,
    pub start: String,
    pub stop: Option<String>,
    pub provenance: String,
}

/// A recording finding (P1–P10).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FindingView {
    pub rule: String,
    pub segments: Vec<String>,
    pub files: Vec<String>,
    pub message: String,
}

//! The rows a store writes, built once from the pipeline's own types so that every backend
//! stores the same thing: raw events, finished calls, interactions with their segments,
//! parties, links, findings and recording, media files, and the stitching snapshot; and what
//! a store renders on read instead of storing: the recording metadata
//! ([`render_recording`]) and the search list's row ([`Summary`]).

use callstitch_engine::{CallReport, FinishedCall};
use callstitch_link::segment::{PartyTimes, SegmentParty};
use callstitch_link::{Interaction, SegmentReport};
use callstitch_pipeline::{RecordingDocument, TraceDocument};
use callstitch_recording::{recording_metadata, MediaFile, Recording};
use callstitch_tlib::{json, Event, Timestamp};
use serde_json::{json, Value};

/// One atomic ingest step. Empty parts are fine; an empty batch is a no-op.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<EventRecord>,
    pub calls: Vec<CallRecord>,
    pub interactions: Vec<InteractionRecord>,
    pub media: Vec<MediaRecord>,
    /// The media posts taken in this step, in order (replayed after a crash).
    pub media_posts: Vec<MediaPost>,
    /// The file sources' positions after this batch's events (replaces the stored ones).
    pub positions: Option<String>,
    /// The stitching state after this batch (replaces the stored one).
    pub snapshot: Option<Snapshot>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.calls.is_empty()
            && self.interactions.is_empty()
            && self.media.is_empty()
            && self.media_posts.is_empty()
            && self.positions.is_none()
            && self.snapshot.is_none()
    }
}

/// The stitching state as of the event numbered `seq` (every event up to it included) and
/// the media post numbered `media_posts` (every post up to it included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub state: Vec<u8>,
    pub media_posts: u64,
}

/// One media post (`POST /v1/media`) as the pipeline took it: numbered in the order taken
/// (from 1), after the event numbered `after_seq` (0: before any). A restart gives the posts
/// after its snapshot to the pipeline again, each at the same point among the replayed
/// events as the first time round; the merged file of `media_files` could not say when its
/// start and its stop came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPost {
    pub ordinal: u64,
    pub after_seq: u64,
    /// The post's feed files as the pipeline takes them, as JSON.
    pub files: String,
}

/// One raw event, numbered in ingest order.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: u64,
    pub site: String,
    pub time_us: Option<i64>,
    pub message: String,
    pub call_uuid: Option<String>,
    pub conn_id: Option<String>,
    /// The JSON-lines document (docs/event-json.md), which reads back as the same event.
    pub doc: String,
    /// Wall time it arrived at a live service (UTC µs).
    pub arrived_us: Option<i64>,
}

impl EventRecord {
    pub fn new(seq: u64, event: &Event, arrived_us: Option<i64>) -> EventRecord {
        let mut doc = Vec::with_capacity(512);
        // Writing JSON into a Vec cannot fail for an Event (all keys are strings).
        let _ = json::write_json_line(&mut doc, event);
        if doc.last() == Some(&b'\n') {
            doc.pop();
        }
        EventRecord {
            seq,
            site: event.site.to_string(),
            time_us: event.time().map(|time| time.0),
            message: event.message.name().to_string(),
            call_uuid: event.call_uuid.as_ref().map(|uuid| uuid.as_str().to_string()),
            conn_id: event.conn_id.map(|conn| conn.to_string()),
            // serde_json writes UTF-8: taken as it is, not copied (the lossy reading stays for
            // what cannot happen).
            doc: String::from_utf8(doc)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
            arrived_us,
        }
    }
}

/// One finished call: its report (docs/check-json.md).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub site: String,
    pub key: String,
    pub call_uuid: Option<String>,
    pub conn_ids: Vec<String>,
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
    pub model: String,
    pub outcome: String,
    pub conformant: bool,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    /// The ids of the Inter-Site Links the call took part in, paired or not: a link whose
    /// other end never came is found by them.
    pub islinks: Vec<String>,
    /// The report as JSON text (docs/check-json.md).
    pub report: String,
}

use callstitch_link::word as label;

impl CallRecord {
    pub fn new(call: &FinishedCall) -> CallRecord {
        let report = CallReport::from_call(call);
        CallRecord {
            site: call.site.to_string(),
            key: call.key.clone(),
            call_uuid: call.call_uuid.as_ref().map(|uuid| uuid.as_str().to_string()),
            conn_ids: call.conn_ids.iter().map(|conn| conn.to_string()).collect(),
            first_us: call.first_time.map(|time| time.0),
            last_us: call.last_time.map(|time| time.0),
            model: label(&call.model),
            outcome: label(&call.outcome),
            conformant: call.conformant,
            released_by: call.release.ended_by.kind.label().to_string(),
            released_by_dn: call.release.ended_by.dn.as_ref().map(|dn| dn.to_string()),
            islinks: {
                let mut ids: Vec<String> = call.is_links.iter().map(|link| link.id.to_string()).collect();
                ids.sort();
                ids.dedup();
                ids
            },
            report: serde_json::to_string(&report).unwrap_or_else(|_| "null".to_string()),
        }
    }
}

/// One segment row of an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub site: String,
    pub key: String,
    pub call_uuid: Option<String>,
    pub role: String,
    pub model: String,
    pub outcome: String,
    /// Its call's first and last event (UTC µs of its site's clock).
    pub start_us: Option<i64>,
    pub end_us: Option<i64>,
}

/// One party row (on one segment), with the time it spent in each state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartyRow {
    pub segment: usize,
    pub dn: String,
    pub kind: String,
    pub role: Option<String>,
    pub final_state: String,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    pub provenance: String,
    /// The queue that delivered it (ThisQueue of its first event that gave one).
    pub queue: Option<String>,
    /// AttributeAgentID its events carried.
    pub agent_id: Option<String>,
    pub times: PartyTimes,
    /// Its first and last event on the call (UTC µs): not in the interaction document, and
    /// needed to render the recording metadata's history.
    pub first_us: Option<i64>,
    pub last_us: Option<i64>,
}

/// One link row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub evidence: String,
    pub islink: Option<String>,
    pub from: String,
    pub to: String,
    pub consistent: bool,
}

/// One media file of an interaction's recording (fed or inferred).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFileRow {
    pub media_id: String,
    pub site: String,
    pub call_uuid: String,
    pub recorded_dn: String,
    pub side: String,
    pub provenance: String,
    pub matched_by: String,
    /// The segment it was recorded on, `site/key`.
    pub segment: Option<String>,
    pub start_us: i64,
    pub stop_us: Option<i64>,
    pub archive_id: Option<String>,
}

/// One interaction with everything searchable and reportable about it, and its document.
/// The recording metadata and the search list's summary are not stored: they are rendered
/// on read ([`render_recording`], [`Summary`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRecord {
    pub id: String,
    pub revision: u32,
    /// Ids it was handed out under before: their rows go, and they become aliases.
    pub replaces: Vec<String>,
    /// Start time for ordering; 0 when unknown.
    pub start_us: i64,
    pub end_us: Option<i64>,
    pub complete: bool,
    /// `live`, `settling` or `complete` (the interaction's lifecycle).
    pub state: String,
    /// `complete`, `complete-off-estate`, `timed-out` or `waiting`.
    pub linking: String,
    /// Live: the site whose call has the customer now, and since when.
    pub current_site: Option<String>,
    pub current_since_us: Option<i64>,
    pub outcome: String,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    pub ani: Option<String>,
    pub dnis: Option<String>,
    pub sites: Vec<String>,
    pub segments: Vec<SegmentRow>,
    pub parties: Vec<PartyRow>,
    pub links: Vec<LinkRow>,
    /// Link ids with one end only (the interaction's `unpaired_links`).
    pub unpaired_links: Vec<String>,
    pub conn_ids: Vec<String>,
    pub recording_id: String,
    pub media_files: Vec<MediaFileRow>,
    pub findings: Vec<Value>,
    /// The `trace --json` object, with its `recording` member, as JSON text.
    pub doc: String,
    /// Its first hand-out (revision 0) is in this batch: the live stream says `created`.
    pub first: bool,
}

/// The first and last event of each party, in the order of the interaction's parties
/// (segment by segment): what the document leaves out and the recording metadata needs.
pub type PartyEventTimes = Vec<(Option<i64>, Option<i64>)>;

/// The recording metadata (GIR recording.json shape) of a stored interaction document,
/// given its parties' first and last events in order, as the JSON the API hands out.
pub fn render_recording(
    document: &TraceDocument,
    party_times: &PartyEventTimes,
) -> Result<Value, serde_json::Error> {
    let mut interaction = document.interaction.clone();
    let mut times = party_times.iter();
    for party in interaction.segments.iter_mut().flat_map(|segment| segment.parties.iter_mut()) {
        let (first, last) = times.next().copied().unwrap_or((None, None));
        party.first_time = first.map(Timestamp);
        party.last_time = last.map(Timestamp);
    }
    recording_metadata(&document.recording(), &interaction).to_value()
}

/// Microseconds of a time, `None` when it has none.
fn micros(time: Option<Timestamp>) -> Option<i64> {
    time.map(|time| time.0)
}

fn segment_row(segment: &SegmentReport) -> SegmentRow {
    SegmentRow {
        site: segment.site.to_string(),
        key: segment.key.clone(),
        call_uuid: segment.call_uuid.clone(),
        role: label(&segment.role),
        model: segment.model.as_ref().map(label).unwrap_or_default(),
        outcome: label(&segment.outcome),
        start_us: micros(segment.start),
        end_us: micros(segment.end),
    }
}

fn party_row(segment: usize, party: &SegmentParty) -> PartyRow {
    PartyRow {
        segment,
        dn: party.dn.to_string(),
        kind: label(&party.kind),
        role: party.role.as_ref().map(|role| role.to_string()),
        final_state: label(&party.final_state),
        released_by: label(&party.released_by),
        released_by_dn: party.released_by_dn.as_ref().map(|dn| dn.to_string()),
        provenance: label(&party.provenance),
        queue: party.queue.as_ref().map(|queue| queue.to_string()),
        agent_id: party.agent_id.as_ref().map(|agent| agent.to_string()),
        times: party.times,
        first_us: micros(party.first_time),
        last_us: micros(party.last_time),
    }
}

pub(crate) fn media_file_row(file: &MediaFile) -> MediaFileRow {
    MediaFileRow {
        media_id: file.media_id.clone(),
        site: file.site.clone(),
        call_uuid: file.call_uuid.clone(),
        recorded_dn: file.recorded_dn.clone(),
        side: file.side.label().to_string(),
        provenance: label(&file.provenance),
        matched_by: file.matched_by.to_string(),
        segment: file.segment.clone(),
        start_us: file.start_at.0,
        stop_us: micros(file.stop_at),
        archive_id: file.archive_id.clone(),
    }
}

/// The tables that hang off an interaction by `interaction_id`, in every backend.
pub const CHILD_TABLES: &[&str] = &[
    "segments",
    "parties",
    "interaction_dns",
    "interaction_conn_ids",
    "links",
    "interaction_islinks",
    "findings",
    "interaction_media_files",
];

/// A list as JSON text.
fn json_text(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

/// The list columns of an interaction's row, as JSON text (what the search list's row is
/// rendered from, [`crate::search::SummaryRow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListColumns {
    /// NULL when it replaces nothing.
    pub replaces: Option<String>,
    pub sites: String,
    pub call_uuids: String,
    pub party_dns: String,
}

impl CallRecord {
    /// Its ConnIDs as the JSON text of the `conn_ids` column.
    pub fn conn_ids_json(&self) -> String {
        json_text(&self.conn_ids)
    }
}

impl InteractionRecord {
    /// Its list columns ([`ListColumns`]).
    pub fn list_columns(&self) -> ListColumns {
        ListColumns {
            replaces: (!self.replaces.is_empty()).then(|| json_text(&self.replaces)),
            sites: json_text(&self.sites),
            call_uuids: json_text(&self.call_uuids()),
            party_dns: json_text(&self.party_dns()),
        }
    }

    /// The record of an interaction and its recording (a copy of both: the service builds
    /// its records with [`InteractionRecord::of`]).
    pub fn new(interaction: &Interaction, recording: &Recording) -> InteractionRecord {
        InteractionRecord::of(&TraceDocument::new(interaction.clone(), recording.clone()))
    }

    /// The record of an interaction document.
    pub fn of(document: &TraceDocument) -> InteractionRecord {
        let interaction = &document.interaction;
        let no_recording = RecordingDocument::default();
        let recording = document.recording.as_ref().unwrap_or(&no_recording);
        let doc = serde_json::to_string(document).unwrap_or_else(|_| "null".to_string());
        let parties = interaction
            .segments
            .iter()
            .enumerate()
            .flat_map(|(index, segment)| segment.parties.iter().map(move |party| party_row(index, party)))
            .collect();
        let links = interaction
            .links
            .iter()
            .map(|link| LinkRow {
                evidence: label(&link.evidence),
                islink: link.islink.as_ref().map(|id| id.to_string()),
                from: format!("{}/{}", link.from.site, link.from.key),
                to: format!("{}/{}", link.to.site, link.to.key),
                consistent: link.consistent,
            })
            .collect();
        let mut conn_ids: Vec<String> =
            interaction.segments.iter().flat_map(|segment| segment.conn_ids.iter().cloned()).collect();
        conn_ids.sort();
        conn_ids.dedup();
        let findings: Vec<Value> =
            recording.findings.iter().filter_map(|finding| serde_json::to_value(finding).ok()).collect();
        InteractionRecord {
            id: interaction.interaction_id.clone(),
            revision: interaction.revision,
            replaces: interaction.replaces.clone(),
            start_us: interaction.start.map_or(0, |time| time.0),
            end_us: micros(interaction.end),
            complete: interaction.complete,
            state: label(&interaction.state),
            linking: label(&interaction.linking),
            current_site: interaction.current_site.as_ref().map(|site| site.to_string()),
            current_since_us: micros(interaction.current_since),
            outcome: label(&interaction.outcome),
            released_by: label(&interaction.released_by.who),
            released_by_dn: interaction.released_by.dn.as_ref().map(|dn| dn.to_string()),
            ani: interaction.ani.as_ref().map(|ani| ani.to_string()),
            dnis: interaction.dnis.as_ref().map(|dnis| dnis.to_string()),
            sites: interaction.sites.iter().map(|site| site.to_string()).collect(),
            segments: interaction.segments.iter().map(segment_row).collect(),
            parties,
            links,
            unpaired_links: interaction.unpaired_links.iter().map(|id| id.to_string()).collect(),
            conn_ids,
            recording_id: recording.recording_id.clone(),
            media_files: recording.media_files.iter().map(media_file_row).collect(),
            findings,
            doc,
            first: interaction.first_under_id,
        }
    }

    /// Every DN the search by DN finds it with: its parties', the ANI and the DNIS.
    pub fn dns(&self) -> Vec<&str> {
        let mut dns: Vec<&str> = self.parties.iter().map(|party| party.dn.as_str()).collect();
        dns.extend(self.ani.as_deref());
        dns.extend(self.dnis.as_deref());
        dns.sort_unstable();
        dns.dedup();
        dns
    }

    /// Its segments' CallUUIDs (a segment's key without one), in order.
    pub fn call_uuids(&self) -> Vec<String> {
        self.segments
            .iter()
            .map(|segment| segment.call_uuid.clone().unwrap_or_else(|| segment.key.clone()))
            .collect()
    }

    /// Its parties' DNs, sorted, once each.
    pub fn party_dns(&self) -> Vec<String> {
        let mut parties: Vec<String> = self.parties.iter().map(|party| party.dn.clone()).collect();
        parties.sort_unstable();
        parties.dedup();
        parties
    }

    /// The row of the search result list, as a store renders it on read.
    pub fn summary(&self) -> Value {
        Summary {
            interaction_id: self.id.clone(),
            revision: self.revision,
            replaces: self.replaces.clone(),
            start_us: self.start_us,
            end_us: self.end_us,
            complete: self.complete,
            state: self.state.clone(),
            current_site: self.current_site.clone(),
            current_since_us: self.current_since_us,
            linking: self.linking.clone(),
            sites: self.sites.clone(),
            call_uuids: self.call_uuids(),
            parties: self.party_dns(),
            ani: self.ani.clone(),
            dnis: self.dnis.clone(),
            outcome: self.outcome.clone(),
            released_by: self.released_by.clone(),
            released_by_dn: self.released_by_dn.clone(),
            recording_id: self.recording_id.clone(),
            media_files: self.media_files.len(),
            findings: self.findings.len(),
        }
        .render()
    }
}

/// What the search list's row is made of: the interaction's typed columns, its segments'
/// CallUUIDs (or keys) in order and its parties' DNs, sorted, once each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub interaction_id: String,
    pub revision: u32,
    pub replaces: Vec<String>,
    /// 0: unknown.
    pub start_us: i64,
    pub end_us: Option<i64>,
    pub complete: bool,
    pub state: String,
    pub current_site: Option<String>,
    pub current_since_us: Option<i64>,
    pub linking: String,
    pub sites: Vec<String>,
    pub call_uuids: Vec<String>,
    pub parties: Vec<String>,
    pub ani: Option<String>,
    pub dnis: Option<String>,
    pub outcome: String,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    pub recording_id: String,
    pub media_files: usize,
    pub findings: usize,
}

impl Summary {
    /// From its start to its end (so far, while live), when both are known.
    pub fn duration_us(&self) -> Option<i64> {
        let start = (self.start_us != 0).then_some(self.start_us)?;
        Some(self.end_us? - start)
    }

    /// Every text of the row, to mask the customer's numbers wherever they appear.
    pub fn texts_mut(&mut self) -> impl Iterator<Item = &mut String> {
        let single = [
            &mut self.interaction_id,
            &mut self.state,
            &mut self.linking,
            &mut self.outcome,
            &mut self.released_by,
            &mut self.recording_id,
        ];
        let optional = [&mut self.current_site, &mut self.ani, &mut self.dnis, &mut self.released_by_dn];
        single
            .into_iter()
            .chain(optional.into_iter().flatten())
            .chain(self.replaces.iter_mut())
            .chain(self.sites.iter_mut())
            .chain(self.call_uuids.iter_mut())
            .chain(self.parties.iter_mut())
    }

    /// The JSON row (docs/serve.md, `GET /v1/interactions`).
    pub fn render(&self) -> Value {
        let time = |micros: Option<i64>| micros.map(Timestamp);
        json!({
            "interaction_id": self.interaction_id,
            "revision": self.revision,
            "replaces": self.replaces,
            "start": time((self.start_us != 0).then_some(self.start_us)),
            "end": time(self.end_us),
            "complete": self.complete,
            "state": self.state,
            "current_site": self.current_site,
            "current_since": time(self.current_since_us),
            "linking": self.linking,
            "sites": self.sites,
            "calls": self.call_uuids.len(),
            "call_uuids": self.call_uuids,
            "parties": self.parties,
            "ani": self.ani,
            "dnis": self.dnis,
            "outcome": self.outcome,
            "released_by": {"who": self.released_by, "dn": self.released_by_dn},
            "recording_id": self.recording_id,
            "recorded": self.media_files > 0,
            "media_files": self.media_files,
            "findings": self.findings,
        })
    }
}

/// A row is written as its JSON row ([`Summary::render`]).
impl serde::Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.render().serialize(serializer)
    }
}

/// One media file of the recording-side feed, as received (docs/recording.md).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    pub media_id: String,
    pub site: String,
    pub call_uuid: String,
    /// The feed object(s) for it, merged: start and (once known) stop.
    pub doc: Value,
}

/// A media file posted again, merged into the one stored (its JSON text): the stored one is
/// kept (the first start wins, so a start posted again does not erase a known stop) and
/// only gains the values it lacks (a stop, an archive id). `None` when nothing changes; the
/// posted one when the stored text is unreadable.
pub fn merged_media(stored: &str, posted: &Value) -> Option<Value> {
    let Ok(mut doc) = serde_json::from_str::<Value>(stored) else { return Some(posted.clone()) };
    fill_missing(&mut doc, posted).then_some(doc)
}

/// Sets the fields of `stored` that are missing or null to their value in `posted`; true when
/// one was.
fn fill_missing(stored: &mut Value, posted: &Value) -> bool {
    let (Some(stored), Some(posted)) = (stored.as_object_mut(), posted.as_object()) else { return false };
    let mut filled = false;
    for (key, value) in posted {
        if !value.is_null() && stored.get(key).is_none_or(Value::is_null) {
            stored.insert(key.clone(), value.clone());
            filled = true;
        }
    }
    filled
}

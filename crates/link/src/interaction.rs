//! One customer interaction: its segments in order, the evidence between them, where it is
//! in its life, whether its linking is complete, who released it, and the clock offsets its
//! links reveal.
//!
//! Order comes from the direction of the evidence (a link's source before its target, a main
//! call before its consultation), never from comparing clocks of different sites; only ties
//! are broken by start time, and the interaction says so. A consultation merged into its main
//! call stands right after it, and its links count as the main call's (multi-site.md §4.2).
//! Everything here is typed: times are [`Timestamp`]s and enumerations are enums whose serde
//! names are the words of docs/trace-json.md; JSON is made only at the edges.

use std::collections::BTreeMap;

// The tables of one interaction's build are small and only looked up (or iterated into
// something sorted or order-free): Fx hashing, as the linker's own tables (SipHash was
// a tenth of `build`).
use rustc_hash::FxHashMap as HashMap;

use callstitch_engine::{CallModel, Confidence, EnderKind, Outcome, Provenance};
use callstitch_tlib::{EventProvenance, SipEnd, SipEndKind, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::evidence::{Edge, EvidenceKind};
use crate::segment::{Segment, SegmentParty};
use crate::sites::SiteDirectory;

callstitch_tlib::labelled_enum! {
    /// Where an interaction is in its life.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Lifecycle {
        /// A call of it is alive: the customer is in the system now.
        Live => "live",
        /// Every call ended; it waits for late evidence (the linger, an unpaired link's other
        /// end, a hand-off's continuation, an ISCC origin).
        Settling => "settling",
        /// Nothing more is waited for.
        Complete => "complete",
    }
}

callstitch_tlib::labelled_enum! {
    /// The linking verdict (ICON's three rules, multi-site.md §6.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Linking {
        /// Every link paired.
        Complete => "complete",
        /// The links left lead to sites callstitch does not read.
        CompleteOffEstate => "complete-off-estate",
        /// A link's other end never came within the link timeout after every call ended.
        TimedOut => "timed-out",
        /// A link's other end may still come.
        Waiting => "waiting",
    }
}

/// Whether the interaction's calls are over (multi-site.md §6.1's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calls {
    /// A call is still alive.
    Active,
    /// Every call's end was seen.
    Ended,
    /// The input ended (or a call timed out) before a call's end was seen.
    Truncated,
}

/// A segment's place in its interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegmentRole {
    /// The first call.
    Root,
    /// A call the customer was handed on to.
    Hop,
    /// A consultation made from an earlier call of its site.
    Consultation,
    /// A consultation merged into the call before it.
    Merged,
}

impl SegmentRole {
    /// The customer's own calls: not a consultation or a merged call.
    pub fn is_main(self) -> bool {
        matches!(self, SegmentRole::Root | SegmentRole::Hop)
    }
}

/// Who ended a segment or the interaction, in the customer's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    Customer,
    Agent,
    System,
    Unknown,
}

/// How a clock offset was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetMethod {
    /// Links both ways: the network delay cancels out.
    TwoWay,
    /// Links one way only: the delay is included.
    OneWay,
}

/// A segment as the interaction reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentReport {
    pub site: Text,
    /// The full location name of the site, as its partners call it, when learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    /// The call's key on its site (the CallUUID, or `~<ConnID>-<n>` without one).
    pub key: String,
    pub conn_ids: Vec<String>,
    pub role: SegmentRole,
    /// The call model, once the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<CallModel>,
    pub conformant: bool,
    pub outcome: Outcome,
    pub parties: Vec<SegmentParty>,
    pub ended_by: EndedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// The call's end was seen (false: still live, idle timeout or end of input).
    pub ended: bool,
    /// The call is still alive.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
    /// `sip-layer` when the call was rebuilt from a SIP Server log's SIP layer (no T-Library
    /// event records); left out for T-Library events.
    #[serde(default, skip_serializing_if = "is_t_library")]
    pub provenance: EventProvenance,
    /// How the SIP layer says the call ended: who sent the BYE, CANCEL, REFER or final error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_end: Option<SipEnd>,
}

fn is_t_library(provenance: &EventProvenance) -> bool {
    *provenance == EventProvenance::TLibrary
}

/// Who ended a segment or the whole interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedBy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Text>,
    pub who: Who,
    /// The rung of the release ladder that decided it (release.md §3).
    pub provenance: Provenance,
    pub conflict: bool,
    /// When `who` is `unknown` but a low rung had an answer: that answer, its rung, its
    /// confidence and why it cannot decide (docs/trace-json.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<EndedByCandidate>,
}

/// A guess about who ended a segment or the interaction, never a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedByCandidate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Text>,
    pub who: Who,
    pub provenance: Provenance,
    pub confidence: Confidence,
    pub reason: String,
}

impl EndedBy {
    fn unknown() -> EndedBy {
        EndedBy {
            dn: None,
            site: None,
            who: Who::Unknown,
            provenance: Provenance::Unknown,
            conflict: false,
            candidate: None,
        }
    }
}

/// One end of an edge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SegmentRef {
    pub site: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    pub key: String,
}

/// Evidence between two segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    pub evidence: EvidenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub islink: Option<Text>,
    pub from: SegmentRef,
    pub to: SegmentRef,
    pub consistent: bool,
    /// The direction came from start times, not from the evidence.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub time_ordered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How far one site's clock is from another's, estimated from the link pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockOffset {
    pub site: Text,
    pub relative_to: Text,
    /// `site`'s clock minus `relative_to`'s, in milliseconds.
    pub offset_ms: f64,
    pub links: usize,
    pub method: OffsetMethod,
}

/// One customer interaction across sites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// Stable: derived from the root segment's site and key.
    pub interaction_id: String,
    /// 0 when first handed out; every later hand-out (live: each change) counts one up.
    pub revision: u32,
    /// Ids this interaction was handed out under before evidence changed its root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// `live`, `settling` or `complete`.
    pub state: Lifecycle,
    /// Linking complete (or off-estate, or timed out with every call ended).
    pub complete: bool,
    pub linking: Linking,
    /// `active`, `ended` or `truncated`.
    pub calls: Calls,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpaired_links: Vec<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<Text>,
    pub sites: Vec<Text>,
    /// Live: the site whose call has the customer now (the last of the customer's own calls
    /// still alive), and since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_site: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_since: Option<Timestamp>,
    pub segments: Vec<SegmentReport>,
    pub links: Vec<LinkReport>,
    pub outcome: Outcome,
    pub released_by: EndedBy,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock_offsets: Vec<ClockOffset>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Handed out under this id for the first time (a live stream says `created`); not in
    /// the JSON.
    #[serde(skip)]
    pub first_under_id: bool,
    /// Live: complete, but kept for late evidence that could still join it (an unpaired link,
    /// a hand-off, a call whose end was lost, or any call of a named site that has sent
    /// nothing yet): it may be handed out again after a long while. Not in the JSON.
    #[serde(skip)]
    pub reopenable: bool,
}

impl Interaction {
    /// True when the interaction holds the segment (`site`, `key` or CallUUID).
    pub fn has_segment(&self, site: &str, call_uuid: &str) -> bool {
        self.segments.iter().any(|segment| segment.site == site && segment.key == call_uuid)
    }
}

/// What the builder needs from the linker besides the segments and edges.
pub(crate) struct Context<'a> {
    pub sites: &'a SiteDirectory,
    pub unpaired: &'a [Text],
    /// Some link leads to a site callstitch does not read (ICON's rule 2).
    pub off_estate: bool,
    /// Every unpaired link waited its timeout.
    pub timed_out: bool,
    pub lifecycle: Lifecycle,
    pub notes: &'a [String],
}

/// Builds the interaction of a component.
pub(crate) fn build(segments: &[(u64, &Segment)], edges: &[Edge], context: &Context<'_>) -> Interaction {
    let by_serial: HashMap<u64, &Segment> = segments.iter().copied().collect();
    debug_assert!(!segments.is_empty(), "an interaction has a segment");
    let edges: Vec<Edge> = edges
        .iter()
        .filter(|edge| by_serial.contains_key(&edge.from) && by_serial.contains_key(&edge.to))
        .cloned()
        .collect();
    let edges = edges.as_slice();
    let (order, mut notes) = order(segments, edges);
    let locations = locations(edges, &by_serial, context.sites);
    notes.extend(context.notes.iter().cloned());
    let roles = roles(&order, segments, edges);
    let reports: Vec<SegmentReport> =
        order.iter().map(|serial| segment_report(by_serial[serial], roles[serial], &locations)).collect();
    let root = by_serial[&order[0]];
    let any_live = segments.iter().any(|(_, segment)| segment.is_live());
    let all_ended = segments.iter().all(|(_, segment)| segment.end.as_ref().is_some_and(|end| end.complete));
    let calls = match (any_live, all_ended) {
        (true, _) => Calls::Active,
        (false, true) => Calls::Ended,
        (false, false) => Calls::Truncated,
    };
    let linking = match (context.unpaired.is_empty(), context.timed_out && !any_live) {
        (true, _) if context.off_estate => Linking::CompleteOffEstate,
        (true, _) => Linking::Complete,
        (false, true) => Linking::TimedOut,
        (false, false) => Linking::Waiting,
    };
    let last_customer = last_customer_segment(&order, &by_serial, &roles);
    notes.extend(sip_layer_notes(&order, &by_serial, &roles, edges));
    for edge in edges.iter().filter(|edge| !edge.consistent) {
        notes.push(format!(
            "inconsistent {} evidence between {} and {}",
            edge.kind.label(),
            segment_name(by_serial[&edge.from]),
            segment_name(by_serial[&edge.to])
        ));
    }
    notes.sort();
    notes.dedup();
    let mut sites: Vec<Text> = order.iter().map(|serial| by_serial[serial].id.site.clone()).collect();
    sites.dedup();
    let current = current_segment(&order, &by_serial, &roles);
    let (outcome, released_by) = match last_customer.end.as_ref() {
        Some(end) if !any_live => (end.outcome, ended_by(last_customer)),
        _ => (Outcome::InProgress, EndedBy::unknown()),
    };
    Interaction {
        interaction_id: interaction_id(root),
        revision: 0,
        replaces: Vec::new(),
        state: context.lifecycle,
        complete: linking != Linking::Waiting,
        linking,
        calls,
        unpaired_links: context.unpaired.to_vec(),
        start: segments.iter().filter_map(|(_, segment)| segment.first_time).min(),
        end: segments.iter().filter_map(|(_, segment)| segment.last_time).max().filter(|_| !any_live),
        ani: root.ani.clone(),
        dnis: root.dnis.clone(),
        sites,
        current_site: current.map(|segment| segment.id.site.clone()),
        current_since: current.and_then(|segment| segment.first_time),
        segments: reports,
        links: link_reports(edges, &by_serial, &order),
        outcome,
        released_by,
        clock_offsets: clock_offsets(edges, &by_serial),
        notes,
        first_under_id: true,
        reopenable: false,
    }
}

/// The interaction id: 16 hex digits of a fixed 64-bit hash of the root's site and key, so
/// the same input gives the same id on any machine and in any order. FNV-1a, then the
/// MurmurHash3 finaliser, so that roots with neighbouring CallUUIDs get ids that do not look
/// alike.
pub fn interaction_id(root: &Segment) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in root.id.site.as_bytes().iter().chain([0_u8].iter()).chain(root.id.key.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..16).map(|index| char::from(DIGITS[((hash >> (60 - 4 * index)) & 0xf) as usize])).collect()
}

/// Segments in interaction order, and notes on how ties were broken.
fn order(segments: &[(u64, &Segment)], edges: &[Edge]) -> (Vec<u64>, Vec<String>) {
    let by_serial: HashMap<u64, &Segment> = segments.iter().copied().collect();
    let survivor = survivors(segments, edges);
    let representative = |serial: u64| survivor.get(&serial).copied().unwrap_or(serial);
    let tie_key = |serial: &u64| (by_serial[serial].start_key(), by_serial[serial].id.clone());
    let mut nodes: Vec<u64> = segments
        .iter()
        .map(|(serial, _)| *serial)
        .filter(|serial| representative(*serial) == *serial)
        .collect();
    nodes.sort_by_key(tie_key);
    let mut incoming: BTreeMap<u64, usize> = nodes.iter().map(|node| (*node, 0)).collect();
    let mut outgoing: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for edge in edges.iter().filter(|edge| edge.orders()) {
        let (from, to) = (representative(edge.from), representative(edge.to));
        if from == to || outgoing.get(&from).is_some_and(|targets| targets.contains(&to)) {
            continue;
        }
        outgoing.entry(from).or_default().push(to);
        *incoming.entry(to).or_default() += 1;
    }
    let mut ordered = Vec::with_capacity(segments.len());
    let mut notes = Vec::new();
    let mut remaining = nodes.clone();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|node| incoming.get(node).copied().unwrap_or(0) == 0);
        let index = ready.unwrap_or_else(|| {
            notes.push("the evidence forms a cycle; it was broken at the earliest segment".to_string());
            0
        });
        let node = remaining.remove(index);
        for target in outgoing.get(&node).into_iter().flatten() {
            if let Some(count) = incoming.get_mut(target) {
                *count = count.saturating_sub(1);
            }
        }
        ordered.push(node);
        let mut merged: Vec<u64> =
            survivor.iter().filter(|(_, into)| **into == node).map(|(serial, _)| *serial).collect();
        merged.sort_by_key(tie_key);
        ordered.extend(merged);
    }
    let tied = nodes.len() > 1 && !edges.iter().any(Edge::orders);
    if tied {
        notes.push("no evidence gives a direction between these segments: ordered by start time".to_string());
    }
    debug_assert_eq!(ordered.len(), segments.len(), "every segment is placed once");
    (ordered, notes)
}

/// Merged segment → the segment it ended into (following chains).
fn survivors(segments: &[(u64, &Segment)], edges: &[Edge]) -> HashMap<u64, u64> {
    let direct: HashMap<u64, u64> = edges
        .iter()
        .filter(|edge| edge.kind == EvidenceKind::Merge)
        .map(|edge| (edge.from, edge.to))
        .collect();
    let mut result = HashMap::default();
    for (serial, _) in segments {
        let mut current = *serial;
        let mut steps = 0;
        while let Some(next) = direct.get(&current) {
            current = *next;
            steps += 1;
            if steps > segments.len() {
                break;
            }
        }
        if current != *serial && !direct.contains_key(&current) {
            result.insert(*serial, current);
        }
    }
    result
}

fn roles(order: &[u64], segments: &[(u64, &Segment)], edges: &[Edge]) -> HashMap<u64, SegmentRole> {
    let merged: Vec<u64> =
        edges.iter().filter(|edge| edge.kind == EvidenceKind::Merge).map(|edge| edge.from).collect();
    let consultations: Vec<u64> =
        edges.iter().filter(|edge| edge.kind == EvidenceKind::Consultation).map(|edge| edge.to).collect();
    segments
        .iter()
        .map(|(serial, _)| {
            let role = if Some(serial) == order.first() {
                SegmentRole::Root
            } else if merged.contains(serial) {
                SegmentRole::Merged
            } else if consultations.contains(serial) {
                SegmentRole::Consultation
            } else {
                SegmentRole::Hop
            };
            (*serial, role)
        })
        .collect()
}

/// The last segment that still had the customer: not a consultation or a merged call, and
/// not one that only handed the call on, when a later one exists (release.md §6).
fn last_customer_segment<'a>(
    order: &[u64],
    by_serial: &HashMap<u64, &'a Segment>,
    roles: &HashMap<u64, SegmentRole>,
) -> &'a Segment {
    let main: Vec<&Segment> =
        order.iter().filter(|serial| roles[*serial].is_main()).map(|serial| by_serial[serial]).collect();
    main.iter()
        .rev()
        .find(|segment| segment.end.as_ref().is_none_or(|end| end.release.outcome != "handed-off"))
        .or(main.last())
        .copied()
        .unwrap_or(by_serial[&order[0]])
}

/// A call read from the SIP layer only that handed the customer on with nothing after it:
/// where a hop needs an Inter-Site Link, the SIP layer cannot show it (issue 18).
fn sip_layer_notes(
    order: &[u64],
    by_serial: &HashMap<u64, &Segment>,
    roles: &HashMap<u64, SegmentRole>,
    edges: &[Edge],
) -> Vec<String> {
    let continued =
        |serial: &u64| edges.iter().any(|edge| edge.from == *serial && edge.kind != EvidenceKind::Merge);
    order
        .iter()
        .filter(|serial| roles[*serial].is_main() && !continued(serial))
        .map(|serial| by_serial[serial])
        .filter(|segment| {
            let referred = segment.end.as_ref().and_then(|end| end.sip_end.as_ref()).is_some_and(|end| end.kind == SipEndKind::Refer);
            segment.sip_layer() && (referred || segment.handed_off())
        })
        .map(|segment| {
            format!(
                "{}: handed the customer on, but its log has only the SIP layer (no T-Library event records): a hop that needs an Inter-Site Link cannot be linked from this site's log",
                segment_name(segment)
            )
        })
        .collect()
}

/// Live: the customer's own call that is alive and latest in order.
fn current_segment<'a>(
    order: &[u64],
    by_serial: &HashMap<u64, &'a Segment>,
    roles: &HashMap<u64, SegmentRole>,
) -> Option<&'a Segment> {
    order
        .iter()
        .rev()
        .filter(|serial| roles[*serial].is_main())
        .map(|serial| by_serial[serial])
        .find(|segment| segment.is_live())
}

fn ended_by(segment: &Segment) -> EndedBy {
    let Some(end) = segment.end.as_ref() else { return EndedBy::unknown() };
    let who = |kind: EnderKind| match kind {
        EnderKind::Customer => Who::Customer,
        EnderKind::Agent => Who::Agent,
        EnderKind::System | EnderKind::Application | EnderKind::Network => Who::System,
        EnderKind::Unknown => Who::Unknown,
    };
    let site = |dn: &Option<Text>| dn.as_ref().map(|_| segment.id.site.clone());
    let verdict = &end.release;
    let candidate = verdict.candidate.as_ref().map(|candidate| EndedByCandidate {
        dn: candidate.ended_by.dn.clone(),
        site: site(&candidate.ended_by.dn),
        who: who(candidate.ended_by.kind),
        provenance: candidate.provenance,
        confidence: candidate.confidence,
        reason: candidate.reason.clone(),
    });
    EndedBy {
        dn: verdict.ended_by.dn.clone(),
        site: site(&verdict.ended_by.dn),
        who: who(verdict.ended_by.kind),
        provenance: verdict.provenance,
        conflict: verdict.conflict,
        candidate,
    }
}

fn segment_name(segment: &Segment) -> String {
    format!("{}/{}", segment.id.site, segment.id.key)
}

fn segment_ref(segment: &Segment) -> SegmentRef {
    SegmentRef {
        site: segment.id.site.clone(),
        call_uuid: segment.call_uuid.as_ref().map(|uuid| uuid.as_str().to_owned()),
        key: segment.id.key.clone(),
    }
}

/// Each site's full `<application>@<switch>` name, as the other end of a link of this
/// interaction calls it (the least of several), else as configured: taken from the
/// interaction's own evidence, so that it does not depend on what else was read first.
fn locations(
    edges: &[Edge],
    by_serial: &HashMap<u64, &Segment>,
    sites: &SiteDirectory,
) -> HashMap<Text, Text> {
    let mut names: HashMap<Text, Text> = HashMap::default();
    for edge in edges.iter().filter(|edge| edge.kind == EvidenceKind::Islink) {
        let (Some(link), Some(from), Some(to)) =
            (&edge.link, by_serial.get(&edge.from), by_serial.get(&edge.to))
        else {
            continue;
        };
        for (here, there) in [(from, to), (to, from)] {
            let Some(location) =
                here.links.iter().find(|end| end.id == *link).and_then(|end| end.location.as_ref())
            else {
                continue;
            };
            if !(location.contains('@') && SiteDirectory::names(location, &there.id.site)) {
                continue;
            }
            let known = names.entry(there.id.site.clone()).or_insert_with(|| location.clone());
            if location < known {
                *known = location.clone();
            }
        }
    }
    for segment in by_serial.values() {
        if let Some(configured) = sites.configured_full_name(&segment.id.site) {
            names.entry(segment.id.site.clone()).or_insert_with(|| configured.clone());
        }
    }
    names
}

fn segment_report(segment: &Segment, role: SegmentRole, locations: &HashMap<Text, Text>) -> SegmentReport {
    let end = segment.end.as_ref();
    SegmentReport {
        site: segment.id.site.clone(),
        location: locations.get(&segment.id.site).cloned(),
        call_uuid: segment.call_uuid.as_ref().map(|uuid| uuid.as_str().to_owned()),
        key: segment.id.key.clone(),
        conn_ids: segment.conn_ids.iter().map(|conn| conn.to_string()).collect(),
        role,
        model: end.map(|end| end.model),
        conformant: end.is_none_or(|end| end.conformant),
        outcome: end.map_or(Outcome::InProgress, |end| end.outcome),
        parties: segment.parties().to_vec(),
        ended_by: ended_by(segment),
        start: segment.first_time,
        end: segment.last_time,
        ended: !segment.is_live() && end.is_some_and(|end| end.complete),
        live: segment.is_live(),
        provenance: end.map(|end| end.provenance).unwrap_or_default(),
        sip_end: end.and_then(|end| end.sip_end.clone()),
    }
}

/// The evidence, in the order of the segments it leaves from and goes to.
fn link_reports(edges: &[Edge], by_serial: &HashMap<u64, &Segment>, order: &[u64]) -> Vec<LinkReport> {
    let position = |serial: u64| order.iter().position(|known| *known == serial).unwrap_or(usize::MAX);
    let mut sorted: Vec<&Edge> = edges.iter().collect();
    sorted.sort_by_key(|edge| (position(edge.from), position(edge.to), edge.kind, edge.link.clone()));
    sorted
        .into_iter()
        .map(|edge| LinkReport {
            evidence: edge.kind,
            islink: edge.link.clone(),
            from: segment_ref(by_serial[&edge.from]),
            to: segment_ref(by_serial[&edge.to]),
            consistent: edge.consistent,
            time_ordered: edge.time_ordered,
            note: edge.note.clone(),
        })
        .collect()
}

/// Per pair of sites: the offset of one clock from the other, from the times each server
/// first reported the links between them. With links both ways the network delay cancels.
fn clock_offsets(edges: &[Edge], by_serial: &HashMap<u64, &Segment>) -> Vec<ClockOffset> {
    let mut deltas: BTreeMap<(Text, Text), Vec<i64>> = BTreeMap::new();
    for edge in edges.iter().filter(|edge| edge.kind == EvidenceKind::Islink && edge.consistent) {
        let (source, target) = (by_serial[&edge.from], by_serial[&edge.to]);
        let seen = |segment: &Segment| {
            segment
                .links
                .iter()
                .find(|end| Some(&end.id) == edge.link.as_ref())
                .and_then(|end| end.first_seen)
        };
        let (Some(sent), Some(received)) = (seen(source), seen(target)) else { continue };
        deltas.entry((source.id.site.clone(), target.id.site.clone())).or_default().push(received.0 - sent.0);
    }
    let mut offsets = Vec::new();
    let pairs: Vec<(Text, Text)> = deltas.keys().cloned().collect();
    for (from, to) in pairs {
        if from > to && deltas.contains_key(&(to.clone(), from.clone())) {
            continue;
        }
        let forward = median(&deltas[&(from.clone(), to.clone())]);
        let backward = deltas.get(&(to.clone(), from.clone()));
        let links = deltas[&(from.clone(), to.clone())].len() + backward.map_or(0, Vec::len);
        let (offset, method) = match backward {
            Some(backward) => ((forward - median(backward)) / 2.0, OffsetMethod::TwoWay),
            None => (forward, OffsetMethod::OneWay),
        };
        offsets.push(ClockOffset { site: to, relative_to: from, offset_ms: offset / 1000.0, links, method });
    }
    offsets
}

fn median(values: &[i64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => 0.0,
        length if length % 2 == 1 => sorted[length / 2] as f64,
        length => (sorted[length / 2 - 1] + sorted[length / 2]) as f64 / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{SegmentEnd, SegmentId};
    use callstitch_engine::{CallVerdict, Confidence, EndReason, Ender};
    use callstitch_tlib::CallUuid;

    /// The words of docs/trace-json.md: a renamed label would break the readers of `trace
    /// --json`, the store and the API.
    #[test]
    fn enum_labels_are_the_documented_json_names() {
        use serde_json::json;
        assert_eq!(json!(EvidenceKind::SameCallUuid), json!("same-call-uuid"));
        assert_eq!(json!(EvidenceKind::IsccCallHistory), json!("iscc-call-history"));
        assert_eq!(json!(Lifecycle::Settling), json!("settling"));
        assert_eq!(json!(Linking::CompleteOffEstate), json!("complete-off-estate"));
        for kind in EvidenceKind::ALL {
            let text = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(serde_json::from_str::<EvidenceKind>(&text).ok(), Some(kind));
        }
        assert_eq!(Lifecycle::ALL.map(Lifecycle::label), ["live", "settling", "complete"]);
    }

    fn ended_segment(provenance: EventProvenance, sip_end: Option<SipEndKind>) -> Segment {
        let id = SegmentId { site: Text::from("SIP_A"), key: "UUID-1".to_string() };
        let mut segment = Segment::opened(id, Some(CallUuid::new("UUID-1")), Some(Timestamp(0)), 0);
        segment.live_calls = 0;
        segment.end = Some(SegmentEnd {
            model: CallModel::CallBasedOnly,
            conformant: true,
            outcome: Outcome::Transferred,
            release: CallVerdict {
                ended_by: Ender { dn: None, kind: EnderKind::Unknown, resolved: false },
                outcome: "handed-off",
                ctrl_party_raw: None,
                provenance: Provenance::Unknown,
                confidence: Confidence::None,
                conflict: false,
                evidence: Vec::new(),
                candidate: None,
            },
            parties: Vec::new(),
            complete: true,
            end_reason: EndReason::CallDeleted,
            provenance,
            sip_end: sip_end.map(|kind| SipEnd { kind, by: None, detail: None, reason: None, call_id: None }),
        });
        segment
    }

    fn notes_of(segment: &Segment) -> Vec<String> {
        let context = Context {
            sites: &SiteDirectory::default(),
            unpaired: &[],
            off_estate: false,
            timed_out: false,
            lifecycle: Lifecycle::Complete,
            notes: &[],
        };
        build(&[(0, segment)], &[], &context).notes
    }

    #[test]
    fn a_sip_layer_call_that_referred_the_customer_on_says_the_hop_cannot_be_linked_from_its_log() {
        let notes = notes_of(&ended_segment(EventProvenance::SipLayer, Some(SipEndKind::Refer)));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("cannot be linked from this site's log"), "{notes:?}");
    }

    #[test]
    fn a_t_library_call_or_a_sip_layer_call_that_ended_by_bye_says_nothing_of_it() {
        assert!(notes_of(&ended_segment(EventProvenance::TLibrary, Some(SipEndKind::Refer))).is_empty());
        assert!(notes_of(&ended_segment(EventProvenance::SipLayer, Some(SipEndKind::Bye))).is_empty());
    }
}

//! The linker: finished calls of every site in, whole customer interactions out.
//!
//! Segments are joined by evidence (Inter-Site Links, a CallUUID shared across SIP Servers,
//! consultation and merge pointers, ISCC call history). Interactions are the connected
//! groups, kept as components merged small into large, so any arrival order of the sites'
//! streams gives the same groups. An interaction is handed out once its linking is settled
//! and a quiet period of event time has passed; evidence that arrives later re-opens it and
//! it is handed out again as a revision. Nothing here reads a clock or does I/O.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap as HashMap;

use callstitch_engine::FinishedCall;
use callstitch_tlib::{CallUuid, ConnId, Event, LinkRole, Text, Timestamp};

use crate::evidence::{Edge, EvidenceKind};
use crate::interaction::{self, Interaction};
use crate::segment::{CallHistory, Segment, SegmentId};
use crate::sites::SiteDirectory;

/// One second of event time, in microseconds.
pub const SECOND: i64 = 1_000_000;

/// How long the linker waits for evidence, in event time (microseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkerConfig {
    /// After an interaction's last call ended, wait this long for more evidence before it
    /// is handed out.
    pub linger: i64,
    /// How long an unpaired link waits for its other end after all the calls of its
    /// interaction ended (ICON's rule 3); then the interaction is complete as timed out.
    pub link_timeout: i64,
    /// ISCC call history matches an origin call alive at the destination's start or ended at
    /// most this long before it ...
    pub iscc_window: i64,
    /// ... give or take this much clock disagreement between the sites.
    pub clock_tolerance: i64,
    /// How long a handed-out interaction stays in memory to take late (post-mortem) evidence.
    pub revision_grace: i64,
    /// How long a consultation or merged call waits for the call it points to (the main call
    /// can outlive it by the length of a conversation).
    pub pointer_wait: i64,
}

impl Default for LinkerConfig {
    fn default() -> Self {
        LinkerConfig {
            linger: 120 * SECOND,
            link_timeout: 600 * SECOND,
            iscc_window: 60 * SECOND,
            clock_tolerance: 5 * SECOND,
            revision_grace: 600 * SECOND,
            pointer_wait: 3_600 * SECOND,
        }
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkerStats {
    pub segments: u64,
    pub duplicate_segments: u64,
    pub edges: u64,
    pub interactions: u64,
    pub revisions: u64,
    pub peak_segments_in_memory: u64,
}

/// An interaction being built.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Component {
    pub(crate) segments: Vec<u64>,
    edges: Vec<Edge>,
    /// Bumped on every change, to tell stale schedule entries.
    version: u64,
    /// What was handed out last, if it was.
    emitted: Option<Emitted>,
    notes: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Emitted {
    id: String,
    /// Ids of components merged into this one that were handed out under their own id:
    /// the next revision replaces them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    absorbed: Vec<String>,
    revision: u32,
    /// The component's version when it was handed out: a later version has news.
    version: u64,
}

/// Link ids of one call with the time each was first reported.
pub(crate) type LinkSightings = Vec<(Text, Option<Timestamp>)>;

/// A pointer from a segment to another segment of its site that has not arrived yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) enum Wanted {
    Uuid(Text, CallUuid),
    Conn(Text, ConnId),
}

/// The linker. Feed it every event (`observe`) and every finished call (`add_call`) of all
/// sites, move time on (`advance_to`), and take interactions as they are settled.
pub struct Linker {
    config: LinkerConfig,
    pub(crate) sites: SiteDirectory,
    pub(crate) next_serial: u64,
    pub(crate) segments: HashMap<u64, Segment>,
    pub(crate) by_id: HashMap<SegmentId, u64>,
    pub(crate) component_of: HashMap<u64, u64>,
    pub(crate) components: HashMap<u64, Component>,
    pub(crate) by_link: HashMap<Text, Vec<u64>>,
    pub(crate) by_uuid: HashMap<CallUuid, Vec<u64>>,
    pub(crate) by_site_conn: HashMap<(Text, ConnId), Vec<u64>>,
    /// Segments whose pointer (consultation, merge, ISCC origin) waits for its target.
    pub(crate) waiting: HashMap<Wanted, Vec<u64>>,
    /// Link first-seen times and call history of calls still live, by (site, CallUUID).
    pub(crate) observed_links: HashMap<(Text, CallUuid), LinkSightings>,
    pub(crate) observed_history: HashMap<(Text, CallUuid), CallHistory>,
    pub(crate) due: BinaryHeap<Reverse<(i64, u64, u64)>>,
    pub(crate) watermark: i64,
    pub(crate) stats: LinkerStats,
    /// Interactions dropped from memory so far.
    pub(crate) forgotten: u64,
}

/// How many dropped interactions between two sweeps of stale waiting pointers.
const WAITING_SWEEP: u64 = 4096;

impl Linker {
    /// A linker for the monitored `sites` (links to any other location lead off the estate).
    pub fn new(config: LinkerConfig, sites: SiteDirectory) -> Linker {
        Linker {
            config,
            sites,
            next_serial: 0,
            segments: HashMap::default(),
            by_id: HashMap::default(),
            component_of: HashMap::default(),
            components: HashMap::default(),
            by_link: HashMap::default(),
            by_uuid: HashMap::default(),
            by_site_conn: HashMap::default(),
            waiting: HashMap::default(),
            observed_links: HashMap::default(),
            observed_history: HashMap::default(),
            due: BinaryHeap::new(),
            watermark: i64::MIN,
            stats: LinkerStats::default(),
            forgotten: 0,
        }
    }

    pub fn stats(&self) -> &LinkerStats {
        &self.stats
    }

    pub fn sites(&self) -> &SiteDirectory {
        &self.sites
    }

    /// Segments held now (interactions in progress and those still revisable).
    pub fn segments_in_memory(&self) -> usize {
        self.segments.len()
    }

    /// Notes what the call view says while a call is live: when each Inter-Site Link was
    /// first reported, and the ISCC call history of a call that came from another site.
    pub fn observe(&mut self, event: &Event) {
        let Some(uuid) = &event.call_uuid else { return };
        if let Some(links) = &event.is_links {
            let seen = self.observed_links.entry((event.site.clone(), uuid.clone())).or_default();
            for link in links {
                if !seen.iter().any(|(id, _)| *id == link.id) {
                    seen.push((link.id.clone(), event.time()));
                }
            }
        }
        if event.last_transfer_home_location.is_some() && event.last_transfer_conn_id.is_some() {
            let history = CallHistory {
                last_transfer_conn_id: event.last_transfer_conn_id,
                last_transfer_home_location: event.last_transfer_home_location.clone(),
                last_transfer_orig_dn: event.last_transfer_orig_dn.clone(),
            };
            self.observed_history.entry((event.site.clone(), uuid.clone())).or_insert(history);
        }
    }

    /// Takes a finished call of any site.
    pub fn add_call(&mut self, call: FinishedCall, out: &mut impl FnMut(Interaction)) {
        let observed_key = call.call_uuid.clone().map(|uuid| (call.site.clone(), uuid));
        let seen = observed_key.as_ref().and_then(|key| self.observed_links.remove(key)).unwrap_or_default();
        let history =
            observed_key.as_ref().and_then(|key| self.observed_history.remove(key)).unwrap_or_default();
        if let Some(time) = call.last_time {
            self.watermark = self.watermark.max(time.0);
        }
        let segment = Segment::from_call(call, seen, history);
        self.stats.segments += 1;
        let serial = match self.by_id.get(&segment.id).copied() {
            Some(serial) => {
                self.stats.duplicate_segments += 1;
                if let Some(known) = self.segments.get_mut(&serial) {
                    known.absorb(segment);
                }
                self.touch(serial);
                serial
            }
            None => self.insert(segment),
        };
        self.connect(serial);
        self.schedule(serial);
        self.stats.peak_segments_in_memory =
            self.stats.peak_segments_in_memory.max(self.segments.len() as u64);
        self.emit_due(out);
    }

    /// Moves event time on to `time`: interactions whose quiet period passed are handed out.
    pub fn advance_to(&mut self, time: Timestamp, out: &mut impl FnMut(Interaction)) {
        self.watermark = self.watermark.max(time.0);
        self.emit_due(out);
    }

    /// The input ended: every interaction still held is handed out (unless it was already and
    /// has not changed since).
    pub fn finish(&mut self, out: &mut impl FnMut(Interaction)) {
        let mut ids: Vec<u64> = self.components.keys().copied().collect();
        ids.sort_by_cached_key(|id| self.component_start(*id));
        for id in ids {
            let changed = self.components.get(&id).is_some_and(|component| {
                component.emitted.as_ref().is_none_or(|emitted| emitted.version != component.version)
            });
            if changed {
                self.emit(id, out);
            }
        }
        self.segments.clear();
        self.components.clear();
        self.component_of.clear();
        self.by_id.clear();
        self.by_link.clear();
        self.by_uuid.clear();
        self.by_site_conn.clear();
        self.waiting.clear();
        self.observed_links.clear();
        self.observed_history.clear();
        self.due.clear();
    }

    // --- building ---

    fn insert(&mut self, segment: Segment) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.by_id.insert(segment.id.clone(), serial);
        self.component_of.insert(serial, serial);
        self.components.insert(serial, Component { segments: vec![serial], ..Component::default() });
        self.segments.insert(serial, segment);
        serial
    }

    /// Finds every piece of evidence that joins `serial` to what is known, both ways.
    fn connect(&mut self, serial: u64) {
        let Some(segment) = self.segments.get(&serial) else { return };
        let site = segment.id.site.clone();
        let link_ids: Vec<Text> = segment.links.iter().map(|link| link.id.clone()).collect();
        let call_uuid = segment.call_uuid.clone();
        let conn_ids = segment.conn_ids.clone();
        for link_id in &link_ids {
            let ends = self.by_link.entry(link_id.clone()).or_default();
            if !ends.contains(&serial) {
                ends.push(serial);
            }
            let partners: Vec<u64> = ends.iter().copied().filter(|other| *other != serial).collect();
            for partner in partners {
                self.link_edge(partner, serial, link_id);
            }
        }
        if let Some(uuid) = &call_uuid {
            let same = self.by_uuid.entry(uuid.clone()).or_default();
            if !same.contains(&serial) {
                same.push(serial);
            }
            let others: Vec<u64> = same.iter().copied().filter(|other| *other != serial).collect();
            for other in others {
                self.same_uuid_edge(other, serial);
            }
        }
        for conn in &conn_ids {
            let calls = self.by_site_conn.entry((site.clone(), *conn)).or_default();
            if !calls.contains(&serial) {
                calls.push(serial);
            }
        }
        self.resolve_pointers(serial);
        self.resolve_waiting_for(serial);
    }

    fn link_edge(&mut self, a: u64, b: u64, link_id: &Text) {
        let (Some(first), Some(second)) = (self.segments.get(&a), self.segments.get(&b)) else { return };
        if first.id.site == second.id.site {
            return;
        }
        let end_a = first.links.iter().find(|end| end.id == *link_id);
        let end_b = second.links.iter().find(|end| end.id == *link_id);
        let (Some(end_a), Some(end_b)) = (end_a, end_b) else { return };
        let mut notes = Vec::new();
        for (end, partner_site) in [(end_a, &second.id.site), (end_b, &first.id.site)] {
            if let Some(location) = &end.location {
                if !SiteDirectory::names(location, partner_site) {
                    notes.push(format!("location-name {location} does not name {partner_site}"));
                }
            }
        }
        let (from, to, consistent, time_ordered) = match (&end_a.role, &end_b.role) {
            (Some(LinkRole::Source), Some(LinkRole::Target)) => (a, b, true, false),
            (Some(LinkRole::Target), Some(LinkRole::Source)) => (b, a, true, false),
            (role_a, role_b) => {
                notes.push(format!(
                    "direction-roles {} and {} do not pair",
                    role_text(role_a),
                    role_text(role_b)
                ));
                let (from, to) = self.by_start(a, b);
                (from, to, false, true)
            }
        };
        let learned: Vec<(Text, Text)> = [(end_a, &second.id.site), (end_b, &first.id.site)]
            .into_iter()
            .filter_map(|(end, site)| end.location.clone().map(|location| (site.clone(), location)))
            .collect();
        for (site, location) in learned {
            self.sites.learn_full_name(&site, &location);
        }
        let edge = Edge {
            from,
            to,
            kind: EvidenceKind::Islink,
            link: Some(link_id.clone()),
            consistent: consistent && notes.is_empty(),
            time_ordered,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        };
        self.add_edge(edge);
    }

    fn same_uuid_edge(&mut self, a: u64, b: u64) {
        let (Some(first), Some(second)) = (self.segments.get(&a), self.segments.get(&b)) else { return };
        if first.id.site == second.id.site {
            return;
        }
        let (from, to) = self.by_start(a, b);
        let note = Some("direction by start time".to_string());
        let edge = Edge {
            from,
            to,
            kind: EvidenceKind::SameCallUuid,
            link: None,
            consistent: true,
            time_ordered: true,
            note,
        };
        self.add_edge(edge);
    }

    /// The pair in order of their start times (site and key break ties).
    fn by_start(&self, a: u64, b: u64) -> (u64, u64) {
        let key =
            |serial: u64| self.segments.get(&serial).map(|segment| (segment.start_key(), segment.id.clone()));
        if key(a) <= key(b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Resolves the segment's own pointers: consultation → main, merged → survivor, ISCC origin.
    fn resolve_pointers(&mut self, serial: u64) {
        let Some(segment) = self.segments.get(&serial).cloned() else { return };
        let site = segment.id.site.clone();
        if let Some(pointer) = &segment.consult_of {
            let at = segment.start_key();
            match self.find_on_site(&site, pointer.call_uuid.as_ref(), pointer.conn_id, at, serial) {
                Some(main) => {
                    self.add_edge(plain_edge(main, serial, EvidenceKind::Consultation, pointer.via))
                }
                None => self.wait_for(wanted(&site, pointer.call_uuid.as_ref(), pointer.conn_id), serial),
            }
        }
        if let Some(pointer) = &segment.merged_into {
            let at = segment.last_time.map_or(i64::MAX, |time| time.0);
            match self.find_on_site(&site, pointer.call_uuid.as_ref(), pointer.conn_id, at, serial) {
                Some(survivor) => {
                    self.add_edge(plain_edge(serial, survivor, EvidenceKind::Merge, pointer.via))
                }
                None => self.wait_for(wanted(&site, pointer.call_uuid.as_ref(), pointer.conn_id), serial),
            }
        }
        self.resolve_iscc(serial, &segment);
    }

    fn resolve_iscc(&mut self, serial: u64, segment: &Segment) {
        let (Some(conn), Some(location)) =
            (segment.history.last_transfer_conn_id, segment.history.last_transfer_home_location.clone())
        else {
            return;
        };
        let Some(origin_site) = self.sites.site_of(&location).cloned().or_else(|| self.site_named(&location))
        else {
            return;
        };
        match self.iscc_origin(&origin_site, conn, segment) {
            Some((origin, ambiguous)) => {
                let note = ambiguous.then(|| {
                    "several origin calls matched; the one ended closest before was taken".to_string()
                });
                let edge = Edge {
                    from: origin,
                    to: serial,
                    kind: EvidenceKind::IsccCallHistory,
                    link: None,
                    consistent: true,
                    time_ordered: false,
                    note,
                };
                self.add_edge(edge);
            }
            None => self.wait_for(Some(Wanted::Conn(origin_site, conn)), serial),
        }
    }

    /// A known site whose name the location names (when the directory was built empty).
    /// Several sites can match (by full and by application name): the least by name is
    /// taken, so that the answer does not depend on the order of a hash map.
    fn site_named(&self, location: &str) -> Option<Text> {
        self.segments
            .values()
            .map(|segment| &segment.id.site)
            .filter(|site| SiteDirectory::names(location, site))
            .min()
            .cloned()
    }

    /// The origin call of an ISCC transfer: on the origin site, with that ConnID, alive at the
    /// destination's start or ended at most the window before it. Several: the one that
    /// ended closest before, preferring one with the OrigDN as a party.
    fn iscc_origin(&self, site: &Text, conn: ConnId, destination: &Segment) -> Option<(u64, bool)> {
        let start = destination.first_time?.0;
        let candidates: Vec<u64> = self
            .by_site_conn
            .get(&(site.clone(), conn))?
            .iter()
            .copied()
            .filter(|candidate| {
                let Some(origin) = self.segments.get(candidate) else { return false };
                let began = origin.first_time.map_or(i64::MIN, |time| time.0);
                let ended = origin.last_time.map_or(i64::MAX, |time| time.0);
                began <= start + self.config.clock_tolerance
                    && ended + self.config.iscc_window + self.config.clock_tolerance >= start
            })
            .collect();
        let orig_dn = destination.history.last_transfer_orig_dn.as_deref();
        let best = candidates
            .iter()
            .filter_map(|candidate| self.segments.get(candidate).map(|origin| (*candidate, origin)))
            .min_by_key(|(_, origin)| {
                let has_dn = orig_dn.is_some_and(|dn| origin.parties.iter().any(|party| party.dn == dn));
                let ended = origin.last_time.map_or(i64::MAX, |time| time.0);
                (!has_dn, (start - ended).abs(), origin.id.clone())
            })
            .map(|(serial, _)| serial)?;
        Some((best, candidates.len() > 1))
    }

    /// The call on `site` a pointer names: by CallUUID, else by a ConnID the call had while
    /// it was alive at `at` (ConnIDs are reused, so a call alive at another time is not it).
    fn find_on_site(
        &self,
        site: &Text,
        uuid: Option<&CallUuid>,
        conn: Option<ConnId>,
        at: i64,
        not: u64,
    ) -> Option<u64> {
        if let Some(uuid) = uuid {
            let id = SegmentId { site: site.clone(), key: uuid.to_string() };
            if let Some(serial) = self.by_id.get(&id).copied().filter(|serial| *serial != not) {
                return Some(serial);
            }
        }
        let conn = conn?;
        let tolerance = self.config.clock_tolerance;
        self.by_site_conn
            .get(&(site.clone(), conn))?
            .iter()
            .copied()
            .filter(|serial| *serial != not)
            .filter_map(|serial| {
                let candidate = self.segments.get(&serial)?;
                let began = candidate.first_time.map_or(i64::MIN, |time| time.0);
                let ended = candidate.last_time.map_or(i64::MAX, |time| time.0);
                let distance = (began - at).max(at - ended).max(0);
                (distance <= tolerance).then(|| (distance, candidate.id.clone(), serial))
            })
            .min()
            .map(|(_, _, serial)| serial)
    }

    fn wait_for(&mut self, wanted: Option<Wanted>, serial: u64) {
        let Some(wanted) = wanted else { return };
        let waiting = self.waiting.entry(wanted).or_default();
        if !waiting.contains(&serial) {
            waiting.push(serial);
        }
    }

    /// Gives segments that waited for `serial` another try.
    fn resolve_waiting_for(&mut self, serial: u64) {
        let Some(segment) = self.segments.get(&serial) else { return };
        let mut keys = vec![];
        if let Some(uuid) = &segment.call_uuid {
            keys.push(Wanted::Uuid(segment.id.site.clone(), uuid.clone()));
        }
        keys.extend(segment.conn_ids.iter().map(|conn| Wanted::Conn(segment.id.site.clone(), *conn)));
        for key in keys {
            let Some(waiters) = self.waiting.remove(&key) else { continue };
            for waiter in waiters {
                if waiter != serial {
                    self.resolve_pointers(waiter);
                }
            }
        }
    }

    fn add_edge(&mut self, edge: Edge) {
        let (Some(&from), Some(&to)) = (self.component_of.get(&edge.from), self.component_of.get(&edge.to))
        else {
            return;
        };
        let target = self.union(from, to);
        let Some(component) = self.components.get_mut(&target) else { return };
        if component.edges.iter().any(|known| known.same_as(&edge)) {
            return;
        }
        self.stats.edges += 1;
        component.edges.push(edge);
        component.version += 1;
    }

    /// Merges two components, the smaller into the larger; returns the one that remains.
    fn union(&mut self, a: u64, b: u64) -> u64 {
        if a == b {
            return a;
        }
        let size = |id: &u64| self.components.get(id).map_or(0, |component| component.segments.len());
        let (large, small) = if size(&a) >= size(&b) { (a, b) } else { (b, a) };
        let Some(absorbed) = self.components.remove(&small) else { return large };
        for serial in &absorbed.segments {
            self.component_of.insert(*serial, large);
        }
        if let Some(component) = self.components.get_mut(&large) {
            component.segments.extend(absorbed.segments);
            component.edges.extend(absorbed.edges);
            component.notes.extend(absorbed.notes);
            component.version += 1;
            component.emitted = match (component.emitted.take(), absorbed.emitted) {
                (Some(a), Some(b)) => {
                    let (mut kept, lost) = if a.revision >= b.revision { (a, b) } else { (b, a) };
                    kept.absorbed.extend(lost.absorbed);
                    kept.absorbed.push(lost.id);
                    Some(kept)
                }
                (a, b) => a.or(b),
            };
        }
        large
    }

    // --- handing out ---

    fn schedule(&mut self, serial: u64) {
        let Some(&component_id) = self.component_of.get(&serial) else { return };
        let Some(component) = self.components.get(&component_id) else { return };
        let deadline = self.deadline(component);
        self.due.push(Reverse((deadline, component_id, component.version)));
    }

    /// When the component may be handed out: a quiet period after its last call, longer
    /// while a link waits for its other end.
    fn deadline(&self, component: &Component) -> i64 {
        let last = self.component_last(component);
        let wait = if self.has_unresolved_pointer(component) {
            self.config.pointer_wait
        } else if !self.unpaired_links(component).is_empty() || self.ends_by_hand_off(component) {
            self.config.link_timeout
        } else {
            self.config.linger
        };
        last.saturating_add(wait)
    }

    /// A consultation whose main call, or a merged call whose survivor, has not arrived.
    fn has_unresolved_pointer(&self, component: &Component) -> bool {
        component.segments.iter().any(|serial| {
            let Some(segment) = self.segments.get(serial) else { return false };
            let consult_open = segment.consult_of.is_some()
                && !component
                    .edges
                    .iter()
                    .any(|edge| edge.kind == EvidenceKind::Consultation && edge.to == *serial);
            let merge_open = segment.merged_into.is_some()
                && !component
                    .edges
                    .iter()
                    .any(|edge| edge.kind == EvidenceKind::Merge && edge.from == *serial);
            consult_open || merge_open
        })
    }

    /// The call that ended last only handed the customer on, and nothing in the interaction
    /// follows it yet: its continuation (a REFER to another SIP Server) may still come.
    fn ends_by_hand_off(&self, component: &Component) -> bool {
        let last = component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial).map(|segment| (serial, segment)))
            .max_by(|(_, a), (_, b)| (a.last_time, &a.id).cmp(&(b.last_time, &b.id)));
        let Some((serial, segment)) = last else { return false };
        let continued =
            component.edges.iter().any(|edge| edge.from == *serial && edge.kind != EvidenceKind::Merge);
        segment.end_reason == callstitch_engine::EndReason::HandedOff && !continued
    }

    /// Marks the segment's component changed.
    fn touch(&mut self, serial: u64) {
        let Some(component_id) = self.component_of.get(&serial) else { return };
        if let Some(component) = self.components.get_mut(component_id) {
            component.version += 1;
        }
    }

    fn component_last(&self, component: &Component) -> i64 {
        component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial))
            .filter_map(|segment| segment.last_time)
            .map(|time| time.0)
            .max()
            .unwrap_or(i64::MIN)
    }

    fn component_start(&self, id: u64) -> (i64, Option<SegmentId>) {
        let Some(component) = self.components.get(&id) else { return (i64::MAX, None) };
        component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial))
            .map(|segment| (segment.start_key(), Some(segment.id.clone())))
            .min()
            .unwrap_or((i64::MAX, None))
    }

    /// Link ids in the component with one end only, whose location is monitored.
    fn unpaired_links(&self, component: &Component) -> Vec<Text> {
        self.lone_link_ends(component, false)
    }

    /// Link ids with one end only: those leading to monitored sites, or (`off_estate`) those
    /// leading to sites callstitch does not read.
    fn lone_link_ends(&self, component: &Component, off_estate: bool) -> Vec<Text> {
        let mut lone = Vec::new();
        for serial in &component.segments {
            let Some(segment) = self.segments.get(serial) else { continue };
            for end in &segment.links {
                let paired = component.edges.iter().any(|edge| edge.link.as_ref() == Some(&end.id));
                let leads_off =
                    end.location.as_deref().is_some_and(|location| self.sites.is_off_estate(location));
                if !paired && leads_off == off_estate && !lone.contains(&end.id) {
                    lone.push(end.id.clone());
                }
            }
        }
        lone.sort();
        lone
    }

    fn emit_due(&mut self, out: &mut impl FnMut(Interaction)) {
        while let Some(Reverse((deadline, component_id, version))) = self.due.peek().copied() {
            if deadline > self.watermark {
                break;
            }
            self.due.pop();
            let Some(component) = self.components.get(&component_id) else { continue };
            if component.version != version {
                continue;
            }
            let news = component.emitted.as_ref().is_none_or(|emitted| emitted.version != component.version);
            if !news {
                self.forget(component_id);
                continue;
            }
            self.emit(component_id, out);
            let grace_end = deadline.saturating_add(self.config.revision_grace);
            if let Some(component) = self.components.get(&component_id) {
                self.due.push(Reverse((grace_end, component_id, component.version)));
            }
        }
    }

    fn emit(&mut self, component_id: u64, out: &mut impl FnMut(Interaction)) {
        let Some(component) = self.components.get(&component_id) else { return };
        let segments: Vec<(u64, &Segment)> = component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial).map(|segment| (*serial, segment)))
            .collect();
        if segments.is_empty() {
            return;
        }
        let unpaired = self.unpaired_links(component);
        let timed_out =
            self.watermark >= self.component_last(component).saturating_add(self.config.link_timeout);
        let off_estate = !self.lone_link_ends(component, true).is_empty();
        let context = interaction::Context {
            sites: &self.sites,
            unpaired: &unpaired,
            off_estate,
            timed_out,
            notes: &component.notes,
        };
        let mut built = interaction::build(&segments, &component.edges, &context);
        let previous = component.emitted.clone();
        if let Some(previous) = &previous {
            built.revision = previous.revision + 1;
            let earlier = std::iter::once(&previous.id).chain(&previous.absorbed);
            for id in earlier {
                if *id != built.interaction_id && !built.replaces.contains(id) {
                    built.replaces.push(id.clone());
                }
            }
            self.stats.revisions += 1;
        }
        if let Some(component) = self.components.get_mut(&component_id) {
            let version = component.version;
            component.emitted = Some(Emitted {
                id: built.interaction_id.clone(),
                absorbed: Vec::new(),
                revision: built.revision,
                version,
            });
        }
        self.stats.interactions += 1;
        out(built);
    }

    /// Drops a handed-out interaction whose revision grace has passed.
    fn forget(&mut self, component_id: u64) {
        let Some(component) = self.components.remove(&component_id) else { return };
        for serial in component.segments {
            self.component_of.remove(&serial);
            let Some(segment) = self.segments.remove(&serial) else { continue };
            self.by_id.remove(&segment.id);
            for link in &segment.links {
                remove_from(&mut self.by_link, &link.id, serial);
            }
            if let Some(uuid) = &segment.call_uuid {
                remove_from(&mut self.by_uuid, uuid, serial);
                self.waiting.remove(&Wanted::Uuid(segment.id.site.clone(), uuid.clone()));
            }
            for conn in &segment.conn_ids {
                remove_from(&mut self.by_site_conn, &(segment.id.site.clone(), *conn), serial);
            }
        }
        // Pointers that waited for calls that never came go stale as their segments leave;
        // sweeping them on every drop would cost a pass over all waiters, so sweep now and
        // then (resolving a stale waiter is a no-op meanwhile).
        self.forgotten += 1;
        if self.forgotten % WAITING_SWEEP == 0 {
            for waiters in self.waiting.values_mut() {
                waiters.retain(|serial| self.segments.contains_key(serial));
            }
            self.waiting.retain(|_, waiters| !waiters.is_empty());
        }
    }
}

fn remove_from<K: std::hash::Hash + Eq + Clone>(index: &mut HashMap<K, Vec<u64>>, key: &K, serial: u64) {
    if let Some(list) = index.get_mut(key) {
        list.retain(|known| *known != serial);
        if list.is_empty() {
            index.remove(key);
        }
    }
}

fn wanted(site: &Text, uuid: Option<&CallUuid>, conn: Option<ConnId>) -> Option<Wanted> {
    match (uuid, conn) {
        (Some(uuid), _) => Some(Wanted::Uuid(site.clone(), uuid.clone())),
        (None, Some(conn)) => Some(Wanted::Conn(site.clone(), conn)),
        (None, None) => None,
    }
}

fn plain_edge(from: u64, to: u64, kind: EvidenceKind, via: &str) -> Edge {
    Edge {
        from,
        to,
        kind,
        link: None,
        consistent: true,
        time_ordered: false,
        note: Some(format!("by {via}")),
    }
}

fn role_text(role: &Option<LinkRole>) -> &str {
    role.as_ref().map_or("(none)", LinkRole::as_str)
}

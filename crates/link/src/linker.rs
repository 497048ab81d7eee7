//! The linker: calls of every site in, as they open, show evidence and end; whole customer
//! interactions out.
//!
//! A call becomes a segment at its first event and joins its interaction the moment
//! evidence shows where it belongs (an Inter-Site Link end paired with the other site's, a
//! CallUUID kept between SIP Servers, a consultation or merge pointer, ISCC call history).
//! Interactions are the connected groups, kept as components merged small into large, so
//! any arrival order of the sites' streams gives the same groups.
//!
//! An interaction is `live` while a call of it is alive, then `settling` while it waits:
//! [`LinkerConfig::linger`] of estate time after its last call ended, an unpaired link for
//! its other end (on the other site's own time, for [`LinkerConfig::link_timeout`]), a call
//! that handed the customer on for its continuation, an ISCC origin until the origin site's
//! time passed the arrival. Then it is `complete`. Every wait runs on the clocks of
//! [`crate::clocks`], never on the newest event of any site. Reading input, an interaction
//! is handed out once, complete; live, it is handed out as it opens and each time it
//! changes, and kept for [`LinkerConfig::revision_grace`] after it completed for late
//! evidence. Nothing here reads a clock or does I/O.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use callstitch_engine::{CallHandle, CallPointer, Evidence, FinishedCall, OpenedCall, TransferHistory};
use callstitch_tlib::{CallUuid, ConnId, LinkRole, Text};
use serde::{Deserialize, Serialize};

use crate::archive::{Archive, OpenEnd};
use crate::clocks::{EstateClocks, LiveClock, SiteTime};
use crate::evidence::{Edge, EvidenceKind};
use crate::interaction::{self, Interaction, Lifecycle};
use crate::segment::{CallEnding, Segment, SegmentId};
use crate::sites::SiteDirectory;

/// One second of event time, in microseconds.
pub use callstitch_tlib::SECOND;

/// How long the linker waits for evidence, in event time (microseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkerConfig {
    /// After an interaction's last call ended, wait this long of estate time for more
    /// evidence before it is complete.
    pub linger: i64,
    /// How long an unpaired link waits for its other end after all the calls of its
    /// interaction ended (ICON's rule 3), on the other site's time; and how long a call
    /// that handed the customer on waits for its continuation.
    pub link_timeout: i64,
    /// ISCC call history matches an origin call alive at the destination's start or ended at
    /// most this long before it ...
    pub iscc_window: i64,
    /// ... give or take this much clock disagreement between the sites.
    pub clock_tolerance: i64,
    /// Live: how long a complete interaction stays in memory for late evidence.
    pub revision_grace: i64,
    /// Live: how long a forgotten interaction that could still take evidence (an unpaired
    /// link, a hand-off) is kept as bytes for it (crate::archive).
    pub archive_horizon: i64,
    /// `Some` for a live service (interactions handed out as they change; idle sites leave
    /// the estate's time), `None` reading input (handed out once, complete).
    pub live: Option<LiveClock>,
}

impl Default for LinkerConfig {
    fn default() -> Self {
        LinkerConfig {
            linger: 120 * SECOND,
            link_timeout: 600 * SECOND,
            iscc_window: 60 * SECOND,
            clock_tolerance: 5 * SECOND,
            revision_grace: 600 * SECOND,
            archive_horizon: 2 * 24 * 3_600 * SECOND,
            live: None,
        }
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkerStats {
    /// Segments opened (a second engine call of a known segment is not counted).
    pub segments: u64,
    /// Engine calls that joined a segment already held (same site and CallUUID).
    pub duplicate_segments: u64,
    pub edges: u64,
    /// Interactions handed out (each revision counts).
    pub interactions: u64,
    pub revisions: u64,
    pub peak_segments_in_memory: u64,
    /// Interactions complete and dropped from memory.
    pub forgotten: u64,
    /// Of those, kept as bytes because they could still take evidence (live).
    #[serde(default)]
    pub archived: u64,
    /// Archived interactions that late evidence brought back.
    #[serde(default)]
    pub revived: u64,
}

/// An interaction being built.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Component {
    pub(crate) segments: Vec<u64>,
    pub(crate) edges: Vec<Edge>,
    /// Bumped on every change that is news (a call, a link, an end, a state).
    pub(crate) version: u64,
    /// What was handed out last, if it was.
    pub(crate) emitted: Option<Emitted>,
    pub(crate) notes: Vec<String>,
    /// Estate time at which it completed; `None` before.
    pub(crate) completed: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Emitted {
    pub(crate) id: String,
    /// Ids of components merged into this one that were handed out under their own id:
    /// the next revision replaces them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) absorbed: Vec<String>,
    pub(crate) revision: u32,
    /// The component's version when it was handed out: a later version has news.
    pub(crate) version: u64,
}

/// When a component can next be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// Everything it waited for is over.
    Now,
    /// Not before the estate's time reaches this.
    At(i64),
    /// News will wake it: a call of it is live, or an ISCC origin is undecided.
    News,
    /// Waits for a site not seen yet: a site appearing (or the input ending) wakes it.
    Parked,
}

impl Due {
    /// Both waits.
    fn and(self, other: Due) -> Due {
        match (self, other) {
            (Due::News, _) | (_, Due::News) => Due::News,
            (Due::Parked, _) | (_, Due::Parked) => Due::Parked,
            (Due::At(a), Due::At(b)) => Due::At(a.max(b)),
            (Due::At(a), Due::Now) | (Due::Now, Due::At(a)) => Due::At(a),
            (Due::Now, Due::Now) => Due::Now,
        }
    }

    /// A wait on `time` (a site's, or the estate's) until `deadline`. A site that takes
    /// part in the estate's time is never behind it, so looking again when the estate's
    /// time reaches the deadline is never early.
    fn until(time: i64, deadline: i64) -> Due {
        if time >= deadline {
            Due::Now
        } else if time == i64::MIN {
            Due::Parked
        } else {
            Due::At(deadline)
        }
    }
}

/// The linker. Feed it the engine's news of every site (through the [`crate::Stitcher`]),
/// move the clocks on, and take interactions as they are handed out.
pub struct Linker {
    pub(crate) config: LinkerConfig,
    pub(crate) sites: SiteDirectory,
    pub(crate) clocks: EstateClocks,
    pub(crate) next_serial: u64,
    pub(crate) segments: HashMap<u64, Arc<Segment>>,
    /// Live engine calls → their segment.
    pub(crate) handles: HashMap<CallHandle, u64>,
    pub(crate) by_id: HashMap<SegmentId, u64>,
    pub(crate) component_of: HashMap<u64, u64>,
    pub(crate) components: HashMap<u64, Component>,
    pub(crate) by_link: HashMap<Text, Vec<u64>>,
    pub(crate) by_uuid: HashMap<CallUuid, Vec<u64>>,
    pub(crate) by_site_conn: HashMap<(Text, ConnId), Vec<u64>>,
    /// Segments whose ISCC origin is not decided yet.
    pub(crate) pending_iscc: BTreeSet<u64>,
    /// Each of those by the site whose time it waits for and the time it needs (the empty
    /// name: an origin site not seen yet).
    pub(crate) iscc_queue: BTreeMap<Text, BTreeSet<(i64, u64)>>,
    /// Derived from `iscc_queue` and rebuilt after it changed (not state): each named site's
    /// position among the clocks (`None`: not seen when built) and the earliest time its queue
    /// needs, so that the look after every event finds no site by name.
    pub(crate) iscc_heads: Option<Vec<(Option<usize>, Text, i64)>>,
    /// Live, ISCC destinations whose origin was decided "not found" before the origin site's
    /// own events reached the window (it had sent nothing yet, or it was idle and the
    /// estate's time decided): by (origin site, origin ConnID), looked at again when a call of
    /// that site shows the ConnID (a site whose logs come late or lag). By segment id, not
    /// serial: an archived destination comes back under a new serial.
    pub(crate) awaiting_origin: BTreeMap<(Text, ConnId), BTreeSet<SegmentId>>,
    /// (estate time, component, version) at which to look at a component again.
    pub(crate) due: BinaryHeap<Reverse<(i64, u64, u64)>>,
    /// Components waiting for a site not seen yet.
    pub(crate) parked: BTreeSet<u64>,
    /// Components with news not handed out yet (live).
    pub(crate) dirty: BTreeSet<u64>,
    pub(crate) archive: Archive,
    pub(crate) stats: LinkerStats,
}

impl Linker {
    /// A linker for the monitored `sites` (links to any other location lead off the estate;
    /// an empty directory knows none, and then every site seen takes part).
    pub fn new(config: LinkerConfig, sites: SiteDirectory) -> Linker {
        let clocks = match config.live {
            Some(_) => EstateClocks::default(),
            None => EstateClocks::expecting(sites.known().iter().map(Text::as_str)),
        };
        Linker {
            config,
            sites,
            clocks,
            next_serial: 0,
            segments: HashMap::default(),
            handles: HashMap::default(),
            by_id: HashMap::default(),
            component_of: HashMap::default(),
            components: HashMap::default(),
            by_link: HashMap::default(),
            by_uuid: HashMap::default(),
            by_site_conn: HashMap::default(),
            pending_iscc: BTreeSet::new(),
            iscc_queue: BTreeMap::new(),
            awaiting_origin: BTreeMap::new(),
            iscc_heads: None,
            due: BinaryHeap::new(),
            parked: BTreeSet::new(),
            dirty: BTreeSet::new(),
            archive: Archive::default(),
            stats: LinkerStats::default(),
        }
    }

    pub fn stats(&self) -> &LinkerStats {
        &self.stats
    }

    pub fn sites(&self) -> &SiteDirectory {
        &self.sites
    }

    pub fn clocks(&self) -> &EstateClocks {
        &self.clocks
    }

    pub fn config(&self) -> &LinkerConfig {
        &self.config
    }

    /// Segments held now (interactions in progress and, live, those still revisable).
    pub fn segments_in_memory(&self) -> usize {
        self.segments.len()
    }

    /// Interactions held now, and how many of them have a live call.
    pub fn interactions_in_memory(&self) -> (usize, usize) {
        let live = self.components.values().filter(|component| self.any_live(component)).count();
        (self.components.len(), live)
    }

    /// Forgotten interactions kept as bytes for late evidence (live).
    pub fn archived_in_memory(&self) -> usize {
        self.archive.len()
    }

    /// The estate's time (µs).
    pub fn estate_time(&self) -> i64 {
        self.clocks.estate(self.config.live)
    }

    // --- clocks ---

    /// The site's believed clock is now `time` (µs).
    pub fn site_clock(&mut self, site: &str, time: Option<i64>) {
        if self.clocks.observe(site, time) {
            self.unpark();
        }
    }

    /// A live arrival from `site` at wall time `wall` (µs).
    pub fn arrived(&mut self, site: &str, wall: i64) {
        self.clocks.arrived(site, wall);
    }

    /// The site's believed clock right after a live arrival (µs): its quiet counts from it.
    pub fn arrival_clock(&mut self, site: &str, clock: Option<i64>) {
        self.clocks.arrival_clock(site, clock);
    }

    /// Wall time moved on with nothing arriving (live).
    pub fn tick(&mut self, wall: i64) {
        self.clocks.tick(wall);
    }

    /// Live, restarted at wall time `wall` (µs): the time down is no site's quiet.
    pub fn resume(&mut self, wall: i64) {
        self.clocks.resume(wall);
    }

    /// Reading input: no event of `site` comes before `time` (µs).
    pub fn raise_floor(&mut self, site: &str, time: i64) {
        if self.clocks.raise_floor(site, time) {
            self.unpark();
        }
    }

    /// Reading input: the site's input ended.
    pub fn end_site(&mut self, site: &str) {
        self.clocks.end(site);
        self.unpark();
    }

    // --- news from the engine ---

    /// A call opened.
    pub fn opened(&mut self, call: OpenedCall<'_>) {
        let key = match call.call_uuid {
            Some(uuid) => uuid.as_str().to_owned(),
            None => synthetic_key(call.conn_id, call.handle),
        };
        let id = SegmentId { site: call.site.clone(), key };
        if let Some(&serial) = self.by_id.get(&id) {
            // A second engine call of a segment held (same site and CallUUID).
            self.stats.duplicate_segments += 1;
            self.handles.insert(call.handle, serial);
            if let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) {
                segment.live_calls += 1;
            }
            self.touch(serial);
            return;
        }
        let segment = Segment::opened(id, call.call_uuid.cloned(), call.time, call.clock);
        let serial = self.insert(segment);
        self.handles.insert(call.handle, serial);
        self.stats.segments += 1;
        self.stats.peak_segments_in_memory =
            self.stats.peak_segments_in_memory.max(self.segments.len() as u64);
        if let Some(uuid) = call.call_uuid {
            self.index_uuid(serial, uuid);
        }
        if let Some(conn) = call.conn_id {
            self.index_conn(serial, conn);
        }
        self.touch(serial);
    }

    /// A live call showed linking evidence.
    pub fn evidence(&mut self, handle: CallHandle, evidence: Evidence<'_>) {
        let Some(&serial) = self.handles.get(&handle) else { return };
        match evidence {
            Evidence::CallUuid(uuid) => self.learn_uuid(serial, uuid),
            Evidence::ConnId(conn) => self.index_conn(serial, conn),
            Evidence::Link(link, seen) => {
                let added = self
                    .segments
                    .get_mut(&serial)
                    .map(Arc::make_mut)
                    .is_some_and(|segment| segment.add_link(link, seen));
                if added {
                    self.connect_link(serial, &link.id);
                    self.touch(serial);
                }
            }
            Evidence::ConsultOf { pointer, main } => {
                let pointer = pointer.clone();
                if let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) {
                    segment.consult_of.get_or_insert_with(|| pointer.clone());
                }
                let main = main.and_then(|main| self.handles.get(&main).copied());
                self.resolve_consultation(serial, &pointer, main);
            }
            Evidence::MergedInto { pointer, survivor } => {
                let pointer = pointer.clone();
                if let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) {
                    segment.merged_into.get_or_insert_with(|| pointer.clone());
                }
                let survivor = survivor.and_then(|survivor| self.handles.get(&survivor).copied());
                self.resolve_merge(serial, &pointer, survivor);
            }
            Evidence::History(history) => self.learn_history(serial, history.clone()),
        }
    }

    /// A call finished; `clock` is its site's clock now (µs).
    pub fn finished(&mut self, call: FinishedCall, clock: i64) {
        self.ended(CallEnding::of(call), clock);
    }

    /// A call finished, as the linker takes it ([`CallEnding`]); `clock` is its site's clock
    /// now (µs).
    pub fn ended(&mut self, call: CallEnding, clock: i64) {
        let serial = match self.handles.remove(&call.handle) {
            Some(serial) => serial,
            None => {
                debug_assert!(false, "the engine tells of every call before it finishes it");
                self.announce_late(&call, clock)
            }
        };
        if let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) {
            segment.finish(call, clock);
        }
        self.touch(serial);
    }

    /// Moves on: interactions whose waits are over are complete (and, reading input, handed
    /// out); live, every interaction with news is handed out.
    pub fn advance(&mut self, out: &mut impl FnMut(Interaction)) {
        self.decide_iscc(false);
        // The estate's time is the same for both: neither moves a clock.
        let now = self.estate_time();
        self.expire_archive(now);
        while let Some(Reverse((at, component_id, version))) = self.due.peek().copied() {
            if at > now {
                break;
            }
            self.due.pop();
            let current = self.components.get(&component_id).map(|component| component.version);
            if current != Some(version) {
                continue;
            }
            self.review(component_id, out);
        }
    }

    /// Live: hands out every interaction with news since the last flush, each once, as it
    /// stands (the service flushes once per batch it commits).
    pub fn flush(&mut self, out: &mut impl FnMut(Interaction)) {
        self.emit_dirty(out);
    }

    /// The input ended: every interaction still held is handed out as it stands.
    pub fn finish(&mut self, out: &mut impl FnMut(Interaction)) {
        self.revive_all();
        self.decide_iscc(true);
        let mut ids: Vec<u64> = self.components.keys().copied().collect();
        ids.sort_by_cached_key(|id| self.component_start(*id));
        for id in ids {
            let news = self.components.get(&id).is_some_and(|component| {
                component.emitted.as_ref().is_none_or(|emitted| emitted.version != component.version)
                    || component.completed.is_none()
            });
            if let Some(component) = self.components.get_mut(&id) {
                if component.completed.is_none() {
                    component.completed = Some(i64::MAX);
                    component.version += 1;
                }
            }
            if news {
                self.emit(id, true, out);
            }
        }
        self.segments.clear();
        self.components.clear();
        self.component_of.clear();
        self.handles.clear();
        self.by_id.clear();
        self.by_link.clear();
        self.by_uuid.clear();
        self.by_site_conn.clear();
        self.pending_iscc.clear();
        self.iscc_queue_mut().clear();
        self.awaiting_origin.clear();
        self.due.clear();
        self.parked.clear();
        self.dirty.clear();
    }

    // --- building ---

    pub(crate) fn insert(&mut self, segment: Segment) -> u64 {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.by_id.insert(segment.id.clone(), serial);
        self.component_of.insert(serial, serial);
        self.components.insert(serial, Component { segments: vec![serial], ..Component::default() });
        self.segments.insert(serial, Arc::new(segment));
        serial
    }

    /// A finished call the linker was never told of: opened now, its evidence taken from it.
    fn announce_late(&mut self, call: &CallEnding, clock: i64) -> u64 {
        let handle = call.handle;
        self.opened(OpenedCall {
            handle,
            site: &call.site,
            call_uuid: call.call_uuid.as_ref(),
            conn_id: call.conn_ids.first().copied(),
            time: call.first_time,
            clock,
        });
        for conn in &call.conn_ids {
            self.evidence(handle, Evidence::ConnId(*conn));
        }
        for link in &call.is_links {
            self.evidence(handle, Evidence::Link(link, None));
        }
        if let Some(pointer) = &call.consult_of {
            self.evidence(handle, Evidence::ConsultOf { pointer, main: None });
        }
        if let Some(pointer) = &call.merged_into {
            self.evidence(handle, Evidence::MergedInto { pointer, survivor: None });
        }
        if let Some(history) = &call.history {
            self.evidence(handle, Evidence::History(history));
        }
        self.handles.remove(&handle).unwrap_or_default()
    }

    fn index_uuid(&mut self, serial: u64, uuid: &CallUuid) {
        self.revive(&OpenEnd::Uuid(uuid.clone()));
        let same = self.by_uuid.entry(uuid.clone()).or_default();
        if same.contains(&serial) {
            return;
        }
        same.push(serial);
        let others: Vec<u64> = same.iter().copied().filter(|other| *other != serial).collect();
        for other in others {
            self.same_uuid_edge(other, serial);
        }
    }

    fn index_conn(&mut self, serial: u64, conn: ConnId) {
        let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) else { return };
        segment.add_conn(conn);
        let site = segment.id.site.clone();
        let calls = self.by_site_conn.entry((site.clone(), conn)).or_default();
        if !calls.contains(&serial) {
            calls.push(serial);
        }
        if !self.awaiting_origin.is_empty() {
            self.origin_arrived(site, conn);
        }
    }

    /// A call of `site` showed `conn`: the ISCC destinations that found no origin while the
    /// site had sent nothing (forgotten ones come back from the archive) are decided again,
    /// on the site's time like any other.
    fn origin_arrived(&mut self, site: Text, conn: ConnId) {
        let key = (site, conn);
        if !self.awaiting_origin.contains_key(&key) {
            return;
        }
        self.revive(&OpenEnd::IsccOrigin(key.0.clone(), conn));
        let Some(waiting) = self.awaiting_origin.remove(&key) else { return };
        let note = not_found_note(conn, &key.0);
        for id in waiting {
            let Some(&serial) = self.by_id.get(&id) else { continue };
            if let Some(component) = self.component_of.get(&serial).and_then(|id| self.components.get_mut(id))
            {
                component.notes.retain(|kept| *kept != note);
            }
            if self.pending_iscc.insert(serial) {
                self.review_iscc(serial, false);
            }
            self.touch(serial);
        }
    }

    /// A call that opened with a ConnID only learned its CallUUID: its key becomes it.
    fn learn_uuid(&mut self, serial: u64, uuid: &CallUuid) {
        let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) else { return };
        if segment.call_uuid.is_some() {
            return;
        }
        segment.call_uuid = Some(uuid.clone());
        let old = segment.id.clone();
        let new = SegmentId { site: old.site.clone(), key: uuid.as_str().to_owned() };
        if !self.by_id.contains_key(&new) {
            if let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) {
                segment.id = new.clone();
            }
            self.by_id.remove(&old);
            self.by_id.insert(new, serial);
        }
        self.index_uuid(serial, uuid);
        self.touch(serial);
    }

    fn connect_link(&mut self, serial: u64, link_id: &Text) {
        self.revive(&OpenEnd::Link(link_id.clone()));
        let ends = self.by_link.entry(link_id.clone()).or_default();
        if !ends.contains(&serial) {
            ends.push(serial);
        }
        let partners: Vec<u64> = ends.iter().copied().filter(|other| *other != serial).collect();
        for partner in partners {
            self.link_edge(partner, serial, link_id);
        }
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
        let edge = Edge {
            from,
            to,
            kind: EvidenceKind::SameCallUuid,
            link: None,
            consistent: true,
            time_ordered: true,
            note: Some("direction by start time".to_string()),
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

    /// A consultation → its main call: the one the engine named, else the segment of the
    /// site the pointer names (by CallUUID, or a ConnID the call had when this one began).
    fn resolve_consultation(&mut self, serial: u64, pointer: &CallPointer, main: Option<u64>) {
        let Some(segment) = self.segments.get(&serial) else { return };
        let site = segment.id.site.clone();
        let at = segment.start_key();
        let main = main
            .filter(|main| *main != serial)
            .or_else(|| self.find_on_site(&site, pointer.call_uuid.as_ref(), pointer.conn_id, at, serial));
        match main {
            Some(main) => self.add_edge(plain_edge(main, serial, EvidenceKind::Consultation, pointer.via)),
            None => self.note(
                serial,
                format!("{site}: the main call of a consultation ({}) was not found", pointer.via),
            ),
        }
    }

    /// A merged call → the call it merged into.
    fn resolve_merge(&mut self, serial: u64, pointer: &CallPointer, survivor: Option<u64>) {
        let Some(segment) = self.segments.get(&serial) else { return };
        let site = segment.id.site.clone();
        let at = segment.last_time.map_or(i64::MAX, |time| time.0);
        let survivor = survivor
            .filter(|survivor| *survivor != serial)
            .or_else(|| self.find_on_site(&site, pointer.call_uuid.as_ref(), pointer.conn_id, at, serial));
        match survivor {
            Some(survivor) => self.add_edge(plain_edge(serial, survivor, EvidenceKind::Merge, pointer.via)),
            None => self.note(
                serial,
                format!("{site}: the call a merged call went into ({}) was not found", pointer.via),
            ),
        }
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
            let id = SegmentId { site: site.clone(), key: uuid.as_str().to_owned() };
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
                let ended = if candidate.is_live() {
                    i64::MAX
                } else {
                    candidate.last_time.map_or(i64::MAX, |t| t.0)
                };
                let distance = (began - at).max(at - ended).max(0);
                (distance <= tolerance).then(|| (distance, candidate.id.clone(), serial))
            })
            .min()
            .map(|(_, _, serial)| serial)
    }

    // --- ISCC ---

    fn learn_history(&mut self, serial: u64, history: TransferHistory) {
        let Some(segment) = self.segments.get_mut(&serial).map(Arc::make_mut) else { return };
        if segment.history.is_some() {
            return;
        }
        let usable = history.last_transfer_conn_id.is_some() && history.last_transfer_home_location.is_some();
        segment.history = Some(history);
        if usable && self.pending_iscc.insert(serial) {
            self.review_iscc(serial, false);
        }
    }

    /// Decides a pending destination's origin now, or queues it on the site whose time it
    /// waits for.
    fn review_iscc(&mut self, serial: u64, all: bool) {
        if !self.pending_iscc.contains(&serial) {
            return;
        }
        match self.try_iscc(serial, all) {
            None => {
                self.pending_iscc.remove(&serial);
            }
            Some((site, time)) => {
                self.iscc_queue_mut().entry(site).or_default().insert((time, serial));
            }
        }
    }

    /// The site an ISCC home location names: a monitored one, else a site seen whose name it
    /// names (the least by name, so that no hash order decides).
    fn origin_site(&self, location: &str) -> Option<Text> {
        if let Some(site) = self.sites.site_of(location) {
            return Some(site.clone());
        }
        self.clocks
            .sites()
            .map(|(site, _)| site)
            .filter(|site| SiteDirectory::names(location, site))
            .min()
            .cloned()
    }

    /// Decides the ISCC origins whose sites' time now allows (each queued on the site whose
    /// time it waits for, so only those due are looked at); `all` at the end of input.
    fn decide_iscc(&mut self, all: bool) {
        if all {
            let pending: Vec<u64> = self.pending_iscc.iter().copied().collect();
            self.iscc_queue_mut().clear();
            for serial in pending {
                self.review_iscc(serial, true);
            }
            return;
        }
        // Called after every event, and almost always nothing is due: looked at without
        // allocating first (the loop below takes each site's due part off its queue).
        if !self.any_iscc_due() {
            return;
        }
        let sites: Vec<Text> = self.iscc_queue.keys().filter(|site| !site.is_empty()).cloned().collect();
        for site in sites {
            let time = self.clocks.partner(Some(&site), self.config.live);
            let due: Vec<u64> = match self.iscc_queue_mut().get_mut(&site) {
                Some(queue) => {
                    let later = queue.split_off(&(time.saturating_add(1), 0));
                    let due = std::mem::replace(queue, later);
                    due.into_iter().map(|(_, serial)| serial).collect()
                }
                None => continue,
            };
            self.iscc_queue_mut().retain(|_, queue| !queue.is_empty());
            for serial in due {
                self.review_iscc(serial, false);
            }
        }
    }

    /// True when a queued ISCC destination's site time has reached the time it needs.
    fn any_iscc_due(&mut self) -> bool {
        let heads = match self.iscc_heads.take() {
            Some(heads) => heads,
            None => self
                .iscc_queue
                .iter()
                .filter(|(site, _)| !site.is_empty())
                .filter_map(|(site, queue)| {
                    queue.first().map(|(needed, _)| (self.clocks.position(site), site.clone(), *needed))
                })
                .collect(),
        };
        let live = self.config.live;
        let due = heads.iter().any(|(position, site, needed)| {
            let time = match position {
                Some(position) => self.clocks.partner_at(*position, live),
                None => self.clocks.partner(Some(site), live),
            };
            time >= *needed
        });
        self.iscc_heads = Some(heads);
        due
    }

    /// The ISCC queues, to change: what was derived from them is rebuilt on the next look.
    pub(crate) fn iscc_queue_mut(&mut self) -> &mut BTreeMap<Text, BTreeSet<(i64, u64)>> {
        self.iscc_heads = None;
        &mut self.iscc_queue
    }

    /// Destinations whose origin site was not known get another look (a site appeared).
    fn requeue_unknown_origins(&mut self) {
        let Some(waiting) = self.iscc_queue_mut().remove("") else { return };
        for (_, serial) in waiting {
            self.review_iscc(serial, false);
        }
    }

    /// `None` when the destination's origin is decided (an edge, or a note that none
    /// matched); else the site whose time it waits for, and the time it needs.
    fn try_iscc(&mut self, serial: u64, all: bool) -> Option<(Text, i64)> {
        let segment = self.segments.get(&serial)?;
        let history = segment.history.clone()?;
        let (Some(conn), Some(location)) =
            (history.last_transfer_conn_id, history.last_transfer_home_location)
        else {
            return None;
        };
        let start = segment.first_time.map(|time| time.0)?;
        let origin_site = self.origin_site(&location);
        // Decided once the origin site's time is past the arrival plus the window (every
        // candidate, and an Inter-Site Link end of the same hop even from a clock that
        // disagrees by more than the tolerance, is in) and the destination's own site past
        // the arrival plus the tolerance (its own link end is in).
        let passed = |site: &str, wait: i64| {
            self.clocks.partner(Some(site), self.config.live) >= start.saturating_add(wait)
        };
        let here = segment.id.site.clone();
        let window = self.config.iscc_window.max(self.config.clock_tolerance);
        if !all {
            let Some(origin) = &origin_site else { return Some((Text::from(""), i64::MAX)) };
            if !passed(origin, window) {
                return Some((origin.clone(), start.saturating_add(window)));
            }
            if !passed(&here, self.config.clock_tolerance) {
                return Some((here, start.saturating_add(self.config.clock_tolerance)));
            }
        }
        if let Some(site) = &origin_site {
            self.revive(&OpenEnd::Conn(site.clone(), conn));
            // An Inter-Site Link of the same hop is authoritative: the history confirms it or
            // is reported as disagreeing, never joins another call (multi-site.md §4.3, 5).
            if let Some(source) = self.link_source_on(serial, site) {
                self.confirm_by_link(serial, source, site, conn);
                self.touch(serial);
                return None;
            }
        }
        // Live, decided before the origin site's own events reached the window (it has sent
        // nothing, or it is idle and the estate's time let the wait end): its events may
        // still show the origin (a collector that lags, one that starts late), and the
        // destination is decided again when they do.
        let behind = origin_site.as_ref().is_some_and(|site| {
            let own = self.clocks.get(site).map_or(i64::MIN, SiteTime::time);
            self.config.live.is_some() && !all && own < start.saturating_add(window)
        });
        let found = origin_site.as_ref().and_then(|site| self.iscc_origin(site, conn, serial, start));
        match found {
            Some((origin, ambiguous)) => {
                let note = ambiguous.then(|| {
                    "several origin calls matched; the one closest to the arrival was taken".to_string()
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
            None => {
                let provisional = origin_site.as_ref().filter(|_| behind);
                if let (Some(site), Some(segment)) = (provisional, self.segments.get(&serial)) {
                    let waiting = self.awaiting_origin.entry((site.clone(), conn)).or_default();
                    waiting.insert(segment.id.clone());
                }
                let site = origin_site.map_or_else(|| location.to_string(), |site| site.to_string());
                self.note(serial, not_found_note(conn, &site));
            }
        }
        self.touch(serial);
        None
    }

    /// The segment of `site` an Inter-Site Link sends to `destination`, if any.
    fn link_source_on(&self, destination: u64, site: &Text) -> Option<u64> {
        let component = self.components.get(self.component_of.get(&destination)?)?;
        component
            .edges
            .iter()
            .filter(|edge| edge.kind == EvidenceKind::Islink && edge.to == destination)
            .map(|edge| edge.from)
            .find(|from| self.segments.get(from).is_some_and(|segment| segment.id.site == *site))
    }

    /// ISCC history on a hop an Inter-Site Link already joins: an edge beside the link when
    /// the link's source had that ConnID, else a note of the disagreement.
    fn confirm_by_link(&mut self, destination: u64, source: u64, site: &Text, conn: ConnId) {
        let Some(origin) = self.segments.get(&source) else { return };
        if origin.conn_ids.contains(&conn) {
            let edge = Edge {
                from: source,
                to: destination,
                kind: EvidenceKind::IsccCallHistory,
                link: None,
                consistent: true,
                time_ordered: false,
                note: None,
            };
            self.add_edge(edge);
            return;
        }
        let note = format!(
            "ISCC call history names ConnID {conn} on {site}; the Inter-Site Link comes from {}/{}, which never had it",
            origin.id.site, origin.id.key
        );
        self.note(destination, note);
    }

    /// The origin call of an ISCC transfer: on the origin site, with that ConnID, begun by the
    /// destination's start and alive then or ended at most the window before it. Several:
    /// one already joined to the destination by other evidence (an Inter-Site Link: the two
    /// must agree, multi-site.md §4.3), then the one with the OrigDN as a party, then the one
    /// whose end is closest to the start (a
    /// call alive at the start counts as 0, one that ended within the clock tolerance before
    /// or after it first), then by name. Decided once the origin site's time is past the
    /// start plus the tolerance, so every such end is known whatever the arrival order.
    fn iscc_origin(&self, site: &Text, conn: ConnId, destination: u64, start: i64) -> Option<(u64, bool)> {
        let tolerance = self.config.clock_tolerance;
        let window = self.config.iscc_window;
        let orig_dn = self
            .segments
            .get(&destination)
            .and_then(|segment| segment.history.as_ref())
            .and_then(|history| history.last_transfer_orig_dn.clone());
        let joined = self.component_of.get(&destination).copied();
        let candidates: Vec<(IsccPreference, SegmentId, u64)> = self
            .by_site_conn
            .get(&(site.clone(), conn))?
            .iter()
            .copied()
            .filter(|candidate| *candidate != destination)
            .filter_map(|candidate| {
                let origin = self.segments.get(&candidate)?;
                let began = origin.first_time.map_or(i64::MIN, |time| time.0);
                let ended = match (origin.is_live(), origin.last_time) {
                    (false, Some(time)) => time.0,
                    _ => i64::MAX,
                };
                let fits = began <= start + tolerance && ended.saturating_add(window + tolerance) >= start;
                let distance = (start - ended).max(0);
                let has_dn =
                    orig_dn.as_ref().is_some_and(|dn| origin.parties().iter().any(|party| party.dn == *dn));
                let ended_with_it = ended.abs_diff(start) <= tolerance.unsigned_abs();
                let elsewhere = joined.is_none() || self.component_of.get(&candidate).copied() != joined;
                let key = IsccPreference {
                    elsewhere,
                    without_dn: !has_dn,
                    distance: if distance <= tolerance { 0 } else { distance },
                    ended_apart: !ended_with_it,
                };
                fits.then(|| (key, origin.id.clone(), candidate))
            })
            .collect();
        let best = candidates.iter().min()?;
        Some((best.2, candidates.len() > 1))
    }

    // --- components ---

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
        self.mark(target);
    }

    /// Merges two components, the smaller into the larger; returns the one that remains.
    fn union(&mut self, a: u64, b: u64) -> u64 {
        if a == b {
            return a;
        }
        let size = |id: &u64| self.components.get(id).map_or(0, |component| component.segments.len());
        let (large, small) = if (size(&a), b) >= (size(&b), a) { (a, b) } else { (b, a) };
        let Some(absorbed) = self.components.remove(&small) else { return large };
        for serial in &absorbed.segments {
            self.component_of.insert(*serial, large);
        }
        if let Some(component) = self.components.get_mut(&large) {
            component.segments.extend(absorbed.segments);
            component.edges.extend(absorbed.edges);
            component.notes.extend(absorbed.notes);
            component.version += 1;
            // Late evidence re-opens a complete interaction.
            component.completed = None;
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
        self.dirty.remove(&small);
        large
    }

    fn note(&mut self, serial: u64, note: String) {
        let Some(&component_id) = self.component_of.get(&serial) else { return };
        if let Some(component) = self.components.get_mut(&component_id) {
            if !component.notes.contains(&note) {
                component.notes.push(note);
            }
        }
    }

    /// The segment's interaction has news: mark it and look at it again.
    fn touch(&mut self, serial: u64) {
        let Some(&component_id) = self.component_of.get(&serial) else { return };
        if let Some(component) = self.components.get_mut(&component_id) {
            component.version += 1;
            component.completed = None;
        }
        self.mark(component_id);
    }

    /// Schedules a look at the component now and, live, hands it out with the next batch.
    fn mark(&mut self, component_id: u64) {
        let Some(component) = self.components.get(&component_id) else { return };
        self.due.push(Reverse((i64::MIN, component_id, component.version)));
        if self.config.live.is_some() {
            self.dirty.insert(component_id);
        }
    }

    /// Parked components get another look (a site appeared or ended).
    fn unpark(&mut self) {
        for component_id in std::mem::take(&mut self.parked) {
            if let Some(component) = self.components.get(&component_id) {
                self.due.push(Reverse((i64::MIN, component_id, component.version)));
            }
        }
        self.requeue_unknown_origins();
    }

    // --- deciding ---

    /// Looks at a component: complete it, or schedule the next look.
    fn review(&mut self, component_id: u64, out: &mut impl FnMut(Interaction)) {
        let Some(component) = self.components.get(&component_id) else { return };
        if let Some(completed) = component.completed {
            // Live: a complete interaction leaves memory once its grace for late evidence passed.
            let forget_at = completed.saturating_add(self.config.revision_grace);
            let estate = self.estate_time();
            if self.dirty.contains(&component_id) {
                // Its news is not handed out yet: after the next flush.
                let version = component.version;
                self.due.push(Reverse((forget_at.max(estate.saturating_add(1)), component_id, version)));
            } else if estate >= forget_at {
                self.forget(component_id);
            } else {
                let version = component.version;
                self.due.push(Reverse((forget_at, component_id, version)));
            }
            return;
        }
        let version = component.version;
        match self.due_for(component) {
            Due::Now => self.complete(component_id, out),
            Due::At(at) => self.due.push(Reverse((at, component_id, version))),
            Due::News => {}
            Due::Parked => {
                self.parked.insert(component_id);
            }
        }
    }

    /// When everything the component waits for is over.
    fn due_for(&self, component: &Component) -> Due {
        if self.any_live(component) || self.has_pending_iscc(component) {
            return Due::News;
        }
        let ended = self.ended_clock(component);
        let estate = self.estate_time();
        let mut due = Due::until(estate, ended.saturating_add(self.config.linger));
        let deadline = ended.saturating_add(self.config.link_timeout);
        for partner in self.unpaired_partners(component) {
            due = due.and(Due::until(self.clocks.partner(partner.as_deref(), self.config.live), deadline));
        }
        if self.ends_by_hand_off(component) {
            // Reading an open estate, the continuation may come from a site not seen yet.
            let open = self.config.live.is_none() && self.sites.is_empty();
            due = due.and(Due::until(if open { i64::MIN } else { estate }, deadline));
        }
        due
    }

    fn has_pending_iscc(&self, component: &Component) -> bool {
        component.segments.iter().any(|serial| self.pending_iscc.contains(serial))
    }

    fn any_live(&self, component: &Component) -> bool {
        component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial))
            .any(|segment| segment.is_live())
    }

    /// The latest site clock at which a call of the component ended.
    fn ended_clock(&self, component: &Component) -> i64 {
        component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial))
            .map(|segment| segment.ended_clock)
            .max()
            .unwrap_or(i64::MIN)
    }

    /// For each unpaired link end that may still pair: the site its other end is on (the
    /// monitored site its location names, `None` when it names none known).
    fn unpaired_partners(&self, component: &Component) -> Vec<Option<Text>> {
        let mut partners = Vec::new();
        for serial in &component.segments {
            let Some(segment) = self.segments.get(serial) else { continue };
            for end in &segment.links {
                let paired = component.edges.iter().any(|edge| edge.link.as_ref() == Some(&end.id));
                let off = end.location.as_deref().is_some_and(|location| self.sites.is_off_estate(location));
                if paired || off {
                    continue;
                }
                let partner = end.location.as_deref().and_then(|location| self.origin_site(location));
                if !partners.contains(&partner) {
                    partners.push(partner);
                }
            }
        }
        partners
    }

    /// The call that ended last only handed the customer on, and nothing in the interaction
    /// follows it yet: its continuation (a REFER to another SIP Server) may still come.
    fn ends_by_hand_off(&self, component: &Component) -> bool {
        self.hand_off_segment(component).is_some()
    }

    /// The segment that ended last, when it only handed the customer on and nothing follows.
    pub(crate) fn hand_off_segment(&self, component: &Component) -> Option<u64> {
        let (serial, segment) = component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial).map(|segment| (*serial, segment)))
            .max_by(|(_, a), (_, b)| (a.last_time, &a.id).cmp(&(b.last_time, &b.id)))?;
        let continued =
            component.edges.iter().any(|edge| edge.from == serial && edge.kind != EvidenceKind::Merge);
        (segment.handed_off() && !continued).then_some(serial)
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

    /// Link ids in the component with one end only: those leading to monitored (or unknown)
    /// sites, or (`off_estate`) those leading to sites callstitch does not read.
    pub(crate) fn lone_link_ends(&self, component: &Component, off_estate: bool) -> Vec<Text> {
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

    /// Every wait is over: the component is complete.
    fn complete(&mut self, component_id: u64, out: &mut impl FnMut(Interaction)) {
        let estate = self.estate_time();
        let Some(component) = self.components.get_mut(&component_id) else { return };
        component.completed = Some(estate);
        component.version += 1;
        let version = component.version;
        if self.archives_everything() {
            // A site not seen yet may still bring evidence: handed out when the input ends.
            self.forget(component_id);
            return;
        }
        if self.config.live.is_none() {
            self.emit(component_id, true, out);
            self.forget(component_id);
            return;
        }
        self.dirty.insert(component_id);
        let forget_at = estate.saturating_add(self.config.revision_grace);
        self.due.push(Reverse((forget_at, component_id, version)));
    }

    // --- handing out ---

    fn emit_dirty(&mut self, out: &mut impl FnMut(Interaction)) {
        if self.dirty.is_empty() {
            return;
        }
        let mut dirty: Vec<u64> = std::mem::take(&mut self.dirty).into_iter().collect();
        dirty.sort_by_cached_key(|id| self.component_start(*id));
        for component_id in dirty {
            let news = self.components.get(&component_id).is_some_and(|component| {
                component.emitted.as_ref().is_none_or(|emitted| emitted.version != component.version)
            });
            if news {
                self.emit(component_id, false, out);
            }
        }
    }

    /// Hands out the component's interaction as it stands; `end` at the end of input.
    fn emit(&mut self, component_id: u64, end: bool, out: &mut impl FnMut(Interaction)) {
        let Some(component) = self.components.get(&component_id) else { return };
        let segments: Vec<(u64, &Segment)> = component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial).map(|segment| (*serial, &**segment)))
            .collect();
        if segments.is_empty() {
            return;
        }
        let unpaired = self.lone_link_ends(component, false);
        let ended = self.ended_clock(component);
        let deadline = ended.saturating_add(self.config.link_timeout);
        // At the end of input a site never seen has no time of its own: the input's end,
        // the newest time of any site, counts.
        let newest = self.clocks.newest();
        let timed_out = !self.any_live(component)
            && self.unpaired_partners(component).iter().all(|partner| {
                let time = self.clocks.partner(partner.as_deref(), self.config.live);
                let time = if end && time == i64::MIN { newest } else { time };
                time >= deadline
            });
        let lifecycle = if component.completed.is_some() {
            Lifecycle::Complete
        } else if self.any_live(component) {
            Lifecycle::Live
        } else {
            Lifecycle::Settling
        };
        let off_estate = !self.lone_link_ends(component, true).is_empty();
        let context = interaction::Context {
            sites: &self.sites,
            unpaired: &unpaired,
            off_estate,
            timed_out,
            lifecycle,
            notes: &component.notes,
        };
        let mut built = interaction::build(&segments, &component.edges, &context);
        // While a named site has sent nothing, any interaction is archived for it
        // (crate::archive) and may come back: what it needs (its calls' recording signals)
        // is kept as long.
        built.reopenable = self.config.live.is_some()
            && lifecycle == Lifecycle::Complete
            && (self.awaits_unseen_site() || !self.open_ends(component).is_empty());
        let previous = component.emitted.clone();
        if let Some(previous) = &previous {
            built.first_under_id = previous.id != built.interaction_id;
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
            // Every id it was handed out under stays replaced in later revisions, so that a
            // reader of any one revision can drop them all.
            component.emitted = Some(Emitted {
                id: built.interaction_id.clone(),
                absorbed: built.replaces.clone(),
                revision: built.revision,
                version,
            });
        }
        self.stats.interactions += 1;
        out(built);
    }

    /// A component back from the archive: indexed again, with news. Its segments were just
    /// inserted each on its own, except those whose call came back meanwhile (held in another
    /// component): the edges join those.
    pub(crate) fn restore_component(&mut self, mut component: Component) {
        let members = component.segments.clone();
        let edges = std::mem::take(&mut component.edges);
        let own: Vec<u64> = members
            .iter()
            .copied()
            .filter(|serial| {
                self.component_of.get(serial) == Some(serial)
                    && self.components.get(serial).is_some_and(|held| held.segments == [*serial])
            })
            .collect();
        for serial in &members {
            self.reindex(*serial);
        }
        let Some(&id) = own.first() else {
            edges.into_iter().for_each(|edge| self.add_edge(edge));
            return;
        };
        component.completed = None;
        component.version += 1;
        component.segments = own.clone();
        for serial in &own {
            self.components.remove(serial);
            self.component_of.insert(*serial, id);
        }
        self.components.insert(id, component);
        for edge in edges {
            self.add_edge(edge);
        }
        self.mark(id);
    }

    /// Puts a segment back into the link, CallUUID and ConnID indexes.
    fn reindex(&mut self, serial: u64) {
        let Some(segment) = self.segments.get(&serial) else { return };
        let site = segment.id.site.clone();
        let links: Vec<Text> = segment.links.iter().map(|end| end.id.clone()).collect();
        let uuid = segment.call_uuid.clone();
        let conns = segment.conn_ids.clone();
        for link in links {
            let ends = self.by_link.entry(link).or_default();
            if !ends.contains(&serial) {
                ends.push(serial);
            }
        }
        if let Some(uuid) = uuid {
            let same = self.by_uuid.entry(uuid).or_default();
            if !same.contains(&serial) {
                same.push(serial);
            }
        }
        for conn in conns {
            let calls = self.by_site_conn.entry((site.clone(), conn)).or_default();
            if !calls.contains(&serial) {
                calls.push(serial);
            }
        }
    }

    /// Drops a complete interaction (live: keeping it as bytes when it could still take
    /// evidence, crate::archive).
    fn forget(&mut self, component_id: u64) {
        // Taken out, not cloned: archiving reads the component it is given and the segments,
        // never the component's entry.
        let Some(component) = self.components.remove(&component_id) else { return };
        self.archive(&component, component.completed.unwrap_or(i64::MIN));
        self.stats.forgotten += 1;
        self.parked.remove(&component_id);
        self.dirty.remove(&component_id);
        for serial in component.segments {
            self.component_of.remove(&serial);
            self.pending_iscc.remove(&serial);
            let Some(segment) = self.segments.remove(&serial) else { continue };
            if self.by_id.get(&segment.id) == Some(&serial) {
                self.by_id.remove(&segment.id);
            }
            for link in &segment.links {
                remove_from(&mut self.by_link, &link.id, serial);
            }
            if let Some(uuid) = &segment.call_uuid {
                remove_from(&mut self.by_uuid, uuid, serial);
            }
            for conn in &segment.conn_ids {
                remove_from(&mut self.by_site_conn, &(segment.id.site.clone(), *conn), serial);
            }
        }
        debug_assert!(self.handles.values().all(|serial| self.segments.contains_key(serial)));
    }
}

/// The note of an ISCC destination whose origin call was not found.
fn not_found_note(conn: ConnId, site: &str) -> String {
    format!("ISCC origin {conn} on {site} not found")
}

/// How well an ISCC origin candidate fits, best first (fields compare in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct IsccPreference {
    /// Not already joined to the destination by other evidence.
    elsewhere: bool,
    /// No party on the LastTransferOrigDN.
    without_dn: bool,
    /// How long before the arrival it ended (0: alive then, or within the tolerance).
    distance: i64,
    /// Its end is not within the clock tolerance of the arrival.
    ended_apart: bool,
}

/// The engine's key for a call without a CallUUID: `~<first ConnID>-<serial>`.
fn synthetic_key(conn: Option<ConnId>, handle: CallHandle) -> String {
    format!("~{}-{}", conn.map(|conn| conn.to_string()).unwrap_or_default(), handle.0)
}

fn remove_from<K: std::hash::Hash + Eq + Clone>(index: &mut HashMap<K, Vec<u64>>, key: &K, serial: u64) {
    if let Some(list) = index.get_mut(key) {
        list.retain(|known| *known != serial);
        if list.is_empty() {
            index.remove(key);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciding_iscc_origins_with_none_due_finds_no_site_by_name() {
        let mut linker = Linker::new(LinkerConfig::default(), SiteDirectory::new(["A", "B"]));
        linker.site_clock("A", Some(50 * SECOND));
        linker.site_clock("B", Some(60 * SECOND));
        linker.iscc_queue_mut().entry(Text::from("A")).or_default().insert((100 * SECOND, 7));
        linker.decide_iscc(false);
        let before = linker.clocks.sites_examined();
        linker.decide_iscc(false);
        assert_eq!(linker.clocks.sites_examined(), before, "every site is before the time needed");
        assert_eq!(linker.iscc_queue.len(), 1, "still waiting");
        linker.site_clock("A", Some(100 * SECOND));
        linker.site_clock("B", Some(100 * SECOND));
        linker.decide_iscc(false);
        assert!(linker.iscc_queue.is_empty(), "due once the site's time reached it");
    }
}

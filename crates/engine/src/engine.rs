//! The engine: events in, finished calls out.
//!
//! It owns the live calls of every site, finds the call each event belongs to (by CallUUID,
//! else by ConnID while that ConnID is live: tlib-events.md §4), drops duplicates, handles
//! what spans calls (consultations, parties moving to the surviving ConnID), and decides when
//! a call leaves memory: after its last party left (plus a short linger for trailing
//! events), after EventCallDeleted, or after an idle timeout when its end was lost. Time is
//! event time only; nothing here reads a clock, draws a random number or lets hash order
//! reach the output.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use callstitch_tlib::{CallUuid, ConnId, DnRole, Event, Message, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::call::{via, Call, CallPointer, MergeHow, MoveIn};
use crate::clock::{Reading, SiteClock};
use crate::config::{EngineConfig, SECOND};
use crate::deviation::{DeviationKind, InferenceKind};
use crate::finished::{self, EndReason, FinishedCall};
use crate::hash::FxHashMap;
use crate::news::{CallHandle, CallSink, Evidence, OnFinished, OpenedCall};
use crate::party::{seen, Party};
use crate::state::{Exit, PartyState};
use crate::transition::{is_party_event, starts_party};
use crate::window::DuplicateWindow;

/// Counters of one engine run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Events given to [`Engine::apply`].
    pub events: u64,
    /// Exact duplicates dropped (same site, sequence number and message; `[BSYNC]` copies).
    pub duplicates: u64,
    /// Call events with neither ConnID nor CallUUID: no call to put them on.
    pub unplaced: u64,
    /// Events about no call (agent state, registrations, server events, most requests), and
    /// call-related events whose call is not in memory (replies, data changes after the end).
    pub not_for_a_call: u64,
    pub calls_started: u64,
    pub calls_finished: u64,
    /// Calls finished without their end (idle timeout or end of input).
    pub calls_incomplete: u64,
    /// The most calls in memory at once.
    pub peak_live_calls: u64,
    /// Events whose time their site's clock did not believe (far from the site's other
    /// events: see [`crate::clock`]); they were applied, their time moved no clock.
    #[serde(default)]
    pub clock_outliers: u64,
}

/// What an event is to the engine.
enum Route {
    /// A DN-based call-progress event (57–72, EventOffHook).
    Party,
    /// A call-based (monitoring) event (160–166).
    CallBased,
    /// A request that is release evidence.
    Request,
    /// CTI link loss or HA switchover.
    LinkLoss,
    /// Anything else: attached to its call when the call is live.
    Other,
}

fn route(message: &Message) -> Route {
    if is_party_event(message) {
        return Route::Party;
    }
    match message {
        Message::EventCallCreated
        | Message::EventCallDataChanged
        | Message::EventCallDeleted
        | Message::EventCallPartyAdded
        | Message::EventCallPartyState
        | Message::EventCallPartyMoved
        | Message::EventCallPartyDeleted => Route::CallBased,
        Message::RequestReleaseCall | Message::RequestClearCall | Message::RequestDeleteFromConference => {
            Route::Request
        }
        Message::EventLinkDisconnected | Message::EventRestoreConnection | Message::EventPrimaryChanged => {
            Route::LinkLoss
        }
        _ => Route::Other,
    }
}

/// Up to this many sites, a site is found by comparing names rather than through the map.
const FEW_SITES: usize = 8;

/// One site (T-Server): its clock, its live-call indexes and timers, its duplicate window.
pub(crate) struct Site {
    pub(crate) name: Text,
    pub(crate) by_uuid: FxHashMap<CallUuid, u32>,
    pub(crate) by_conn: FxHashMap<ConnId, u32>,
    /// (sequence number, message) of recent events, at `seq % len`: sequence numbers are
    /// dense per site, so this ring remembers about the last `len` events with no hashing.
    pub(crate) seen: DuplicateWindow,
    /// The site's own event time: its calls' timers run on it and on nothing else.
    pub(crate) clock: SiteClock,
    /// (deadline, slot, generation) of this site's calls waiting to be finished.
    pub(crate) timers: BinaryHeap<Reverse<(i64, u32, u32)>>,
    /// When this site's calls are next checked for the idle timeout (site time).
    pub(crate) next_sweep: i64,
}

impl Site {
    pub(crate) fn new(name: Text) -> Site {
        Site {
            name,
            by_uuid: FxHashMap::default(),
            by_conn: FxHashMap::default(),
            seen: DuplicateWindow::default(),
            clock: SiteClock::default(),
            timers: BinaryHeap::new(),
            next_sweep: i64::MIN,
        }
    }

    /// The site's time (µs); `i64::MIN` before its first event.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unwrap_or(i64::MIN)
    }
}

/// A slot of the call table; the generation tells a reused slot from its earlier call.
pub(crate) struct Slot {
    /// Shared with a snapshot being taken (copied when changed meanwhile).
    pub(crate) call: Option<Arc<Call>>,
    pub(crate) site: u32,
    pub(crate) generation: u32,
}

/// The per-site call engine. See the crate documentation for an example.
pub struct Engine {
    config: EngineConfig,
    pub(crate) sites: Vec<Site>,
    /// Position in `sites` of each site's name, kept in step with it: anyone who may send
    /// events names sites, so finding one must not cost a scan (std's SipHash, not Fx: the
    /// names are chosen by whoever sends).
    pub(crate) site_positions: HashMap<Text, usize>,
    pub(crate) last_site: usize,
    pub(crate) slots: Vec<Slot>,
    pub(crate) free: Vec<u32>,
    pub(crate) live: usize,
    /// No event time beyond this is believed (the live service's wall clock plus a
    /// tolerance); configuration of the moment, not state.
    pub(crate) ceiling: Option<i64>,
    /// Slots whose news is not told yet (see [`Engine::tell`]).
    pub(crate) touched: Vec<u32>,
    pub(crate) serial: u64,
    /// Arrival counter: orders closings when sequence numbers are missing.
    pub(crate) order: u64,
    pub(crate) stats: EngineStats,
    /// Test only: site entries examined to find a site by name (work, not seconds).
    #[cfg(test)]
    pub(crate) sites_examined: std::cell::Cell<u64>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        Engine {
            config,
            sites: Vec::new(),
            site_positions: HashMap::new(),
            last_site: 0,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            ceiling: None,
            touched: Vec::new(),
            serial: 0,
            order: 0,
            stats: EngineStats::default(),
            #[cfg(test)]
            sites_examined: std::cell::Cell::new(0),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Calls in memory now.
    pub fn live_calls(&self) -> usize {
        self.live
    }

    /// Runs a whole stream and returns the finished calls, in the order they finished.
    pub fn run<'a>(
        config: EngineConfig,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> (Vec<FinishedCall>, EngineStats) {
        let mut engine = Engine::new(config);
        let mut calls = Vec::new();
        for event in events {
            engine.apply(event, &mut |call| calls.push(call));
        }
        engine.finish(&mut |call| calls.push(call));
        (calls, engine.stats.clone())
    }

    /// Applies one event. Calls that end (now, or by the time this event's site's clock
    /// shows) are handed to `out`.
    pub fn apply(&mut self, event: &Event, out: &mut impl FnMut(FinishedCall)) {
        self.apply_to(event, &mut OnFinished(out));
    }

    /// Applies one event, telling `sink` of calls that open, evidence they show and calls
    /// that finish.
    pub fn apply_to(&mut self, event: &Event, sink: &mut impl CallSink) {
        self.stats.events += 1;
        self.order += 1;
        let site = self.site_index(&event.site);
        if let Some(time) = event.time() {
            self.read_clock(site, time.0, sink);
        }
        if self.is_duplicate(site, event) {
            self.stats.duplicates += 1;
            return;
        }
        match route(&event.message) {
            Route::Party | Route::CallBased => self.on_call_event(site, event, sink),
            Route::Request => self.on_attached(site, event, true),
            Route::Other => self.on_attached(site, event, false),
            Route::LinkLoss => self.on_link_loss(site, event),
        }
        self.tell(event, sink);
    }

    /// Moves every site's clock on to at least `time` (the live service calls this on a
    /// tick when nothing comes): calls whose linger, hand-off grace or idle timeout has run
    /// out are finished.
    pub fn advance_to(&mut self, time: Timestamp, out: &mut impl FnMut(FinishedCall)) {
        self.advance_all_to(time, &mut OnFinished(out));
    }

    /// [`Engine::advance_to`] with every kind of news.
    fn advance_all_to(&mut self, time: Timestamp, sink: &mut impl CallSink) {
        for site in 0..self.sites.len() {
            self.sites[site].clock.advance_to(time.0);
            self.run_site_timers(site, sink);
        }
    }

    /// Moves one site's clock on to at least `time` (the live service's tick for a site that
    /// went quiet): its calls whose waits ran out are finished.
    pub fn advance_site_to(&mut self, site: &str, time: Timestamp, sink: &mut impl CallSink) {
        let Some(index) = self.find_site(site) else { return };
        self.sites[index].clock.advance_to(time.0);
        self.run_site_timers(index, sink);
    }

    /// No event time beyond `ceiling` (µs) is believed: the live service passes its wall
    /// clock plus a tolerance. `None` (the default) for reading files.
    pub fn set_ceiling(&mut self, ceiling: Option<i64>) {
        self.ceiling = ceiling;
    }

    /// Ends the input: every call still in memory is finished, complete if its end was seen
    /// (it was lingering), incomplete otherwise. The engine is empty afterwards.
    pub fn finish(&mut self, out: &mut impl FnMut(FinishedCall)) {
        self.finish_all(&mut OnFinished(out));
    }

    /// [`Engine::finish`] with every kind of news.
    pub fn finish_all(&mut self, sink: &mut impl CallSink) {
        let mut remaining: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.call.as_deref().map(|call| (call.serial, index as u32)))
            .collect();
        remaining.sort_unstable();
        for (_, slot) in remaining {
            let reason = self.end_reason_at_finish(slot);
            self.finish_slot(slot, reason, sink);
        }
        for site in &mut self.sites {
            site.timers.clear();
        }
        debug_assert_eq!(self.live, 0);
    }

    /// The clock of `site` (µs), `None` before its first event.
    pub fn site_clock(&self, site: &str) -> Option<i64> {
        // Asked after every event, for the event's site: the last site needs no lookup.
        if let Some(last) = self.sites.get(self.last_site).filter(|last| last.name == site) {
            return last.clock.now();
        }
        self.find_site(site).and_then(|index| self.sites[index].clock.now())
    }

    /// Every site with its clock (µs, `None` before its first event) and how many of its
    /// event times were not believed, in the order the sites were first seen.
    pub fn site_clocks(&self) -> impl Iterator<Item = (&Text, Option<i64>, u64)> + '_ {
        self.sites.iter().map(|site| (&site.name, site.clock.now(), site.clock.outliers()))
    }

    fn end_reason_at_finish(&self, slot: u32) -> EndReason {
        let Some(call) = self.slots[slot as usize].call.as_deref() else {
            return EndReason::EndOfInput;
        };
        if call.deleted.is_some() {
            return EndReason::CallDeleted;
        }
        if call.deadline.is_some() && call.live_parties() == 0 {
            return EndReason::Released;
        }
        EndReason::EndOfInput
    }

    // -----------------------------------------------------------------------------------
    // Time: one clock per site

    /// Reads an event's time on its site's clock; the site's due timers run.
    fn read_clock(&mut self, site: usize, time: i64, sink: &mut impl CallSink) {
        let (config, ceiling) = (self.config.clock, self.ceiling);
        let clock = &mut self.sites[site].clock;
        let before = clock.now();
        if clock.observe(time, config, ceiling) == Reading::Suspect {
            self.stats.clock_outliers += 1;
        }
        if clock.now() != before {
            self.run_site_timers(site, sink);
        }
    }

    fn run_site_timers(&mut self, site: usize, sink: &mut impl CallSink) {
        let now = self.sites[site].now();
        let mut due: Vec<(u64, u32)> = Vec::new();
        while let Some(Reverse((deadline, _, _))) = self.sites[site].timers.peek().copied() {
            if deadline > now {
                break;
            }
            // Every call due at this deadline, finished in the order the calls were created,
            // not by slot: slots are shared by every site of the engine, so their order would
            // depend on the other sites, and one engine per site must finish its calls in
            // the same order as one engine for all (the split run, crates/pipeline).
            due.clear();
            while let Some(Reverse((at, slot, generation))) = self.sites[site].timers.peek().copied() {
                if at != deadline {
                    break;
                }
                self.sites[site].timers.pop();
                if let Some(serial) = self.due_serial(slot, generation, deadline) {
                    due.push((serial, slot));
                }
            }
            due.sort_unstable();
            due.dedup();
            for &(_, slot) in &due {
                self.finish_slot(slot, EndReason::Released, sink);
            }
        }
        if now >= self.sites[site].next_sweep {
            self.sweep_idle(site, sink);
            self.sites[site].next_sweep = now.saturating_add((self.config.idle_timeout / 8).max(SECOND));
        }
    }

    fn sweep_idle(&mut self, site: usize, sink: &mut impl CallSink) {
        let limit = self.sites[site].now().saturating_sub(self.config.idle_timeout);
        // In the order the calls were created, not by slot (see `run_site_timers`).
        let mut idle: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.site as usize == site)
            .filter_map(|(index, slot)| {
                let call = slot.call.as_deref().filter(|call| call.last_activity <= limit)?;
                Some((call.serial, index as u32))
            })
            .collect();
        idle.sort_unstable();
        for (_, slot) in idle {
            self.finish_slot(slot, EndReason::IdleTimeout, sink);
        }
    }

    /// The serial of the call in `slot` when the timer (`deadline`, `generation`) is its own
    /// and still stands.
    fn due_serial(&self, slot: u32, generation: u32, deadline: i64) -> Option<u64> {
        let entry = self.slots.get(slot as usize).filter(|entry| entry.generation == generation)?;
        let call = entry.call.as_deref().filter(|call| call.deadline == Some(deadline))?;
        Some(call.serial)
    }

    /// The time to give an event: its own, else its site's.
    fn time_of(&self, site: usize, event: &Event) -> Option<i64> {
        let now = self.sites[site].now();
        event.time().map(|time| time.0).or((now != i64::MIN).then_some(now))
    }

    /// The time of a call's latest activity, for the idle timeout: the site's clock, or the
    /// event's own time when it is ahead (a suspect time counts for its own call only).
    fn activity_time(&self, site: usize, event: &Event) -> i64 {
        let now = self.sites[site].now();
        event.time().map_or(now, |time| now.max(time.0))
    }

    // -----------------------------------------------------------------------------------
    // News

    /// Tells `sink` what the calls touched by the last event showed that it was not told:
    /// the call opened, a CallUUID, ConnIDs, Inter-Site Links, pointers, ISCC history.
    fn tell(&mut self, event: &Event, sink: &mut impl CallSink) {
        let touched = std::mem::take(&mut self.touched);
        for slot in &touched {
            self.tell_slot(*slot, event.time(), sink);
        }
        self.touched = touched;
        self.touched.clear();
    }

    fn tell_slot(&mut self, slot: u32, time: Option<Timestamp>, sink: &mut impl CallSink) {
        let Some(entry) = self.slots.get(slot as usize) else { return };
        let Some(call) = entry.call.as_deref() else { return };
        let site = &self.sites[entry.site as usize];
        let handle = CallHandle(call.serial);
        let mut told = call.told.clone();
        if !told.opened {
            told.opened = true;
            sink.opened(OpenedCall {
                handle,
                site: &site.name,
                call_uuid: call.uuid.as_ref(),
                conn_id: call.conn_ids.first().copied(),
                time: call.first_time,
                clock: site.now(),
            });
            told.uuid = call.uuid.is_some();
            told.conn_ids = call.conn_ids.len().min(1);
        }
        if !told.uuid {
            if let Some(uuid) = &call.uuid {
                told.uuid = true;
                sink.evidence(handle, Evidence::CallUuid(uuid));
            }
        }
        for conn in call.conn_ids.iter().skip(told.conn_ids) {
            sink.evidence(handle, Evidence::ConnId(*conn));
        }
        told.conn_ids = call.conn_ids.len();
        for link in call.is_links.iter().skip(told.links) {
            sink.evidence(handle, Evidence::Link(link, time));
        }
        told.links = call.is_links.len();
        if let (false, Some(pointer)) = (told.consult, &call.consult_of) {
            told.consult = true;
            let main = self.pointed(entry.site, pointer, slot);
            sink.evidence(handle, Evidence::ConsultOf { pointer, main });
        }
        if let (false, Some(pointer)) = (told.merged, &call.merged_into) {
            told.merged = true;
            let survivor = self.pointed(entry.site, pointer, slot);
            sink.evidence(handle, Evidence::MergedInto { pointer, survivor });
        }
        if let (false, Some(history)) = (told.history, &call.history) {
            told.history = true;
            sink.evidence(handle, Evidence::History(history));
        }
        if let Some(call) = self.call_mut(slot) {
            call.told = told;
        }
    }

    /// The live call a pointer names on its site, by CallUUID first, else by ConnID.
    fn pointed(&self, site: u32, pointer: &CallPointer, not: u32) -> Option<CallHandle> {
        let site = &self.sites[site as usize];
        let by_uuid = pointer.call_uuid.as_ref().and_then(|uuid| site.by_uuid.get(uuid));
        let by_conn = pointer.conn_id.and_then(|conn| site.by_conn.get(&conn));
        let slot = by_uuid.or(by_conn).copied().filter(|slot| *slot != not)?;
        self.call(slot).map(|call| CallHandle(call.serial))
    }

    fn touch_slot(&mut self, slot: u32) {
        if !self.touched.contains(&slot) {
            self.touched.push(slot);
        }
    }

    // -----------------------------------------------------------------------------------
    // Sites and duplicates

    /// The position of the site named `name`, if known.
    fn find_site(&self, name: &str) -> Option<usize> {
        #[cfg(test)]
        self.sites_examined.set(self.sites_examined.get() + 1);
        // Asked for most events (the sites of merged input alternate): among a few sites
        // comparing names costs less than hashing one with SipHash.
        if self.sites.len() <= FEW_SITES {
            return self.sites.iter().position(|site| site.name == name);
        }
        self.site_positions.get(name).copied()
    }

    fn site_index(&mut self, name: &Text) -> usize {
        if self.sites.get(self.last_site).is_some_and(|site| site.name == *name) {
            return self.last_site;
        }
        let index = match self.find_site(name) {
            Some(index) => index,
            None => {
                self.sites.push(Site::new(name.clone()));
                self.site_positions.insert(name.clone(), self.sites.len() - 1);
                self.sites.len() - 1
            }
        };
        self.last_site = index;
        index
    }

    fn is_duplicate(&mut self, site: usize, event: &Event) -> bool {
        let Some(seq) = event.seq else {
            return event.bsync;
        };
        let site = &mut self.sites[site];
        if site.seen.len() == 0 {
            site.seen = DuplicateWindow::for_window(self.config.dedupe_window);
        }
        site.seen.seen_before(seq, message_key(&event.message))
    }

    // -----------------------------------------------------------------------------------
    // The call table

    fn call(&self, slot: u32) -> Option<&Call> {
        self.slots.get(slot as usize)?.call.as_deref()
    }

    fn call_mut(&mut self, slot: u32) -> Option<&mut Call> {
        self.slots.get_mut(slot as usize)?.call.as_mut().map(Arc::make_mut)
    }

    fn create(&mut self, site: usize, uuid: Option<CallUuid>, conn: Option<ConnId>) -> u32 {
        self.serial += 1;
        let call = Call::new(self.sites[site].name.clone(), self.serial, uuid.clone(), conn);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot { call: None, site: site as u32, generation: 0 });
                (self.slots.len() - 1) as u32
            }
        };
        let entry = &mut self.slots[slot as usize];
        debug_assert!(entry.call.is_none());
        entry.site = site as u32;
        let mut call = call;
        call.generation = entry.generation;
        entry.call = Some(Arc::new(call));
        if let Some(uuid) = uuid {
            self.sites[site].by_uuid.insert(uuid, slot);
        }
        if let Some(conn) = conn {
            self.sites[site].by_conn.insert(conn, slot);
        }
        self.live += 1;
        self.stats.calls_started += 1;
        self.stats.peak_live_calls = self.stats.peak_live_calls.max(self.live as u64);
        self.touch_slot(slot);
        slot
    }

    fn finish_slot(&mut self, slot: u32, reason: EndReason, sink: &mut impl CallSink) {
        // News the call showed and was not told yet goes before its end.
        self.tell_slot(slot, None, sink);
        let Some(entry) = self.slots.get_mut(slot as usize) else { return };
        let Some(call) = entry.call.take().map(Arc::unwrap_or_clone) else { return };
        entry.generation = entry.generation.wrapping_add(1);
        let site = &mut self.sites[entry.site as usize];
        if let Some(uuid) = &call.uuid {
            if site.by_uuid.get(uuid) == Some(&slot) {
                site.by_uuid.remove(uuid);
            }
        }
        for conn in &call.conn_ids {
            if site.by_conn.get(conn) == Some(&slot) {
                site.by_conn.remove(conn);
            }
        }
        self.free.push(slot);
        self.live -= 1;
        let now = site.now();
        let finished = finished::finish(call, reason, now, &self.config.dn_plan);
        self.stats.calls_finished += 1;
        if !finished.complete {
            self.stats.calls_incomplete += 1;
        }
        sink.finished(finished);
    }

    /// The call an event belongs to (creating it when `create`): by CallUUID first, else by
    /// the ConnID while it is live (§4).
    fn locate(&mut self, site: usize, event: &Event, create: bool, sink: &mut impl CallSink) -> Option<u32> {
        let conn = event.conn_id.filter(|conn| !conn.is_null());
        let uuid = event.call_uuid.as_ref().filter(|uuid| !uuid.as_str().is_empty());
        if let Some(uuid) = uuid {
            if let Some(&slot) = self.sites[site].by_uuid.get(uuid) {
                return Some(slot);
            }
            if let Some(slot) = conn.and_then(|conn| self.adoptable(site, conn)) {
                self.adopt_uuid(site, slot, uuid.clone());
                return Some(slot);
            }
            return create.then(|| self.create(site, Some(uuid.clone()), conn));
        }
        let conn = conn?;
        if let Some(&slot) = self.sites[site].by_conn.get(&conn) {
            if !(create && self.is_reuse(slot, event)) {
                return Some(slot);
            }
            // The ConnID's earlier call ended; this event starts a new one (§4.1 reuse).
            self.finish_slot(slot, EndReason::Released, sink);
        }
        create.then(|| self.create(site, None, Some(conn)))
    }

    /// A live call on `conn` that never had a CallUUID and is not over: it takes the UUID.
    fn adoptable(&self, site: usize, conn: ConnId) -> Option<u32> {
        let slot = *self.sites[site].by_conn.get(&conn)?;
        let call = self.call(slot)?;
        (call.uuid.is_none() && call.deadline.is_none()).then_some(slot)
    }

    fn adopt_uuid(&mut self, site: usize, slot: u32, uuid: CallUuid) {
        if let Some(call) = self.call_mut(slot) {
            call.uuid = Some(uuid.clone());
        }
        self.sites[site].by_uuid.insert(uuid, slot);
    }

    /// A start event on a ConnID whose call has ended by release (lingering): a new call.
    fn is_reuse(&self, slot: u32, event: &Event) -> bool {
        let starts = starts_party(&event.message) || event.message == Message::EventCallCreated;
        let Some(call) = self.call(slot) else { return false };
        starts && call.deadline.is_some() && call.live_parties() == 0 && ended_by_release(call)
    }

    // -----------------------------------------------------------------------------------
    // Events

    fn on_call_event(&mut self, site: usize, event: &Event, sink: &mut impl CallSink) {
        let Some(slot) = self.locate(site, event, true, sink) else {
            self.stats.unplaced += 1;
            return;
        };
        self.touch_slot(slot);
        let at = self.time_of(site, event);
        let activity = self.activity_time(site, event);
        let order = self.order;
        if let Some(call) = self.call_mut(slot) {
            call.touch(event, activity);
        }
        self.note_consultation(site, slot, event);
        self.register_conn(site, slot, event);
        match event.message {
            Message::EventPartyChanged => self.move_by_party_changed(site, slot, event, at),
            Message::EventCallPartyMoved => self.move_by_call_party_moved(site, slot, event, at),
            _ => self.implicit_move(site, slot, event, at),
        }
        let Some(call) = self.call_mut(slot) else { return };
        if is_party_event(&event.message) {
            call.apply_dn(event, at, order);
        } else {
            call.apply_call_based(event, at, order);
        }
        call.close_delivered_queues(event);
        self.schedule(slot);
    }

    /// Requests and other call-related events: attached to their live call, never creating one.
    fn on_attached(&mut self, site: usize, event: &Event, request: bool) {
        let mut ignore = OnFinished(|_: FinishedCall| {});
        let Some(slot) = self.locate(site, event, false, &mut ignore) else {
            self.stats.not_for_a_call += 1;
            return;
        };
        self.touch_slot(slot);
        let activity = self.activity_time(site, event);
        let Some(call) = self.call_mut(slot) else { return };
        call.touch(event, activity);
        if request {
            call.apply_request(event);
        } else {
            call.apply_other(event);
        }
    }

    fn on_link_loss(&mut self, site: usize, event: &Event) {
        for slot in self.slots.iter_mut().filter(|slot| slot.site as usize == site) {
            if let Some(call) = slot.call.as_mut().map(Arc::make_mut) {
                call.mark_uncertain(event);
            }
        }
    }

    /// A call with no live party (or deleted) waits for trailing events, then finishes.
    fn schedule(&mut self, slot: u32) {
        let Some(site) = self.slots.get(slot as usize).map(|entry| entry.site as usize) else { return };
        let now = self.sites[site].now();
        let (linger, grace) = (self.config.end_linger, self.config.handoff_grace);
        let Some(call) = self.call_mut(slot) else { return };
        let quiet = call.deleted.is_some() || (!call.parties.is_empty() && call.live_parties() == 0);
        if !quiet {
            call.deadline = None;
            return;
        }
        if call.deadline.is_some() {
            return;
        }
        let wait = if call.deleted.is_none() && !ended_by_release(call) && call.merged_into.is_none() {
            grace
        } else {
            linger
        };
        let deadline = now.saturating_add(wait);
        call.deadline = Some(deadline);
        let generation = call.generation;
        self.sites[site].timers.push(Reverse((deadline, slot, generation)));
    }

    /// New ConnIDs of a call (EventCallDataChanged) become keys for it.
    fn register_conn(&mut self, site: usize, slot: u32, event: &Event) {
        let Some(conn) = event.conn_id.filter(|conn| !conn.is_null()) else { return };
        let Some(call) = self.call_mut(slot) else { return };
        if call.conn_ids.contains(&conn) {
            return;
        }
        call.add_conn_id(conn);
        self.sites[site].by_conn.insert(conn, slot);
    }

    // -----------------------------------------------------------------------------------
    // Consultations and moves

    /// A consultation names its main call (TransferConnID, PreviousConnID, ConferenceConnID,
    /// OrigCallUUID, §4.3); the first pointer found is kept, with the attribute that gave it.
    fn note_consultation(&mut self, site: usize, slot: u32, event: &Event) {
        let Some(call) = self.call(slot) else { return };
        if call.consult_of.is_some() {
            return;
        }
        let consult = matches!(event.call_type, Some(callstitch_tlib::CallType::Consult));
        let starting = starts_party(&event.message) || event.message == Message::EventCallCreated;
        if !(consult || starting) {
            return;
        }
        let own = event.conn_id;
        let pointer = [
            (event.transfer_conn_id, via::TRANSFER_CONN_ID),
            (event.previous_conn_id, via::PREVIOUS_CONN_ID),
            (event.conference_conn_id, via::CONFERENCE_CONN_ID),
        ]
        .into_iter()
        .find_map(|(conn, via)| {
            conn.filter(|conn| !conn.is_null() && Some(*conn) != own).map(|conn| (conn, via))
        });
        let orig = event
            .orig_call_uuid
            .clone()
            .filter(|uuid| !uuid.as_str().is_empty() && Some(uuid) != call.uuid.as_ref());
        let main_slot = match (&pointer, &orig) {
            (Some((conn, _)), _) => self.sites[site].by_conn.get(conn).copied(),
            (None, Some(uuid)) => self.sites[site].by_uuid.get(uuid).copied(),
            (None, None) => return,
        }
        .filter(|main| *main != slot);
        let main = main_slot.and_then(|main| self.call(main));
        let via = pointer.as_ref().map(|(_, via)| *via).unwrap_or(via::ORIG_CALL_UUID);
        let target = CallPointer {
            conn_id: pointer
                .as_ref()
                .map(|(conn, _)| *conn)
                .or_else(|| main.and_then(|main| main.conn_ids.first().copied())),
            call_uuid: main.and_then(|main| main.uuid.clone()).or(orig),
            via,
        };
        let found = main.is_some();
        let Some(call) = self.call_mut(slot) else { return };
        call.consult_of = Some(target);
        if !found {
            call.deviate(
                DeviationKind::ConsultMainNotFound,
                event,
                event.this_dn.as_ref(),
                format!("a live main call named by {via}"),
                "no such call on this server",
                "the consultation is reported on its own",
            );
        }
    }

    fn move_by_party_changed(&mut self, site: usize, slot: u32, event: &Event, at: Option<i64>) {
        let Some(previous) =
            event.previous_conn_id.filter(|conn| !conn.is_null() && Some(*conn) != event.conn_id)
        else {
            return;
        };
        let Some(dn) = event.this_dn.clone().filter(|dn| !dn.is_empty()) else { return };
        let source = self.sites[site].by_conn.get(&previous).copied().filter(|source| *source != slot);
        self.move_party(slot, source, &dn, event, at, via::EVENT_PARTY_CHANGED);
    }

    fn move_by_call_party_moved(&mut self, site: usize, slot: u32, event: &Event, at: Option<i64>) {
        let Some(dn) = event.dn.clone().or_else(|| event.this_dn.clone()).filter(|dn| !dn.is_empty()) else {
            return;
        };
        let by_ref = event
            .ref_call_uuid
            .as_ref()
            .and_then(|uuid| self.sites[site].by_uuid.get(uuid).copied())
            .filter(|source| *source != slot);
        let source = by_ref.or_else(|| self.related_with_live(slot, &dn));
        self.move_party(slot, source, &dn, event, at, via::EVENT_CALL_PARTY_MOVED);
    }

    /// A DN event for a DN this call does not have, while a related call (its consultation or
    /// its main) has it live: the party moved without EventPartyChanged (§18.2).
    fn implicit_move(&mut self, _site: usize, slot: u32, event: &Event, at: Option<i64>) {
        if !is_party_event(&event.message) || starts_party(&event.message) {
            return;
        }
        let Some(dn) = event.this_dn.as_ref().filter(|dn| !dn.is_empty()) else { return };
        let Some(call) = self.call(slot) else { return };
        if !call.started || call.parties.iter().any(|party| party.dn == *dn) {
            return;
        }
        let Some(source) = self.related_with_live(slot, dn) else { return };
        let dn = dn.clone();
        self.move_party(slot, Some(source), &dn, event, at, via::IMPLICIT);
        if let Some(call) = self.call_mut(slot) {
            let detail =
                format!("{dn} appeared here while still on a related call, with no EventPartyChanged");
            call.infer(InferenceKind::ImplicitMove, event, Some(&dn), detail);
        }
    }

    /// A live call related to `slot` (its main, or a consultation of it) on which `dn` is live.
    fn related_with_live(&self, slot: u32, dn: &str) -> Option<u32> {
        let call = self.call(slot)?;
        self.slots.iter().enumerate().find_map(|(index, entry)| {
            let other = entry.call.as_deref()?;
            let index = index as u32;
            let related = index != slot
                && other.site == call.site
                && (points_to(other, call) || points_to(call, other));
            (related && other.live_party(dn).is_some()).then_some(index)
        })
    }

    /// Moves `dn` from `source` onto `slot`, carrying its state (transfer / conference
    /// completion, §12–14). With no source, the party appears on `slot` as moved from an
    /// unseen call.
    fn move_party(
        &mut self,
        slot: u32,
        source: Option<u32>,
        dn: &Text,
        event: &Event,
        at: Option<i64>,
        via: &'static str,
    ) {
        let Some(target) = self.call(slot) else { return };
        if target.live_party(dn).is_some() {
            return;
        }
        let how = merge_how(event);
        let target_pointer = target.pointer(via);
        let moved_state =
            source.and_then(|source| self.take_party(source, dn, event, at, &target_pointer, how));
        let Some(target) = self.call_mut(slot) else { return };
        let state = moved_state.unwrap_or(PartyState::Connected);
        let mut party = Party::new(dn.clone());
        party.role = event.this_dn_role.clone();
        party.set_state(state, at);
        party.seen |= seen::MOVED_IN;
        party.moved_in_state = Some(state);
        party.moved_from = event.previous_conn_id.filter(|conn| !conn.is_null());
        target.parties.push(party);
        target.moves_in.push(MoveIn { how, state });
        target.transfer_seen |= how != MergeHow::Conference;
        if moved_state.is_none() {
            let detail = format!("{dn} moved here from a call this engine never saw");
            target.infer(InferenceKind::MovedFromUnseenCall, event, Some(dn), detail);
        }
    }

    /// Closes `dn` on `source` as moved to `target`; returns the state it had.
    fn take_party(
        &mut self,
        source: u32,
        dn: &Text,
        event: &Event,
        at: Option<i64>,
        target: &CallPointer,
        how: MergeHow,
    ) -> Option<PartyState> {
        let order = self.order;
        let call = self.call_mut(source)?;
        let index = call.live_party(dn)?;
        let party = &mut call.parties[index];
        let state = party.state;
        party.close(Exit::Moved, at, false);
        party.closed_by_own_event = true;
        party.moved_to = target.conn_id;
        party.history.push(crate::event_ref::EventRef::of(event));
        party.evidence.close_order = order;
        call.merged_into.get_or_insert_with(|| target.clone());
        if call.merged_how.is_none() || how != MergeHow::Unknown {
            call.merged_how = Some(how);
        }
        self.touch_slot(source);
        self.schedule(source);
        Some(state)
    }
}

/// True when `from` names `to` as its main call.
fn points_to(from: &Call, to: &Call) -> bool {
    let Some(pointer) = &from.consult_of else { return false };
    let by_conn = pointer.conn_id.is_some_and(|conn| to.conn_ids.contains(&conn));
    let by_uuid = pointer.call_uuid.is_some() && pointer.call_uuid == to.uuid;
    by_conn || by_uuid
}

/// Transfer or conference, from the moving event's CallState or ThirdPartyDNRole.
fn merge_how(event: &Event) -> MergeHow {
    use callstitch_tlib::CallState;
    match (&event.call_state, &event.third_party_dn_role) {
        (Some(CallState::Conferenced), _) | (_, Some(DnRole::ConferencedBy)) => MergeHow::Conference,
        (Some(CallState::Transferred), _) | (_, Some(DnRole::TransferredBy)) => MergeHow::Transfer,
        _ => MergeHow::Unknown,
    }
}

/// The last party to leave left by release or abandon (not by hand-off).
fn ended_by_release(call: &Call) -> bool {
    call.parties
        .iter()
        .filter(|party| party.exit.is_some())
        .max_by_key(|party| party.evidence.close_order)
        .and_then(|party| party.exit)
        .is_some_and(|exit| !exit.is_handoff())
}

/// A small number for a message: its T-Library number, or a hash of an unknown name.
fn message_key(message: &Message) -> u32 {
    if let Some(number) = message.number() {
        return u32::from(number);
    }
    // The low half of the project's one stable hash; the high bit keeps it apart from the
    // T-Library numbers, which are below 2^16.
    (callstitch_tlib::fnv::hash(message.name().as_bytes()) as u32) | 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::news::OnFinished;

    fn ringing(site: usize) -> Event {
        let line = format!(
            r#"{{"message":"EventRinging","site":"S{site}","seq":1,"timestamp":"2026-01-01T00:00:00.000001Z","conn_id":"0000000000000001","call_uuid":"C{site}","this_dn":"1001"}}"#
        );
        serde_json::from_str(&line).expect("event")
    }

    #[test]
    fn a_tick_over_many_sites_looks_each_site_up_once() {
        const SITES: usize = 20_000;
        let mut engine = Engine::default();
        for site in 0..SITES {
            engine.apply(&ringing(site), &mut |_| {});
        }
        engine.sites_examined.set(0);
        let mut sink = OnFinished(&mut |_: FinishedCall| {});
        for site in 0..SITES {
            let name = format!("S{site}");
            engine.advance_site_to(&name, Timestamp(2_000_000), &mut sink);
            assert!(engine.site_clock(&name).is_some());
        }
        // Two lookups per site; a scan would examine about SITES * SITES entries.
        assert!(
            engine.sites_examined.get() <= 2 * SITES as u64,
            "{} site entries examined for {SITES} sites",
            engine.sites_examined.get()
        );
    }

    #[test]
    fn a_restored_engine_finds_its_sites_by_name() {
        let mut engine = Engine::default();
        for site in 0..3 {
            engine.apply(&ringing(site), &mut |_| {});
        }
        let restored = Engine::from_state(engine.state(), EngineConfig::default()).expect("restore");
        for site in 0..3 {
            assert_eq!(restored.site_clock(&format!("S{site}")), engine.site_clock(&format!("S{site}")));
            assert!(restored.site_clock(&format!("S{site}")).is_some());
        }
        assert_eq!(restored.site_clock("S3"), None);
    }
}

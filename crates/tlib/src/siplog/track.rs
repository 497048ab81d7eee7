//! SIP Server's calls, rebuilt from its CTI markers, party traces and SIP messages.
//!
//! SIP Server writes a `$*:SIP:CTI:<NAME>:<n>` marker at each change of its call model, the
//! same changes T-Server distributes as call-based events (160–166). The marker names no call
//! and no party: the lines just before it do (`SIPCALL(<n>): add party '<DN>'`,
//! `SIPPARTY(<DN>): ChangePartyState: new=<code>`, `CALLSTATE: empty, delete the call <n>`).
//! The tracker keeps that context, turns each marker into its event, and gives each call its
//! CallUUID from the `CID:CUUID>` lines and X-Genesys-CallUUID headers of the call's SIP
//! dialogs. A call's events wait (at most [`MAX_PENDING`]) until its CallUUID is known.
//!
//! It also watches each call's dialogs for the first signal that ends it or a party's part
//! in it: a BYE, CANCEL, REFER or final error response from a party's endpoint, or SIP
//! Server sending the first BYE / CANCEL itself (after a timer, while handling a request).
//! That is written as [`SipEnd`] into the deletion events.
//!
//! Memory is bounded: at most [`MAX_CALLS`] calls and [`MAX_DIALOGS`] dialogs are kept; the
//! oldest are given up (and reported) beyond that.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::enums::{CallState, DnRole, EventProvenance, PartyState};
use crate::event::Event;
use crate::ids::{CallUuid, LocalTime, Timestamp};
use crate::kv::{KvList, Value};
use crate::message::Message;
use crate::sip_end::{SipEnd, SipEndKind};
use crate::siplog::line::SipLine;
use crate::siplog::message::{SipMessage, StartLine};
use crate::siplog::Sink;
use crate::tlog::problem::ProblemKind;
use crate::Text;

/// Calls kept at once.
pub(crate) const MAX_CALLS: usize = 4096;
/// SIP dialogs kept at once.
pub(crate) const MAX_DIALOGS: usize = 16_384;
/// Events of one call kept while its CallUUID is unknown.
pub(crate) const MAX_PENDING: usize = 64;
/// SIP Call-IDs listed on a call's EventCallDeleted.
const MAX_LISTED_DIALOGS: usize = 16;

/// Extensions keys of SIP-layer events (besides [`crate::sip_end::key`]).
pub mod key {
    /// SIP Server's own number of the call (`SIPCALL(16777217)`).
    pub const SERVER_CALL: &str = "sip-server-call";
    /// The SIP Call-ID of a party's dialog (on EventCallDeleted: of each dialog of the call).
    pub const CALL_ID: &str = "sip-call-id";
    /// SIP Server's party state code (`ChangePartyState: new=<code>`), as printed.
    pub const PARTY_STATE: &str = "sip-party-state";
    /// The client request SIP Server was handling when the call was created (`MAKE_CALL`).
    pub const REQUEST: &str = "sip-request";
    /// The switch of the origination DN (`Set Origination Info ... Location - <switch>`).
    pub const ORIGINATION_LOCATION: &str = "sip-origination-location";
}

/// When and where a line was written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    pub line: u64,
    pub clock: i64,
    pub log_time: Option<Timestamp>,
}

/// SIP Server's party state codes (`ChangePartyState: new=<code>`, the letters of
/// `update party-connection state N-I`) in T-Library PartyState terms (tlib-events.md §3.6).
/// The fixture shows 0 (N), 1 (I), 2 (A) and 6 (F), which follow the CSTA connection-state
/// numbering (null, initiated, alerting, connected, hold, queued, fail); 3, 4 and 5 are
/// taken from it.
pub fn party_state_of_code(code: u64) -> Option<PartyState> {
    Some(PartyState(match code {
        0 => 0x0,
        1 => 0x1,
        2 => 0xA,
        3 => 0xC,
        4 => 0xE,
        5 => 0x9,
        6 => 0xF,
        _ => return None,
    }))
}

#[derive(Debug)]
struct PartyTrack {
    dn: Text,
    live: bool,
    /// Its endpoint sent REFER: it is transferring the call away.
    referred: Option<SipEnd>,
    /// The SIP Call-ID of its dialog with SIP Server.
    call_id: Option<Text>,
}

#[derive(Debug, Default)]
struct CallTrack {
    /// SIP Server's number for it; `None` between CALL_CREATED and the first line naming it.
    number: Option<u64>,
    uuid: Option<CallUuid>,
    /// Events waiting for the CallUUID.
    pending: Vec<Event>,
    parties: Vec<PartyTrack>,
    /// The first end signal of the current episode (reset when a party leaves a call that
    /// goes on between two or more parties).
    end: Option<SipEnd>,
    /// The last `*TIMEOUT*` dialog event of the call.
    timeout: Option<Text>,
    /// The initial INVITE received that made the call.
    initial_dialog: Option<Text>,
    dialogs: Vec<Text>,
    /// The marker line that created it (for reports).
    created_line: u64,
}

impl CallTrack {
    fn live_party(&mut self, dn: &str) -> Option<&mut PartyTrack> {
        self.parties.iter_mut().rev().find(|party| party.live && party.dn == dn)
    }

    fn has_live(&self, dn: &str) -> bool {
        self.parties.iter().any(|party| party.live && party.dn == dn)
    }

    fn live_count(&self) -> usize {
        self.parties.iter().filter(|party| party.live).count()
    }

    /// Puts the call's identity on one of its events.
    fn stamp(&self, event: &mut Event) {
        event.call_uuid.clone_from(&self.uuid);
        if let Some(number) = self.number {
            extensions(event).push(key::SERVER_CALL, Value::Int(number.min(i64::MAX as u64) as i64));
        }
    }
}

#[derive(Debug)]
struct Dialog {
    call: Option<u64>,
    uuid: Option<CallUuid>,
    /// The DN of the endpoint on the other side of SIP Server.
    dn: Option<Text>,
    /// A 2xx to its INVITE was seen: later error responses are about re-INVITEs.
    confirmed: bool,
    /// SIP Server sent CANCEL: the 487 that follows is the answer to it.
    cancel_sent: bool,
}

/// The call a line or event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallKey {
    Creating,
    Number(u64),
}

/// Turns SIP Server lines into call-based events. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    calls: HashMap<u64, CallTrack>,
    call_order: VecDeque<u64>,
    creating: Option<CallTrack>,
    by_uuid: HashMap<CallUuid, u64>,
    /// CallUUIDs of calls already deleted (their dialogs' late lines join no other call).
    ended_uuids: HashSet<CallUuid>,
    ended_order: VecDeque<CallUuid>,
    dialogs: HashMap<Text, Dialog>,
    dialog_order: VecDeque<Text>,
    // --- context: what the lines just before a marker named ---
    current_call: Option<u64>,
    announced_call: Option<u64>,
    last_party: Option<Text>,
    pending_add: Option<(u64, Text)>,
    pending_delete: Option<(u64, Text)>,
    pending_state: Option<(Text, u64)>,
    pending_origination: Option<(Text, Text, Text)>,
    pending_call_delete: Option<u64>,
    pending_dialog_event: Option<Text>,
    open_request: Option<Text>,
    initial_invite: Option<Text>,
}

impl Tracker {
    /// One clocked line. Returns false when the line told the tracker nothing (noise).
    pub fn line(&mut self, line: SipLine<'_>, stamp: Stamp, sink: &mut Sink) -> bool {
        match line {
            SipLine::Marker { name, counter } => {
                sink.stats.cti_markers += 1;
                self.marker(name, counter, stamp, sink);
            }
            SipLine::RequestOpen { name } => {
                self.open_request = Some(sink.text(name));
                self.initial_invite = None;
            }
            SipLine::RequestClose => self.open_request = None,
            SipLine::UnitStart => self.initial_invite = None,
            SipLine::CallUuid { call_id, call_uuid } => {
                let (call_id, uuid) = (sink.text(call_id), CallUuid(sink.text(call_uuid)));
                self.call_uuid_line(call_id, uuid, sink);
            }
            SipLine::AddParty { call, dn } => {
                self.name_call(call, stamp, sink);
                self.pending_add = Some((call, sink.text(dn)));
            }
            SipLine::DeleteParty { call, dn } => {
                self.name_call(call, stamp, sink);
                self.pending_delete = Some((call, sink.text(dn)));
            }
            SipLine::CallEmpty { call } => {
                self.name_call(call, stamp, sink);
                self.pending_call_delete = Some(call);
            }
            SipLine::CallMention { call } => self.name_call(call, stamp, sink),
            SipLine::PartyState { dn, code } => {
                let dn = sink.text(dn);
                self.pending_state = Some((dn.clone(), code));
                self.last_party = Some(dn);
            }
            SipLine::Origination { dn, origin, location } => {
                let dn = sink.text(dn);
                self.pending_origination = Some((dn.clone(), sink.text(origin), sink.text(location)));
                self.last_party = Some(dn);
            }
            SipLine::PartyMention { dn } => self.last_party = Some(sink.text(dn)),
            SipLine::DialogEvent { name } => self.pending_dialog_event = Some(sink.text(name)),
            SipLine::MessageStart { .. } | SipLine::Other => return false,
        }
        true
    }

    /// A line names SIP Server call `number`: it becomes the current call, and a call just
    /// created without a number takes it.
    fn name_call(&mut self, number: u64, stamp: Stamp, sink: &mut Sink) {
        self.current_call = Some(number);
        if self.calls.contains_key(&number) {
            return;
        }
        match self.creating.take() {
            Some(mut call) => {
                call.number = Some(number);
                if let Some(dialog) = call.initial_dialog.as_ref().and_then(|id| self.dialogs.get_mut(id)) {
                    dialog.call = Some(number);
                }
                self.insert_call(number, call, stamp, sink);
            }
            None => self.announced_call = Some(number),
        }
    }

    fn insert_call(&mut self, number: u64, mut call: CallTrack, stamp: Stamp, sink: &mut Sink) {
        if let Some(uuid) = &call.uuid {
            self.by_uuid.insert(uuid.clone(), number);
            for mut event in std::mem::take(&mut call.pending) {
                call.stamp(&mut event);
                sink.push(event);
            }
        }
        self.calls.insert(number, call);
        self.call_order.push_back(number);
        if self.call_order.len() > 2 * MAX_CALLS {
            let calls = &self.calls;
            self.call_order.retain(|number| calls.contains_key(number));
        }
        while self.calls.len() > MAX_CALLS {
            let Some(oldest) = self.call_order.pop_front() else { break };
            if self.calls.contains_key(&oldest) {
                sink.problem_at(
                    stamp.line,
                    ProblemKind::TooManyCalls,
                    format!(
                        "more than {MAX_CALLS} calls open: call {oldest} given up, its end will not be seen"
                    ),
                );
                self.drop_call(oldest, sink);
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Markers

    fn marker(&mut self, name: &[u8], counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        match name {
            b"CALL_CREATED" => self.call_created(counter, stamp, sink),
            b"PARTY_CREATED" => self.party_created(counter, stamp, sink),
            b"PARTY_STATE_CHANGED" => self.party_state_changed(counter, stamp, sink),
            b"PARTY_DELETED" => self.party_deleted(counter, stamp, sink),
            b"CALL_DELETED" => self.call_deleted(counter, stamp, sink),
            _ => {}
        }
    }

    fn new_event(&self, message: Message, counter: Option<u64>, stamp: Stamp, sink: &Sink) -> Event {
        let mut event = Event::new(message, "");
        event.site.clone_from(&sink.site);
        event.file.clone_from(&sink.file);
        event.line = Some(stamp.line);
        event.provenance = EventProvenance::SipLayer;
        event.seq = counter;
        event.clock = Some(LocalTime { date: None, micros_of_day: stamp.clock });
        event.log_time = stamp.log_time;
        event
    }

    fn call_created(&mut self, counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        if let Some(stale) = self.creating.take() {
            sink.problem_at(
                stale.created_line,
                ProblemKind::UnplacedMarker,
                "CALL_CREATED with no SIPCALL line naming the call before the next one; its events are given as they are".to_string(),
            );
            self.flush_unnamed(stale, sink);
        }
        let mut call = CallTrack { created_line: stamp.line, ..CallTrack::default() };
        let mut event = self.new_event(Message::EventCallCreated, counter, stamp, sink);
        if let Some(request) = &self.open_request {
            extensions(&mut event).push(key::REQUEST, Value::Str(request.clone()));
        }
        if let Some(id) = self.initial_invite.take() {
            if let Some(dialog) = self.dialogs.get(&id) {
                call.uuid = dialog.uuid.clone().filter(|uuid| !self.by_uuid.contains_key(uuid));
                event.ani.clone_from(&dialog.dn);
            }
            call.initial_dialog = Some(id);
        }
        let announced = self.announced_call.take().filter(|number| !self.calls.contains_key(number));
        match announced {
            Some(number) => {
                call.number = Some(number);
                if let Some(dialog) = call.initial_dialog.as_ref().and_then(|id| self.dialogs.get_mut(id)) {
                    dialog.call = Some(number);
                }
                self.insert_call(number, call, stamp, sink);
                self.current_call = Some(number);
                self.emit(CallKey::Number(number), event, sink);
            }
            None => {
                self.creating = Some(call);
                self.emit(CallKey::Creating, event, sink);
            }
        }
    }

    fn party_created(&mut self, counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        let Some((number, dn)) = self.pending_add.take() else {
            self.unplaced("PARTY_CREATED", "no `SIPCALL(<n>): add party` line before it", stamp, sink);
            return;
        };
        let mut event = self.new_event(Message::EventCallPartyAdded, counter, stamp, sink);
        event.dn = Some(dn.clone());
        event.party_state = Some(PartyState(0));
        if let Some((party, origin, location)) =
            self.pending_origination.take().filter(|(party, ..)| *party == dn)
        {
            let originated = origin == party;
            event.this_dn_role = Some(if originated { DnRole::Origination } else { DnRole::Destination });
            if !originated {
                event.other_dn = Some(origin);
            }
            extensions(&mut event).push(key::ORIGINATION_LOCATION, Value::Str(location));
        }
        let Some(call) = self.calls.get_mut(&number) else {
            self.unplaced("PARTY_CREATED", &format!("call {number} is not open"), stamp, sink);
            return;
        };
        call.parties.push(PartyTrack { dn, live: true, referred: None, call_id: None });
        self.emit(CallKey::Number(number), event, sink);
    }

    fn party_state_changed(&mut self, counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        let Some((dn, code)) = self.pending_state.take() else {
            self.unplaced("PARTY_STATE_CHANGED", "no `ChangePartyState: new=` line before it", stamp, sink);
            return;
        };
        let Some(number) = self.call_of_party(&dn) else {
            self.unplaced("PARTY_STATE_CHANGED", &format!("no open call has party {dn}"), stamp, sink);
            return;
        };
        let mut event = self.new_event(Message::EventCallPartyState, counter, stamp, sink);
        event.dn = Some(dn.clone());
        event.party_state = party_state_of_code(code);
        extensions(&mut event).push(key::PARTY_STATE, Value::Int(code.min(i64::MAX as u64) as i64));
        if let Some(call_id) =
            self.calls.get_mut(&number).and_then(|call| call.live_party(&dn)?.call_id.clone())
        {
            extensions(&mut event).push(key::CALL_ID, Value::Str(call_id));
        }
        self.emit(CallKey::Number(number), event, sink);
    }

    fn party_deleted(&mut self, counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        let Some((number, dn)) = self.deleted_party() else {
            self.unplaced("PARTY_DELETED", "no `delete party` line and no live party before it", stamp, sink);
            return;
        };
        let mut event = self.new_event(Message::EventCallPartyDeleted, counter, stamp, sink);
        event.dn = Some(dn.clone());
        let Some(call) = self.calls.get_mut(&number) else {
            self.unplaced("PARTY_DELETED", &format!("call {number} is not open"), stamp, sink);
            return;
        };
        let (referred, call_id) = match call.live_party(&dn) {
            Some(party) => {
                party.live = false;
                (party.referred.take(), party.call_id.clone())
            }
            None => (None, None),
        };
        if referred.is_some() {
            event.call_state = Some(CallState::Transferred);
        }
        if let Some(end) = referred.as_ref().or(call.end.as_ref()) {
            end.write_to(extensions(&mut event));
        }
        if let Some(call_id) = call_id {
            extensions(&mut event).push(key::CALL_ID, Value::Str(call_id));
        }
        if call.live_count() >= 2 {
            call.end = None;
            call.timeout = None;
        }
        self.emit(CallKey::Number(number), event, sink);
    }

    /// The party a PARTY_DELETED marker is about: the `delete party` line before it, else the
    /// party the last lines worked on, else the only live party of the current call.
    fn deleted_party(&mut self) -> Option<(u64, Text)> {
        if let Some(named) = self.pending_delete.take() {
            return Some(named);
        }
        let number = self.current_call?;
        let call = self.calls.get(&number)?;
        if let Some(dn) = self.last_party.as_ref().filter(|dn| call.has_live(dn)) {
            return Some((number, dn.clone()));
        }
        let mut live = call.parties.iter().filter(|party| party.live);
        match (live.next(), live.next()) {
            (Some(only), None) => Some((number, only.dn.clone())),
            _ => None,
        }
    }

    fn call_deleted(&mut self, counter: Option<u64>, stamp: Stamp, sink: &mut Sink) {
        let Some(number) = self.pending_call_delete.take().or(self.current_call) else {
            self.unplaced("CALL_DELETED", "no line before it names the call", stamp, sink);
            return;
        };
        let Some(call) = self.calls.get(&number) else {
            self.unplaced("CALL_DELETED", &format!("call {number} is not open"), stamp, sink);
            return;
        };
        let mut event = self.new_event(Message::EventCallDeleted, counter, stamp, sink);
        if let Some(end) = &call.end {
            end.write_to(extensions(&mut event));
        }
        for call_id in call.dialogs.iter().take(MAX_LISTED_DIALOGS) {
            extensions(&mut event).push(key::CALL_ID, Value::Str(call_id.clone()));
        }
        self.emit(CallKey::Number(number), event, sink);
        self.drop_call(number, sink);
        if self.current_call == Some(number) {
            self.current_call = None;
        }
    }

    fn unplaced(&self, marker: &str, why: &str, stamp: Stamp, sink: &mut Sink) {
        sink.problem_at(stamp.line, ProblemKind::UnplacedMarker, format!("{marker} skipped: {why}"));
    }

    /// The open call with a live party `dn`: the current call if it has one, else the only
    /// other call that has one.
    fn call_of_party(&self, dn: &str) -> Option<u64> {
        if let Some(number) =
            self.current_call.filter(|number| self.calls.get(number).is_some_and(|call| call.has_live(dn)))
        {
            return Some(number);
        }
        let mut holders = self.calls.iter().filter(|(_, call)| call.has_live(dn)).map(|(number, _)| *number);
        match (holders.next(), holders.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    // -----------------------------------------------------------------------------------
    // Emitting

    /// Hands an event on, or keeps it with its call until the call's CallUUID is known.
    fn emit(&mut self, key: CallKey, mut event: Event, sink: &mut Sink) {
        let call = match key {
            CallKey::Creating => self.creating.as_mut(),
            CallKey::Number(number) => self.calls.get_mut(&number),
        };
        let Some(call) = call else {
            sink.push(event);
            return;
        };
        if call.uuid.is_some() {
            call.stamp(&mut event);
            sink.push(event);
            return;
        }
        call.pending.push(event);
        if call.pending.len() >= MAX_PENDING {
            let line = call.created_line;
            let events = std::mem::take(&mut call.pending);
            sink.problem_at(
                line,
                ProblemKind::NoCallUuid,
                format!("no CallUUID after {MAX_PENDING} events of the call created here: given without one"),
            );
            for mut event in events {
                call.stamp(&mut event);
                sink.push(event);
            }
        }
    }

    /// The call now has a CallUUID: its waiting events go.
    fn bind_uuid(&mut self, number: u64, uuid: CallUuid, sink: &mut Sink) {
        let Some(call) = self.calls.get_mut(&number) else { return };
        if call.uuid.is_some() {
            return;
        }
        call.uuid = Some(uuid.clone());
        self.by_uuid.insert(uuid, number);
        for mut event in std::mem::take(&mut call.pending) {
            call.stamp(&mut event);
            sink.push(event);
        }
    }

    /// Forgets a call, handing on whatever of it is still waiting.
    fn drop_call(&mut self, number: u64, sink: &mut Sink) {
        let Some(call) = self.calls.remove(&number) else { return };
        for call_id in &call.dialogs {
            self.dialogs.remove(call_id);
        }
        if let Some(uuid) = &call.uuid {
            if self.by_uuid.get(uuid) == Some(&number) {
                self.by_uuid.remove(uuid);
            }
            self.ended_uuids.insert(uuid.clone());
            self.ended_order.push_back(uuid.clone());
            while self.ended_order.len() > MAX_CALLS {
                if let Some(oldest) = self.ended_order.pop_front() {
                    self.ended_uuids.remove(&oldest);
                }
            }
        }
        self.flush_unnamed(call, sink);
    }

    fn flush_unnamed(&mut self, mut call: CallTrack, sink: &mut Sink) {
        if call.pending.is_empty() {
            return;
        }
        if call.uuid.is_some() {
            for mut event in std::mem::take(&mut call.pending) {
                call.stamp(&mut event);
                sink.push(event);
            }
            return;
        }
        sink.problem_at(
            call.created_line,
            ProblemKind::NoCallUuid,
            "the call created here never showed its CallUUID: its events are given without one".to_string(),
        );
        for mut event in std::mem::take(&mut call.pending) {
            call.stamp(&mut event);
            sink.push(event);
        }
    }

    /// End of input: every call still open hands on what it holds.
    pub fn finish(&mut self, sink: &mut Sink) {
        if let Some(call) = self.creating.take() {
            self.flush_unnamed(call, sink);
        }
        let mut open: Vec<u64> =
            self.call_order.drain(..).filter(|number| self.calls.contains_key(number)).collect();
        open.dedup();
        for number in open {
            self.drop_call(number, sink);
        }
    }

    // -----------------------------------------------------------------------------------
    // Dialogs and SIP messages

    fn call_uuid_line(&mut self, call_id: Text, uuid: CallUuid, sink: &mut Sink) {
        let dialog_event = self.pending_dialog_event.take();
        if !self.dialogs.contains_key(&call_id) && self.ended_uuids.contains(&uuid) {
            return; // a late line of a dialog whose call has been deleted
        }
        self.ensure_dialog(&call_id);
        self.learn_uuid(&call_id, uuid, sink);
        let Some(number) = self.dialogs.get(&call_id).and_then(|dialog| dialog.call) else { return };
        self.current_call = Some(number);
        if let Some(name) = dialog_event.filter(|name| name.contains("TIMEOUT")) {
            if let Some(call) = self.calls.get_mut(&number) {
                call.timeout = Some(name);
            }
        }
    }

    fn ensure_dialog(&mut self, call_id: &Text) {
        if self.dialogs.contains_key(call_id) {
            return;
        }
        let dialog = Dialog { call: None, uuid: None, dn: None, confirmed: false, cancel_sent: false };
        self.dialogs.insert(call_id.clone(), dialog);
        self.dialog_order.push_back(call_id.clone());
        if self.dialog_order.len() > 2 * MAX_DIALOGS {
            let dialogs = &self.dialogs;
            self.dialog_order.retain(|call_id| dialogs.contains_key(call_id));
        }
        while self.dialogs.len() > MAX_DIALOGS {
            let Some(oldest) = self.dialog_order.pop_front() else { break };
            self.dialogs.remove(&oldest);
        }
    }

    /// A dialog shows its CallUUID: the dialog's call takes it if it has none; a dialog with no
    /// call yet joins the call that has it, or the current call if that has none.
    fn learn_uuid(&mut self, call_id: &Text, uuid: CallUuid, sink: &mut Sink) {
        let Some(dialog) = self.dialogs.get_mut(call_id) else { return };
        dialog.uuid.get_or_insert_with(|| uuid.clone());
        if let Some(number) = dialog.call {
            self.bind_uuid(number, uuid, sink);
            self.note_dialog(number, call_id);
            return;
        }
        if let Some(&number) = self.by_uuid.get(&uuid) {
            dialog.call = Some(number);
            self.note_dialog(number, call_id);
            return;
        }
        if self.ended_uuids.contains(&uuid) {
            return;
        }
        let Some(number) =
            self.current_call.filter(|number| self.calls.get(number).is_some_and(|call| call.uuid.is_none()))
        else {
            if let Some(creating) = self.creating.as_mut().filter(|call| call.uuid.is_none()) {
                creating.uuid = Some(uuid);
            }
            return;
        };
        dialog.call = Some(number);
        self.note_dialog(number, call_id);
        self.bind_uuid(number, uuid, sink);
    }

    fn note_dialog(&mut self, number: u64, call_id: &Text) {
        let Some(call) = self.calls.get_mut(&number) else { return };
        if !call.dialogs.contains(call_id) && call.dialogs.len() < MAX_LISTED_DIALOGS {
            call.dialogs.push(call_id.clone());
        }
        let dn = self.dialogs.get(call_id).and_then(|dialog| dialog.dn.clone());
        if let Some(party) = dn.and_then(|dn| call.live_party(&dn)) {
            party.call_id.get_or_insert_with(|| call_id.clone());
        }
    }

    /// One SIP message. Returns false when it belongs to no call (registrations,
    /// subscriptions, options: noise).
    pub fn message(&mut self, message: SipMessage, sink: &mut Sink) -> bool {
        sink.stats.sip_messages += 1;
        let Some(call_id) = message.call_id.clone() else { return false };
        let initial_invite = matches!(&message.start, Some(StartLine::Request { method, .. }) if method == "INVITE")
            && !message.to_tag;
        if initial_invite && !self.dialogs.contains_key(&call_id) {
            self.new_dialog(&call_id, &message);
        }
        if !self.dialogs.contains_key(&call_id) {
            return false;
        }
        if let Some(uuid) = message.genesys_call_uuid.clone() {
            self.learn_uuid(&call_id, CallUuid(uuid), sink);
        }
        let Some(number) = self.dialogs.get(&call_id).and_then(|dialog| dialog.call) else { return true };
        if !self.calls.contains_key(&number) {
            return true;
        }
        self.current_call = Some(number);
        self.note_dialog(number, &call_id);
        self.watch_for_end(number, &call_id, &message);
        true
    }

    fn new_dialog(&mut self, call_id: &Text, message: &SipMessage) {
        self.ensure_dialog(call_id);
        let uri_user = match &message.start {
            Some(StartLine::Request { uri_user, .. }) => uri_user.clone(),
            _ => None,
        };
        let (dn, call) = if message.outgoing {
            (
                message.to_user.clone().or(uri_user),
                self.current_call.filter(|number| self.calls.contains_key(number)),
            )
        } else {
            self.initial_invite = Some(call_id.clone());
            (message.from_user.clone(), None)
        };
        if let Some(dialog) = self.dialogs.get_mut(call_id) {
            dialog.dn = dn;
            dialog.call = call;
        }
        if let Some(number) = call {
            self.note_dialog(number, call_id);
        }
    }

    /// The first signal that ends the call (or a party's part in it) in this episode.
    fn watch_for_end(&mut self, number: u64, call_id: &Text, message: &SipMessage) {
        let Some(dialog) = self.dialogs.get_mut(call_id) else { return };
        let from_party = !message.outgoing;
        let dn = dialog.dn.clone();
        let signal = match &message.start {
            Some(StartLine::Request { method, .. }) => match (from_party, method.as_str()) {
                (true, "BYE") => Some(SipEndKind::Bye),
                (true, "CANCEL") => Some(SipEndKind::Cancel),
                (true, "REFER") => Some(SipEndKind::Refer),
                (false, "BYE") => Some(SipEndKind::Cleared),
                (false, "CANCEL") => {
                    dialog.cancel_sent = true;
                    Some(SipEndKind::Cleared)
                }
                _ => None,
            },
            Some(StartLine::Response { status, .. }) => {
                let to_invite = message.cseq_method.as_deref() == Some("INVITE");
                if to_invite && (200..300).contains(status) {
                    dialog.confirmed = true;
                }
                let final_error = to_invite && *status >= 400 && !dialog.confirmed;
                match (from_party, *status) {
                    _ if !final_error => None,
                    (true, _) if dialog.cancel_sent => None,
                    (true, 486 | 600) => Some(SipEndKind::Busy),
                    (true, _) => Some(SipEndKind::Rejected),
                    (false, _) => Some(SipEndKind::Cleared),
                }
            }
            None => None,
        };
        let Some(kind) = signal else { return };
        let detail = match (&message.start, kind) {
            (Some(StartLine::Response { text, .. }), _) => Some(text.clone()),
            (_, SipEndKind::Refer) => message.refer_to_user.clone(),
            _ => None,
        };
        let mut end =
            SipEnd { kind, by: None, detail, reason: message.reason.clone(), call_id: Some(call_id.clone()) };
        let open_request = self.open_request.clone();
        let Some(call) = self.calls.get_mut(&number) else { return };
        if kind.is_from_party() {
            end.by = dn.clone();
        } else if let Some(timeout) = &call.timeout {
            end.kind = SipEndKind::Timeout;
            end.detail = Some(timeout.clone());
        } else if let Some(request) = open_request {
            end.kind = SipEndKind::Request;
            end.detail = Some(request);
        }
        if kind == SipEndKind::Refer {
            if let Some(party) = dn.as_deref().and_then(|dn| call.live_party(dn)) {
                party.referred.get_or_insert_with(|| end.clone());
            }
        }
        call.end.get_or_insert(end);
    }
}

/// The event's Extensions, created when absent.
fn extensions(event: &mut Event) -> &mut KvList {
    event.extensions.get_or_insert_with(KvList::new)
}

//! One live call on one site: its identity, its parties, and how each kind of event changes it.
//!
//! The engine ([`crate::engine`]) finds the call an event belongs to and handles what spans
//! calls (consultations, parties moving between ConnIDs); everything that touches one call is
//! here. Every event that reaches a call is kept: in a party's history when it concerns a
//! party, in the call's own list otherwise.

use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, DnRole, Event, EventProvenance, IsLink, Message, ReleasingParty,
    SipEnd, Text, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::config::DnPlan;
use crate::deviation::{Deviation, DeviationKind, Inference, InferenceKind};
use crate::event_ref::EventRef;
use crate::news::{Told, TransferHistory};
use crate::party::{kind_of, kind_of_unseen, seen, KindContext, Party, PartyKind};
use crate::state::{Exit, PartyState};
use crate::transition::{self, starts_party};

/// What gave a [`CallPointer`]: the attribute or event, by the name the JSON shows.
pub mod via {
    pub const TRANSFER_CONN_ID: &str = "TransferConnID";
    pub const PREVIOUS_CONN_ID: &str = "PreviousConnID";
    pub const CONFERENCE_CONN_ID: &str = "ConferenceConnID";
    pub const ORIG_CALL_UUID: &str = "OrigCallUUID";
    pub const REF_CALL_UUID: &str = "RefCallUUID";
    pub const EVENT_PARTY_CHANGED: &str = "EventPartyChanged";
    pub const EVENT_CALL_PARTY_MOVED: &str = "EventCallPartyMoved";
    /// A party that moved with no event saying so.
    pub const IMPLICIT: &str = "implicit";
    /// Every value, so that a snapshot can map a stored name back to it.
    pub const ALL: [&str; 8] = [
        TRANSFER_CONN_ID,
        PREVIOUS_CONN_ID,
        CONFERENCE_CONN_ID,
        ORIG_CALL_UUID,
        REF_CALL_UUID,
        EVENT_PARTY_CHANGED,
        EVENT_CALL_PARTY_MOVED,
        IMPLICIT,
    ];
}

/// A pointer from one call to another on the same site (consultation → main, merged →
/// survivor), with the attribute that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallPointer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<CallUuid>,
    /// The attribute or event that gave the pointer (one of [`via::ALL`]: `TransferConnID`,
    /// `PreviousConnID`, `ConferenceConnID`, `OrigCallUUID`, `RefCallUUID`,
    /// `EventPartyChanged`, ...).
    pub via: &'static str,
}

/// How a call that ended into another one was merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeHow {
    Transfer,
    Conference,
    Unknown,
}

/// A party that moved onto this call from another ConnID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MoveIn {
    pub how: MergeHow,
    pub state: PartyState,
}

/// A live call. Its serde form is the snapshot's (crate::snapshot), never an output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Call {
    pub site: Text,
    /// Engine-wide creation number: the synthetic key when the server sent no CallUUID.
    pub serial: u64,
    pub uuid: Option<CallUuid>,
    pub conn_ids: Vec<ConnId>,
    pub call_type: Option<CallType>,
    pub ani: Option<Text>,
    pub dnis: Option<Text>,
    #[serde(with = "crate::snapshot::parties")]
    pub parties: Vec<Party>,
    pub deviations: Vec<Deviation>,
    pub inferences: Vec<Inference>,
    /// Events about the call that moved no party (call-based call events, attached data, errors).
    pub call_events: Vec<EventRef>,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
    pub event_count: u32,
    pub consult_of: Option<CallPointer>,
    pub merged_into: Option<CallPointer>,
    pub merged_how: Option<MergeHow>,
    pub orig_call_uuid: Option<CallUuid>,
    pub ref_call_uuid: Option<CallUuid>,
    pub is_links: Vec<IsLink>,
    /// Call-based (monitoring) events were seen.
    pub monitored: bool,
    /// EventCallDeleted, with its CtrlParty.
    pub deleted: Option<EventRef>,
    pub ctrl_party: Option<(Text, EventRef)>,
    /// RequestClearCall for the call.
    pub clear_request: Option<EventRef>,
    /// Built from SIP-layer events (a SIP Server log with no T-Library records).
    #[serde(default)]
    pub sip_layer: bool,
    /// What the SIP layer says ended the call (on its EventCallDeleted).
    #[serde(default)]
    pub sip_end: Option<Box<(SipEnd, EventRef)>>,
    pub moves_in: Vec<MoveIn>,
    /// A transfer touched the call (repeated EventEstablished is then expected).
    pub transfer_seen: bool,
    /// A conference touched the call: a party added (EventPartyAdded, CallState Conferenced,
    /// ThirdPartyDNRole ConferencedBy / AddedBy).
    #[serde(default)]
    pub conferenced: bool,
    /// The first DN that dialled.
    pub originator: Option<Text>,
    /// OtherDNs named by the call's events that never became parties (unmonitored ends).
    pub other_dns: Vec<Text>,
    /// The kind of each of `other_dns` when something says it (party::kind_of_unseen);
    /// settled when the call finishes.
    #[serde(skip)]
    pub other_kinds: Vec<Option<PartyKind>>,
    /// A start event (dialing, ringing, queued, route request, call created) was seen.
    pub started: bool,
    pub uncertain: bool,
    /// Engine time of the last event (for the idle timeout).
    pub last_activity: i64,
    /// When the call will be finished, once it has no live party or was deleted.
    pub deadline: Option<i64>,
    /// Slot generation in the engine, so stale timers are ignored.
    pub generation: u32,
    /// ISCC call history: the first LastTransfer* the call's events carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<TransferHistory>,
    /// What the engine's listener was told of the call so far.
    #[serde(default)]
    pub told: Told,
}

const MAX_OTHER_DNS: usize = 8;

/// Events further apart than this are not one step (call-models.md §18.1): a party still on
/// the call this long after another left was talking on without it.
const STEP: i64 = 1_000_000;

impl Call {
    pub(crate) fn new(site: Text, serial: u64, uuid: Option<CallUuid>, conn: Option<ConnId>) -> Call {
        Call {
            site,
            serial,
            uuid,
            conn_ids: conn.into_iter().collect(),
            call_type: None,
            ani: None,
            dnis: None,
            parties: Vec::with_capacity(3),
            deviations: Vec::new(),
            inferences: Vec::new(),
            call_events: Vec::new(),
            first_time: None,
            last_time: None,
            event_count: 0,
            consult_of: None,
            merged_into: None,
            merged_how: None,
            orig_call_uuid: None,
            ref_call_uuid: None,
            is_links: Vec::new(),
            monitored: false,
            deleted: None,
            ctrl_party: None,
            clear_request: None,
            sip_layer: false,
            sip_end: None,
            moves_in: Vec::new(),
            transfer_seen: false,
            conferenced: false,
            originator: None,
            other_dns: Vec::new(),
            other_kinds: Vec::new(),
            started: false,
            uncertain: false,
            last_activity: i64::MIN,
            deadline: None,
            generation: 0,
            history: None,
            told: Told::default(),
        }
    }

    pub(crate) fn live_parties(&self) -> usize {
        self.parties.iter().filter(|party| party.is_live()).count()
    }

    /// The pointer other calls use for this one.
    pub(crate) fn pointer(&self, via: &'static str) -> CallPointer {
        CallPointer { conn_id: self.conn_ids.last().copied(), call_uuid: self.uuid.clone(), via }
    }

    pub(crate) fn add_conn_id(&mut self, conn: ConnId) {
        if !conn.is_null() && !self.conn_ids.contains(&conn) {
            self.conn_ids.push(conn);
        }
    }

    /// The party instance an event for `dn` belongs to: the last one, unless it has left and
    /// the event starts a new appearance.
    pub(crate) fn party_index(&self, dn: &str, message: &Message) -> Option<usize> {
        let index = self.parties.iter().rposition(|party| party.dn == dn)?;
        if self.parties[index].is_live() || !starts_party(message) {
            return Some(index);
        }
        None
    }

    /// The live party for `dn`, if any.
    pub(crate) fn live_party(&self, dn: &str) -> Option<usize> {
        self.parties.iter().rposition(|party| party.dn == dn && party.is_live())
    }

    /// The party for `dn` that has not left: live, or added by a call-based event in the
    /// Null state and not yet in any other.
    fn open_party(&self, dn: &str) -> Option<usize> {
        self.parties.iter().rposition(|party| party.dn == dn && party.exit.is_none())
    }

    pub(crate) fn deviate(
        &mut self,
        kind: DeviationKind,
        event: &Event,
        party: Option<&Text>,
        expected: impl Into<String>,
        seen: impl Into<String>,
        assumed: impl Into<String>,
    ) {
        self.deviations.push(Deviation {
            kind,
            event: EventRef::of(event),
            party: party.cloned(),
            expected: expected.into(),
            seen: seen.into(),
            assumed: assumed.into(),
        });
    }

    pub(crate) fn infer(&mut self, kind: InferenceKind, event: &Event, party: Option<&Text>, detail: String) {
        self.inferences.push(Inference { kind, party: party.cloned(), event: EventRef::of(event), detail });
    }

    /// Bookkeeping every event does: times, counts, call attributes.
    pub(crate) fn touch(&mut self, event: &Event, now: i64) {
        self.event_count += 1;
        self.sip_layer |= event.provenance == EventProvenance::SipLayer;
        self.last_activity = now;
        if let Some(time) = event.time() {
            if self.first_time.is_none_or(|first| time < first) {
                self.first_time = Some(time);
            }
            if self.last_time.is_none_or(|last| time > last) {
                self.last_time = Some(time);
            }
        }
        if let Some(call_type) = &event.call_type {
            if self.call_type.is_none() || *call_type == CallType::Consult {
                self.call_type = Some(call_type.clone());
            }
        }
        fill(&mut self.ani, &event.ani);
        fill(&mut self.dnis, &event.dnis);
        if let Some(uuid) = event.orig_call_uuid.as_ref().filter(|uuid| !uuid.as_str().is_empty()) {
            self.orig_call_uuid.get_or_insert_with(|| uuid.clone());
        }
        if self.history.is_none() && event.last_transfer_home_location.is_some() {
            if let Some(conn) = event.last_transfer_conn_id {
                self.history = Some(TransferHistory {
                    last_transfer_conn_id: Some(conn),
                    last_transfer_home_location: event.last_transfer_home_location.clone(),
                    last_transfer_orig_dn: event.last_transfer_orig_dn.clone(),
                });
            }
        }
    }

    fn note_other_dn(&mut self, event: &Event) {
        let Some(other) = event.other_dn.as_ref().filter(|dn| !dn.is_empty()) else {
            return;
        };
        if self.other_dns.len() < MAX_OTHER_DNS && !self.other_dns.contains(other) {
            self.other_dns.push(other.clone());
        }
    }

    // -----------------------------------------------------------------------------------
    // DN-based events

    /// Applies a DN-based call-progress event (§1.1) to the party it is about.
    pub(crate) fn apply_dn(&mut self, event: &Event, at: Option<i64>, order: u64) {
        let Some(dn) = event.this_dn.as_ref().filter(|dn| !dn.is_empty()).cloned() else {
            self.deviate(
                DeviationKind::MissingAttribute,
                event,
                None,
                "ThisDN on a call-progress event",
                "no ThisDN",
                "event kept on the call, no party moved",
            );
            self.call_events.push(EventRef::of(event));
            return;
        };
        self.note_other_dn(event);
        let (index, fresh) = match self.party_index(&dn, &event.message) {
            Some(index) => (index, false),
            None => (self.add_party_for(&dn, event), true),
        };
        if starts_party(&event.message) {
            self.started = true;
        }
        self.parties[index].seen |= seen::DN_EVENT;
        self.record(index, event);
        self.apply_step(index, event, at, order, fresh);
        self.after_dn_event(index, event, at);
    }

    /// Creates the party an event names; flags it when the model says it cannot start here.
    fn add_party_for(&mut self, dn: &Text, event: &Event) -> usize {
        let mut party = Party::new(dn.clone());
        party.role = event.this_dn_role.clone();
        self.parties.push(party);
        let index = self.parties.len() - 1;
        if starts_party(&event.message) {
            return index;
        }
        if !self.started {
            self.infer(
                InferenceKind::JoinedMidCall,
                event,
                Some(dn),
                format!("first seen at {}: the call began before the stream", event.message),
            );
            return index;
        }
        self.flag_unknown_party(dn, event);
        index
    }

    fn flag_unknown_party(&mut self, dn: &Text, event: &Event) {
        let is_established = event.message == Message::EventEstablished;
        let (kind, expected) = match event.this_dn_role {
            Some(DnRole::Destination) if is_established => (
                DeviationKind::MissingEvent,
                "EventRinging (or EventQueued) before the destination's EventEstablished",
            ),
            Some(DnRole::Origination) if is_established => {
                (DeviationKind::MissingEvent, "EventDialing before the originator's EventEstablished")
            }
            _ => (DeviationKind::UnknownParty, "an event for a party already on the call"),
        };
        self.deviate(
            kind,
            event,
            Some(dn),
            expected,
            format!("{} for {dn}, unknown on this call", event.message),
            "a new party",
        );
    }

    fn record(&mut self, index: usize, event: &Event) {
        let party = &mut self.parties[index];
        party.history.push(EventRef::of(event));
        if let Some(time) = event.time() {
            party.first_time.get_or_insert(time);
            party.last_time = Some(time);
        }
        party.uncertain = false;
        if party.role.is_none() {
            party.role = event.this_dn_role.clone();
        }
        if party.queue.is_none() {
            party.queue = event.this_queue.clone().filter(|queue| !queue.is_empty());
        }
        if party.agent_id.is_none() {
            party.agent_id = agent_id(event);
        }
    }

    fn apply_step(&mut self, index: usize, event: &Event, at: Option<i64>, order: u64, fresh: bool) {
        let from = self.parties[index].state;
        if !from.is_live() && !fresh && self.after_exit(index, event) {
            self.mark_seen(index, event, from);
            return;
        }
        let step = transition::step(event, from, self.transfer_seen);
        self.check_step(index, event, from, step.misfit, fresh);
        self.mark_seen(index, event, from);
        if step.exit == Some(Exit::Released) && self.conversation_goes_on(index) {
            self.parties[index].evidence.left_conference = true;
        }
        let party = &mut self.parties[index];
        match step.exit {
            Some(exit) => {
                party.close(exit, at, false);
                party.closed_by_own_event = true;
                self.keep_close_evidence(index, event, order);
            }
            None => party.set_state(step.to, at),
        }
        if event.message == Message::EventEstablished
            && step.exit.is_none()
            && step.to == PartyState::Connected
        {
            self.far_end_answered(index, event, at);
        }
    }

    /// The far end of an answered call is in the conversation too. A caller the server does
    /// not monitor (the customer on a trunk: no DN events of its own) stays in Dialing for
    /// lack of an event saying otherwise; when the party it called is established, it is
    /// connected from then on (the call's state is Connected: two parties connected,
    /// call-models.md §17). The far end is the party OtherDN names; when OtherDN names no
    /// party of this call (a call that came over a trunk from another site names the agent
    /// there), the one unmonitored caller still dialing. A later EventCallPartyState still
    /// wins.
    fn far_end_answered(&mut self, answered: usize, event: &Event, at: Option<i64>) {
        let other = event.other_dn.as_ref().filter(|dn| !dn.is_empty());
        let dialing = |party: &Party| {
            !party.has(seen::DN_EVENT) && matches!(party.state, PartyState::Dialing | PartyState::Initiated)
        };
        let named = other.and_then(|other| self.parties.iter().position(|party| party.dn == *other));
        let far_end = match named {
            Some(named) => Some(named).filter(|named| dialing(&self.parties[*named])),
            None => {
                let mut callers = (0..self.parties.len()).filter(|index| dialing(&self.parties[*index]));
                match (callers.next(), callers.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        };
        if let Some(far_end) = far_end.filter(|far_end| *far_end != answered) {
            self.parties[far_end].set_state(PartyState::Connected, at);
        }
    }

    /// Handles an event for a party that has already left. Returns true when the event was
    /// fully handled (the party stays closed).
    fn after_exit(&mut self, index: usize, event: &Event) -> bool {
        let party = &self.parties[index];
        let terminal = matches!(
            event.message,
            Message::EventReleased
                | Message::EventAbandoned
                | Message::EventDiverted
                | Message::EventRouteUsed
        );
        if !terminal {
            return false;
        }
        let exit = party.exit;
        let refines = !party.closed_by_own_event || party.exit_inferred;
        // A routing point gets both EventRouteUsed and EventDiverted (§5), in either order:
        // the second changes nothing but the exit, which is "routed" either way.
        let routed_then_diverted = event.message == Message::EventDiverted && exit == Some(Exit::Routed);
        let diverted_then_routed = event.message == Message::EventRouteUsed && exit == Some(Exit::Diverted);
        if routed_then_diverted {
            return true;
        }
        if diverted_then_routed {
            self.parties[index].exit = Some(Exit::Routed);
            return true;
        }
        if refines {
            self.refine_exit(index, event);
            return true;
        }
        let dn = party.dn.clone();
        let exit_label = exit.map(Exit::label).unwrap_or("unknown");
        self.deviate(
            DeviationKind::EventAfterExit,
            event,
            Some(&dn),
            "no further release for a party that has left",
            format!("{} after the party's exit ({exit_label})", event.message),
            "the first exit stands",
        );
        true
    }

    /// A party closed by someone else's report (EventPartyDeleted, EventCallPartyDeleted) or by
    /// inference gets its own closing event: keep its evidence and its more precise exit.
    fn refine_exit(&mut self, index: usize, event: &Event) {
        let order = self.parties[index].evidence.close_order;
        self.keep_close_evidence(index, event, order);
        let party = &mut self.parties[index];
        party.closed_by_own_event = true;
        party.exit_inferred = false;
        let reported = match event.message {
            Message::EventReleased => transition::release_exit(event.call_state.as_ref()),
            Message::EventAbandoned => Exit::Abandoned,
            Message::EventDiverted => Exit::Diverted,
            _ => Exit::Routed,
        };
        let keep_removed = party.exit == Some(Exit::RemovedFromConference) && reported == Exit::Released;
        if !keep_removed {
            party.exit = Some(reported);
        }
    }

    fn check_step(
        &mut self,
        index: usize,
        event: &Event,
        from: PartyState,
        misfit: Option<&'static str>,
        fresh: bool,
    ) {
        if event.message == Message::EventAbandoned {
            let dn = self.parties[index].dn.clone();
            self.check_abandon(index, event, &dn);
            return;
        }
        let Some(expected) = misfit else {
            return;
        };
        if fresh {
            return;
        }
        let dn = self.parties[index].dn.clone();
        self.deviate(
            DeviationKind::UnexpectedEvent,
            event,
            Some(&dn),
            format!("{} from {expected}", event.message),
            format!("{} while {}", event.message, from.label()),
            "the state the event leads to",
        );
    }

    fn check_abandon(&mut self, index: usize, event: &Event, dn: &Text) {
        let party = &self.parties[index];
        if !party.has(seen::RINGING | seen::QUEUED | seen::ROUTE_REQUEST) {
            self.deviate(
                DeviationKind::AbandonWithoutAlerting,
                event,
                Some(dn),
                "EventRinging, EventQueued or EventRouteRequest before EventAbandoned",
                "EventAbandoned for a DN that never rang or waited",
                "the caller gave up; the party is closed",
            );
        }
        if matches!(event.releasing_party(), Some((ReleasingParty::Local, _))) {
            self.deviate(
                DeviationKind::LocalAbandon,
                event,
                Some(dn),
                "ReleasingParty 2 Remote (the caller gave up)",
                "ReleasingParty 1 Local on EventAbandoned",
                "the abandoning DN dropped the call itself",
            );
        }
        let consult = matches!(event.call_type, Some(CallType::Consult));
        let pointer = [event.previous_conn_id, event.transfer_conn_id, event.conference_conn_id]
            .iter()
            .any(|conn| conn.is_some_and(|conn| !conn.is_null()));
        if consult && !pointer {
            self.deviate(
                DeviationKind::MissingAttribute,
                event,
                Some(dn),
                "PreviousConnID on a consultation's EventAbandoned",
                "no PreviousConnID / TransferConnID / ConferenceConnID",
                "the consultation is kept as its own call",
            );
        }
    }

    fn mark_seen(&mut self, index: usize, event: &Event, from: PartyState) {
        let bit = match event.message {
            Message::EventDialing => seen::DIALING,
            Message::EventRinging if from == PartyState::Queued => seen::RINGING | seen::PARKED_PICKUP,
            Message::EventRinging => seen::RINGING,
            Message::EventQueued => seen::QUEUED,
            Message::EventRouteRequest => seen::ROUTE_REQUEST,
            Message::EventRouteUsed => seen::ROUTE_USED,
            Message::EventDiverted => seen::DIVERTED,
            Message::EventNetworkReached => seen::NETWORK_REACHED,
            Message::EventDestinationBusy => seen::DESTINATION_BUSY,
            Message::EventEstablished => seen::ESTABLISHED,
            Message::EventHeld if from == PartyState::Dialing => seen::HELD_BEFORE_ANSWER,
            Message::EventHeld => seen::HELD,
            Message::EventRetrieved => seen::RETRIEVED,
            Message::EventReleased if from == PartyState::Alerting => {
                seen::RELEASED | seen::RELEASED_WHILE_ALERTING
            }
            Message::EventReleased if matches!(from, PartyState::Dialing | PartyState::HeldDialing) => {
                seen::RELEASED | seen::RELEASED_WHILE_DIALING
            }
            Message::EventReleased => seen::RELEASED,
            Message::EventAbandoned => seen::ABANDONED,
            Message::EventPartyAdded => seen::PARTY_ADDED,
            Message::EventPartyDeleted => seen::PARTY_DELETED,
            _ => 0,
        };
        self.parties[index].seen |= bit;
    }

    fn keep_close_evidence(&mut self, index: usize, event: &Event, order: u64) {
        let evidence = &mut self.parties[index].evidence;
        if let Some((value, raw)) = event.releasing_party() {
            evidence.releasing_party = Some((value, Text::from(raw.as_ref())));
        }
        evidence.close_event = Some(EventRef::of(event));
        evidence.close_call_state = event.call_state.clone();
        evidence.close_other_dn = event.other_dn.clone().filter(|dn| !dn.is_empty());
        evidence.close_order = order;
    }

    /// What a DN event means beyond its own party: who originated, transfers, conference
    /// membership changes, queue delivery.
    fn after_dn_event(&mut self, index: usize, event: &Event, at: Option<i64>) {
        self.conferenced |= event.message == Message::EventPartyAdded
            || matches!(event.call_state, Some(CallState::Conferenced))
            || matches!(event.third_party_dn_role, Some(DnRole::ConferencedBy | DnRole::AddedBy));
        match event.message {
            Message::EventDialing if self.originator.is_none() => {
                self.originator = Some(self.parties[index].dn.clone());
            }
            Message::EventRinging | Message::EventEstablished => self.mark_delivered(index, at),
            Message::EventReleased if matches!(event.call_state, Some(CallState::Transferred)) => {
                self.transfer_seen = true;
            }
            Message::EventPartyChanged => {
                let by_transfer = matches!(event.call_state, Some(CallState::Transferred))
                    || matches!(event.third_party_dn_role, Some(DnRole::TransferredBy));
                self.transfer_seen |= by_transfer;
            }
            Message::EventPartyDeleted => self.delete_other_party(event, at),
            _ => {}
        }
    }

    /// The call reached a person: queues and routing points still holding it have delivered it.
    fn mark_delivered(&mut self, index: usize, at: Option<i64>) {
        for (other, party) in self.parties.iter_mut().enumerate() {
            let holding = matches!(party.state, PartyState::Queued | PartyState::Routing);
            if other != index && holding && party.delivered_at.is_none() {
                party.delivered_at = at.or(party.since);
            }
        }
    }

    /// EventPartyDeleted at a remaining member: OtherDN (DeletedParty) left; ThirdPartyDN
    /// (DeletedBy) caused it (§15).
    fn delete_other_party(&mut self, event: &Event, at: Option<i64>) {
        let Some(deleted) = event.other_dn.clone().filter(|dn| !dn.is_empty()) else {
            return;
        };
        let Some(index) = self.parties.iter().rposition(|party| party.dn == deleted) else {
            return;
        };
        let deleted_by = event.third_party_dn.clone().filter(|dn| !dn.is_empty());
        let party = &mut self.parties[index];
        // Removed by another member: DeletedBy names it, or its RequestDeleteFromConference did.
        let requested = party.evidence.request.as_ref().is_some_and(|request| request.0 != deleted);
        let removed = requested || deleted_by.as_ref().is_some_and(|by| *by != deleted);
        if let Some(by) = &deleted_by {
            party.evidence.deleted_by.get_or_insert_with(|| Box::new((by.clone(), EventRef::of(event))));
        }
        party.seen |= seen::PARTY_DELETED;
        // The member who got this event stays on the call: the deleted party left a
        // conversation that goes on (§15).
        party.evidence.left_conference = true;
        if party.is_live() {
            party.close(if removed { Exit::RemovedFromConference } else { Exit::Released }, at, false);
            return;
        }
        if removed && party.exit == Some(Exit::Released) {
            party.exit = Some(Exit::RemovedFromConference);
        }
    }

    /// Closes queues and routing points that still hold a call nobody else is on any more,
    /// when the call was delivered elsewhere while they held it (§18.2: EventDiverted is
    /// optional). Returns true when something was closed.
    pub(crate) fn close_delivered_queues(&mut self, event: &Event) -> bool {
        let others_live = self
            .parties
            .iter()
            .any(|party| party.is_live() && !matches!(party.state, PartyState::Queued | PartyState::Routing));
        if others_live {
            return false;
        }
        let mut closed = Vec::new();
        for party in &mut self.parties {
            let Some(at) = party.delivered_at.filter(|_| party.is_live()) else {
                continue;
            };
            party.close(Exit::Diverted, Some(at), true);
            closed.push(party.dn.clone());
        }
        for dn in &closed {
            self.infer(
                InferenceKind::QueueLeftByDelivery,
                event,
                Some(dn),
                "no EventDiverted: the queue's part ended when the call was delivered".to_string(),
            );
        }
        !closed.is_empty()
    }

    // -----------------------------------------------------------------------------------
    // Call-based events (§17)

    pub(crate) fn apply_call_based(&mut self, event: &Event, at: Option<i64>, order: u64) {
        self.monitored = true;
        match event.message {
            Message::EventCallCreated => {
                self.started = true;
                self.call_events.push(EventRef::of(event));
            }
            Message::EventCallDataChanged => {
                self.merge_links(event);
                self.call_events.push(EventRef::of(event));
            }
            Message::EventCallDeleted => self.on_call_deleted(event),
            Message::EventCallPartyAdded | Message::EventCallPartyState | Message::EventCallPartyMoved => {
                self.on_call_party_state(event, at)
            }
            Message::EventCallPartyDeleted => self.on_call_party_deleted(event, at, order),
            _ => self.call_events.push(EventRef::of(event)),
        }
    }

    fn merge_links(&mut self, event: &Event) {
        let Some(links) = &event.is_links else {
            return;
        };
        for link in links {
            if !self.is_links.iter().any(|known| known.id == link.id) {
                self.is_links.push(link.clone());
            }
        }
    }

    fn on_call_deleted(&mut self, event: &Event) {
        self.merge_links(event);
        self.call_events.push(EventRef::of(event));
        self.deleted = Some(EventRef::of(event));
        if let Some(end) = event.sip_end() {
            self.sip_end = Some(Box::new((end, EventRef::of(event))));
        }
        if let Some(ctrl) = event.ctrl_party.clone().filter(|ctrl| !ctrl.is_empty()) {
            self.ctrl_party = Some((ctrl, EventRef::of(event)));
        }
        let Some(survivor) = event.ref_call_uuid.clone().filter(|uuid| !uuid.as_str().is_empty()) else {
            return;
        };
        if self.uuid.as_ref() == Some(&survivor) {
            return;
        }
        self.ref_call_uuid = Some(survivor.clone());
        if self.merged_into.is_none() {
            self.merged_into =
                Some(CallPointer { conn_id: None, call_uuid: Some(survivor), via: via::REF_CALL_UUID });
        }
    }

    fn call_based_dn(event: &Event) -> Option<Text> {
        event.dn.clone().or_else(|| event.this_dn.clone()).filter(|dn| !dn.is_empty())
    }

    fn on_call_party_state(&mut self, event: &Event, at: Option<i64>) {
        let Some(dn) = Self::call_based_dn(event) else {
            self.call_events.push(EventRef::of(event));
            return;
        };
        let index = match self.open_party(&dn) {
            Some(index) => index,
            None => self.add_call_based_party(&dn, event),
        };
        self.record(index, event);
        let Some(state) = event.party_state.and_then(PartyState::from_tlib) else {
            return;
        };
        if !state.is_live() {
            return;
        }
        let party = &mut self.parties[index];
        party.seen |= match state {
            PartyState::Connected => seen::CONNECTED_CALL_BASED,
            PartyState::Queued => seen::QUEUED_CALL_BASED,
            PartyState::Routing => seen::ROUTING_CALL_BASED,
            PartyState::Alerting => seen::ALERTING_CALL_BASED,
            _ => 0,
        };
        party.seen |= match (party.state, state) {
            (PartyState::Connected, PartyState::Held) => seen::HELD,
            (PartyState::Held, PartyState::Connected) => seen::RETRIEVED,
            _ => 0,
        };
        party.set_state(state, at);
        if state == PartyState::Connected || state == PartyState::Alerting {
            self.mark_delivered(index, at);
        }
    }

    fn add_call_based_party(&mut self, dn: &Text, event: &Event) -> usize {
        if event.message == Message::EventCallPartyAdded {
            self.started = true;
        }
        let mut party = Party::new(dn.clone());
        party.role = event.this_dn_role.clone();
        self.parties.push(party);
        self.parties.len() - 1
    }

    fn on_call_party_deleted(&mut self, event: &Event, at: Option<i64>, order: u64) {
        let Some(dn) = Self::call_based_dn(event) else {
            self.call_events.push(EventRef::of(event));
            return;
        };
        let Some(index) = self.parties.iter().rposition(|party| party.dn == dn) else {
            self.call_events.push(EventRef::of(event));
            return;
        };
        self.record(index, event);
        let party = &mut self.parties[index];
        if let Some(ctrl) = event.ctrl_party.clone().filter(|ctrl| !ctrl.is_empty()) {
            party.evidence.ctrl_party = Some(Box::new((ctrl, EventRef::of(event))));
        }
        if let Some(end) = event.sip_end() {
            party.evidence.sip_end = Some(Box::new((end, EventRef::of(event))));
        }
        if party.exit.is_some() {
            return;
        }
        let exit = transition::release_exit(event.call_state.as_ref());
        let leaves = exit == Exit::Released && self.conversation_goes_on(index);
        let party = &mut self.parties[index];
        party.evidence.left_conference |= leaves;
        party.close(exit, at, false);
        party.evidence.close_order = order;
        if party.evidence.close_event.is_none() {
            party.evidence.close_event = Some(EventRef::of(event));
        }
    }

    // -----------------------------------------------------------------------------------
    // Requests and other events

    /// A client request on this call: evidence for who released (release.md §3 rung 5).
    pub(crate) fn apply_request(&mut self, event: &Event) {
        let requester = event.this_dn.clone().filter(|dn| !dn.is_empty());
        match event.message {
            Message::RequestClearCall => {
                self.clear_request.get_or_insert_with(|| EventRef::of(event));
            }
            Message::RequestReleaseCall => {
                let Some(dn) = requester else { return };
                if let Some(index) = self.live_party(&dn) {
                    self.parties[index].evidence.request = Some(Box::new((dn, EventRef::of(event))));
                }
            }
            Message::RequestDeleteFromConference => {
                let (Some(by), Some(target)) = (requester, event.other_dn.clone()) else { return };
                if let Some(index) = self.live_party(&target) {
                    self.parties[index].evidence.request = Some(Box::new((by, EventRef::of(event))));
                }
            }
            _ => {}
        }
    }

    /// An event about the call that moves no party (attached data, errors, treatments).
    pub(crate) fn apply_other(&mut self, event: &Event) {
        self.call_events.push(EventRef::of(event));
    }

    /// CTI link lost or server switched over: live parties become uncertain (§18.5).
    pub(crate) fn mark_uncertain(&mut self, event: &Event) {
        let mut any = false;
        for party in self.parties.iter_mut().filter(|party| party.is_live()) {
            party.uncertain = true;
            any = true;
        }
        if any {
            self.uncertain = true;
            self.infer(
                InferenceKind::LinkLoss,
                event,
                None,
                format!("{}: live parties marked uncertain", event.message),
            );
        }
    }

    /// At `index`'s release, at least two other parties are talking or holding on the call:
    /// the conversation goes on without it, so it left a conference, it did not end the call.
    fn conversation_goes_on(&self, index: usize) -> bool {
        let talking = self
            .parties
            .iter()
            .enumerate()
            .filter(|(other, party)| {
                *other != index && matches!(party.state, PartyState::Connected | PartyState::Held)
            })
            .count();
        talking >= 2
    }

    /// After the call: a party that released while the call was a conference, and after whose
    /// release another member, connected before it, stayed on the call for more than a step,
    /// left a conference that went on without it (release.md §2). This covers what the
    /// events at the release cannot show: a switch that sends the remaining members no
    /// EventPartyDeleted, and members the logs never report (an unmonitored customer).
    pub(crate) fn mark_conference_leavers(&mut self) {
        let conference =
            self.conferenced || self.moves_in.iter().any(|moved| moved.how == MergeHow::Conference);
        if !conference {
            return;
        }
        let went_on: Vec<bool> = self
            .parties
            .iter()
            .map(|leaver| {
                let Some(left) = leaver.last_time.filter(|_| leaver.exit == Some(Exit::Released)) else {
                    return false;
                };
                self.parties.iter().any(|member| {
                    !member.kind.is_system()
                        && member.connected_time.is_some_and(|joined| joined <= left)
                        && member.last_time.is_some_and(|last| last.0 > left.0.saturating_add(STEP))
                })
            })
            .collect();
        for (party, went_on) in self.parties.iter_mut().zip(went_on) {
            party.evidence.left_conference |= went_on;
        }
    }

    /// The kind of each party, from what the events say about it (party::kind_of).
    pub(crate) fn settle_kinds(&mut self, plan: &DnPlan) {
        let monitored: Vec<&str> = self
            .parties
            .iter()
            .filter(|party| party.has(seen::DN_EVENT))
            .map(|party| party.dn.as_str())
            .collect();
        let context = KindContext {
            call_type: self.call_type.as_ref(),
            ani: self.ani.as_deref(),
            dnis: self.dnis.as_deref(),
            originator: self.originator.as_deref(),
            monitored: &monitored,
            plan,
        };
        let kinds: Vec<_> = self.parties.iter().map(|party| kind_of(party, &context)).collect();
        let other_kinds = self.other_dns.iter().map(|dn| kind_of_unseen(dn, &context)).collect();
        for (party, kind) in self.parties.iter_mut().zip(kinds) {
            party.kind = kind;
        }
        self.other_kinds = other_kinds;
    }
}

fn fill(slot: &mut Option<Text>, value: &Option<Text>) {
    if slot.is_none() {
        if let Some(value) = value.as_ref().filter(|value| !value.is_empty()) {
            *slot = Some(value.clone());
        }
    }
}

/// AttributeAgentID of an event, when it carries a non-empty one (the typed event keeps it
/// among its other attributes).
fn agent_id(event: &Event) -> Option<Text> {
    event.other.iter().find(|attribute| attribute.name.as_str() == "AttributeAgentID").and_then(|attribute| {
        match &attribute.value {
            callstitch_tlib::Value::Str(text) | callstitch_tlib::Value::Bare(text) if !text.is_empty() => {
                Some(text.clone())
            }
            _ => None,
        }
    })
}

//! One party: a DN on one call, with its role, queue, state, how it left, the time it spent in
//! each state, the events that moved it, and the release evidence its events carried.
//!
//! A DN that leaves a call and comes back later (a transfer back, a second ringing after a
//! diversion) is a new party instance, as ICON does it (tlib-events.md §4.5).

use callstitch_tlib::{CallState, CallType, DnRole, ReleasingParty, SipEnd, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::DnPlan;
use crate::event_ref::EventRef;
use crate::release::PartyVerdict;
use crate::state::{Exit, PartyState, StateSpan, StateTimes, MAX_SPANS};

/// Bits of what happened to a party; the classifier reads them.
pub(crate) mod seen {
    pub const DIALING: u32 = 1 << 0;
    pub const RINGING: u32 = 1 << 1;
    pub const QUEUED: u32 = 1 << 2;
    pub const ROUTE_REQUEST: u32 = 1 << 3;
    pub const ROUTE_USED: u32 = 1 << 4;
    pub const DIVERTED: u32 = 1 << 5;
    pub const NETWORK_REACHED: u32 = 1 << 6;
    pub const DESTINATION_BUSY: u32 = 1 << 7;
    pub const ESTABLISHED: u32 = 1 << 8;
    /// EventHeld while connected (hold/retrieve, §10).
    pub const HELD: u32 = 1 << 9;
    /// EventHeld while dialing (§9).
    pub const HELD_BEFORE_ANSWER: u32 = 1 << 10;
    pub const RETRIEVED: u32 = 1 << 11;
    pub const RELEASED: u32 = 1 << 12;
    pub const ABANDONED: u32 = 1 << 13;
    /// EventQueued, then EventRinging on the same party: a parked call picked up (§4).
    pub const PARKED_PICKUP: u32 = 1 << 14;
    pub const MOVED_IN: u32 = 1 << 15;
    pub const PARTY_ADDED: u32 = 1 << 16;
    pub const PARTY_DELETED: u32 = 1 << 17;
    /// Connected per a call-based EventCallPartyState / EventCallPartyAdded.
    pub const CONNECTED_CALL_BASED: u32 = 1 << 18;
    /// Rang while the call was being delivered to it from a queue / routing point.
    pub const RELEASED_WHILE_ALERTING: u32 = 1 << 19;
    pub const RELEASED_WHILE_DIALING: u32 = 1 << 20;
    /// A DN-based event had it as ThisDN: the server reports this DN, so it is monitored.
    pub const DN_EVENT: u32 = 1 << 21;
    /// It was connected (talking or held) at some point, by whatever event said so.
    pub const CONNECTED: u32 = 1 << 22;
    /// Call-based PartyState Queued, Routing or Alerting (kind evidence for monitoring-only
    /// views; the model recognition reads only the DN-based bits above).
    pub const QUEUED_CALL_BASED: u32 = 1 << 23;
    pub const ROUTING_CALL_BASED: u32 = 1 << 24;
    pub const ALERTING_CALL_BASED: u32 = 1 << 25;
}

callstitch_tlib::labelled_enum! {
    /// What kind of endpoint a party is. Decided when the call finishes by [`kind_of`], from what
    /// the events say about the party, never from which kind of event introduced it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PartyKind {
        /// A monitored internal DN (an agent's phone, an extension).
        Agent => "agent",
        /// An ACD queue / group (EventQueued, no ringing of its own).
        Queue => "queue",
        /// A routing point / CDN (EventRouteRequest).
        RoutingPoint => "routing-point",
        /// The customer: the originator of an inbound call, or an unmonitored party.
        External => "external",
    }
}

impl PartyKind {
    /// Queues and routing points are the system, not a person.
    pub fn is_system(self) -> bool {
        matches!(self, PartyKind::Queue | PartyKind::RoutingPoint)
    }
}

/// The release evidence one party's events carried (release.md §1 and §3). The rare pieces
/// are boxed, so that a party stays small to move.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReleaseEvidence {
    /// ReleasingParty of its EventReleased / EventAbandoned, with the raw text.
    pub releasing_party: Option<(ReleasingParty, Text)>,
    /// The event that closed the party (EventReleased / EventAbandoned / ...).
    pub close_event: Option<EventRef>,
    /// CallState and OtherDN of that event.
    pub close_call_state: Option<CallState>,
    pub close_other_dn: Option<Text>,
    /// AttributeCtrlParty of EventCallPartyDeleted for this party.
    pub ctrl_party: Option<Box<(Text, EventRef)>>,
    /// ThirdPartyDN (DeletedBy) of another member's EventPartyDeleted naming this party.
    pub deleted_by: Option<Box<(Text, EventRef)>>,
    /// A RequestReleaseCall by this DN, or RequestDeleteFromConference naming it (with the
    /// requesting DN).
    pub request: Option<Box<(Text, EventRef)>>,
    /// Arrival order of the closing event in the engine (orders closers without seq).
    pub close_order: u64,
    /// It left a conversation that went on without it (a conference member who hung up or
    /// was removed): its release never ends the call (release.md §2).
    #[serde(default)]
    pub left_conference: bool,
    /// What the SIP layer says ended this party's part (on its EventCallPartyDeleted).
    #[serde(default)]
    pub sip_end: Option<Box<(SipEnd, EventRef)>>,
}

/// A DN on a call.
#[derive(Debug, Clone, Serialize)]
pub struct Party {
    pub dn: Text,
    pub kind: PartyKind,
    /// ThisDNRole of the party's first event that gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<DnRole>,
    /// ThisQueue of the party's first event that gave one (the queue that delivered it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Text>,
    /// The state now (for a finished call: its final state).
    pub state: PartyState,
    /// How it left (absent while it is on the call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    /// True when the exit was inferred, not reported by an event.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exit_inferred: bool,
    /// Its state is not trustworthy (CTI link lost while it was live, §18.5).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    pub times: StateTimes,
    /// The same time as stretches, in time order (at most [`MAX_SPANS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<StateSpan>,
    /// More spans happened than were kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spans_truncated: bool,
    /// AttributeAgentID of the first of its events that carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
    /// When it was first connected (talking or held), by any event: EventEstablished,
    /// EventRetrieved, a call-based PartyState Connected, a move onto the call, or the first
    /// event of a party that joined the stream mid-call already connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_time: Option<Timestamp>,
    /// The ConnID it came from when it was moved onto this call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<callstitch_tlib::ConnId>,
    /// The ConnID it moved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<callstitch_tlib::ConnId>,
    /// Every event that moved it, in server sequence order.
    pub history: Vec<EventRef>,
    /// Who released it (filled when the call finishes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<PartyVerdict>,

    #[serde(skip)]
    pub(crate) seen: u32,
    /// When it entered its current state (event time, microseconds).
    #[serde(skip)]
    pub(crate) since: Option<i64>,
    /// Event time up to which its state times are counted: a second event in the same state
    /// counts only the time since the one before.
    #[serde(skip)]
    pub(crate) counted: Option<i64>,
    #[serde(skip)]
    pub(crate) evidence: ReleaseEvidence,
    /// When the call was delivered elsewhere while this queue / routing point held it.
    #[serde(skip)]
    pub(crate) delivered_at: Option<i64>,
    /// Closed by its own terminal event (a second one is an event after exit).
    #[serde(skip)]
    pub(crate) closed_by_own_event: bool,
    /// Its state when it moved onto this call (Alerting: transfer completed before answer).
    #[serde(skip)]
    pub(crate) moved_in_state: Option<PartyState>,
}

impl Party {
    pub(crate) fn new(dn: Text) -> Party {
        Party {
            dn,
            kind: PartyKind::Agent,
            role: None,
            queue: None,
            state: PartyState::Null,
            exit: None,
            exit_inferred: false,
            uncertain: false,
            times: StateTimes::default(),
            spans: Vec::new(),
            spans_truncated: false,
            agent_id: None,
            first_time: None,
            last_time: None,
            connected_time: None,
            moved_from: None,
            moved_to: None,
            history: Vec::with_capacity(4),
            verdict: None,
            seen: 0,
            since: None,
            counted: None,
            evidence: ReleaseEvidence::default(),
            delivered_at: None,
            closed_by_own_event: false,
            moved_in_state: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.state.is_live()
    }

    pub(crate) fn has(&self, bits: u32) -> bool {
        self.seen & bits != 0
    }

    /// Moves the party to `to` at event time `at`, adding the time spent in the old state.
    pub(crate) fn set_state(&mut self, to: PartyState, at: Option<i64>) {
        if let (Some(since), Some(at)) = (self.since, at) {
            let from = self.counted.map_or(since, |counted| counted.max(since));
            self.times.add(self.state, at - from);
            self.add_span(from, at);
            self.counted = Some(from.max(at));
        }
        if to != self.state || self.since.is_none() {
            self.since = at.or(self.since);
        }
        if to != self.state && matches!(to, PartyState::Connected | PartyState::Held) {
            self.seen |= seen::CONNECTED;
            if self.connected_time.is_none() {
                self.connected_time = at.and_then(Timestamp::checked);
            }
        }
        self.state = to;
    }

    /// Keeps the time from `since` to `at` in the current state as a span, joined to the
    /// previous span when that is the same state and ends where this one starts.
    fn add_span(&mut self, since: i64, at: i64) {
        // Events come in server order; a time stamp may step back a little (another thread
        // of the server logged it), so a span starts no earlier than the previous one ended.
        let since = self.spans.last().map_or(since, |last| since.max(last.end.0));
        let (Some(start), Some(end)) = (Timestamp::checked(since), Timestamp::checked(at)) else {
            return;
        };
        if self.state == PartyState::Null || end <= start {
            return;
        }
        if let Some(last) = self.spans.last_mut() {
            if last.state == self.state && last.end == start {
                last.end = end;
                return;
            }
        }
        if self.spans.len() >= MAX_SPANS {
            self.spans_truncated = true;
            return;
        }
        self.spans.push(StateSpan { state: self.state, start, end });
        debug_assert!(self.spans.windows(2).all(|pair| pair[0].end <= pair[1].start), "spans in time order");
    }

    /// The stretch the party is in now, up to `until` (its call's last event), when it is
    /// still on the call: the timeline draws it open-ended.
    pub fn open_span(&self, until: Option<Timestamp>) -> Option<StateSpan> {
        let start = self.since.and_then(Timestamp::checked)?;
        let end = until?;
        (self.state.is_live() && end >= start).then_some(StateSpan { state: self.state, start, end })
    }

    /// True when it left a conversation that went on without it.
    pub fn left_conference(&self) -> bool {
        self.evidence.left_conference
    }

    /// Closes the party with `exit` at `at`.
    pub(crate) fn close(&mut self, exit: Exit, at: Option<i64>, inferred: bool) {
        self.set_state(PartyState::Null, at);
        self.exit = Some(exit);
        self.exit_inferred = inferred;
    }
}

/// What the call says about its parties, for [`kind_of`].
pub(crate) struct KindContext<'a> {
    pub call_type: Option<&'a CallType>,
    /// AttributeANI / AttributeDNIS of the call.
    pub ani: Option<&'a str>,
    pub dnis: Option<&'a str>,
    /// The first DN that dialled.
    pub originator: Option<&'a str>,
    /// DNs that had DN-based events on this call: the server reports them, so they are
    /// monitored. Empty when the call was seen through call monitoring only.
    pub monitored: &'a [&'a str],
    pub plan: &'a DnPlan,
}

/// The kind of a party, first rule that applies (docs/engine.md, "Party kinds"):
///
/// 1. it waited at a routing point (EventRouteRequest, or PartyState Routing): routing point;
/// 2. it queued and never rang or talked (EventQueued, or PartyState Queued): queue;
/// 3. the deployment's numbering plan names its DN: agent or external, as it says;
/// 4. it had DN-based events (the server monitors the DN): agent, except the originator of
///    an inbound call (the caller or its trunk), who is external;
/// 5. it was seen only through call monitoring: external when the call had DN-based events
///    for other DNs (an unmonitored party), when it is the caller (ANI, or the originator) of
///    an inbound call or the called number (DNIS) of an outbound one, or when its DN is an
///    outside number (`+` and a digit); otherwise agent (an internal DN of a call seen through
///    monitoring only).
pub(crate) fn kind_of(party: &Party, context: &KindContext<'_>) -> PartyKind {
    if party.has(seen::ROUTE_REQUEST | seen::ROUTING_CALL_BASED) {
        return PartyKind::RoutingPoint;
    }
    let queued = party.has(seen::QUEUED | seen::QUEUED_CALL_BASED);
    if queued && !party.has(seen::RINGING | seen::ALERTING_CALL_BASED | seen::CONNECTED) {
        return PartyKind::Queue;
    }
    if let Some(external) = context.plan.is_external(&party.dn) {
        return if external { PartyKind::External } else { PartyKind::Agent };
    }
    let inbound = matches!(context.call_type, Some(CallType::Inbound));
    let originator = party.role == Some(DnRole::Origination) || context.originator == Some(party.dn.as_str());
    if context.monitored.contains(&party.dn.as_str()) {
        let caller = inbound && party.role == Some(DnRole::Origination);
        return if caller { PartyKind::External } else { PartyKind::Agent };
    }
    let outbound = matches!(context.call_type, Some(CallType::Outbound));
    let unmonitored = !context.monitored.is_empty();
    let caller = inbound && (originator || context.ani == Some(party.dn.as_str()));
    let called = outbound && context.dnis == Some(party.dn.as_str());
    if unmonitored || caller || called || is_outside_number(&party.dn) {
        return PartyKind::External;
    }
    PartyKind::Agent
}

/// The kind of a DN the call's events name only as OtherDN (no party of the call): the
/// customer when the numbering plan says it is outside, when it is the ANI of an inbound call
/// or the DNIS of an outbound one, or an outside number; an agent when the plan says it is
/// internal; otherwise `None`: an unmonitored DN that may as well be an agent at another site.
pub(crate) fn kind_of_unseen(dn: &str, context: &KindContext<'_>) -> Option<PartyKind> {
    if let Some(external) = context.plan.is_external(dn) {
        return Some(if external { PartyKind::External } else { PartyKind::Agent });
    }
    let inbound = matches!(context.call_type, Some(CallType::Inbound));
    let outbound = matches!(context.call_type, Some(CallType::Outbound));
    let caller = inbound && context.ani == Some(dn);
    let called = outbound && context.dnis == Some(dn);
    (caller || called || is_outside_number(dn)).then_some(PartyKind::External)
}

/// An E.164-style number: `+` and a digit. Agents' DNs and routing points are not written so.
fn is_outside_number(dn: &str) -> bool {
    let mut chars = dn.chars();
    chars.next() == Some('+') && chars.next().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(dn: &str, bits: u32, role: Option<DnRole>) -> Party {
        let mut party = Party::new(Text::from(dn));
        party.seen = bits;
        party.role = role;
        party
    }

    fn context<'a>(
        call_type: Option<&'a CallType>,
        monitored: &'a [&'a str],
        plan: &'a DnPlan,
    ) -> KindContext<'a> {
        KindContext {
            call_type,
            ani: Some("+15551230000"),
            dnis: Some("8000"),
            originator: None,
            monitored,
            plan,
        }
    }

    #[test]
    fn what_a_party_did_makes_it_a_routing_point_or_a_queue() {
        let plan = DnPlan::default();
        let context = context(Some(&CallType::Inbound), &["9000", "8000"], &plan);
        assert_eq!(kind_of(&party("9000", seen::ROUTE_REQUEST, None), &context), PartyKind::RoutingPoint);
        assert_eq!(
            kind_of(&party("9001", seen::ROUTING_CALL_BASED, None), &context),
            PartyKind::RoutingPoint
        );
        assert_eq!(kind_of(&party("8000", seen::QUEUED | seen::DN_EVENT, None), &context), PartyKind::Queue);
        assert_eq!(kind_of(&party("8001", seen::QUEUED_CALL_BASED, None), &context), PartyKind::Queue);
        let parked = party("8000", seen::QUEUED | seen::RINGING, None);
        assert_eq!(kind_of(&parked, &context), PartyKind::Agent, "a park DN that rang is a phone");
        let picked_up = party("8000", seen::QUEUED_CALL_BASED | seen::CONNECTED, None);
        assert_eq!(kind_of(&picked_up, &context), PartyKind::Agent, "a queue never talks");
    }

    #[test]
    fn a_monitored_dn_is_an_agent_unless_it_is_the_caller_of_an_inbound_call() {
        let plan = DnPlan::default();
        let inbound = context(Some(&CallType::Inbound), &["7001", "+15551230000"], &plan);
        assert_eq!(kind_of(&party("7001", seen::ESTABLISHED, None), &inbound), PartyKind::Agent);
        let caller = party("+15551230000", seen::ESTABLISHED, Some(DnRole::Origination));
        assert_eq!(kind_of(&caller, &inbound), PartyKind::External);
        let internal = context(Some(&CallType::Internal), &["+15551230000"], &plan);
        assert_eq!(kind_of(&caller, &internal), PartyKind::Agent, "reported by its own DN events");
    }

    #[test]
    fn a_party_seen_only_through_call_monitoring_is_external_when_the_events_say_so() {
        let plan = DnPlan::default();
        let customer = party("+15551230000", seen::CONNECTED, None);
        let agent_dns: &[&str] = &["7001"];
        // The call has DN events for 7001 but never for this DN: unmonitored.
        let mixed = context(Some(&CallType::Internal), agent_dns, &plan);
        assert_eq!(kind_of(&party("5551230000", 0, None), &mixed), PartyKind::External);
        // Monitoring only: the ANI of an inbound call, the DNIS of an outbound one.
        let inbound = context(Some(&CallType::Inbound), &[], &plan);
        assert_eq!(kind_of(&party("+15551230000", 0, None), &inbound), PartyKind::External);
        let mut outbound = context(Some(&CallType::Outbound), &[], &plan);
        outbound.dnis = Some("5551239999");
        assert_eq!(kind_of(&party("5551239999", 0, None), &outbound), PartyKind::External);
        // The originator of an inbound call, whatever its number.
        let mut by_origin = context(Some(&CallType::Inbound), &[], &plan);
        by_origin.ani = None;
        by_origin.originator = Some("5551230000");
        assert_eq!(kind_of(&party("5551230000", 0, None), &by_origin), PartyKind::External);
        assert_eq!(
            kind_of(&party("5551230001", 0, Some(DnRole::Origination)), &by_origin),
            PartyKind::External
        );
        // An outside number on a call of unknown type.
        let unknown = context(None, &[], &plan);
        assert_eq!(kind_of(&customer, &unknown), PartyKind::External);
        // An internal DN of a call seen through monitoring only.
        let internal = context(Some(&CallType::Internal), &[], &plan);
        assert_eq!(kind_of(&party("7002", seen::CONNECTED, None), &internal), PartyKind::Agent);
        assert_eq!(kind_of(&party("+", 0, None), &internal), PartyKind::Agent, "not a number");
    }

    #[test]
    fn a_dn_named_only_as_other_dn_is_the_customer_only_when_something_says_so() {
        let plan = DnPlan { internal: vec!["7".into()], external: vec![] };
        let inbound = context(Some(&CallType::Inbound), &["7001"], &plan);
        assert_eq!(kind_of_unseen("+15551230000", &inbound), Some(PartyKind::External), "the ANI");
        assert_eq!(kind_of_unseen("+4420700000", &inbound), Some(PartyKind::External), "an outside number");
        assert_eq!(kind_of_unseen("7005", &inbound), Some(PartyKind::Agent), "the plan");
        assert_eq!(kind_of_unseen("5034", &inbound), None, "maybe an agent of another site");
        let mut outbound = context(Some(&CallType::Outbound), &["7001"], &plan);
        outbound.dnis = Some("5551239999");
        assert_eq!(kind_of_unseen("5551239999", &outbound), Some(PartyKind::External), "the DNIS");
    }

    #[test]
    fn the_numbering_plan_overrides_what_the_events_suggest() {
        let plan = DnPlan { internal: vec!["+4420".into()], external: vec!["55".into()] };
        let context = context(Some(&CallType::Internal), &["5500"], &plan);
        assert_eq!(kind_of(&party("5500", seen::DN_EVENT, None), &context), PartyKind::External);
        assert_eq!(kind_of(&party("+442079", 0, None), &context), PartyKind::Agent);
        assert_eq!(kind_of(&party("5501", seen::ROUTE_REQUEST, None), &context), PartyKind::RoutingPoint);
    }

    #[test]
    fn spans_follow_the_states_in_time_order_and_add_up_to_the_state_times() {
        const S: i64 = 1_000_000;
        let mut party = Party::new(Text::from("5001"));
        party.set_state(PartyState::Alerting, Some(100 * S));
        party.set_state(PartyState::Connected, Some(104 * S));
        party.set_state(PartyState::Held, Some(130 * S));
        party.set_state(PartyState::Connected, Some(140 * S));
        // A time stamp that steps back (another server thread): no overlap, no negative span.
        party.set_state(PartyState::Connected, Some(139 * S));
        party.close(Exit::Released, Some(160 * S), false);
        assert_eq!(party.times.talking_us, (26 + 20) * S, "each second of talk counted once");
        let spans: Vec<(PartyState, i64, i64)> =
            party.spans.iter().map(|span| (span.state, span.start.0 / S, span.end.0 / S)).collect();
        assert_eq!(
            spans,
            [
                (PartyState::Alerting, 100, 104),
                (PartyState::Connected, 104, 130),
                (PartyState::Held, 130, 140),
                (PartyState::Connected, 140, 160),
            ]
        );
        assert_eq!(party.times.ringing_us, 4 * S);
        assert_eq!(party.times.held_us, 10 * S);
        assert!(party.open_span(Some(Timestamp(170 * S))).is_none(), "a released party has no open span");
    }

    #[test]
    fn a_party_that_changes_state_without_end_keeps_its_first_spans_and_says_so() {
        let mut party = Party::new(Text::from("5001"));
        for step in 0..(MAX_SPANS as i64 * 2 + 2) {
            let state = if step % 2 == 0 { PartyState::Connected } else { PartyState::Held };
            party.set_state(state, Some(1_000_000 * (step + 1)));
        }
        assert_eq!(party.spans.len(), MAX_SPANS);
        assert!(party.spans_truncated);
        let open = party.open_span(Some(Timestamp(1_000_000_000))).map(|span| span.state);
        assert_eq!(open, Some(party.state), "the state it is still in is drawn open-ended");
    }

    #[test]
    fn a_second_event_in_the_same_state_does_not_count_the_time_before_it_twice() {
        const S: i64 = 1_000_000;
        let mut party = Party::new(Text::from("1016"));
        party.set_state(PartyState::Connected, Some(100 * S));
        party.set_state(PartyState::Connected, Some(140 * S));
        party.set_state(PartyState::Connected, Some(150 * S));
        party.close(Exit::Released, Some(160 * S), false);
        assert_eq!(party.times.talking_us, 60 * S, "talking from 100 s to 160 s");
        let talk: i64 = party.spans.iter().map(|span| span.end.0 - span.start.0).sum();
        assert_eq!(talk, party.times.talking_us, "the spans and the times agree");
    }
}

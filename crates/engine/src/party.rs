//! One party: a DN on one call, with its role, queue, state, how it left, the time it spent in
//! each state, the events that moved it, and the release evidence its events carried.
//!
//! A DN that leaves a call and comes back later (a transfer back, a second ringing after a
//! diversion) is a new party instance, as ICON does it (tlib-events.md §4.5).

use callstitch_tlib::{CallState, DnRole, ReleasingParty, SipEnd, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::event_ref::EventRef;
use crate::release::PartyVerdict;
use crate::state::{Exit, PartyState, StateTimes};

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
}

/// What kind of endpoint a party is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartyKind {
    /// A monitored internal DN (an agent's phone, an extension).
    Agent,
    /// An ACD queue / group (EventQueued, no ringing of its own).
    Queue,
    /// A routing point / CDN (EventRouteRequest).
    RoutingPoint,
    /// The customer: the originator of an inbound call, or an unmonitored party.
    External,
}

impl PartyKind {
    pub fn label(self) -> &'static str {
        match self {
            PartyKind::Agent => "agent",
            PartyKind::Queue => "queue",
            PartyKind::RoutingPoint => "routing-point",
            PartyKind::External => "external",
        }
    }

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
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
            first_time: None,
            last_time: None,
            moved_from: None,
            moved_to: None,
            history: Vec::with_capacity(4),
            verdict: None,
            seen: 0,
            since: None,
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
            self.times.add(self.state, at - since);
        }
        if to != self.state || self.since.is_none() {
            self.since = at.or(self.since);
        }
        self.state = to;
    }

    /// Closes the party with `exit` at `at`.
    pub(crate) fn close(&mut self, exit: Exit, at: Option<i64>, inferred: bool) {
        self.set_state(PartyState::Null, at);
        self.exit = Some(exit);
        self.exit_inferred = inferred;
    }
}

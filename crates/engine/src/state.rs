//! Party states (call-models.md §19), how a party left the call (release.md §6), and the
//! time a party spent in each state.

use callstitch_tlib::{PartyState as TlibPartyState, Telephony};
use serde::{Deserialize, Serialize};

callstitch_tlib::labelled_enum! {
    /// The state of one party on one call, as the DN events (or the call-based PartyState) say.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PartyState {
        /// Not, or no longer, on the call.
        Null => "null",
        /// Off-hook, nothing dialled yet.
        Initiated => "initiated",
        /// Originator of a call being set up (Connected+Dialing).
        Dialing => "dialing",
        /// Originator put the call on hold before the answer (§9).
        HeldDialing => "held-dialing",
        /// Waiting at a queue, ACD group or park DN.
        Queued => "queued",
        /// At a routing point awaiting a route.
        Routing => "routing",
        /// Ringing.
        Alerting => "alerting",
        /// Originator received busy / failure (not final: parking, §4).
        Busy => "busy",
        /// Talking.
        Connected => "connected",
        /// Holding the call.
        Held => "held",
    }
}

impl PartyState {
    pub fn is_live(self) -> bool {
        self != PartyState::Null
    }

    /// The state a call-based AttributePartyState names, or `None` for a value the table
    /// does not name (the party keeps its state).
    pub fn from_tlib(value: TlibPartyState) -> Option<PartyState> {
        let dialing = value.has(TlibPartyState::DIALING);
        let state = match value.telephony() {
            Telephony::Null => PartyState::Null,
            Telephony::Initiated => PartyState::Initiated,
            Telephony::Queued if value.has(TlibPartyState::ROUTING) => PartyState::Routing,
            Telephony::Queued => PartyState::Queued,
            Telephony::Alerting => PartyState::Alerting,
            Telephony::Busy | Telephony::Failed => PartyState::Busy,
            Telephony::Connected if dialing => PartyState::Dialing,
            Telephony::Connected => PartyState::Connected,
            Telephony::Held if dialing => PartyState::HeldDialing,
            Telephony::Held => PartyState::Held,
            Telephony::CpDetect => PartyState::Dialing,
            Telephony::Other(_) if value.has(TlibPartyState::ROUTING) => PartyState::Routing,
            Telephony::Other(_) => return None,
        };
        Some(state)
    }
}

callstitch_tlib::labelled_enum! {
    /// How a party left the call (release.md §6 `exit`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Exit {
        Released => "released",
        Abandoned => "abandoned",
        Diverted => "diverted",
        Routed => "routed",
        LeftByTransfer => "left-by-transfer",
        LeftByConference => "left-by-conference",
        RemovedFromConference => "removed-from-conference",
        /// Moved to another ConnID of the same server (transfer / conference completion).
        Moved => "moved",
        /// Still on the call when the engine stopped waiting (incomplete call).
        StillActive => "still-active",
        Unknown => "unknown",
    }
}

impl Exit {
    /// A hand-off passes the call on: the call is expected to continue at another party.
    pub fn is_handoff(self) -> bool {
        matches!(self, Exit::Diverted | Exit::Routed | Exit::LeftByTransfer | Exit::Moved)
    }

    /// An exit that ends the party's part of the call by a release (counts for "who
    /// released"); transfers, conferences, moves, diversions and routing do not.
    pub fn is_release(self) -> bool {
        matches!(self, Exit::Released | Exit::Abandoned)
    }
}

/// One stretch of time a party spent in one state, on its site's own clock (the journey
/// timeline draws these). Only states that take time are kept: never [`PartyState::Null`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSpan {
    pub state: PartyState,
    pub start: callstitch_tlib::Timestamp,
    pub end: callstitch_tlib::Timestamp,
}

/// The most spans a party keeps; a party that changes state more often than this (a
/// pathological log) keeps its first spans and says so with `spans_truncated`.
pub const MAX_SPANS: usize = 64;

/// Time a party spent in each state, in microseconds of event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateTimes {
    /// Initiated, Dialing, Busy (the originator's set-up).
    pub dialing_us: i64,
    /// Alerting.
    pub ringing_us: i64,
    /// Queued or Routing.
    pub queued_us: i64,
    /// Connected.
    pub talking_us: i64,
    /// Held or Held+Dialing.
    pub held_us: i64,
}

impl StateTimes {
    pub fn add(&mut self, state: PartyState, micros: i64) {
        let micros = micros.max(0);
        match state {
            PartyState::Null => {}
            PartyState::Initiated | PartyState::Dialing | PartyState::Busy => self.dialing_us += micros,
            PartyState::Alerting => self.ringing_us += micros,
            PartyState::Queued | PartyState::Routing => self.queued_us += micros,
            PartyState::Connected => self.talking_us += micros,
            PartyState::Held | PartyState::HeldDialing => self.held_us += micros,
        }
    }
}

//! Deviations from the call models (call-models.md §18.6) and the inferences the engine made
//! where the stream left something out (§18.2).
//!
//! A deviation is a record, never an error: the engine applies the event anyway, says what it
//! expected, what it saw and what it assumed. An inference is the engine filling in something
//! the models allow to be missing; it does not affect conformance.

use callstitch_tlib::Text;
use serde::{Deserialize, Serialize};

use crate::event_ref::EventRef;

callstitch_tlib::labelled_enum! {
    /// What kind of departure from the models a deviation is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum DeviationKind {
        /// The event does not fit the party's state (the §19 table has no such transition).
        UnexpectedEvent => "unexpected-event",
        /// An event (other than one that starts a party) for a DN the call does not know.
        UnknownParty => "unknown-party",
        /// The model requires an event before this one and it never came (e.g. EventRinging
        /// before a destination's EventEstablished, EventDialing before an internal originator's).
        MissingEvent => "missing-event",
        /// A call-progress event without the attribute needed to place it (ThisDN, or the
        /// PreviousConnID a consultation's EventAbandoned must carry).
        MissingAttribute => "missing-attribute",
        /// EventAbandoned for a DN that never rang, queued or waited at a routing point.
        AbandonWithoutAlerting => "abandon-without-alerting",
        /// EventAbandoned saying ReleasingParty `1 Local` (release.md §1.1).
        LocalAbandon => "local-abandon",
        /// A release, abandon, diversion or routing for a party that had already left.
        EventAfterExit => "event-after-exit",
        /// A consultation call whose main call is not on this server's live calls.
        ConsultMainNotFound => "consult-main-not-found",
        /// A consultation that a party left "Transferred" / "Conferenced" but that was never
        /// merged into its main call.
        TransferWithoutCompletion => "transfer-without-completion",
    }
}

/// One departure from the models on one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    pub kind: DeviationKind,
    /// The event that deviated (or, for a missing event, the event where it was missed).
    pub event: EventRef,
    /// The party (DN) concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Text>,
    /// What the model expected.
    pub expected: String,
    /// What arrived instead.
    pub seen: String,
    /// What the engine assumed to go on.
    pub assumed: String,
}

callstitch_tlib::labelled_enum! {
    /// What the engine filled in where the stream was silent, as the models allow.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum InferenceKind {
        /// The call was first seen mid-way (monitoring or the log started during the call).
        JoinedMidCall => "joined-mid-call",
        /// A queue's or routing point's part ended without EventDiverted/EventRouteUsed, when the
        /// call was delivered elsewhere.
        QueueLeftByDelivery => "queue-left-by-delivery",
        /// A party reappeared on another ConnID without EventPartyChanged / EventCallPartyMoved.
        ImplicitMove => "implicit-move",
        /// EventPartyChanged / EventCallPartyMoved named a call this engine never saw.
        MovedFromUnseenCall => "moved-from-unseen-call",
        /// Parties still live when EventCallDeleted ended the call were closed by it.
        ClosedByCallDeleted => "closed-by-call-deleted",
        /// The CTI link was lost (or the server switched over) while the call was live.
        LinkLoss => "link-loss",
    }
}

/// One inference on one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inference {
    pub kind: InferenceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Text>,
    pub event: EventRef,
    pub detail: String,
}

//! Which documented call model a call followed, which of the models beyond the seed touched
//! it (hold, transfers, conferences), and its outcome.
//!
//! The connection-establishing model is recognised from its invariant core (call-models.md
//! §1–9): routing points, queues, parking, hold before the answer, ringing, dialing. Names
//! are the seed's section titles.

use callstitch_tlib::{CallType, SipEndKind};

use crate::call::{Call, MergeHow};
use crate::party::{seen, Party};
use crate::state::{Exit, PartyState};

callstitch_tlib::labelled_enum! {
    /// The connection-establishing model of a call (seed 001 §1.2–1.10).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum CallModel {
        /// §1 Internal/Inbound Call.
        InternalInbound => "internal-inbound",
        /// §2 Internal/Inbound Call to ACD.
        Acd => "acd",
        /// §3 Internal/Inbound Call Queued to Multiple ACDs.
        MultipleAcds => "multiple-acds",
        /// §4 Internal/Inbound Call with Call Parking.
        Parking => "parking",
        /// §5 Internal/Inbound Call with Routing (RouteQueue Case).
        RoutingRouteQueue => "routing-route-queue",
        /// §6 Internal/Inbound Call with Routing.
        Routing => "routing",
        /// §7 Internal/Inbound Call with Routing Outbound.
        RoutingOutbound => "routing-outbound",
        /// §8 Outbound Call.
        Outbound => "outbound",
        /// §9 Connection-Establishing Phase While On Hold (Internal/Outbound Call).
        WhileOnHold => "while-on-hold",
        /// Only call-based (monitoring) events: no DN event shows how the call was set up.
        CallBasedOnly => "call-based-only",
        /// The stream began after the connection was established: the set-up is unseen.
        MidCall => "mid-call",
    }
    /// The machine name (as in JSON).
    pub fn slug;
}

impl CallModel {
    /// The model's name as the seed titles it.
    pub fn name(self) -> &'static str {
        match self {
            CallModel::InternalInbound => "Internal/Inbound Call",
            CallModel::Acd => "Internal/Inbound Call to ACD",
            CallModel::MultipleAcds => "Internal/Inbound Call Queued to Multiple ACDs",
            CallModel::Parking => "Internal/Inbound Call with Call Parking",
            CallModel::RoutingRouteQueue => "Internal/Inbound Call with Routing (RouteQueue Case)",
            CallModel::Routing => "Internal/Inbound Call with Routing",
            CallModel::RoutingOutbound => "Internal/Inbound Call with Routing Outbound",
            CallModel::Outbound => "Outbound Call",
            CallModel::WhileOnHold => "Connection-Establishing Phase While On Hold (Internal/Outbound Call)",
            CallModel::CallBasedOnly => "Call-Based Events Only",
            CallModel::MidCall => "Joined Mid-Call",
        }
    }
}

callstitch_tlib::labelled_enum! {
    /// A model beyond the seed that a call went through (call-models.md §10–17).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Feature {
        /// The call is a consultation (CallType Consult, or a pointer to a held main call).
        Consultation => "consultation",
        /// §10 Hold / retrieve after the answer.
        HoldRetrieve => "hold-retrieve",
        /// §11 Single-step transfer.
        SingleStepTransfer => "single-step-transfer",
        /// §12.2 Two-step transfer completed after the consulted party answered.
        TwoStepTransferAfterAnswer => "two-step-transfer-after-answer",
        /// §12.3 Two-step transfer completed while the consulted party was ringing.
        TwoStepTransferBeforeAnswer => "two-step-transfer-before-answer",
        /// §13 Single-step conference.
        SingleStepConference => "single-step-conference",
        /// §14 Two-step conference.
        TwoStepConference => "two-step-conference",
        /// §15 A party left or was removed from a conference.
        ReleaseFromConference => "release-from-conference",
        /// The call was merged into another (a consultation completed).
        MergedByTransfer => "merged-by-transfer",
        MergedByConference => "merged-by-conference",
        /// §17 Call-based (monitoring) events were seen.
        CallMonitoring => "call-monitoring",
    }
    pub fn slug;
}

callstitch_tlib::labelled_enum! {
    /// How the call ended, from the customer's side of it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Outcome {
        /// Someone answered.
        Answered => "answered",
        /// Answered, then transferred (or a consultation merged by transfer).
        Transferred => "transferred",
        /// Answered, then conferenced (or a consultation merged by conference).
        Conferenced => "conferenced",
        /// The caller gave up while the call waited at a queue or routing point.
        AbandonedInQueue => "abandoned-in-queue",
        /// The caller gave up while a destination rang.
        AbandonedWhileRinging => "abandoned-while-ringing",
        /// The caller gave up after a queue / routing point passed the call on, before it rang.
        AbandonedAfterRouting => "abandoned-after-routing",
        /// A consultation the consulting agent gave up (never a customer abandon).
        AbandonedConsultation => "abandoned-consultation",
        /// The ringing destination declined the call.
        Rejected => "rejected",
        /// The destination was busy or unreachable.
        DestinationBusy => "destination-busy",
        /// The originator hung up while dialing, before anyone was reached.
        ReleasedWhileDialing => "released-while-dialing",
        /// The call left this site's view through a routing point or queue (handed off).
        Routed => "routed",
        /// The switch cleared the call before anyone answered (one of its timers, a failure; the
        /// release verdict says which).
        Cleared => "cleared",
        /// The call was still being set up when the engine stopped waiting.
        InProgress => "in-progress",
        Unknown => "unknown",
    }
    pub fn slug;
}

impl Outcome {
    /// The release.md §6 outcome this maps to (one of [`RELEASE_OUTCOMES`]).
    pub fn release_outcome(self) -> &'static str {
        match self {
            Outcome::Answered | Outcome::Transferred | Outcome::Conferenced => "completed",
            Outcome::AbandonedInQueue
            | Outcome::AbandonedWhileRinging
            | Outcome::AbandonedAfterRouting
            | Outcome::AbandonedConsultation
            | Outcome::ReleasedWhileDialing => "abandoned",
            Outcome::Rejected => "rejected",
            Outcome::DestinationBusy => "failed-busy",
            Outcome::Routed => "handed-off",
            Outcome::Cleared => "cleared",
            Outcome::InProgress | Outcome::Unknown => "unknown",
        }
    }
}

/// Every value [`Outcome::release_outcome`] gives.
pub const RELEASE_OUTCOMES: [&str; 7] =
    ["completed", "abandoned", "rejected", "failed-busy", "handed-off", "cleared", "unknown"];

fn any(call: &Call, bits: u32) -> bool {
    call.parties.iter().any(|party| party.has(bits))
}

fn count(call: &Call, bits: u32) -> usize {
    call.parties.iter().filter(|party| party.has(bits)).count()
}

/// The connection-establishing model the call followed.
pub(crate) fn recognise(call: &Call) -> CallModel {
    let has_dn_start = any(call, seen::DIALING | seen::RINGING | seen::QUEUED | seen::ROUTE_REQUEST);
    if any(call, seen::ROUTE_REQUEST) {
        return routing_model(call);
    }
    if any(call, seen::QUEUED) {
        return queue_model(call);
    }
    if any(call, seen::HELD_BEFORE_ANSWER) {
        return CallModel::WhileOnHold;
    }
    if any(call, seen::RINGING) {
        return CallModel::InternalInbound;
    }
    if any(call, seen::DIALING) {
        return dialing_only_model(call);
    }
    if !has_dn_start
        && call.monitored
        && call.parties.iter().all(|party| party.history.iter().all(is_call_based))
    {
        return CallModel::CallBasedOnly;
    }
    CallModel::MidCall
}

fn is_call_based(event: &crate::event_ref::EventRef) -> bool {
    event.message.number().is_some_and(|number| (160..=166).contains(&number))
}

fn routing_model(call: &Call) -> CallModel {
    let route_queue =
        call.parties.iter().any(|party| party.has(seen::ROUTE_REQUEST) && party.has(seen::QUEUED));
    if route_queue {
        return CallModel::RoutingRouteQueue;
    }
    if any(call, seen::NETWORK_REACHED) {
        return CallModel::RoutingOutbound;
    }
    CallModel::Routing
}

fn queue_model(call: &Call) -> CallModel {
    if any(call, seen::PARKED_PICKUP) {
        return CallModel::Parking;
    }
    let queues =
        call.parties.iter().filter(|party| party.has(seen::QUEUED) && !party.has(seen::RINGING)).count();
    if queues >= 2 {
        return CallModel::MultipleAcds;
    }
    let parked_no_pickup = queues == 1 && any(call, seen::DESTINATION_BUSY);
    if parked_no_pickup {
        return CallModel::Parking;
    }
    CallModel::Acd
}

/// Only the originator's events: an internal call that never reached B, or an outbound call.
/// CallType decides; without it, EventNetworkReached means the network (outbound).
fn dialing_only_model(call: &Call) -> CallModel {
    match call.call_type {
        Some(CallType::Outbound) => CallModel::Outbound,
        Some(CallType::Internal) | Some(CallType::Inbound) => CallModel::InternalInbound,
        _ if any(call, seen::NETWORK_REACHED) => CallModel::Outbound,
        _ if count(call, seen::ESTABLISHED) == 1 && call.parties.len() == 1 => CallModel::Outbound,
        _ => CallModel::InternalInbound,
    }
}

/// The models beyond the seed that the call went through, in a fixed order.
pub(crate) fn features(call: &Call) -> Vec<Feature> {
    let mut features = Vec::new();
    if is_consultation(call) {
        features.push(Feature::Consultation);
    }
    if any(call, seen::HELD) {
        features.push(Feature::HoldRetrieve);
    }
    let left_by_transfer = call.parties.iter().any(|party| party.exit == Some(Exit::LeftByTransfer));
    if left_by_transfer && call.moves_in.is_empty() && !is_consultation(call) {
        features.push(Feature::SingleStepTransfer);
    }
    for moved in &call.moves_in {
        let feature = match (moved.how, moved.state) {
            (MergeHow::Conference, _) => Feature::TwoStepConference,
            (_, PartyState::Alerting) => Feature::TwoStepTransferBeforeAnswer,
            _ => Feature::TwoStepTransferAfterAnswer,
        };
        features.push(feature);
    }
    if any(call, seen::PARTY_ADDED) && call.moves_in.is_empty() {
        features.push(Feature::SingleStepConference);
    }
    if any(call, seen::PARTY_DELETED) || call.parties.iter().any(Party::left_conference) {
        features.push(Feature::ReleaseFromConference);
    }
    match call.merged_how {
        Some(MergeHow::Transfer) => features.push(Feature::MergedByTransfer),
        Some(MergeHow::Conference) => features.push(Feature::MergedByConference),
        _ => {}
    }
    if call.monitored {
        features.push(Feature::CallMonitoring);
    }
    features.sort();
    features.dedup();
    features
}

pub(crate) fn is_consultation(call: &Call) -> bool {
    matches!(call.call_type, Some(CallType::Consult)) || call.consult_of.is_some()
}

/// Someone talked: a party was connected (or held) at some point, whatever said so (its
/// EventEstablished, a call-based PartyState, a move, or a stream that began mid-call with
/// the party already connected: EventHeld, EventRetrieved), or was moved onto the call.
fn answered(call: &Call) -> bool {
    any(call, seen::ESTABLISHED | seen::CONNECTED | seen::CONNECTED_CALL_BASED | seen::MOVED_IN)
}

/// The outcome of a finished call (`complete`: its end was seen).
pub(crate) fn outcome(call: &Call, features: &[Feature], complete: bool) -> Outcome {
    if let Some(how) = call.merged_how {
        return if how == MergeHow::Conference { Outcome::Conferenced } else { Outcome::Transferred };
    }
    if answered(call) {
        return answered_outcome(features);
    }
    if any(call, seen::ABANDONED) {
        return abandon_outcome(call);
    }
    if !complete {
        return Outcome::InProgress;
    }
    unanswered_outcome(call)
}

fn answered_outcome(features: &[Feature]) -> Outcome {
    let transferred = features.iter().any(|feature| {
        matches!(
            feature,
            Feature::SingleStepTransfer
                | Feature::TwoStepTransferAfterAnswer
                | Feature::TwoStepTransferBeforeAnswer
        )
    });
    if transferred {
        return Outcome::Transferred;
    }
    let conferenced = features
        .iter()
        .any(|feature| matches!(feature, Feature::SingleStepConference | Feature::TwoStepConference));
    if conferenced {
        return Outcome::Conferenced;
    }
    Outcome::Answered
}

fn abandon_outcome(call: &Call) -> Outcome {
    if is_consultation(call) {
        return Outcome::AbandonedConsultation;
    }
    let last = call
        .parties
        .iter()
        .filter(|party| party.exit == Some(Exit::Abandoned))
        .max_by_key(|party| party.evidence.close_order);
    match last {
        Some(party) if party.has(seen::RINGING) => Outcome::AbandonedWhileRinging,
        _ => Outcome::AbandonedInQueue,
    }
}

fn unanswered_outcome(call: &Call) -> Outcome {
    if let Some(outcome) = sip_outcome(call) {
        return outcome;
    }
    if call
        .parties
        .iter()
        .any(|party| party.has(seen::RELEASED_WHILE_ALERTING) && !is_originator(call, party))
    {
        return Outcome::Rejected;
    }
    if any(call, seen::DESTINATION_BUSY) {
        return Outcome::DestinationBusy;
    }
    let passed_on = any(call, seen::ROUTE_USED | seen::DIVERTED)
        || call.parties.iter().any(|party| party.exit == Some(Exit::Diverted));
    let caller_gave_up = any(call, seen::RELEASED_WHILE_DIALING);
    if passed_on && caller_gave_up {
        return Outcome::AbandonedAfterRouting;
    }
    if caller_gave_up {
        return Outcome::ReleasedWhileDialing;
    }
    if passed_on {
        return Outcome::Routed;
    }
    if call.parties.iter().any(|party| party.exit == Some(Exit::LeftByTransfer)) {
        return Outcome::Transferred;
    }
    Outcome::Unknown
}

/// An unanswered call's outcome from the SIP signal that ended it (SIP-layer calls only:
/// their call-based events carry no ringing or release flags of their own).
fn sip_outcome(call: &Call) -> Option<Outcome> {
    let (end, _) = call.sip_end.as_deref()?;
    Some(match end.kind {
        SipEndKind::Rejected => Outcome::Rejected,
        SipEndKind::Busy => Outcome::DestinationBusy,
        SipEndKind::Cancel => Outcome::AbandonedWhileRinging,
        SipEndKind::Bye => Outcome::ReleasedWhileDialing,
        SipEndKind::Refer => Outcome::Transferred,
        SipEndKind::Timeout | SipEndKind::Request | SipEndKind::Cleared => Outcome::Cleared,
    })
}

pub(crate) fn is_originator(call: &Call, party: &Party) -> bool {
    call.originator.as_ref() == Some(&party.dn) || party.has(seen::DIALING)
}

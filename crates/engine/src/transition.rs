//! The party-state table of call-models.md §19 for DN-based events about ThisDN.
//!
//! [`step`] says which state an event moves a party to and whether the move is one the table
//! allows from the party's current state. An event that does not fit is still applied (the
//! engine assumes the table's target state) and the caller records a deviation.

use callstitch_tlib::{CallState, Event, Message};

use crate::state::{Exit, PartyState};

/// The result of applying one DN event to one party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub to: PartyState,
    /// Set when the event closes the party.
    pub exit: Option<Exit>,
    /// `None` when the move fits the table; otherwise the states the table allows it from.
    pub misfit: Option<&'static str>,
}

impl Step {
    fn fits(to: PartyState) -> Step {
        Step { to, exit: None, misfit: None }
    }

    fn closes(exit: Exit) -> Step {
        Step { to: PartyState::Null, exit: Some(exit), misfit: None }
    }

    fn or_misfit(mut self, allowed: bool, expected: &'static str) -> Step {
        if !allowed {
            self.misfit = Some(expected);
        }
        self
    }
}

/// True for events that may start a new party instance (a DN joining the call).
pub(crate) fn starts_party(message: &Message) -> bool {
    matches!(
        message,
        Message::EventDialing
            | Message::EventRinging
            | Message::EventQueued
            | Message::EventRouteRequest
            | Message::EventOffHook
    )
}

/// True for the DN-based call-progress events that carry a party state (§1.1, 57–72).
pub(crate) fn is_party_event(message: &Message) -> bool {
    matches!(
        message,
        Message::EventQueued
            | Message::EventDiverted
            | Message::EventAbandoned
            | Message::EventRinging
            | Message::EventDialing
            | Message::EventNetworkReached
            | Message::EventDestinationBusy
            | Message::EventEstablished
            | Message::EventReleased
            | Message::EventHeld
            | Message::EventRetrieved
            | Message::EventPartyChanged
            | Message::EventPartyAdded
            | Message::EventPartyDeleted
            | Message::EventRouteRequest
            | Message::EventRouteUsed
            | Message::EventOffHook
    )
}

/// The §19 step for `event` (about ThisDN) from state `from`. `transfer_seen` allows a
/// connected party's repeated EventEstablished after a transfer (§11 step 2, §12.3 step 4).
pub(crate) fn step(event: &Event, from: PartyState, transfer_seen: bool) -> Step {
    use PartyState as S;
    match event.message {
        Message::EventOffHook => Step::fits(S::Initiated).or_misfit(from == S::Null, "null"),
        Message::EventDialing => {
            Step::fits(S::Dialing).or_misfit(matches!(from, S::Null | S::Initiated), "null or initiated")
        }
        Message::EventNetworkReached => {
            let to = if from == S::HeldDialing { S::HeldDialing } else { S::Dialing };
            Step::fits(to).or_misfit(matches!(from, S::Dialing | S::HeldDialing), "dialing")
        }
        Message::EventDestinationBusy => {
            Step::fits(S::Busy).or_misfit(matches!(from, S::Dialing | S::HeldDialing), "dialing")
        }
        Message::EventRinging => {
            Step::fits(S::Alerting).or_misfit(matches!(from, S::Null | S::Queued), "null or queued (parking)")
        }
        // EventQueued and EventRouteRequest of one step may come in either order (§5).
        Message::EventQueued if from == S::Routing => Step::fits(S::Routing),
        Message::EventQueued => Step::fits(S::Queued).or_misfit(from == S::Null, "null"),
        Message::EventRouteRequest => {
            Step::fits(S::Routing).or_misfit(matches!(from, S::Null | S::Queued), "null or queued")
        }
        Message::EventEstablished => established(from, transfer_seen),
        Message::EventHeld => match from {
            S::Connected => Step::fits(S::Held),
            S::Dialing => Step::fits(S::HeldDialing),
            _ => Step::fits(S::Held).or_misfit(false, "connected or dialing"),
        },
        Message::EventRetrieved => match from {
            S::Held => Step::fits(S::Connected),
            S::HeldDialing => Step::fits(S::Dialing),
            _ => Step::fits(S::Connected).or_misfit(false, "held"),
        },
        Message::EventPartyChanged | Message::EventPartyDeleted => {
            Step::fits(if from.is_live() { from } else { S::Connected })
                .or_misfit(from.is_live(), "any live state")
        }
        Message::EventPartyAdded => party_added(event, from),
        Message::EventDiverted => Step::closes(Exit::Diverted)
            .or_misfit(matches!(from, S::Queued | S::Routing | S::Alerting), "queued or routing"),
        Message::EventRouteUsed => {
            Step::closes(Exit::Routed).or_misfit(matches!(from, S::Queued | S::Routing), "routing or queued")
        }
        Message::EventAbandoned => Step::closes(Exit::Abandoned)
            .or_misfit(matches!(from, S::Alerting | S::Queued | S::Routing), "alerting, queued or routing"),
        Message::EventReleased => {
            Step::closes(release_exit(event.call_state.as_ref())).or_misfit(from.is_live(), "any live state")
        }
        _ => Step::fits(from),
    }
}

fn established(from: PartyState, transfer_seen: bool) -> Step {
    use PartyState as S;
    match from {
        S::Dialing | S::Busy | S::Alerting | S::Queued | S::Initiated => Step::fits(S::Connected),
        S::HeldDialing => Step::fits(S::Held),
        S::Held => Step::fits(S::Held).or_misfit(transfer_seen, "held+dialing"),
        S::Connected => {
            Step::fits(S::Connected).or_misfit(transfer_seen, "dialing, busy, alerting or queued")
        }
        S::Routing | S::Null => {
            Step::fits(S::Connected).or_misfit(false, "dialing, busy, alerting or queued")
        }
    }
}

fn party_added(event: &Event, from: PartyState) -> Step {
    use PartyState as S;
    let conferenced = matches!(event.call_state, Some(CallState::Conferenced));
    match from {
        // The conferencing party back on the main call (§14 step 4, "depending on the switch").
        S::Held if conferenced => Step::fits(S::Connected),
        S::Null => Step::fits(S::Connected).or_misfit(false, "any live state"),
        live => Step::fits(live),
    }
}

/// How an EventReleased closes a party, from its CallState (§16, release.md §2).
pub(crate) fn release_exit(call_state: Option<&CallState>) -> Exit {
    match call_state {
        Some(CallState::Transferred) => Exit::LeftByTransfer,
        Some(CallState::Conferenced) => Exit::LeftByConference,
        _ => Exit::Released,
    }
}

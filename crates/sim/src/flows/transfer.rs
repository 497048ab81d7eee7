//! The models beyond the seed on one site (call-models.md §10–16): hold and retrieve with a
//! consultation, single-step and two-step transfer, single-step and two-step conference,
//! and release from a conference.

use callstitch_tlib::{CallState, DnRole, Text};

use crate::flow::{ConsultFor, Flow, Leave, Seg};
use crate::scenario::{agent, answer, end_conversation, pick_caller, start_call, Caller};

/// A call from a caller (mostly customers) answered by an agent: the start of every model
/// here. Returns the call, the caller and the agent.
fn answered_call(flow: &mut Flow<'_>, site: usize) -> (Seg, Caller, Text) {
    let caller = pick_caller(flow, site, 30);
    let seg = start_call(flow, site, &caller);
    let b = agent(flow, site, &[caller.dn()]);
    if let Caller::Agent(a) = &caller {
        flow.dialing(seg, a, &b);
    }
    flow.ringing(seg, &b, caller.dn(), None);
    flow.wait(2, 10);
    answer(flow, seg, &caller, &b);
    flow.talk(10, 120);
    (seg, caller, b)
}

/// §10: B holds the call, consults C on a new call (which C answers, or not), then retrieves.
pub fn hold_retrieve(flow: &mut Flow<'_>, site: usize) {
    let (main, caller, b) = answered_call(flow, site);
    flow.held(main, &b, DnRole::Destination, caller.dn());
    let c = agent(flow, site, &[caller.dn(), &b]);
    let consult = flow.consultation(main, ConsultFor::Plain);
    flow.dialing(consult, &b, &c);
    flow.ringing(consult, &c, &b, None);
    flow.wait(2, 10);
    if flow.rng.percent(70) {
        flow.established(consult, &c, DnRole::Destination, &b);
        flow.established(consult, &b, DnRole::Origination, &c);
        flow.wait(10, 90);
        flow.released(consult, &b, DnRole::Origination, Some(&c), Leave::HungUp);
        flow.released(consult, &c, DnRole::Destination, Some(&b), Leave::ByOther);
        flow.set_outcome(consult, "answered");
    } else {
        flow.released(consult, &b, DnRole::Origination, Some(&c), Leave::HungUp);
        flow.abandoned(consult, &c, &b, None);
        flow.set_outcome(consult, "abandoned-consultation");
    }
    flow.call_deleted(consult, Some(&b), None);
    flow.wait(1, 5);
    flow.retrieved(main, &b, DnRole::Destination, caller.dn());
    flow.set_outcome(main, "answered");
    end_conversation(flow, main, &caller, &b);
}

/// §11: B sends the call to C in one request; B leaves (Transferred), C rings on the same
/// ConnID, an agent caller sees EventPartyChanged.
pub fn single_step_transfer(flow: &mut Flow<'_>, site: usize) {
    let (seg, caller, b) = answered_call(flow, site);
    let c = agent(flow, site, &[caller.dn(), &b]);
    flow.released(seg, &b, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
    flow.mark_last(|event| event.third_party_dn = Some(c.clone()));
    flow.ringing_by(seg, &c, caller.dn(), &b, DnRole::TransferredBy);
    if let Caller::Agent(a) = &caller {
        flow.party_changed(seg, a, Some(&c), &b, None, CallState::Transferred);
    }
    flow.wait(2, 10);
    flow.established(seg, &c, DnRole::Destination, caller.dn());
    if let Caller::Agent(a) = &caller {
        flow.established(seg, a, DnRole::Origination, &c);
    }
    flow.start_recording(seg, &c, "agent", &c);
    flow.set_outcome(seg, "transferred");
    end_conversation(flow, seg, &caller, &c);
}

/// §12: B holds, consults C, and completes the transfer after C answers (§12.2) or while C
/// rings (§12.3). Abnormal (§12.4): C is busy, or B gives the consultation up while C rings;
/// B then retrieves the caller.
pub fn two_step_transfer(flow: &mut Flow<'_>, site: usize) {
    let (main, caller, b) = answered_call(flow, site);
    flow.held(main, &b, DnRole::Destination, caller.dn());
    let c = agent(flow, site, &[caller.dn(), &b]);
    let consult = flow.consultation(main, ConsultFor::Transfer);
    flow.dialing(consult, &b, &c);
    let variant = flow.rng.below(20);
    if variant < 2 {
        flow.destination_busy(consult, &b, &c, CallState::Busy);
        flow.wait(1, 3);
        return give_up_consultation(flow, main, consult, &caller, &b, "destination-busy");
    }
    flow.ringing(consult, &c, &b, None);
    flow.wait(2, 12);
    if variant < 5 {
        flow.released(consult, &b, DnRole::Origination, Some(&c), Leave::HungUp);
        flow.abandoned(consult, &c, &b, None);
        return give_up_consultation(flow, main, consult, &caller, &b, "abandoned-consultation");
    }
    let after_answer = variant >= 10;
    if after_answer {
        flow.established(consult, &c, DnRole::Destination, &b);
        flow.established(consult, &b, DnRole::Origination, &c);
        flow.start_recording(consult, &c, "agent", &c);
        flow.wait(5, 60);
    }
    complete_transfer(flow, main, consult, &caller, &b, &c);
    if !after_answer {
        flow.wait(2, 10);
        flow.established(main, &c, DnRole::Destination, caller.dn());
        if let Caller::Agent(a) = &caller {
            flow.established(main, a, DnRole::Origination, &c);
        }
        flow.start_recording(main, &c, "agent", &c);
    }
    flow.set_outcome(main, "transferred");
    end_conversation(flow, main, &caller, &c);
}

/// §12.2 step 4: B leaves both calls (Transferred), C moves onto the main ConnID, the
/// consultation is deleted into the main call (RefCallUUID).
fn complete_transfer(flow: &mut Flow<'_>, main: Seg, consult: Seg, caller: &Caller, b: &str, c: &str) {
    flow.released(consult, b, DnRole::Origination, Some(c), Leave::Transferred);
    flow.released(main, b, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
    flow.party_changed(main, c, Some(caller.dn()), b, Some(consult), CallState::Transferred);
    if let Caller::Agent(a) = caller {
        flow.party_changed(main, a, Some(c), b, None, CallState::Transferred);
    }
    flow.set_outcome(consult, "transferred");
    flow.call_deleted(consult, None, Some(main));
}

/// §12.4: the consultation failed; B releases it (if not yet) and retrieves the caller.
fn give_up_consultation(
    flow: &mut Flow<'_>,
    main: Seg,
    consult: Seg,
    caller: &Caller,
    b: &str,
    outcome: &'static str,
) {
    if outcome == "destination-busy" {
        flow.released(consult, b, DnRole::Origination, None, Leave::HungUp);
    }
    flow.set_outcome(consult, outcome);
    flow.call_deleted(consult, Some(b), None);
    flow.wait(1, 4);
    flow.retrieved(main, b, DnRole::Destination, caller.dn());
    flow.set_outcome(main, "answered");
    end_conversation(flow, main, caller, b);
}

/// §13: B adds C to the call in one request (C rings, answers; the others get
/// EventPartyAdded), then someone leaves the conference (§15).
pub fn single_step_conference(flow: &mut Flow<'_>, site: usize) {
    let (seg, caller, b) = answered_call(flow, site);
    let c = agent(flow, site, &[caller.dn(), &b]);
    flow.ringing_by(seg, &c, &b, &b, DnRole::ConferencedBy);
    flow.wait(2, 8);
    flow.established(seg, &c, DnRole::Destination, &b);
    flow.party_added(seg, &b, &c, &b);
    if let Caller::Agent(a) = &caller {
        flow.party_added(seg, a, &c, &b);
    }
    flow.start_recording(seg, &c, "agent", &c);
    flow.set_outcome(seg, "conferenced");
    leave_conference(flow, seg, &caller, &b, &c);
}

/// §14: B holds, consults C, and completes a conference: B back on the main call, C moves
/// onto it (EventPartyChanged), the others get EventPartyAdded; then §15.
pub fn two_step_conference(flow: &mut Flow<'_>, site: usize) {
    let (main, caller, b) = answered_call(flow, site);
    flow.held(main, &b, DnRole::Destination, caller.dn());
    let c = agent(flow, site, &[caller.dn(), &b]);
    let consult = flow.consultation(main, ConsultFor::Conference);
    flow.dialing(consult, &b, &c);
    flow.ringing(consult, &c, &b, None);
    flow.wait(2, 10);
    flow.established(consult, &c, DnRole::Destination, &b);
    flow.established(consult, &b, DnRole::Origination, &c);
    flow.start_recording(consult, &c, "agent", &c);
    flow.wait(5, 40);
    flow.released(consult, &b, DnRole::Origination, Some(&c), Leave::Conferenced);
    flow.retrieved(main, &b, DnRole::Destination, caller.dn());
    if let Caller::Agent(a) = &caller {
        flow.party_added(main, a, &c, &b);
    }
    flow.party_changed(main, &c, None, &b, Some(consult), CallState::Conferenced);
    flow.set_outcome(consult, "conferenced");
    flow.call_deleted(consult, None, Some(main));
    flow.set_outcome(main, "conferenced");
    leave_conference(flow, main, &caller, &b, &c);
}

/// §15 then §16: one member leaves the three-party call (C hangs up, B removes C, or B
/// leaves); the other two talk on and end the call.
fn leave_conference(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, b: &str, c: &str) {
    flow.talk(10, 120);
    let members: Vec<&str> = match caller {
        Caller::Agent(a) => vec![a.as_str(), b, c],
        Caller::Customer(_) => vec![b, c],
    };
    let (leaver, by, stays) = match flow.rng.below(10) {
        0..=4 => (c, c, b),
        5 | 6 => (c, b, b),
        _ => (b, b, c),
    };
    if leaver == by {
        flow.released(seg, leaver, DnRole::Destination, Some(caller.dn()), Leave::HungUp);
    } else {
        flow.removed(seg, leaver, by);
    }
    // Some switches tell the remaining members nothing of a member who hangs up.
    let told = leaver != by || !flow.rng.percent(25);
    for member in members.iter().filter(|member| **member != leaver && told) {
        flow.party_deleted(seg, member, leaver, by, 2);
    }
    let stays = stays.to_string();
    end_conversation(flow, seg, caller, &stays);
}

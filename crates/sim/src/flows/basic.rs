//! The connection-establishing models of seed 001 (call-models.md §1–9), each with its
//! abnormal flows at the interruption points the seed lists.

use callstitch_tlib::{CallState, CallType, DnRole};

use crate::flow::{Flow, Leave};
use crate::scenario::{
    agent, answer, caller_abandons, caller_dials, end_conversation, outside_number, pick_caller, queue,
    routing_point, start_call, Caller,
};

/// §1 inbound: a customer's call rings an agent directly. Abnormal: the customer gives up
/// while it rings (`***`), or the agent rejects it (release.md scenario 4).
pub fn inbound_agent(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 0);
    let seg = start_call(flow, site, &caller);
    let agent = agent(flow, site, &[]);
    flow.ringing(seg, &agent, caller.dn(), None);
    flow.wait(2, 15);
    match flow.rng.below(10) {
        0..=6 => {
            answer(flow, seg, &caller, &agent);
            flow.set_outcome(seg, "answered");
            end_conversation(flow, seg, &caller, &agent);
        }
        7 | 8 => {
            flow.set_outcome(seg, "abandoned-while-ringing");
            caller_abandons(flow, seg, &caller, &agent, None);
        }
        _ => {
            flow.released(seg, &agent, DnRole::Destination, Some(caller.dn()), Leave::HungUp);
            flow.set_outcome(seg, "rejected");
            flow.call_deleted(seg, Some(&agent), None);
            flow.ended_by(seg, &agent, "agent");
        }
    }
}

/// §1 internal: agent A calls agent B. Abnormal: A gives up before B is reached (`*`), B is
/// busy (`**`), A hangs up while B rings (`***`).
pub fn internal_call(flow: &mut Flow<'_>, site: usize) {
    let a = agent(flow, site, &[]);
    let b = agent(flow, site, &[&a]);
    let caller = Caller::Agent(a.clone());
    let seg = flow.new_call(site, CallType::Internal, None, None);
    flow.dialing(seg, &a, &b);
    flow.wait_ms(200, 2_000);
    match flow.rng.below(10) {
        0..=5 => {
            flow.ringing(seg, &b, &a, None);
            flow.wait(2, 10);
            answer(flow, seg, &caller, &b);
            flow.set_outcome(seg, "answered");
            end_conversation(flow, seg, &caller, &b);
        }
        6 => {
            flow.released(seg, &a, DnRole::Origination, Some(&b), Leave::HungUp);
            flow.set_outcome(seg, "released-while-dialing");
            finish_by(flow, seg, &a, "agent");
        }
        7 => {
            let state = if flow.rng.percent(50) { CallState::Busy } else { CallState::SitInvalidNum };
            flow.destination_busy(seg, &a, &b, state);
            flow.wait(1, 5);
            flow.released(seg, &a, DnRole::Origination, Some(&b), Leave::HungUp);
            flow.set_outcome(seg, "destination-busy");
            finish_by(flow, seg, &a, "agent");
        }
        _ => {
            flow.ringing(seg, &b, &a, None);
            flow.wait(3, 20);
            flow.set_outcome(seg, "abandoned-while-ringing");
            caller_abandons(flow, seg, &caller, &b, None);
        }
    }
}

fn finish_by(flow: &mut Flow<'_>, seg: crate::flow::Seg, dn: &str, who: &str) {
    flow.call_deleted(seg, Some(dn), None);
    flow.ended_by(seg, dn, who);
}

/// §2: a call to an ACD group, diverted to an agent. Abnormal: the caller gives up while
/// queued (`*`), after the diversion before the agent rings (`**`, agent callers only, the
/// only ones whose release shows), or while the agent rings (`***`).
pub fn acd(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 25);
    let seg = start_call(flow, site, &caller);
    let group = queue(flow, site, &[]);
    caller_dials(flow, seg, &caller, &group);
    flow.queued(seg, &group, caller.dn());
    flow.wait(3, 90);
    let point = flow.rng.below(20);
    if point < 3 {
        flow.set_outcome(seg, "abandoned-in-queue");
        return caller_abandons(flow, seg, &caller, &group, Some(&group));
    }
    let target = agent(flow, site, &[caller.dn()]);
    flow.diverted(seg, &group, caller.dn(), &target);
    if point == 3 && caller.is_agent() {
        flow.released(seg, caller.dn(), DnRole::Origination, Some(&group), Leave::HungUp);
        flow.set_outcome(seg, "abandoned-after-routing");
        return finish_by(flow, seg, caller.dn(), caller.who());
    }
    flow.ringing(seg, &target, caller.dn(), Some(&group));
    flow.wait(2, 15);
    if point < 6 {
        flow.set_outcome(seg, "abandoned-while-ringing");
        return caller_abandons(flow, seg, &caller, &target, Some(&group));
    }
    answer(flow, seg, &caller, &target);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &target);
}

/// §3: queued at two ACD groups; the first delivers, the second is diverted (Redirected).
/// Abnormal: the caller gives up while queued at both (`**`).
pub fn multiple_acds(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 0);
    let seg = start_call(flow, site, &caller);
    let first = queue(flow, site, &[]);
    let second = queue(flow, site, &[&first]);
    flow.queued(seg, &first, caller.dn());
    flow.wait(5, 40);
    flow.queued(seg, &second, caller.dn());
    flow.wait(5, 60);
    if flow.rng.percent(25) {
        flow.set_outcome(seg, "abandoned-in-queue");
        flow.abandoned(seg, &first, caller.dn(), Some(&first));
        return caller_abandons(flow, seg, &caller, &second, Some(&second));
    }
    let target = agent(flow, site, &[]);
    flow.diverted(seg, &first, caller.dn(), &target);
    flow.diverted(seg, &second, caller.dn(), &target);
    flow.mark_last(|event| {
        event.call_state = Some(CallState::Redirected);
        event.third_party_queue = Some(first.clone());
    });
    flow.ringing(seg, &target, caller.dn(), Some(&first));
    flow.wait(2, 10);
    answer(flow, seg, &caller, &target);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &target);
}

/// §4: agent A calls B; the call is parked on B (EventDestinationBusy for A, EventQueued for
/// B), then B picks it up. Abnormal: A hangs up while the call is parked (`*`).
pub fn parking(flow: &mut Flow<'_>, site: usize) {
    let a = agent(flow, site, &[]);
    let b = agent(flow, site, &[&a]);
    let caller = Caller::Agent(a.clone());
    let seg = flow.new_call(site, CallType::Internal, None, None);
    flow.dialing(seg, &a, &b);
    if flow.rng.percent(60) {
        flow.destination_busy(seg, &a, &b, CallState::Ok);
        flow.mark_last(|event| event.call_state = None);
    }
    flow.queued(seg, &b, &a);
    flow.mark_last(|event| {
        event.this_queue = None;
        event.call_state = Some(CallState::Ok);
    });
    flow.wait(5, 60);
    if flow.rng.percent(20) {
        flow.set_outcome(seg, "abandoned-in-queue");
        return caller_abandons(flow, seg, &caller, &b, None);
    }
    flow.ringing(seg, &b, &a, None);
    flow.wait(1, 5);
    answer(flow, seg, &caller, &b);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &b);
}

/// §5: a routing point that also queues (EventQueued and EventRouteRequest), routed to an
/// agent. Abnormal: the caller gives up at the routing point, or while the agent rings.
pub fn route_queue(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 15);
    let seg = start_call(flow, site, &caller);
    let point = routing_point(flow, site);
    caller_dials(flow, seg, &caller, &point);
    flow.queued(seg, &point, caller.dn());
    flow.route_request(seg, &point, caller.dn());
    flow.wait(1, 20);
    let stop = flow.rng.below(20);
    if stop < 3 {
        flow.set_outcome(seg, "abandoned-in-queue");
        return caller_abandons(flow, seg, &caller, &point, None);
    }
    let target = agent(flow, site, &[caller.dn()]);
    flow.route_used(seg, &point, caller.dn(), &target);
    flow.diverted(seg, &point, caller.dn(), &target);
    flow.ringing(seg, &target, caller.dn(), Some(&point));
    flow.wait(2, 12);
    if stop < 5 {
        flow.set_outcome(seg, "abandoned-while-ringing");
        return caller_abandons(flow, seg, &caller, &target, None);
    }
    answer(flow, seg, &caller, &target);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &target);
}

/// §6: a routing point (no queue events), routed to an agent. Abnormal: the caller gives up
/// before the decision (`*`), after RequestRouteCall (`**`, followed by EventError), or
/// while the agent rings (`***`).
pub fn routing(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 15);
    let seg = start_call(flow, site, &caller);
    let point = routing_point(flow, site);
    caller_dials(flow, seg, &caller, &point);
    flow.route_request(seg, &point, caller.dn());
    flow.wait(1, 15);
    let stop = flow.rng.below(25);
    if stop < 3 {
        flow.set_outcome(seg, "abandoned-in-queue");
        return caller_abandons(flow, seg, &caller, &point, None);
    }
    if stop < 5 {
        flow.set_outcome(seg, "abandoned-in-queue");
        caller_abandons(flow, seg, &caller, &point, None);
        return flow.route_error(seg, &point);
    }
    let target = agent(flow, site, &[caller.dn()]);
    flow.route_used(seg, &point, caller.dn(), &target);
    if flow.rng.percent(50) {
        flow.mark_last(|event| event.call_state = Some(CallState::Redirected));
    }
    flow.ringing(seg, &target, caller.dn(), None);
    flow.wait(2, 12);
    if stop < 8 {
        flow.set_outcome(seg, "abandoned-while-ringing");
        return caller_abandons(flow, seg, &caller, &target, None);
    }
    answer(flow, seg, &caller, &target);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &target);
}

/// §7: agent A calls a routing point that routes the call out to an external number.
/// Abnormal: A hangs up at the routing point (`*`).
pub fn routing_outbound(flow: &mut Flow<'_>, site: usize) {
    let a = agent(flow, site, &[]);
    let caller = Caller::Agent(a.clone());
    let seg = flow.new_call(site, CallType::Internal, None, None);
    let point = routing_point(flow, site);
    flow.dialing(seg, &a, &point);
    flow.route_request(seg, &point, &a);
    flow.wait(1, 8);
    if flow.rng.percent(15) {
        flow.set_outcome(seg, "abandoned-in-queue");
        return caller_abandons(flow, seg, &caller, &point, None);
    }
    let outside = outside_number(flow);
    flow.network_reached(seg, &a, &outside);
    flow.route_used(seg, &point, &a, &outside);
    flow.wait(3, 20);
    flow.established(seg, &a, DnRole::Origination, &outside);
    flow.set_outcome(seg, "answered");
    end_outside_call(flow, seg, &a, &outside);
}

/// The end of a call between agent `a` and an outside party (no events of its own).
fn end_outside_call(flow: &mut Flow<'_>, seg: crate::flow::Seg, a: &str, outside: &str) {
    flow.talk(20, 300);
    if flow.rng.percent(50) {
        flow.released(seg, a, DnRole::Origination, Some(outside), Leave::HungUp);
        finish_by(flow, seg, a, "agent");
    } else {
        flow.released(seg, a, DnRole::Origination, Some(outside), Leave::ByOther);
        finish_by(flow, seg, outside, "customer");
    }
}

/// §8: agent A calls an outside number. Abnormal: A gives up before the network is reached
/// (`*`), the destination is busy (`**`), A gives up after it was reached (`***`).
pub fn outbound(flow: &mut Flow<'_>, site: usize) {
    let a = agent(flow, site, &[]);
    let outside = outside_number(flow);
    let seg = flow.new_call(site, CallType::Outbound, None, None);
    flow.dialing(seg, &a, &outside);
    flow.wait_ms(300, 3_000);
    match flow.rng.below(10) {
        0 => {
            flow.released(seg, &a, DnRole::Origination, Some(&outside), Leave::HungUp);
            flow.set_outcome(seg, "released-while-dialing");
            finish_by(flow, seg, &a, "agent");
        }
        1 => {
            flow.destination_busy(seg, &a, &outside, CallState::Busy);
            flow.wait(1, 4);
            flow.released(seg, &a, DnRole::Origination, Some(&outside), Leave::HungUp);
            flow.set_outcome(seg, "destination-busy");
            finish_by(flow, seg, &a, "agent");
        }
        2 => {
            flow.network_reached(seg, &a, &outside);
            flow.wait(5, 30);
            flow.released(seg, &a, DnRole::Origination, Some(&outside), Leave::HungUp);
            flow.set_outcome(seg, "released-while-dialing");
            finish_by(flow, seg, &a, "agent");
        }
        _ => {
            flow.network_reached(seg, &a, &outside);
            flow.wait(3, 20);
            flow.established(seg, &a, DnRole::Origination, &outside);
            flow.set_outcome(seg, "answered");
            end_outside_call(flow, seg, &a, &outside);
        }
    }
}

/// §9: agent A calls agent B and holds before B answers; the answer leaves A held until it
/// retrieves the call.
pub fn while_on_hold(flow: &mut Flow<'_>, site: usize) {
    let a = agent(flow, site, &[]);
    let b = agent(flow, site, &[&a]);
    let caller = Caller::Agent(a.clone());
    let seg = flow.new_call(site, CallType::Internal, None, None);
    flow.dialing(seg, &a, &b);
    flow.ringing(seg, &b, &a, None);
    flow.wait(1, 4);
    flow.held(seg, &a, DnRole::Origination, &b);
    flow.wait(1, 6);
    flow.established(seg, &a, DnRole::Origination, &b);
    flow.established(seg, &b, DnRole::Destination, &a);
    flow.wait(2, 30);
    flow.retrieved(seg, &a, DnRole::Origination, &b);
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &b);
}

/// A customer's call that was already answered when the site's log (and its call
/// monitoring) began (call-models.md §18.3): its first events are the agent's EventHeld and
/// EventRetrieved, then the conversation ends as usual.
pub fn mid_call(flow: &mut Flow<'_>, site: usize) {
    let caller = pick_caller(flow, site, 0);
    let seg = start_call(flow, site, &caller);
    flow.joined_mid_call(seg);
    let agent = agent(flow, site, &[]);
    flow.held(seg, &agent, DnRole::Destination, caller.dn());
    flow.wait(5, 60);
    flow.retrieved(seg, &agent, DnRole::Destination, caller.dn());
    flow.set_outcome(seg, "answered");
    end_conversation(flow, seg, &caller, &agent);
}

//! Interactions that cross sites (multi-site.md, recording.md §1.2–2): ISCC transfers between
//! T-Servers (new CallUUID per hop, ConnID kept or new, Inter-Site Links, call history),
//! SIP Server to SIP Server transfers by re-INVITE (CallUUID kept, IS-Link, site 1 stays in
//! the path) and by REFER (CallUUID kept, no IS-Link, site 1 leaves), returns to an earlier
//! site, consultation transfers whose link sits on the consultation, and conferences over
//! three sites.

use callstitch_tlib::{DnRole, Text};

use crate::flow::{ConsultFor, Flow, Leave, Seg};
use crate::scenario::{
    agent, answer, arrive_at_agent, end_conversation, other_site, pick_caller, start_call, Caller,
};

/// A customer's call at `site` answered by an agent (sometimes through a routing point).
fn answered_inbound(flow: &mut Flow<'_>, site: usize) -> (Seg, Caller, Text) {
    let caller = pick_caller(flow, site, 0);
    let seg = start_call(flow, site, &caller);
    let b = agent(flow, site, &[]);
    if flow.rng.percent(50) {
        let point = crate::scenario::routing_point(flow, site);
        flow.route_request(seg, &point, caller.dn());
        flow.wait(1, 8);
        flow.route_used(seg, &point, caller.dn(), &b);
    }
    flow.ringing(seg, &b, caller.dn(), None);
    flow.wait(2, 10);
    answer(flow, seg, &caller, &b);
    flow.talk(15, 150);
    (seg, caller, b)
}

/// Agent `by` on `from` sends the call to site `to` (single-step, over an IS-Link). The
/// agent's recording ends (R2), `from` is handed off and deleted. Returns the call on `to`
/// and the agent there, who has answered.
fn transfer_away(flow: &mut Flow<'_>, from: Seg, caller: &Caller, by: &str, to: usize) -> (Seg, Text) {
    let from_site = flow.site_of(from);
    let crosses_tserver = !(flow.center.sites[from_site].is_sip() && flow.center.sites[to].is_sip());
    let keep_conn = crosses_tserver && flow.rng.percent(flow.shapes.keep_conn_percent);
    flow.stop_recording(from_site, by, "transfer-away");
    flow.stop_recording(from_site, caller.dn(), "transfer-away");
    let remote = flow.center.sites[to].external_routing_point.clone();
    let next = flow.hop_islink(from, to, by, keep_conn);
    flow.released(from, by, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
    flow.mark_last(|event| event.third_party_dn = Some(remote.clone()));
    flow.set_outcome(from, "transferred");
    flow.call_deleted(from, None, None);
    let agent = arrive_at_agent(flow, next, to, caller.dn());
    flow.set_outcome(next, "answered");
    (next, agent)
}

/// An agent transfers a customer's call to another site with ISCC; at least one of the two
/// sites is a T-Server, so the call gets a new CallUUID there.
pub fn iscc_transfer(flow: &mut Flow<'_>, home: usize) {
    let home_is_sip = flow.center.sites[home].is_sip();
    let sites = flow.center.sites.clone();
    let Some(dest) = other_site(flow, &[home], |site| !(home_is_sip && sites[site].is_sip())) else {
        return crate::flows::basic::inbound_agent(flow, home);
    };
    let (seg, caller, b) = answered_inbound(flow, home);
    let (next, c) = transfer_away(flow, seg, &caller, &b, dest);
    end_conversation(flow, next, &caller, &c);
}

/// An agent on one SIP Server transfers the call to another SIP Server. The CallUUID is kept.
/// re-INVITE: an IS-Link joins the two calls and site 1 stays in the signalling path (its
/// call and its customer-side recording last until the end). REFER: no IS-Link, site 1's call
/// ends at the transfer and so does its customer-side recording.
pub fn sip_transfer(flow: &mut Flow<'_>, home: usize, reinvite: bool) {
    let sip = flow.center.sip_sites();
    let home = if sip.contains(&home) { home } else { sip.first().copied().unwrap_or(home) };
    let Some(dest) = other_site(flow, &[home], |site| sip.contains(&site)) else {
        return crate::flows::basic::inbound_agent(flow, home);
    };
    let (seg, caller, b) = answered_inbound(flow, home);
    flow.stop_recording(home, &b, "transfer-away");
    let next = if reinvite {
        let next = flow.hop_islink(seg, dest, &b, false);
        flow.released(seg, &b, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
        next
    } else {
        flow.released(seg, &b, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
        flow.stop_recording(home, caller.dn(), "refer");
        flow.call_deleted(seg, None, None);
        flow.hop_refer(seg, dest)
    };
    flow.set_outcome(seg, "transferred");
    let c = arrive_at_agent(flow, next, dest, caller.dn());
    flow.set_outcome(next, "answered");
    end_conversation(flow, next, &caller, &c);
    if reinvite {
        flow.wait_ms(20, 200);
        flow.stop_recording(home, caller.dn(), "call-end");
        flow.call_deleted(seg, None, None);
    }
}

/// The seed's S1 → S2 → S1 (multi-site.md §2) plus one more hop when there is a third site:
/// the call leaves a T-Server, comes back to it with another new CallUUID (and maybe the
/// same ConnID), and goes on.
pub fn return_trip(flow: &mut Flow<'_>, home: usize) {
    let tservers = flow.center.tserver_sites();
    let home = if tservers.contains(&home) { home } else { tservers.first().copied().unwrap_or(home) };
    let Some(away) = other_site(flow, &[home], |_| true) else {
        return crate::flows::basic::inbound_agent(flow, home);
    };
    let onward = other_site(flow, &[home, away], |_| true);
    let (first, caller, b) = answered_inbound(flow, home);
    let (second, c) = transfer_away(flow, first, &caller, &b, away);
    flow.talk(10, 90);
    let (third, d) = transfer_away(flow, second, &caller, &c, home);
    let (last, last_agent) = match onward {
        Some(site) => {
            flow.talk(10, 90);
            transfer_away(flow, third, &caller, &d, site)
        }
        None => (third, d),
    };
    end_conversation(flow, last, &caller, &last_agent);
}

/// B consults an agent on another site and completes the transfer: the IS-Link is reported
/// on the consultation, which then merges into the main call (RefCallUUID); the link now
/// belongs to the main call, so the interaction is main → remote (multi-site.md §4.2).
pub fn consult_transfer(flow: &mut Flow<'_>, home: usize) {
    let Some(dest) = other_site(flow, &[home], |_| true) else {
        return crate::flows::transfer::two_step_transfer(flow, home);
    };
    let (main, caller, b) = answered_inbound(flow, home);
    flow.held(main, &b, DnRole::Destination, caller.dn());
    let consult = flow.consultation(main, ConsultFor::Transfer);
    let remote = flow.center.sites[dest].external_routing_point.clone();
    flow.dialing(consult, &b, &remote);
    let remote_call = flow.hop_islink(consult, dest, &b, false);
    let c = arrive_at_agent(flow, remote_call, dest, &b);
    flow.established(consult, &b, DnRole::Origination, &remote);
    flow.wait(5, 60);
    flow.stop_recording(flow.site_of(main), &b, "transfer-away");
    flow.released(consult, &b, DnRole::Origination, Some(&remote), Leave::Transferred);
    flow.released(main, &b, DnRole::Destination, Some(caller.dn()), Leave::Transferred);
    flow.set_outcome(consult, "transferred");
    flow.call_deleted(consult, None, Some(main));
    flow.move_links(consult, main);
    flow.set_outcome(main, "transferred");
    flow.set_outcome(remote_call, "answered");
    end_conversation(flow, remote_call, &caller, &c);
    flow.wait_ms(20, 200);
    flow.call_deleted(main, None, None);
}

/// B conferences in an agent on each of two other sites, one after the other: B's call gets
/// two `source` links. The customer (or B) ends the call for everyone.
pub fn conference(flow: &mut Flow<'_>, home: usize) {
    let Some(first) = other_site(flow, &[home], |_| true) else {
        return crate::flows::transfer::single_step_conference(flow, home);
    };
    let Some(second) = other_site(flow, &[home, first], |_| true) else {
        return crate::flows::transfer::single_step_conference(flow, home);
    };
    let (main, caller, b) = answered_inbound(flow, home);
    let mut remotes = Vec::new();
    for site in [first, second] {
        flow.wait(10, 60);
        let remote = flow.center.sites[site].external_routing_point.clone();
        flow.party_added(main, &b, &remote, &b);
        let call = flow.hop_islink(main, site, &b, false);
        let agent = arrive_at_agent(flow, call, site, &b);
        flow.set_outcome(call, "answered");
        remotes.push((call, agent));
    }
    flow.set_outcome(main, "conferenced");
    flow.talk(20, 300);
    let customer_ends = flow.rng.percent(60);
    let leave = if customer_ends { Leave::ByOther } else { Leave::HungUp };
    flow.released(main, &b, DnRole::Destination, Some(caller.dn()), leave);
    let (releaser, who) =
        if customer_ends { (caller.dn().to_string(), "customer") } else { (b.to_string(), "agent") };
    flow.call_deleted(main, Some(&releaser), None);
    flow.ended_by(main, &releaser, who);
    for (call, agent) in remotes {
        flow.released(call, &agent, DnRole::Destination, Some(&b), Leave::ByOther);
        flow.call_deleted(call, None, None);
    }
    let home_site = flow.site_of(main);
    flow.stop_recording(home_site, caller.dn(), "call-end");
}

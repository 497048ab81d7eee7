//! Who released (seed 004, release.md): the five scenarios with ReleasingParty and CtrlParty
//! (`_both`), with ReleasingParty only (`_rp`), and with neither (`_none`); the verdict, its
//! provenance and confidence, and conflicts.

use crate::common;

use callstitch_engine::{
    Confidence, DnPlan, EnderKind, Engine, EngineConfig, Exit as X, FinishedCall, Outcome as O,
    Provenance as P, ReleasedBy,
};
use common::{ended_by, run, single};

/// An unknown verdict and its candidate: (candidate DN, kind, provenance, confidence).
fn candidate(call: &FinishedCall) -> (Option<&str>, EnderKind, P, Confidence) {
    let release = &call.release;
    assert_eq!(
        (release.ended_by.dn.as_deref(), release.ended_by.kind, release.provenance, release.confidence),
        (None, EnderKind::Unknown, P::Unknown, Confidence::None),
        "a guess is never the verdict"
    );
    let candidate = release.candidate.as_ref().expect("the candidate of an unknown verdict");
    assert!(candidate.reason.contains("any order"), "{}", candidate.reason);
    (candidate.ended_by.dn.as_deref(), candidate.ended_by.kind, candidate.provenance, candidate.confidence)
}

fn party_verdict(call: &FinishedCall, dn: &str) -> (ReleasedBy, Option<String>, P) {
    let verdict = call.party(dn).and_then(|party| party.verdict.as_ref()).expect("a party verdict");
    (verdict.released_by, verdict.by.as_ref().map(|by| by.to_string()), verdict.provenance)
}

#[test]
fn normal_release_with_both_mechanisms() {
    let call = single("r1_normal_both.log");
    assert_eq!(call.outcome, O::Answered);
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, false));
    assert_eq!(call.release.ctrl_party_raw.as_deref(), Some("7001"));
    assert_eq!(call.release.outcome, "completed");
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Itself, None, P::CtrlPartyParty));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, Some("7001".into()), P::CtrlPartyParty));
    let a = call.party("7001").unwrap().verdict.as_ref().unwrap();
    assert_eq!(a.releasing_party_raw.as_deref(), Some("1 Local"));
}

#[test]
fn normal_release_with_releasing_party_only() {
    let call = single("r1_normal_rp.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, Some("7001".into()), P::ReleasingParty));
    assert!(call.release.ctrl_party_raw.is_none());
}

#[test]
fn normal_release_with_neither_is_unknown_with_the_first_releaser_as_candidate() {
    let call = single("r1_normal_none.log");
    assert_eq!(candidate(&call), (Some("7001"), EnderKind::Agent, P::InferredOrder, Confidence::Low));
    assert!(!call.release.conflict);
    assert_eq!(call.release.evidence.len(), 1, "the event the candidate was read from");
    for dn in ["7001", "7002"] {
        let verdict = call.party(dn).unwrap().verdict.as_ref().unwrap();
        assert_eq!(
            (verdict.released_by, verdict.provenance, verdict.confidence),
            (ReleasedBy::Unknown, P::Unknown, Confidence::None)
        );
        let candidate = verdict.candidate.as_ref().expect("a candidate");
        assert_eq!((candidate.provenance, candidate.confidence), (P::InferredOrder, Confidence::Low));
        assert!(candidate.reason.starts_with("no CtrlParty, no ReleasingParty"), "{}", candidate.reason);
    }
    let a = call.party("7001").unwrap().verdict.as_ref().unwrap().candidate.as_ref().unwrap();
    assert_eq!((a.released_by, a.by.as_deref()), (ReleasedBy::Itself, None));
    let b = call.party("7002").unwrap().verdict.as_ref().unwrap();
    let messages: Vec<&str> = b.evidence.iter().map(|event| event.message.name()).collect();
    assert_eq!(messages, ["EventReleased", "EventReleased"], "A's release, read first, and B's own");
    let b = b.candidate.as_ref().unwrap();
    assert_eq!((b.released_by, b.by.as_deref()), (ReleasedBy::Other, Some("7001")));
}

#[test]
fn a_party_that_left_by_transfer_gets_no_candidate_from_the_order_of_the_last_releases() {
    let call = single("x11_single_step_transfer_no_releasing_party.log");
    let b = call.party("7002").unwrap().verdict.as_ref().unwrap();
    assert_eq!((b.released_by, b.provenance, b.counts_for_call), (ReleasedBy::Unknown, P::Unknown, false));
    assert!(b.candidate.is_none(), "B is not one of the last two releases: {:?}", b.candidate);
    assert_eq!(candidate(&call), (Some("7003"), EnderKind::Agent, P::InferredOrder, Confidence::Low));
}

#[test]
fn releasing_party_unknown_without_ctrl_party_is_unknown_with_the_candidate_and_its_reason() {
    let call = single("r8_releasing_party_unknown.log");
    assert_eq!(call.release.outcome, "completed");
    assert_eq!(candidate(&call), (Some("7002"), EnderKind::Agent, P::InferredOrder, Confidence::Low));
    let reason = "no CtrlParty, ReleasingParty '3 Unknown'; #4101 EventReleased of 7002 at SIPServer1 came \
                  first of the last releases in the server's sequence, but the events of one step may arrive \
                  in any order, so the order does not say who released";
    assert_eq!(call.release.candidate.as_ref().unwrap().reason, reason);
    let a = call.party("7001").unwrap().verdict.as_ref().unwrap();
    assert_eq!(
        (a.released_by, a.provenance, a.releasing_party_raw.as_deref()),
        (ReleasedBy::Unknown, P::Unknown, Some("3 Unknown"))
    );
    let candidate = a.candidate.as_ref().unwrap();
    assert_eq!((candidate.released_by, candidate.by.as_deref()), (ReleasedBy::Other, Some("7002")));
    assert_eq!(candidate.reason, reason, "the same evidence read from 7001's side");
}

#[test]
fn abnormal_release_with_both_mechanisms() {
    let call = single("r2_abnormal_both.log");
    assert_eq!(call.outcome, O::AbandonedWhileRinging);
    assert_eq!(call.release.outcome, "abandoned");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, false));
    assert_eq!(party_verdict(&call, "7002").0, ReleasedBy::Other);
}

#[test]
fn abnormal_release_with_releasing_party_only() {
    let call = single("r2_abnormal_rp.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
}

#[test]
fn abnormal_release_with_neither_uses_the_abandon_pattern() {
    let call = single("r2_abnormal_none.log");
    assert_eq!(
        ended_by(&call),
        (Some("7001"), EnderKind::Agent, P::AbandonPattern, Confidence::Medium, false)
    );
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, Some("7001".into()), P::AbandonPattern));
}

#[test]
fn release_from_a_conference_with_both_mechanisms() {
    let call = single("r3_conference_both.log");
    assert_eq!(call.party("7002").unwrap().exit, Some(X::Released), "B hung up itself (DeletedBy B)");
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Itself, None, P::CtrlPartyParty));
    assert_eq!(ended_by(&call), (Some("7003"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, false));
}

#[test]
fn release_from_a_conference_with_releasing_party_only() {
    let call = single("r3_conference_rp.log");
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Itself, None, P::ReleasingParty));
    assert_eq!(ended_by(&call), (Some("7003"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
}

#[test]
fn release_from_a_conference_with_neither_uses_deleted_by() {
    let call = single("r3_conference_none.log");
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Itself, None, P::DeletedBy));
    let verdict = call.party("7002").unwrap().verdict.as_ref().unwrap();
    assert_eq!(verdict.confidence, Confidence::High);
    assert_eq!(
        candidate(&call),
        (Some("7003"), EnderKind::Agent, P::InferredOrder, Confidence::Low),
        "the call's end itself has only the order of the last two releases (B left the conference before)"
    );
}

#[test]
fn rejection_of_an_alerting_call_with_both_mechanisms() {
    let call = single("r4_rejection_both.log");
    assert_eq!(call.outcome, O::Rejected);
    assert_eq!(call.release.outcome, "rejected");
    assert_eq!(ended_by(&call), (Some("7002"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, false));
}

#[test]
fn rejection_with_releasing_party_only() {
    let call = single("r4_rejection_rp.log");
    assert_eq!(ended_by(&call), (Some("7002"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Other, Some("7002".into()), P::ReleasingParty));
}

#[test]
fn rejection_with_neither_is_unknown_with_the_rejecting_party_as_candidate() {
    let call = single("r4_rejection_none.log");
    assert_eq!(call.outcome, O::Rejected);
    assert_eq!(candidate(&call), (Some("7002"), EnderKind::Agent, P::InferredOrder, Confidence::Low));
}

#[test]
fn busy_destination_with_both_mechanisms() {
    let call = single("r5_busy_both.log");
    assert_eq!(call.outcome, O::DestinationBusy);
    assert_eq!(call.release.outcome, "failed-busy");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, false));
}

#[test]
fn busy_destination_with_releasing_party_only() {
    let call = single("r5_busy_rp.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
}

#[test]
fn busy_destination_with_neither_is_unknown() {
    let call = single("r5_busy_none.log");
    assert_eq!(call.release.outcome, "failed-busy");
    assert_eq!(candidate(&call), (Some("7001"), EnderKind::Agent, P::InferredOrder, Confidence::Low));
}

#[test]
fn both_parties_saying_remote_is_a_conflict() {
    let call = single("r6_conflict.log");
    let (_, _, provenance, _, conflict) = ended_by(&call);
    assert_eq!(provenance, P::ReleasingParty);
    assert!(conflict, "A says B released, B says A released");
    assert_eq!(call.release.evidence.len(), 2);
}

#[test]
fn a_consultation_abandoned_by_the_agent_is_not_a_customer_abandon() {
    let (calls, _) = run("r7_abandoned_consultation.log");
    let consult = calls.iter().find(|call| call.consult_of.is_some()).expect("the consultation");
    assert_eq!(consult.outcome, O::AbandonedConsultation);
    assert_eq!(consult.release.ended_by.dn.as_deref(), Some("7002"));
    assert_eq!(consult.release.ended_by.kind, EnderKind::Agent);
    let main = calls.iter().find(|call| call.consult_of.is_none()).expect("the main call");
    assert_eq!(main.outcome, O::Answered);
    assert_eq!(main.release.ended_by.dn.as_deref(), Some("+15551230000"));
    assert_eq!(
        main.release.ended_by.kind,
        EnderKind::Customer,
        "2 Remote on the agent's release names the customer"
    );
}

// ---------------------------------------------------------------------------------------
// Each rung alone, and rungs that disagree (release.md §3)

#[test]
fn rung_2_ctrl_party_on_the_parties_deletions_alone() {
    let call = single("l2_ctrl_party_party.log");
    assert_eq!(
        ended_by(&call),
        (Some("7002"), EnderKind::Agent, P::CtrlPartyParty, Confidence::High, false),
        "A's release came first, but both deletions name B; the order is only low and never conflicts"
    );
    assert!(call.release.ctrl_party_raw.is_none(), "EventCallDeleted carried no CtrlParty");
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Other, Some("7002".into()), P::CtrlPartyParty));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Itself, None, P::CtrlPartyParty));
    let messages: Vec<&str> = call.release.evidence.iter().map(|event| event.message.name()).collect();
    assert_eq!(messages, ["EventCallPartyDeleted", "EventCallPartyDeleted", "EventReleased"]);
}

#[test]
fn rung_2_deletions_naming_different_parties_are_a_conflict() {
    let call = single("l2_ctrl_party_party_conflict.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::CtrlPartyParty, Confidence::High, true));
    let messages: Vec<&str> = call.release.evidence.iter().map(|event| event.message.name()).collect();
    assert_eq!(messages, ["EventCallPartyDeleted", "EventCallPartyDeleted", "EventReleased"]);
    let a = call.party("7001").unwrap().verdict.as_ref().unwrap();
    assert!(!a.conflict, "each party's own deletion is consistent");
}

#[test]
fn rung_3_remote_without_other_dn_is_the_other_party_that_released() {
    let call = single("l3_remote_without_other_dn.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, Some("7001".into()), P::ReleasingParty));
}

#[test]
fn rung_3_remote_without_other_dn_is_the_customer_the_earlier_events_named() {
    let call = single("l3_remote_to_the_unmonitored_customer.log");
    assert_eq!(
        ended_by(&call),
        (Some("+15551230000"), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );
}

#[test]
fn a_releaser_named_only_as_other_dn_is_the_customer_only_when_something_says_so() {
    let call = single("l3_remote_to_an_unmonitored_dn.log");
    assert_eq!(
        ended_by(&call),
        (Some("5034"), EnderKind::Unknown, P::ReleasingParty, Confidence::High, false)
    );
    assert!(call.release.ended_by.resolved, "the DN is known, its kind is not");
    // A deployment that knows its numbering plan: 5xxx are its own DNs (or outside numbers).
    let events = common::events("l3_remote_to_an_unmonitored_dn.log");
    for (plan, kind) in [
        (DnPlan { internal: vec!["5".into()], external: vec![] }, EnderKind::Agent),
        (DnPlan { internal: vec![], external: vec!["5".into()] }, EnderKind::Customer),
    ] {
        let config = EngineConfig { dn_plan: plan, ..EngineConfig::default() };
        let (calls, _) = Engine::run(config, &events);
        assert_eq!(calls[0].release.ended_by.kind, kind);
    }
}

#[test]
fn rung_5_request_clear_call_is_the_application() {
    let call = single("l5_clear_call.log");
    assert_eq!(call.release.ended_by.kind, EnderKind::Application);
    assert_eq!(ended_by(&call), (None, EnderKind::Application, P::Request, Confidence::Medium, false));
    assert_eq!(call.release.evidence[0].message.name(), "RequestClearCall");
    for dn in ["7001", "7002"] {
        assert_eq!(party_verdict(&call, dn), (ReleasedBy::Other, None, P::Request), "{dn}");
    }
}

#[test]
fn rung_5_request_release_call_names_the_requester() {
    let call = single("l5_release_call.log");
    assert_eq!(ended_by(&call), (Some("7002"), EnderKind::Agent, P::Request, Confidence::Medium, false));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Itself, None, P::Request));
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Other, Some("7002".into()), P::Request));
}

#[test]
fn rung_5_request_delete_from_conference_names_who_removed_the_party() {
    let call = single("l5_delete_from_conference.log");
    let b = call.party("7002").unwrap();
    assert_eq!(b.exit, Some(X::RemovedFromConference), "removed by 7001's request, not by hanging up");
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, Some("7001".into()), P::Request));
    assert!(!b.verdict.as_ref().unwrap().counts_for_call);
    assert_eq!(call.release.provenance, P::Unknown, "the end of the call itself has only the order");
}

#[test]
fn rung_6_call_state_remote_release_is_the_other_side() {
    let call = single("l6_remote_release.log");
    assert_eq!(ended_by(&call), (Some("7002"), EnderKind::Agent, P::CallState, Confidence::Medium, false));
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Other, Some("7002".into()), P::CallState));
}

#[test]
fn rung_6_call_state_abandoned_is_the_caller() {
    let call = single("l6_abandoned.log");
    assert_eq!(call.outcome, O::AbandonedInQueue);
    assert_eq!(
        ended_by(&call),
        (Some("7001"), EnderKind::Agent, P::CallState, Confidence::Medium, false),
        "CallState Abandoned on the caller's release comes before the abandon pattern (rung 7), which agrees"
    );
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Itself, None, P::CallState));
}

#[test]
fn rung_6_call_state_cleared_is_the_network() {
    let call = single("l6_cleared.log");
    assert_eq!(ended_by(&call), (None, EnderKind::Network, P::CallState, Confidence::Medium, false));
    assert_eq!(party_verdict(&call, "7002"), (ReleasedBy::Other, None, P::CallState));
}

#[test]
fn a_high_rung_disagreeing_with_the_deciding_one_sets_conflict() {
    let call = single("l_conflict_high.log");
    assert_eq!(
        ended_by(&call),
        (Some("7002"), EnderKind::Agent, P::CtrlPartyCall, Confidence::High, true),
        "CtrlParty names B, ReleasingParty says A: the higher rung's answer, flagged"
    );
    let messages: Vec<&str> = call.release.evidence.iter().map(|event| event.message.name()).collect();
    assert_eq!(messages, ["EventCallDeleted", "EventReleased", "EventReleased"], "both pieces of evidence");
}

#[test]
fn a_medium_rung_disagreeing_with_the_deciding_one_sets_conflict() {
    let call = single("l_conflict_medium.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::ReleasingParty, Confidence::High, true));
    let a = call.party("7001").unwrap().verdict.as_ref().unwrap();
    assert_eq!((a.released_by, a.provenance, a.conflict), (ReleasedBy::Itself, P::ReleasingParty, true));
}

#[test]
fn a_low_rung_disagreeing_never_sets_conflict() {
    // A's release comes first (the order says A), ReleasingParty says C released.
    let (calls, _) = run("t03_reordered_acd.log");
    let call = &calls[0];
    assert_eq!(ended_by(call), (Some("7003"), EnderKind::Agent, P::ReleasingParty, Confidence::High, false));
    assert!(call.release.candidate.is_none(), "a decided verdict has no candidate");
}

//! Who released (seed 004, release.md): the five scenarios with ReleasingParty and CtrlParty
//! (`_both`), with ReleasingParty only (`_rp`), and with neither (`_none`); the verdict, its
//! provenance and confidence, and conflicts.

mod common;

use callstitch_engine::{
    Confidence, EnderKind, Exit as X, FinishedCall, Outcome as O, Provenance as P, ReleasedBy,
};
use common::{run, single};

fn ended_by(call: &FinishedCall) -> (Option<&str>, EnderKind, P, Confidence, bool) {
    let release = &call.release;
    (
        release.ended_by.dn.as_deref(),
        release.ended_by.kind,
        release.provenance,
        release.confidence,
        release.conflict,
    )
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
fn normal_release_with_neither_is_inferred_from_order() {
    let call = single("r1_normal_none.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::InferredOrder, Confidence::Low, false));
    assert_eq!(party_verdict(&call, "7001"), (ReleasedBy::Itself, None, P::InferredOrder));
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
    assert_eq!(ended_by(&call).2, P::InferredOrder, "the call's end itself has only the order");
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
fn rejection_with_neither_is_inferred_from_order() {
    let call = single("r4_rejection_none.log");
    assert_eq!(call.outcome, O::Rejected);
    assert_eq!(ended_by(&call), (Some("7002"), EnderKind::Agent, P::InferredOrder, Confidence::Low, false));
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
fn busy_destination_with_neither() {
    let call = single("r5_busy_none.log");
    assert_eq!(ended_by(&call), (Some("7001"), EnderKind::Agent, P::InferredOrder, Confidence::Low, false));
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

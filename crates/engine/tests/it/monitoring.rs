//! Calls whose customer is seen only through call monitoring, or only as the OtherDN of the
//! monitored DNs' events (issue 17): party kinds from what the events say, conference leavers
//! who never end the call, and calls whose log starts mid-call. Each fixture of
//! fixtures.spec is read in its variants: `_both` (call monitoring with CtrlParty, and
//! ReleasingParty), `_mon` (call monitoring without CtrlParty), `_rp` (DN-based events only)
//! and `_none` (DN-based events without ReleasingParty).

use crate::common;

use callstitch_engine::{
    CallModel as M, Confidence, EnderKind, Exit as X, Feature as F, FinishedCall, Outcome as O, PartyKind,
    Provenance as P, ReleasedBy,
};
use common::{ended_by, expect, single};

const CUSTOMER: &str = "+15551230000";

/// (DN, kind) of every party, in order of appearance.
fn kinds(call: &FinishedCall) -> Vec<(&str, PartyKind)> {
    call.parties.iter().map(|party| (party.dn.as_str(), party.kind)).collect()
}

fn candidate(call: &FinishedCall) -> (Option<&str>, EnderKind, P) {
    assert_eq!(call.release.ended_by.kind, EnderKind::Unknown, "{}", call.key);
    let candidate = call.release.candidate.as_ref().expect("a candidate");
    (candidate.ended_by.dn.as_deref(), candidate.ended_by.kind, candidate.provenance)
}

#[test]
fn a_customer_abandoning_in_queue_seen_through_call_monitoring_is_the_customer() {
    let both = single("c1_abandon_in_queue_both.log");
    expect(&both, M::Acd, true, O::AbandonedInQueue, &[(CUSTOMER, X::Released), ("8000", X::Abandoned)]);
    assert_eq!(kinds(&both), [(CUSTOMER, PartyKind::External), ("8000", PartyKind::Queue)]);
    assert_eq!(
        ended_by(&both),
        (Some(CUSTOMER), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
    assert_eq!(both.release.outcome, "abandoned");

    let monitored = single("c1_abandon_in_queue_mon.log");
    assert_eq!(kinds(&monitored), [(CUSTOMER, PartyKind::External), ("8000", PartyKind::Queue)]);
    assert_eq!(
        ended_by(&monitored),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false),
        "2 Remote on the queue's EventAbandoned names the customer, a party of the call"
    );
    let customer = monitored.party(CUSTOMER).unwrap().verdict.as_ref().unwrap();
    assert!(customer.counts_for_call);

    let dn_based = single("c1_abandon_in_queue_rp.log");
    expect(&dn_based, M::Acd, true, O::AbandonedInQueue, &[("8000", X::Abandoned)]);
    assert_eq!(
        ended_by(&dn_based),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );

    let neither = single("c1_abandon_in_queue_none.log");
    assert_eq!(
        ended_by(&neither),
        (Some(CUSTOMER), EnderKind::Customer, P::AbandonPattern, Confidence::Medium, false)
    );
}

#[test]
fn a_conference_member_who_hangs_up_leaves_it_and_does_not_end_the_call() {
    for variant in ["both", "mon", "rp", "none"] {
        let call = single(&format!("c2_conference_leaver_{variant}.log"));
        let leaver = call.party("7002").unwrap();
        assert_eq!(leaver.exit, Some(X::Released), "{variant}");
        assert!(leaver.left_conference(), "{variant}");
        let verdict_7002 = leaver.verdict.as_ref().unwrap();
        assert!(!verdict_7002.counts_for_call, "{variant}: leaving a conference never ends the call");
        assert_eq!(verdict_7002.released_by, ReleasedBy::Itself, "{variant}");
        assert_eq!(call.outcome, O::Conferenced, "{variant}");
        assert!(call.features.contains(&F::SingleStepConference), "{variant}");
        assert!(call.features.contains(&F::ReleaseFromConference), "{variant}");
        assert!(call.conformant, "{variant}: {:?}", call.deviations);
        assert!(!call.release.conflict, "{variant}");
    }
    let expected_leaver_provenance = [
        ("both", P::CtrlPartyParty),
        ("mon", P::ReleasingParty),
        ("rp", P::ReleasingParty),
        ("none", P::DeletedBy),
    ];
    for (variant, provenance) in expected_leaver_provenance {
        let call = single(&format!("c2_conference_leaver_{variant}.log"));
        assert_eq!(call.party("7002").unwrap().verdict.as_ref().unwrap().provenance, provenance, "{variant}");
    }

    let both = single("c2_conference_leaver_both.log");
    assert_eq!(
        kinds(&both),
        [(CUSTOMER, PartyKind::External), ("7002", PartyKind::Agent), ("7003", PartyKind::Agent)]
    );
    assert_eq!(
        ended_by(&both),
        (Some(CUSTOMER), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
    let monitored = single("c2_conference_leaver_mon.log");
    assert_eq!(kinds(&monitored), kinds(&both));
    assert_eq!(
        ended_by(&monitored),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );
    let dn_based = single("c2_conference_leaver_rp.log");
    assert_eq!(kinds(&dn_based), [("7002", PartyKind::Agent), ("7003", PartyKind::Agent)]);
    assert_eq!(
        ended_by(&dn_based),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );
    assert_eq!(dn_based.release.evidence.len(), 1, "only 7003's release: the leaver's is no evidence");
    let neither = single("c2_conference_leaver_none.log");
    assert_eq!(candidate(&neither), (Some("7003"), EnderKind::Agent, P::InferredOrder));
}

#[test]
fn a_conference_leaver_is_a_leaver_without_event_party_deleted() {
    let call = single("c2_conference_leaver_no_party_deleted.log");
    let leaver = call.party("7002").unwrap();
    assert!(leaver.left_conference(), "7003 talked on with the customer for a minute");
    assert!(!leaver.verdict.as_ref().unwrap().counts_for_call);
    assert!(!call.party("7003").unwrap().left_conference());
    assert_eq!(
        ended_by(&call),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );
}

#[test]
fn an_inbound_call_seen_through_call_monitoring_only() {
    for name in ["c3_call_based_only.log", "c3_call_based_only_mon.log"] {
        let call = single(name);
        expect(&call, M::CallBasedOnly, true, O::Answered, &[(CUSTOMER, X::Released), ("7002", X::Released)]);
        assert_eq!(kinds(&call), [(CUSTOMER, PartyKind::External), ("7002", PartyKind::Agent)], "{name}");
    }
    let with_ctrl = single("c3_call_based_only.log");
    assert_eq!(
        ended_by(&with_ctrl),
        (Some(CUSTOMER), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
    let customer = with_ctrl.party(CUSTOMER).unwrap().verdict.as_ref().unwrap();
    assert_eq!((customer.released_by, customer.provenance), (ReleasedBy::Itself, P::CtrlPartyParty));
    let agent = with_ctrl.party("7002").unwrap().verdict.as_ref().unwrap();
    assert_eq!(agent.by.as_deref(), Some(CUSTOMER));
    assert_eq!(
        candidate(&single("c3_call_based_only_mon.log")),
        (Some(CUSTOMER), EnderKind::Customer, P::InferredOrder)
    );
}

#[test]
fn an_outbound_call_seen_through_call_monitoring_only_makes_its_dnis_the_customer() {
    let call = single("c3_call_based_outbound.log");
    assert_eq!(call.model, M::CallBasedOnly);
    assert_eq!(kinds(&call), [("7002", PartyKind::Agent), ("5551239999", PartyKind::External)]);
    assert_eq!(
        ended_by(&call),
        (Some("5551239999"), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
}

#[test]
fn a_call_whose_log_starts_mid_call_was_answered() {
    for variant in ["both", "mon", "rp", "none"] {
        let call = single(&format!("c4_mid_call_{variant}.log"));
        expect(&call, M::MidCall, true, O::Answered, &[("7002", X::Released)]);
        assert_eq!(call.release.outcome, "completed", "{variant}: it talked, it completed");
        let agent = call.party("7002").unwrap();
        assert_eq!(agent.kind, PartyKind::Agent);
        assert_eq!((agent.times.talking_us, agent.times.held_us), (38_000_000, 12_000_000), "{variant}");
        assert!(agent.connected_time.is_some(), "{variant}: connected since its first event");
    }
    let both = single("c4_mid_call_both.log");
    assert_eq!(
        ended_by(&both),
        (Some(CUSTOMER), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
    for variant in ["mon", "rp"] {
        let call = single(&format!("c4_mid_call_{variant}.log"));
        assert_eq!(
            ended_by(&call),
            (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false),
            "{variant}"
        );
    }
    assert_eq!(
        candidate(&single("c4_mid_call_none.log")),
        (Some("7002"), EnderKind::Agent, P::InferredOrder)
    );
}

#[test]
fn a_member_named_by_event_party_deleted_left_the_conference_even_when_the_log_missed_its_start() {
    let call = single("c2_conference_leaver_mid_call.log");
    assert_eq!(call.model, M::MidCall);
    let leaver = call.party("7002").unwrap();
    assert!(leaver.left_conference(), "EventPartyDeleted at the remaining member names it");
    assert!(!leaver.verdict.as_ref().unwrap().counts_for_call);
    assert!(call.features.contains(&F::ReleaseFromConference));
    assert_eq!(
        ended_by(&call),
        (Some(CUSTOMER), EnderKind::Customer, P::ReleasingParty, Confidence::High, false)
    );
}

#[test]
fn a_member_leaving_a_conference_seen_through_call_monitoring_only() {
    for name in ["c5_call_based_conference.log", "c5_call_based_conference_mon.log"] {
        let call = single(name);
        assert_eq!(call.model, M::CallBasedOnly, "{name}");
        assert_eq!(
            kinds(&call),
            [(CUSTOMER, PartyKind::External), ("7002", PartyKind::Agent), ("7003", PartyKind::Agent)]
        );
        let leaver = call.party("7002").unwrap();
        assert!(leaver.left_conference(), "{name}: the customer and 7003 talked on");
        assert!(!leaver.verdict.as_ref().unwrap().counts_for_call, "{name}");
        assert!(!call.party("7003").unwrap().left_conference(), "{name}");
        assert!(call.features.contains(&F::ReleaseFromConference), "{name}");
    }
    let call = single("c5_call_based_conference.log");
    assert_eq!(
        ended_by(&call),
        (Some(CUSTOMER), EnderKind::Customer, P::CtrlPartyCall, Confidence::High, false)
    );
}

//! The models beyond seed 001 (call-models.md §10–17): hold/retrieve, single-step and
//! two-step transfer (completed before and after answer), single-step and two-step
//! conference, release from a conference, and the call-based (monitoring) view.

use crate::common;

use callstitch_engine::{CallModel as M, EndReason, Exit as X, Feature as F, Outcome as O, PartyState};
use common::{by_uuid, expect, run};

#[test]
fn hold_retrieve_with_a_consultation_on_its_own_connid() {
    let (calls, _) = run("x10_hold_retrieve.log");
    assert_eq!(calls.len(), 2);
    let main = by_uuid(&calls, "X10");
    expect(main, M::InternalInbound, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    assert_eq!(main.features, vec![F::HoldRetrieve]);
    assert_eq!(main.party("7002").unwrap().times.held_us, 22_000_000);
    let consult = by_uuid(&calls, "X10C");
    expect(consult, M::InternalInbound, true, O::Answered, &[("7002", X::Released), ("7003", X::Released)]);
    assert_eq!(consult.features, vec![F::Consultation]);
    let pointer = consult.consult_of.as_ref().expect("the consultation names its main call");
    assert_eq!(pointer.call_uuid, main.call_uuid);
    assert_eq!(pointer.via, "PreviousConnID");
    assert!(consult.merged_into.is_none());
}

#[test]
fn single_step_transfer_keeps_the_connid_and_b_leaves_by_transfer() {
    let (calls, _) = run("x11_single_step_transfer.log");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    expect(
        call,
        M::InternalInbound,
        true,
        O::Transferred,
        &[("7001", X::Released), ("7002", X::LeftByTransfer), ("7003", X::Released)],
    );
    assert_eq!(call.features, vec![F::SingleStepTransfer]);
    let b = call.party("7002").unwrap().verdict.as_ref().unwrap();
    assert!(!b.counts_for_call, "leaving by transfer does not end the call");
    assert_eq!(call.release.ended_by.dn.as_deref(), Some("7001"), "B's 1 Local does not make B the releaser");
}

#[test]
fn two_step_transfer_after_answer_merges_the_consultation_into_the_main_call() {
    let (calls, _) = run("x12_two_step_after_answer.log");
    assert_eq!(calls.len(), 2, "main and consultation");
    let main = by_uuid(&calls, "X12");
    expect(
        main,
        M::InternalInbound,
        true,
        O::Transferred,
        &[("7001", X::Released), ("7002", X::LeftByTransfer), ("7003", X::Released)],
    );
    assert_eq!(main.features, vec![F::HoldRetrieve, F::TwoStepTransferAfterAnswer]);
    let c = main.party("7003").unwrap();
    assert_eq!(c.moved_from.map(|conn| conn.to_string()).as_deref(), Some("006e02a600000014"));
    assert_eq!(main.release.ended_by.dn.as_deref(), Some("7001"));

    let consult = by_uuid(&calls, "X12C");
    expect(
        consult,
        M::InternalInbound,
        true,
        O::Transferred,
        &[("7002", X::LeftByTransfer), ("7003", X::Moved)],
    );
    assert_eq!(consult.end_reason, EndReason::Merged);
    assert_eq!(consult.merged_into.as_ref().unwrap().call_uuid, main.call_uuid, "ConnID 20 merged into 19");
    assert_eq!(consult.consult_of.as_ref().unwrap().via, "TransferConnID");
    assert!(consult.features.contains(&F::MergedByTransfer));
}

#[test]
fn two_step_transfer_before_answer_moves_a_ringing_party() {
    let (calls, _) = run("x12_two_step_before_answer.log");
    let main = by_uuid(&calls, "X12B");
    expect(
        main,
        M::InternalInbound,
        true,
        O::Transferred,
        &[("7001", X::Released), ("7002", X::LeftByTransfer), ("7003", X::Released)],
    );
    assert!(main.features.contains(&F::TwoStepTransferBeforeAnswer));
    let c = main.party("7003").unwrap();
    assert_eq!(c.times.ringing_us, 4_000_000, "still alerting on the main call until it answers");
    let consult = by_uuid(&calls, "X12BC");
    assert_eq!(consult.end_reason, EndReason::Merged);
    assert_eq!(consult.party("7003").unwrap().exit, Some(X::Moved));
}

#[test]
fn single_step_conference_then_the_added_party_leaves() {
    let (calls, _) = run("x13_single_step_conference.log");
    let call = &calls[0];
    expect(
        call,
        M::InternalInbound,
        true,
        O::Conferenced,
        &[("7001", X::Released), ("7002", X::Released), ("7003", X::Released)],
    );
    assert_eq!(call.features, vec![F::SingleStepConference, F::ReleaseFromConference]);
}

#[test]
fn two_step_conference_merges_the_consultation_by_conference() {
    let (calls, _) = run("x14_two_step_conference.log");
    assert_eq!(calls.len(), 2);
    let main = by_uuid(&calls, "X14");
    expect(
        main,
        M::InternalInbound,
        true,
        O::Conferenced,
        &[("7001", X::Released), ("7002", X::Released), ("7003", X::Released)],
    );
    assert!(main.features.contains(&F::TwoStepConference));
    assert!(main.features.contains(&F::ReleaseFromConference));
    let consult = by_uuid(&calls, "X14C");
    expect(
        consult,
        M::InternalInbound,
        true,
        O::Conferenced,
        &[("7002", X::LeftByConference), ("7003", X::Moved)],
    );
    assert_eq!(consult.consult_of.as_ref().unwrap().via, "ConferenceConnID");
    assert!(consult.features.contains(&F::MergedByConference));
}

#[test]
fn a_party_removed_from_a_conference_by_another_member() {
    let (calls, _) = run("x15_removed_from_conference.log");
    let call = &calls[0];
    expect(
        call,
        M::InternalInbound,
        true,
        O::Conferenced,
        &[("7001", X::Released), ("7002", X::RemovedFromConference), ("7003", X::Released)],
    );
    let b = call.party("7002").unwrap().verdict.as_ref().unwrap();
    assert_eq!(b.by.as_deref(), Some("7001"), "DeletedBy A (with 2 Remote from B's own release)");
}

#[test]
fn call_based_events_only() {
    let (calls, _) = run("x17_call_based.log");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    expect(call, M::CallBasedOnly, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    assert_eq!(call.end_reason, EndReason::CallDeleted);
    assert_eq!(call.ani.as_deref(), Some("7001"));
    assert_eq!(call.release.ended_by.dn.as_deref(), Some("7001"));
    assert_eq!(call.release.provenance.label(), "ctrl-party.call");
}

#[test]
fn call_based_two_step_transfer_moves_c_and_points_v_to_u() {
    let (calls, _) = run("x17_call_based_transfer.log");
    assert_eq!(calls.len(), 2);
    let u = by_uuid(&calls, "X17U");
    let v = by_uuid(&calls, "X17V");
    assert_eq!(v.merged_into.as_ref().unwrap().call_uuid, u.call_uuid);
    assert_eq!(v.ref_call_uuid, u.call_uuid, "RefCallUUID on EventCallDeleted");
    assert_eq!(v.consult_of.as_ref().unwrap().via, "OrigCallUUID");
    assert_eq!(v.party("7003").unwrap().exit, Some(X::Moved));
    let c = u.party("7003").unwrap();
    assert_eq!(c.state, PartyState::Null);
    assert_eq!(u.outcome, O::Transferred);
    assert_eq!(u.release.ended_by.dn.as_deref(), Some("7003"));
}

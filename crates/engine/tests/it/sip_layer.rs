//! Calls rebuilt from the SIP layer of SIP Server logs (no T-Library records): the real log's
//! seven calls and the hand-written excerpts (fixtures/sip-layer/README.md), through the
//! engine: parties, their exits and times, the outcome, and who ended the call with the `sip`
//! provenance; and where the `sip` rung stands in the ladder.

use crate::common;

use common::ended_by;
use std::path::PathBuf;

use callstitch_engine::{
    CallModel, Confidence, EnderKind, Engine, EngineConfig, Exit, Feature, FinishedCall, Outcome, Provenance,
    ReleasedBy,
};
use callstitch_tlib::siplog::SipLogReader;
use callstitch_tlib::tlog::ReaderOptions;
use callstitch_tlib::{Event, EventProvenance, KvList, Message, SipEnd, SipEndKind};

fn sip_events(name: &str) -> Vec<Event> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(name);
    let mut reader = SipLogReader::open(&path, ReaderOptions::default()).expect("fixture opens");
    let events: Vec<Event> = reader.by_ref().map(|event| event.expect("no I/O error")).collect();
    assert_eq!(reader.stats().problem_count(), 0, "{name}: {:?}", reader.take_problems());
    events
}

fn calls(name: &str) -> Vec<FinishedCall> {
    Engine::run(EngineConfig::default(), &sip_events(name)).0
}

/// (dn, exit, released_by, by, provenance) of each party, in order.
fn party_verdicts(call: &FinishedCall) -> Vec<(String, Exit, ReleasedBy, Option<String>, Provenance)> {
    call.parties
        .iter()
        .map(|party| {
            let verdict = party.verdict.as_ref().expect("every party left by a release or a transfer");
            (
                party.dn.to_string(),
                party.exit.expect("an exit"),
                verdict.released_by,
                verdict.by.as_ref().map(|by| by.to_string()),
                verdict.provenance,
            )
        })
        .collect()
}

#[test]
fn the_real_log_six_rejections_by_1002_and_one_call_cleared_after_a_timeout() {
    let calls = calls("real-world/sipserver-SIP_P-001.20260202_135459_850.log");
    let keys: Vec<&str> = calls.iter().map(|call| call.key.as_str()).collect();
    assert_eq!(keys, (1..=7).map(|n| format!("TTL7J9EM750GP936CFL0EOACN800000{n}")).collect::<Vec<_>>());
    for call in &calls {
        assert_eq!(call.provenance, EventProvenance::SipLayer);
        assert_eq!(call.model, CallModel::CallBasedOnly);
        assert!(call.conformant && call.complete, "{}", call.key);
        let roles: Vec<(&str, String)> = call
            .parties
            .iter()
            .map(|party| {
                (party.dn.as_str(), party.role.as_ref().map(ToString::to_string).unwrap_or_default())
            })
            .collect();
        assert_eq!(roles, [("1003", "Origination".to_string()), ("1002", "Destination".to_string())]);
        if call.key.ends_with('2') {
            continue;
        }
        assert_eq!(call.outcome, Outcome::Rejected, "{}", call.key);
        assert_eq!(call.release.outcome, "rejected");
        assert_eq!(
            ended_by(call),
            (Some("1002"), EnderKind::Agent, Provenance::Sip, Confidence::Medium, false)
        );
        let end = call.sip_end.as_ref().expect("the SIP end");
        assert_eq!(
            (end.kind, end.detail.as_deref(), end.reason.as_deref()),
            (SipEndKind::Rejected, Some("403 Forbidden"), Some("Q.850;cause=21"))
        );
        assert_eq!(
            party_verdicts(call),
            [
                ("1003".into(), Exit::Released, ReleasedBy::Other, Some("1002".into()), Provenance::Sip),
                ("1002".into(), Exit::Released, ReleasedBy::Itself, None, Provenance::Sip),
            ]
        );
        assert_eq!(call.party("1002").unwrap().times.talking_us, 0, "never answered");
    }
    let cleared = &calls[1];
    assert_eq!(cleared.outcome, Outcome::Cleared);
    assert_eq!(cleared.release.outcome, "cleared");
    assert_eq!(ended_by(cleared), (None, EnderKind::Network, Provenance::Sip, Confidence::Medium, false));
    assert_eq!(cleared.sip_end.as_ref().and_then(|end| end.detail.as_deref()), Some("CONNECTED_TIMEOUT_CT"));
    // 1003 from its Initiated at 14:04:23.430 to 14:04:55.382; 1002 rang from 14:04:28.476
    // to 14:04:55.383 (marker times).
    assert_eq!(cleared.party("1003").unwrap().times.dialing_us, 31_952_000);
    assert_eq!(cleared.party("1002").unwrap().times.ringing_us, 26_907_000);
    assert_eq!(
        party_verdicts(cleared),
        [
            ("1003".into(), Exit::Released, ReleasedBy::Other, None, Provenance::Sip),
            ("1002".into(), Exit::Released, ReleasedBy::Other, None, Provenance::Sip),
        ]
    );
}

#[test]
fn a_refer_transfer_is_transferred_and_the_transferrer_left_by_it() {
    let calls = calls("sip-layer/answered-refer-transfer.log");
    let [call] = calls.as_slice() else { panic!("one call: {calls:?}") };
    assert_eq!(call.outcome, Outcome::Transferred);
    assert!(call.features.contains(&Feature::SingleStepTransfer), "{:?}", call.features);
    assert_eq!(ended_by(call).0, Some("+14155550100"));
    assert_eq!(call.release.provenance, Provenance::Sip);
    assert_eq!(
        party_verdicts(call),
        [
            ("+14155550100".into(), Exit::Released, ReleasedBy::Itself, None, Provenance::Sip),
            ("1002".into(), Exit::LeftByTransfer, ReleasedBy::Itself, None, Provenance::Sip),
            ("1004".into(), Exit::Released, ReleasedBy::Other, Some("+14155550100".into()), Provenance::Sip),
        ]
    );
    let transferrer = call.party("1002").unwrap();
    assert!(
        !transferrer.verdict.as_ref().unwrap().counts_for_call,
        "leaving by transfer does not end the call"
    );
    assert_eq!(transferrer.times.talking_us, 89_361_000, "10:00:04.200 to 10:01:33.561");
    assert_eq!(call.party("1004").unwrap().times.talking_us, 156_502_000, "10:01:33.500 to 10:04:10.002");
}

#[test]
fn hold_and_retrieve_from_party_states() {
    let calls = calls("sip-layer/hold-retrieve.log");
    let [call] = calls.as_slice() else { panic!("one call: {calls:?}") };
    assert_eq!(call.outcome, Outcome::Answered);
    assert!(call.features.contains(&Feature::HoldRetrieve), "{:?}", call.features);
    assert_eq!(call.party("1003").unwrap().times.held_us, 45_000_000, "11:16:00.000 to 11:16:45.000");
    assert_eq!(ended_by(call), (Some("1002"), EnderKind::Agent, Provenance::Sip, Confidence::Medium, false));
}

#[test]
fn both_sites_of_a_call_between_sip_servers_keep_the_call_uuid_and_know_who_hung_up() {
    for (file, site) in
        [("sip-layer/two-sites/SIP_A.log", "SIP_A"), ("sip-layer/two-sites/SIP_B.log", "SIP_B")]
    {
        let calls = calls(file);
        let [call] = calls.as_slice() else { panic!("{file}: one call") };
        assert_eq!((call.site.as_str(), call.key.as_str()), (site, "01TWOSITE00000000000000000000001"));
        assert_eq!(call.outcome, Outcome::Answered);
        assert_eq!(ended_by(call).0, Some("5001"), "{file}");
        assert!(call.is_links.is_empty(), "the SIP layer carries no IS-Link");
    }
}

/// The `sip` rung ranks below the T-Library rungs: with ReleasingParty reported, the SIP end
/// only adds its evidence, and a disagreeing one sets `conflict`.
#[test]
fn the_sip_rung_ranks_below_reported_evidence_and_a_disagreement_is_a_conflict() {
    for (sip_by, conflict) in [("7001", false), ("7002", true)] {
        let mut events = common::events("r1_normal_rp.log");
        let mut deleted = Event::new(Message::EventCallDeleted, &events[0].site);
        deleted.call_uuid.clone_from(&events[0].call_uuid);
        deleted.timestamp = events.last().and_then(|event| event.timestamp);
        deleted.line = Some(999);
        let mut extensions = KvList::new();
        let end = SipEnd {
            kind: SipEndKind::Bye,
            by: Some(sip_by.into()),
            detail: None,
            reason: None,
            call_id: None,
        };
        end.write_to(&mut extensions);
        deleted.extensions = Some(extensions);
        events.push(deleted);
        let (calls, _) = common::run_events(&events);
        let call = &calls[0];
        assert_eq!(
            ended_by(call),
            (Some("7001"), EnderKind::Agent, Provenance::ReleasingParty, Confidence::High, conflict),
            "SIP end by {sip_by}"
        );
        assert!(call.release.evidence.iter().any(|event| event.line == Some(999)), "its evidence is kept");
        assert_eq!(call.provenance, EventProvenance::TLibrary);
    }
}

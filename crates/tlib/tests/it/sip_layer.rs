//! The SIP-layer reader on the real SIP Server log (seven calls, no T-Library records) and on
//! hand-written excerpts in its shapes (fixtures/sip-layer/README.md): each call's CallUUID,
//! its parties, their states over time and what ended it, written from the log's lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use callstitch_tlib::json::{event_from_json, write_json_line};
use callstitch_tlib::siplog::SipLogReader;
use callstitch_tlib::tlog::{ParseStats, Problem, ProblemKind, ReaderOptions};
use callstitch_tlib::{CallState, Event, EventProvenance, Message, SipEnd, SipEndKind};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(name)
}

const REAL_LOG: &str = "real-world/sipserver-SIP_P-001.20260202_135459_850.log";

fn read_bytes(bytes: &[u8], options: ReaderOptions) -> (Vec<Event>, ParseStats, Vec<Problem>) {
    let mut reader = SipLogReader::new(bytes, options);
    let mut events = Vec::new();
    while let Some(event) = reader.next_event().expect("reading memory cannot fail") {
        events.push(event);
    }
    let problems = reader.take_problems();
    (events, reader.stats().clone(), problems)
}

fn read(path: &Path) -> (Vec<Event>, ParseStats, Vec<Problem>) {
    let bytes = std::fs::read(path).expect("fixture");
    read_bytes(&bytes, ReaderOptions { file: Some(Arc::from("log")), ..ReaderOptions::default() })
}

fn clock(event: &Event) -> String {
    let micros = event.clock.expect("every SIP-layer event has its line's clock").micros_of_day;
    let (millis, seconds) = (micros / 1000 % 1000, micros / 1_000_000);
    format!("{:02}:{:02}:{:02}.{millis:03}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

fn state(event: &Event) -> &'static str {
    match event.party_state.map(|state| state.0) {
        Some(0x0) => "null",
        Some(0x1) => "initiated",
        Some(0xA) => "alerting",
        Some(0xC) => "connected",
        Some(0xE) => "held",
        Some(0xF) => "failed",
        _ => "?",
    }
}

/// One call as the events tell it: its party lines (`dn role: clock what; ...`, parties in
/// order of appearance) and what ended it.
#[derive(Debug, PartialEq, Eq)]
struct Story {
    created: String,
    parties: Vec<String>,
    deleted: String,
    end: Option<SipEnd>,
}

/// A party's DN and its steps (`clock what`), in order.
type PartySteps = Vec<(String, Vec<String>)>;

fn stories(events: &[Event]) -> BTreeMap<String, Story> {
    let mut calls: BTreeMap<String, (Story, PartySteps)> = BTreeMap::new();
    for event in events {
        let uuid = event.call_uuid.as_ref().expect("every call shows its CallUUID").to_string();
        let (story, parties) = calls.entry(uuid).or_insert_with(|| {
            (
                Story { created: String::new(), parties: Vec::new(), deleted: String::new(), end: None },
                Vec::new(),
            )
        });
        let what = match event.message {
            Message::EventCallCreated => {
                story.created = clock(event);
                continue;
            }
            Message::EventCallDeleted => {
                story.deleted = clock(event);
                story.end = event.sip_end();
                continue;
            }
            Message::EventCallPartyAdded => {
                let role = event.this_dn_role.as_ref().map_or("?".to_string(), |role| role.to_string());
                format!("added as {role}")
            }
            Message::EventCallPartyState => state(event).to_string(),
            Message::EventCallPartyDeleted => "deleted".to_string(),
            _ => format!("{}", event.message),
        };
        let dn = event.dn.clone().expect("party events name the party").to_string();
        let index = match parties.iter().position(|(known, _)| *known == dn) {
            Some(index) => index,
            None => {
                parties.push((dn.clone(), Vec::new()));
                parties.len() - 1
            }
        };
        parties[index].1.push(format!("{} {what}", clock(event)));
    }
    calls
        .into_iter()
        .map(|(uuid, (mut story, parties))| {
            story.parties =
                parties.into_iter().map(|(dn, steps)| format!("{dn}: {}", steps.join("; "))).collect();
            (uuid, story)
        })
        .collect()
}

fn rejected_by_1002(dialog: u32) -> Option<SipEnd> {
    Some(SipEnd {
        kind: SipEndKind::Rejected,
        by: Some("1002".into()),
        detail: Some("403 Forbidden".into()),
        reason: Some("Q.850;cause=21".into()),
        call_id: Some(format!("640476ED-F320-46F0-975D-6290F4CB29F6-{dialog}@192.168.210.81").into()),
    })
}

/// A MakeCall from 1003 to 1002 that 1002 rejected, at the times of its markers.
fn rejected_call(
    created: &str,
    initiated: &str,
    alerting: &str,
    failed: &str,
    nulls: [&str; 2],
    deleted: &str,
    dialog: u32,
) -> Story {
    Story {
        created: created.to_string(),
        parties: vec![
            format!("1003: {created} added as Origination; {initiated} initiated; {} null; {deleted} deleted", nulls[1]),
            format!(
                "1002: {created} added as Destination; {alerting} alerting; {failed} failed; {} null; {deleted} deleted",
                nulls[0]
            ),
        ],
        deleted: deleted.to_string(),
        end: rejected_by_1002(dialog),
    }
}

#[test]
fn the_real_log_gives_its_seven_calls_with_parties_states_and_ends() {
    let (events, stats, problems) = read(&fixture(REAL_LOG));
    assert!(problems.is_empty(), "{problems:?}");
    let found = stories(&events);
    let mut expected = BTreeMap::new();
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000001",
        rejected_call(
            "13:56:06.078",
            "13:56:06.079",
            "13:56:06.110",
            "13:56:06.111",
            ["13:56:06.112", "13:56:06.113"],
            "13:56:06.113",
            4,
        ),
    );
    // 1002 rang; the ANSWER_CALL request never got an answer from its endpoint; SIP Server
    // gave up on 1003's leg after CONNECTED_TIMEOUT_CT (ACK + BYE to 1003, CANCEL to 1002).
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000002",
        Story {
            created: "14:04:23.429".to_string(),
            parties: vec![
                "1003: 14:04:23.430 added as Origination; 14:04:23.430 initiated; 14:04:55.382 null; 14:04:55.382 deleted"
                    .to_string(),
                "1002: 14:04:23.430 added as Destination; 14:04:28.476 alerting; 14:04:55.383 null; 14:04:55.383 deleted"
                    .to_string(),
            ],
            deleted: "14:04:55.383".to_string(),
            end: Some(SipEnd {
                kind: SipEndKind::Timeout,
                by: None,
                detail: Some("CONNECTED_TIMEOUT_CT".into()),
                reason: None,
                call_id: Some("640476ED-F320-46F0-975D-6290F4CB29F6-5@192.168.210.81".into()),
            }),
        },
    );
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000003",
        rejected_call(
            "15:59:50.028",
            "15:59:50.029",
            "15:59:50.057",
            "15:59:50.059",
            ["15:59:50.060", "15:59:50.060"],
            "15:59:50.061",
            8,
        ),
    );
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000004",
        rejected_call(
            "16:03:14.439",
            "16:03:14.440",
            "16:03:14.464",
            "16:03:14.465",
            ["16:03:14.466", "16:03:14.466"],
            "16:03:14.466",
            10,
        ),
    );
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000005",
        rejected_call(
            "16:09:32.831",
            "16:09:32.832",
            "16:09:32.867",
            "16:09:32.872",
            ["16:09:32.881", "16:09:32.881"],
            "16:09:32.881",
            12,
        ),
    );
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000006",
        rejected_call(
            "16:45:19.398",
            "16:45:19.398",
            "16:45:19.424",
            "16:45:19.426",
            ["16:45:19.427", "16:45:19.427"],
            "16:45:19.427",
            14,
        ),
    );
    expected.insert(
        "TTL7J9EM750GP936CFL0EOACN8000007",
        rejected_call(
            "17:16:49.537",
            "17:16:49.537",
            "17:16:49.565",
            "17:16:49.567",
            ["17:16:49.569", "17:16:49.569"],
            "17:16:49.570",
            16,
        ),
    );
    let expected: BTreeMap<String, Story> =
        expected.into_iter().map(|(uuid, story)| (uuid.to_string(), story)).collect();
    assert_eq!(found, expected);
    assert_eq!((stats.lines, stats.bytes), (12_986, 780_408), "every line and byte read");
    assert_eq!((stats.events, stats.cti_markers, stats.sip_messages), (76, 129, 345));
}

#[test]
fn sip_layer_events_are_marked_placed_in_utc_and_round_trip_through_json() {
    let (events, _, _) = read(&fixture(REAL_LOG));
    let first = &events[0];
    assert_eq!(first.site, "SIP_P", "the header's Application name");
    assert_eq!(first.line, Some(1286));
    assert_eq!(first.seq, Some(1), "the marker's running counter");
    assert_eq!(
        first.log_time.unwrap().to_string(),
        "2026-02-02T08:26:06.078000Z",
        "local 13:56:06.078, UTC+5:30"
    );
    for event in &events {
        assert_eq!(event.provenance, EventProvenance::SipLayer);
        let mut json = Vec::new();
        write_json_line(&mut json, event).unwrap();
        let text = String::from_utf8(json).unwrap();
        assert!(text.contains("\"provenance\":\"sip-layer\""), "{text}");
        assert_eq!(event_from_json(&text).as_ref(), Ok(event), "{text}");
    }
    let seqs: Vec<u64> = events.iter().filter_map(|event| event.seq).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "server order kept: {seqs:?}");
}

#[test]
fn a_refer_transfer_leaves_by_transfer_and_the_customer_ends_the_call() {
    let (events, stats, problems) = read(&fixture("sip-layer/answered-refer-transfer.log"));
    assert!(problems.is_empty(), "{problems:?}");
    let story = stories(&events).remove("01AAT0000000000000000000000001").expect("the call");
    assert_eq!(
        story.parties,
        [
            "+14155550100: 10:00:00.001 added as Origination; 10:00:00.002 initiated; 10:00:04.200 connected; 10:04:10.001 null; 10:04:10.002 deleted",
            "1002: 10:00:00.001 added as Destination; 10:00:00.150 alerting; 10:00:04.200 connected; 10:01:33.561 null; 10:01:33.561 deleted",
            "1004: 10:01:30.001 added as Destination; 10:01:30.100 alerting; 10:01:33.500 connected; 10:04:10.001 null; 10:04:10.002 deleted",
        ]
    );
    let left = events
        .iter()
        .find(|event| event.message == Message::EventCallPartyDeleted && event.dn.as_deref() == Some("1002"))
        .expect("1002 leaves");
    assert_eq!(left.call_state, Some(CallState::Transferred), "left by its REFER");
    let refer = left.sip_end().expect("its REFER");
    assert_eq!(
        (refer.kind, refer.by.as_deref(), refer.detail.as_deref()),
        (SipEndKind::Refer, Some("1002"), Some("1004"))
    );
    let end = story.end.expect("the end");
    assert_eq!(
        (end.kind, end.by.as_deref(), end.reason.as_deref()),
        (SipEndKind::Bye, Some("+14155550100"), Some("Q.850;cause=16"))
    );
    let created = &events[0];
    assert_eq!(created.ani.as_deref(), Some("+14155550100"), "the caller of the INVITE that made the call");
    // SDP bodies (13 lines), the option line, and the 9 lines of the 200 OK answering the
    // last BYE, which comes after the call is deleted.
    assert_eq!(stats.foreign_lines, 23);
}

#[test]
fn hold_and_retrieve_are_party_states_and_a_failed_reinvite_ends_nothing() {
    let (events, _, problems) = read(&fixture("sip-layer/hold-retrieve.log"));
    assert!(problems.is_empty(), "{problems:?}");
    let story = stories(&events).remove("TTL7J9EM750GP936CFL0EOACN8000100").expect("the call");
    assert_eq!(
        story.parties,
        [
            "1003: 11:15:00.100 added as Origination; 11:15:00.101 initiated; 11:15:03.000 connected; 11:16:00.000 held; 11:16:45.000 connected; 11:18:10.501 null; 11:18:10.501 deleted",
            "1002: 11:15:00.100 added as Destination; 11:15:00.300 alerting; 11:15:03.000 connected; 11:18:10.500 null; 11:18:10.501 deleted",
        ]
    );
    let end = story.end.expect("the end");
    assert_eq!((end.kind, end.by.as_deref()), (SipEndKind::Bye, Some("1002")), "not the 491 to the retrieve");
}

#[test]
fn a_call_to_another_sip_server_keeps_its_call_uuid_on_both_sites() {
    for (file, site) in
        [("sip-layer/two-sites/SIP_A.log", "SIP_A"), ("sip-layer/two-sites/SIP_B.log", "SIP_B")]
    {
        let (events, _, problems) = read(&fixture(file));
        assert!(problems.is_empty(), "{file}: {problems:?}");
        assert!(events.iter().all(|event| event.site == site));
        let stories = stories(&events);
        assert_eq!(stories.keys().collect::<Vec<_>>(), ["01TWOSITE00000000000000000000001"], "{file}");
        let end = stories.into_values().next().and_then(|story| story.end).expect("the end");
        assert_eq!((end.kind, end.by.as_deref()), (SipEndKind::Bye, Some("5001")), "{file}");
    }
}

/// The excerpt shapes that end calls in other ways: the caller's CANCEL, a 486.
#[test]
fn a_cancel_and_a_busy_answer_end_the_call_as_what_they_are() {
    let call = |ending: &str| {
        format!(
            "Application name: S\n\
             UTC time:   2026-01-01T00:00:00.000\nLocal time: 2026-01-01T00:00:00.000\n\
             10:00:00.000: SIPTR: Received [0,UDP] 100 bytes from 10.0.0.5:5060 <<<<<\n\
             INVITE sip:7001@sip SIP/2.0\nFrom: <sip:555@gw>;tag=g\nTo: <sip:7001@sip>\nCall-ID: in-1@gw\nCSeq: 1 INVITE\n\n\
             10:00:00.001: $*:SIP:CTI:CALL_CREATED:1\n\
             10:00:00.001: SIPCALL(9): add party '555'\n\
             10:00:00.001: $*:SIP:CTI:PARTY_CREATED:2\n\
             10:00:00.001: SIPCALL(9): add party '7001'\n\
             10:00:00.001: $*:SIP:CTI:PARTY_CREATED:3\n\
             10:00:00.002: Sending  [0,UDP] 100 bytes to 10.0.0.7:5060 >>>>>\n\
             INVITE sip:7001@10.0.0.7 SIP/2.0\nFrom: <sip:555@sip>;tag=s\nTo: <sip:7001@sip>\nCall-ID: out-1@sip\nCSeq: 1 INVITE\n\
             X-Genesys-CallUUID: UUID-CANCEL-OR-BUSY\n\n\
             {ending}\
             10:00:09.000: SIPCALL(9): delete party '555'\n\
             10:00:09.000: $*:SIP:CTI:PARTY_DELETED:4\n\
             10:00:09.000: SIPCALL(9): delete party '7001'\n\
             10:00:09.000: $*:SIP:CTI:PARTY_DELETED:5\n\
             10:00:09.000: $*:SIP:CTI:CALL_DELETED:6\n"
        )
    };
    let cancel = call(
        "10:00:08.000: SIPTR: Received [0,UDP] 100 bytes from 10.0.0.5:5060 <<<<<\n\
         CANCEL sip:7001@sip SIP/2.0\nFrom: <sip:555@gw>;tag=g\nTo: <sip:7001@sip>\nCall-ID: in-1@gw\nCSeq: 1 CANCEL\n\n\
         10:00:08.001: Sending  [0,UDP] 100 bytes to 10.0.0.7:5060 >>>>>\n\
         CANCEL sip:7001@10.0.0.7 SIP/2.0\nCall-ID: out-1@sip\nCSeq: 1 CANCEL\n\n\
         10:00:08.002: SIPTR: Received [0,UDP] 100 bytes from 10.0.0.7:5060 <<<<<\n\
         SIP/2.0 487 Request Terminated\nCall-ID: out-1@sip\nCSeq: 1 INVITE\n\n",
    );
    let busy = call(
        "10:00:08.000: SIPTR: Received [0,UDP] 100 bytes from 10.0.0.7:5060 <<<<<\n\
         SIP/2.0 486 Busy Here\nFrom: <sip:555@sip>;tag=s\nTo: <sip:7001@sip>;tag=p\nCall-ID: out-1@sip\nCSeq: 1 INVITE\n\n",
    );
    for (log, kind, by, detail) in
        [(cancel, SipEndKind::Cancel, "555", None), (busy, SipEndKind::Busy, "7001", Some("486 Busy Here"))]
    {
        let (events, _, problems) = read_bytes(log.as_bytes(), ReaderOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(events.len(), 6);
        let end = events.last().and_then(Event::sip_end).expect("the end");
        assert_eq!((end.kind, end.by.as_deref(), end.detail.as_deref()), (kind, Some(by), detail));
    }
}

/// Cut anywhere (a crash, a rotation, a partial copy), the log reads to its end without a
/// panic; every byte is counted, and a call whose end is cut off is still handed on.
#[test]
fn the_real_log_cut_at_any_point_reads_without_panic_and_counts_every_byte() {
    let bytes = std::fs::read(fixture(REAL_LOG)).unwrap();
    for cut in (0..bytes.len()).step_by(4_999).chain([1_300 * 60, bytes.len()]) {
        let cut = cut.min(bytes.len());
        let options = ReaderOptions { max_line_bytes: 200, max_kept_problems: 8, ..ReaderOptions::default() };
        let (events, stats, _) = read_bytes(&bytes[..cut], options);
        assert_eq!(stats.bytes, cut as u64, "cut at {cut}");
        assert_eq!(stats.events, events.len() as u64);
    }
}

#[test]
fn markers_the_lines_before_them_do_not_place_are_problems_with_their_line() {
    let log = "10:00:00.000: $*:SIP:CTI:PARTY_STATE_CHANGED:7\n\
               10:00:00.000: SIPPARTY(9999): ChangePartyState: new=2\n\
               10:00:00.000: $*:SIP:CTI:PARTY_STATE_CHANGED:8\n\
               10:00:00.000: $*:SIP:CTI:CALL_DELETED:9\n\
               @10:00:00.0000 [0] 8.1 distribute_event: message EventRinging\n";
    let (events, stats, problems) = read_bytes(log.as_bytes(), ReaderOptions::default());
    assert!(events.is_empty());
    let seen: Vec<(u64, ProblemKind)> = problems.iter().map(|problem| (problem.line, problem.kind)).collect();
    assert_eq!(
        seen,
        [
            (1, ProblemKind::UnplacedMarker),
            (3, ProblemKind::UnplacedMarker),
            (4, ProblemKind::UnplacedMarker),
            (5, ProblemKind::TlibRecordSkipped)
        ]
    );
    assert_eq!(stats.problem_count(), 4);
}

/// Memory stays bounded: calls never deleted (a log of starts only) are given up past the
/// reader's limit, reported, and their events handed on.
#[test]
fn open_calls_beyond_the_limit_are_given_up_and_reported() {
    let mut log = String::new();
    for call in 0..5_000 {
        log.push_str(&format!(
            "10:00:00.000: DialPlan: clear flag 0x100, callId {call}\n10:00:00.000: $*:SIP:CTI:CALL_CREATED:{call}\n\
             10:00:00.000: CID:CUUID>c{call}@h:U{call:031}:\n"
        ));
    }
    let (events, stats, _) = read_bytes(log.as_bytes(), ReaderOptions::default());
    assert_eq!(events.len(), 5_000, "every event handed on");
    assert_eq!(stats.problems.get(&ProblemKind::TooManyCalls), Some(&(5_000 - 4_096)));
}

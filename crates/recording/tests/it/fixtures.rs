//! One fixture per transfer case of seed 002 and per deployment model of seed 003 that the
//! simulated center plays (logs per site plus the media feed, cut by `generate_fixtures`):
//! the media files, their grouping under one recording id, who is heard on each, and the
//! findings; then the same fixtures with no feed, where recordings are inferred from the
//! event stream (GSIP_REC_FN) and marked inferred.

use crate::common;

use callstitch_recording::{Provenance, Recording, Rule};

/// (site, recorded DN, side, DNs heard) of each file, in start order.
type Expected<'a> = [(&'a str, &'a str, &'a str, &'a [&'a str])];

fn only(case: &str, feed: &str) -> Recording {
    let (mut all, recorder) = common::recordings(case, Some(common::feed(case, feed)));
    assert_eq!(all.len(), 1, "{case}: one interaction");
    assert!(recorder.feed_findings().is_empty(), "{case}: {:?}", recorder.feed_findings());
    all.remove(0).1
}

fn files(recording: &Recording) -> Vec<(String, String, String, Vec<String>)> {
    recording
        .media_files
        .iter()
        .map(|file| {
            (
                file.site.clone(),
                file.recorded_dn.clone(),
                file.side.label().to_string(),
                file.heard.iter().map(|party| party.dn.to_string()).collect(),
            )
        })
        .collect()
}

fn expected(list: &Expected<'_>) -> Vec<(String, String, String, Vec<String>)> {
    list.iter()
        .map(|(site, dn, side, heard)| {
            (
                site.to_string(),
                dn.to_string(),
                side.to_string(),
                heard.iter().map(|dn| dn.to_string()).collect(),
            )
        })
        .collect()
}

fn rules(recording: &Recording) -> Vec<Rule> {
    recording.findings.iter().map(|finding| finding.rule).collect()
}

/// Every file under the root's CallUUID, each keeping its own CallUUID and the feed's media id.
fn check_grouping(recording: &Recording, root: &str) {
    assert_eq!(recording.recording_id, root);
    assert!(recording.media_files.iter().all(|file| file.provenance == Provenance::MediaFeed));
    assert!(recording.media_files.iter().all(|file| file.media_id.starts_with(&file.call_uuid)));
}

#[test]
fn in_site_transfer_origination_side_continues_termination_side_ends() {
    // Seed 002: D1 (the customer, origination) stays: one file covers D1+D2 then D1+D3;
    // D2 (agent 1026, terminating) leaves: its file ends at the transfer; D3 starts its own.
    let recording = only("in-site-single-step-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB820000000013");
    let customer = "+15555064705";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1026", "agent", &[customer, "1026"]),
            ("SIP_LON", customer, "customer", &[customer, "1026", "1038"]),
            ("SIP_LON", "1038", "agent", &[customer, "1038"]),
        ])
    );
    let d2 = &recording.media_files[0];
    let d3 = &recording.media_files[2];
    assert!(d2.stop_at.is_some_and(|stop| stop <= d3.start_at), "D2's file ends before D3's starts");
    assert_eq!(rules(&recording), []);
}

#[test]
fn in_site_two_step_transfer_keeps_the_consultation_file_on_the_main_call() {
    let recording = only("in-site-two-step-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB82000000001I");
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1015", "agent", &["1015", "1028"]),
            ("SIP_LON", "1006", "agent", &["1006", "1015", "1028"]),
        ])
    );
    // The caller (1028, held on the main call) is heard on the consultation's file only
    // once the transfer completes.
    let consult = &recording.media_files[1];
    let caller = consult.heard.iter().find(|party| party.dn == "1028").expect("heard");
    assert!(caller.from > consult.start, "{caller:?}");
    // The consultation's file outlives its call (merged into the main call): no P4, no P10.
    assert_eq!(rules(&recording), []);
}

#[test]
fn multi_site_reinvite_keeps_customer_recording_pinned_at_the_first_site() {
    let recording = only("sip-reinvite-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB82000000004N");
    let customer = "+15551005867";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1011", "agent", &[customer, "1011"]),
            ("SIP_LON", customer, "customer", &[customer, "1011", "3020"]),
            ("SIP_BLR", "3020", "agent", &[customer, "3020"]),
        ])
    );
    let call_uuids: Vec<&str> = recording.media_files.iter().map(|file| file.call_uuid.as_str()).collect();
    assert!(call_uuids.iter().all(|uuid| *uuid == "000P30KH7088L1IC08GB82000000004N"), "SIP to SIP keeps it");
    assert_eq!(rules(&recording), []);
}

#[test]
fn multi_site_refer_ends_customer_recording_and_the_second_site_records_its_agent() {
    let recording = only("sip-refer-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB820000000016");
    let customer = "+15555780205";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1019", "agent", &[customer, "1019"]),
            ("SIP_LON", customer, "customer", &[customer, "1019"]),
            ("SIP_BLR", "3029", "agent", &[customer, "3029"]),
        ])
    );
    assert_eq!(rules(&recording), []);
}

#[test]
fn multi_site_refer_without_recording_at_the_second_site_is_the_selective_recording_gap() {
    let recording = only("sip-refer-unrecorded-site2", "media.jsonl");
    assert_eq!(recording.media_files.len(), 2);
    assert_eq!(rules(&recording), [Rule::P1]);
    let gap = &recording.findings[0];
    assert_eq!(
        gap.segments,
        ["SIP_LON/000P30KH7088L1IC08GB820000000016", "SIP_BLR/000P30KH7088L1IC08GB820000000016"]
    );
    assert_eq!(gap.files.len(), 1);
    assert!(gap.files[0].starts_with("000P30KH7088L1IC08GB820000000016_"));
    assert_eq!(gap.interaction_id.as_deref(), Some(recording.interaction_id.as_str()));
}

#[test]
fn agent_recording_ends_on_a_multi_site_transfer_and_the_gap_is_expected() {
    // Seed 002 agent recording / seed 003 single-step transfer: Agent1's file ends at the
    // transfer, Agent2's site records Agent2; the time between is not a finding.
    let recording = only("agent-multi-site-transfer", "media.jsonl");
    check_grouping(&recording, "020P30KH7088L1IC08GB820000000065");
    let customer = "+15557830912";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_BLR", "3020", "agent", &[customer, "3020"]),
            ("SIP_LON", "1023", "agent", &[customer, "1023"]),
        ])
    );
    let (first, second) = (&recording.media_files[0], &recording.media_files[1]);
    assert!(first.stop_at.is_some_and(|stop| stop < second.start_at), "a gap between F1 and F2");
    assert_eq!(rules(&recording), []);
}

#[test]
fn multi_site_consult_transfer_to_an_unrecorded_site_keeps_the_customer_file_pinned() {
    let recording = only("multi-site-consult-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB82000000000F");
    let customer = "+15550832266";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1030", "agent", &[customer, "1030"]),
            ("SIP_LON", customer, "customer", &[customer, "1030", "2010"]),
        ])
    );
    assert_eq!(rules(&recording), []);
}

#[test]
fn multi_site_conference_files_overlap_without_a_duplicate_finding() {
    let recording = only("multi-site-conference", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB82000000002P");
    let customer = "+15554649025";
    let all: &[&str] = &[customer, "1016", "2002", "3002"];
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_LON", "1016", "agent", all),
            ("SIP_LON", customer, "customer", all),
            ("SIP_BLR", "3002", "agent", all)
        ])
    );
    let (agent1, agent2) = (&recording.media_files[0], &recording.media_files[2]);
    assert!(agent1.stop_at.is_some_and(|stop| stop > agent2.start_at), "F1 and F2 overlap");
    assert_eq!(rules(&recording), []);
}

#[test]
fn iscc_hand_off_of_a_customer_recorded_call_to_an_unrecorded_site_is_a_gap() {
    let recording = only("iscc-transfer", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB82000000003K");
    assert_eq!(recording.media_files.len(), 2);
    assert_eq!(rules(&recording), [Rule::P1]);
}

#[test]
fn recording_stopped_by_a_cancelled_consultation_is_lost_recording() {
    // The simulator stops agent 1027's recording when 1027 leaves the abandoned consultation,
    // though 1027 goes back to the customer: P3.
    let recording = only("hold-retrieve", "media.jsonl");
    assert_eq!(rules(&recording), [Rule::P3]);
    assert_eq!(recording.findings[0].segments, ["SIP_LON/000P30KH7088L1IC08GB820000000092"]);
}

#[test]
fn without_a_feed_recordings_are_inferred_from_gsip_rec_fn_and_marked_inferred() {
    for (case, root) in [
        ("in-site-single-step-transfer", "000P30KH7088L1IC08GB820000000013"),
        ("sip-reinvite-transfer", "000P30KH7088L1IC08GB82000000004N"),
        ("sip-refer-transfer", "000P30KH7088L1IC08GB820000000016"),
        ("agent-multi-site-transfer", "020P30KH7088L1IC08GB820000000065"),
        ("multi-site-conference", "000P30KH7088L1IC08GB82000000002P"),
        ("multi-site-consult-transfer", "000P30KH7088L1IC08GB82000000000F"),
    ] {
        let (all, _) = common::recordings(case, None);
        assert_eq!(all.len(), 1, "{case}");
        let recording = &all[0].1;
        assert_eq!(recording.recording_id, root, "{case}");
        assert!(!recording.media_files.is_empty(), "{case}: something inferred");
        assert!(recording.media_files.iter().all(|file| file.provenance == Provenance::Inferred), "{case}");
        // Each inferred file is named by GSIP_REC_FN, so it is one of the feed's media ids.
        let feed = common::feed(case, "media.jsonl");
        for file in &recording.media_files {
            assert_eq!(file.matched_by, "gsip-rec-fn");
            assert!(
                feed.files.iter().any(|known| known.media_id == file.media_id),
                "{case}: {}",
                file.media_id
            );
        }
    }
}

#[test]
fn a_bad_feed_gives_findings_with_line_numbers_and_keeps_the_rest() {
    let case = "sip-refer-transfer";
    // Lines 1, 7 and 8 are good; 2 names an unknown call; 3-6 are bad.
    let feed = common::feed("", "bad-feed.jsonl");
    let lines: Vec<u64> = feed.errors.iter().map(|error| error.line()).collect();
    assert_eq!(lines, [3, 4, 5, 6], "{:#?}", feed.errors);
    let messages: Vec<String> = feed.errors.iter().map(ToString::to_string).collect();
    assert!(messages[0].contains("stop for media NEVER-STARTED without a start"), "{}", messages[0]);
    assert!(messages[1].starts_with("line 4: not a media object"), "{}", messages[1]);
    assert!(messages[2].contains("before it starts"), "{}", messages[2]);
    assert!(messages[3].contains("\"yesterday\" is not an RFC 3339 time"), "{}", messages[3]);
    let (all, recorder) = common::recordings(case, Some(feed));
    let recording = &all[0].1;
    // The agent file (stop on a later line), the customer file (its bad stop dropped) and
    // the second site's file are all kept.
    assert_eq!(recording.media_files.len(), 3, "{:#?}", recording.media_files);
    assert!(recording.media_files.iter().any(|file| file.recorded_dn == "1019" && file.stop.is_some()));
    let feed_findings = recorder.feed_findings();
    let orphan: Vec<_> = feed_findings.iter().filter(|finding| finding.rule == Rule::P2).collect();
    assert_eq!(orphan.len(), 1);
    assert_eq!(orphan[0].files, ["UNKNOWNCALL0000000000000000000001_x"]);
    assert_eq!(orphan[0].evidence, ["feed line 2"]);
    assert_eq!(feed_findings.iter().filter(|finding| finding.rule == Rule::Feed).count(), 4);
}

#[test]
fn centralized_qualification_records_on_the_queuing_server_and_hears_the_agent_site() {
    // Seed 003: Q (SIP_LON) queues and records; G (TS_NYC) hosts the agent and records
    // nothing. One file on Q, carrying Q's CallUUID, hears G's agent; G having no file is
    // not a finding.
    let recording = only("centralized-qualification", "media.jsonl");
    check_grouping(&recording, "000P30KH7088L1IC08GB820000000001");
    let customer = "+15550872344";
    assert_eq!(files(&recording), expected(&[("SIP_LON", customer, "customer", &[customer, "2015"])]));
    assert_eq!(recording.media_files[0].heard[1].site.as_str(), "TS_NYC");
    assert_eq!(rules(&recording), []);
    let (inferred, _) = common::recordings("centralized-qualification", None);
    let inferred = &inferred[0].1;
    assert_eq!(inferred.media_files.len(), 1);
    assert_eq!(inferred.media_files[0].provenance, Provenance::Inferred);
    assert_eq!(inferred.media_files[0].site, "SIP_LON");
}

/// The in-site single-step transfer's logs with a feed changed by `edit` (line by line).
fn with_feed(edit: impl Fn(&str) -> Vec<String>) -> Recording {
    let case = "in-site-single-step-transfer";
    let text = std::fs::read_to_string(common::fixture_dir(case).join("media.jsonl")).expect("feed");
    let lines: Vec<String> = text.lines().flat_map(&edit).collect();
    let feed = callstitch_recording::read_feed(lines.join("\n").as_bytes()).expect("in memory");
    assert!(feed.errors.is_empty(), "{:?}", feed.errors);
    let (mut all, _) = common::recordings(case, Some(feed));
    all.remove(0).1
}

#[test]
fn overlapping_files_of_the_same_side_are_a_duplicate_recording() {
    let recording = with_feed(|line| {
        if line.contains("\"recorded_dn\":\"1026\"") {
            vec![line.to_string(), line.replace("-00000001", "-00000099")]
        } else {
            vec![line.to_string()]
        }
    });
    assert_eq!(rules(&recording), [Rule::P8]);
    assert_eq!(recording.findings[0].files.len(), 2);
}

#[test]
fn a_file_outside_its_call_or_running_past_the_agent_is_reported() {
    let recording = with_feed(|line| {
        if line.contains("\"recorded_dn\":\"1026\"") {
            // Agent 1026's file runs 60 s past the transfer that took 1026 off the call.
            vec![line.replace("\"stop\":\"2026-02-02T08:01:59", "\"stop\":\"2026-02-02T08:02:59")]
        } else if line.contains("\"recorded_dn\":\"1038\"") {
            // Agent 1038's file starts an hour after the call.
            vec![line
                .replace("\"start\":\"2026-02-02T08:02:02", "\"start\":\"2026-02-02T09:02:02")
                .replace("\"stop\":\"2026-02-02T08:05:45", "\"stop\":\"2026-02-02T09:05:45")]
        } else {
            vec![line.to_string()]
        }
    });
    let mut found = rules(&recording);
    found.sort();
    assert_eq!(found, [Rule::P2, Rule::P4], "{:#?}", recording.findings);
}

#[test]
fn sip_consult_transfer_f2_hears_agent1_then_the_customer() {
    // Seed 003 consult (two-step) transfer: F1 (Agent1 3040, site 1) is Customer + Agent1;
    // F2 (Agent2 1005, site 2, on the consultation's CallUUID) is first Agent1 + Agent2, then
    // after completion Customer + Agent2. Two CallUUIDs under one recording id.
    let recording = only("sip-consult-transfer", "media.jsonl");
    check_grouping(&recording, "020P30KH7088L1IC08GB820000000001");
    let customer = "+15552929843";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_BLR", "3040", "agent", &[customer, "3040"]),
            ("SIP_LON", "1005", "agent", &["1005", "3040", customer])
        ])
    );
    let f2 = &recording.media_files[1];
    assert_eq!(f2.call_uuid, "020P30KH7088L1IC08GB820000000002");
    let agent1 = f2.heard.iter().find(|party| party.dn == "3040").expect("Agent1 heard");
    let joined = f2.heard.iter().find(|party| party.dn == customer).expect("customer heard");
    assert!(agent1.until <= joined.from, "Agent1 leaves as the customer joins: {:?}", f2.heard);
    assert_eq!(rules(&recording), []);
}

#[test]
fn two_step_conference_files_overlap_and_the_customer_joins_f2_at_completion() {
    // Seed 003 two-step conference: F1 (Agent1 3038, SIP_BLR) is Customer + Agent1, then
    // Customer + Agent1 + Agent2 until Agent1 drops out; F2 (Agent2 1024, SIP_LON, on the
    // consultation's CallUUID) is Agent1 + Agent2, then all three, then Customer + Agent2.
    let recording = only("two-step-conference", "media.jsonl");
    check_grouping(&recording, "020P30KH7088L1IC08GB820000000001");
    let customer = "+15558109612";
    assert_eq!(
        files(&recording),
        expected(&[
            ("SIP_BLR", "3038", "agent", &[customer, "3038", "1024"]),
            ("SIP_LON", "1024", "agent", &["1024", "3038", customer])
        ])
    );
    let (f1, f2) = (&recording.media_files[0], &recording.media_files[1]);
    let agent2_on_f1 = f1.heard.iter().find(|party| party.dn == "1024").expect("Agent2 on F1");
    let customer_on_f2 = f2.heard.iter().find(|party| party.dn == customer).expect("customer on F2");
    assert_eq!(agent2_on_f1.from, customer_on_f2.from, "both from the completion of the conference");
    assert!(f1.stop_at.is_some_and(|stop| stop > f2.start_at), "F1 and F2 overlap");
    assert_eq!(rules(&recording), []);
}

#[test]
fn files_of_one_interaction_under_several_archive_ids_disagree_with_linking() {
    let recording = with_feed(|line| {
        let archive = if line.contains("\"recorded_dn\":\"1026\"") { "ARCHIVE-A" } else { "ARCHIVE-B" };
        vec![line.replacen('{', &format!("{{\"recording_id\":\"{archive}\","), 1)]
    });
    assert_eq!(rules(&recording), [Rule::P6]);
    assert_eq!(recording.aliases, ["ARCHIVE-A", "ARCHIVE-B"]);
    assert_eq!(recording.findings[0].files.len(), 3);
}

#[test]
fn agent_recording_of_a_party_that_only_rang_is_a_call_that_never_connected() {
    // In the cancelled consultation, 1037 rang on call ...0093 and never answered.
    let case = "hold-retrieve";
    let mut text = std::fs::read_to_string(common::fixture_dir(case).join("media.jsonl")).expect("feed");
    text.push_str(concat!(
        r#"{"type":"media","site":"SIP_LON","call_uuid":"000P30KH7088L1IC08GB820000000093","#,
        r#""media_id":"000P30KH7088L1IC08GB820000000093_ringing","recorded_dn":"1037","side":"agent","#,
        r#""start":"2026-02-02T08:01:56.5Z","stop":"2026-02-02T08:02:04.5Z"}"#,
        "\n"
    ));
    let feed = callstitch_recording::read_feed(text.as_bytes()).expect("in memory");
    let (all, _) = common::recordings(case, Some(feed));
    let recording = &all[0].1;
    let mut found = rules(recording);
    found.sort();
    assert_eq!(found, [Rule::P3, Rule::P9], "{:#?}", recording.findings);
    let never = recording.findings.iter().find(|finding| finding.rule == Rule::P9).expect("P9");
    assert_eq!(never.segments, ["SIP_LON/000P30KH7088L1IC08GB820000000093"]);
}

// ---------------------------------------------------------------------------------------
// Calls seen through call monitoring (issue 17): the customer a party of the call through
// EventCallParty* (`-monitored`), or only the OtherDN of the agents' events (`-dn`). Written
// from the seed tables by fixtures/monitored/make_monitored.py.

const MONITORED_CUSTOMER: &str = "+15551005867";

/// (DN heard, kind, from, until), times as seconds after 08:30:00Z.
type Window<Dn> = (Dn, &'static str, f64, f64);
/// (recorded DN, who is heard) of each file.
type Heard = Vec<(String, Vec<Window<String>>)>;

fn heard_windows(recording: &Recording) -> Heard {
    let base = callstitch_tlib::Timestamp::parse_rfc3339("2026-02-02T08:30:00Z").expect("time").0;
    let seconds = |text: &str| {
        let time = callstitch_tlib::Timestamp::parse_rfc3339(text).expect("heard time").0;
        (time - base) as f64 / 1e6
    };
    recording
        .media_files
        .iter()
        .map(|file| {
            let heard = file
                .heard
                .iter()
                .map(|party| (party.dn.to_string(), party.kind, seconds(&party.from), seconds(&party.until)))
                .collect();
            (file.recorded_dn.clone(), heard)
        })
        .collect()
}

fn windows(list: &[(&str, &[Window<&str>])]) -> Heard {
    list.iter()
        .map(|(recorded, heard)| {
            let heard =
                heard.iter().map(|(dn, kind, from, until)| (dn.to_string(), *kind, *from, *until)).collect();
            (recorded.to_string(), heard)
        })
        .collect()
}

#[test]
fn a_customer_seen_only_through_call_monitoring_is_heard_on_every_file() {
    let customer = MONITORED_CUSTOMER;
    let expected = windows(&[
        (customer, &[(customer, "customer", 0.2, 100.0), ("1011", "agent", 14.0, 100.0)]),
        ("1011", &[(customer, "customer", 14.0, 100.0), ("1011", "agent", 14.0, 100.0)]),
    ]);
    for case in ["customer-side-monitored", "customer-side-dn"] {
        let recording = only(case, "media.jsonl");
        assert_eq!(heard_windows(&recording), expected, "{case}");
        assert_eq!(rules(&recording), [], "{case}");
    }
}

#[test]
fn two_step_conference_agent1_hears_the_customer_from_its_file_start() {
    // Agent1 (1011) talked with the customer before the conference; Agent2 (1012) joins the
    // main call's conversation at the completion (90 s); Agent1 drops out at 150 s.
    let customer = MONITORED_CUSTOMER;
    let expected = windows(&[
        (
            customer,
            &[
                (customer, "customer", 0.5, 240.0),
                ("1011", "agent", 5.0, 150.0),
                ("1012", "agent", 90.0, 240.0),
            ],
        ),
        (
            "1011",
            &[
                (customer, "customer", 5.0, 150.0),
                ("1011", "agent", 5.0, 150.0),
                ("1012", "agent", 90.0, 150.0),
            ],
        ),
        (
            "1012",
            &[
                ("1011", "agent", 66.0, 150.0),
                ("1012", "agent", 66.0, 240.0),
                (customer, "customer", 90.0, 240.0),
            ],
        ),
    ]);
    for case in ["two-step-conference-monitored", "two-step-conference-dn"] {
        let recording = only(case, "media.jsonl");
        assert_eq!(heard_windows(&recording), expected, "{case}");
        assert_eq!(rules(&recording), [], "{case}");
    }
}

//! SIP Server logs without T-Library records through the real binary: `parse`, `check` and
//! `trace` choose the SIP-layer reader by themselves and say so, standard input is detected
//! the same way (SIP layer, JSON lines), and `--reader` forces a reader.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use callstitch_tlib::json::event_from_json;
use callstitch_tlib::{Event, EventProvenance};

const REAL_LOG: &str = "real-world/sipserver-SIP_P-001.20260202_135459_850.log";

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures").join(name).display().to_string()
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

/// Runs the binary with `input` on its standard input.
fn callstitch_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("it ends");
    writer.join().expect("writer").expect("stdin written");
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

fn events(output: &Output) -> Vec<Event> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| event_from_json(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

#[test]
fn parse_reads_the_real_log_from_its_sip_layer_and_says_so_first() {
    let path = fixture(REAL_LOG);
    let output = callstitch(&["parse", &path]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events = events(&output);
    assert_eq!(events.len(), 76);
    assert!(events
        .iter()
        .all(|event| event.provenance == EventProvenance::SipLayer && event.site == "SIP_P"));
    let said = stderr(&output);
    assert!(
        said.starts_with(&format!(
            "callstitch: {path}: SIP layer only (no T-Library event records; 129 SIP Server CTI markers, 103 CallUUID lines, 345 SIP messages in the whole input)"
        )),
        "{said}"
    );
    let quiet = callstitch(&["parse", "-q", &path]);
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
}

#[test]
fn check_gives_the_seven_calls_with_their_outcomes_and_who_ended_them() {
    let output = callstitch(&["check", "--json", "-q", &fixture(REAL_LOG)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    let calls = &lines[..lines.len() - 1];
    let found: Vec<(String, String, String, String)> = calls
        .iter()
        .map(|call| {
            (
                call["call_uuid"].as_str().unwrap_or_default().to_string(),
                call["outcome"].as_str().unwrap_or_default().to_string(),
                call["release"]["ended_by"]["dn"].as_str().unwrap_or("-").to_string(),
                call["release"]["provenance"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String, String)> = (1..=7)
        .map(|n| {
            let (outcome, by) = if n == 2 { ("cleared", "-") } else { ("rejected", "1002") };
            (format!("TTL7J9EM750GP936CFL0EOACN800000{n}"), outcome.into(), by.into(), "sip".into())
        })
        .collect();
    assert_eq!(found, expected);
    assert!(calls.iter().all(|call| call["provenance"] == "sip-layer"));
    assert_eq!(calls[1]["sip_end"]["detail"], "CONNECTED_TIMEOUT_CT");
    assert_eq!(calls[0]["sip_end"]["reason"], "Q.850;cause=21");
    assert_eq!(lines.last().unwrap()["summary"]["release_provenance"]["sip"], 7);
}

#[test]
fn trace_gives_seven_interactions_and_links_two_sip_servers_by_call_uuid() {
    let output = callstitch(&["trace", "--json", "-q", &fixture(REAL_LOG)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let interactions = json_lines(&output);
    assert_eq!(interactions.len(), 7);
    assert!(interactions.iter().all(|interaction| interaction["released_by"]["provenance"] == "sip"));

    let output = callstitch(&["trace", "--json", "-q", &fixture("sip-layer/two-sites")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let interactions = json_lines(&output);
    let [interaction] = interactions.as_slice() else { panic!("one interaction: {interactions:?}") };
    let sites: Vec<&str> = interaction["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| segment["site"].as_str().unwrap())
        .collect();
    assert_eq!(sites, ["SIP_A", "SIP_B"]);
    assert_eq!(interaction["links"][0]["evidence"], "same-call-uuid");
    assert_eq!(interaction["released_by"]["dn"], "5001");
}

#[test]
fn standard_input_is_detected_as_the_sip_layer_without_losing_a_byte() {
    let log = std::fs::read(fixture(REAL_LOG)).unwrap();
    let from_stdin = callstitch_stdin(&["parse", "-"], &log);
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    assert!(
        stderr(&from_stdin).starts_with("callstitch: <stdin>: SIP layer only"),
        "{}",
        stderr(&from_stdin)
    );
    let from_file = callstitch(&["parse", "-q", &fixture(REAL_LOG)]);
    let strip = |mut events: Vec<Event>| {
        for event in &mut events {
            event.file = None;
        }
        events
    };
    assert_eq!(strip(events(&from_stdin)), strip(events(&from_file)));
    let checked = callstitch_stdin(&["check", "-q", "-"], &log);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    assert!(String::from_utf8_lossy(&checked.stdout).contains("calls: 7"));
}

/// Issue 12: `trace --json -` fed JSON lines said "no T-Library events found".
#[test]
fn json_lines_on_standard_input_are_read_by_trace_and_check() {
    let seed = fixture("seed-islink");
    let parsed = callstitch(&["parse", &seed]);
    assert_eq!(parsed.status.code(), Some(0));
    let from_logs = callstitch(&["trace", "--json", &seed]);
    let from_stdin = callstitch_stdin(&["trace", "--json", "-"], &parsed.stdout);
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    assert!(from_stdin.stderr.is_empty(), "JSON lines are not announced: {}", stderr(&from_stdin));
    let segments = |output: &Output| -> Vec<Vec<String>> {
        json_lines(output)
            .iter()
            .map(|interaction| {
                interaction["segments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|segment| format!("{}/{}", segment["site"], segment["key"]))
                    .collect()
            })
            .collect()
    };
    assert_eq!(segments(&from_stdin), segments(&from_logs));
    assert!(!segments(&from_logs).is_empty());
    let checked = callstitch_stdin(&["check", "--json", "-"], &parsed.stdout);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
}

#[test]
fn the_reader_can_be_forced_and_the_message_says_what_was_lacking() {
    let forced = callstitch(&["parse", "--reader", "t-library", &fixture(REAL_LOG)]);
    assert_eq!(forced.status.code(), Some(1));
    let said = stderr(&forced);
    assert!(said.contains("no events found"), "{said}");
    assert!(said.contains("with the reader --reader asked for"), "{said}");
    assert!(!said.contains("SIP layer only ("), "a forced reader is not announced as detected: {said}");
    let stats =
        callstitch(&["parse", "--stats", "--format", "json", "--reader", "sip-layer", &fixture(REAL_LOG)]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(
        (stats["events"].as_u64(), &stats["inputs"][0]["forced"]),
        (Some(76), &serde_json::json!(true))
    );

    let dir = tempfile::tempdir().unwrap();
    let registrations = dir.path().join("registrations.log");
    let only_traffic = "10:00:00.000: SIPTR: Received [0,UDP] 300 bytes from 10.0.0.5:5060 <<<<<\n\
                        REGISTER sip:10.0.0.10 SIP/2.0\nCall-ID: reg-1@10.0.0.5\nCSeq: 1 REGISTER\n\n";
    std::fs::write(&registrations, only_traffic).unwrap();
    let output = callstitch(&["parse", registrations.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(said.contains("SIP layer only (no T-Library event records; 0 SIP Server CTI markers, 0 CallUUID lines, 1 SIP messages"), "{said}");
    assert!(said.contains("read as SIP layer only (0 SIP Server CTI markers, 1 SIP messages) but no call was created in them"), "{said}");
}

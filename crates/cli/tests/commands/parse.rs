//! End-to-end tests of `callstitch parse`, run against the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use callstitch_tlib::json::event_from_json;
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::Event;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn stdout_events(output: &Output) -> Vec<Event> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| event_from_json(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn library_events(path: &Path) -> Vec<Event> {
    let options = ReaderOptions { file: Some(path.display().to_string().into()), ..ReaderOptions::default() };
    LogReader::new(std::fs::File::open(path).unwrap(), options).map(|event| event.unwrap()).collect()
}

#[test]
fn parse_output_reads_back_to_the_events_the_library_reads() {
    let path = fixtures().join("seed-islink/Tserver2.log");
    let output = callstitch(&["parse", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_events(&output), library_events(&path));
}

#[test]
fn a_directory_of_two_sites_gives_the_four_seed_events() {
    let output = callstitch(&["parse", fixtures().join("seed-islink").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let events = stdout_events(&output);
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|event| (event.site.to_string(), event.call_uuid.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        summary,
        [
            ("SIPServer1", "01AE904GK088LFQD2CGB02LAES0000EP"),
            ("SIPServer1", "01AE904GK088LFQD2CGB02LAES0000EP"),
            ("Tserver2", "00RP30KH7088L1IC08GB82LAES000317"),
            ("Tserver2", "00RP30KH7088L1IC08GB82LAES00031D"),
        ]
        .map(|(site, uuid)| (site.to_string(), uuid.to_string()))
    );
}

#[test]
fn name_prefix_names_the_site() {
    let path = fixtures().join("seed-islink/Tserver2.log");
    let output = callstitch(&["parse", &format!("TS2={}", path.display())]);
    assert!(stdout_events(&output).iter().all(|event| event.site == "TS2"));
}

#[test]
fn json_lines_input_is_recognised_and_reads_back_identical() {
    let dir = tempfile::tempdir().unwrap();
    let first = callstitch(&["parse", fixtures().join("seed-islink").to_str().unwrap()]);
    let jsonl = dir.path().join("events.jsonl");
    std::fs::write(&jsonl, &first.stdout).unwrap();
    let second = callstitch(&["parse", jsonl.to_str().unwrap()]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(stdout_events(&second), stdout_events(&first));
}

#[test]
fn standard_input_is_read_with_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["parse", "S=-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::fs::read(fixtures().join("seed-islink/SIPServer1.log")).unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &log).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    let events = stdout_events(&output);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|event| event.site == "S"));
}

#[test]
fn table_and_stats_forms() {
    let dir = fixtures().join("seed-islink");
    let table = callstitch(&["parse", "--format", "table", dir.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("TIME (UTC)"), "{text}");
    assert_eq!(text.lines().count(), 5);
    assert!(text.contains("link 00RP30KH7088L1IC08GB82LAES000316 source SIPServer1@SIP_Switch1"), "{text}");

    let stats = callstitch(&["parse", "--stats", "--format", "json", dir.to_str().unwrap()]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["events"], 4);
    assert_eq!(stats["by_message"]["EventCallDataChanged"], 4);
    assert_eq!(stats["files"], 2);
}

#[test]
fn noise_is_reported_with_file_and_line_and_the_read_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noisy.log");
    let log = "@10:00:00.0000 [0] 8.1 distribute_event: message EventRinging\n\tAttributeConnID\tnot-hex\n\n\
               @10:00:01.0000 [0] 8.1 distribute_event: message EventEstablished\n\tAttributeThisDN\t'7001'\n\n";
    std::fs::write(&path, log).unwrap();
    let output = callstitch(&["parse", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout_events(&output).len(), 2);
    let message = stderr(&output);
    assert!(message.contains("noisy.log:2: bad-value: AttributeConnID"), "{message}");
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let output = callstitch(&["parse", "/no/such/file.log"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no such file or directory: /no/such/file.log"));
}

#[test]
fn a_directory_without_logs_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let output = callstitch(&["parse", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("no *.log files in"), "{}", stderr(&output));
}

/// Random bytes, an empty file, a file of one 0-byte (NUL) line, a 10 MB single line: each
/// gives a clear message, exit 1 (nothing readable), and no panic.
#[test]
fn hostile_inputs_give_a_clear_message_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut random = Vec::with_capacity(1 << 20);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..(1 << 20) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        random.push((state >> 24) as u8);
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random.log", random),
        ("empty.log", Vec::new()),
        ("nul-line.log", b"\0\n".to_vec()),
        ("one-long-line.log", vec![b'x'; 10_000_000]),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let output = callstitch(&["parse", path.to_str().unwrap()]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{name}: {message}");
        assert!(message.contains("no events found"), "{name}: {message}");
        assert!(
            message.contains("no T-Library event records and no SIP Server call markers"),
            "{name}: {message}"
        );
        assert!(!message.contains("print-attributes"), "{name}: the cause is not known: {message}");
        assert!(!message.contains("panicked"), "{name}: {message}");
    }
}

#[test]
fn the_real_sip_server_log_is_read_to_the_end_from_its_sip_layer() {
    let path = fixtures().join("real-world/sipserver-SIP_P-001.20260202_135459_850.log");
    let output = callstitch(&["parse", "--stats", "--format", "json", path.to_str().unwrap()]);
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(stats["lines"], 12986, "every line read");
    assert_eq!(stats["bytes"], std::fs::metadata(&path).unwrap().len());
    assert_eq!(stats["events"], 76);
    assert_eq!(stats["inputs"][0]["reader"], "sip-layer");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn parse_stats_prints_a_table_by_default_and_json_with_json() {
    let path = fixtures().join("seed-islink/Tserver2.log");
    let path = path.to_str().unwrap();
    let table = callstitch(&["parse", "--stats", path]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "a table, not JSON: {text}");
    assert!(text.lines().any(|line| line.starts_with("events") && line.trim_end().ends_with(" 2")), "{text}");
    for json in [vec!["parse", "--stats", "--json", path], vec!["parse", "--stats", "--format", "json", path]]
    {
        let output = callstitch(&json);
        let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(stats["events"], 2);
    }
    let both = callstitch(&["parse", "--stats", "--json", "--format", "table", path]);
    assert_eq!(both.status.code(), Some(2), "--json and --format table contradict each other");
}

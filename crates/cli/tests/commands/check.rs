//! End-to-end tests of `callstitch check`, run against the built binary on the engine's
//! fixtures (written from the seed 001 tables).

use std::path::PathBuf;
use std::process::{Command, Output};

fn engine_fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

#[test]
fn an_acd_call_is_recognised_conformant_answered_and_released_by_the_agent() {
    let output = callstitch(&["check", "--json", &engine_fixture("m02_acd.log")]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "one call, then the summary");
    let call = &lines[0];
    assert_eq!(call["model"], "acd");
    assert_eq!(call["conformant"], true);
    assert_eq!(call["outcome"], "answered");
    assert_eq!(call["release"]["ended_by"]["dn"], "7003");
    assert_eq!(call["release"]["provenance"], "releasing-party");
    let summary = &lines[1]["summary"];
    assert_eq!(summary["calls"], 1);
    assert_eq!(summary["models"]["acd"], 1);
}

#[test]
fn deviations_do_not_change_the_exit_code_and_the_table_has_a_summary() {
    let output = callstitch(&["check", &engine_fixture("m02_acd_p1.log")]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("SITE"), "{text}");
    assert!(text.contains("abandoned-in-queue"), "{text}");
    assert!(text.contains("calls per model:"), "{text}");
}

#[test]
fn nothing_readable_is_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    std::fs::write(&path, "").unwrap();
    let output = callstitch(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
}

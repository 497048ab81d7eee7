//! `callstitch events` gives back every raw event an import stored, as `parse` prints them
//! (the store keeps them in compressed blocks that SQL cannot read), and they trace to the
//! same interactions as the logs they came from.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect()
}

#[test]
fn the_events_an_import_stored_come_back_as_parse_prints_them_and_trace_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let center = dir.path().join("center");
    let center_text = center.to_str().expect("utf-8");
    let simulated = callstitch(&["simulate", "--out", center_text, "--interactions", "150", "--sites", "3"]);
    assert_eq!(simulated.status.code(), Some(0), "{}", String::from_utf8_lossy(&simulated.stderr));
    let database = dir.path().join("callstitch.db");
    let database_text = database.to_str().expect("utf-8");
    let imported = callstitch(&["import", "--database", database_text, center_text]);
    assert_eq!(imported.status.code(), Some(0), "{}", String::from_utf8_lossy(&imported.stderr));

    let stored = callstitch(&["events", "--database", database_text]);
    assert_eq!(stored.status.code(), Some(0), "{}", String::from_utf8_lossy(&stored.stderr));
    let mut stored_lines = lines(&stored);
    let mut parsed = lines(&callstitch(&["parse", center_text]));
    assert!(parsed.len() > 1000, "the center has events");
    stored_lines.sort();
    parsed.sort();
    assert_eq!(stored_lines, parsed, "every event stored once, as parse prints it");

    let mut trace = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["trace", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("trace runs");
    let mut input = trace.stdin.take().expect("stdin");
    let bytes = stored.stdout.clone();
    let writer = std::thread::spawn(move || input.write_all(&bytes));
    let from_store = trace.wait_with_output().expect("trace ends");
    writer.join().expect("writer").expect("written");
    let from_logs = callstitch(&["trace", "--json", center_text]);
    // The same interactions; a JSON-lines stream is read in stored order, not merged by time
    // as log files are, so they may come out in another order.
    let sorted = |output: &Output| {
        let mut found = lines(output);
        found.sort();
        found
    };
    assert!(sorted(&from_store) == sorted(&from_logs), "the stored events trace as the logs do");

    let first: serde_json::Value = serde_json::from_str(&parsed[0]).expect("an event");
    let site = first["site"].as_str().expect("a site").to_string();
    let named = format!("\"site\":\"{site}\"");
    let one_site = lines(&callstitch(&["events", "--database", database_text, "--site", &site]));
    let expected = parsed.iter().filter(|line| line.contains(&named)).count();
    assert!(expected > 0 && one_site.len() == expected, "{} of {expected} events of {site}", one_site.len());
    assert!(one_site.iter().all(|line| line.contains(&named)));
    let missing = callstitch(&["events", "--database", dir.path().join("none.db").to_str().expect("utf-8")]);
    assert_eq!(missing.status.code(), Some(1), "a database that is not there is an error, not an empty one");
}

//! End-to-end tests of `callstitch trace` on the seed's two-site log.

use std::path::PathBuf;
use std::process::{Command, Output};

fn seed(file: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/seed-islink")
        .join(file)
        .display()
        .to_string()
}

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn interactions(output: &Output) -> Vec<serde_json::Value> {
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

fn segment_keys(interaction: &serde_json::Value) -> Vec<(String, String)> {
    interaction["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| {
            (
                segment["site"].as_str().unwrap().to_string(),
                segment["call_uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_seed_is_one_interaction_of_three_segments_and_two_links_in_either_file_order() {
    let expected = vec![
        ("Tserver2".to_string(), "00RP30KH7088L1IC08GB82LAES000317".to_string()),
        ("SIPServer1".to_string(), "01AE904GK088LFQD2CGB02LAES0000EP".to_string()),
        ("Tserver2".to_string(), "00RP30KH7088L1IC08GB82LAES00031D".to_string()),
    ];
    let one = interactions(&callstitch(&["trace", "--json", &seed("Tserver2.log"), &seed("SIPServer1.log")]));
    let other =
        interactions(&callstitch(&["trace", "--json", &seed("SIPServer1.log"), &seed("Tserver2.log")]));
    assert_eq!(one.len(), 1);
    assert_eq!(one, other);
    let interaction = &one[0];
    assert_eq!(segment_keys(interaction), expected);
    let links = interaction["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["islink"], "00RP30KH7088L1IC08GB82LAES000316");
    assert_eq!(links[0]["from"]["site"], "Tserver2");
    assert_eq!(links[0]["to"]["site"], "SIPServer1");
    assert_eq!(links[1]["islink"], "00EBGH4GK488LFQD2CGB02LAES0007J5");
    assert_eq!(interaction["complete"], true);
    assert!(interaction["interaction_id"].as_str().unwrap().len() == 16);
    assert!(interaction["released_by"]["who"].is_string());
}

#[test]
fn filters_select_the_interactions_that_contain_them() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink").display().to_string();
    for (flag, value, hits) in [
        ("--call-uuid", "01AE904GK088LFQD2CGB02LAES0000EP", 1),
        ("--call-uuid", "00RP30KH7088L1IC08GB82LAES999999", 0),
        ("--conn-id", "009A021843038407", 1),
        ("--islink", "00EBGH4GK488LFQD2CGB02LAES0007J5", 1),
        ("--islink", "00RP30KH7088L1IC08GB82LAES000317", 0),
        ("--dn", "7001", 0),
    ] {
        let found = interactions(&callstitch(&["trace", "--json", flag, value, &dir]));
        assert_eq!(found.len(), hits, "{flag} {value}");
    }
}

#[test]
fn the_readable_view_shows_segments_links_and_clocks() {
    let output = callstitch(&["trace", &seed("Tserver2.log"), &seed("SIPServer1.log")]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("1. Tserver2 (Tserver2@Avaya_Switch1)  00RP30KH7088L1IC08GB82LAES000317  root"),
        "{text}"
    );
    assert!(
        text.contains("3. Tserver2 (Tserver2@Avaya_Switch1)  00RP30KH7088L1IC08GB82LAES00031D  hop"),
        "{text}"
    );
    assert!(text.contains("islink 00RP30KH7088L1IC08GB82LAES000316: Tserver2/00RP30KH7088L1IC08GB82LAES000317 → SIPServer1/01AE904GK088LFQD2CGB02LAES0000EP"), "{text}");
    assert!(text.contains("clock: Tserver2 is -267.1 ms from SIPServer1 (two-way, 2 links)"), "{text}");
    assert!(text.contains("1 interactions shown of 1 (1 complete, 1 across sites), 3 calls"), "{text}");
}

/// The whole loop through the binary: a simulated contact center of four sites, its logs
/// traced, and the interactions found checked against the simulator's truth.
#[test]
fn simulated_interactions_are_traced_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("center");
    let simulate =
        callstitch(&["simulate", "--out", out.to_str().unwrap(), "--interactions", "300", "--seed", "11"]);
    assert_eq!(simulate.status.code(), Some(0), "{}", String::from_utf8_lossy(&simulate.stderr));
    let traced = callstitch(&["trace", "--json", out.to_str().unwrap()]);
    assert_eq!(traced.status.code(), Some(0), "{}", String::from_utf8_lossy(&traced.stderr));
    assert!(traced.stderr.is_empty(), "no problems: {}", String::from_utf8_lossy(&traced.stderr));
    let found = dir.path().join("found.jsonl");
    std::fs::write(&found, &traced.stdout).unwrap();
    let truth = out.join("truth.jsonl");
    let verify = callstitch(&["verify", "--strict", truth.to_str().unwrap(), found.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(verify.status.code(), Some(0), "{report}");
    assert!(report.contains("exact interactions: 1.0000 (300 of 300)"), "{report}");
    assert!(report.contains("right order (of exact): 1.0000"), "{report}");
}

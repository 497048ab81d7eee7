//! End-to-end: `callstitch simulate` writes a set that `callstitch parse` reads with zero
//! problems, repeats byte for byte for one seed, reports usage errors with exit code 2, and
//! `callstitch verify` scores the truth against itself as perfect.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn simulate(dir: &Path, extra: &[&str]) -> Output {
    let out = dir.to_str().expect("a UTF-8 temporary path");
    let mut args =
        vec!["simulate", "--out", out, "--interactions", "150", "--seed", "42", "--segment-mb", "1"];
    args.extend_from_slice(extra);
    let output = callstitch(&args);
    assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("the output directory lists")
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            (name, std::fs::read(&path).expect("the file reads"))
        })
        .collect()
}

fn parse_stats(dir: &Path) -> serde_json::Value {
    let output = callstitch(&["parse", "--stats", "--format", "json", dir.to_str().unwrap_or_default()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("parse --stats prints JSON")
}

#[test]
fn a_simulated_set_parses_back_with_zero_problems() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    simulate(dir.path(), &[]);
    let written = files(dir.path());
    assert!(written.contains_key("truth.jsonl") && written.contains_key("center.json"));
    assert_eq!(
        written
            .keys()
            .filter(|name| name.ends_with(".log"))
            .map(|name| &name[..6])
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4
    );
    let stats = parse_stats(dir.path());
    assert_eq!(stats["problems"], serde_json::json!({}), "{stats}");
    assert!(stats["events"].as_u64().unwrap_or(0) > 1000);
    let truth = String::from_utf8_lossy(&written["truth.jsonl"]).lines().count();
    assert_eq!(truth, 150);
}

#[test]
fn one_seed_writes_identical_files() {
    let first = tempfile::tempdir().expect("a temporary directory");
    let second = tempfile::tempdir().expect("a temporary directory");
    simulate(first.path(), &["--noise"]);
    simulate(second.path(), &["--noise"]);
    assert_eq!(files(first.path()), files(second.path()));
}

#[test]
fn noise_shows_in_the_parse_counts_as_the_manifest_says() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    simulate(dir.path(), &["--noise"]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("noise.json")).expect("noise.json"))
            .expect("JSON");
    let stats = parse_stats(dir.path());
    assert_eq!(stats["foreign_lines"], manifest["foreign_lines"]);
    assert_eq!(stats["bsync_events"], manifest["bsync_events"]);
    assert_eq!(stats["problems"], manifest["expected_problems"]);
}

#[test]
fn bad_settings_are_usage_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().to_str().unwrap_or_default();
    assert_eq!(callstitch(&["simulate", "--out", out, "--rate", "fast"]).status.code(), Some(2));
    assert_eq!(callstitch(&["simulate", "--out", out, "--sites", "0"]).status.code(), Some(2));
    assert_eq!(
        callstitch(&["simulate", "--out", out, "--noise", "--format", "jsonl"]).status.code(),
        Some(2)
    );
    assert_eq!(callstitch(&["verify", "missing-truth.jsonl", "missing.jsonl"]).status.code(), Some(2));
    for bad in [
        &["--long-calls", "120%"][..],
        &["--long-calls", "some"],
        &["--keep-conn", "2.5"],
        &["--conn-reuse-after", "soon"],
        &["--scenarios", "teleport"],
        &["--scenarios", "acd=0"],
        &["--sites", "2", "--scenarios", "sip-refer-transfer"],
        &["--scale", "--long-calls", "10"],
    ] {
        let mut args = vec!["simulate", "--out", out];
        args.extend_from_slice(bad);
        let output = callstitch(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {stderr}");
        let value_unreadable = ["120%", "some", "soon", "teleport"].contains(&bad[1]);
        if value_unreadable {
            assert!(stderr.contains(bad[0]), "the message names the flag {}: {stderr}", bad[0]);
        }
    }
}

#[test]
fn the_issue_12_options_repeat_byte_for_byte_and_shape_the_estate() {
    let first = tempfile::tempdir().expect("a temporary directory");
    let second = tempfile::tempdir().expect("a temporary directory");
    let options = [
        "--sites",
        "5",
        "--long-calls",
        "50%",
        "--skew-ms",
        "8000",
        "--keep-conn",
        "100",
        "--conn-reuse",
        "10%",
        "--conn-reuse-after",
        "1m",
        "--scenarios",
        "return-trip,sip-reinvite-transfer=2",
    ];
    simulate(first.path(), &options);
    simulate(second.path(), &options);
    let written = files(first.path());
    assert_eq!(written, files(second.path()));
    let center: serde_json::Value = serde_json::from_slice(&written["center.json"]).expect("center.json");
    let skews: Vec<i64> = center["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|site| site["skew_micros"].as_i64())
        .collect();
    assert!(
        skews.iter().all(|skew| skew.abs() <= 8_000_000) && skews.iter().any(|skew| skew.abs() > 450_000)
    );
    let truth = String::from_utf8_lossy(&written["truth.jsonl"]).into_owned();
    let scenarios: std::collections::BTreeSet<String> = truth
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|interaction| interaction["scenario"].as_str().map(str::to_string))
        .collect();
    assert_eq!(scenarios, ["return-trip", "sip-reinvite-transfer"].map(str::to_string).into());
    let stats = parse_stats(first.path());
    assert_eq!(stats["problems"], serde_json::json!({}), "{stats}");
}

#[test]
fn verify_scores_the_truth_against_itself_as_perfect() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    simulate(dir.path(), &[]);
    let truth = dir.path().join("truth.jsonl");
    let truth = truth.to_str().unwrap_or_default();
    let output = callstitch(&["verify", "--strict", truth, truth]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("pairwise precision: 1.0000"), "{text}");
    assert!(text.contains("exact interactions: 1.0000 (150 of 150)"), "{text}");
}

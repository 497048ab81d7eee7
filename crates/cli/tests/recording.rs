//! End-to-end tests of recordings through the binary: a simulated center traced with its
//! media feed gives each recorded interaction its files under one recording id, as the
//! simulator's truth says; `callstitch recording ID` prints one recording's metadata; a bad
//! feed is reported with line numbers and nothing else is lost.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn json_lines(text: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

fn simulate(dir: &Path, seed: &str) -> String {
    let out = dir.join("center");
    let out_text = out.to_str().expect("utf-8 path").to_string();
    // Short talk times: with the default mix's long calls, today's linker splits interactions
    // whose receiving call outlasts the link timeout (issue 12), and their recordings with them.
    let simulated = callstitch(&[
        "simulate",
        "--out",
        &out_text,
        "--interactions",
        "150",
        "--seed",
        seed,
        "--long-calls",
        "0",
    ]);
    assert_eq!(simulated.status.code(), Some(0), "{}", String::from_utf8_lossy(&simulated.stderr));
    out_text
}

/// The last revision of each interaction, by its recording id (the root's CallUUID).
fn by_recording(found: Vec<serde_json::Value>) -> BTreeMap<String, serde_json::Value> {
    let replaced: BTreeSet<String> = found
        .iter()
        .flat_map(|value| value["replaces"].as_array().cloned().unwrap_or_default())
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    let mut latest: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for value in found {
        let id = value["interaction_id"].as_str().unwrap_or_default().to_string();
        if !replaced.contains(&id) {
            latest.insert(id, value);
        }
    }
    latest
        .into_values()
        .map(|value| (value["recording"]["recording_id"].as_str().unwrap_or_default().to_string(), value))
        .collect()
}

#[test]
fn simulated_recordings_are_grouped_under_one_id_as_the_truth_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = simulate(dir.path(), "5");
    let media = format!("{out}/media.jsonl");
    let traced = callstitch(&["trace", "--json", "--media", &media, &out]);
    assert_eq!(traced.status.code(), Some(0), "{}", String::from_utf8_lossy(&traced.stderr));
    assert!(
        traced.stderr.is_empty(),
        "every media file matched: {}",
        String::from_utf8_lossy(&traced.stderr)
    );
    let found = by_recording(json_lines(&traced.stdout));
    let truth = json_lines(&std::fs::read(format!("{out}/truth.jsonl")).expect("truth"));
    let mut recorded = 0;
    for interaction in &truth {
        let Some(media) = interaction["media"].as_array().filter(|media| !media.is_empty()) else { continue };
        recorded += 1;
        let root = interaction["segments"][0]["call_uuid"].as_str().expect("root CallUUID");
        let found = found.get(root).unwrap_or_else(|| panic!("no recording {root}"));
        let files = found["recording"]["media_files"].as_array().expect("media_files");
        let key = |file: &serde_json::Value, side: &str| {
            (
                file["media_id"].as_str().unwrap_or_default().to_string(),
                file["site"].as_str().unwrap_or_default().to_string(),
                file["call_uuid"].as_str().unwrap_or_default().to_string(),
                file["recorded_dn"].as_str().unwrap_or_default().to_string(),
                file[side].as_str().unwrap_or_default().to_string(),
            )
        };
        let expected: BTreeSet<_> = media.iter().map(|file| key(file, "recorded_side")).collect();
        let actual: BTreeSet<_> = files.iter().map(|file| key(file, "side")).collect();
        assert_eq!(actual, expected, "recording {root}");
        assert!(files.iter().all(|file| file["provenance"] == "media-feed" && file["stop"].is_string()));
    }
    assert!(recorded > 50, "the simulation records most interactions ({recorded})");
}

#[test]
fn recording_prints_one_interactions_metadata_and_inference_works_without_a_feed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = simulate(dir.path(), "9");
    let truth = json_lines(&std::fs::read(format!("{out}/truth.jsonl")).expect("truth"));
    let multi = truth
        .iter()
        .find(|interaction| {
            interaction["media"].as_array().is_some_and(|media| {
                media.iter().map(|file| file["site"].as_str()).collect::<BTreeSet<_>>().len() > 1
            })
        })
        .expect("a recording over two sites");
    let root = multi["segments"][0]["call_uuid"].as_str().expect("root");
    let media = format!("{out}/media.jsonl");
    let printed = callstitch(&["recording", root, "--media", &media, &out]);
    assert_eq!(printed.status.code(), Some(0), "{}", String::from_utf8_lossy(&printed.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&printed.stdout).expect("one JSON object");
    assert_eq!(metadata["id"], root);
    let files = metadata["mediaFiles"].as_array().expect("mediaFiles");
    assert_eq!(files.len(), multi["media"].as_array().map_or(0, Vec::len));
    assert!(files
        .iter()
        .all(|file| file["callUUID"].is_string() && file["parameters"]["recordDN"].is_string()));
    assert!(metadata["eventHistory"].as_array().is_some_and(|history| !history.is_empty()));
    assert!(metadata["callerPhoneNumber"].is_string());

    let inferred = callstitch(&["trace", "--json", "--call-uuid", root, &out]);
    let found = json_lines(&inferred.stdout);
    let last = found.last().expect("the interaction");
    let files = last["recording"]["media_files"].as_array().expect("media_files");
    assert!(!files.is_empty() && files.iter().all(|file| file["provenance"] == "inferred"));

    let filtered = callstitch(&["trace", "--json", "--media", &media, "--call-uuid", root, &out]);
    assert_eq!(filtered.status.code(), Some(0));
    assert!(
        filtered.stderr.is_empty(),
        "a filter makes no orphans: {}",
        String::from_utf8_lossy(&filtered.stderr)
    );
    assert_eq!(json_lines(&filtered.stdout).last().expect("shown")["recording"]["recording_id"], root);

    let missing = callstitch(&["recording", "NO-SUCH-ID", &out]);
    assert_ne!(missing.status.code(), Some(0));
}

#[test]
fn a_bad_feed_is_reported_by_line_and_the_rest_is_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = simulate(dir.path(), "5");
    let good = std::fs::read_to_string(format!("{out}/media.jsonl")).expect("feed");
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines.insert(1, "{not json".to_string());
    lines.insert(3, r#"{"type":"media","media_id":"nobody","stop":"2026-02-02T08:00:00Z"}"#.to_string());
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n")).expect("written");
    let traced = callstitch(&["trace", "--json", "--media", bad.to_str().expect("utf-8"), &out]);
    assert_eq!(traced.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&traced.stderr);
    assert!(stderr.contains("line 2: not a media object"), "{stderr}");
    assert!(stderr.contains("line 4: stop for media nobody without a start"), "{stderr}");
    let files: usize = by_recording(json_lines(&traced.stdout))
        .values()
        .map(|value| value["recording"]["media_files"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(files, good.lines().count(), "every good line's file is kept");
}

#[test]
fn without_a_feed_every_simulated_file_is_inferred_from_gsip_rec_fn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = simulate(dir.path(), "6");
    let traced = callstitch(&["trace", "--json", &out]);
    assert_eq!(traced.status.code(), Some(0), "{}", String::from_utf8_lossy(&traced.stderr));
    let found = by_recording(json_lines(&traced.stdout));
    let truth = json_lines(&std::fs::read(format!("{out}/truth.jsonl")).expect("truth"));
    for interaction in &truth {
        let media = interaction["media"].as_array().cloned().unwrap_or_default();
        let root = interaction["segments"][0]["call_uuid"].as_str().expect("root CallUUID");
        let files =
            found.get(root).map(|value| value["recording"]["media_files"].clone()).unwrap_or_default();
        let files = files.as_array().cloned().unwrap_or_default();
        let ids = |list: &[serde_json::Value]| -> BTreeSet<String> {
            list.iter().filter_map(|file| file["media_id"].as_str().map(str::to_string)).collect()
        };
        assert_eq!(ids(&files), ids(&media), "recording {root}");
        assert!(files.iter().all(|file| file["provenance"] == "inferred"));
    }
}

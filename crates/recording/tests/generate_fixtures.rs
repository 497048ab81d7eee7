//! Regenerates the simulated fixtures (`cargo test -p callstitch-recording --test
//! generate_fixtures -- --ignored`): one interaction per case cut out of a simulated
//! three-site center (SIP_LON records agents and customers, SIP_BLR agents, TS_NYC nothing),
//! as one log per site, its media feed and its truth.

mod common;

use std::collections::BTreeSet;
use std::fs;

use callstitch_sim::{simulate, MemoryStorage, OutputFormat, SimConfig};
use callstitch_tlib::json::event_from_json;

/// (fixture, scenario, the site the interaction must start at).
const CASES: [(&str, &str, &str); 9] = [
    ("in-site-single-step-transfer", "single-step-transfer", "SIP_LON"),
    ("in-site-two-step-transfer", "two-step-transfer", "SIP_LON"),
    ("sip-reinvite-transfer", "sip-reinvite-transfer", "SIP_LON"),
    ("sip-refer-transfer", "sip-refer-transfer", "SIP_LON"),
    ("agent-multi-site-transfer", "sip-refer-transfer", "SIP_BLR"),
    ("multi-site-consult-transfer", "multi-site-consult-transfer", "SIP_LON"),
    ("multi-site-conference", "multi-site-conference", "SIP_LON"),
    ("iscc-transfer", "iscc-transfer", "SIP_LON"),
    ("hold-retrieve", "hold-retrieve", "SIP_LON"),
];

#[test]
#[ignore = "writes the fixtures"]
fn regenerate() {
    let config = SimConfig {
        sites: 3,
        interactions: Some(600),
        seed: 11,
        format: OutputFormat::JsonLines,
        ..SimConfig::default()
    };
    let mut storage = MemoryStorage::new();
    simulate(&config, &mut storage).expect("simulated");
    let files = storage.files();
    let truth_text = String::from_utf8(files["truth.jsonl"].clone()).expect("utf-8");
    let media_text = String::from_utf8(files["media.jsonl"].clone()).expect("utf-8");
    let truths: Vec<serde_json::Value> =
        truth_text.lines().map(|line| serde_json::from_str(line).expect("truth line")).collect();
    let mut events = Vec::new();
    for (name, bytes) in &files {
        if name.ends_with(".jsonl")
            && !["truth.jsonl", "media.jsonl", "recordings.jsonl"].contains(&name.as_str())
        {
            for line in String::from_utf8_lossy(bytes).lines() {
                events.push(event_from_json(line).expect("event"));
            }
        }
    }
    for (fixture, scenario, home) in CASES {
        let truth = truths
            .iter()
            .find(|truth| {
                truth["scenario"] == scenario
                    && truth["segments"][0]["site"] == home
                    && truth["media"].as_array().is_some_and(|media| !media.is_empty())
            })
            .unwrap_or_else(|| panic!("no {scenario} from {home}"));
        let uuids: BTreeSet<(String, String)> = truth["segments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|segment| {
                (
                    segment["site"].as_str().unwrap_or("").to_string(),
                    segment["call_uuid"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let mine: Vec<_> = events
            .iter()
            .filter(|event| {
                event
                    .call_uuid
                    .as_ref()
                    .is_some_and(|uuid| uuids.contains(&(event.site.to_string(), uuid.to_string())))
            })
            .cloned()
            .collect();
        let dir = common::fixture_dir(fixture);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("fixture dir");
        common::write_logs(&dir, &mine);
        let call_uuids: BTreeSet<&str> = uuids.iter().map(|(_, uuid)| uuid.as_str()).collect();
        let media: Vec<&str> = media_text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|value| value["call_uuid"].as_str().map(|uuid| call_uuids.contains(uuid)))
                    .unwrap_or(false)
            })
            .collect();
        fs::write(dir.join("media.jsonl"), media.join("\n") + "\n").expect("feed written");
        fs::write(dir.join("truth.json"), serde_json::to_string_pretty(truth).expect("json") + "\n")
            .expect("truth written");
    }
}

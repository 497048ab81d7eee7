//! Who is heard, against the simulator's truth: a simulated estate (call monitoring with
//! customers as parties at some sites, conferences, transfers across sites) traced with its
//! media feed; every file must hear at least whom the truth says (its recorded side, and the
//! customer on a file of a call the customer was on), as `callstitch verify` checks it.

use crate::common;

use callstitch_recording::{read_feed, Recorder, RecorderConfig};
use callstitch_sim::{
    read_interactions, read_verdicts, simulate, verify_verdicts, MemoryStorage, OutputFormat, SimConfig,
};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;

/// The events of a run written as JSON lines (every `.jsonl` but the truth and the feeds).
fn json_events(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Vec<Event> {
    let not_events = ["truth.jsonl", "media.jsonl", "recordings.jsonl"];
    files
        .iter()
        .filter(|(name, _)| name.ends_with(".jsonl") && !not_events.contains(&name.as_str()))
        .flat_map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(|line| event_from_json(line).expect("event"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_simulated_file_hears_the_recorded_side_and_the_customer() {
    let config = SimConfig {
        sites: 4,
        interactions: Some(800),
        seed: 17,
        format: OutputFormat::JsonLines,
        ..SimConfig::default()
    };
    let mut storage = MemoryStorage::new();
    let summary = simulate(&config, &mut storage).expect("simulated");
    let files = storage.files();
    let text = |name: &str| {
        String::from_utf8_lossy(files.get(name).map(Vec::as_slice).unwrap_or_default()).into_owned()
    };
    let mut events = json_events(&files);
    events.sort_by_key(|event| event.time().map_or(i64::MIN, |time| time.0));
    let sites: Vec<String> =
        summary.files.iter().filter_map(|name| name.split('-').next()).map(str::to_string).collect();
    let (interactions, signals) = common::stitch(&events, &sites);
    let feed = read_feed(text("media.jsonl").as_bytes()).expect("in memory");
    let mut recorder = Recorder::new(RecorderConfig::default(), Some(feed));
    let found: Vec<String> = interactions
        .iter()
        .map(|interaction| {
            let recording = recorder.recording(interaction, &signals);
            let mut value = serde_json::to_value(interaction).expect("json");
            value["recording"] = serde_json::to_value(&recording).expect("json");
            value.to_string()
        })
        .collect();
    let truth = read_interactions(&text("truth.jsonl")).expect("the truth reads");
    let report = verify_verdicts(&truth, &read_verdicts(&found.join("\n")).expect("reads"), 10);
    let expected_files: usize = truth.iter().map(|interaction| interaction.media.len()).sum();
    assert!(
        report.files > expected_files * 9 / 10,
        "{} of {expected_files}: {}",
        report.files,
        report.render_text()
    );
    assert_eq!(report.files_missing_heard, 0, "{}", report.render_text());
    assert!(report.is_right(), "{}", report.render_text());
}

//! Regression: when interactions already handed out under their own ids are joined by late
//! evidence, the joined interaction says it replaces every one of them (not only the one
//! whose component absorbed the others), so a store can drop them all. Live: the service
//! hands interactions out as they change, and a site that went quiet leaves the estate.

use std::path::PathBuf;

use callstitch_engine::config::SECOND;
use callstitch_engine::EngineConfig;
use callstitch_link::{Interaction, LinkerConfig, LiveClock, SiteDirectory, Stitcher};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::Event;

fn events(file: &str) -> Vec<Event> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink").join(file);
    LogReader::open(&path, ReaderOptions::default()).unwrap().map(|event| event.unwrap()).collect()
}

#[test]
fn a_join_of_two_handed_out_interactions_replaces_both() {
    let engine = EngineConfig { idle_timeout: 2 * SECOND, ..EngineConfig::default() };
    let linker = LinkerConfig {
        linger: SECOND,
        link_timeout: 5 * SECOND,
        live: Some(LiveClock { idle_after: 60 * SECOND }),
        ..LinkerConfig::default()
    };
    let mut stitcher = Stitcher::new(engine, linker, SiteDirectory::new(["Tserver2", "SIPServer1"]));
    let mut out: Vec<Interaction> = Vec::new();
    // Tserver2's two calls arrive alone and are handed out while their links wait: each is
    // its own interaction (they are joined only through SIPServer1's call).
    // Wall time: ten seconds after the fixture's first event (2012-10-29T14:41:00Z).
    let wall = 1_351_521_670 * SECOND;
    for event in &events("Tserver2.log") {
        stitcher.push_at(event, Some(wall), &mut |_| {}, &mut |interaction| out.push(interaction));
    }
    stitcher.flush(&mut |interaction| out.push(interaction));
    // Ten quiet seconds: the calls' idle timeout and the links' wait pass on the estate's time.
    stitcher.tick(wall + 10 * SECOND, &mut |_| {}, &mut |interaction| out.push(interaction));
    stitcher.flush(&mut |interaction| out.push(interaction));
    let mut first: Vec<String> = out.iter().map(|interaction| interaction.interaction_id.clone()).collect();
    first.sort();
    first.dedup();
    assert_eq!(first.len(), 2, "{out:#?}");
    assert!(out.iter().all(|interaction| interaction.segments.len() == 1));
    // SIPServer1's call arrives late and joins them.
    for event in &events("SIPServer1.log") {
        stitcher
            .push_at(event, Some(wall + 11 * SECOND), &mut |_| {}, &mut |interaction| out.push(interaction));
    }
    stitcher.flush(&mut |interaction| out.push(interaction));
    stitcher.finish(&mut |_| {}, &mut |interaction| out.push(interaction));
    let joined = out.last().unwrap();
    assert_eq!(joined.segments.len(), 3, "{joined:#?}");
    for id in &first {
        assert!(
            *id == joined.interaction_id || joined.replaces.contains(id),
            "{id} is neither the joined interaction nor replaced by it: {:?}",
            joined.replaces
        );
    }
}

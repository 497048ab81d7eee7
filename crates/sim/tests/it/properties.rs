//! Properties over any seed: the logs parse with zero problems, one seed gives identical
//! bytes, and the scale path's output parses as cleanly as the pool it copies.

use crate::common;

use callstitch_sim::{simulate_scale, MemoryStorage, ScaleConfig, SimConfig};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_seed_parses_cleanly_and_repeats(seed in any::<u64>(), sites in 1_usize..6) {
        let config = SimConfig { interactions: Some(25), sites, seed, segment_bytes: 16 << 10, ..SimConfig::default() };
        let first = common::generate(&config);
        let (events, stats) = first.read_back();
        prop_assert!(stats.problems.is_empty(), "{:?}", stats.problems);
        prop_assert_eq!(events.len() as u64, first.summary.events);
        prop_assert_eq!(first.truth().len(), 25);
        let again = common::generate(&config);
        prop_assert!(first.files == again.files);
    }
}

#[test]
fn scale_copies_parse_cleanly_with_fresh_ids() {
    let config = ScaleConfig {
        target_bytes: 3 << 20,
        pool_interactions: 150,
        segment_bytes: 1 << 20,
        ..ScaleConfig::default()
    };
    let mut storage = MemoryStorage::new();
    let summary = simulate_scale(&config, &mut storage).unwrap_or_else(|error| panic!("{error}"));
    assert!(summary.copies > 2 && summary.bytes >= 3 << 20, "{summary:?}");
    let mut events = 0;
    let mut created = std::collections::BTreeSet::new();
    let mut created_events = 0;
    let mut last_seq = std::collections::BTreeMap::new();
    for name in &summary.files {
        let bytes = storage.file(name).unwrap_or_default();
        let mut reader = LogReader::new(bytes.as_slice(), ReaderOptions::default());
        while let Some(event) = reader.next_event().unwrap_or(None) {
            events += 1;
            if event.message == callstitch_tlib::Message::EventCallCreated {
                created_events += 1;
                created.insert((event.site.to_string(), event.call_uuid.clone()));
            }
            let seq = event.seq.unwrap_or_default();
            if let Some(last) = last_seq.insert(event.site.to_string(), seq) {
                assert_eq!(seq, last + 1, "sequence numbers run on across copies");
            }
            assert!(event
                .log_time
                .is_some_and(|time| event.timestamp.is_some_and(|stamp| (time.0 - stamp.0).abs() < 1000)));
        }
        assert!(reader.stats().problems.is_empty(), "{name}: {:?}", reader.stats().problems);
    }
    assert_eq!(events, summary.events);
    assert_eq!(created.len(), created_events, "every copy's calls have their own CallUUIDs");
}

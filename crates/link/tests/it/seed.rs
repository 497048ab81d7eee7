//! The acceptance example: the seed's two-site log (fixtures/seed-islink) is one interaction
//! of three segments, Tserver2/…317 → SIPServer1/…0EP → Tserver2/…31D, joined by two links,
//! whatever the order the files or their events arrive in.

use std::path::PathBuf;

use callstitch_link::{
    stitch, Calls, EvidenceKind, Interaction, Linking, OffsetMethod, SegmentRole, SiteDirectory,
};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::Event;
use proptest::prelude::*;

fn events(file: &str) -> Vec<Event> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink").join(file);
    LogReader::open(&path, ReaderOptions::default()).unwrap().map(|event| event.unwrap()).collect()
}

fn sites() -> SiteDirectory {
    SiteDirectory::new(["Tserver2", "SIPServer1"])
}

fn order(interaction: &Interaction) -> Vec<(String, String)> {
    interaction.segments.iter().map(|segment| (segment.site.to_string(), segment.key.clone())).collect()
}

fn expected_order() -> Vec<(String, String)> {
    [
        ("Tserver2", "00RP30KH7088L1IC08GB82LAES000317"),
        ("SIPServer1", "01AE904GK088LFQD2CGB02LAES0000EP"),
        ("Tserver2", "00RP30KH7088L1IC08GB82LAES00031D"),
    ]
    .map(|(site, key)| (site.to_string(), key.to_string()))
    .to_vec()
}

fn check(interactions: &[Interaction]) {
    assert_eq!(interactions.len(), 1, "{interactions:#?}");
    let interaction = &interactions[0];
    assert_eq!(order(interaction), expected_order());
    assert_eq!(interaction.links.len(), 2);
    let links: Vec<(&str, String, String)> = interaction
        .links
        .iter()
        .map(|link| (link.islink.as_deref().unwrap(), link.from.key.clone(), link.to.key.clone()))
        .collect();
    assert_eq!(
        links,
        [
            (
                "00RP30KH7088L1IC08GB82LAES000316",
                "00RP30KH7088L1IC08GB82LAES000317".to_string(),
                "01AE904GK088LFQD2CGB02LAES0000EP".to_string()
            ),
            (
                "00EBGH4GK488LFQD2CGB02LAES0007J5",
                "01AE904GK088LFQD2CGB02LAES0000EP".to_string(),
                "00RP30KH7088L1IC08GB82LAES00031D".to_string()
            ),
        ],
        "in the order of the segments they leave from"
    );
    assert!(interaction.links.iter().all(|link| link.consistent && link.evidence == EvidenceKind::Islink));
    assert!(interaction.complete);
    assert_eq!(interaction.linking, Linking::Complete);
    assert_eq!(interaction.calls, Calls::Truncated, "the fixture has no call-ending events");
    assert_eq!(interaction.segments[0].role, SegmentRole::Root);
    assert_eq!(interaction.segments[1].location.as_deref(), Some("SIPServer1@SIP_Switch1"));
    assert_eq!(interaction.segments[0].location.as_deref(), Some("Tserver2@Avaya_Switch1"));
}

#[test]
fn the_seed_is_one_interaction_of_three_segments_in_link_order() {
    let mut all = events("Tserver2.log");
    all.extend(events("SIPServer1.log"));
    let interactions = stitch(&all, sites());
    check(&interactions);
    // Clocks disagree: SIPServer1 logs the arrival 45 ms before Tserver2 logs the departure,
    // and the return 579 ms before it is sent. Both ways, the delay cancels out.
    let offset = &interactions[0].clock_offsets[0];
    assert_eq!((offset.method, offset.links), (OffsetMethod::TwoWay, 2));
    assert_eq!((offset.site.as_str(), offset.relative_to.as_str()), ("Tserver2", "SIPServer1"));
    assert!((offset.offset_ms - (-267.1)).abs() < 0.1, "{offset:?}");
}

#[test]
fn the_files_in_the_other_order_give_the_same_interaction() {
    let mut all = events("SIPServer1.log");
    all.extend(events("Tserver2.log"));
    let first = stitch(&all, sites());
    check(&first);
    let mut other = events("Tserver2.log");
    other.extend(events("SIPServer1.log"));
    assert_eq!(first, stitch(&other, sites()));
}

#[test]
fn the_interaction_id_is_stable_and_unchanged_by_an_unrelated_file() {
    let mut all = events("Tserver2.log");
    all.extend(events("SIPServer1.log"));
    let alone = stitch(&all, sites());
    let mut with_other = all.clone();
    let mut unrelated = events("Tserver2.log");
    for (index, event) in unrelated.iter_mut().enumerate() {
        event.site = "Tserver9".into();
        event.is_links = None;
        event.call_uuid =
            Some(callstitch_tlib::CallUuid::new(&format!("09UNRELATED000000000000000000{index:03}")));
        // The ConnID stays 009a021843038407: shared by unrelated calls on another site, it
        // must join nothing.
    }
    with_other.extend(unrelated);
    let together = stitch(&with_other, SiteDirectory::new(["Tserver2", "SIPServer1", "Tserver9"]));
    let id = &alone[0].interaction_id;
    assert_eq!(together.iter().filter(|interaction| interaction.interaction_id == *id).count(), 1);
    assert_eq!(together.len(), 3, "the unrelated calls are interactions of their own");
}

proptest! {
    /// Any interleaving of the two sites' streams (each site's events keep their order).
    #[test]
    fn any_interleaving_of_the_sites_gives_the_same_interaction(choices in proptest::collection::vec(any::<bool>(), 4)) {
        let (mut tserver, mut sip) = (events("Tserver2.log").into_iter(), events("SIPServer1.log").into_iter());
        let mut merged = Vec::new();
        for take_tserver in choices {
            let next = if take_tserver { tserver.next().or_else(|| sip.next()) } else { sip.next().or_else(|| tserver.next()) };
            merged.extend(next);
        }
        merged.extend(tserver);
        merged.extend(sip);
        let interactions = stitch(&merged, sites());
        check(&interactions);
    }

    /// Even an arbitrary permutation of the four events (the engine orders each site's
    /// events by sequence number within a call).
    #[test]
    fn any_permutation_of_the_four_events_gives_the_same_interaction(seed in any::<u64>()) {
        let mut all = events("Tserver2.log");
        all.extend(events("SIPServer1.log"));
        let mut state = seed | 1;
        for index in (1..all.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            all.swap(index, (state % (index as u64 + 1)) as usize);
        }
        check(&stitch(&all, sites()));
    }
}

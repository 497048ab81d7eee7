//! Any arrival order, same interactions: for random interleavings of the sites' streams that
//! keep each site's own order (what log shippers, HTTP collectors and backfills produce), the
//! interactions handed out are identical (segments, order, links, verdicts, ids), each is
//! handed out once, and nothing is held once the input ended.

use crate::common;

use callstitch_link::{stitch, Interaction, SiteDirectory};
use callstitch_tlib::{Event, Timestamp};
use common::generator::{generate, sites, Random};
use common::{concatenated, merged, Site, SECOND};
use proptest::prelude::*;

fn directory() -> SiteDirectory {
    SiteDirectory::new(["TsA", "TsB", "SipC", "SipD"])
}

fn sorted_json(interactions: &[Interaction]) -> Vec<String> {
    let mut lines: Vec<String> =
        interactions.iter().map(|interaction| serde_json::to_string(interaction).expect("json")).collect();
    lines.sort();
    lines
}

/// The sites' streams interleaved at random, each site's order kept: runs of 1 to `run`
/// events of a site chosen at random.
fn interleaved(sites: &[Site], seed: u64, run: u64) -> Vec<Event> {
    let mut random = Random(seed | 1);
    let mut next = vec![0usize; sites.len()];
    let total: usize = sites.iter().map(|site| site.events.len()).sum();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        let open: Vec<usize> =
            (0..sites.len()).filter(|site| next[*site] < sites[*site].events.len()).collect();
        let site = open[random.below(open.len() as u64) as usize];
        let take = 1 + random.below(run) as usize;
        let end = (next[site] + take).min(sites[site].events.len());
        out.extend(sites[site].events[next[site]..end].iter().cloned());
        next[site] = end;
    }
    out
}

fn reference(count: usize, seed: u64) -> (Vec<Site>, Vec<String>) {
    reference_in(count, seed, directory())
}

fn reference_in(count: usize, seed: u64, directory: SiteDirectory) -> (Vec<Site>, Vec<String>) {
    let mut sites = sites();
    generate(count, seed, &mut sites);
    let refs: Vec<&Site> = sites.iter().collect();
    let by_time = stitch(&merged(&refs), directory);
    (sites, sorted_json(&by_time))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_that_keeps_each_sites_order_gives_the_same_interactions(
        seed in 1u64..u64::MAX,
        order in 0u64..u64::MAX,
        run in prop_oneof![Just(1u64), Just(20), Just(400), Just(100_000)],
        named in any::<bool>(),
    ) {
        // Sites named up front (log files), or learned as they come (JSON lines, stdin).
        let directory = || if named { directory() } else { SiteDirectory::default() };
        let (sites, expected) = reference_in(60, seed, directory());
        let events = interleaved(&sites, order, run);
        let found = stitch(&events, directory());
        let mut ids: Vec<&str> = found.iter().map(|interaction| interaction.interaction_id.as_str()).collect();
        ids.sort_unstable();
        let handed_out = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), handed_out, "an interaction was handed out twice");
        prop_assert_eq!(sorted_json(&found), expected);
    }
}

#[test]
fn site_after_site_in_either_order_gives_the_interactions_of_the_merged_read() {
    let (sites, expected) = reference(300, 0x5eed);
    let refs: Vec<&Site> = sites.iter().collect();
    let forward = stitch(&concatenated(&refs), directory());
    assert_eq!(sorted_json(&forward), expected);
    let backward: Vec<&Site> = sites.iter().rev().collect();
    assert_eq!(sorted_json(&stitch(&concatenated(&backward), directory())), expected);
}

#[test]
fn an_empty_directory_learns_the_sites_and_gives_the_same_interactions_in_any_order() {
    let mut sites = sites();
    generate(200, 77, &mut sites);
    let refs: Vec<&Site> = sites.iter().collect();
    let open = |events: &[Event]| {
        // Nothing is off the estate when no site is named: links wait for sites not seen yet.
        sorted_json(&stitch(events, SiteDirectory::default()))
    };
    let by_time = open(&merged(&refs));
    assert_eq!(open(&concatenated(&refs)), by_time);
    assert_eq!(open(&interleaved(&sites, 9, 50)), by_time);
}

#[test]
fn one_event_dated_a_year_ahead_changes_no_interaction() {
    let (mut sites, expected) = reference(200, 31);
    let year = 365 * 24 * 3_600 * SECOND;
    // An event in the middle of a site's stream, read in every order.
    let site = &mut sites[2];
    let middle = site.events.len() / 2;
    let time = site.events[middle].timestamp.map_or(0, |time| time.0);
    site.events[middle].timestamp = Some(Timestamp(time + year));
    let refs: Vec<&Site> = sites.iter().collect();
    for events in [merged(&refs), concatenated(&refs), interleaved(&sites, 4, 30)] {
        let found = stitch(&events, directory());
        let mut json = sorted_json(&found);
        // The event's own time is kept (it is in the interaction's end when it is the last).
        json.iter_mut().for_each(|line| {
            *line = line.replace(&Timestamp(time + year).to_string(), &Timestamp(time).to_string())
        });
        json.sort();
        assert_eq!(json.len(), expected.len());
        let segments = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).expect("json");
                    format!(
                        "{} {}",
                        value["interaction_id"],
                        value["segments"].as_array().map_or(0, Vec::len)
                    )
                })
                .collect()
        };
        assert_eq!(segments(&json), segments(&expected));
    }
}

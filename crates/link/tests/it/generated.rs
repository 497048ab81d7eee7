//! A generated multi-site set: 10,000 interactions over four sites (two T-Servers, two SIP
//! Servers), chains of one to five calls joined by Inter-Site Links or by a CallUUID kept
//! between the SIP Servers, clocks that disagree, interactions that overlap in time, and
//! ConnIDs drawn from a small pool so that they repeat across calls and sites. Every
//! interaction must come back exactly: the same calls, in the same order.

use crate::common;

use std::collections::BTreeMap;

use callstitch_link::{stitch, SiteDirectory};
use common::generator::{generate, sites};
use common::{merged, segments, Site};

#[test]
fn ten_thousand_generated_interactions_come_back_exactly() {
    let mut sites = sites();
    let truth = generate(10_000, 0x5eed, &mut sites);
    let multi_site = truth.iter().filter(|calls| calls.len() > 1).count();
    let kept_uuid_hops = truth
        .iter()
        .flat_map(|calls| calls.windows(2).filter(|pair| pair[0].1 == pair[1].1).collect::<Vec<_>>())
        .count();
    let returns = truth
        .iter()
        .filter(|calls| {
            calls
                .iter()
                .enumerate()
                .any(|(index, call)| calls[..index].iter().any(|earlier| earlier.0 == call.0))
        })
        .count();
    assert!(multi_site > 7_000, "{multi_site} interactions cross sites");
    assert!(kept_uuid_hops > 500, "{kept_uuid_hops} hops keep the CallUUID");
    assert!(returns > 1_000, "{returns} interactions return to a site they left");
    let refs: Vec<&Site> = sites.iter().collect();
    let events = merged(&refs);
    let directory = SiteDirectory::new(["TsA", "TsB", "SipC", "SipD"]);
    let found = stitch(&events, directory);

    let expected: BTreeMap<(String, String), &Vec<(String, String)>> =
        truth.iter().map(|calls| (calls[0].clone(), calls)).collect();
    let mut exact = 0;
    let mut first_differences = Vec::new();
    for interaction in &found {
        let calls = segments(interaction);
        match expected.get(&calls[0]) {
            Some(want) if **want == calls => exact += 1,
            want => {
                if first_differences.len() < 5 {
                    first_differences.push(format!("found {calls:?}, expected {want:?}"));
                }
            }
        }
        assert!(interaction.complete, "{}", interaction.interaction_id);
    }
    assert_eq!(first_differences, Vec::<String>::new());
    assert_eq!(found.len(), truth.len());
    assert_eq!(exact, truth.len());
}

//! Every generated call conforms to its call model, as the call engine judges it, and the
//! truth agrees with what the engine finds: the same calls, the same models' outcomes, and
//! the multi-site rules (new CallUUID per T-Server hop, CallUUID kept between SIP Servers).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use callstitch_engine::{Engine, EngineConfig};
use callstitch_sim::scenario::MIX;
use callstitch_sim::{ContactCenter, SimConfig};

/// One set for every test here (generated once).
fn set() -> &'static common::Set {
    static SET: std::sync::OnceLock<common::Set> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        common::generate(&SimConfig { interactions: Some(3_000), sites: 4, seed: 77, ..SimConfig::default() })
    })
}

#[test]
fn the_engine_finds_no_deviation_in_any_generated_call() {
    let set = set();
    let (events, _) = set.read_back();
    let (calls, _) = Engine::run(EngineConfig::default(), &events);
    let deviating: Vec<String> = calls
        .iter()
        .filter(|call| !call.conformant)
        .take(5)
        .map(|call| format!("{} {} {:?}", call.site, call.key, call.deviations))
        .collect();
    assert!(deviating.is_empty(), "{deviating:#?}");
    let scenarios: BTreeSet<String> = set.truth().iter().filter_map(|truth| truth.scenario.clone()).collect();
    assert_eq!(scenarios.len(), MIX.len(), "every scenario of the mix was played");
}

#[test]
fn every_truth_segment_is_a_call_the_engine_finds_with_the_same_outcome() {
    let set = set();
    let (events, _) = set.read_back();
    let (calls, _) = Engine::run(EngineConfig::default(), &events);
    let mut found: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for call in &calls {
        found.entry((call.site.to_string(), call.key.clone())).or_default().push(call.outcome.slug());
    }
    let mut outcome_differences = BTreeMap::new();
    for interaction in set.truth() {
        let scenario = interaction.scenario.clone().unwrap_or_default();
        for segment in &interaction.segments {
            let key = (segment.site.clone(), segment.call_uuid.clone());
            let outcomes = found.get(&key).unwrap_or_else(|| panic!("{scenario}: the engine saw {key:?}"));
            let expected = segment.outcome.as_deref().unwrap_or_default();
            if outcomes.first() != Some(&expected) {
                *outcome_differences.entry(scenario.clone()).or_insert(0) += 1;
            }
        }
    }
    // Only the multi-site flows whose first site stays in the path (its EventCallDeleted
    // comes at the end of the interaction) may differ; see docs/simulator.md.
    let allowed: BTreeSet<&str> = ["multi-site-consult-transfer", "sip-reinvite-transfer"].into();
    let unexpected: Vec<&String> =
        outcome_differences.keys().filter(|scenario| !allowed.contains(scenario.as_str())).collect();
    assert!(unexpected.is_empty(), "{outcome_differences:?}");
}

#[test]
fn multi_site_hops_follow_the_call_uuid_rules() {
    let set = set();
    let center = ContactCenter::for_seed(4, 77);
    let is_sip = |name: &str| center.sites.iter().any(|site| site.application == name && site.is_sip());
    let mut hops = 0;
    for interaction in set.truth() {
        for link in interaction.links.iter().filter(|link| link.kind != "consultation") {
            hops += 1;
            assert_ne!(link.from.site, link.to.site, "a link joins two servers");
            // A consultation's link moves to the main call at the merge; the CallUUID kept
            // is the consultation's.
            let sender = match interaction.scenario.as_deref() {
                Some("multi-site-consult-transfer") => {
                    interaction.segments.get(1).map(|segment| segment.key())
                }
                _ => None,
            }
            .unwrap_or_else(|| link.from.clone());
            let same_uuid = sender.call_uuid == link.to.call_uuid;
            let sip_to_sip = is_sip(&link.from.site) && is_sip(&link.to.site);
            assert_eq!(
                same_uuid, sip_to_sip,
                "{:?}: CallUUID kept only between SIP Servers",
                interaction.scenario
            );
            if link.kind == "call-uuid" {
                assert!(link.islink.is_none() && sip_to_sip);
            }
        }
        if interaction.scenario.as_deref() == Some("return-trip") {
            let mut sites: Vec<&str> =
                interaction.segments.iter().map(|segment| segment.site.as_str()).collect();
            let total = sites.len();
            sites.sort_unstable();
            sites.dedup();
            assert!(sites.len() < total, "a return trip visits a site twice, as two segments");
        }
        for file in &interaction.media {
            assert!(
                file.media_id.starts_with(&format!("{}_", file.call_uuid)),
                "GSIP_REC_FN starts with the CallUUID"
            );
        }
    }
    assert!(hops > 500);
}

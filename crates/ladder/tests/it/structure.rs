//! Structural checks on the SVG text: every site has its band and every party of the
//! interaction its lane; the seed's Inter-Site Links are drawn as connectors; text from the
//! input is escaped; the order of the events given does not matter; an interaction of 500
//! calls is cut into pages that stay under the height limit and say so; a document with
//! fields this version does not know still draws, one missing a field it needs is an error
//! that names it.

use crate::common;

use callstitch_ladder::{render_json, LadderError, LadderOptions, MAX_HEIGHT, MAX_PER_PAGE};
use callstitch_tlib::{CallUuid, ConnId, Event, KvList, Message, Text, Timestamp, Value as KvValue};
use common::{assert_well_formed, lane_titles, logs_in, only, Log};
use serde_json::{json, Value};

fn height(svg: &str) -> i64 {
    let start = svg.find("height=\"").map(|at| at + 8).expect("height attribute");
    let end = svg[start..].find('"').expect("quoted") + start;
    svg[start..end].parse().expect("a number")
}

/// Every site of the trace has a band and every party DN a lane (as escaped text).
fn assert_sites_and_parties(trace: &Value, svg: &str) {
    let titles = lane_titles(svg);
    for segment in trace["segments"].as_array().expect("segments") {
        let site = segment["site"].as_str().expect("site");
        assert!(svg.contains(&format!(">site {site}</text>")), "band of {site}");
        for party in segment["parties"].as_array().expect("parties") {
            let dn = party["dn"].as_str().expect("dn");
            assert!(titles.iter().any(|title| title == dn), "lane of {dn} at {site} in {titles:?}");
        }
    }
}

fn fixtures() -> Vec<(Vec<Log>, Option<String>)> {
    let mut all = vec![(logs_in("fixtures/seed-islink"), None)];
    for name in ["x11_single_step_transfer", "x12_two_step_after_answer", "x14_two_step_conference"] {
        let path = format!("crates/engine/tests/fixtures/{name}.log");
        all.push((vec![Log { site: "SIPServer1".to_string(), path }], None));
    }
    for case in ["multi-site-conference", "centralized-qualification", "sip-refer-unrecorded-site2"] {
        let dir = format!("crates/recording/tests/fixtures/{case}");
        all.push((logs_in(&dir), Some(format!("{dir}/media.jsonl"))));
    }
    all
}

#[test]
fn every_site_has_a_band_and_every_party_a_lane() {
    for (logs, feed) in fixtures() {
        let traced = only(&logs, feed.as_deref());
        let ladder = render_json(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
        assert_sites_and_parties(&traced.trace, &ladder.svg);
        assert!(
            ladder.svg.contains("<title id=\"ladder-title\">")
                && ladder.svg.contains("<desc id=\"ladder-desc\">")
        );
    }
}

#[test]
fn the_seed_links_are_connectors_between_the_bands() {
    let traced = only(&logs_in("fixtures/seed-islink"), None);
    let svg = render_json(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders").svg;
    let connectors: Vec<&str> = svg.split("<g class=\"islink\"").skip(1).collect();
    assert_eq!(connectors.len(), 2, "two hops, one connector each");
    assert!(connectors[0]
        .contains("hop 1: #1 Tserver2 → #2 SIPServer1, IS-Link 00RP30KH7088L1IC08GB82LAES000316 (islink)"));
    assert!(connectors[1]
        .contains("hop 2: #2 SIPServer1 → #3 Tserver2, IS-Link 00EBGH4GK488LFQD2CGB02LAES0007J5 (islink)"));
    assert!(connectors
        .iter()
        .all(|connector| connector.matches("marker-end=\"url(#ladder-linkhead)\"").count() == 1));
    // Each band says its clock's offset to the other.
    assert!(svg.contains(">clock -267.1 ms vs SIPServer1</text>"), "{svg}");
    assert!(svg.contains(">clock +267.1 ms vs Tserver2</text>"));
}

#[test]
fn events_in_any_order_draw_the_same_picture() {
    let dir = "crates/recording/tests/fixtures/sip-consult-transfer";
    let traced = only(&logs_in(dir), Some(&format!("{dir}/media.jsonl")));
    let forward = render_json(&traced.trace, &traced.events, &LadderOptions::default()).expect("renders");
    let mut reversed = traced.events.clone();
    reversed.reverse();
    let backward = render_json(&traced.trace, &reversed, &LadderOptions::default()).expect("renders");
    assert_eq!(forward.svg, backward.svg);
}

fn event(message: Message, site: &str, uuid: &str, seconds: i64) -> Event {
    let mut event = Event::new(message, site);
    event.call_uuid = Some(CallUuid::new(uuid));
    event.conn_id = Some(ConnId(1));
    event.timestamp = Some(Timestamp(1_770_000_000_000_000 + seconds * 1_000_000));
    event
}

#[test]
fn text_from_the_input_is_escaped() {
    let dn = "<&\"7001'>";
    let trace = common::complete(json!({
        "interaction_id": "x<y", "ani": dn,
        "segments": [{"site": "S&1", "key": "U1", "call_uuid": "U1", "conn_ids": ["0000000000000001"],
                      "parties": [{"dn": dn, "kind": "external"}, {"dn": "</text><script>", "kind": "agent"}]}],
        "released_by": {"dn": dn, "who": "customer"},
        "notes": ["a & b < c"],
        "recording": {"recording_id": "U1", "media_files": [], "findings": []}
    }));
    let mut ringing = event(Message::EventRinging, "S&1", "U1", 1);
    ringing.this_dn = Some(Text::from("</text><script>"));
    ringing.other_dn = Some(Text::from(dn));
    let mut released = event(Message::EventReleased, "S&1", "U1", 9);
    released.this_dn = Some(Text::from(dn));
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", KvValue::Str(Text::from("1 Local")));
    released.extensions = Some(extensions);
    let svg = render_json(&trace, &[ringing, released], &LadderOptions::default()).expect("renders").svg;
    assert_well_formed(&svg);
    assert!(!svg.contains("<script>") && !svg.contains(dn));
    let escaped = "&lt;&amp;&quot;7001&apos;&gt;";
    assert!(lane_titles(&svg).iter().any(|title| title == escaped), "{:?}", lane_titles(&svg));
    assert!(svg.contains(&format!("{escaped} released by {escaped}")));
    assert!(svg.contains(">site S&amp;1</text>"));
    assert!(svg.contains("Interaction x&lt;y"));
}

/// A synthetic interaction of `calls` calls over four sites, two parties each, and four
/// events per call.
fn big(calls: usize) -> (Value, Vec<Event>) {
    let sites = ["SITE_A", "SITE_B", "SITE_C", "SITE_D"];
    let mut segments = Vec::new();
    let mut links = Vec::new();
    let mut events = Vec::new();
    for call in 0..calls {
        let site = sites[call % sites.len()];
        let uuid = format!("U{call:05}");
        let (agent, caller) = (format!("{}", 5000 + call), format!("+1555{call:07}"));
        segments.push(json!({"site": site, "key": uuid, "call_uuid": uuid, "conn_ids": [],
            "role": if call == 0 { "root" } else { "hop" },
            "parties": [{"dn": caller, "kind": "external"}, {"dn": agent, "kind": "agent"}]}));
        if call > 0 {
            let previous = format!("U{:05}", call - 1);
            links.push(json!({"evidence": "islink", "islink": format!("L{call:05}"), "consistent": true,
                "from": {"site": sites[(call - 1) % sites.len()], "key": previous},
                "to": {"site": site, "key": uuid}}));
        }
        let base = call as i64 * 10;
        for (offset, message) in [
            Message::EventRinging,
            Message::EventEstablished,
            Message::EventReleased,
            Message::EventCallDeleted,
        ]
        .into_iter()
        .enumerate()
        {
            let mut event = event(message, site, &uuid, base + offset as i64);
            event.this_dn = Some(Text::from(agent.as_str()));
            event.other_dn = Some(Text::from(caller.as_str()));
            events.push(event);
        }
    }
    let files: Vec<Value> = (0..calls)
        .map(|call| json!({"media_id": format!("U{call:05}_m"), "site": sites[call % 4], "recorded_dn": format!("{}", 5000 + call),
            "side": "agent", "start": "2026-02-02T02:40:00Z", "stop": null}))
        .collect();
    let findings: Vec<Value> = (0..calls)
        .map(|call| json!({"rule": "P4", "files": [format!("U{call:05}_m")], "message": "x ".repeat(200)}))
        .collect();
    let trace = common::complete(json!({"interaction_id": "big", "sites": sites, "segments": segments,
        "links": links, "recording": {"recording_id": "U00000", "media_files": files, "findings": findings},
        "notes": (0..50).map(|n| format!("note {n}")).collect::<Vec<_>>()}));
    (trace, events)
}

#[test]
fn a_500_call_interaction_is_paginated_under_the_height_limit() {
    let (trace, events) = big(500);
    let first = render_json(&trace, &events, &LadderOptions::default()).expect("renders");
    assert_eq!((first.page, first.pages), (1, 14), "2000 events, 150 a page");
    assert!(first.svg.contains("page 1 of 14"));
    assert!(first.svg.contains("Paginated: page 1 of 14, events 1–150 of 2000."));
    assert!(first.svg.contains(", paginated.</desc>"));
    assert!(height(&first.svg) <= MAX_HEIGHT, "{}", height(&first.svg));
    assert_well_formed(&first.svg);
    let last = render_json(&trace, &events, &LadderOptions { page: 14, per_page: 150 }).expect("renders");
    assert!(last.svg.contains("events 1951–2000 of 2000"));
    let widest =
        render_json(&trace, &events, &LadderOptions { page: 1, per_page: 100_000 }).expect("renders");
    assert_eq!(widest.pages, 2000usize.div_ceil(MAX_PER_PAGE), "per_page is capped");
    assert!(height(&widest.svg) <= MAX_HEIGHT, "{}", height(&widest.svg));
    assert!(matches!(
        render_json(&trace, &events, &LadderOptions { page: 15, per_page: 150 }),
        Err(LadderError::PageOutOfRange { page: 15, pages: 14 })
    ));
}

#[test]
fn a_trace_with_fields_it_does_not_know_draws_and_one_missing_a_field_is_an_error_naming_it() {
    let old = common::complete(
        json!({"interaction_id": "old", "segments": [{"site": "A", "key": "K", "future_field": 1}]}),
    );
    let svg = render_json(&old, &[], &LadderOptions::default()).expect("renders").svg;
    assert!(svg.contains(">site A</text>") && svg.contains("No events of its calls were given"));
    assert_well_formed(&svg);
    assert!(matches!(
        render_json(&json!([1, 2]), &[], &LadderOptions::default()),
        Err(LadderError::Trace(_))
    ));
    let partial = json!({"interaction_id": "old", "segments": []});
    match render_json(&partial, &[], &LadderOptions::default()) {
        Err(error @ LadderError::Trace(_)) => assert!(error.to_string().contains("missing field"), "{error}"),
        other => panic!("a document missing its fields is an error, got {other:?}"),
    }
    assert!(matches!(
        render_json(&old, &[], &LadderOptions { page: 0, per_page: 10 }),
        Err(LadderError::PageOutOfRange { page: 0, pages: 1 })
    ));
}

//! Geometry of the pictures, read back from their SVG text (issue 16 point 3): a 4-site
//! interaction of 30+ events fits 1360 px; every text (estimated as characters × font size
//! × 0.6 wide) lies inside the picture and overlaps no other text; no hop connector crosses
//! a lane of a site it does not join; routing and diversion arrows end at the ThirdPartyDN's
//! lane. The same checks run over every stored snapshot (ladders and timelines).

use crate::common;

use std::collections::BTreeMap;

use callstitch_ladder::{render_json, timeline, LadderOptions};
use callstitch_tlib::{CallUuid, Event, IsLink, KvList, Message, Text, Timestamp, Value as KvValue};
use serde_json::{json, Value};

/// One `<text>` as drawn: its box and words.
#[derive(Debug)]
struct TextBox {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    #[allow(dead_code)] // read in failure messages
    words: String,
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn number(tag: &str, name: &str) -> f64 {
    attribute(tag, name).and_then(|value| value.parse().ok()).unwrap_or_else(|| panic!("{name} in {tag}"))
}

/// Font sizes of the stylesheet's classes (`.l{font-size:12px...}`), with `text{}`'s default.
fn font_sizes(svg: &str) -> BTreeMap<String, f64> {
    let style =
        svg.split("<style>").nth(1).and_then(|rest| rest.split("</style>").next()).expect("a stylesheet");
    let mut sizes = BTreeMap::new();
    for rule in style.split('}') {
        let Some((selectors, body)) = rule.split_once('{') else { continue };
        let Some(size) = body.split("font-size:").nth(1).and_then(|rest| rest.split("px").next()) else {
            continue;
        };
        let size: f64 = size.parse().expect("a size in px");
        for selector in selectors.split(',') {
            if let Some(class) = selector.trim().strip_prefix('.') {
                sizes.insert(class.to_string(), size);
            }
        }
    }
    sizes
}

/// The characters a text shows (entities count as one).
fn shown(content: &str) -> String {
    content
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
}

fn view_box(svg: &str) -> (f64, f64) {
    let head = &svg[..svg.find('>').expect("an svg tag")];
    let values: Vec<f64> = attribute(head, "viewBox")
        .expect("a viewBox")
        .split(' ')
        .map(|value| value.parse().expect("a number"))
        .collect();
    (values[2], values[3])
}

fn text_boxes(svg: &str) -> Vec<TextBox> {
    let sizes = font_sizes(svg);
    let mut boxes = Vec::new();
    for part in svg.split("<text ").skip(1) {
        let (tag, rest) = part.split_once('>').expect("a text tag closes");
        let content = rest.split("</text>").next().expect("a text closes");
        let class = attribute(&format!(" {tag}"), "class").unwrap_or_default().to_string();
        let px = *sizes.get(&class).unwrap_or_else(|| panic!("a font size for class {class:?}"));
        let tag = format!(" {tag}");
        let (x, y) = (number(&tag, "x"), number(&tag, "y"));
        let words = shown(content);
        let width = words.chars().count() as f64 * px * 0.6;
        let left = match attribute(&tag, "text-anchor") {
            Some("middle") => x - width / 2.0,
            Some("end") => x - width,
            _ => x,
        };
        boxes.push(TextBox { left, right: left + width, top: y - px * 0.8, bottom: y + px * 0.2, words });
    }
    boxes
}

/// Every text inside the picture and clear of every other text.
fn assert_texts_fit(name: &str, svg: &str) {
    let (width, height) = view_box(svg);
    let boxes = text_boxes(svg);
    for text in &boxes {
        assert!(
            text.left >= 0.0 && text.right <= width && text.top >= 0.0 && text.bottom <= height,
            "{name}: {text:?} outside the {width}×{height} picture"
        );
    }
    for (index, a) in boxes.iter().enumerate() {
        for b in &boxes[index + 1..] {
            let apart = a.right <= b.left + 0.5
                || b.right <= a.left + 0.5
                || a.bottom <= b.top + 0.5
                || b.bottom <= a.top + 0.5;
            assert!(apart, "{name}: texts overlap:\n  {a:?}\n  {b:?}");
        }
    }
}

/// Lanes: (site, DN) → x.
fn lanes(svg: &str) -> Vec<(String, String, f64)> {
    svg.split("<line ")
        .skip(1)
        .map(|part| format!(" {}", part.split("/>").next().unwrap_or_default()))
        .filter(|tag| attribute(tag, "class") == Some("lane"))
        .map(|tag| {
            let site = shown(attribute(&tag, "data-site").expect("a lane's site"));
            let dn = shown(attribute(&tag, "data-dn").expect("a lane's DN"));
            (site, dn, number(&tag, "x1"))
        })
        .collect()
}

/// No hop connector crosses a lane of a site it does not join.
fn assert_connectors_clear(name: &str, svg: &str) -> usize {
    let lanes = lanes(svg);
    let mut connectors = 0;
    for part in svg.split("<line ").skip(1) {
        let tag = format!(" {}", part.split("/>").next().unwrap_or_default());
        if attribute(&tag, "class") != Some("link") {
            continue;
        }
        connectors += 1;
        let joined = shown(attribute(&tag, "data-sites").expect("a connector names its sites"));
        let joined: Vec<&str> = joined.split(' ').collect();
        let (x1, x2) = (number(&tag, "x1"), number(&tag, "x2"));
        let (low, high) = (x1.min(x2), x1.max(x2));
        for (site, dn, x) in &lanes {
            if !joined.contains(&site.as_str()) {
                assert!(
                    *x < low || *x > high,
                    "{name}: the connector {joined:?} from {x1} to {x2} crosses lane {dn} of {site} at {x}"
                );
            }
        }
    }
    connectors
}

fn width(svg: &str) -> f64 {
    view_box(svg).0
}

const SITES: [&str; 4] = ["SIP_LON", "TS_NYC", "SIP_BLR", "TS_SYD"];
const ANI: &str = "+15554649025";
const T0: i64 = 1_770_019_200_000_000;

fn event(message: Message, site: &str, uuid: &str, at_ms: i64, this: &str, other: Option<&str>) -> Event {
    let mut event = Event::new(message, site);
    event.call_uuid = Some(CallUuid::new(uuid));
    event.timestamp = Some(Timestamp(T0 + at_ms * 1000));
    event.this_dn = (!this.is_empty()).then(|| Text::from(this));
    event.other_dn = other.map(Text::from);
    event.file = Some(std::sync::Arc::from(format!("{site}.log").as_str()));
    event
}

fn time(at_ms: i64) -> String {
    Timestamp(T0 + at_ms * 1000).to_string()
}

/// A four-site interaction: the customer calls London, is routed to an agent, sent to New
/// York, to Bangalore, and from London again to Sydney (a hop that cannot join neighbours
/// in every order), 40 events, three or four parties a site, clocks off by up to 300 ms.
fn four_sites() -> (Value, Vec<Event>) {
    let offsets_ms = [0, 250, -180, 300];
    let mut segments = Vec::new();
    let mut events = Vec::new();
    let mut files = Vec::new();
    for (index, site) in SITES.iter().enumerate() {
        let uuid = format!("U{index}");
        let (rp, agent) = (format!("{}601", index + 2), format!("{}0{}7", index + 1, index + 1));
        let base = index as i64 * 60_000 + offsets_ms[index];
        let at = |ms: i64| base + ms;
        let mut ringing = event(Message::EventRinging, site, &uuid, at(0), &rp, Some(ANI));
        ringing.is_links = Some(vec![IsLink {
            id: Text::from(format!("00EBGH4GK488LFQD2CGB0200000000{index:02}").as_str()),
            location_name: None,
            direction_role: None,
            extra: KvList::new(),
        }]);
        let mut routed = event(Message::EventRouteUsed, site, &uuid, at(900), &rp, Some(ANI));
        routed.third_party_dn = Some(Text::from(agent.as_str()));
        let mut diverted = event(Message::EventDiverted, site, &uuid, at(950), &rp, Some(ANI));
        diverted.third_party_dn = Some(Text::from(agent.as_str()));
        let mut released = event(Message::EventReleased, site, &uuid, at(58_000), &agent, Some(ANI));
        let mut extensions = KvList::new();
        extensions.push("ReleasingParty", KvValue::Str(Text::from("2 Remote")));
        released.extensions = Some(extensions);
        events.extend([
            event(Message::EventCallCreated, site, &uuid, at(-5), "", None),
            ringing,
            event(Message::EventRouteRequest, site, &uuid, at(300), &rp, Some(ANI)),
            routed,
            diverted,
            event(Message::EventRinging, site, &uuid, at(1000), &agent, Some(ANI)),
            event(Message::EventEstablished, site, &uuid, at(4000), &agent, Some(ANI)),
            event(Message::EventHeld, site, &uuid, at(20_000), &agent, Some(ANI)),
            event(Message::EventRetrieved, site, &uuid, at(30_000), &agent, Some(ANI)),
            released,
        ]);
        let span = |state: &str, from: i64, to: i64| json!({"state": state, "start": time(at(from)), "end": time(at(to))});
        segments.push(json!({
            "site": site, "key": uuid, "call_uuid": uuid, "role": if index == 0 { "root" } else { "hop" },
            "start": time(at(-5)), "end": time(at(58_000)),
            "parties": [
                {"dn": ANI, "kind": "external", "spans": [span("connected", 0, 58_000)]},
                {"dn": rp, "kind": "routing-point", "spans": [span("queued", 0, 300), span("routing", 300, 900)]},
                {"dn": agent, "kind": "agent", "role": "Destination", "agent_id": format!("agent{index}"), "queue": rp,
                 "released_by": "other", "released_by_dn": ANI,
                 "spans": [span("alerting", 1000, 4000), span("connected", 4000, 20_000), span("held", 20_000, 30_000),
                           span("connected", 30_000, 58_000)]}
            ]
        }));
        files.push(
            json!({"media_id": format!("m{index}"), "site": site, "recorded_dn": agent, "side": "agent",
                          "start": time(at(4000)), "stop": time(at(58_000))}),
        );
    }
    let link = |from: usize, to: usize, evidence: &str| {
        json!({"evidence": evidence, "islink": format!("00EBGH4GK488LFQD2CGB0200000000{to:02}"), "consistent": true,
               "from": {"site": SITES[from], "key": format!("U{from}")}, "to": {"site": SITES[to], "key": format!("U{to}")}})
    };
    for (line, event) in events.iter_mut().enumerate() {
        event.line = Some(line as u64 + 1);
    }
    let trace = common::complete(json!({
        "interaction_id": "four-sites", "ani": ANI, "start": time(0), "end": time(238_000),
        "sites": SITES, "segments": segments,
        "links": [link(0, 1, "islink"), link(0, 1, "iscc-call-history"), link(1, 2, "islink"), link(0, 3, "islink"),
                  link(2, 3, "same-call-uuid")],
        "clock_offsets": [
            {"site": "TS_NYC", "relative_to": "SIP_LON", "offset_ms": 250.0, "links": 1, "method": "one-way"},
            {"site": "SIP_BLR", "relative_to": "TS_NYC", "offset_ms": -430.0, "links": 1, "method": "one-way"},
            {"site": "TS_SYD", "relative_to": "SIP_LON", "offset_ms": 300.0, "links": 1, "method": "one-way"}
        ],
        "released_by": {"dn": ANI, "site": "TS_SYD", "who": "customer", "provenance": "releasing-party"},
        "recording": {"recording_id": "U0", "media_files": files, "findings": [{"rule": "P1", "files": ["m2"], "message": "lost"}]}
    }));
    (trace, events)
}

/// Issue 16 point 3: four sites side by side made a picture far wider than a 1400 px window.
#[test]
fn a_four_site_interaction_of_forty_events_fits_1360_px() {
    let (trace, events) = four_sites();
    assert!(events.len() >= 30);
    let ladder = render_json(&trace, &events, &LadderOptions::default()).expect("renders");
    assert!(width(&ladder.svg) <= 1360.0, "ladder {} px wide", width(&ladder.svg));
    let view = common::document(trace);
    let journey = timeline::render(&view);
    assert!(width(&journey) <= 1360.0);
    common::assert_well_formed(&ladder.svg);
    common::assert_well_formed(&journey);
}

/// Issue 16 point 3: link labels covered connectors and arrowheads, labels were clipped.
#[test]
fn no_text_of_a_four_site_ladder_or_timeline_leaves_the_picture_or_covers_another() {
    let (trace, events) = four_sites();
    let ladder = render_json(&trace, &events, &LadderOptions::default()).expect("renders");
    if std::env::var_os("LADDER_DUMP").is_some() {
        std::fs::write("/tmp/ladder-four-sites.svg", &ladder.svg).expect("dump");
        let view = common::document(trace.clone());
        std::fs::write("/tmp/ladder-four-sites.timeline.svg", timeline::render(&view)).expect("dump");
    }
    assert_texts_fit("four-site ladder", &ladder.svg);
    assert!(ladder.svg.contains(&format!(">1017 released by {ANI}<")), "a long release label whole");
    assert!(!ladder.svg.contains('…'), "nothing cut");
    let view = common::document(trace);
    assert_texts_fit("four-site timeline", &timeline::render(&view));
    assert_texts_fit("four-site timeline at 640 px", &timeline::render_at(&view, 640));
}

/// Issue 16 point 3: a hop from the first to the third site ran through the middle site's
/// lanes, and the two links of one hop crossed in an X.
#[test]
fn no_hop_connector_crosses_a_third_sites_lanes_and_each_hop_has_one_row() {
    let (trace, events) = four_sites();
    let svg = render_json(&trace, &events, &LadderOptions::default()).expect("renders").svg;
    let connectors = assert_connectors_clear("four-site ladder", &svg);
    assert!(connectors >= 4, "{connectors} connectors");
    let hops = svg.matches("<g class=\"islink\"").count();
    assert_eq!(hops, 4, "five links, four pairs of calls: one hop each");
    assert!(svg.contains("(islink, iscc-call-history)"), "a hop lists its evidence");
}

/// Issue 16 point 2: "routed → X" and "diverted → X" ended at the caller (OtherDN).
#[test]
fn routing_and_diversion_arrows_end_at_the_third_party_dn() {
    let (trace, events) = four_sites();
    let svg = render_json(&trace, &events, &LadderOptions::default()).expect("renders").svg;
    let lanes = lanes(&svg);
    let mut checked = 0;
    for event in &events {
        if !matches!(event.message, Message::EventRouteUsed | Message::EventDiverted) {
            continue;
        }
        let source =
            format!("{}:{}", event.file.as_deref().unwrap_or_default(), event.line.unwrap_or_default());
        let group = svg
            .split(&format!("data-site=\"{}\" data-source=\"{source}\"", event.site))
            .nth(1)
            .and_then(|rest| rest.split("</g>").next())
            .expect("the event is drawn");
        let arrow = group.split("<line ").nth(1).map(|tag| format!(" {tag}")).expect("an arrow");
        let third = event.third_party_dn.as_deref().expect("a destination");
        let lane = lanes
            .iter()
            .find(|(site, dn, _)| site == event.site.as_str() && dn == third)
            .expect("the destination has a lane");
        assert_eq!(number(&arrow, "x2"), lane.2, "{:?} ends at {third}", event.message);
        assert_eq!(attribute(&arrow, "data-to"), Some(third));
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn the_timeline_writes_out_the_durations_from_the_state_spans() {
    let (trace, _) = four_sites();
    let view = common::document(trace);
    let svg = timeline::render(&view);
    // London's routing point queues 0.3 s and routes 0.6 s; every site repeats it a minute later.
    assert!(svg.contains("time to answer 4.0 s"), "the first agent answers 4 s after the call began");
    assert!(svg.contains("hold 40.0 s") && svg.contains("queued 3.6 s") && svg.contains("ringing 12.0 s"));
    assert!(svg.contains("4 hand-offs between sites"));
    assert!(svg.contains("released by +15554649025 (customer) at TS_SYD"));
    assert!(svg.contains("⚠ REC 3 P1"), "the file of the finding is marked");
}

/// Every stored snapshot (what the snapshot tests check the renderers still write).
#[test]
fn every_snapshot_keeps_its_texts_inside_and_apart_and_its_connectors_clear() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("snapshots list") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_string();
        if !name.ends_with(".svg") {
            continue;
        }
        let svg = std::fs::read_to_string(&path).expect("a snapshot reads");
        assert!(width(&svg) <= 1360.0, "{name} is {} px wide", width(&svg));
        assert_texts_fit(&name, &svg);
        assert_connectors_clear(&name, &svg);
        checked += 1;
    }
    assert!(checked >= 40, "{checked} snapshots");
}

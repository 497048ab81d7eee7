//! Regenerates the simulated fixtures (`cargo test -p callstitch-recording --test
//! generate_fixtures -- --ignored`): one interaction per case cut out of a simulated
//! three-site center (SIP_LON records agents and customers, SIP_BLR agents, TS_NYC nothing),
//! as one log per site, its media feed and its truth.

use crate::common;

use std::collections::BTreeSet;
use std::fs;

use callstitch_sim::flow::{ConsultFor, Flow, Leave};
use callstitch_sim::ids::Ids;
use callstitch_sim::rng::Rng;
use callstitch_sim::scenario::{
    agent, answer, arrive_at_agent, end_conversation, pick_caller, queue, start_call,
};
use callstitch_sim::{simulate, ContactCenter, MemoryStorage, OutputFormat, SimConfig};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::{DnRole, Text, Timestamp};

/// (fixture, scenario, the site the interaction must start at, the site it must end at or "").
///
/// `hold-retrieve` is not listed: it was cut before the simulator stopped ending an agent's
/// recording when the agent left a consultation (see its README.md), and is kept as it is.
const CASES: [(&str, &str, &str, &str); 9] = [
    ("in-site-single-step-transfer", "single-step-transfer", "SIP_LON", ""),
    ("in-site-two-step-transfer", "two-step-transfer", "SIP_LON", ""),
    ("sip-reinvite-transfer", "sip-reinvite-transfer", "SIP_LON", ""),
    ("sip-refer-transfer", "sip-refer-transfer", "SIP_LON", ""),
    ("agent-multi-site-transfer", "sip-refer-transfer", "SIP_BLR", ""),
    ("multi-site-consult-transfer", "multi-site-consult-transfer", "SIP_LON", ""),
    ("sip-consult-transfer", "multi-site-consult-transfer", "SIP_BLR", "SIP_LON"),
    ("multi-site-conference", "multi-site-conference", "SIP_LON", ""),
    ("iscc-transfer", "iscc-transfer", "SIP_LON", ""),
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
    for (fixture, scenario, home, last) in CASES {
        let truth = truths
            .iter()
            .find(|truth| {
                truth["scenario"] == scenario
                    && truth["segments"][0]["site"] == home
                    && (last.is_empty()
                        || truth["segments"]
                            .as_array()
                            .and_then(|segments| segments.last())
                            .is_some_and(|end| end["site"] == last))
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

/// Seed 003 "centralized call qualification and parking": the call queues on the queuing SIP
/// Server Q (SIP_LON), which records it (customer side) and stays in the media path; it is
/// sent over an Inter-Site Link to agent site G (TS_NYC, a T-Server that records nothing),
/// where an agent answers. Q's call ends with the conversation. Scripted with the
/// simulator's flow steps.
#[test]
#[ignore = "writes the fixtures"]
fn regenerate_centralized_qualification() {
    let center = ContactCenter::for_seed(3, 11);
    let (q, g) = (0, 1);
    assert_eq!(center.sites[q].application.as_str(), "SIP_LON");
    assert_eq!(center.sites[g].application.as_str(), "TS_NYC");
    let mut rng = Rng::new(11);
    let mut ids = Ids::new(3, 0);
    let mut flow = Flow::new(&center, &mut rng, &mut ids, 1_770_019_200_000_000);
    let caller = pick_caller(&mut flow, q, 0);
    let seg = start_call(&mut flow, q, &caller);
    let waiting = queue(&mut flow, q, &[]);
    flow.queued(seg, &waiting, caller.dn());
    flow.start_recording(seg, caller.dn(), "customer", &waiting);
    flow.wait(10, 30);
    let next = flow.hop_islink(seg, g, &waiting, false);
    let remote = center.sites[g].external_routing_point.clone();
    flow.diverted(seg, &waiting, caller.dn(), &remote);
    flow.set_outcome(seg, "transferred");
    let agent = arrive_at_agent(&mut flow, next, g, caller.dn());
    flow.set_outcome(next, "answered");
    end_conversation(&mut flow, next, &caller, &agent);
    flow.wait_ms(20, 200);
    flow.stop_recording(q, caller.dn(), "call-end");
    flow.call_deleted(seg, None, None);
    write_flow(&center, flow, "centralized-qualification");
}

/// Writes a scripted flow as a fixture: one log per site (sequence numbers per site, time
/// stamps on true time), its media feed and its truth.
fn write_flow(center: &ContactCenter, flow: Flow<'_>, fixture: &str) {
    let (truth, timed) = flow.finish(fixture);
    let mut seqs = [0x1000_u64; 3];
    let events: Vec<_> = timed
        .into_iter()
        .map(|timed| {
            let mut event = timed.event;
            event.site = Text::from(center.sites[timed.site].application.as_str());
            seqs[timed.site] += 1;
            event.seq = Some(seqs[timed.site]);
            event.timestamp = Some(Timestamp(timed.time));
            event
        })
        .collect();
    let dir = common::fixture_dir(fixture);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("fixture dir");
    common::write_logs(&dir, &events);
    let media: Vec<String> = truth
        .media
        .iter()
        .map(|file| {
            serde_json::json!({
                "type": "media", "site": file.site, "call_uuid": file.call_uuid, "media_id": file.media_id,
                "recorded_dn": file.recorded_dn, "side": file.recorded_side, "start": file.start, "stop": file.stop,
            })
            .to_string()
        })
        .collect();
    fs::write(dir.join("media.jsonl"), media.join("\n") + "\n").expect("feed written");
    fs::write(dir.join("truth.json"), serde_json::to_string_pretty(&truth).expect("json") + "\n")
        .expect("truth");
}

/// Seed 003 "two-step conference" between SIP Servers: Agent1 (SIP_BLR, recorded) holds the
/// customer and consults the remote routing point; the consultation reaches Agent2 on
/// SIP_LON (recorded by SIP_LON); Agent1 completes the conference, the three talk, Agent1
/// drops out, the customer and Agent2 go on. SIP_BLR mixes the conference and stays in the
/// path until the end. Scripted with the simulator's flow steps.
#[test]
#[ignore = "writes the fixtures"]
fn regenerate_two_step_conference() {
    let center = ContactCenter::for_seed(3, 11);
    let (home, dest) = (2, 0);
    assert_eq!(center.sites[home].application.as_str(), "SIP_BLR");
    let mut rng = Rng::new(12);
    let mut ids = Ids::new(3, 0);
    let mut flow = Flow::new(&center, &mut rng, &mut ids, 1_770_019_200_000_000);
    let caller = pick_caller(&mut flow, home, 0);
    let main = start_call(&mut flow, home, &caller);
    let agent1 = agent(&mut flow, home, &[]);
    flow.ringing(main, &agent1, caller.dn(), None);
    flow.wait(2, 10);
    answer(&mut flow, main, &caller, &agent1);
    flow.wait(15, 60);
    flow.held(main, &agent1, DnRole::Destination, caller.dn());
    let consult = flow.consultation(main, ConsultFor::Conference);
    let remote = center.sites[dest].external_routing_point.clone();
    flow.dialing(consult, &agent1, &remote);
    let remote_call = flow.hop_islink(consult, dest, &agent1, false);
    let agent2 = arrive_at_agent(&mut flow, remote_call, dest, &agent1);
    flow.established(consult, &agent1, DnRole::Origination, &remote);
    flow.wait(10, 40);
    flow.released(consult, &agent1, DnRole::Origination, Some(&remote), Leave::Conferenced);
    flow.retrieved(main, &agent1, DnRole::Destination, caller.dn());
    flow.party_added(main, &agent1, &remote, &agent1);
    flow.set_outcome(consult, "conferenced");
    flow.call_deleted(consult, None, Some(main));
    flow.move_links(consult, main);
    flow.set_outcome(main, "conferenced");
    flow.wait(20, 90);
    flow.released(main, &agent1, DnRole::Destination, Some(caller.dn()), Leave::HungUp);
    flow.set_outcome(remote_call, "answered");
    end_conversation(&mut flow, remote_call, &caller, &agent2);
    flow.wait_ms(20, 200);
    flow.call_deleted(main, None, None);
    write_flow(&center, flow, "two-step-conference");
}

//! Snapshots of the stitcher: stop anywhere, snapshot, restore from the bytes, go on, and the
//! interactions handed out (revisions included) and the calls seen by `on_call` are exactly
//! those of a run that never stopped. Generated multi-site streams in three arrival orders:
//! by time, one site late (so interactions are revised), and site after site.

use crate::common;

use callstitch_engine::EngineConfig;
use callstitch_link::snapshot::{LINK_VERSION, STITCHER_FORMAT};
use callstitch_link::{LinkerConfig, SiteDirectory, SnapshotError, Stitcher, SECOND};
use callstitch_tlib::Event;
use common::generator::{generate, sites};
use common::{concatenated, merged, Site};

/// Everything a run hands out, as JSON, in order.
#[derive(Debug, PartialEq)]
struct Output {
    interactions: Vec<String>,
    calls: Vec<String>,
    stats: String,
}

fn directory() -> SiteDirectory {
    SiteDirectory::new(["TsA", "TsB", "SipC", "SipD"])
}

/// A run that snapshots and restores before each event whose index is in `restore_at`.
fn run(events: &[Event], linker: &LinkerConfig, restore_at: &[usize]) -> Output {
    let mut stitcher = Stitcher::new(EngineConfig::default(), linker.clone(), directory());
    let mut interactions = Vec::new();
    let mut calls = Vec::new();
    let mut restore_at = restore_at.iter().peekable();
    for (index, event) in events.iter().enumerate() {
        if restore_at.next_if(|at| **at == index).is_some() {
            let bytes = stitcher.snapshot().expect("snapshot");
            stitcher = Stitcher::restore(&bytes, EngineConfig::default(), linker.clone()).expect("restore");
        }
        stitcher.push(
            event,
            &mut |call| calls.push(serde_json::to_string(call).expect("call json")),
            &mut |interaction| interactions.push(serde_json::to_string(&interaction).expect("json")),
        );
    }
    if restore_at.next().is_some() {
        let bytes = stitcher.snapshot().expect("snapshot");
        stitcher = Stitcher::restore(&bytes, EngineConfig::default(), linker.clone()).expect("restore");
    }
    stitcher.finish(
        &mut |call| calls.push(serde_json::to_string(call).expect("call json")),
        &mut |interaction| interactions.push(serde_json::to_string(&interaction).expect("json")),
    );
    let stats = format!(
        "{} {}",
        serde_json::to_string(stitcher.engine_stats()).expect("json"),
        serde_json::to_string(stitcher.linker_stats()).expect("json")
    );
    Output { interactions, calls, stats }
}

/// Short waits, so that interactions are handed out, revised and forgotten within the set.
fn quick() -> LinkerConfig {
    LinkerConfig {
        linger: 10 * SECOND,
        link_timeout: 40 * SECOND,
        revision_grace: 30 * SECOND,
        ..LinkerConfig::default()
    }
}

/// The generated set's events: by time, with site SipD's arriving `late` later than its
/// clock says (as a slow feed would), or site after site.
fn generated(count: usize, late: i64, by_site: bool) -> Vec<Event> {
    let mut sites = sites();
    generate(count, 0xfeed, &mut sites);
    let refs: Vec<&Site> = sites.iter().collect();
    if by_site {
        return concatenated(&refs);
    }
    let mut events = merged(&refs);
    events.sort_by_key(|event| {
        let time = event.timestamp.map_or(0, |time| time.0);
        if event.site == "SipD" {
            time + late
        } else {
            time
        }
    });
    events
}

fn check_splits(events: &[Event], linker: &LinkerConfig, splits: usize, every: usize) -> usize {
    let straight = run(events, linker, &[]);
    assert!(!straight.interactions.is_empty());
    let step = (events.len() / splits).max(1);
    let mut checked = 0;
    for split in (0..=events.len()).step_by(step).chain([1, events.len() - 1]) {
        assert_eq!(run(events, linker, &[split]), straight, "split before event {split}");
        checked += 1;
    }
    let every: Vec<usize> = (0..=events.len()).step_by(every).collect();
    assert_eq!(run(events, linker, &every), straight, "restored before every event of {every:?}");
    checked + every.len()
}

#[test]
fn by_time_split_anywhere_gives_the_same_interactions_and_calls() {
    let events = generated(300, 0, false);
    let checked = check_splits(&events, &quick(), 30, 4);
    assert!(checked > 300, "{checked} splits");
    check_splits(&events, &LinkerConfig::default(), 8, 97);
}

#[test]
fn a_late_site_changes_no_interaction_and_splits_change_nothing() {
    let late = generated(300, 25 * SECOND, false);
    let straight = run(&late, &quick(), &[]);
    let mut by_time = run(&generated(300, 0, false), &quick(), &[]).interactions;
    let mut from_late = straight.interactions.clone();
    assert!(
        from_late.iter().all(|json| json.contains("\"revision\":0")),
        "read as input, nothing is revised"
    );
    by_time.sort();
    from_late.sort();
    assert_eq!(from_late, by_time, "a site whose events come 25 s late gives the same interactions");
    check_splits(&late, &quick(), 30, 5);
}

#[test]
fn site_after_site_split_anywhere_gives_the_same_interactions() {
    let events = generated(300, 0, true);
    check_splits(&events, &quick(), 20, 7);
}

#[test]
fn the_same_state_gives_the_same_bytes() {
    let events = generated(300, 25 * SECOND, false);
    let mut stitcher = Stitcher::new(EngineConfig::default(), quick(), directory());
    for event in &events[..events.len() / 2] {
        stitcher.push(event, &mut |_| {}, &mut |_| {});
    }
    let (calls, segments) = stitcher.in_memory();
    assert!(calls > 5 && segments > 20, "{calls} calls and {segments} segments in memory");
    let first = stitcher.snapshot().expect("snapshot");
    assert_eq!(stitcher.snapshot().expect("snapshot"), first);
    let restored = Stitcher::restore(&first, EngineConfig::default(), quick()).expect("restore");
    assert_eq!(restored.snapshot().expect("snapshot"), first, "a restored stitcher writes the same bytes");
    assert_eq!(restored.in_memory(), stitcher.in_memory());
}

#[test]
fn another_version_and_garbage_are_errors_not_panics() {
    let stitcher = Stitcher::new(EngineConfig::default(), quick(), directory());
    let newer = callstitch_engine::snapshot::encode(STITCHER_FORMAT, LINK_VERSION + 1, &stitcher.state())
        .expect("encode");
    let restored = Stitcher::restore(&newer, EngineConfig::default(), quick());
    assert!(matches!(restored, Err(SnapshotError::Version { .. })), "{:?}", restored.err());
    let engine_bytes = callstitch_engine::Engine::default().snapshot().expect("snapshot");
    let restored = Stitcher::restore(&engine_bytes, EngineConfig::default(), quick());
    assert!(matches!(restored, Err(SnapshotError::Format { .. })));
    let good = stitcher.snapshot().expect("snapshot");
    for bad in [&b"not json"[..], b"{\"format\":1}", &good[..good.len() - 1], b"null"] {
        let restored = Stitcher::restore(bad, EngineConfig::default(), quick());
        assert!(matches!(restored, Err(SnapshotError::Decode(_))), "{:?}", restored.err());
    }
}

#[test]
fn a_segment_label_that_no_table_has_is_refused() {
    let events = generated(50, 0, false);
    let mut stitcher = Stitcher::new(EngineConfig::default(), quick(), directory());
    for event in &events[..events.len() / 2] {
        stitcher.push(event, &mut |_| {}, &mut |_| {});
    }
    let text = String::from_utf8(stitcher.snapshot().expect("snapshot")).expect("utf-8");
    assert!(text.contains("\"model\":\"call-based-only\""), "a segment in the snapshot");
    let bad = text.replacen("\"model\":\"call-based-only\"", "\"model\":\"telepathy\"", 1);
    let restored = Stitcher::restore(bad.as_bytes(), EngineConfig::default(), quick());
    assert!(matches!(restored, Err(SnapshotError::Decode(_))), "{:?}", restored.err());
}

/// Live, an interaction forgotten with an unpaired link is kept as bytes in the archive; a
/// snapshot taken then must be written (a JSON map takes no structured key, so the archive's
/// index is built again when read) and the restored stitcher must revive it when the other
/// end arrives, exactly as a stitcher that never stopped. A service whose snapshots failed
/// here replayed more and more after every restart.
#[test]
fn a_live_snapshot_holding_archived_interactions_restores_and_revives_them() {
    use callstitch_link::{Interaction, LiveClock};
    use callstitch_tlib::LinkRole;
    const T0: i64 = common::T0;
    let live = LinkerConfig {
        linger: 10 * SECOND,
        link_timeout: 60 * SECOND,
        revision_grace: 30 * SECOND,
        live: Some(LiveClock { idle_after: 60 * SECOND }),
        ..LinkerConfig::default()
    };
    let mut a = Site::new("TsA", "SwA");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "TsB@SwB")]);
    a.call("A-2", 2, T0 + 5 * SECOND, T0 + 20 * SECOND, &[("L2", LinkRole::Source, "TsB@SwB")]);
    let mut b = Site::new("TsB", "SwB");
    b.call("B-1", 4, T0 + SECOND, T0 + 90 * SECOND, &[("L1", LinkRole::Target, "TsA@SwA")]);
    let late = T0 + 7_200 * SECOND;
    // `old_form`: the snapshot restored is written as before the archive's text was a string
    // (each forgotten interaction a list of bytes).
    let run = |restore: bool, old_form: bool| {
        let mut stitcher = Stitcher::new(EngineConfig::default(), live.clone(), directory());
        let mut out: Vec<String> = Vec::new();
        let mut keep =
            |interaction: Interaction| out.push(serde_json::to_string(&interaction).expect("json"));
        for event in &a.events {
            let wall = event.timestamp.map_or(T0, |time| time.0);
            stitcher.push_at(event, Some(wall), &mut |_| {}, &mut keep);
        }
        for minute in 1..=30 {
            stitcher.tick(T0 + minute * 60 * SECOND, &mut |_| {}, &mut keep);
            stitcher.flush(&mut keep);
        }
        assert_eq!(stitcher.linker().archived_in_memory(), 2, "both kept as bytes for their links");
        if restore {
            let bytes = stitcher.snapshot().expect("a snapshot with archived interactions is written");
            let stored = if old_form { archive_as_bytes(&bytes) } else { bytes.clone() };
            stitcher = Stitcher::restore(&stored, EngineConfig::default(), live.clone()).expect("restore");
            assert_eq!(stitcher.snapshot().expect("snapshot"), bytes, "the same state, the same bytes");
        }
        for event in &b.events {
            stitcher.push_at(event, Some(late), &mut |_| {}, &mut keep);
        }
        for minute in 1..=5 {
            stitcher.tick(late + minute * 60 * SECOND, &mut |_| {}, &mut keep);
            stitcher.flush(&mut keep);
        }
        assert_eq!(stitcher.linker_stats().revived, 1, "A-1 came back; A-2 stays archived");
        // SipC and SipD, named, never sent anything: A-1 with B-1, forgotten again, is kept
        // as bytes too, for a call of theirs with the same CallUUID.
        assert_eq!(stitcher.linker().archived_in_memory(), 2);
        out
    };
    let uninterrupted = run(false, false);
    assert!(uninterrupted.last().is_some_and(|last| last.contains("B-1") && last.contains("A-1")));
    assert_eq!(run(true, false), uninterrupted);
    assert_eq!(run(true, true), uninterrupted, "a snapshot of the old form restores the same");
}

/// `snapshot` with each archived interaction's text written as a list of bytes, as snapshots
/// were before it was a string; panics if the snapshot holds no archived interaction.
fn archive_as_bytes(snapshot: &[u8]) -> Vec<u8> {
    fn rewrite(value: &mut serde_json::Value) -> usize {
        let mut rewritten = 0;
        match value {
            serde_json::Value::Object(map) => {
                if let Some(entries) = map.get_mut("archive").and_then(|archive| archive.get_mut("entries")) {
                    for entry in entries.as_object_mut().expect("entries by number").values_mut() {
                        let text = entry[0].as_str().expect("an entry's text is a string").to_string();
                        entry[0] = text.into_bytes().into();
                        rewritten += 1;
                    }
                }
                rewritten += map.values_mut().map(rewrite).sum::<usize>();
            }
            serde_json::Value::Array(items) => rewritten += items.iter_mut().map(rewrite).sum::<usize>(),
            _ => {}
        }
        rewritten
    }
    let mut value: serde_json::Value = serde_json::from_slice(snapshot).expect("a JSON snapshot");
    assert!(rewrite(&mut value) > 0, "the snapshot holds archived interactions");
    serde_json::to_vec(&value).expect("written")
}

/// A service restored after an hour down: the hour is no site's quiet (its logs were not
/// read, not silent), so the first tick after the restart closes no call that was talking
/// when the service stopped; only quiet after the restart counts.
#[test]
fn a_restart_after_an_hour_down_closes_no_call_by_the_time_down() {
    use callstitch_link::LiveClock;
    const T0: i64 = common::T0;
    let engine = EngineConfig { idle_timeout: 120 * SECOND, ..EngineConfig::default() };
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
    let mut a = Site::new("TsA", "SwA");
    a.created("TALKING", 1, T0);
    let calls_after = |resume: bool, quiet_after: i64| {
        let mut stitcher = Stitcher::new(engine.clone(), live.clone(), directory());
        for event in &a.events {
            stitcher.push_at(event, Some(T0), &mut |_| {}, &mut |_| {});
        }
        stitcher.tick(T0 + 10 * SECOND, &mut |_| {}, &mut |_| {});
        let bytes = stitcher.snapshot().expect("snapshot");
        let mut stitcher = Stitcher::restore(&bytes, engine.clone(), live.clone()).expect("restore");
        let restart = T0 + 3_600 * SECOND;
        if resume {
            stitcher.resume(restart);
        }
        stitcher.tick(restart + quiet_after, &mut |_| {}, &mut |_| {});
        stitcher.in_memory().0
    };
    assert_eq!(calls_after(true, SECOND), 1, "still talking after the restart");
    assert_eq!(calls_after(false, SECOND), 0, "without resume the hour down closes it");
    assert_eq!(calls_after(true, 200 * SECOND), 0, "quiet after the restart counts");
}
